/**
 * Flow control of received messages, against a real Mosquitto started by the test: a reader
 * slower than the stream slows the broker down instead of losing what the client had already
 * acknowledged. QoS 1/2 acknowledgements wait until the reader has taken the message (or
 * acked it, with `ack: 'manual'`); a reader that falls behind pauses reading the connection
 * without tripping keep-alive; QoS 0 overflow is dropped, counted and reported.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { type Client, type DroppedMessage, MqttErrorCode, type QoS } from 'courier-mqtt';
import type { Packet } from 'courier-mqtt/packet';
import { acceptSession, startFakeBroker } from '../../../../test/helpers/fake-broker.js';
import { startMosquitto } from '../../../../test/helpers/mosquitto.js';
import { startFaultProxy } from '../../../../test/helpers/proxy.js';
import { connectForTest as open, text } from './fixture.js';

/**
 * A broker that never drops a message for a slow subscriber, with Mosquitto's default
 * in-flight window of 20 (which it also enforces on incoming QoS 2: publishers stay within it).
 */
function deepQueueBroker(t: Parameters<typeof startMosquitto>[0]) {
  return startMosquitto(t, {
    lines: ['max_queued_messages 0', 'max_inflight_messages 20'],
  });
}

/** Publishes `count` numbered messages and resolves once the broker acknowledged them all. */
async function publishNumbered(client: Client, topic: string, count: number, qos: QoS) {
  const done: Promise<void>[] = [];
  for (let n = 0; n < count; n++) done.push(client.publish(topic, String(n), { qos }));
  await Promise.all(done);
}

for (const qos of [1, 2] as const) {
  test(`a reader that starts late gets all of 20,000 QoS ${qos} messages, in order`, async (t) => {
    const broker = await deepQueueBroker(t);
    const subscriber = await open(t, broker.url(), { subscriptionBufferSize: 1000 });
    const states: string[] = [];
    subscriber.on('state', (s) => states.push(s.status));
    const sub = await subscriber.subscribe('flow/late', { qos });
    const publisher = await open(t, broker.url(), { maxInflight: 20 });
    // The reader starts only once the broker has every message: before this change the
    // client acknowledged them all at once and dropped the oldest 10,000 of its buffer.
    await publishNumbered(publisher, 'flow/late', 20_000, qos);

    let expected = 0;
    let maxBuffered = 0;
    for await (const message of sub) {
      maxBuffered = Math.max(maxBuffered, sub.buffered);
      // QoS 1 may repeat a message (at least once); QoS 2 never does; neither skips one.
      const n = Number(text(message));
      if (qos === 1 && n < expected) continue;
      assert.equal(n, expected, `message ${expected} missing`);
      expected++;
      if (expected === 20_000) break;
    }
    assert.equal(expected, 20_000);
    assert.equal(sub.dropped, 0);
    assert.equal(subscriber.droppedCount, 0);
    // Memory is bounded by the high-water mark (Mosquitto sends past its in-flight window
    // once acks flow), not by the backlog.
    assert.ok(
      maxBuffered <= 1000,
      `the client buffered ${maxBuffered} messages (high-water mark 1000)`,
    );
    assert.deepEqual(states, [], 'the connection never dropped');
  });
}

