/**
 * Passwords that renew: a provider evaluated at each connection attempt, whose answer may
 * carry an expiry (a SAS token, a JWT), so that the client reconnects with a fresh one
 * before the old one expires.
 *
 * @module
 */

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
