/**
 * The crash-safe file store: an append-only, checksummed log with group commit, recovery and
 * compaction. See `log-format.ts` for the bytes on disk.
 *
 * ```
 * dir/
 *   session.log              the log: magic, then one record per mutation
 *   session.log.compact      a snapshot being written (removed on open if a crash left it)
 *   session.log.corrupt-<t>  a damaged log moved aside on recovery, for inspection
 *   LOCK                     "<pid> <start-time>": one store per directory
 * ```
 *
 * Durability. Mutations are encoded into a memory buffer at once. `flush()` writes the buffer
 * with positional writes at the known end of the log and then `fdatasync`s; its promise
 * resolves only after the sync. Flushes that arrive while a write is in progress join the
 * next batch, so N concurrent flushes cost about two writes and two syncs, not N (group
 * commit). A failed write or sync rejects the batch's flushes with a {@link StoreError} and
 * puts the batch back in front of the buffer: the next flush writes it again at the same
 * offset, over whatever part of it reached the file, and syncs again. Rewriting (rather than
 * syncing again) matters on Linux, where a failed fsync may already have dropped the dirty
 * pages it could not write.
 *
 * Recovery. `open()` replays the log and stops at the first record that fails its checks
 * (short, impossible length, unknown type, CRC mismatch, invalid field). Everything before it
 * is kept; nothing from it on is loaded. Then:
 * - if no valid record follows the bad one, it is a *torn tail* — the end of a write that was
 *   never synced, hence never acknowledged — and the file is truncated to the last good record
 *   and synced;
 * - if a valid record follows, synced data was damaged (disk, or a foreign writer). With the
 *   default policy `onCorruption: 'recover'` the damaged file is moved aside for inspection
 *   (`session.log.corrupt-<time>`), the good prefix is written as a fresh log, and the loss is
 *   reported; with `'fail'`, `open()` rejects and leaves the files untouched.
 * Both are reported through `onWarning` as a {@link StoreCorruptionError} saying where and how
 * many bytes were dropped. A log with a foreign header is never touched: `open()` rejects.
 *
 * Compaction. The store keeps its live state in memory. Once the log exceeds both
 * `compactMinBytes` and `compactRatio` times the size of a snapshot of the live state, the
 * snapshot is written to `session.log.compact`, fsync'd, renamed over the log and the
 * directory fsync'd: at every instant the path holds either the old log or the complete
 * snapshot. The snapshot is taken from the in-memory state, which includes mutations not yet
 * written, so it replaces their append; mutations made while it is written are appended to
 * the new log afterwards.
 *
 * @module
 */

import * as fs from 'node:fs';
import { join } from 'node:path';
import { InvalidOptionError } from '../errors.js';
import { StoreCorruptionError, StoreError } from './errors.js';
import { acquireLock, type DirectoryLock } from './lock.js';
import {
  LiveState,
  MAGIC,
  RecordBuffer,
  RecordType,
  replay,
  validRecordAfter,
} from './log-format.js';
import type {
  OutgoingPhase,
  OutgoingRecord,
  SessionStore,
  StoredSubscription,
  StoreSnapshot,
} from './types.js';

/**
 * The file-system calls the store makes on its log, injectable so that tests can count syncs
 * and make writes fail. {@link nodeFileStoreIo} is the real implementation.
 */
export interface FileStoreIo {
  open(path: string, flags: 'r+' | 'w'): Promise<number>;
  /** Opens a directory to fsync it (makes a rename or a new file name durable). */
  openDirectory(path: string): Promise<number>;
  close(fd: number): Promise<void>;
  readFile(path: string): Promise<Buffer>;
  write(
    fd: number,
    data: Uint8Array,
    offset: number,
    length: number,
    position: number,
  ): Promise<number>;
  fdatasync(fd: number): Promise<void>;
  fsync(fd: number): Promise<void>;
  ftruncate(fd: number, length: number): Promise<void>;
  rename(from: string, to: string): Promise<void>;
  unlink(path: string): Promise<void>;
  mkdir(path: string): Promise<void>;
}

const callback =
  <T>(resolve: (value: T) => void, reject: (error: Error) => void) =>
  (error: Error | null, value?: T): void => {
    if (error) reject(error);
    else resolve(value as T);
  };

