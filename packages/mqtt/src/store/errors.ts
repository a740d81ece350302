/**
 * Errors of the session stores. All carry the code {@link MqttErrorCode.STORE}.
 *
 * @module
 */

import { MqttError, MqttErrorCode, type MqttErrorOptions } from '../errors.js';

/**
 * An I/O operation of a store failed (open, write, fsync, rename...), or the store was used
 * outside its lifetime (before `open()`, after `close()`).
 *
 * The message names the file and the operating system error, e.g.
 * `session store: write /var/lib/dev/session.log failed: ENOSPC: no space left on device`.
 */
export class StoreError extends MqttError {
  override get name(): string {
    return 'StoreError';
  }

  /** The file or directory the operation was about; empty when none applies. */
  readonly path: string;
  /** The operation that failed, e.g. `write`, `fdatasync`, `rename`. */
  readonly operation: string;
  /** The operating system error code (`ENOSPC`, `EACCES`...) when the cause carries one. */
  readonly osCode: string | undefined;

  constructor(operation: string, path: string, message: string, options?: MqttErrorOptions) {
    const cause = options?.cause;
    const osCode =
      typeof cause === 'object' &&
      cause !== null &&
      typeof (cause as { code?: unknown }).code === 'string'
        ? (cause as { code: string }).code
        : undefined;
    super(
      MqttErrorCode.STORE,
      `session store: ${operation}${path === '' ? '' : ` ${path}`} ${message}`,
      options,
    );
    this.path = path;
    this.operation = operation;
    this.osCode = osCode;
  }

  /** Wraps an error thrown by `node:fs`, keeping it as `cause` and quoting its message. */
  static fromOs(operation: string, path: string, cause: unknown): StoreError {
    const detail = cause instanceof Error ? cause.message : String(cause);
    return new StoreError(operation, path, `failed: ${detail}`, { cause });
  }
}

/** Another live process (or another store in this process) holds the store's directory. */
export class StoreLockedError extends StoreError {
  override get name(): string {
    return 'StoreLockedError';
  }

  /** The pid written in the lock file. */
  readonly pid: number;

  constructor(lockPath: string, pid: number) {
    super(
      'lock',
      lockPath,
      `is held by live process ${pid}${pid === process.pid ? ' (this process: another store is open on the same directory)' : ''}; one store per directory`,
    );
    this.pid = pid;
  }
}

/** Where in the log a bad record was found, which decides how it is treated on recovery. */
export type StoreCorruptionKind =
  /**
   * The bad bytes run to the end of the file and no valid record follows them: the last write
   * was interrupted (crash, power loss). Nothing in it was ever acknowledged by `flush()`.
   */
  | 'torn-tail'
  /** A bad record is followed by valid ones: the file was damaged after it was synced. */
  | 'corrupt-record'
  /** The file does not start with the store's magic bytes: not a Courier store log. */
  | 'bad-header';

/** The log holds a record that fails its checks (length, CRC, type, body). */
export class StoreCorruptionError extends StoreError {
  override get name(): string {
    return 'StoreCorruptionError';
  }

  /** How the damage was classified. */
  readonly kind: StoreCorruptionKind;
  /** Byte offset in the log of the first bad record. */
  readonly offset: number;
  /** Bytes from {@link offset} to the end of the file, none of which was loaded. */
  readonly discardedBytes: number;
  /** Where the damaged file was moved for inspection, if it was. */
  readonly movedTo: string | undefined;

  constructor(
    logPath: string,
    kind: StoreCorruptionKind,
    offset: number,
    discardedBytes: number,
    reason: string,
    movedTo?: string,
  ) {
    const what =
      kind === 'torn-tail'
        ? `has a torn tail at byte ${offset} (${reason}); ${discardedBytes} bytes of an unfinished write were cut off`
        : kind === 'corrupt-record'
          ? `has a corrupt record at byte ${offset} (${reason}); ${discardedBytes} bytes from there on were not loaded${movedTo === undefined ? '' : `, the damaged file was moved to ${movedTo}`}`
          : `is not a Courier session store log (${reason})`;
    super('recover', logPath, what);
    this.kind = kind;
    this.offset = offset;
    this.discardedBytes = discardedBytes;
    this.movedTo = movedTo;
  }
}
