/**
 * The behavioural contract of {@link SessionStore}, run against every implementation.
 *
 * A store is observed the way the client observes it: through what `open()` returns. Each
 * implementation provides a harness that yields a fresh store and a way to see what a later
 * `open()` returns (for the file store: a new store on the same directory).
 */

import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { OutgoingRecord, SessionStore, StoreSnapshot } from '../../src/store/types.js';

/** How the contract drives one implementation. */
export interface StoreHarness {
  /** An opened, empty store. */
  fresh(): Promise<SessionStore>;
  /** Closes `store` and returns what the next `open()` of its state returns. */
  reload(store: SessionStore): Promise<StoreSnapshot>;
}

const record = (seq: number, extra: Partial<OutgoingRecord> = {}): OutgoingRecord => ({
  seq,
  packetId: 0,
  phase: 'queued',
  topic: `c/${seq}`,
  payload: new Uint8Array([seq & 0xff, 0xfe]),
  qos: 1,
  retain: false,
  ...extra,
});

/** Registers the contract tests for one implementation. */
export function storeContract(name: string, make: () => StoreHarness): void {
  const run = (title: string, body: (h: StoreHarness) => Promise<void>): void => {
    test(`${name}: ${title}`, () => body(make()));
  };

  run('a fresh store is empty', async (h) => {
    const store = await h.fresh();
    assert.deepEqual(await h.reload(store), { outgoing: [], incomingQos2: [], subscriptions: [] });
  });

  run('outgoing messages come back sorted by seq, whatever the insertion order', async (h) => {
    const store = await h.fresh();
    for (const seq of [5, 1, 9, 3]) store.putOutgoing(record(seq));
    await store.flush();
    assert.deepEqual(
      (await h.reload(store)).outgoing.map((r) => r.seq),
      [1, 3, 5, 9],
    );
  });

  run('putOutgoing with a known seq replaces the message', async (h) => {
    const store = await h.fresh();
    store.putOutgoing(record(1));
    store.putOutgoing(
      record(1, { topic: 'new', qos: 2, retain: true, payload: new Uint8Array([7]) }),
    );
    assert.deepEqual((await h.reload(store)).outgoing, [
      record(1, { topic: 'new', qos: 2, retain: true, payload: new Uint8Array([7]) }),
    ]);
  });

  run(
    'updateOutgoing moves a message on and keeps its payload; unknown seq is ignored',
    async (h) => {
      const store = await h.fresh();
      store.putOutgoing(record(1, { qos: 2 }));
      store.putOutgoing(record(2));
      store.updateOutgoing(1, 42, 'sent');
      store.updateOutgoing(1, 42, 'released');
      store.updateOutgoing(2, 7, 'sent');
      store.updateOutgoing(3, 9, 'sent');
      assert.deepEqual((await h.reload(store)).outgoing, [
        record(1, { qos: 2, packetId: 42, phase: 'released' }),
        record(2, { packetId: 7, phase: 'sent' }),
      ]);
    },
  );

  run('deleteOutgoing forgets a message; unknown seq is ignored', async (h) => {
    const store = await h.fresh();
    store.putOutgoing(record(1));
    store.putOutgoing(record(2));
    store.deleteOutgoing(1);
    store.deleteOutgoing(77);
    assert.deepEqual((await h.reload(store)).outgoing, [record(2)]);
  });

  run('incoming QoS 2 ids are a set', async (h) => {
    const store = await h.fresh();
    store.addIncomingQos2(3);
    store.addIncomingQos2(3);
    store.addIncomingQos2(65535);
    store.addIncomingQos2(1);
    store.deleteIncomingQos2(1);
    store.deleteIncomingQos2(2);
    assert.deepEqual(
      [...(await h.reload(store)).incomingQos2].sort((a, b) => a - b),
      [3, 65535],
    );
  });

  run('subscriptions are keyed by filter; the last QoS wins', async (h) => {
    const store = await h.fresh();
    store.putSubscription({ filter: 'a/#', qos: 0 });
    store.putSubscription({ filter: 'b/+', qos: 1 });
    store.putSubscription({ filter: 'a/#', qos: 2 });
    store.putSubscription({ filter: 'c', qos: 1 });
    store.deleteSubscription('c');
    store.deleteSubscription('never');
    const subs = [...(await h.reload(store)).subscriptions].sort((x, y) =>
      x.filter.localeCompare(y.filter),
    );
    assert.deepEqual(subs, [
      { filter: 'a/#', qos: 2 },
      { filter: 'b/+', qos: 1 },
    ]);
  });

  run('MQTT 5.0 subscription options and identifier are kept; the last write wins', async (h) => {
    const store = await h.fresh();
    const v5 = {
      filter: 'v5/#',
      qos: 1,
      noLocal: true,
      retainAsPublished: true,
      retainHandling: 2,
      subscriptionIdentifier: 268_435_455,
    } as const;
    store.putSubscription(v5);
    store.putSubscription({ filter: 'rh1', qos: 0, retainHandling: 1, subscriptionIdentifier: 7 });
    store.putSubscription({ filter: 'was-v5', qos: 2, noLocal: true, subscriptionIdentifier: 3 });
    store.putSubscription({ filter: 'was-v5', qos: 2 });
    const subs = [...(await h.reload(store)).subscriptions].sort((x, y) =>
      x.filter.localeCompare(y.filter),
    );
    assert.deepEqual(subs, [
      { filter: 'rh1', qos: 0, retainHandling: 1, subscriptionIdentifier: 7 },
      v5,
      { filter: 'was-v5', qos: 2 },
    ]);
  });

  run('clear forgets everything; later mutations apply', async (h) => {
    const store = await h.fresh();
    store.putOutgoing(record(1));
    store.addIncomingQos2(1);
    store.putSubscription({ filter: 'x', qos: 1 });
    store.clear();
    store.putOutgoing(record(2));
    assert.deepEqual(await h.reload(store), {
      outgoing: [record(2)],
      incomingQos2: [],
      subscriptions: [],
    });
  });

  run('flush resolves, alone, concurrently, and with nothing pending', async (h) => {
    const store = await h.fresh();
    await store.flush();
    const flushes: Promise<void>[] = [];
    for (let seq = 0; seq < 50; seq++) {
      store.putOutgoing(record(seq));
      flushes.push(store.flush());
    }
    await Promise.all(flushes);
    await store.flush();
    assert.equal((await h.reload(store)).outgoing.length, 50);
  });
}