/** {@link FileStoreIo} on `node:fs`, with raw file descriptors (the cheapest path). */
export const nodeFileStoreIo: FileStoreIo = {
  open: (path, flags) => new Promise((res, rej) => fs.open(path, flags, 0o600, callback(res, rej))),
  openDirectory: (path) => new Promise((res, rej) => fs.open(path, 'r', callback(res, rej))),
  close: (fd) => new Promise((res, rej) => fs.close(fd, callback(res, rej))),
  readFile: (path) => fs.promises.readFile(path),
  write: (fd, data, offset, length, position) =>
    new Promise((res, rej) => fs.write(fd, data, offset, length, position, callback(res, rej))),
  fdatasync: (fd) => new Promise((res, rej) => fs.fdatasync(fd, callback(res, rej))),
  fsync: (fd) => new Promise((res, rej) => fs.fsync(fd, callback(res, rej))),
  ftruncate: (fd, length) =>
    new Promise((res, rej) => fs.ftruncate(fd, length, callback(res, rej))),
  rename: (from, to) => fs.promises.rename(from, to),
  unlink: (path) => fs.promises.unlink(path),
  mkdir: async (path) => {
    await fs.promises.mkdir(path, { recursive: true, mode: 0o700 });
  },
};

/** Options of {@link fileStore}. */
export interface FileStoreOptions {
  /**
   * Compact once the log is larger than this many bytes (and than `compactRatio` × live size).
   * @default 1048576 (1 MiB)
   */
  compactMinBytes?: number;
  /**
   * Compact once the log is larger than this many times a snapshot of the live state.
   * @default 4
   */
  compactRatio?: number;
  /**
   * What `open()` does when a bad record is followed by valid ones (synced data was damaged):
   * `'recover'` keeps everything before it, moves the damaged file aside and reports it through
   * `onWarning`; `'fail'` rejects with a {@link StoreCorruptionError} and changes nothing.
   * A torn tail is always cut off: it was never acknowledged.
   * @default 'recover'
   */
  onCorruption?: 'recover' | 'fail';
  /**
   * Called with what recovery dropped (a {@link StoreCorruptionError}) and with compaction
   * failures (the log then keeps growing and compaction is retried later). Never throws into
   * the store: an exception from the callback is ignored.
   */
  onWarning?: (warning: StoreError) => void;
  /** The file-system calls; for tests. @default nodeFileStoreIo */
  io?: FileStoreIo;
}

/** Counters of what a {@link FileSessionStore} did, for tests, benchmarks and monitoring. */
export interface FileStoreStats {
  /** Batches written to the log (appends; compactions are counted apart). */
  readonly writes: number;
  /** `fdatasync`/`fsync` calls on the log (a compaction counts one). */
  readonly syncs: number;
  /** Time spent in the syncs counted by `syncs`, milliseconds in total. */
  readonly syncMsTotal: number;
  /** The slowest of those syncs, milliseconds. */
  readonly syncMsMax: number;
  /** Compactions completed. */
  readonly compactions: number;
  /** Current size of the log file, in bytes. */
  readonly logBytes: number;
  /** Size a snapshot of the live state would take, in bytes. */
  readonly liveBytes: number;
}

/** The file store; a {@link SessionStore} with counters. */
export interface FileSessionStore extends SessionStore {
  /** The log file's path. */
  readonly path: string;
  /** What the store did so far. */
  readonly stats: FileStoreStats;
}

interface Deferred {
  readonly promise: Promise<void>;
  resolve(): void;
  reject(error: Error): void;
}

function deferred(): Deferred {
  let resolve!: () => void;
  let reject!: (error: Error) => void;
  const promise = new Promise<void>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  // The batch promise may have no listener (a background write); callers get it and see
  // the rejection through their own await.
  promise.catch(() => {});
  return { promise, resolve, reject };
}

type Lifecycle = 'new' | 'opening' | 'open' | 'closing' | 'closed';

const LOG_NAME = 'session.log';
const LOCK_NAME = 'LOCK';
/** Without a flush, write in the background once this much is buffered, to bound memory. */
const BACKGROUND_WRITE_BYTES = 4 * 1024 * 1024;

