/**
 * Console sessions and the login rate limit, in memory: a restart logs everybody out, which
 * is what a device that was power-cycled should do.
 *
 * @module
 */

import { randomBytes, timingSafeEqual } from 'node:crypto';

/** One logged-in browser. */
export interface Session {
  readonly id: string;
  /** Sent back in `X-CSRF-Token` with every change. */
  readonly csrfToken: string;
  readonly createdAt: number;
  lastSeen: number;
}

/** Limits of a {@link SessionStore}. */
export interface SessionLimits {
  /** A session unused this long ends. @default 1 hour */
  readonly idleMs?: number;
  /** A session ends this long after login whatever happens. @default 12 hours */
  readonly absoluteMs?: number;
  /** Clock. @default Date.now */
  readonly now?: () => number;
}

const token = () => randomBytes(32).toString('base64url');

/** Equal strings, compared in constant time. */
export function sameToken(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}

/** The sessions of the console. */
export class SessionStore {
  readonly #sessions = new Map<string, Session>();
  readonly #idleMs: number;
  readonly #absoluteMs: number;
  readonly #now: () => number;

  constructor(limits: SessionLimits = {}) {
    this.#idleMs = limits.idleMs ?? 60 * 60_000;
    this.#absoluteMs = limits.absoluteMs ?? 12 * 60 * 60_000;
    this.#now = limits.now ?? Date.now;
  }

  /** Starts a session. */
  create(): Session {
    this.#sweep();
    const now = this.#now();
    const session: Session = { id: token(), csrfToken: token(), createdAt: now, lastSeen: now };
    this.#sessions.set(session.id, session);
    return session;
  }

  /** The live session of a cookie value, touched; undefined when unknown or expired. */
  get(id: string | undefined): Session | undefined {
    if (id === undefined || id === '') return undefined;
    const session = this.#sessions.get(id);
    if (session === undefined) return undefined;
    const now = this.#now();
    if (this.#expired(session, now)) {
      this.#sessions.delete(id);
      return undefined;
    }
    session.lastSeen = now;
    return session;
  }

  /** Whether a session is live, without counting as a use of it. */
  has(id: string): boolean {
    const session = this.#sessions.get(id);
    if (session === undefined) return false;
    return !this.#expired(session, this.#now());
  }

  /** Ends a session. */
  delete(id: string): void {
    this.#sessions.delete(id);
  }

  /** Ends every session but `keep` (after a password change). */
  clearExcept(keep: string): void {
    for (const id of this.#sessions.keys()) if (id !== keep) this.#sessions.delete(id);
  }

  #sweep(): void {
    const now = this.#now();
    for (const [id, s] of this.#sessions) if (this.#expired(s, now)) this.#sessions.delete(id);
  }

  /** Unused for longer than the idle limit, or older than the absolute one. */
  #expired(session: Session, now: number): boolean {
    return now - session.lastSeen > this.#idleMs || now - session.createdAt > this.#absoluteMs;
  }
}

/** Limits of a {@link LoginLimiter}. */
export interface LoginLimits {
  /** Wrong passwords allowed per address within the window. @default 5 */
  readonly maxFailures?: number;
  /** @default 15 minutes */
  readonly windowMs?: number;
  /** Clock. @default Date.now */
  readonly now?: () => number;
}

/**
 * Counts wrong passwords per client address in a sliding window. Once an address has
 * `maxFailures` in the window it is refused, without the password being checked, until the
 * oldest of them leaves the window. A successful login clears the address.
 */
export class LoginLimiter {
  readonly #failures = new Map<string, number[]>();
  readonly #max: number;
  readonly #windowMs: number;
  readonly #now: () => number;

  constructor(limits: LoginLimits = {}) {
    this.#max = limits.maxFailures ?? 5;
    this.#windowMs = limits.windowMs ?? 15 * 60_000;
    this.#now = limits.now ?? Date.now;
  }

  /** Milliseconds until `address` may try again; 0 when it may now. */
  retryAfterMs(address: string): number {
    const now = this.#now();
    const recent = (this.#failures.get(address) ?? []).filter((t) => now - t < this.#windowMs);
    if (recent.length === 0) this.#failures.delete(address);
    else this.#failures.set(address, recent);
    if (recent.length < this.#max) return 0;
    return (recent[recent.length - this.#max] ?? now) + this.#windowMs - now;
  }

  /** Records a wrong password. */
  fail(address: string): void {
    const list = this.#failures.get(address) ?? [];
    list.push(this.#now());
    this.#failures.set(address, list);
    if (this.#failures.size > 10_000) {
      // An address flood must not grow memory without bound: forget the oldest.
      const first = this.#failures.keys().next().value;
      if (first !== undefined) this.#failures.delete(first);
    }
  }

  /** Clears an address after a good password. */
  succeed(address: string): void {
    this.#failures.delete(address);
  }
}
