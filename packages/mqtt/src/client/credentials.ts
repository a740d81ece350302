/**
 * Passwords that renew: a provider evaluated at each connection attempt, whose answer may
 * carry an expiry (a SAS token, a JWT), so that the client reconnects with a fresh one
 * before the old one expires. {@link CredentialRenewal} owns the renew timer the client arms
 * for each connection.
 *
 * @module
 */

import { unref } from '#platform';
import { InvalidOptionError } from '../errors.js';
import { validatePassword } from './mqtt-strings.js';

/** A password that stops being accepted at `expiresAtMs`. */
export interface ExpiringPassword {
  readonly password: string | Uint8Array;
  /** When the server stops accepting it (epoch milliseconds, as `Date.now()`). */
  readonly expiresAtMs: number;
  /**
   * When the client reconnects with a fresh one (epoch milliseconds).
   * @default 80 % of the way from now to `expiresAtMs`
   */
  readonly renewAtMs?: number;
}

/**
 * Called before each connection attempt (its answer is never logged). Returning an
 * {@link ExpiringPassword} makes the client renew it before it expires: a DISCONNECT, then
 * a CONNECT with the new one, the session kept.
 */
export type PasswordProvider = () =>
  | string
  | Uint8Array
  | ExpiringPassword
  | Promise<string | Uint8Array | ExpiringPassword>;

/** When the credentials of the current connection expire and will be renewed. */
export interface CredentialTimes {
  /** Epoch milliseconds. */
  readonly expiresAtMs: number;
  /** Epoch milliseconds. */
  readonly renewAtMs: number;
}

/** A password ready for CONNECT and, for an expiring one, its times. */
export interface ResolvedPassword {
  readonly password: string | Uint8Array;
  readonly times: CredentialTimes | undefined;
}

/**
 * Evaluates a password option: a value as it is, a provider called now and its answer
 * checked like a password option.
 * @throws {@link InvalidOptionError} naming `password` when the provider fails or answers
 * something that is not a password (the value is never put in the message)
 */
export async function resolvePassword(
  value: string | Uint8Array | PasswordProvider,
  field: string,
  nowMs: number,
): Promise<ResolvedPassword> {
  if (typeof value !== 'function') return { password: value, times: undefined };
  let answer: unknown;
  try {
    answer = await value();
  } catch (error) {
    const reason = error instanceof Error ? error.message : String(error);
    const failure = new InvalidOptionError(field, `the password provider failed: ${reason}`);
    throw Object.assign(failure, { cause: error });
  }
  if (typeof answer === 'string' || answer instanceof Uint8Array) {
    validatePassword(answer, field);
    return { password: answer, times: undefined };
  }
  if (typeof answer !== 'object' || answer === null) {
    throw new InvalidOptionError(
      field,
      'the password provider must return a string, bytes or { password, expiresAtMs }',
    );
  }
  const { password, expiresAtMs, renewAtMs } = answer as ExpiringPassword;
  if (typeof password !== 'string' && !(password instanceof Uint8Array)) {
    throw new InvalidOptionError(`${field}().password`, 'must be a string or bytes');
  }
  validatePassword(password, `${field}().password`);
  if (typeof expiresAtMs !== 'number' || !Number.isFinite(expiresAtMs)) {
    throw new InvalidOptionError(`${field}().expiresAtMs`, 'must be epoch milliseconds');
  }
  const renew = renewAtMs ?? nowMs + (expiresAtMs - nowMs) * 0.8;
  if (typeof renew !== 'number' || !Number.isFinite(renew) || renew > expiresAtMs) {
    throw new InvalidOptionError(
      `${field}().renewAtMs`,
      'must be epoch milliseconds no later than expiresAtMs',
    );
  }
  return { password, times: { expiresAtMs, renewAtMs: renew } };
}

/** The longest delay `setTimeout` honours (a longer one fires at once). */
const MAX_TIMER_MS = 2 ** 31 - 1;

/** The connection whose password is to be renewed, as the client sees it. */
export interface RenewableConnection {
  /** Whether it is still the client's connected link (renewing anything else is moot). */
  current(): boolean;
  /** Ends it on purpose (a DISCONNECT, then a close) so the client reconnects at once. */
  end(): void;
}

/**
 * The renewal of an expiring password: the times of the current connection's password, the
 * timer that ends that connection at `renewAtMs`, and whether the last connection was ended
 * for that (the client then reconnects at once, and counts no failure).
 */
export class CredentialRenewal {
  #times: CredentialTimes | undefined;
  #timer: ReturnType<typeof setTimeout> | undefined;
  #renewing = false;
  #count = 0;

  /** When the current connection's password expires and will be renewed, if it does. */
  get times(): CredentialTimes | undefined {
    return this.#times;
  }

  /** Connections ended on purpose to renew an expiring password, so far. */
  get count(): number {
    return this.#count;
  }

  /**
   * A connection was accepted with a password of these times (undefined: one that does not
   * expire): arms the timer that ends `connection` at `renewAtMs`.
   */
  start(times: CredentialTimes | undefined, connection: RenewableConnection): void {
    this.#times = times;
    this.stop();
    if (times !== undefined) this.#arm(times, connection);
  }

  /**
   * The connection was lost: stops the timer and tells whether it was ended for renewal
   * (asked once per lost connection).
   */
  connectionLost(): boolean {
    this.stop();
    const renewing = this.#renewing;
    this.#renewing = false;
    return renewing;
  }

  /** Stops the timer (the client finished, or its connection was lost). */
  stop(): void {
    if (this.#timer !== undefined) clearTimeout(this.#timer);
    this.#timer = undefined;
  }

  #arm(times: CredentialTimes, connection: RenewableConnection): void {
    // A timer longer than 2^31-1 ms fires at once: wait in steps (a token may live a year).
    const delayMs = Math.min(MAX_TIMER_MS, Math.max(0, times.renewAtMs - Date.now()));
    this.#timer = setTimeout(() => {
      this.#timer = undefined;
      if (!connection.current()) return;
      if (Date.now() < times.renewAtMs) {
        this.#arm(times, connection);
        return;
      }
      this.#renewing = true;
      this.#count++;
      connection.end();
    }, delayMs);
    unref(this.#timer);
  }
}
