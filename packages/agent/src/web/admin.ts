/**
 * Where the console's admin password hash lives, and how it changes.
 *
 * In order: `web.passwordHash` of the configuration (changed by saving the configuration),
 * else `<dataDir>/admin.json` (mode 0600). When neither exists, the first start makes a random
 * password, stores its hash in `admin.json`, and hands the password to the caller to print
 * once: it is not kept anywhere in clear.
 *
 * @module
 */

import { mkdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { writeFileAtomic } from './config-store.js';
import { generatePassword, hashPassword, PasswordChecks } from './password.js';

/** Where a hash is kept. */
export interface PasswordHashStore {
  read(): Promise<string | undefined>;
  write(hash: string): Promise<void>;
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
      const hash = (JSON.parse(text) as { passwordHash?: unknown }).passwordHash;
      return typeof hash === 'string' ? hash : undefined;
    },
    async write(hash) {
      await mkdir(dataDir, { recursive: true, mode: 0o700 });
      await writeFileAtomic(file, `${JSON.stringify({ passwordHash: hash }, null, 2)}\n`, 0o600);
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
  readonly #checks = new PasswordChecks();

  private constructor(store: PasswordHashStore, hash: string) {
    this.#store = store;
    this.#hash = hash;
  }

  /**
   * Loads the hash from `store`; when there is none, makes a random password and stores its
   * hash.
   * @returns the password object, and the new password when one was made (print it once)
   */
  static async open(
    store: PasswordHashStore,
  ): Promise<{ admin: AdminPassword; generated: string | undefined }> {
    const hash = await store.read();
    if (hash !== undefined) return { admin: new AdminPassword(store, hash), generated: undefined };
    const password = generatePassword();
    const fresh = await hashPassword(password);
    await store.write(fresh);
    return { admin: new AdminPassword(store, fresh), generated: password };
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
  }
}
