/**
 * MQTT 5.0 subscriptions against a scripted broker, for what Mosquitto will not show on
 * demand: the SUBSCRIBE as written (options, identifier, User Properties), a broker without
 * Subscription Identifiers or shared subscriptions, restored subscriptions after a lost
 * session, and messages tagged with exactly the identifiers a test chooses.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  type Client,
  connect,
  createClient,
  InvalidOptionError,
  InvalidTopicError,
  memoryStore,
  type Subscription,
  UnsupportedByServerError,
} from 'courier-mqtt';
import type { PublishPacket, SubscribePacket } from 'courier-mqtt/packet';
import {
  acceptSession,
  type FakeConnection,
  startFakeBroker,
} from '../../../../test/helpers/fake-broker.js';
import { acceptV5, openV5 as open } from './fake-v5.js';
import { bytes, text } from './fixture.js';

/** Subscribes, answers the SUBACK granting every filter, and returns the SUBSCRIBE sent. */
async function subscribe(
  client: Client,
  c: FakeConnection,
  ...args: Parameters<Client['subscribe']>
): Promise<{ sub: Subscription; packet: SubscribePacket }> {
  const done = client.subscribe(...args);
  const packet = (await c.next('subscribe')) as SubscribePacket;
  c.send({
    type: 'suback',
    packetId: packet.packetId,
    returnCodes: packet.subscriptions.map((s) => s.qos),
  });
  return { sub: await done, packet };
}

/**
 * Reads a subscription from now on into `got`; `until(payload)` resolves once that payload
 * was read. Messages are dispatched in arrival order, so a marker sent last to every
 * subscription proves that nothing else is on its way.
 */
function reader(sub: Subscription): { got: string[]; until(payload: string): Promise<void> } {
  const got: string[] = [];
  const waits: { payload: string; resolve: () => void }[] = [];
  void (async () => {
    for await (const m of sub) {
      got.push(text(m));
      for (const w of waits.filter((w) => w.payload === text(m))) w.resolve();
    }
  })();
  return {
    got,
    until: (payload) =>
      got.includes(payload)
        ? Promise.resolve()
        : new Promise((resolve, reject) => {
            const timer = setTimeout(
              () => reject(new Error(`${payload} not read within 5 s; got ${JSON.stringify(got)}`)),
              5000,
            );
            waits.push({
              payload,
              resolve: () => {
                clearTimeout(timer);
                resolve();
              },
            });
          }),
  };
}

/** Publishes from the broker at QoS 1, tagged with `subscriptionIdentifiers` when given. */
async function deliver(
  c: FakeConnection,
  packetId: number,
  topic: string,
  payload: string,
  subscriptionIdentifiers?: number[],
): Promise<void> {
  const packet: PublishPacket = {
    type: 'publish',
    topic,
    payload: bytes(payload),
    qos: 1,
    retain: false,
    dup: false,
    packetId,
    ...(subscriptionIdentifiers === undefined ? {} : { properties: { subscriptionIdentifiers } }),
  };
  c.send(packet);
}

test('SUBSCRIBE carries the options, one Subscription Identifier per call and the User Properties', async (t) => {
  const broker = await startFakeBroker(t, { protocolVersion: 5 });
  const { client, c } = await open(t, broker);
  const first = await subscribe(client, c, ['a/#', 'b'], {
    qos: 1,
    noLocal: true,
    retainAsPublished: true,
    retainHandling: 2,
    userProperties: [
      ['k', 'v'],
      ['k', 'w'],
    ],
  });
  assert.deepEqual(first.packet.subscriptions, [
    { topic: 'a/#', qos: 1, noLocal: true, retainAsPublished: true, retainHandling: 2 },
    { topic: 'b', qos: 1, noLocal: true, retainAsPublished: true, retainHandling: 2 },
  ]);
  const id1 = first.packet.properties?.subscriptionIdentifier;
  assert.equal(typeof id1, 'number');
  assert.deepEqual(first.packet.properties?.userProperties, [
    ['k', 'v'],
    ['k', 'w'],
  ]);
  const second = await subscribe(client, c, '$share/g/c', { qos: 0 });
  assert.deepEqual(second.packet.subscriptions, [
    { topic: '$share/g/c', qos: 0, noLocal: false, retainAsPublished: false, retainHandling: 0 },
  ]);
  const id2 = second.packet.properties?.subscriptionIdentifier;
  assert.ok(id2 !== undefined && id2 !== id1 && id2 >= 1 && id2 <= 268_435_455);
});