class FileStore implements FileSessionStore {
  /** `flush()` makes mutations durable: the client waits for it before writing a PUBLISH. */
  readonly durable = true;
  readonly path: string;
  readonly #dir: string;
  readonly #io: FileStoreIo;
  readonly #compactMinBytes: number;
  readonly #compactRatio: number;
  readonly #onCorruption: 'recover' | 'fail';
  readonly #onWarning: ((warning: StoreError) => void) | undefined;

  #lifecycle: Lifecycle = 'new';
  #lock: DirectoryLock | undefined;
  #fd = -1;
  /** End of the durable part of the log: the next batch is written here. */
  #logBytes = 0;
  /** Do not try to compact again before the log reaches this size (after a failure). */
  #compactRetryAt = 0;
  readonly #state = new LiveState();
  readonly #pending = new RecordBuffer();
  /** The flushes waiting for the batch being assembled in `#pending`. */
  #next: Deferred | undefined;
  /** The batch being written, if any. */
  #current: Deferred | undefined;
  #draining: Promise<void> | undefined;
  #closing: Promise<void> | undefined;
  #drainActive = false;
  /** The last write failed; background writes wait for an explicit flush() to retry. */
  #failed = false;
  #writes = 0;
  #syncs = 0;
  #syncMsTotal = 0;
  #syncMsMax = 0;
  #compactions = 0;

  constructor(dir: string, options: FileStoreOptions) {
    this.#dir = dir;
    this.path = join(dir, LOG_NAME);
    this.#io = options.io ?? nodeFileStoreIo;
    this.#compactMinBytes = options.compactMinBytes ?? 1024 * 1024;
    this.#compactRatio = options.compactRatio ?? 4;
    this.#onCorruption = options.onCorruption ?? 'recover';
    this.#onWarning = options.onWarning;
  }

  get stats(): FileStoreStats {
    return {
      writes: this.#writes,
      syncs: this.#syncs,
      syncMsTotal: this.#syncMsTotal,
      syncMsMax: this.#syncMsMax,
      compactions: this.#compactions,
      logBytes: this.#logBytes,
      liveBytes: this.#state.liveBytes,
    };
  }

  // -------------------------------------------------------------------------------------------
  // Open and recovery

  async open(): Promise<StoreSnapshot> {
    if (this.#lifecycle !== 'new') {
      throw new StoreError('open', this.path, 'was called twice: a store is opened once');
    }
    this.#lifecycle = 'opening';
    try {
      await this.#call('mkdir', this.#dir, () => this.#io.mkdir(this.#dir));
      this.#lock = acquireLock(join(this.#dir, LOCK_NAME));
      await this.#recover();
      this.#lifecycle = 'open';
      return this.#state.snapshot();
    } catch (error) {
      if (this.#fd >= 0) await this.#io.close(this.#fd).catch(() => {});
      this.#fd = -1;
      this.#lock?.release();
      this.#lifecycle = 'closed';
      throw error;
    }
  }

  async #recover(): Promise<void> {
    const compactPath = `${this.path}.compact`;
    // A snapshot left by a crash before its rename is incomplete or redundant: the log holds
    // the truth until the rename.
    await this.#io.unlink(compactPath).catch(() => {});

    let bytes: Buffer;
    try {
      bytes = await this.#io.readFile(this.path);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT') {
        throw StoreError.fromOs('read', this.path, error);
      }
      bytes = Buffer.alloc(0);
    }

    // A file shorter than the magic and a prefix of it is a log whose creation was torn.
    if (bytes.length < MAGIC.length && MAGIC.subarray(0, bytes.length).equals(bytes)) {
      await this.#writeSnapshot();
      return;
    }
    if (!bytes.subarray(0, MAGIC.length).equals(MAGIC)) {
      throw new StoreCorruptionError(
        this.path,
        'bad-header',
        0,
        bytes.length,
        'the file does not start with the magic bytes "CRSTORE\\x01"; it was left untouched',
      );
    }

    const result = replay(bytes, MAGIC.length, this.#state);
    if (result.badReason === undefined) {
      this.#fd = await this.#call('open', this.path, () => this.#io.open(this.path, 'r+'));
      this.#logBytes = bytes.length;
      return;
    }

    const discarded = bytes.length - result.goodEnd;
    const resync = validRecordAfter(bytes, result.goodEnd);
    if (resync === undefined) {
      // Torn tail: the end of a batch whose flush never resolved. Cut it off, so the next
      // append starts on a record boundary, and sync the truncation.
      this.#fd = await this.#call('open', this.path, () => this.#io.open(this.path, 'r+'));
      await this.#call('ftruncate', this.path, () => this.#io.ftruncate(this.#fd, result.goodEnd));
      await this.#call('fsync', this.path, () => this.#io.fsync(this.#fd));
      this.#logBytes = result.goodEnd;
      this.#warn(
        new StoreCorruptionError(
          this.path,
          'torn-tail',
          result.goodEnd,
          discarded,
          result.badReason,
        ),
      );
      return;
    }

