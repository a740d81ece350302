/**
 * The path from an encoded packet to the socket: the write-ahead hold, corking, and the
 * wait for a full socket buffer to drain.
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
  #corked = false;
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

  /** Writes what the current tick corked. */
  uncork(): void {
    if (!this.#corked) return;
    this.#corked = false;
    this.#stream?.uncork();
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
    // Coalesce the writes of one tick into one writev.
    if (!this.#corked) {
      this.#corked = true;
      stream.cork();
      nextTick(() => this.uncork());
    }
    stream.write(bytes);
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
