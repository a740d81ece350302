import assert from 'node:assert/strict';
import { test } from 'node:test';
import { MqttError, MqttErrorCode } from '../../src/errors.js';
import type { Packet, PublishPacket, QoS } from '../../src/packet/types.js';
import { type InboundAck, Session, type SessionOptions } from '../../src/session/session.js';
import { memoryStore } from '../../src/store/memory.js';
import type { SessionStore } from '../../src/store/types.js';

const bytes = (s: string): Uint8Array => new TextEncoder().encode(s);

/**
 * A session with a recording host, a fake clock and a memory store. The application takes
 * each message at once unless `holdAcks`: then the acks wait in `acks` for the test.
 */
function harness(
  options: Partial<SessionOptions> = {},
  store: SessionStore = memoryStore(),
  holdAcks = false,
) {
  const sent: Packet[] = [];
  const delivered: PublishPacket[] = [];
  const acks: InboundAck[] = [];
  const drops: MqttError[] = [];
  const log: string[] = [];
  const session = new Session(
    {
      protocolVersion: 4,
      clientId: 'dev-1',
      clean: false,
      keepaliveSec: 10,
      pingTimeoutMs: 5000,
      maxInflight: 100,
      ...options,
    },
    {
      send: (p) => {
        sent.push(p);
        log.push(`send ${p.type}`);
      },
      deliver: (m, ack) => {
        delivered.push(m);
        log.push(`deliver ${m.topic}`);
        if (ack === undefined) return;
        if (holdAcks) acks.push(ack);
        else session.acknowledge(ack, 0);
      },
      drop: (e) => drops.push(e),
    },
    store,
  );
  const settled: string[] = [];
  const op = (name: string) => ({
    resolve: () => settled.push(`${name} ok`),
    reject: (e: Error) => settled.push(`${name} ${(e as MqttError).code}`),
  });
  const online = (t = 0, sessionPresent = false): void => {
    session.connectionOpened(t);
    session.connectionAccepted({ type: 'connack', sessionPresent, returnCode: 0 }, t);
  };
  const publish = (topic: string, qos: QoS, t = 0): void =>
    session.publish(topic, bytes(topic), qos, false, op(topic), t);
  const take = (): Packet[] => sent.splice(0);
  return { session, sent, delivered, acks, drops, log, settled, op, online, publish, take, store };
}

const ids = (packets: Packet[]): (string | number)[] =>
  packets.map((p) =>
    'packetId' in p && p.packetId !== undefined ? `${p.type}:${p.packetId}` : p.type,
  );

test('CONNECT carries the session parameters and the server credentials', () => {
  const h = harness({
    will: { topic: 'dev/1/state', payload: bytes('lost'), qos: 1, retain: true },
  });
  h.session.connectionOpened(0, { username: 'u', password: bytes('p') });
  assert.deepEqual(h.take(), [
    {
      type: 'connect',
      protocolVersion: 4,
      clientId: 'dev-1',
      clean: false,
      keepaliveSec: 10,
      username: 'u',
      password: bytes('p'),
      will: { topic: 'dev/1/state', payload: bytes('lost'), qos: 1, retain: true },
    },
  ]);
  assert.equal(h.session.link, 'awaiting-connack');
});

test('QoS 0 is written at once and settles when written', () => {
  const h = harness();
  h.online();
  h.take();
  h.publish('a', 0);
  assert.deepEqual(h.take(), [
    { type: 'publish', topic: 'a', payload: bytes('a'), qos: 0, retain: false, dup: false },
  ]);
  assert.deepEqual(h.settled, ['a ok']);
});

test('QoS 1: PUBLISH with an id, settled by PUBACK, store emptied', async () => {
  const h = harness();
  h.online();
  h.take();
  h.publish('a', 1);
  assert.deepEqual(ids(h.take()), ['publish:1']);
  assert.equal((await h.store.open()).outgoing.length, 1);
  assert.deepEqual(h.settled, []);
  h.session.receive({ type: 'puback', packetId: 1 }, 1);
  assert.deepEqual(h.settled, ['a ok']);
  assert.equal((await h.store.open()).outgoing.length, 0);
  assert.ok(h.session.idle);
});

test('QoS 2: PUBREC → PUBREL (phase released in the store) → PUBCOMP settles', async () => {
  const h = harness();
  h.online();
  h.take();
  h.publish('a', 2);
  h.take();
  h.session.receive({ type: 'pubrec', packetId: 1 }, 1);
  assert.deepEqual(h.take(), [{ type: 'pubrel', packetId: 1 }]);
  assert.equal((await h.store.open()).outgoing[0]?.phase, 'released');
  // A duplicate PUBREC is answered with PUBREL again.
  h.session.receive({ type: 'pubrec', packetId: 1 }, 2);
  assert.deepEqual(h.take(), [{ type: 'pubrel', packetId: 1 }]);
  assert.deepEqual(h.settled, []);
  h.session.receive({ type: 'pubcomp', packetId: 1 }, 3);
  assert.deepEqual(h.settled, ['a ok']);
  assert.equal((await h.store.open()).outgoing.length, 0);
});

