/**
 * The path from an encoded packet to the socket: the write-ahead hold, coalescing, and the
 * wait for a full socket buffer to drain.
 *
 * Coalescing: the packets written in one tick go to the stream as one buffer, in one write.
 * A Node stream costs far more per chunk (its buffered-write record, the Buffer view, the
 * writev array) than copying a small packet does, and a tick often writes a hundred of them.
 *
 * Write-ahead: when a durable store has mutations not yet on disk (a message stored, a
 * packet id assigned, an incoming QoS 2 id recorded), the packet that depends on them (and
 * every packet after it, to keep the order) waits for the flush that makes them durable. One
 * flush covers every packet held meanwhile: group commit. A crash then never leaves the
 * broker knowing of a message or an id the restarted client does not.
 *
 * @module
 */

import { afterIo, nextTick } from '#platform';
import { MqttError } from '../errors.js';
import { StoreError } from '../store/errors.js';
import type { ByteStream } from '../transport/types.js';
import type { TrackedStore } from './tracked-store.js';

/** Packets up to this size are copied into the tick's one write; larger ones go as they are. */
const COALESCE_MAX_BYTES = 4096;
/** Bytes of coalesced packets handed to the stream at once, without waiting for the tick. */
const COALESCE_FLUSH_BYTES = 16 * 1024;

/** Who is told when the store fails. */
export interface WriteAheadOwner {
  /**
   * The store could not flush: durability cannot be promised, so the connection must go
   * (what was held is resent from the session's state on the next one).
   */
  storeFailed(error: MqttError): void;
}

/** Writes packets to the current connection's stream, after the store when it must. */
export class WriteAhead {
  readonly #store: TrackedStore;
  readonly #owner: WriteAheadOwner;
  #stream: ByteStream | undefined;
  /** Encoded packets held back until the store's pending mutations are durable. */
  #held: Uint8Array[] | undefined;
  #flushing = false;
  /** True while the packets of this tick are being collected (their write is scheduled). */
  #corked = false;
  /** The packets of this tick not yet handed to the stream, and their bytes. */
  #pending: Uint8Array[] = [];
  #pendingBytes = 0;
  #drainWaiters: (() => void)[] = [];

  /**
   * @param owner - told when the store could not flush.
   */
  constructor(store: TrackedStore, owner: WriteAheadOwner) {
    this.#store = store;
    this.#owner = owner;
  }

  /** A new connection: packets go to its stream from now on. */
  attach(stream: ByteStream): void {
    this.#stream = stream;
  }

  /** The connection is gone: what was held is dropped (the session resends it). */
  detach(): void {
    this.#stream = undefined;
    this.#held = undefined;
    this.#corked = false;
    this.#pending = [];
    this.#pendingBytes = 0;
  }

  /** Writes a packet, or holds it until the store's pending mutations are on disk. */
  send(bytes: Uint8Array): void {
    const stream = this.#stream;
    if (stream === undefined) return;
    if (this.#held !== undefined || (this.#store.durable && this.#store.dirty)) {
      if (this.#held === undefined) this.#held = [bytes];
      else this.#held.push(bytes);
      this.#flushHeld();
      return;
    }
    this.#write(stream, bytes);
  }

  /** Sends what is held at once (used by end(): DISCONNECT must follow the held packets). */
  async release(): Promise<void> {
    while (this.#held !== undefined && this.#stream !== undefined) {
      await this.#store.flush().catch(() => undefined);
      await new Promise<void>((resolve) => afterIo(resolve));
    }
  }

  /** Writes what the current tick collected. */
  uncork(): void {
    if (!this.#corked) return;
    this.#corked = false;
    const stream = this.#stream;
    if (stream !== undefined) this.#writePending(stream);
  }

  /** Calls `resolve` now, or once a full socket buffer drained (QoS 0 back-pressure). */
  afterDrain(resolve: () => void): void {
    if (this.#stream?.writableNeedDrain === true) this.#drainWaiters.push(resolve);
    else resolve();
  }

  /** The socket's buffer drained (or the client ended): wakes every waiter. */
  drained(): void {
    const waiters = this.#drainWaiters;
    this.#drainWaiters = [];
    for (const wake of waiters) wake();
  }

  #write(stream: ByteStream, bytes: Uint8Array): void {
    // Coalesce the writes of one tick into one.
    if (!this.#corked) {
      this.#corked = true;
      nextTick(() => this.uncork());
    }
    if (bytes.byteLength > COALESCE_MAX_BYTES) {
      // Large enough that copying it costs more than a write of its own.
      this.#writePending(stream);
      stream.write(bytes);
      return;
    }
    this.#pending.push(bytes);
    this.#pendingBytes += bytes.byteLength;
    // A tick that writes a lot hands it over as it goes: the stream's buffer, and with it
    // `writableNeedDrain` (QoS 0 back-pressure), sees the bytes without waiting for the tick.
    if (this.#pendingBytes >= COALESCE_FLUSH_BYTES) this.#writePending(stream);
  }

  /** Hands the collected packets to the stream, in one buffer. */
  #writePending(stream: ByteStream): void {
    const pending = this.#pending;
    if (pending.length === 0) return;
    if (pending.length === 1) stream.write(pending[0]!);
    else {
      const joined = new Uint8Array(this.#pendingBytes);
      let offset = 0;
      for (const bytes of pending) {
        joined.set(bytes, offset);
        offset += bytes.byteLength;
      }
      stream.write(joined);
    }
    this.#pending = [];
    this.#pendingBytes = 0;
  }

  #flushHeld(): void {
    if (this.#flushing) return;
    this.#flushing = true;
    const count = this.#held?.length ?? 0;
    this.#store.dirty = false;
    this.#store.flush().then(
      () => {
        this.#flushing = false;
        const held = this.#held;
        const stream = this.#stream;
        if (held === undefined) return;
        const ready = held.splice(0, count);
        if (stream !== undefined) for (const bytes of ready) this.#write(stream, bytes);
        if (held.length === 0) this.#held = undefined;
        else if (this.#store.dirty) this.#flushHeld();
        else {
          this.#held = undefined;
          if (stream !== undefined) for (const bytes of held) this.#write(stream, bytes);
        }
      },
      (error: unknown) => {
        this.#flushing = false;
        this.#held = undefined;
        this.#owner.storeFailed(storeFailure('flush', error));
      },
    );
  }
}

/** A store failure as an {@link MqttError}: the store's own error, or a {@link StoreError}. */
export function storeFailure(operation: string, error: unknown): MqttError {
  return error instanceof MqttError ? error : StoreError.fromOs(operation, '', error);
}