    const reason = `${result.badReason}; a valid record follows at byte ${resync}`;
    if (this.#onCorruption === 'fail') {
      throw new StoreCorruptionError(
        this.path,
        'corrupt-record',
        result.goodEnd,
        discarded,
        reason,
      );
    }
    const movedTo = `${this.path}.corrupt-${new Date().toISOString().replace(/[:.]/g, '-')}`;
    await this.#call('rename', this.path, () => this.#io.rename(this.path, movedTo));
    await this.#writeSnapshot();
    this.#warn(
      new StoreCorruptionError(
        this.path,
        'corrupt-record',
        result.goodEnd,
        discarded,
        reason,
        movedTo,
      ),
    );
  }

  /**
   * Writes the live state as a complete log: to a temporary name, synced, renamed over the
   * log, directory synced. Leaves `#fd` on the new log. Used by compaction and recovery.
   *
   * If it fails before the rename, the old log and `#fd` are untouched. If it fails after, the
   * new log is in place and `#fd` points to it; the error says the rename may not be durable.
   */
  async #writeSnapshot(): Promise<void> {
    const bytes = this.#state.encode();
    const tmp = `${this.path}.compact`;
    const fd = await this.#call('open', tmp, () => this.#io.open(tmp, 'w'));
    let renamed = false;
    try {
      await this.#writeAll(fd, tmp, bytes, 0);
      // fsync, not fdatasync: the new file's size and name must be durable too.
      const syncStart = performance.now();
      await this.#call('fsync', tmp, () => this.#io.fsync(fd));
      this.#synced(syncStart);
      await this.#call('rename', tmp, () => this.#io.rename(tmp, this.path));
      renamed = true;
      const old = this.#fd;
      this.#fd = fd;
      this.#logBytes = bytes.length;
      if (old >= 0) await this.#io.close(old).catch(() => {});
      await this.#syncDirectory();
    } catch (error) {
      if (!renamed) {
        await this.#io.close(fd).catch(() => {});
        await this.#io.unlink(tmp).catch(() => {});
      }
      throw error;
    }
  }

  async #syncDirectory(): Promise<void> {
    const dirFd = await this.#call('open', this.#dir, () => this.#io.openDirectory(this.#dir));
    try {
      await this.#call('fsync', this.#dir, () => this.#io.fsync(dirFd));
    } finally {
      await this.#io.close(dirFd).catch(() => {});
    }
  }

  // -------------------------------------------------------------------------------------------
  // Mutations: encode into the pending buffer and apply to the live state, synchronously.

  putOutgoing(record: OutgoingRecord): void {
    this.#assertOpen('putOutgoing');
    // The state keeps its own copy of the payload: a compaction snapshot must write the bytes
    // that were logged even if the caller reuses its buffer.
    this.#state.putOutgoing(
      { ...record, payload: new Uint8Array(record.payload) },
      this.#pending.putOutgoing(record),
    );
    this.#afterMutation();
  }

  updateOutgoing(seq: number, packetId: number, phase: OutgoingPhase): void {
    this.#assertOpen('updateOutgoing');
    this.#pending.updateOutgoing(seq, packetId, phase);
    this.#state.updateOutgoing(seq, packetId, phase);
    this.#afterMutation();
  }

  deleteOutgoing(seq: number): void {
    this.#assertOpen('deleteOutgoing');
    this.#pending.deleteOutgoing(seq);
    this.#state.deleteOutgoing(seq);
    this.#afterMutation();
  }

  addIncomingQos2(packetId: number): void {
    this.#assertOpen('addIncomingQos2');
    this.#pending.incomingQos2(RecordType.ADD_INCOMING_QOS2, packetId);
    this.#state.addIncomingQos2(packetId);
    this.#afterMutation();
  }

  deleteIncomingQos2(packetId: number): void {
    this.#assertOpen('deleteIncomingQos2');
    this.#pending.incomingQos2(RecordType.DELETE_INCOMING_QOS2, packetId);
    this.#state.deleteIncomingQos2(packetId);
    this.#afterMutation();
  }

  putSubscription(subscription: StoredSubscription): void {
    this.#assertOpen('putSubscription');
    this.#state.putSubscription(subscription, this.#pending.putSubscription(subscription));
    this.#afterMutation();
  }

  deleteSubscription(filter: string): void {
    this.#assertOpen('deleteSubscription');
    this.#pending.deleteSubscription(filter);
    this.#state.deleteSubscription(filter);
    this.#afterMutation();
  }

  clear(): void {
    this.#assertOpen('clear');
    this.#pending.clear();
    this.#state.clear();
    this.#afterMutation();
  }

  #assertOpen(operation: string): void {
    if (this.#lifecycle !== 'open') {
      throw new StoreError(
        operation,
        this.path,
        this.#lifecycle === 'new' || this.#lifecycle === 'opening'
          ? 'called before open() resolved'
          : 'called after close()',
      );
    }
  }

  #afterMutation(): void {
    if (this.#pending.length >= BACKGROUND_WRITE_BYTES && !this.#failed) this.#scheduleDrain();
  }

  // -------------------------------------------------------------------------------------------
  // Group commit

  flush(): Promise<void> {
    if (this.#lifecycle !== 'open' && this.#lifecycle !== 'closing') {
      return Promise.reject(
        new StoreError(
          'flush',
          this.path,
          this.#lifecycle === 'closed' ? 'called after close()' : 'called before open() resolved',
        ),
      );
    }
    if (this.#pending.length === 0) {
      // Everything before this call is durable already, or in the batch being written.
      return this.#current?.promise ?? Promise.resolve();
    }
    this.#next ??= deferred();
    this.#scheduleDrain();
    return this.#next.promise;
  }

  #scheduleDrain(): void {
    if (this.#drainActive) return;
    this.#drainActive = true;
    // Start on a microtask: every flush() of the current synchronous burst (e.g. a loop of
    // publishes) then joins the first batch instead of waiting for the second.
    queueMicrotask(() => {
      this.#draining = this.#drain();
    });
  }

  /**
   * Writes batches until nothing is pending; one batch = one write + one sync, or one
   * compaction. `#drainActive` is cleared in the same synchronous step that decides to stop,
   * so a flush() made by code resumed by the last batch always schedules a new drain.
   */
  async #drain(): Promise<void> {
    try {
      for (;;) {
        const compact = this.#compactionDue();
        // A steady stream of publish/complete cycles leaves little live state: compaction also
        // runs when nothing is pending, so the log stays bounded between flushes.
        if (this.#pending.length === 0 && !compact) return;
        const batch = this.#next ?? deferred();
        this.#next = undefined;
        this.#current = batch;
        try {
          if (!compact || !(await this.#tryCompact())) await this.#appendPending();
          this.#failed = false;
          batch.resolve();
        } catch (error) {
          const failure =
            error instanceof StoreError ? error : StoreError.fromOs('write', this.path, error);
          this.#failed = true;
          batch.reject(failure);
          // Flushes made during the failed write depend on its records: fail them too rather
          // than retry on their behalf. The next flush() retries.
          // (TypeScript cannot see that awaits above may have set `#next`.)
          const late = this.#next as Deferred | undefined;
          late?.reject(failure);
          this.#next = undefined;
          return;
        } finally {
          this.#current = undefined;
        }
      }
    } finally {
      this.#drainActive = false;
    }
  }

  /** Counts a sync that started at `start` (`performance.now()`) and its latency. */
  #synced(start: number): void {
    const ms = performance.now() - start;
    this.#syncs++;
    this.#syncMsTotal += ms;
    if (ms > this.#syncMsMax) this.#syncMsMax = ms;
  }

  async #appendPending(): Promise<void> {
    if (this.#pending.length === 0) return;
    const bytes = this.#pending.take();
    try {
      await this.#writeAll(this.#fd, this.path, bytes, this.#logBytes);
      this.#writes++;
      const syncStart = performance.now();
      await this.#call('fdatasync', this.path, () => this.#io.fdatasync(this.#fd));
      this.#synced(syncStart);
    } catch (error) {
      // Keep the batch: the next flush rewrites it at the same offset and syncs again.
      this.#pending.unshift(bytes);
      throw error;
    }
    this.#logBytes += bytes.length;
  }

  async #writeAll(fd: number, path: string, bytes: Buffer, position: number): Promise<void> {
    let done = 0;
    while (done < bytes.length) {
      const n = await this.#call('write', path, () =>
        this.#io.write(fd, bytes, done, bytes.length - done, position + done),
      );
      if (n <= 0) throw new StoreError('write', path, 'failed: wrote 0 bytes');
      done += n;
    }
  }

  #compactionDue(): boolean {
    const size = this.#logBytes + this.#pending.length;
    return (
      size > this.#compactMinBytes &&
      size > this.#compactRetryAt &&
      size > this.#compactRatio * this.#state.liveBytes
    );
  }

  /**
   * Replaces the log with a snapshot of the live state, which covers the pending mutations
   * too. Returns false (and leaves the pending mutations to be appended) if it failed before
   * the rename; a failure is reported through `onWarning`, not to flush callers, because the
   * plain append path still works.
   */
  async #tryCompact(): Promise<boolean> {
    const covered = this.#pending.take();
    try {
      await this.#writeSnapshot();
      this.#compactions++;
      return true;
    } catch (error) {
      // The records are idempotent, so appending them again after a snapshot that already
      // holds them (a failure after the rename) is harmless.
      this.#pending.unshift(covered);
      this.#compactRetryAt = this.#logBytes + this.#pending.length + this.#compactMinBytes;
      this.#warn(
        error instanceof StoreError ? error : StoreError.fromOs('compact', this.path, error),
      );
      return false;
    }
  }

  close(): Promise<void> {
    if (this.#closing !== undefined) return this.#closing;
    if (this.#lifecycle !== 'open') {
      return Promise.reject(new StoreError('close', this.path, 'called before open() resolved'));
    }
    this.#lifecycle = 'closing';
    this.#closing = (async () => {
      try {
        await this.flush();
        await this.#draining;
      } finally {
        // Release even after a failed flush: the rejection tells the caller what was not
        // written, and a held lock would only block the next process.
        this.#lifecycle = 'closed';
        await this.#io.close(this.#fd).catch(() => {});
        this.#fd = -1;
        this.#lock?.release();
      }
    })();
    return this.#closing;
  }

  // -------------------------------------------------------------------------------------------

  async #call<T>(operation: string, path: string, fn: () => Promise<T>): Promise<T> {
    try {
      return await fn();
    } catch (error) {
      throw error instanceof StoreError ? error : StoreError.fromOs(operation, path, error);
    }
  }

  #warn(warning: StoreError): void {
    try {
      this.#onWarning?.(warning);
    } catch {
      // A logging callback must not break the store.
    }
  }
}

