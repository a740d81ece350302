/**
 * What an emulator's tests wait on: the emulator calls {@link Changes.changed} whenever its
 * recorded state changes, and a test waits for a condition on that state with
 * {@link Changes.until}, checked at each change (never polled), with a deadline.
 *
 * @module
 */

/** Change notifications and waits on them. */
export class Changes {
  readonly #watchers = new Set<() => void>();
  readonly #who: string;

  /** @param who - the emulator's name, for the timeout message */
  constructor(who: string) {
    this.#who = who;
  }

  /** The recorded state changed: every waiting condition is checked again. */
  changed(): void {
    for (const watcher of [...this.#watchers]) watcher();
  }

  /** Resolves once `check()` holds (at once, or after a change); rejects after `timeoutMs`. */
  until(check: () => boolean, what: string, timeoutMs: number): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      if (check()) {
        resolve();
        return;
      }
      const timer = setTimeout(() => {
        this.#watchers.delete(look);
        reject(new Error(`${this.#who}: timed out waiting for ${what} (${timeoutMs} ms)`));
      }, timeoutMs);
      const look = (): void => {
        if (!check()) return;
        clearTimeout(timer);
        this.#watchers.delete(look);
        resolve();
      };
      this.#watchers.add(look);
    });
  }
}
