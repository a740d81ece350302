/**
 * The lock file that keeps two processes (or two stores of one process) off one store
 * directory: two writers appending to one log would interleave records and corrupt it.
 *
 * The lock is a file created with `O_EXCL` holding `<pid> <start-time>\n`. The start time (from
 * `/proc/<pid>/stat`, Linux) tells a live owner from an unrelated process that reused the pid
 * after the owner died, which is common in containers where pids restart low after a reboot.
 * A lock whose owner is dead is stale and taken over.
 *
 * @module
 */

import * as fs from 'node:fs';
import { StoreError, StoreLockedError } from './errors.js';

/** The start time of a process in clock ticks since boot, or undefined where unavailable. */
function startTimeOf(pid: number): string | undefined {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'latin1');
    // Field 2 (comm) may contain spaces and parentheses: fields resume after the last ')'.
    // Fields 3.. follow; the start time is field 22, so index 19 of the rest.
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19];
  } catch {
    return undefined;
  }
}

/** Whether the lock owner described by a lock file's content still runs. */
function ownerAlive(pid: number, startTime: string | undefined): boolean {
  try {
    process.kill(pid, 0);
  } catch (error) {
    // EPERM: the process exists but belongs to another user.
    if ((error as NodeJS.ErrnoException).code !== 'EPERM') return false;
  }
  if (startTime === undefined || startTime === '-') return true;
  const now = startTimeOf(pid);
  return now === undefined || now === startTime;
}

function parseLock(content: string): { pid: number; startTime: string | undefined } | undefined {
  const [pidText, startTime] = content.trim().split(' ');
  const pid = Number(pidText);
  if (!Number.isSafeInteger(pid) || pid <= 0) return undefined;
  return { pid, startTime };
}

/** A held lock; {@link release} removes the file. */
export interface DirectoryLock {
  readonly path: string;
  release(): void;
}

/**
 * Takes the lock at `path` for this process.
 *
 * @throws {StoreLockedError} when a live process (this one included) holds it.
 * @throws {StoreError} when the lock file cannot be created or read.
 */
export function acquireLock(path: string): DirectoryLock {
  const content = `${process.pid} ${startTimeOf(process.pid) ?? '-'}\n`;
  // A few attempts: after taking over a stale lock, or after a holder released it meanwhile.
  for (let attempt = 0; attempt < 3; attempt++) {
    try {
      const fd = fs.openSync(path, 'wx');
      try {
        fs.writeSync(fd, content);
        fs.fsyncSync(fd);
      } finally {
        fs.closeSync(fd);
      }
      return {
        path,
        release() {
          try {
            fs.unlinkSync(path);
          } catch {
            // Already gone: nothing to release.
          }
        },
      };
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') {
        throw StoreError.fromOs('lock', path, error);
      }
    }
    let existing: string;
    try {
      existing = fs.readFileSync(path, 'utf8');
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') continue; // released meanwhile
      throw StoreError.fromOs('lock', path, error);
    }
    const owner = parseLock(existing);
    // An empty or garbled lock is one whose owner died between create and write: stale.
    if (owner !== undefined && ownerAlive(owner.pid, owner.startTime)) {
      throw new StoreLockedError(path, owner.pid);
    }
    // Take over a stale lock by renaming it away: rename is atomic, so of two processes taking
    // over the same stale lock only one moves it; the other gets ENOENT and retries the create.
    const aside = `${path}.stale-${process.pid}`;
    try {
      fs.renameSync(path, aside);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') continue;
      throw StoreError.fromOs('lock', path, error);
    }
    // If a third process created a fresh lock between our read and our rename, we just moved
    // a live lock: put it back and report it held.
    const moved = parseLock(safeRead(aside));
    if (moved !== undefined && moved.pid !== owner?.pid && ownerAlive(moved.pid, moved.startTime)) {
      try {
        fs.renameSync(aside, path);
      } catch {
        // Best effort; its owner keeps its open log either way.
      }
      throw new StoreLockedError(path, moved.pid);
    }
    try {
      fs.unlinkSync(aside);
    } catch {
      // Best effort: a leftover `.stale-` file is harmless.
    }
  }
  throw new StoreError('lock', path, 'could not be taken: it keeps being recreated');
}

function safeRead(path: string): string {
  try {
    return fs.readFileSync(path, 'utf8');
  } catch {
    return '';
  }
}
