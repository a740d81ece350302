/**
 * The console's admin password: hashed with scrypt, a slow, memory-hard KDF built into Node.
 *
 * A hash is one string, `scrypt$N$r$p$salt$hash` (salt and hash in base64), so it can sit in
 * the configuration file (`web.passwordHash`) or in `<dataDir>/admin.json`. The parameters
 * travel with the hash: raising them later does not invalidate existing hashes.
 *
 * @module
 */

import { randomBytes, scrypt, timingSafeEqual } from 'node:crypto';

/** scrypt cost: N = 2^15, r = 8 (32 MiB, about 50-100 ms on a small ARM board per attempt). */
const N = 1 << 15;
const R = 8;
const P = 1;
const KEY_LENGTH = 32;
// Node refuses scrypt above maxmem (32 MiB by default); 128 * N * r is exactly 32 MiB.
const MAXMEM = 64 * 1024 * 1024;

function derive(password: string, salt: Buffer, n: number, r: number, p: number, length: number) {
  return new Promise<Buffer>((resolve, reject) => {
    scrypt(password, salt, length, { N: n, r, p, maxmem: MAXMEM }, (error, key) =>
      error === null ? resolve(key) : reject(error),
    );
  });
}

/** Hashes a password with a fresh random salt. */
export async function hashPassword(password: string): Promise<string> {
  const salt = randomBytes(16);
  const key = await derive(password, salt, N, R, P, KEY_LENGTH);
  return `scrypt$${N}$${R}$${P}$${salt.toString('base64')}$${key.toString('base64')}`;
}

/**
 * Checks a password against a hash made by {@link hashPassword}, in constant time.
 * @returns false for a wrong password or a hash that is not ours
 */
export async function verifyPassword(password: string, hash: string): Promise<boolean> {
  const parts = hash.split('$');
  if (parts.length !== 6 || parts[0] !== 'scrypt') return false;
  const [n, r, p] = parts.slice(1, 4).map(Number) as [number, number, number];
  const salt = Buffer.from(parts[4] ?? '', 'base64');
  const expected = Buffer.from(parts[5] ?? '', 'base64');
  if (![n, r, p].every(Number.isSafeInteger) || expected.length === 0) return false;
  try {
    const key = await derive(password, salt, n, r, p, expected.length);
    return timingSafeEqual(key, expected);
  } catch {
    return false;
  }
}

/**
 * Runs password checks one at a time, with a bounded queue. One scrypt check holds 32 MiB and
 * one of libuv's 4 worker threads for about 100 ms, and those threads also run the agent's file
 * I/O (its message store, configuration saves): a burst of logins must take neither the memory
 * of a small device nor the threads its data path needs.
 */
export class PasswordChecks {
  #tail: Promise<unknown> = Promise.resolve();
  #queued = 0;
  readonly #maxQueued: number;

  /** @param maxQueued checks running or waiting at most; more are refused */
  constructor(maxQueued = 16) {
    this.#maxQueued = maxQueued;
  }

  /** Checks `password` against `hash` after the checks before it; undefined when the queue is full. */
  verify(password: string, hash: string): Promise<boolean> | undefined {
    if (this.#queued >= this.#maxQueued) return undefined;
    this.#queued++;
    const result = this.#tail
      .then(() => verifyPassword(password, hash))
      .finally(() => {
        this.#queued--;
      });
    this.#tail = result.catch(() => undefined);
    return result;
  }
}

/** A random password for the first start: 16 characters, about 93 bits. */
export function generatePassword(): string {
  const alphabet = 'abcdefghijkmnpqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789';
  const bytes = randomBytes(16);
  let out = '';
  for (const b of bytes) out += alphabet[b % alphabet.length];
  return out;
}

/** The shortest admin password, in characters. */
export const ADMIN_PASSWORD_MIN = 8;
/**
 * The longest admin password, in characters. One scrypt check of a long password costs no
 * more than of a short one, but login refuses anything longer without a check (a megabyte
 * of "password" is an attack, not a password): so setting one must refuse it too, or the
 * admin locks themself out.
 */
export const ADMIN_PASSWORD_MAX = 1024;

/**
 * Why `password` cannot be the admin password, or `undefined` when it can: the one rule of
 * the console (`POST /api/password`) and `courier hash-password`; login checks no password
 * longer than {@link ADMIN_PASSWORD_MAX}. Worded to follow "the password".
 */
export function adminPasswordIssue(password: string): string | undefined {
  if (password.length < ADMIN_PASSWORD_MIN || password.length > ADMIN_PASSWORD_MAX)
    return `must have at least ${ADMIN_PASSWORD_MIN} characters and at most ${ADMIN_PASSWORD_MAX}`;
  return undefined;
}

/** Whether login may check `password` at all: a string within {@link ADMIN_PASSWORD_MAX}. */
export function isCheckablePassword(password: unknown): password is string {
  return typeof password === 'string' && password.length <= ADMIN_PASSWORD_MAX;
}
