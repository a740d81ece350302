/**
 * Session defects found on real brokers (issue 16): a QoS 2 message acknowledged with PUBACK
 * (RabbitMQ), acks that match no flow, and a message that makes the server close the
 * connection each time it is resent (NATS on QoS 2).
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { MqttErrorCode, PoisonMessageError, QosDowngradedError } from '../../src/errors.js';
import type { Packet, QoS } from '../../src/packet/types.js';
import { Session } from '../../src/session/session.js';
import { memoryStore } from '../../src/store/memory.js';
import type { SessionStore } from '../../src/store/types.js';

const bytes = (s: string): Uint8Array => new TextEncoder().encode(s);

function harness(maxInflight = 100, store: SessionStore = memoryStore()) {
  const sent: Packet[] = [];
  const session = new Session(
    {
      protocolVersion: 4,
      clientId: 'dev-1',
      clean: false,
      keepaliveSec: 10,
      pingTimeoutMs: 5000,
      maxInflight,
    },
    { send: (p) => sent.push(p), deliver: () => undefined, drop: () => undefined },
    store,
  );
  const results = new Map<string, Error | 'ok'>();
  const publish = (topic: string, qos: QoS): void =>
    session.publish(
      topic,
      bytes(topic),
      qos,
      false,
      { resolve: () => results.set(topic, 'ok'), reject: (e) => results.set(topic, e) },
      0,
    );
  const online = (): void => {
    session.connectionOpened(0);
    session.connectionAccepted({ type: 'connack', sessionPresent: true, returnCode: 0 }, 0);
  };
  const publishes = (): string[] =>
    sent.splice(0).flatMap((p) => (p.type === 'publish' ? [`${p.topic}#${p.packetId}`] : []));
  return { session, sent, results, publish, online, publishes, store };
}

test('PUBACK for a QoS 2 message settles it with QosDowngradedError and frees its slot and record', async () => {
  const store = memoryStore();
  const h = harness(1, store);
  h.online();
  h.publish('q2', 2);
  h.publish('q1', 1); // waits for the only in-flight slot
  assert.deepEqual(h.publishes(), ['q2#1']);
  h.session.receive({ type: 'puback', packetId: 1 }, 1);
  const error = h.results.get('q2');
  assert.ok(error instanceof QosDowngradedError, `got ${String(error)}`);
  assert.equal(error.code, MqttErrorCode.QOS_DOWNGRADED);
  assert.equal(error.topic, 'q2');
  assert.match(error.message, /downgraded it to QoS 1 .*at least once, not exactly once/);
  // The slot is free: the QoS 1 message behind it goes out, and completes.
  assert.deepEqual(h.publishes(), ['q1#2']);
  h.session.receive({ type: 'puback', packetId: 2 }, 2);
  assert.equal(h.results.get('q1'), 'ok');
  assert.equal(h.session.inflightCount, 0);
  assert.ok(h.session.idle);
  assert.deepEqual((await store.open()).outgoing, [], 'no store record left');
  assert.equal(h.session.unexpectedAcks, 0, 'a downgrade is reported, not counted as unexpected');
});

test('acks that match no flow are counted, and change nothing', () => {
  const h = harness();
  h.online();
  h.publish('q1', 1);
  h.publish('q2', 2);
  h.publishes();
  h.session.receive({ type: 'puback', packetId: 99 }, 1); // unknown id
  h.session.receive({ type: 'pubrec', packetId: 98 }, 1); // unknown id
  h.session.receive({ type: 'pubcomp', packetId: 97 }, 1); // unknown id
  h.session.receive({ type: 'pubrec', packetId: 1 }, 1); // PUBREC for a QoS 1 message
  h.session.receive({ type: 'pubcomp', packetId: 2 }, 1); // PUBCOMP before PUBREC
  assert.equal(h.session.unexpectedAcks, 5);
  assert.equal(h.session.inflightCount, 2);
  assert.equal(h.results.size, 0);
  h.session.receive({ type: 'pubrec', packetId: 2 }, 2);
  h.session.receive({ type: 'puback', packetId: 2 }, 2); // PUBACK past PUBREC
  assert.equal(h.session.unexpectedAcks, 6);
  assert.equal(h.session.inflightCount, 2);
});

test('a message first in flight at `threshold` early closes in a row is given up as poison', async () => {
  const store = memoryStore();
  const h = harness(100, store);
  h.online();
  h.publish('poison', 2);
  h.publish('ok/1', 1);
  h.publish('ok/2', 1);
  for (let i = 1; i <= 3; i++) {
    h.publishes();
    h.session.connectionLost();
    const error = h.session.connectionKilled(true, 3, i);
    if (i < 3) {
      assert.equal(error, undefined, `close ${i}: not yet`);
      h.online();
      continue;
    }
    assert.ok(error instanceof PoisonMessageError);
  }
  const error = h.results.get('poison');
  assert.ok(error instanceof PoisonMessageError, `got ${String(error)}`);
  assert.equal(error.code, MqttErrorCode.POISON_MESSAGE);
  assert.equal(error.topic, 'poison');
  assert.equal(error.qos, 2);
  assert.equal(error.closes, 3);
  assert.match(error.message, /"poison" \(QoS 2\).*3 times in a row/);
  assert.equal(h.session.poisonedCount, 1);
  assert.deepEqual(
    (await store.open()).outgoing.map((r) => r.topic),
    ['ok/1', 'ok/2'],
    'removed from the store, the others kept',
  );
  // The messages behind it flow on the next connection.
  h.online();
  assert.deepEqual(h.publishes(), ['ok/1#2', 'ok/2#3']);
  h.session.receive({ type: 'puback', packetId: 2 }, 5);
  h.session.receive({ type: 'puback', packetId: 3 }, 5);
  assert.equal(h.results.get('ok/1'), 'ok');
  assert.equal(h.results.get('ok/2'), 'ok');
});

test('a message is not condemned before the window passed since its first close, however many closes', () => {
  // A NATS cluster electing stream leaders closes on every QoS 1 PUBLISH for seconds: the
  // count alone would condemn a good message.
  const h = harness();
  h.online();
  h.publish('m', 1);
  const closeAt = (t: number) => {
    h.session.connectionLost();
    const error = h.session.connectionKilled(true, 3, t, 30_000);
    if (error === undefined) h.online();
    return error;
  };
  for (const t of [1_000, 2_000, 4_000, 8_000, 16_000, 30_999]) {
    assert.equal(closeAt(t), undefined, `close at ${t} ms: within the window`);
  }
  const error = closeAt(31_000);
  assert.ok(error instanceof PoisonMessageError, 'still killing the connection after the window');
  assert.equal(error.closes, 7);
  assert.equal(h.results.get('m'), error);
});

test('any other loss ends the streak: closes must come in a row', () => {
  const h = harness();
  h.online();
  h.publish('m', 1);
  h.session.connectionLost();
  assert.equal(h.session.connectionKilled(true, 2, 1), undefined);
  h.online();
  h.session.connectionLost();
  // A keep-alive expiry, our own drop or a connection that lasted: not an early close.
  assert.equal(h.session.connectionKilled(false, 2, 2), undefined);
  h.online();
  h.session.connectionLost();
  assert.equal(h.session.connectionKilled(true, 2, 3), undefined, 'the streak restarted at 1');
  h.online();
  h.session.connectionLost();
  assert.ok(h.session.connectionKilled(true, 2, 4) instanceof PoisonMessageError);
});

test('a new message first in flight starts its own count; threshold 0 never condemns', () => {
  const h = harness();
  h.online();
  h.publish('a', 1);
  h.publish('b', 1);
  h.publishes();
  h.session.connectionLost();
  assert.equal(h.session.connectionKilled(true, 2, 1), undefined);
  h.online();
  h.session.receive({ type: 'puback', packetId: 1 }, 2); // `a` made it: `b` is first now
  h.session.connectionLost();
  assert.equal(h.session.connectionKilled(true, 2, 3), undefined, 'b: 1 close, not 2');
  h.online();
  h.session.connectionLost();
  for (let i = 0; i < 10; i++) assert.equal(h.session.connectionKilled(true, 0, 4), undefined);
  assert.equal(h.results.get('b'), undefined);
});

test('a message past PUBREC (only PUBREL left) is never the suspect', () => {
  const h = harness();
  h.online();
  h.publish('q2', 2);
  h.session.receive({ type: 'pubrec', packetId: 1 }, 1);
  for (let i = 0; i < 5; i++) {
    h.session.connectionLost();
    assert.equal(h.session.connectionKilled(true, 1, i), undefined);
    h.online();
  }
  assert.equal(h.session.inflightCount, 1);
});

test('after an early close the suspect goes alone with a PINGREQ; an answer clears it and releases the rest in order', () => {
  const h = harness();
  h.online();
  h.publish('a', 1);
  h.publish('b', 1);
  h.publish('c', 2);
  h.sent.length = 0;
  h.session.connectionLost();
  h.session.connectionKilled(true, 3, 1); // `a` is the suspect
  h.online();
  assert.deepEqual(
    h.sent.splice(0).map((p) => (p.type === 'publish' ? `${p.topic} dup=${p.dup}` : p.type)),
    ['connect', 'a dup=true', 'pingreq'],
  );
  h.publish('d', 1); // accepted during the probe: held, in order
  assert.deepEqual(h.publishes(), []);
  h.session.receive({ type: 'pingresp' }, 2); // the server lived on after `a`
  assert.deepEqual(h.publishes(), ['b#2', 'c#3', 'd#4']);
  // Cleared: another early close starts again from 1.
  h.session.connectionLost();
  assert.equal(h.session.connectionKilled(true, 2, 3), undefined);
});

test('the message that kills the connection is convicted, not one before it that the broker acked late', async () => {
  const store = memoryStore();
  const h = harness(100, store);
  h.online();
  h.publish('late-acked', 1); // JetStream acks QoS 1 after storing: the close may come first
  h.publish('killer', 2);
  h.publishes();
  h.session.connectionLost();
  assert.equal(h.session.connectionKilled(true, 3, 1), undefined); // suspect: late-acked
  h.online();
  assert.deepEqual(h.publishes(), ['late-acked#1']); // probed alone
  h.session.receive({ type: 'puback', packetId: 1 }, 2); // acquitted
  assert.equal(h.results.get('late-acked'), 'ok');
  assert.deepEqual(h.publishes(), ['killer#2']);
  let error: Error | undefined;
  for (let i = 0; i < 3 && error === undefined; i++) {
    h.session.connectionLost();
    error = h.session.connectionKilled(true, 3, 3 + i);
    if (error === undefined) {
      h.online();
      assert.deepEqual(h.publishes(), ['killer#2']);
    }
  }
  assert.ok(error instanceof PoisonMessageError);
  assert.equal(error.topic, 'killer');
  assert.equal(h.results.get('killer'), error);
  assert.deepEqual((await store.open()).outgoing, []);
});
