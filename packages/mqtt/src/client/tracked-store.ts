/**
 * A store wrapper that remembers whether mutations were made since the last flush began.
 *
 * @module
 */

import type {
  OutgoingPhase,
  OutgoingRecord,
  SessionStore,
  StoredSubscription,
  StoreSnapshot,
} from '../store/types.js';

/**
 * Forwards to a {@link SessionStore} and sets {@link dirty} on every mutation, so that the
 * client knows when a packet must wait for a flush (write-ahead) and when it need not.
 */
export class TrackedStore implements SessionStore {
  readonly #inner: SessionStore;
  /** True when a mutation was made after the client last started a flush. */
  dirty = false;

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
    this.dirty = true;
    this.#inner.deleteOutgoing(seq);
  }

  addIncomingQos2(packetId: number): void {
    this.dirty = true;
    this.#inner.addIncomingQos2(packetId);
  }

  deleteIncomingQos2(packetId: number): void {
    this.dirty = true;
    this.#inner.deleteIncomingQos2(packetId);
  }

  putSubscription(subscription: StoredSubscription): void {
    this.dirty = true;
    this.#inner.putSubscription(subscription);
  }

  deleteSubscription(filter: string): void {
    this.dirty = true;
    this.#inner.deleteSubscription(filter);
  }

  clear(): void {
    this.dirty = true;
    this.#inner.clear();
  }

  flush(): Promise<void> {
    return this.#inner.flush();
  }

  close(): Promise<void> {
    return this.#inner.close();
  }
}