test('messages are routed by the identifiers they carry: exactly the subscriptions the broker matched', async (t) => {
  const broker = await startFakeBroker(t, { protocolVersion: 5 });
  const { client, c } = await open(t, broker);
  const wide = await subscribe(client, c, 'r/#', { qos: 1 });
  const narrow = await subscribe(client, c, 'r/+', { qos: 1 });
  const shared = await subscribe(client, c, '$share/g/r/x', { qos: 1 });
  const wideId = wide.packet.properties!.subscriptionIdentifier!;
  const narrowId = narrow.packet.properties!.subscriptionIdentifier!;
  const sharedId = shared.packet.properties!.subscriptionIdentifier!;
  const events: string[] = [];
  client.on('message', (m) => events.push(text(m)));
  const [n, w, sh] = [reader(narrow.sub), reader(wide.sub), reader(shared.sub)];
  // All three filters match `r/x`; each message names the subscriptions it is for.
  await deliver(c, 1, 'r/x', 'narrow only', [narrowId]);
  await deliver(c, 2, 'r/x', 'wide and shared', [wideId, sharedId]);
  await deliver(c, 3, 'r/x', 'all', [sharedId, narrowId, wideId]);
  // An identifier we never gave this filter (a stale one from an earlier session): no one.
  await deliver(c, 4, 'r/x', 'stale', [9999]);
  // No identifier at all: routed by topic, as at 3.1.1.
  await deliver(c, 5, 'r/x', 'untagged', undefined);
  await Promise.all([n.until('untagged'), w.until('untagged'), sh.until('untagged')]);
  assert.deepEqual(n.got, ['narrow only', 'all', 'untagged']);
  assert.deepEqual(w.got, ['wide and shared', 'all', 'untagged']);
  assert.deepEqual(sh.got, ['wide and shared', 'all', 'untagged']);
  // The `message` event sees every message once, whatever it is routed to.
  assert.deepEqual(events, ['narrow only', 'wide and shared', 'all', 'stale', 'untagged']);
  // Each was acknowledged once its subscriptions took it (the stale one at once).
  const acks = [];
  for (let i = 0; i < 5; i++)
    acks.push(((await c.next('puback')) as { packetId: number }).packetId);
  assert.deepEqual(acks.sort(), [1, 2, 3, 4, 5]);
});

test('a broker without Subscription Identifiers gets none, and messages are routed by topic', async (t) => {
  const broker = await startFakeBroker(t, { protocolVersion: 5 });
  const { client, c } = await open(t, broker, { subscriptionIdentifiersAvailable: false });
  const a = await subscribe(client, c, 'x/#', { qos: 1, noLocal: true });
  const b = await subscribe(client, c, 'x/y', { qos: 1 });
  assert.equal(a.packet.properties?.subscriptionIdentifier, undefined);
  assert.equal(b.packet.properties, undefined);
  assert.equal(a.packet.subscriptions[0]!.noLocal, true);
  const [ra, rb] = [reader(a.sub), reader(b.sub)];
  await deliver(c, 1, 'x/y', 'both');
  await deliver(c, 2, 'x/z', 'wide');
  await Promise.all([ra.until('wide'), rb.until('both')]);
  assert.deepEqual(ra.got, ['both', 'wide']);
  assert.deepEqual(rb.got, ['both']);
});