/**
 * Creates the crash-safe file store in `dir` (created if missing). Nothing is read or locked
 * until {@link SessionStore.open}.
 *
 * @example
 * ```ts
 * const client = createClient('mqtt://broker', { clientId: 'pv-1', clean: false, store: fileStore('/var/lib/pv') });
 * ```
 */
export function fileStore(dir: string, options: FileStoreOptions = {}): FileSessionStore {
  if (typeof dir !== 'string' || dir === '') {
    throw new InvalidOptionError('dir', 'must be a non-empty directory path');
  }
  const { compactMinBytes, compactRatio, onCorruption } = options;
  if (
    compactMinBytes !== undefined &&
    !(Number.isSafeInteger(compactMinBytes) && compactMinBytes >= 0)
  ) {
    throw new InvalidOptionError(
      'compactMinBytes',
      `must be an integer >= 0, got ${compactMinBytes}`,
    );
  }
  // A ratio of 1 or less would compact on every flush once past compactMinBytes.
  if (compactRatio !== undefined && !(Number.isFinite(compactRatio) && compactRatio > 1)) {
    throw new InvalidOptionError('compactRatio', `must be a number > 1, got ${compactRatio}`);
  }
  if (onCorruption !== undefined && onCorruption !== 'recover' && onCorruption !== 'fail') {
    throw new InvalidOptionError(
      'onCorruption',
      `must be 'recover' or 'fail', got ${String(onCorruption)}`,
    );
  }
  return new FileStore(dir, options);
}
