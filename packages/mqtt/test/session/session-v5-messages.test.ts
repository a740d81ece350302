/**
 * MQTT 5.0 messages in the sans-I/O session, with a fake clock: Topic Alias maps (LRU out,
 * bounded in), Message Expiry of queued messages, deadlines restored from a store across a
 * restart, and the remaining interval carried by a message that waited.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { MessageExpiredError, type MqttError } from '../../src/errors.js';
import type { Packet, PublishPacket, QoS } from '../../src/packet/types.js';
import { Session } from '../../src/session/session.js';
import { IncomingAliases, OutgoingAliases } from '../../src/session/topic-aliases.js';
import { memoryStore } from '../../src/store/memory.js';
import type { SessionStore } from '../../src/store/types.js';

const bytes = (s: string): Uint8Array => new TextEncoder().encode(s);

function harness(store: SessionStore = memoryStore()) {
  const sent: Packet[] = [];
  const failed: [string, QoS, MqttError][] = [];
  const session = new Session(
    {
      protocolVersion: 5,
      clientId: 'dev-1',
      clean: false,
      keepaliveSec: 0,
      pingTimeoutMs: 5000,
      maxInflight: 100,
    },
    {
      send: (p) => sent.push(p),
      deliver: () => undefined,
      drop: () => undefined,
      failed: (topic, qos, error) => failed.push([topic, qos, error]),
    },
    store,
  );
  const settled: string[] = [];
  const op = (name: string) => ({
    resolve: () => settled.push(`${name} ok`),
    reject: (e: Error) => settled.push(`${name} ${(e as MqttError).name}`),
  });
  const online = (t: number): void => {
    session.connectionOpened(t);
    session.connectionAccepted({ type: 'connack', sessionPresent: false, returnCode: 0 }, t);
  };
  const publishes = (): PublishPacket[] =>
    sent.filter((p): p is PublishPacket => p.type === 'publish');
  return { session, sent, failed, settled, op, online, publishes };
}

test('outgoing aliases: 1..maximum, then the least recently used is replaced; reset per connection', () => {
  const a = new OutgoingAliases();
  assert.equal(a.use('x'), undefined, 'maximum 0: no aliases');
  a.reset(2);
  assert.deepEqual(a.use('x'), { alias: 1, known: false });
  assert.deepEqual(a.use('y'), { alias: 2, known: false });
  assert.deepEqual(a.use('x'), { alias: 1, known: true });
  // y is now the least recently used.
  assert.deepEqual(a.use('z'), { alias: 2, known: false });
  assert.deepEqual(a.use('y'), { alias: 1, known: false });
  assert.deepEqual(a.use('z'), { alias: 2, known: true });
  assert.equal(a.replaced, 2);
  assert.equal(a.use(''), undefined, 'an empty topic never gets an alias');
  a.reset(2);
  assert.deepEqual(a.use('z'), { alias: 1, known: false }, 'a new connection starts afresh');
  a.reset(65535);
  for (let i = 1; i <= 1000; i++) assert.equal(a.use(`t/${i}`)?.alias, i);
});

test('incoming aliases: defined by a topic, used by an empty one, never above our maximum', () => {
  const a = new IncomingAliases(3);
  assert.deepEqual(a.resolve('', 1), { problem: 'unknown' });
  assert.deepEqual(a.resolve('a/b', 1), { topic: 'a/b' });
  assert.deepEqual(a.resolve('', 1), { topic: 'a/b' });
  assert.deepEqual(a.resolve('c', 1), { topic: 'c' });
  assert.deepEqual(a.resolve('', 1), { topic: 'c' });
  assert.deepEqual(a.resolve('x', 4), { problem: 'over-maximum' });
  assert.deepEqual(a.resolve('x', 0), { problem: 'over-maximum' });
  assert.equal(a.size, 1);
  a.reset();
  assert.deepEqual(a.resolve('', 1), { problem: 'unknown' });
  assert.deepEqual(new IncomingAliases(0).resolve('x', 1), { problem: 'over-maximum' });
});

test('a queued message expires on time, online or not: failed, counted, its record gone, never sent', () => {
  const store = memoryStore();
  const h = harness(store);
  h.session.publish('exp/a', bytes('a'), 1, false, h.op('a'), 0, {
    properties: { messageExpiryIntervalSec: 2 },
  });
  h.session.publish('exp/b', bytes('b'), 1, false, h.op('b'), 0, {
    properties: { messageExpiryIntervalSec: 5 },
  });
  h.session.publish('exp/c', bytes('c'), 0, false, h.op('c'), 0, {
    properties: { messageExpiryIntervalSec: 1 },
  });
  h.session.tick(999);
  assert.deepEqual(h.settled, []);
  h.session.tick(1000);
  assert.deepEqual(h.settled, ['c MessageExpiredError']);
  h.session.tick(2000);
  assert.deepEqual(h.settled, ['c MessageExpiredError', 'a MessageExpiredError']);
  assert.equal(h.session.expiredCount, 2);
  assert.equal(h.session.queuedCount, 1);
  h.online(3000);
  const [p] = h.publishes();
  assert.equal(p?.topic, 'exp/b');
  // 2 s of 5 remain [MQTT-3.3.2-6].
  assert.equal(p?.properties?.messageExpiryIntervalSec, 2);
  assert.equal(h.publishes().length, 1);
});

test('a message expiring while its turn comes is failed at send time, not sent', () => {
  const h = harness();
  h.session.publish('late', bytes('x'), 1, false, h.op('late'), 0, {
    properties: { messageExpiryIntervalSec: 1 },
  });
  // No tick in between: the connection comes after the deadline.
  h.online(1500);
  assert.deepEqual(h.settled, ['late MessageExpiredError']);
  assert.equal(h.publishes().length, 0);
});

test('a stored Message Expiry holds across a restart: the wall clock places it on the new clock', async () => {
  const store = memoryStore();
  await store.open();
  store.putOutgoing({
    seq: 1,
    packetId: 0,
    phase: 'queued',
    topic: 'restored/a',
    payload: bytes('a'),
    qos: 1,
    retain: false,
    properties: { messageExpiryIntervalSec: 10, contentType: 'text/plain' },
    expiresAtEpochMs: 1_700_000_010_000,
  });
  store.putOutgoing({
    seq: 2,
    packetId: 0,
    phase: 'queued',
    topic: 'restored/b',
    payload: bytes('b'),
    qos: 1,
    retain: false,
    properties: { messageExpiryIntervalSec: 60 },
    expiresAtEpochMs: 1_700_000_060_000,
  });
  const h = harness(store);
  // Restarted 4 s after acceptance; the session clock of this process reads 500.
  h.session.restore(await store.open(), 500, 1_700_000_004_000);
  h.session.tick(6499);
  assert.equal(h.failed.length, 0);
  h.session.tick(6500);
  assert.equal(h.failed.length, 1);
  assert.equal(h.failed[0]?.[0], 'restored/a');
  assert.ok(h.failed[0]?.[2] instanceof MessageExpiredError);
  const snapshot = await store.open();
  assert.deepEqual(
    snapshot.outgoing.map((r) => r.topic),
    ['restored/b'],
  );
  h.online(10_500);
  const [p] = h.publishes();
  assert.equal(p?.topic, 'restored/b');
  // 60 − 4 − 10 = 46 s remain.
  assert.equal(p?.properties?.messageExpiryIntervalSec, 46);
});

test('an in-flight message resent after its expiry completes its flow, with at least 1 s', () => {
  const h = harness();
  h.online(0);
  h.session.publish('inflight', bytes('x'), 1, false, h.op('x'), 0, {
    properties: { messageExpiryIntervalSec: 1 },
  });
  h.session.connectionLost();
  h.online(5000);
  const [first, resent] = h.publishes();
  assert.equal(first?.properties?.messageExpiryIntervalSec, 1);
  assert.equal(resent?.dup, true);
  assert.equal(resent?.properties?.messageExpiryIntervalSec, 1);
  assert.equal(h.session.expiredCount, 0);
});
