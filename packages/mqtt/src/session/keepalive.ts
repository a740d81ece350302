/**
 * Keep-alive of one session: when a PINGREQ is due, and when a missing PINGRESP means the
 * link is dead. Sans I/O: time comes in as an argument, and {@link KeepAlive.due} answers
 * with what to do instead of doing it.
 *
 * @module
 */

/** What {@link KeepAlive.due} asks the session to do. */
export type KeepAliveAction = 'ping' | 'timeout' | undefined;

/** Keep-alive timing of one session [MQTT-3.1.2-23], [MQTT-3.1.2-24]. */
export class KeepAlive {
  readonly #configuredSec: number;
  readonly #pingTimeoutMs: number;
  /** The keep-alive in force: ours, or the server's (MQTT 5.0 Server Keep Alive). */
  #sec: number;
  #lastSentAt = 0;
  #lastReceivedAt = 0;
  /** When the outstanding PINGREQ was sent; -1 when none is outstanding. */
  #pingSentAt = -1;
  /** Reading is paused by the driver: the broker's packets wait unread in the socket. */
  #receivePaused = false;

  /**
   * @param keepaliveSec - our Keep Alive, sent in CONNECT (0 turns keep-alive off).
   * @param pingTimeoutMs - how long to wait for PINGRESP before declaring the link dead.
   */
  constructor(keepaliveSec: number, pingTimeoutMs: number) {
    this.#configuredSec = keepaliveSec;
    this.#sec = keepaliveSec;
    this.#pingTimeoutMs = pingTimeoutMs;
  }

  /** The keep-alive in force, in seconds. */
  get sec(): number {
    return this.#sec;
  }

  /** How long a PINGREQ may go unanswered, in milliseconds. */
  get pingTimeoutMs(): number {
    return this.#pingTimeoutMs;
  }

  /** A connection opened: our own keep-alive again, and the link counts as just heard from. */
  opened(now: number): void {
    this.#sec = this.#configuredSec;
    this.#lastReceivedAt = now;
    this.#pingSentAt = -1;
  }

  /** [MQTT-3.2.2-21] The server's keep-alive replaces ours for this connection. */
  adopt(serverKeepAliveSec: number): void {
    this.#sec = serverKeepAliveSec;
  }

  /** A packet was written. */
  sent(now: number): void {
    this.#lastSentAt = now;
  }

  /** A packet arrived. */
  received(now: number): void {
    this.#lastReceivedAt = now;
  }

  /** PINGRESP arrived. */
  pong(): void {
    this.#pingSentAt = -1;
  }

  /** The connection is gone: nothing is outstanding, and reading is no longer paused. */
  lost(): void {
    this.#pingSentAt = -1;
    this.#receivePaused = false;
  }

  /**
   * The driver stopped (or resumed) reading the connection. While paused the broker's
   * packets, PINGRESP among them, wait unread: keep-alive keeps the broker's side satisfied
   * with PINGREQ but does not judge the link dead. Resuming counts as hearing from the
   * broker, since the bytes were there all along.
   */
  pause(paused: boolean, now: number): void {
    if (this.#receivePaused === paused) return;
    this.#receivePaused = paused;
    if (!paused) {
      this.#lastReceivedAt = now;
      this.#pingSentAt = -1;
    }
  }

  /**
   * What keep-alive needs at `now` on an online link: `'ping'` (send PINGREQ), `'timeout'`
   * (a PINGREQ went unanswered for `pingTimeoutMs`: drop the link), or nothing.
   *
   * "Quiet" counts both directions: a client that keeps publishing into a half-open TCP
   * connection receives nothing back, so it pings and detects the dead link even though it
   * never stopped sending.
   */
  due(now: number): KeepAliveAction {
    if (this.#sec === 0) return undefined;
    const keepaliveMs = this.#sec * 1000;
    if (this.#receivePaused) {
      return now - this.#lastSentAt >= keepaliveMs ? 'ping' : undefined;
    }
    if (this.#pingSentAt >= 0) {
      if (now - this.#pingSentAt < this.#pingTimeoutMs) return undefined;
      this.#pingSentAt = -1;
      return 'timeout';
    }
    if (now - Math.min(this.#lastSentAt, this.#lastReceivedAt) < keepaliveMs) return undefined;
    this.#pingSentAt = now;
    return 'ping';
  }
}
