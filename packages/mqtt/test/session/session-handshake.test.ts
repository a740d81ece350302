/**
 * What the session owns of its state diagram beyond the QoS flows: the CONNACK handshake,
 * the subscriptions a broker must be told again when it lost our session, the offline
 * queue's bounds, and acknowledgements that match nothing.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ConnectionRefusedError, type MqttError, MqttErrorCode } from '../../src/errors.js';
import type { ConnackPacket, Packet, QoS } from '../../src/packet/types.js';
import {
  type QueuedOutside,
  type QueueLimits,
  Session,
  type SessionOptions,
  type Settleable,
} from '../../src/session/session.js';
import { memoryStore } from '../../src/store/memory.js';

const bytes = (s: string): Uint8Array => new TextEncoder().encode(s);
const SERVER = 'mqtt://broker.example:1883';

function harness(
  offlineQueue?: QueueLimits,
  maxInflight = 100,
  extra: Partial<SessionOptions> = {},
) {
  const sent: Packet[] = [];
  const drops: MqttError[] = [];
  const connected: ConnackPacket[] = [];
  const store = memoryStore();
  const session = new Session(
    {
      protocolVersion: 4,
      clientId: 'dev-1',
      clean: false,
      keepaliveSec: 10,
      pingTimeoutMs: 5000,
      maxInflight,
      ...(offlineQueue === undefined ? {} : { offlineQueue }),
      ...extra,
    },
    {
      send: (p) => sent.push(p),
      deliver: () => undefined,
      drop: (e) => drops.push(e),
      connected: (c) => connected.push(c),
    },
    store,
  );
  const settled: string[] = [];
  const op = (name: string): Settleable<void> => ({
    resolve: () => settled.push(`${name} ok`),
    reject: (e) => settled.push(`${name} ${(e as MqttError).code}`),
  });
  const open = (t = 0): void => session.connectionOpened(t, {}, SERVER);
  const connack = (sessionPresent = false, returnCode = 0, t = 0): void =>
    session.receive({ type: 'connack', sessionPresent, returnCode }, t);
  const publish = (topic: string, qos: QoS): void => {
    session.admit(bytes(topic).byteLength, false);
    session.publish(topic, bytes(topic), qos, false, op(topic), 0);
  };
  const take = (): Packet[] => sent.splice(0);
  return { session, sent, drops, connected, settled, op, open, connack, publish, take, store };
}

// ─── handshake ───────────────────────────────────────────────────────────────────────

test('a packet before CONNACK drops the connection with a protocol error naming the server', () => {
  const h = harness();
  h.open();
  h.session.receive({ type: 'pingresp' }, 1);
  assert.equal(h.drops.length, 1);
  assert.equal(h.drops[0]?.code, MqttErrorCode.PROTOCOL);
  assert.equal(h.drops[0]?.message, `${SERVER} sent PINGRESP before CONNACK [MQTT-3.2.0-1]`);
  assert.equal(h.session.link, 'offline');
  assert.deepEqual(h.connected, []);
});

test('a refusing CONNACK drops the connection with ConnectionRefusedError; nothing is resent', () => {
  const h = harness();
  h.publish('q', 1); // offline: queued
  h.open();
  h.take();
  h.connack(false, 5);
  assert.equal(h.drops.length, 1);
  const error = h.drops[0];
  assert.ok(error instanceof ConnectionRefusedError);
  assert.equal(error.returnCode, 5);
  assert.equal(error.server, SERVER);
  assert.equal(error.permanent, true);
  assert.equal(h.session.link, 'offline');
  assert.deepEqual(h.take(), [], 'no PUBLISH on a refused connection');
  assert.deepEqual(h.connected, []);
});

test('CONNACK 0 through receive() puts the session online, sends the queue, then tells the host', () => {
  const h = harness();
  h.publish('q', 1);
  h.open();
  assert.deepEqual(
    h.take().map((p) => p.type),
    ['connect'],
  );
  h.connack(true);
  assert.equal(h.session.link, 'online');
  assert.deepEqual(
    h.take().map((p) => p.type),
    ['publish'],
  );
  assert.equal(h.connected.length, 1);
  assert.equal(h.connected[0]?.sessionPresent, true);
  assert.deepEqual(h.drops, []);
});

// ─── subscriptions the broker must know ──────────────────────────────────────────────

test('acknowledged filters are subscribed again when the broker lost the session, not when it kept it', () => {
  const h = harness();
  h.open();
  h.connack();
  h.take();
  h.session.subscribe(
    [
      { topic: 'a/#', qos: 1 },
      { topic: 'refused/#', qos: 2 },
    ],
    { resolve: () => undefined, reject: assert.fail },
    0,
  );
  const sub = h.take()[0] as { packetId: number };
  h.session.receive({ type: 'suback', packetId: sub.packetId, returnCodes: [1, 0x80] }, 1);

  h.session.connectionLost();
  h.open(2);
  h.connack(true, 0, 2);
  assert.deepEqual(
    h.take().map((p) => p.type),
    ['connect'],
    'session present: nothing to restore',
  );

  h.session.connectionLost();
  h.open(3);
  h.connack(false, 0, 3);
  const again = h.take();
  assert.equal(again[1]?.type, 'subscribe');
  assert.deepEqual((again[1] as { subscriptions: unknown }).subscriptions, [
    { topic: 'a/#', qos: 1 },
  ]);

  // Refused this time: not tried again.
  h.session.receive(
    { type: 'suback', packetId: (again[1] as { packetId: number }).packetId, returnCodes: [0x80] },
    3,
  );
  h.session.connectionLost();
  h.open(4);
  h.connack(false, 0, 4);
  assert.deepEqual(
    h.take().map((p) => p.type),
    ['connect'],
  );
});

test('filters restored from the store are subscribed again; an unsubscribed one is not', () => {
  const h = harness();
  h.session.restore({
    outgoing: [],
    incomingQos2: [],
    subscriptions: [
      { filter: 'x/1', qos: 1 },
      { filter: 'x/2', qos: 0 },
    ],
  });
  h.session.unsubscribe(['x/2'], { resolve: () => undefined, reject: assert.fail }, 0);
  h.open();
  h.connack(false);
  const packets = h.take();
  assert.deepEqual(
    packets.map((p) => p.type),
    ['connect', 'unsubscribe', 'subscribe'],
    'what was asked offline goes first',
  );
  assert.deepEqual((packets[2] as { subscriptions: unknown }).subscriptions, [
    { topic: 'x/1', qos: 1 },
  ]);
});

test('maxFiltersPerSubscribe: restored filters go in packets of at most N, each keeping its Subscription Identifier', () => {
  // A platform limit (AWS IoT: 8 filters per SUBSCRIBE) applied within each identifier's
  // group: a SUBSCRIBE carries one identifier [MQTT-3.8.2.1.2], so groups never mix.
  const h = harness(undefined, 100, { protocolVersion: 5, maxFiltersPerSubscribe: 2 });
  h.session.restore({
    outgoing: [],
    incomingQos2: [],
    subscriptions: [
      { filter: 'a/1', qos: 1, subscriptionIdentifier: 1 },
      { filter: 'a/2', qos: 0, subscriptionIdentifier: 1 },
      { filter: 'a/3', qos: 1, subscriptionIdentifier: 1 },
      { filter: 'b/1', qos: 0, subscriptionIdentifier: 2 },
      { filter: 'b/2', qos: 1, subscriptionIdentifier: 2 },
    ],
  });
  h.open();
  h.connack(false);
  const subscribes = h
    .take()
    .filter((p) => p.type === 'subscribe')
    .map((p) =>
      p.type === 'subscribe'
        ? {
            id: p.properties?.subscriptionIdentifier,
            topics: p.subscriptions.map((s) => s.topic),
          }
        : undefined,
    );
  assert.deepEqual(subscribes, [
    { id: 1, topics: ['a/1', 'a/2'] },
    { id: 1, topics: ['a/3'] },
    { id: 2, topics: ['b/1', 'b/2'] },
  ]);
});

// ─── unsolicited acknowledgements ────────────────────────────────────────────────────

test('a SUBACK or UNSUBACK no SUBSCRIBE/UNSUBSCRIBE awaits is counted', () => {
  const h = harness();
  h.open();
  h.connack();
  h.session.receive({ type: 'suback', packetId: 7, returnCodes: [0] }, 1);
  h.session.receive({ type: 'unsuback', packetId: 8 }, 1);
  h.session.subscribe(
    [{ topic: 'a', qos: 0 }],
    { resolve: () => undefined, reject: assert.fail },
    1,
  );
  const sub = h.take().find((p) => p.type === 'subscribe') as { packetId: number };
  // An UNSUBACK for the id of a SUBSCRIBE is not its answer.
  h.session.receive({ type: 'unsuback', packetId: sub.packetId }, 1);
  assert.equal(h.session.unexpectedAcks, 3);
  assert.deepEqual(h.drops, []);
});

// ─── offline queue bounds ────────────────────────────────────────────────────────────

test('offline queue, policy reject: a message over a bound is refused with QUEUE_FULL', () => {
  const h = harness({ maxMessages: 2, maxBytes: 1000, policy: 'reject' });
  h.publish('a', 1);
  h.publish('b', 0);
  assert.throws(() => h.publish('c', 1), {
    code: MqttErrorCode.QUEUE_FULL,
    message: /offline queue full \(2 messages, 2 bytes; limits 2 messages, 1000 bytes\)/,
  });
  const small = harness({ maxMessages: 10, maxBytes: 3, policy: 'reject' });
  small.publish('ab', 1);
  assert.throws(() => small.publish('cd', 1), { code: MqttErrorCode.QUEUE_FULL });
  assert.equal(small.session.queuedCount, 1);
});

test('offline queue, policy drop-oldest-qos0: the oldest QoS 0 message makes room, QoS 1 never does', () => {
  const h = harness({ maxMessages: 2, maxBytes: 1000, policy: 'drop-oldest-qos0' });
  h.publish('a', 1);
  h.publish('b', 0);
  h.publish('c', 0);
  assert.deepEqual(h.settled, ['b MQTT_QUEUE_FULL']);
  assert.equal(h.session.queuedCount, 2);
  // Only QoS 0 may go; with none but the newest left, the one queued goes.
  h.publish('d', 1);
  assert.deepEqual(h.settled, ['b MQTT_QUEUE_FULL', 'c MQTT_QUEUE_FULL']);
  assert.throws(() => h.publish('e', 1), { code: MqttErrorCode.QUEUE_FULL });
});

test('offline queue: operations held outside the session count, and may be dropped too', () => {
  const h = harness({ maxMessages: 2, maxBytes: 1000, policy: 'drop-oldest-qos0' });
  const outsideDropped: string[] = [];
  let held = 2;
  const outside: QueuedOutside = {
    get count() {
      return held;
    },
    get bytes() {
      return held * 10;
    },
    dropOldestQos0: () => {
      if (held === 0) return undefined;
      held--;
      return { resolve: () => undefined, reject: (e) => outsideDropped.push(e.message) };
    },
  };
  h.session.admit(1, false, outside);
  assert.equal(held, 1, 'one held message made room');
  assert.equal(outsideDropped.length, 1);
  const strict = harness({ maxMessages: 2, maxBytes: 1000, policy: 'reject' });
  assert.throws(() => strict.session.admit(1, false, { ...outside, count: 2, bytes: 0 }), {
    code: MqttErrorCode.QUEUE_FULL,
  });
});

test('online, a message is admitted without bound unless it may run ahead (resolveOn stored)', () => {
  const h = harness({ maxMessages: 1, maxBytes: 1000, policy: 'reject' }, 1);
  h.open();
  h.connack();
  h.session.publish('x', bytes('x'), 1, false, h.op('x'), 0); // in flight
  h.session.publish('y', bytes('y'), 1, false, h.op('y'), 0); // queued behind it
  assert.equal(h.session.queuedCount, 1);
  h.session.admit(1, false);
  assert.throws(() => h.session.admit(1, true), { code: MqttErrorCode.QUEUE_FULL });
  h.session.connectionLost();
  assert.throws(() => h.session.admit(1, false), { code: MqttErrorCode.QUEUE_FULL });
});