test('a reader taking 1 ms a message, stalling past keep-alive: reading pauses, the link holds, nothing is lost', async (t) => {
  const broker = await deepQueueBroker(t);
  // Buffer 5 < the broker's window of 20: the client must stop reading the socket. While the
  // reader stalls, the PINGRESP of its 1 s keep-alive waits unread in the socket; that must
  // not count as a dead link (before this change: "no PINGRESP within 500 ms").
  const subscriber = await open(t, broker.url(), {
    subscriptionBufferSize: 5,
    keepaliveSec: 1,
    pingTimeoutMs: 500,
  });
  const states: string[] = [];
  subscriber.on('state', (s) => states.push(`${s.status} ${s.lastError?.message ?? ''}`));
  let pings = 0;
  subscriber.on('packetsend', (p) => {
    if (p.type === 'pingreq') pings++;
  });
  const sub = await subscriber.subscribe('flow/slow', { qos: 1 });
  const publisher = await open(t, broker.url(), { maxInflight: 20 });
  const count = 2000;
  const published = publishNumbered(publisher, 'flow/slow', count, 1);

  const seen = new Set<number>();
  let maxBuffered = 0;
  for await (const message of sub) {
    maxBuffered = Math.max(maxBuffered, sub.buffered);
    seen.add(Number(text(message)));
    // The reader: 1 ms a message, and once a stall of three keep-alive periods.
    await new Promise((resolve) => setTimeout(resolve, seen.size === 100 ? 3000 : 1));
    if (seen.size === count) break;
  }
  await published;
  assert.equal(seen.size, count);
  assert.ok(maxBuffered <= 5, `buffered ${maxBuffered}, high-water mark 5`);
  assert.ok(pings >= 2, `keep-alive pinged the broker while reading was paused (${pings})`);
  assert.deepEqual(states, [], 'the connection never dropped');
});

test('QoS 0 overflow is dropped, counted and reported; nothing else is lost', async (t) => {
  const broker = await deepQueueBroker(t);
  const subscriber = await open(t, broker.url(), { subscriptionBufferSize: 10 });
  const drops: DroppedMessage[] = [];
  subscriber.on('dropped', (d) => drops.push(d));
  const sub = await subscriber.subscribe([
    { topic: 'flow/zero', qos: 0 },
    { topic: 'flow/end', qos: 1 },
  ]);
  const publisher = await open(t, broker.url(), { maxInflight: 20 });
  const count = 5000;
  await publishNumbered(publisher, 'flow/zero', count, 0);
  // A QoS 1 marker after the flood (never dropped): once it arrives, every QoS 0 message
  // before it did too, or was dropped. Mosquitto keeps the order of one publisher's messages.
  await publisher.publish('flow/end', 'end', { qos: 1 });

  let received = 0;
  for await (const message of sub) {
    if (text(message) === 'end') break;
    received++;
  }
  assert.ok(subscriber.droppedCount > 0, 'a reader 5,000 messages late overflows a buffer of 10');
  assert.equal(received + subscriber.droppedCount, count, 'every message read or reported');
  assert.equal(drops.length, subscriber.droppedCount);
  assert.equal(sub.dropped, subscriber.droppedCount);
  const first = drops[0]!;
  assert.equal(first.direction, 'in');
  assert.equal(first.qos, 0);
  assert.equal(first.topic, 'flow/zero');
  assert.equal(first.error.code, MqttErrorCode.MESSAGE_DROPPED);
});

test('manual ack: a message not acked is redelivered after a reconnect (persistent session)', async (t) => {
  const broker = await startMosquitto(t);
  const proxy = await startFaultProxy(t, { targetHost: broker.host, targetPort: broker.port });
  const subscriber = await open(t, proxy.url(), {
    clientId: 'courier-manual-ack',
    clean: false,
    reconnect: { minDelayMs: 50, maxDelayMs: 100 },
  });
  const sub = await subscriber.subscribe('cmd/#', { qos: 1, ack: 'manual' });
  const publisher = await open(t, broker.url(), { maxInflight: 20 });
  await publisher.publish('cmd/valve', 'open', { qos: 1 });
  await publisher.publish('cmd/valve', 'close', { qos: 1 });

  const iterator = sub[Symbol.asyncIterator]();
  const first = (await iterator.next()).value!;
  const second = (await iterator.next()).value!;
  assert.equal(text(first), 'open');
  assert.equal(text(second), 'close');
  first.ack(); // "open" is written where it must survive; "close" is not acked.
  // A barrier: the broker answers our PUBLISH after it read the PUBACK written before it.
  await subscriber.publish('barrier', '', { qos: 1 });

  // Cut the connection: the broker never got PUBACK for "close" and sends it again.
  const reconnected = new Promise<void>((resolve) => {
    let lost = false;
    subscriber.on('state', (s) => {
      if (s.status !== 'connected') lost = true;
      else if (lost) resolve();
    });
  });
  proxy.cutAll();
  await reconnected;
  second.ack(); // the old connection's copy: its ack is owed to nobody now, and sends nothing
  await publisher.publish('cmd/valve', 'marker', { qos: 1 });
  const again: string[] = [];
  for (;;) {
    const message = (await iterator.next()).value!;
    message.ack();
    if (text(message) === 'marker') break;
    assert.equal(message.dup, true, 'a redelivery');
    again.push(text(message));
  }
  assert.deepEqual(again, ['close'], 'the un-acked message came again, the acked one did not');
  // Acked on the new connection: nothing comes again after one more cut.
  const reconnectedAgain = new Promise<void>((resolve) => {
    let lost = false;
    subscriber.on('state', (s) => {
      if (s.status !== 'connected') lost = true;
      else if (lost) resolve();
    });
  });
  await subscriber.publish('barrier', '', { qos: 1 });
  proxy.cutAll();
  await reconnectedAgain;
  await publisher.publish('cmd/valve', 'marker 2', { qos: 1 });
  const after = (await iterator.next()).value!;
  assert.equal(text(after), 'marker 2', 'nothing acked came back');
  after.ack();
});

