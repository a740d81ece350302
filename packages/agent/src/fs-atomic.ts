/**
 * Atomic file writes, shared by the console (configuration, accounts, TLS files) and the sinks
 * (Murano token and offline buffer). It sits at the bottom of the agent and imports only Node,
 * so every layer may use it without an upward arrow.
 *
 * @module
 */

import { randomBytes } from 'node:crypto';
import { open, rename, rm } from 'node:fs/promises';
import { dirname } from 'node:path';

/** How {@link writeFileAtomic} writes. */
export interface AtomicWriteOptions {
  /** The file mode of the new file (default 0o600: what is written here is often a secret). */
  mode?: number;
  /**
   * Write through a temporary file with a random name, created exclusively, so two writers of
   * the same file never share one; otherwise the temporary file is `<file>.tmp` (default).
   */
  uniqueTemp?: boolean;
}

/**
 * Writes `text` to `file` atomically: a temporary file is written and fsync'd, renamed over
 * the file, and the directory is fsync'd so the rename itself is durable. A power cut at any
 * point leaves the old file or the new one, never a mix. On a failed rename the temporary file
 * is removed and the error thrown.
 */
export async function writeFileAtomic(
  file: string,
  text: string,
  options: AtomicWriteOptions = {},
): Promise<void> {
  const { mode = 0o600, uniqueTemp = false } = options;
  const tmp = uniqueTemp ? `${file}.${randomBytes(6).toString('hex')}.tmp` : `${file}.tmp`;
  const handle = await open(tmp, uniqueTemp ? 'wx' : 'w', mode);
  try {
    await handle.writeFile(text, 'utf8');
    await handle.sync();
  } finally {
    await handle.close();
  }
  try {
    await rename(tmp, file);
  } catch (error) {
    await rm(tmp, { force: true });
    throw error;
  }
  await syncDir(dirname(file));
}

/** Fsyncs a directory, where the file system allows it. */
async function syncDir(dir: string): Promise<void> {
  let handle: Awaited<ReturnType<typeof open>> | undefined;
  try {
    handle = await open(dir, 'r');
    await handle.sync();
  } catch {
    // Some file systems cannot fsync a directory; the rename is then as durable as they allow.
  } finally {
    await handle?.close();
  }
}
