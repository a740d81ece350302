/**
 * The IndexedDB store, for the browser: a persistent session (`clean: false`) whose unacknowledged
 * messages, incoming QoS 2 ids and subscriptions survive a reload of the page.
 *
 * Mutations change the state in memory at once and are written by `flush()` in one
 * IndexedDB transaction (durability `'strict'`: complete means on disk). The store is durable,
 * so the client holds a packet that depends on a mutation until the flush that covers it has
 * completed (write-ahead), as with the file store.
 *
 * @module
 */

import { InvalidOptionError } from '../errors.js';
import { StoreError } from './errors.js';
import type {
  OutgoingPhase,
  OutgoingRecord,
  SessionStore,
  StoredSubscription,
  StoreSnapshot,
} from './types.js';

const OUTGOING = 'outgoing';
const INCOMING = 'incomingQos2';
const SUBSCRIPTIONS = 'subscriptions';
const STORES = [OUTGOING, INCOMING, SUBSCRIPTIONS];
/** Longest database name accepted (a name per client id is the usual choice). */
export const MAX_INDEXEDDB_NAME_CHARS = 256;

/** The members of the browser's IndexedDB used here (the library is built without DOM types). */
interface IdbRequest<T> {
  result: T;
  error: unknown;
  onsuccess: (() => void) | null;
  onerror: (() => void) | null;
}
interface IdbOpenRequest extends IdbRequest<IdbDatabase> {
  onupgradeneeded: (() => void) | null;
  onblocked: (() => void) | null;
}
interface IdbObjectStore {
  put(value: unknown, key?: unknown): unknown;
  delete(key: unknown): unknown;
  clear(): unknown;
  getAll(): IdbRequest<unknown[]>;
  getAllKeys(): IdbRequest<unknown[]>;
}
interface IdbTransaction {
  objectStore(name: string): IdbObjectStore;
  oncomplete: (() => void) | null;
  onerror: (() => void) | null;
  onabort: (() => void) | null;
  error: unknown;
}
interface IdbDatabase {
  readonly objectStoreNames: { contains(name: string): boolean };
  createObjectStore(name: string, options?: { keyPath?: string }): unknown;
  transaction(stores: string[], mode: 'readonly' | 'readwrite', options?: object): IdbTransaction;
  close(): void;
}
interface IdbFactory {
  open(name: string, version?: number): IdbOpenRequest;
}

/**
 * A {@link SessionStore} in the browser's IndexedDB, in the database `name` (one per client:
 * two clients must not share one). Refuses a name that is not 1 to
 * {@link MAX_INDEXEDDB_NAME_CHARS} characters with an `InvalidOptionError`; where there is no
 * IndexedDB, `open()` fails with a `StoreError`.
 */
export function indexedDbStore(name: string): SessionStore {
  if (typeof name !== 'string' || name.length === 0 || name.length > MAX_INDEXEDDB_NAME_CHARS) {
    throw new InvalidOptionError(
      'indexedDbStore name',
      `must be a string of 1 to ${MAX_INDEXEDDB_NAME_CHARS} characters`,
    );
  }
  return new IndexedDbStore(name);
}

function failure(operation: string, name: string, cause: unknown): StoreError {
  const detail = cause instanceof Error ? `${cause.name}: ${cause.message}` : String(cause);
  return new StoreError(operation, name, `IndexedDB ${operation} of ${name} failed: ${detail}`, {
    cause,
  });
}

function request<T>(req: IdbRequest<T>): Promise<T> {
  return new Promise((resolve, reject) => {
    req.onsuccess = () => resolve(req.result);
    req.onerror = () => reject(req.error);
  });
}

class IndexedDbStore implements SessionStore {
  readonly durable = true;
  readonly #name: string;
  #db: IdbDatabase | undefined;
  readonly #outgoing = new Map<number, OutgoingRecord>();
  readonly #incoming = new Set<number>();
  readonly #subscriptions = new Map<string, StoredSubscription>();
  /** What changed since the last flush began: written (or deleted) by the next one. */
  #dirtyOutgoing = new Set<number>();
  #dirtyIncoming = new Set<number>();
  #dirtySubscriptions = new Set<string>();
  #cleared = false;
  /** Flushes run one after another, in order. */
  #flushing: Promise<void> = Promise.resolve();

  constructor(name: string) {
    this.#name = name;
  }

