/**
 * The reconnect schedule: exponential backoff with jitter, and failover across servers.
 *
 * Pure: randomness comes in as a function and time as an argument (the caller reads its
 * clock and waits the returned delay). The waits follow Mongoose OS's
 * `reconnect_timeout_min/max`: `min`, then doubled after each failure, capped at `max`.
 * Two failover policies say when to move to the next server:
 *
 * ```
 *  'backup' (default; Mongoose OS's backup server `mqtt1`): a primary and its backups
 *
 *   attempt on server i ──fail──► wait d (d = min, then doubled, capped at max) ──► attempt
 *        ▲                                   │
 *        │                 the wait just spent was already `max` and there are
 *        │                 other servers: switch to server i+1, reset d to min
 *        └──────────────── stable: stay on server i, reset d to min
 *
 *  'cluster': equal nodes of one clustered broker
 *
 *   attempt on node i ──fail──► wait d (min, doubled per failure, capped) ──► attempt on i+1
 *        ▲                                                                       │
 *        └───────────────────────────────── stable: reset d to min ◄─────────────┘
 * ```
 *
 * With min 2 s and max 60 s the waits on one server are 2, 4, 8, 16, 32, 60 s. With
 * `'backup'`, the next server is tried only after the attempt that follows the 60 s wait
 * failed (about 2 minutes): right for a primary with a standby, which should be left as soon
 * as the primary is back. With `'cluster'` every failure moves to the next node, so a dead
 * node costs one `min` wait; the waits still grow while every node fails, so a whole
 * cluster down is not hammered.
 *
 * **Stable, not merely accepted.** A CONNACK alone does not restart the backoff: a broker
 * that accepts the connection and closes it at once (e.g. on a message it will not take)
 * would otherwise be retried every `min`, forever. The backoff restarts only when a
 * connection stayed up `stableAfterMs` ({@link ReconnectSchedule.connected} then
 * {@link ReconnectSchedule.failed} `stableAfterMs` or more later); a shorter connection
 * counts as a failure of its server like any other.
 *
 * **Permanent refusals** (CONNACK return codes 1, 2, 4, 5: bad credentials, rejected
 * identifier, not authorized, unsupported protocol) are not fixed by retrying soon, but may be
 * fixed on the broker's side: the next attempt comes after `refusedDelayMs` (by default
 * `max`), and the backoff stays at its maximum. With `'backup'` a second refusal in a row
 * moves to the next server (which has its own credentials), tried after `min`.
 *
 * A jitter fraction `j` spreads each wait uniformly over `[d·(1−j), d]` so that a fleet
 * restarted together does not reconnect in lockstep; the cap stays a cap.
 *
 * @module
 */

/**
 * When to move to the next server: `'backup'` after a maximum-length wait failed (a primary
 * and its standbys), `'cluster'` at every failure (equal nodes of a clustered broker).
 */
export type FailoverPolicy = 'backup' | 'cluster';

/** Parameters of a {@link ReconnectSchedule}. */
export interface BackoffOptions {
  /** First wait after a failure, in milliseconds. */
  readonly minDelayMs: number;
  /** Largest wait, in milliseconds. */
  readonly maxDelayMs: number;
  /** Fraction of each wait that is randomized, 0 (none) to 1. */
  readonly jitter: number;
  /** Number of servers (primary first, then backups; or the nodes of a cluster). */
  readonly serverCount: number;
  /** When to move to the next server. */
  readonly failover: FailoverPolicy;
  /** How long a connection must stay up before it restarts the backoff, in milliseconds. */
  readonly stableAfterMs: number;
  /** The wait after a permanent refusal, in milliseconds. */
  readonly refusedDelayMs: number;
}

/** What to do after a failed attempt. */
export interface NextAttempt {
  /** How long to wait before the next attempt, in milliseconds. */
  readonly delayMs: number;
  /** Index of the server to try next. */
  readonly serverIndex: number;
  /** True when this step moved to another server. */
  readonly switched: boolean;
}

/** Exponential backoff with jitter, and failover as a primary with backups or as a cluster. */
export class ReconnectSchedule {
  readonly #options: BackoffOptions;
  readonly #random: () => number;
  #serverIndex = 0;
  /** The un-jittered wait used last; 0 before the first failure (or after a stable link). */
  #lastDelayMs = 0;
  /** When the current connection was accepted; undefined when there is none. */
  #connectedAt: number | undefined;

  /**
   * @param options - bounds, jitter, server count and policies.
   * @param random - a source of numbers in [0, 1), e.g. `Math.random`; tests pass a fixed one.
   */
  constructor(options: BackoffOptions, random: () => number) {
    this.#options = options;
    this.#random = random;
  }

  /** Index of the server in use (or to be tried next). */
  get serverIndex(): number {
    return this.#serverIndex;
  }

  /**
   * Records an accepted connection (CONNACK 0) at `nowMs` on the current server. It restarts
   * the backoff only if it is still up `stableAfterMs` later, as {@link failed} finds out.
   */
  connected(nowMs: number): void {
    this.#connectedAt = nowMs;
  }

  /**
   * Records a failed attempt (transport error, refused CONNACK, time-out) or a lost
   * connection, at `nowMs` on the same clock as {@link connected}.
   *
   * @param refused - the broker refused the connection permanently (CONNACK 1, 2, 4, 5).
   */
  failed(nowMs: number, refused = false): NextAttempt {
    const { minDelayMs, maxDelayMs, serverCount, failover } = this.#options;
    if (
      this.#connectedAt !== undefined &&
      nowMs - this.#connectedAt >= this.#options.stableAfterMs
    ) {
      // The connection proved stable: this is a fresh outage, not a server that drops us.
      this.#lastDelayMs = 0;
    }
    this.#connectedAt = undefined;
    let switched = false;
    let delay: number;
    if (serverCount > 1 && failover === 'cluster') {
      this.#serverIndex = (this.#serverIndex + 1) % serverCount;
      switched = true;
      delay = this.#nextDelay(refused);
    } else if (serverCount > 1 && this.#lastDelayMs >= maxDelayMs) {
      // 'backup': the previous wait was already the maximum and the attempt after it failed
      // too. The next server starts afresh: a refusal by this one says nothing about it.
      this.#serverIndex = (this.#serverIndex + 1) % serverCount;
      switched = true;
      delay = minDelayMs;
      this.#lastDelayMs = Math.max(delay, 1);
    } else {
      delay = this.#nextDelay(refused);
    }
    return { delayMs: this.#jittered(delay), serverIndex: this.#serverIndex, switched };
  }

  #nextDelay(refused: boolean): number {
    const { minDelayMs, maxDelayMs, refusedDelayMs } = this.#options;
    if (refused) {
      // Wrong credentials are not fixed by retrying soon; keep the backoff at its maximum.
      this.#lastDelayMs = Math.max(maxDelayMs, 1);
      return refusedDelayMs;
    }
    const delay =
      this.#lastDelayMs === 0 ? minDelayMs : Math.min(this.#lastDelayMs * 2, maxDelayMs);
    this.#lastDelayMs = Math.max(delay, 1);
    return delay;
  }

  #jittered(delayMs: number): number {
    const j = this.#options.jitter;
    if (j <= 0) return delayMs;
    let r: number;
    try {
      r = this.#random();
    } catch {
      // The source was checked when the options were; one that fails later means no jitter
      // for that wait rather than a failed reconnect loop.
      r = 0;
    }
    return Math.round(delayMs * (1 - j * r));
  }
}
