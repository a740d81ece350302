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
  // Created on first use: an empty Map or Set costs ~150-180 bytes, and a gateway holds
  // thousands of idle clients that never have a message in flight.
  #outgoingMap: Map<number, OutgoingRecord> | undefined;
  #incomingSet: Set<number> | undefined;
  #subscriptionMap: Map<string, StoredSubscription> | undefined;

  get #outgoing(): Map<number, OutgoingRecord> {
    this.#outgoingMap ??= new Map();
    return this.#outgoingMap;
  }

  get #incoming(): Set<number> {
    this.#incomingSet ??= new Set();
    return this.#incomingSet;
  }

  get #subscriptions(): Map<string, StoredSubscription> {
    this.#subscriptionMap ??= new Map();
    return this.#subscriptionMap;
  }
  #session: StoredSession | undefined;

  async open(): Promise<StoreSnapshot> {
    return {
      outgoing: [...(this.#outgoingMap?.values() ?? [])].sort((a, b) => a.seq - b.seq),
      incomingQos2: [...(this.#incomingSet ?? [])],
      subscriptions: [...(this.#subscriptionMap?.values() ?? [])],
      ...(this.#session === undefined ? {} : { session: this.#session }),
    };
  }

  putOutgoing(record: OutgoingRecord): void {
    this.#outgoing.set(record.seq, record);
  }

  updateOutgoing(seq: number, packetId: number, phase: OutgoingPhase): void {
    const record = this.#outgoingMap?.get(seq);
    if (record !== undefined) this.#outgoing.set(seq, { ...record, packetId, phase });
  }

  deleteOutgoing(seq: number): void {
    this.#outgoingMap?.delete(seq);
  }

  addIncomingQos2(packetId: number): void {
    this.#incoming.add(packetId);
  }

  deleteIncomingQos2(packetId: number): void {
    this.#incomingSet?.delete(packetId);
  }

  putSubscription(subscription: StoredSubscription): void {
    this.#subscriptions.set(subscription.filter, subscription);
  }

  deleteSubscription(filter: string): void {
    this.#subscriptionMap?.delete(filter);
  }

  putSession(session: StoredSession): void {
    this.#session = session;
  }

  clear(): void {
    this.#session = undefined;
    this.#outgoingMap = undefined;
    this.#incomingSet = undefined;
    this.#subscriptionMap = undefined;
  }

  async flush(): Promise<void> {}

  async close(): Promise<void> {}
}