test('acks given in any order go out in the order the messages arrived [MQTT-4.6.0-2/3]', async (t) => {
  const broker = await startFakeBroker(t);
  const [subscriber, connection] = await Promise.all([
    open(t, broker.url, { reconnect: false }),
    acceptSession(broker),
  ]);
  const subscribing = subscriber.subscribe('a/#', { qos: 2, ack: 'manual' });
  const subscribe = (await connection.next('subscribe')) as Extract<Packet, { type: 'subscribe' }>;
  connection.send({ type: 'suback', packetId: subscribe.packetId, returnCodes: [2] });
  const sub = await subscribing;
  const publish = (packetId: number, qos: 1 | 2): void =>
    connection.send({
      type: 'publish',
      topic: 'a/b',
      payload: new TextEncoder().encode(String(packetId)),
      qos,
      retain: false,
      dup: false,
      packetId,
    });
  publish(1, 1);
  publish(2, 2);
  publish(3, 1);
  const iterator = sub[Symbol.asyncIterator]();
  const messages = [
    (await iterator.next()).value!,
    (await iterator.next()).value!,
    (await iterator.next()).value!,
  ];
  const acks = (): string[] =>
    connection.received
      .filter((p) => p.type === 'puback' || p.type === 'pubrec')
      .map((p) => `${p.type}:${(p as { packetId: number }).packetId}`);
  assert.deepEqual(acks(), [], 'nothing is acknowledged before the application acks');
  messages[2]!.ack();
  messages[1]!.ack();
  // A probe written after the acks arrives after anything they would have sent (one TCP
  // stream keeps the order).
  await subscriber.publish('probe', 'x');
  await connection.next('publish');
  assert.deepEqual(acks(), [], 'later messages wait for the first');
  messages[0]!.ack();
  await connection.next('pubrec');
  await new Promise((resolve) => setImmediate(resolve));
  assert.deepEqual(acks(), ['puback:1', 'pubrec:2', 'puback:3']);
});

test('the callback style (on message, then subscribe, never iterated) does not hold acks or buffer', async (t) => {
  const broker = await deepQueueBroker(t);
  const subscriber = await open(t, broker.url());
  const got: string[] = [];
  let resolveAll!: () => void;
  const all = new Promise<void>((resolve) => {
    resolveAll = resolve;
  });
  subscriber.on('message', (m) => {
    got.push(text(m));
    if (got.length === 500) resolveAll();
  });
  const sub = await subscriber.subscribe('flow/callback', { qos: 1 });
  const publisher = await open(t, broker.url(), { maxInflight: 20 });
  // Far more than the broker's window of 20: an unread subscription holding the acks would
  // stall the stream at 20.
  await publishNumbered(publisher, 'flow/callback', 500, 1);
  await all;
  assert.equal(sub.buffered, 0, 'the listener took the messages; the subscription kept none');
});