test('unexpected acks are counted and change nothing', () => {
  const h = harness();
  h.online();
  h.take();
  h.publish('q1', 1); // id 1
  h.publish('q2', 2); // id 2
  h.take();
  h.session.receive({ type: 'puback', packetId: 9 }, 1); // unknown id
  // (PUBACK for a QoS 2 message is a downgrade, not an unexpected ack: session-defects.test.ts)
  h.session.receive({ type: 'pubcomp', packetId: 2 }, 1); // PUBCOMP before PUBREC
  h.session.receive({ type: 'pubrec', packetId: 1 }, 1); // PUBREC for a QoS 1 message
  assert.equal(h.session.unexpectedAcks, 3);
  assert.deepEqual(h.settled, []);
  assert.deepEqual(h.take(), []);
  assert.equal(h.drops.length, 0);
});

test('incoming QoS 1 is acknowledged after it was handed to the application', () => {
  const h = harness();
  h.online();
  h.take();
  h.log.length = 0;
  h.session.receive(
    {
      type: 'publish',
      topic: 't',
      payload: bytes('x'),
      qos: 1,
      retain: false,
      dup: false,
      packetId: 5,
    },
    1,
  );
  assert.deepEqual(h.log, ['deliver t', 'send puback']);
  assert.deepEqual(h.take(), [{ type: 'puback', packetId: 5 }]);
});

test('incoming QoS 2 is delivered exactly once; a DUP redelivery before PUBREL is not', async () => {
  const h = harness();
  h.online();
  h.take();
  const p: PublishPacket = {
    type: 'publish',
    topic: 't',
    payload: bytes('x'),
    qos: 2,
    retain: false,
    dup: false,
    packetId: 7,
  };
  h.session.receive(p, 1);
  assert.deepEqual((await h.store.open()).incomingQos2, [7]);
  h.session.receive({ ...p, dup: true }, 2);
  assert.equal(h.delivered.length, 1);
  assert.deepEqual(h.take(), [
    { type: 'pubrec', packetId: 7 },
    { type: 'pubrec', packetId: 7 },
  ]);
  h.session.receive({ type: 'pubrel', packetId: 7 }, 3);
  assert.deepEqual(h.take(), [{ type: 'pubcomp', packetId: 7 }]);
  assert.deepEqual((await h.store.open()).incomingQos2, []);
  // After PUBREL the id is free: the same id is a new message.
  h.session.receive(p, 4);
  assert.equal(h.delivered.length, 2);
});

test('an unexpected PUBREL is answered with PUBCOMP', () => {
  const h = harness();
  h.online();
  h.take();
  h.session.receive({ type: 'pubrel', packetId: 42 }, 1);
  assert.deepEqual(h.take(), [{ type: 'pubcomp', packetId: 42 }]);
});

test('the in-flight window holds messages back in order, never dropping one', () => {
  const h = harness({ maxInflight: 2 });
  h.online();
  h.take();
  for (const t of ['a', 'b', 'c', 'd', 'e']) h.publish(t, 1);
  assert.deepEqual(ids(h.take()), ['publish:1', 'publish:2']);
  assert.equal(h.session.queuedCount, 3);
  h.session.receive({ type: 'puback', packetId: 1 }, 1);
  const next = h.take() as PublishPacket[];
  assert.deepEqual(
    next.map((p) => [p.topic, p.packetId]),
    [['c', 3]],
  );
  h.session.receive({ type: 'puback', packetId: 2 }, 1);
  h.session.receive({ type: 'puback', packetId: 3 }, 1);
  assert.deepEqual(
    (h.take() as PublishPacket[]).map((p) => p.topic),
    ['d', 'e'],
  );
  assert.deepEqual(h.settled, ['a ok', 'b ok', 'c ok']);
});

