/**
 * Where the console's admin password hash lives, and how it changes.
 *
 * In order: `web.passwordHash` of the configuration (changed by saving the configuration),
 * else `<dataDir>/admin.json` (mode 0600). When neither exists, the first start makes a random
 * password, stores its hash in `admin.json`, and hands the password to the caller to print
 * once: it is not kept anywhere in clear.
 *
 * A generated password is recorded as not yet shown (`"shown": false`) until the caller has
 * printed it ({@link AdminPassword.markShown}). If the start fails before that (the agent
 * starts whole or not at all), the next start finds a hash nobody knows the password of and
 * makes a fresh one, which it prints. The other designs are worse: keeping the password in
 * clear until it is shown puts a secret on disk, and printing it before the start is known to
 * succeed shows it to a log that may never be read. Once shown, a password is never printed
 * again: only a new one is.
 *
 * @module
 */

import { mkdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { writeFileAtomic } from '../fs-atomic.js';
import { generatePassword, hashPassword, PasswordChecks } from './password.js';

/** Where a hash is kept. */
export interface PasswordHashStore {
  /** The hash in force; undefined when there is none, or only a generated one never shown. */
  read(): Promise<string | undefined>;
  /**
   * Stores `hash`. `shown: false` marks the hash of a generated password not printed yet;
   * a store that cannot record it (the configuration's `web.passwordHash`) ignores it.
   */
  write(hash: string, options?: { readonly shown: boolean }): Promise<void>;
}

/** `<dataDir>/admin.json`. */
export function adminFileStore(dataDir: string): PasswordHashStore {
  const file = join(dataDir, 'admin.json');
  return {
    async read() {
      let text: string;
      try {
        text = await readFile(file, 'utf8');
      } catch {
        return undefined;
      }
      let record: { passwordHash?: unknown; shown?: unknown };
      try {
        record = JSON.parse(text) as typeof record;
      } catch (error) {
        throw new Error(`${file} is not JSON: ${(error as Error).message}`);
      }
      // A generated password never printed is known to nobody: as good as none.
      if (record.shown === false) return undefined;
      return typeof record.passwordHash === 'string' ? record.passwordHash : undefined;
    },
    async write(hash, options) {
      await mkdir(dataDir, { recursive: true, mode: 0o700 });
      const record =
        options === undefined ? { passwordHash: hash } : { passwordHash: hash, ...options };
      await writeFileAtomic(file, `${JSON.stringify(record, null, 2)}\n`, { mode: 0o600 });
    },
  };
}

/** A hash kept in memory only (the demo, tests). */
export function memoryHashStore(hash?: string): PasswordHashStore {
  let current = hash;
  return {
    async read() {
      return current;
    },
    async write(next) {
      current = next;
    },
  };
}

/** The admin password of the console. */
export class AdminPassword {
  readonly #store: PasswordHashStore;
  #hash: string;
  /** The hash of the password made at this start, until it is marked shown. */
  #unshown: string | undefined;
  readonly #checks = new PasswordChecks();

  private constructor(store: PasswordHashStore, hash: string, unshown?: string) {
    this.#store = store;
    this.#hash = hash;
    this.#unshown = unshown;
  }

  /**
   * Loads the hash from `store`; when there is none (or only one never shown), makes a random
   * password and stores its hash, marked not shown.
   * @returns the password object, and the new password when one was made: print it, then
   *   call {@link AdminPassword.markShown}
   */
  static async open(
    store: PasswordHashStore,
  ): Promise<{ admin: AdminPassword; generated: string | undefined }> {
    const hash = await store.read();
    if (hash !== undefined) return { admin: new AdminPassword(store, hash), generated: undefined };
    const password = generatePassword();
    const fresh = await hashPassword(password);
    await store.write(fresh, { shown: false });
    return { admin: new AdminPassword(store, fresh, fresh), generated: password };
  }

  /**
   * Records that the generated password was printed: from now on it is the password, and no
   * later start makes another. Does nothing when no password was generated, or when it was
   * changed since.
   */
  async markShown(): Promise<void> {
    const unshown = this.#unshown;
    this.#unshown = undefined;
    if (unshown === undefined || unshown !== this.#hash) return;
    await this.#store.write(unshown, { shown: true });
  }

  /** From a clear password (demo and tests). */
  static async fromPassword(password: string): Promise<AdminPassword> {
    return new AdminPassword(memoryHashStore(), await hashPassword(password));
  }

  /**
   * Checks a password (slowly, on purpose), one check at a time.
   * @returns undefined when too many checks are already waiting
   */
  verify(password: string): Promise<boolean> | undefined {
    return this.#checks.verify(password, this.#hash);
  }

  /** Replaces the password. */
  async change(password: string): Promise<void> {
    const hash = await hashPassword(password);
    await this.#store.write(hash);
    this.#hash = hash;
    this.#unshown = undefined;
  }
}
