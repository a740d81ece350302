/**
 * A deadline on a promise, for tests that wait for an event: a wait that never ends fails
 * with what was awaited instead of hanging until the runner's own timeout.
 *
 * @module
 */

/** Rejects with `what` if `promise` is not settled within `ms`; the timer is always cleared. */
export async function within<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([
      promise,
      new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error(`${what}: not within ${ms} ms`)), ms);
      }),
    ]);
  } finally {
    clearTimeout(timer);
  }
}