test('with 65,535 ids in use further publishes wait; ids are never reused while in use', () => {
  const h = harness({ maxInflight: 65535 });
  h.online();
  h.take();
  const total = 65535 + 10;
  for (let i = 0; i < total; i++) h.session.publish('t', bytes(''), 1, false, h.op(`m${i}`), 0);
  const first = h.take() as PublishPacket[];
  assert.equal(first.length, 65535);
  assert.equal(new Set(first.map((p) => p.packetId)).size, 65535);
  assert.equal(h.session.queuedCount, 10);
  h.session.receive({ type: 'puback', packetId: 40000 }, 1);
  const next = h.take() as PublishPacket[];
  assert.deepEqual(
    next.map((p) => p.packetId),
    [40000],
  );
  // Every message is eventually sent: ack everything still outstanding.
  let acked = 1;
  const outstanding = new Set(first.map((p) => p.packetId!));
  outstanding.delete(40000);
  outstanding.add(40000);
  for (;;) {
    const id = outstanding.values().next().value;
    if (id === undefined) break;
    outstanding.delete(id);
    h.session.receive({ type: 'puback', packetId: id }, 2);
    acked++;
    for (const p of h.take() as PublishPacket[]) {
      assert.ok(!outstanding.has(p.packetId!), `id ${p.packetId} reused while in use`);
      outstanding.add(p.packetId!);
    }
  }
  assert.equal(h.settled.length, total);
  assert.equal(acked, total);
  assert.ok(h.session.idle);
});

test('after reconnect: unacknowledged PUBLISH (DUP, same id) and PUBREL resent in order, then new messages', () => {
  const h = harness();
  h.online();
  h.take();
  h.publish('one', 1); // id 1
  h.publish('two', 2); // id 2
  h.publish('three', 1); // id 3
  h.take();
  h.session.receive({ type: 'pubrec', packetId: 2 }, 1);
  h.take();
  h.session.connectionLost();
  h.publish('four', 1); // offline: queued
  h.publish('five', 0); // offline: queued behind it
  assert.deepEqual(h.take(), []);
  h.online(2, true);
  const resent = h.take();
  assert.equal(resent[0]?.type, 'connect');
  assert.deepEqual(
    resent
      .slice(1)
      .map((p) =>
        p.type === 'publish' ? `publish:${p.topic}:${p.packetId ?? '-'}:dup=${p.dup}` : ids([p])[0],
      ),
    [
      'publish:one:1:dup=true',
      'pubrel:2',
      'publish:three:3:dup=true',
      'publish:four:4:dup=false',
      'publish:five:-:dup=false',
    ],
  );
});

test('a session restored from a store resumes its messages with their ids', () => {
  const store = memoryStore();
  store.putOutgoing({
    seq: 3,
    packetId: 17,
    phase: 'sent',
    topic: 'x',
    payload: bytes('x'),
    qos: 1,
    retain: false,
  });
  store.putOutgoing({
    seq: 4,
    packetId: 0,
    phase: 'queued',
    topic: 'y',
    payload: bytes('y'),
    qos: 2,
    retain: true,
  });
  store.addIncomingQos2(9);
  const h = harness({}, store);
  return store.open().then((snapshot) => {
    h.session.restore(snapshot);
    h.online(0, true);
    const out = h.take().slice(1) as PublishPacket[];
    assert.deepEqual(
      out.map((p) => [p.topic, p.packetId, p.dup, p.retain]),
      [
        ['x', 17, true, false],
        ['y', 1, false, true],
      ],
    );
    // The incoming QoS 2 id survived: a redelivery is not delivered again.
    h.session.receive(
      {
        type: 'publish',
        topic: 'z',
        payload: bytes(''),
        qos: 2,
        retain: false,
        dup: true,
        packetId: 9,
      },
      1,
    );
    assert.equal(h.delivered.length, 0);
  });
});

test('session present = 0 forgets incoming QoS 2 ids the broker no longer knows', async () => {
  const h = harness();
  h.online();
  h.session.receive(
    {
      type: 'publish',
      topic: 't',
      payload: bytes(''),
      qos: 2,
      retain: false,
      dup: false,
      packetId: 3,
    },
    1,
  );
  h.session.connectionLost();
  h.online(2, false);
  assert.deepEqual((await h.store.open()).incomingQos2, []);
});

test('keep-alive: PINGREQ after the idle period, dead link after the ping timeout', () => {
  const h = harness({ keepaliveSec: 10, pingTimeoutMs: 5000 });
  h.online(0);
  h.take();
  h.session.tick(9999);
  assert.deepEqual(h.take(), []);
  h.session.tick(10000);
  assert.deepEqual(h.take(), [{ type: 'pingreq' }]);
  h.session.tick(14999);
  assert.equal(h.drops.length, 0);
  h.session.tick(15000);
  assert.equal(h.drops.length, 1);
  assert.equal(h.drops[0]?.code, MqttErrorCode.KEEPALIVE_TIMEOUT);
  assert.match(h.drops[0]!.message, /no PINGRESP within 5000 ms/);
});

test('keep-alive: a PINGRESP keeps the link alive', () => {
  const h = harness({ keepaliveSec: 10, pingTimeoutMs: 5000 });
  h.online(0);
  h.take();
  h.session.tick(10000);
  h.session.receive({ type: 'pingresp' }, 10100);
  assert.deepEqual(h.take(), [{ type: 'pingreq' }]);
  h.session.tick(16000);
  assert.equal(h.drops.length, 0);
  assert.deepEqual(h.take(), []);
  // The last packet *sent* was the PINGREQ at 10 s: the next one is due at 20 s.
  h.session.tick(20000);
  assert.deepEqual(h.take(), [{ type: 'pingreq' }]);
  h.session.receive({ type: 'pingresp' }, 20050);
  h.session.tick(25000);
  assert.equal(h.drops.length, 0);
});

