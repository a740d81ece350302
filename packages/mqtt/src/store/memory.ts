/**
 * The memory store: the session state lives as long as the process.
 *
 * @module
 */

import type {
  OutgoingPhase,
  OutgoingRecord,
  SessionStore,
  StoredSession,
  StoredSubscription,
  StoreSnapshot,
} from './types.js';

/**
 * A {@link SessionStore} in memory. The default: a persistent session (`clean: false`) then
 * survives reconnects but not a restart of the process; use `fileStore` for that.
 */
export function memoryStore(): SessionStore {
  return new MemoryStore();
}

class MemoryStore implements SessionStore {
  readonly durable = false;
  readonly #outgoing = new Map<number, OutgoingRecord>();
  readonly #incoming = new Set<number>();
  readonly #subscriptions = new Map<string, StoredSubscription>();
  #session: StoredSession | undefined;

  async open(): Promise<StoreSnapshot> {
    return {
      outgoing: [...this.#outgoing.values()].sort((a, b) => a.seq - b.seq),
      incomingQos2: [...this.#incoming],
      subscriptions: [...this.#subscriptions.values()],
      ...(this.#session === undefined ? {} : { session: this.#session }),
    };
  }

  putOutgoing(record: OutgoingRecord): void {
    this.#outgoing.set(record.seq, record);
  }

  updateOutgoing(seq: number, packetId: number, phase: OutgoingPhase): void {
    const record = this.#outgoing.get(seq);
    if (record !== undefined) this.#outgoing.set(seq, { ...record, packetId, phase });
  }

  deleteOutgoing(seq: number): void {
    this.#outgoing.delete(seq);
  }

  addIncomingQos2(packetId: number): void {
    this.#incoming.add(packetId);
  }

  deleteIncomingQos2(packetId: number): void {
    this.#incoming.delete(packetId);
  }

  putSubscription(subscription: StoredSubscription): void {
    this.#subscriptions.set(subscription.filter, subscription);
  }

  deleteSubscription(filter: string): void {
    this.#subscriptions.delete(filter);
  }

  putSession(session: StoredSession): void {
    this.#session = session;
  }

  clear(): void {
    this.#session = undefined;
    this.#outgoing.clear();
    this.#incoming.clear();
    this.#subscriptions.clear();
  }

  async flush(): Promise<void> {}

  async close(): Promise<void> {}
}
