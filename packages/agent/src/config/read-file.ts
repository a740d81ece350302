/**
 * Reading a file the configuration names, with a size bound.
 *
 * @module
 */

import { constants } from 'node:fs';
import { open } from 'node:fs/promises';
import { AgentError, AgentErrorCode } from '../errors.js';

/** A file the configuration names cannot be read; `message` says why, in words. */
export class FileReadError extends AgentError {
  constructor(message: string) {
    super(AgentErrorCode.CONFIG, message);
  }
}

/**
 * Reads a regular file of at most `maxBytes` as UTF-8.
 *
 * Opened with `O_NONBLOCK` so that a FIFO does not hang the open, then checked with `fstat`
 * on the same descriptor (no race with a rename); at most `maxBytes + 1` bytes are read, so a
 * file that grows after the check is still caught without reading it whole.
 * @throws {FileReadError} the error code when it cannot be opened (`ENOENT`), or in words:
 *   not a regular file, too large
 */
export async function readBoundedFile(path: string, maxBytes: number): Promise<string> {
  let handle: Awaited<ReturnType<typeof open>>;
  try {
    handle = await open(path, constants.O_RDONLY | constants.O_NONBLOCK);
  } catch (error) {
    throw new FileReadError((error as NodeJS.ErrnoException).code ?? (error as Error).message);
  }
  try {
    const stat = await handle.stat();
    if (!stat.isFile()) throw new FileReadError('not a regular file');
    if (stat.size > maxBytes) {
      throw new FileReadError(`${stat.size} bytes is larger than the limit of ${maxBytes} bytes`);
    }
    const buffer = Buffer.alloc(Math.min(stat.size, maxBytes) + 1);
    let length = 0;
    while (length < buffer.length) {
      const { bytesRead } = await handle.read(buffer, length, buffer.length - length, length);
      if (bytesRead === 0) break;
      length += bytesRead;
    }
    if (length > maxBytes) throw new FileReadError(`larger than the limit of ${maxBytes} bytes`);
    return buffer.toString('utf8', 0, length);
  } finally {
    await handle.close();
  }
}
