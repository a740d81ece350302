/**
 * Temporary directories removed after the test.
 *
 * @module
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TestContext } from 'node:test';

/** Creates a temporary directory, removed when the test ends (when `t` is given). */
export async function tempDir(t: TestContext | undefined, prefix: string): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), `courier-${prefix}-`));
  t?.after(() => rm(dir, { recursive: true, force: true }));
  return dir;
}