  async open(): Promise<StoreSnapshot> {
    const factory = (globalThis as { indexedDB?: IdbFactory }).indexedDB;
    if (factory === undefined) throw failure('open', this.#name, 'this platform has no IndexedDB');
    try {
      const req = factory.open(this.#name, 1);
      req.onupgradeneeded = () => {
        const db = req.result;
        if (!db.objectStoreNames.contains(OUTGOING))
          db.createObjectStore(OUTGOING, { keyPath: 'seq' });
        if (!db.objectStoreNames.contains(INCOMING)) db.createObjectStore(INCOMING);
        if (!db.objectStoreNames.contains(SUBSCRIPTIONS)) {
          db.createObjectStore(SUBSCRIPTIONS, { keyPath: 'filter' });
        }
      };
      const db = await request(req);
      this.#db = db;
      const tx = db.transaction(STORES, 'readonly');
      const [outgoing, incoming, subscriptions] = await Promise.all([
        request(tx.objectStore(OUTGOING).getAll()) as Promise<OutgoingRecord[]>,
        request(tx.objectStore(INCOMING).getAllKeys()) as Promise<number[]>,
        request(tx.objectStore(SUBSCRIPTIONS).getAll()) as Promise<StoredSubscription[]>,
      ]);
      // Keys come in order: outgoing records by seq, as the session restores them.
      for (const record of outgoing) this.#outgoing.set(record.seq, record);
      for (const id of incoming) this.#incoming.add(id);
      for (const s of subscriptions) this.#subscriptions.set(s.filter, s);
      return { outgoing, incomingQos2: incoming, subscriptions };
    } catch (error) {
      throw failure('open', this.#name, error);
    }
  }

  putOutgoing(record: OutgoingRecord): void {
    this.#outgoing.set(record.seq, record);
    this.#dirtyOutgoing.add(record.seq);
  }

  updateOutgoing(seq: number, packetId: number, phase: OutgoingPhase): void {
    const record = this.#outgoing.get(seq);
    if (record === undefined) return;
    this.#outgoing.set(seq, { ...record, packetId, phase });
    this.#dirtyOutgoing.add(seq);
  }

  deleteOutgoing(seq: number): void {
    this.#outgoing.delete(seq);
    this.#dirtyOutgoing.add(seq);
  }

  addIncomingQos2(packetId: number): void {
    this.#incoming.add(packetId);
    this.#dirtyIncoming.add(packetId);
  }

  deleteIncomingQos2(packetId: number): void {
    this.#incoming.delete(packetId);
    this.#dirtyIncoming.add(packetId);
  }

  putSubscription(subscription: StoredSubscription): void {
    this.#subscriptions.set(subscription.filter, subscription);
    this.#dirtySubscriptions.add(subscription.filter);
  }

  deleteSubscription(filter: string): void {
    this.#subscriptions.delete(filter);
    this.#dirtySubscriptions.add(filter);
  }

  clear(): void {
    this.#outgoing.clear();
    this.#incoming.clear();
    this.#subscriptions.clear();
    this.#dirtyOutgoing.clear();
    this.#dirtyIncoming.clear();
    this.#dirtySubscriptions.clear();
    this.#cleared = true;
  }

  flush(): Promise<void> {
    const run = this.#flushing.then(() => this.#write());
    this.#flushing = run.catch(() => undefined);
    return run;
  }

  /** Writes what changed since the last flush in one transaction; resolves once it is on disk. */
  #write(): Promise<void> {
    const db = this.#db;
    const outgoing = this.#dirtyOutgoing;
    const incoming = this.#dirtyIncoming;
    const subscriptions = this.#dirtySubscriptions;
    const cleared = this.#cleared;
    if (db === undefined) return Promise.resolve();
    if (!cleared && outgoing.size + incoming.size + subscriptions.size === 0) {
      return Promise.resolve();
    }
    this.#dirtyOutgoing = new Set();
    this.#dirtyIncoming = new Set();
    this.#dirtySubscriptions = new Set();
    this.#cleared = false;
    return new Promise((resolve, reject) => {
      let tx: IdbTransaction;
      try {
        tx = db.transaction(STORES, 'readwrite', { durability: 'strict' });
        const out = tx.objectStore(OUTGOING);
        const inc = tx.objectStore(INCOMING);
        const subs = tx.objectStore(SUBSCRIPTIONS);
        if (cleared) {
          out.clear();
          inc.clear();
          subs.clear();
        }
        for (const seq of outgoing) {
          const record = this.#outgoing.get(seq);
          if (record === undefined) out.delete(seq);
          else out.put(record);
        }
        for (const id of incoming) {
          if (this.#incoming.has(id)) inc.put(true, id);
          else inc.delete(id);
        }
        for (const filter of subscriptions) {
          const s = this.#subscriptions.get(filter);
          if (s === undefined) subs.delete(filter);
          else subs.put(s);
        }
      } catch (error) {
        reject(failure('write', this.#name, error));
        return;
      }
      tx.oncomplete = () => resolve();
      tx.onabort = tx.onerror = () => {
        // Nothing of it was written: the next flush writes it again (the maps hold the truth).
        for (const seq of outgoing) this.#dirtyOutgoing.add(seq);
        for (const id of incoming) this.#dirtyIncoming.add(id);
        for (const filter of subscriptions) this.#dirtySubscriptions.add(filter);
        if (cleared) this.#cleared = true;
        reject(failure('write', this.#name, tx.error));
      };
    });
  }

  async close(): Promise<void> {
    try {
      await this.flush();
    } finally {
      this.#db?.close();
      this.#db = undefined;
    }
  }
}
