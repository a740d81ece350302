/**
 * Log lines for a connection that keeps failing, so a device is never silent and a long outage
 * never floods its log.
 *
 * Every failed attempt is counted. The first {@link OutageLogOptions.burst} failures of an
 * outage are logged one by one, with their reason and the time until the next attempt; after
 * that one line per {@link OutageLogOptions.intervalMs} says how many attempts were not logged.
 * A failure whose reason differs from the last one logged is always logged (a broker that goes
 * from "connection refused" to "bad user name or password" is news). When the connection is
 * up again, one line says after how many attempts and how long it was down.
 *
 * The class only decides what to log; time comes from `now`, so a test drives it with a fake
 * clock and no sleeps.
 *
 * @module
 */

import type { Logger } from 'pino';

/** One failed attempt, as the connection's owner knows it. */
export interface Failure {
  /** The error message: why the attempt failed. */
  readonly reason: string;
  /** The error's stable code, if any. */
  readonly code?: string | undefined;
  /**
   * True when retrying with the same settings cannot help (a CONNACK refusal other than
   * "server unavailable"): logged at error level, and said so.
   */
  readonly permanent?: boolean | undefined;
  /** When the next attempt is made, in milliseconds from now; undefined if none is planned. */
  readonly retryInMs?: number | undefined;
  /** The server tried, as a URL without credentials. */
  readonly server: string;
  /** The attempt ended a connection that was up (a loss rather than a failed connect). */
  readonly lost?: boolean | undefined;
}

/** Options of an {@link OutageLog}. */
export interface OutageLogOptions {
  /** What connects, as the log names it, e.g. `MQTT` or `Redis`. */
  readonly what: string;
  readonly logger: Logger;
  /** Failures of one outage logged one by one. @default 5 */
  readonly burst?: number;
  /** After the burst, at most one line per this many milliseconds. @default 60000 */
  readonly intervalMs?: number;
  /** @default Date.now */
  readonly now?: () => number;
}

/** `1234` → `1.2 s`; `95000` → `1 min 35 s`. */
export function formatDuration(ms: number): string {
  if (ms < 1000) return `${Math.round(ms)} ms`;
  if (ms < 60_000) return `${(ms / 1000).toFixed(1)} s`;
  const totalSec = Math.round(ms / 1000);
  const h = Math.floor(totalSec / 3600);
  const min = Math.floor((totalSec % 3600) / 60);
  const sec = totalSec % 60;
  return h > 0 ? `${h} h ${min} min` : `${min} min ${sec} s`;
}

/** Rate-limited log lines of one connection's failures and recoveries. */
export class OutageLog {
  readonly #what: string;
  readonly #log: Logger;
  readonly #burst: number;
  readonly #intervalMs: number;
  readonly #now: () => number;
  /** Failed attempts since the connection was last up. */
  #failures = 0;
  /** When the outage began (first failure, or loss of the connection). */
  #downSince: number | undefined;
  #lastLoggedAt = 0;
  #lastReason: string | undefined;
  /** Failures not logged since the last line. */
  #suppressed = 0;
  #everUp = false;

  constructor(options: OutageLogOptions) {
    this.#what = options.what;
    this.#log = options.logger;
    this.#burst = options.burst ?? 5;
    this.#intervalMs = options.intervalMs ?? 60_000;
    this.#now = options.now ?? Date.now;
  }

  /** Failed attempts in the current outage (0 while connected). */
  get failures(): number {
    return this.#failures;
  }

  /** Records a failed attempt, and logs it unless the rate limit says otherwise. */
  failed(failure: Failure): void {
    const now = this.#now();
    this.#failures++;
    this.#downSince ??= now;
    const changed = failure.reason !== this.#lastReason;
    const due =
      changed || this.#failures <= this.#burst || now - this.#lastLoggedAt >= this.#intervalMs;
    if (!due) {
      this.#suppressed++;
      return;
    }
    const suppressed = this.#suppressed;
    this.#suppressed = 0;
    this.#lastLoggedAt = now;
    this.#lastReason = failure.reason;
    const retry =
      failure.retryInMs === undefined
        ? ''
        : `; retrying in ${formatDuration(failure.retryInMs)}${
            failure.permanent === true
              ? ' (a refusal that will repeat until the configuration changes)'
              : ''
          }`;
    const verb = failure.lost === true ? 'lost' : 'failed';
    const tail = [
      suppressed > 0
        ? `${suppressed} more failed attempt${suppressed === 1 ? '' : 's'} not logged`
        : '',
      this.#failures > 1 ? `down for ${formatDuration(now - this.#downSince)}` : '',
    ]
      .filter((s) => s !== '')
      .join(', ');
    const fields = {
      server: failure.server,
      reason: failure.reason,
      ...(failure.code === undefined ? {} : { code: failure.code }),
      permanent: failure.permanent === true,
      ...(failure.retryInMs === undefined ? {} : { retryInMs: failure.retryInMs }),
      attempt: this.#failures,
      ...(suppressed > 0 ? { suppressed } : {}),
    };
    const message = `${this.#what} connection to ${failure.server} ${verb}: ${failure.reason}${retry}${
      tail === '' ? '' : ` (${tail})`
    }`;
    if (failure.permanent === true) this.#log.error(fields, message);
    else this.#log.warn(fields, message);
  }

  /** Records that the connection is up; logs how long it was down when it was. */
  connected(server: string): void {
    const now = this.#now();
    if (this.#downSince !== undefined) {
      const downMs = now - this.#downSince;
      this.#log.info(
        { server, downMs, failedAttempts: this.#failures },
        `${this.#what} connected to ${server}${this.#everUp ? ' again' : ''} after ${
          this.#failures
        } failed attempt${this.#failures === 1 ? '' : 's'}, down for ${formatDuration(downMs)}`,
      );
    } else {
      this.#log.info({ server }, `${this.#what} connected to ${server}`);
    }
    this.#everUp = true;
    this.#failures = 0;
    this.#downSince = undefined;
    this.#lastReason = undefined;
    this.#suppressed = 0;
  }
}
