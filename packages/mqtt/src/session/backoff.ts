/**
 * The reconnect schedule: exponential backoff with jitter, and failover across servers.
 *
 * Pure: randomness comes in as a function, time is not read at all (the caller waits the
 * returned delay). Semantics follow Mongoose OS's `reconnect_timeout_min/max` and its backup
 * server `mqtt1`:
 *
 * ```
 *   attempt on server i ──fail──► wait d (d = min, then doubled, capped at max) ──► attempt
 *        ▲                                   │
 *        │                 the wait just spent was already `max` and there are
 *        │                 other servers: switch to server i+1, reset d to min
 *        └──────────────── success: stay on server i, reset d to min
 * ```
 *
 * With min 2 s and max 60 s the waits on one server are 2, 4, 8, 16, 32, 60 s; after the
 * attempt that follows the 60 s wait fails, the next server is tried the same way. A server
 * that works is kept; when it drops, it is retried first. A jitter fraction `j` spreads each
 * wait uniformly over `[d·(1−j), d]` so that a fleet restarted together does not reconnect in
 * lockstep; the cap stays a cap.
 *
 * @module
 */

/** Parameters of a {@link ReconnectSchedule}. */
export interface BackoffOptions {
  /** First wait after a failure, in milliseconds. */
  readonly minDelayMs: number;
  /** Largest wait, in milliseconds. */
  readonly maxDelayMs: number;
  /** Fraction of each wait that is randomized, 0 (none) to 1. */
  readonly jitter: number;
  /** Number of servers (primary first, then backups). */
  readonly serverCount: number;
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

/** Exponential backoff with jitter and Mongoose-style failover. */
export class ReconnectSchedule {
  readonly #options: BackoffOptions;
  readonly #random: () => number;
  #serverIndex = 0;
  /** The un-jittered wait used last; 0 before the first failure on this server. */
  #lastDelayMs = 0;

  /**
   * @param options - bounds, jitter and server count.
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

  /** Records a failed attempt (transport error, refused CONNACK, or a dropped connection). */
  failed(): NextAttempt {
    const { minDelayMs, maxDelayMs, serverCount } = this.#options;
    let switched = false;
    let delay: number;
    if (this.#lastDelayMs >= maxDelayMs && serverCount > 1) {
      // The previous wait was already the maximum and the attempt after it failed too.
      this.#serverIndex = (this.#serverIndex + 1) % serverCount;
      switched = true;
      delay = minDelayMs;
    } else if (this.#lastDelayMs === 0) {
      delay = minDelayMs;
    } else {
      delay = Math.min(this.#lastDelayMs * 2, maxDelayMs);
    }
    this.#lastDelayMs = Math.max(delay, 1);
    return { delayMs: this.#jittered(delay), serverIndex: this.#serverIndex, switched };
  }

  /** Records a successful connection: stay on this server, restart the backoff. */
  succeeded(): void {
    this.#lastDelayMs = 0;
  }

  #jittered(delayMs: number): number {
    const j = this.#options.jitter;
    if (j <= 0) return delayMs;
    return Math.round(delayMs * (1 - j * this.#random()));
  }
}