test('keep-alive: a client that keeps sending into a half-open link still detects it', () => {
  const h = harness({ keepaliveSec: 10, pingTimeoutMs: 5000 });
  h.online(0);
  h.take();
  // Publishing every second: we keep sending, but nothing ever comes back.
  let t = 0;
  while (h.drops.length === 0 && t < 60000) {
    t += 1000;
    h.publish('t', 0, t);
    h.session.tick(t);
  }
  assert.equal(t, 15000);
  assert.equal(h.drops[0]?.code, MqttErrorCode.KEEPALIVE_TIMEOUT);
});

test('keep-alive 0 disables pings', () => {
  const h = harness({ keepaliveSec: 0 });
  h.online(0);
  h.take();
  h.session.tick(1e9);
  assert.deepEqual(h.take(), []);
  assert.equal(h.drops.length, 0);
});

test('SUBSCRIBE while offline is sent on connection; SUBACK codes settle it; 0x80 leaves the store', async () => {
  const h = harness();
  let codes: readonly number[] | undefined;
  h.session.subscribe(
    [
      { topic: 'a/#', qos: 1 },
      { topic: 'secret/#', qos: 2 },
    ],
    { resolve: (c) => (codes = c), reject: assert.fail },
    0,
  );
  assert.deepEqual(h.take(), []);
  h.online(1);
  const sub = h.take()[1];
  assert.equal(sub?.type, 'subscribe');
  h.session.receive(
    { type: 'suback', packetId: (sub as { packetId: number }).packetId, returnCodes: [1, 0x80] },
    2,
  );
  assert.deepEqual(codes, [1, 0x80]);
  assert.deepEqual(
    (await h.store.open()).subscriptions.map((s) => s.filter),
    ['a/#'],
  );
});

test('a SUBSCRIBE lost with the connection is sent again on the next one', () => {
  const h = harness();
  h.online(0);
  h.take();
  let done = false;
  h.session.subscribe(
    [{ topic: 'a', qos: 0 }],
    { resolve: () => (done = true), reject: assert.fail },
    0,
  );
  assert.equal(h.take()[0]?.type, 'subscribe');
  h.session.connectionLost();
  h.online(1);
  const again = h.take()[1] as { type: string; packetId: number };
  assert.equal(again.type, 'subscribe');
  h.session.receive({ type: 'suback', packetId: again.packetId, returnCodes: [0] }, 2);
  assert.ok(done);
});

test('a CONNACK or a client-only packet after the handshake drops the connection', () => {
  const h = harness();
  h.online(0);
  h.session.receive({ type: 'connack', sessionPresent: false, returnCode: 0 }, 1);
  h.session.receive({ type: 'subscribe', packetId: 1, subscriptions: [{ topic: 'a', qos: 0 }] }, 1);
  assert.equal(h.drops.length, 2);
  assert.ok(h.drops.every((e) => e.code === MqttErrorCode.PROTOCOL));
});

test('abandon() rejects every pending operation with the given error', () => {
  const h = harness({ maxInflight: 1 });
  h.online(0);
  h.publish('a', 1);
  h.publish('b', 1);
  h.session.abandon(new MqttError(MqttErrorCode.CLIENT_CLOSED, 'ended'));
  assert.deepEqual(h.settled, ['a MQTT_CLIENT_CLOSED', 'b MQTT_CLIENT_CLOSED']);
});

test('a DUP redelivery of a QoS 2 message already released is acknowledged, not delivered again', () => {
  const h = harness();
  h.online();
  const p: PublishPacket = {
    type: 'publish',
    topic: 't',
    payload: bytes('x'),
    qos: 2,
    retain: false,
    dup: false,
    packetId: 250,
  };
  h.session.receive(p, 1);
  h.session.receive({ type: 'pubrel', packetId: 250 }, 2);
  // Mosquitto restored from its persistence file resends the PUBLISH after PUBREL.
  h.session.receive({ ...p, dup: true }, 3);
  assert.equal(h.delivered.length, 1);
  h.take();
  // A genuinely new message reusing the id (DUP=0, or other content) is delivered.
  h.session.receive({ type: 'pubrel', packetId: 250 }, 4);
  h.session.receive({ ...p, payload: bytes('y') }, 5);
  assert.equal(h.delivered.length, 2);
  h.session.receive({ type: 'pubrel', packetId: 250 }, 6);
  h.session.receive({ ...p, dup: false }, 7);
  assert.equal(h.delivered.length, 3);
});
