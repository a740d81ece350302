/**
 * A store wrapper that remembers whether mutations were made since the last flush began.
 *
 * @module
 */

import { unref } from '#platform';
import type {
  OutgoingPhase,
  OutgoingRecord,
  SessionStore,
  StoredSession,
  StoredSubscription,
  StoreSnapshot,
} from '../store/types.js';

/** Delay before mutations that need no write-ahead are flushed on their own. */
const LAZY_FLUSH_MS = 100;

/**
 * Forwards to a {@link SessionStore} and sets {@link dirty} on the mutations a later packet
 * depends on, so that the client knows when a packet must wait for a flush (write-ahead) and
 * when it need not.
 *
 * Forgetting is not write-ahead: a completed message's delete, a released incoming id, a
 * subscription change may reach the disk after the next packet. If the process dies first,
 * the restarted client resends a QoS 1 message (allowed: at least once), resends a PUBREL
 * the broker answers with PUBCOMP, or holds a stale incoming id that a new PUBLISH (DUP=0)
 * overrides. Such mutations are flushed lazily, and by the next write-ahead flush anyway,
 * which keeps the log in order.
 */
export class TrackedStore implements SessionStore {
  readonly #inner: SessionStore;
  /** True when a write-ahead mutation was made after the client last started a flush. */
  dirty = false;
  #lazyTimer: ReturnType<typeof setTimeout> | undefined;

  constructor(inner: SessionStore) {
    this.#inner = inner;
  }

  get durable(): boolean {
    return this.#inner.durable !== false;
  }

  open(): Promise<StoreSnapshot> {
    return this.#inner.open();
  }

  putOutgoing(record: OutgoingRecord): void {
    this.dirty = true;
    this.#inner.putOutgoing(record);
  }

  updateOutgoing(seq: number, packetId: number, phase: OutgoingPhase): void {
    this.dirty = true;
    this.#inner.updateOutgoing(seq, packetId, phase);
  }

  deleteOutgoing(seq: number): void {
    this.#lazy();
    this.#inner.deleteOutgoing(seq);
  }

  addIncomingQos2(packetId: number): void {
    this.dirty = true;
    this.#inner.addIncomingQos2(packetId);
  }

  deleteIncomingQos2(packetId: number): void {
    this.#lazy();
    this.#inner.deleteIncomingQos2(packetId);
  }

  putSubscription(subscription: StoredSubscription): void {
    this.#lazy();
    this.#inner.putSubscription(subscription);
  }

  deleteSubscription(filter: string): void {
    this.#lazy();
    this.#inner.deleteSubscription(filter);
  }

  putSession(session: StoredSession): void {
    if (this.#inner.putSession === undefined) return;
    this.#lazy();
    this.#inner.putSession(session);
  }

  clear(): void {
    this.dirty = true;
    this.#inner.clear();
  }

  /** Flushes soon when no write-ahead flush comes first. */
  #lazy(): void {
    if (this.#lazyTimer !== undefined) return;
    this.#lazyTimer = setTimeout(() => {
      this.#lazyTimer = undefined;
      this.#inner.flush().catch(() => undefined);
    }, LAZY_FLUSH_MS);
    unref(this.#lazyTimer);
  }

  flush(): Promise<void> {
    return this.#inner.flush();
  }

  close(): Promise<void> {
    clearTimeout(this.#lazyTimer);
    this.#lazyTimer = undefined;
    return this.#inner.close();
  }
}
