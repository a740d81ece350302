/**
 * Temporary directories removed after the test that made them.
 *
 * @module
 */

import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TestContext } from 'node:test';

/**
 * Creates a fresh directory under the OS temp dir. With a test context it is removed
 * recursively once the test ends (`t.after`); without one the caller removes it.
 *
 * @param t - the running test, or `undefined` when the caller manages the lifetime.
 * @param prefix - readable prefix of the directory name, e.g. `'mosquitto-'`.
 */
export async function tempDir(t: TestContext | undefined, prefix: string): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), `courier-${prefix}`));
  t?.after(() => rm(dir, { recursive: true, force: true }));
  return dir;
}