test('a broker without shared subscriptions: $share/ is refused before the wire', async (t) => {
  const broker = await startFakeBroker(t, { protocolVersion: 5 });
  const { client, c } = await open(t, broker, { sharedSubscriptionAvailable: false });
  await assert.rejects(
    client.subscribe('$share/g/jobs/#', { qos: 1 }),
    (e: unknown) => e instanceof UnsupportedByServerError && e.feature === 'shared-subscriptions',
  );
  // The connection is fine, and plain filters still go out.
  const plain = await subscribe(client, c, 'jobs/#', { qos: 1 });
  assert.equal(plain.packet.subscriptions[0]!.topic, 'jobs/#');
  assert.equal(
    c.received.filter((p) => p.type === 'subscribe').length,
    1,
    'only the plain SUBSCRIBE was sent',
  );
});

test('bad subscription options and shared filters are refused with the field named', async (t) => {
  const broker = await startFakeBroker(t, { protocolVersion: 5 });
  const { client, c } = await open(t, broker);
  const field = (name: string) => (e: unknown) =>
    e instanceof InvalidOptionError && e.field === name;
  await assert.rejects(client.subscribe('a', { retainHandling: 3 as 0 }), field('retainHandling'));
  await assert.rejects(client.subscribe('a', { noLocal: 'yes' as never }), field('noLocal'));
  await assert.rejects(
    client.subscribe('a', { nl: true } as never),
    (e: unknown) => field('nl')(e) && /did you mean noLocal/.test(String(e)),
  );
  await assert.rejects(
    client.subscribe('$share/g/a', { noLocal: true }),
    (e: unknown) => field('noLocal')(e) && /MQTT-3\.8\.3-4/.test(String(e)),
  );
  await assert.rejects(
    client.subscribe('a', { userProperties: [['k', 'bad\u0000']] }),
    field('userProperties[0] value'),
  );
  await assert.rejects(
    client.subscribe('$share/g+/a'),
    (e: unknown) => e instanceof InvalidTopicError && e.rule === 'MQTT-4.8.2-2',
  );
  await assert.rejects(
    client.subscribe('$share/g'),
    (e: unknown) => e instanceof InvalidTopicError && e.rule === 'MQTT-4.8.2-2',
  );
  assert.deepEqual(
    c.received.filter((p) => p.type === 'subscribe'),
    [],
  );
});

test('after a lost session the subscriptions are restored with their options and identifiers', async (t) => {
  const broker = await startFakeBroker(t, { protocolVersion: 5 });
  const store = memoryStore();
  const client = createClient(broker.url, {
    protocolVersion: 5,
    clean: false,
    sessionExpirySec: 60,
    clientId: 'restore-v5',
    store,
    reconnect: { minDelayMs: 10, maxDelayMs: 10, jitter: 0 },
  });
  t.after(() => client.end({ force: true }));
  const { c: c1 } = await acceptV5(broker);
  const a = await subscribe(client, c1, ['s/1', 's/2'], {
    qos: 1,
    noLocal: true,
    retainHandling: 1,
  });
  const b = await subscribe(client, c1, 's/3', { qos: 2, retainAsPublished: true });
  c1.close();
  // The broker lost the session: everything is subscribed again, as it was.
  const { c: c2 } = await acceptV5(broker);
  const restored = [
    (await c2.next('subscribe')) as SubscribePacket,
    (await c2.next('subscribe')) as SubscribePacket,
  ];
  const byId = new Map(restored.map((p) => [p.properties?.subscriptionIdentifier, p]));
  assert.deepEqual(
    byId.get(a.packet.properties!.subscriptionIdentifier)?.subscriptions,
    a.packet.subscriptions,
  );
  assert.deepEqual(
    byId.get(b.packet.properties!.subscriptionIdentifier)?.subscriptions,
    b.packet.subscriptions,
  );
  for (const p of restored) {
    c2.send({
      type: 'suback',
      packetId: p.packetId,
      returnCodes: p.subscriptions.map((s) => s.qos),
    });
  }
  // Messages tagged with the old identifiers still reach their subscriptions.
  const [ra, rb] = [reader(a.sub), reader(b.sub)];
  await deliver(c2, 7, 's/3', 'three', [b.packet.properties!.subscriptionIdentifier!]);
  await deliver(c2, 8, 's/1', 'one', [a.packet.properties!.subscriptionIdentifier!]);
  await Promise.all([ra.until('one'), rb.until('three')]);
  assert.deepEqual(ra.got, ['one']);
  assert.deepEqual(rb.got, ['three']);
  // And the store holds the options and identifiers for a restart.
  const snapshot = await store.open();
  const s3 = snapshot.subscriptions.find((s) => s.filter === 's/3');
  assert.deepEqual(s3, {
    filter: 's/3',
    qos: 2,
    noLocal: false,
    retainAsPublished: true,
    retainHandling: 0,
    subscriptionIdentifier: b.packet.properties!.subscriptionIdentifier,
  });
});

