/**
 * The session's side of flow control, with a fake clock: acknowledgements of incoming QoS 1/2
 * messages wait for the application and go out in arrival order [MQTT-4.6.0-2/3]; across a
 * reconnect a QoS 1 ack is owed to nobody (the broker resends) while an untaken QoS 2
 * message keeps its place; a paused reader keeps pinging without judging the link dead.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { MqttError } from '../../src/errors.js';
import type { Packet, PublishPacket } from '../../src/packet/types.js';
import { type InboundAck, Session } from '../../src/session/session.js';
import { memoryStore } from '../../src/store/memory.js';

function harness() {
  const sent: Packet[] = [];
  const delivered: { message: PublishPacket; ack: InboundAck | undefined }[] = [];
  const drops: MqttError[] = [];
  const session = new Session(
    {
      protocolVersion: 4,
      clientId: 'acks',
      clean: false,
      keepaliveSec: 10,
      pingTimeoutMs: 5000,
      maxInflight: 10,
    },
    {
      send: (p) => sent.push(p),
      deliver: (message, ack) => delivered.push({ message, ack }),
      drop: (e) => drops.push(e),
    },
    memoryStore(),
  );
  const online = (t = 0, sessionPresent = false): void => {
    session.connectionOpened(t);
    session.connectionAccepted({ type: 'connack', sessionPresent, returnCode: 0 }, t);
    sent.splice(0);
  };
  const publish = (packetId: number, qos: 1 | 2, dup = false): void =>
    session.receive(
      {
        type: 'publish',
        topic: 't',
        payload: new TextEncoder().encode(String(packetId)),
        qos,
        retain: false,
        dup,
        packetId,
      },
      0,
    );
  const acks = (): string[] =>
    sent
      .filter((p) => p.type === 'puback' || p.type === 'pubrec')
      .map((p) => `${p.type}:${(p as { packetId: number }).packetId}`);
  return { session, sent, delivered, drops, online, publish, acks };
}

test('nothing is acknowledged until the application takes the message; then in arrival order', () => {
  const h = harness();
  h.online();
  h.publish(1, 1);
  h.publish(2, 2);
  h.publish(3, 1);
  assert.deepEqual(h.acks(), []);
  assert.equal(h.session.unacknowledgedCount, 3);
  h.session.acknowledge(h.delivered[2]!.ack!, 0);
  h.session.acknowledge(h.delivered[1]!.ack!, 0);
  assert.deepEqual(h.acks(), [], 'later messages wait for the first [MQTT-4.6.0-2]');
  h.session.acknowledge(h.delivered[0]!.ack!, 0);
  assert.deepEqual(h.acks(), ['puback:1', 'pubrec:2', 'puback:3']);
  h.session.acknowledge(h.delivered[0]!.ack!, 0);
  assert.deepEqual(h.acks(), ['puback:1', 'pubrec:2', 'puback:3'], 'acknowledge is idempotent');
  assert.equal(h.session.unacknowledgedCount, 0);
});

test('after a reconnect a QoS 1 ack from the old connection sends nothing; its resend is acked', () => {
  const h = harness();
  h.online();
  h.publish(1, 1);
  const old = h.delivered[0]!.ack!;
  h.session.connectionLost();
  h.online(1, true);
  h.publish(1, 1, true); // [MQTT-4.4.0-1] the broker resends with DUP and the same id
  h.session.acknowledge(old, 1);
  assert.deepEqual(h.acks(), [], 'owed to nobody: that connection is gone');
  h.session.acknowledge(h.delivered[1]!.ack!, 1);
  assert.deepEqual(h.acks(), ['puback:1']);
});

test('an untaken QoS 2 message keeps its place across a reconnect: its resend is not delivered again', () => {
  const h = harness();
  h.online();
  h.publish(7, 2);
  h.session.connectionLost();
  h.online(1, true);
  h.publish(7, 2, true);
  h.publish(8, 1);
  assert.equal(h.delivered.length, 2, 'the DUP resend of 7 is not delivered twice');
  h.session.acknowledge(h.delivered[1]!.ack!, 1);
  assert.deepEqual(h.acks(), [], 'the ack of 8 waits behind 7');
  h.session.acknowledge(h.delivered[0]!.ack!, 1);
  assert.deepEqual(h.acks(), ['pubrec:7', 'puback:8']);
});

test('a QoS 2 message taken while offline is acknowledged when the broker resends it', () => {
  const h = harness();
  h.online();
  h.publish(7, 2);
  h.session.connectionLost();
  h.session.acknowledge(h.delivered[0]!.ack!, 1);
  assert.deepEqual(h.acks(), []);
  h.online(2, true);
  h.publish(7, 2, true);
  assert.equal(h.delivered.length, 1);
  assert.deepEqual(h.acks(), ['pubrec:7']);
});

test('no session on the broker: pending QoS 2 acks are dropped, the messages stay delivered once', () => {
  const h = harness();
  h.online();
  h.publish(7, 2);
  h.session.connectionLost();
  h.online(1, false);
  h.session.acknowledge(h.delivered[0]!.ack!, 1);
  assert.deepEqual(h.acks(), []);
  h.publish(1, 1);
  h.session.acknowledge(h.delivered[1]!.ack!, 1);
  assert.deepEqual(h.acks(), ['puback:1'], 'nothing blocks the new connection');
});

test('while reading is paused, keep-alive pings the broker but never declares the link dead', () => {
  const h = harness();
  h.online(0);
  h.session.pauseReceive(true, 0);
  for (let t = 0; t <= 60_000; t += 250) h.session.tick(t);
  const pings = h.sent.filter((p) => p.type === 'pingreq').length;
  assert.ok(pings >= 5, `pinged every keep-alive period (${pings})`);
  assert.deepEqual(h.drops, [], 'the unread PINGRESP is not a dead link');
  // Reading again counts as hearing from the broker; a ping then unanswered is a dead link.
  h.session.pauseReceive(false, 60_000);
  for (let t = 60_000; t <= 80_000; t += 250) h.session.tick(t);
  assert.equal(h.drops.length, 1);
});