test('3.1.1: shared subscriptions are accepted and dispatched on their filter part', async (t) => {
  const broker = await startFakeBroker(t, { protocolVersion: 4 });
  const pending = connect(broker.url, { reconnect: false });
  const c = await acceptSession(broker);
  const client = await pending;
  t.after(() => client.end({ force: true }));
  const done = client.subscribe('$share/g/jobs/+', { qos: 1 });
  const packet = (await c.next('subscribe')) as SubscribePacket;
  assert.deepEqual(packet.subscriptions, [{ topic: '$share/g/jobs/+', qos: 1 }]);
  c.send({ type: 'suback', packetId: packet.packetId, returnCodes: [1] });
  const r = reader(await done);
  c.send({
    type: 'publish',
    topic: 'jobs/1',
    payload: bytes('j'),
    qos: 1,
    retain: false,
    dup: false,
    packetId: 1,
  });
  await r.until('j');
  assert.deepEqual(r.got, ['j']);
  await c.next('puback');
});

test('a refused subscribe to a filter already held leaves its messages with the earlier subscription', async (t) => {
  const broker = await startFakeBroker(t, { protocolVersion: 5 });
  const { client, c } = await open(t, broker);
  const first = await subscribe(client, c, 'f/x', { qos: 1 });
  const firstId = first.packet.properties!.subscriptionIdentifier!;
  const again = client.subscribe('f/x', { qos: 1, noLocal: true });
  const packet = (await c.next('subscribe')) as SubscribePacket;
  assert.notEqual(packet.properties?.subscriptionIdentifier, firstId);
  // 0x87 Not authorized: the broker keeps the earlier subscription, and its identifier.
  c.send({ type: 'suback', packetId: packet.packetId, returnCodes: [0x87] });
  assert.deepEqual((await again).granted, [0x87]);
  const r = reader(first.sub);
  await deliver(c, 1, 'f/x', 'still mine', [firstId]);
  await r.until('still mine');
  assert.deepEqual(r.got, ['still mine']);
});

test('a store written at 5.0 resumed by a 3.1.1 client restores its filters without 5.0 options', async (t) => {
  const broker = await startFakeBroker(t, { protocolVersion: 4 });
  const store = memoryStore();
  await store.open();
  store.putSubscription({
    filter: 'kept/#',
    qos: 1,
    noLocal: true,
    retainHandling: 2,
    subscriptionIdentifier: 4,
  });
  const client = createClient(broker.url, {
    protocolVersion: 4,
    clean: false,
    clientId: 'downgraded',
    store,
    reconnect: false,
  });
  t.after(() => client.end({ force: true }));
  const c = await broker.accept();
  await c.next('connect');
  c.send({ type: 'connack', sessionPresent: false, returnCode: 0 });
  const packet = (await c.next('subscribe')) as SubscribePacket;
  assert.deepEqual(packet.subscriptions, [{ topic: 'kept/#', qos: 1 }]);
  assert.equal(packet.properties, undefined);
});
