/**
 * Session behaviour against a scripted fake broker: what a real broker won't do on demand.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  type Client,
  type ClientOptions,
  ConnectionRefusedError,
  connect,
  createClient,
  type Message,
  MqttErrorCode,
} from 'courier-mqtt';
import type { PublishPacket } from 'courier-mqtt/packet';
import { acceptSession, startFakeBroker } from '../../../../test/helpers/fake-broker.js';
import { refusal } from './fixture.js';

const bytes = (s: string): Uint8Array => new TextEncoder().encode(s);

function client(
  t: { after(fn: () => unknown): void },
  url: string,
  options: ClientOptions = {},
): Client {
  const c = createClient(url, {
    clientId: 'fake-1',
    clean: false,
    reconnect: { minDelayMs: 20, maxDelayMs: 50, jitter: 0 },
    connectTimeoutMs: 2000,
    ...options,
  });
  t.after(() => c.end({ force: true }));
  return c;
}

test('a dropped PUBACK: the message is resent after reconnect with DUP and the same packet id', async (t) => {
  const broker = await startFakeBroker(t);
  const c = client(t, broker.url);
  const first = await acceptSession(broker);
  const done = c.publish('a/b', 'payload', { qos: 1 });
  const original = (await first.next('publish')) as PublishPacket;
  assert.equal(original.dup, false);
  first.close(); // the PUBACK never comes
  const second = await acceptSession(broker, true);
  const resent = (await second.next('publish')) as PublishPacket;
  assert.equal(resent.dup, true);
  assert.equal(resent.packetId, original.packetId);
  assert.equal(Buffer.from(resent.payload).toString(), 'payload');
  second.send({ type: 'puback', packetId: resent.packetId! });
  await done;
});

test('resend order after reconnect: PUBLISH and PUBREL in original order, before new messages', async (t) => {
  const broker = await startFakeBroker(t);
  const c = client(t, broker.url);
  const first = await acceptSession(broker);
  const p1 = c.publish('t/1', '1', { qos: 1 });
  const p2 = c.publish('t/2', '2', { qos: 2 });
  const p3 = c.publish('t/3', '3', { qos: 2 });
  const a = (await first.next('publish')) as PublishPacket;
  const b = (await first.next('publish')) as PublishPacket;
  await first.next('publish');
  first.send({ type: 'pubrec', packetId: b.packetId! });
  await first.next('pubrel');
  first.close();
  for await (const s of c.states()) if (s.status !== 'connected') break;
  const p4 = c.publish('t/4', '4', { qos: 1 }); // accepted while offline
  const second = await acceptSession(broker, true);
  // The server closed the first connection right after t/1: t/1 is probed alone with a
  // PINGREQ (poison-message detection); the answer releases the rest.
  await second.next('pingreq');
  second.send({ type: 'pingresp' });
  // Waits for the four packets the client owes after CONNECT, not for a guessed time.
  const owed = (): number => second.received.filter((p) => p.type !== 'pingreq').length;
  for (let i = 0; i < 1000 && owed() < 5; i++) {
    await new Promise((r) => setTimeout(r, 10));
  }
  const order = second.received
    .slice(1)
    .filter((p) => p.type !== 'pingreq')
    .map((p) =>
      p.type === 'publish'
        ? `publish ${p.topic} dup=${p.dup}`
        : `${p.type} ${'packetId' in p ? p.packetId : ''}`,
    );
  assert.deepEqual(order, [
    `publish t/1 dup=true`,
    `pubrel ${b.packetId}`,
    `publish t/3 dup=true`,
    `publish t/4 dup=false`,
  ]);
  for (const p of second.received.slice(1)) {
    if (p.type === 'publish' && p.qos === 1) second.send({ type: 'puback', packetId: p.packetId! });
    if (p.type === 'publish' && p.qos === 2) second.send({ type: 'pubrec', packetId: p.packetId! });
    if (p.type === 'pubrel') second.send({ type: 'pubcomp', packetId: p.packetId });
  }
  const rel3 = await second.next('pubrel');
  const rel3b = await second.next('pubrel');
  second.send({ type: 'pubcomp', packetId: (rel3b as { packetId: number }).packetId });
  assert.ok(rel3);
  await Promise.all([p1, p2, p3, p4]);
  assert.equal(a.topic, 't/1');
});

test('a duplicate QoS 2 PUBLISH is delivered once; an unexpected PUBREL gets PUBCOMP', async (t) => {
  const broker = await startFakeBroker(t);
  const c = client(t, broker.url);
  const got: Message[] = [];
  c.on('message', (m) => got.push(m));
  const conn = await acceptSession(broker);
  const p: PublishPacket = {
    type: 'publish',
    topic: 'x',
    payload: bytes('once'),
    qos: 2,
    retain: false,
    dup: false,
    packetId: 9,
  };
  conn.send(p);
  conn.send({ ...p, dup: true });
  await conn.next('pubrec');
  await conn.next('pubrec');
  conn.send({ type: 'pubrel', packetId: 9 });
  assert.deepEqual(await conn.next('pubcomp'), { type: 'pubcomp', packetId: 9 });
  conn.send({ type: 'pubrel', packetId: 77 });
  assert.deepEqual(await conn.next('pubcomp'), { type: 'pubcomp', packetId: 77 });
  assert.equal(got.length, 1);
});

test('a refused CONNACK rejects connect() with ConnectionRefusedError in words', async (t) => {
  const broker = await startFakeBroker(t);
  const pending = connect(broker.url, { reconnect: false, clientId: 'bad id' });
  const conn = await broker.accept();
  await conn.next('connect');
  conn.send({ type: 'connack', sessionPresent: false, returnCode: 2 });
  const error = await refusal(pending);
  assert.ok(error instanceof ConnectionRefusedError);
  assert.equal(error.returnCode, 2);
  assert.match(error.message, /identifier rejected/);
});

test('a refused CONNACK is retried with backoff, never at full speed', async (t) => {
  const broker = await startFakeBroker(t);
  const c = createClient(broker.url, {
    reconnect: { minDelayMs: 100, maxDelayMs: 400, jitter: 0 },
  });
  t.after(() => c.end({ force: true }));
  const times: number[] = [];
  for (let i = 0; i < 4; i++) {
    const conn = await broker.accept(3000);
    await conn.next('connect');
    times.push(Date.now());
    conn.send({ type: 'connack', sessionPresent: false, returnCode: 5 });
  }
  const gaps = times.slice(1).map((t2, i) => t2 - times[i]!);
  assert.ok(gaps[0]! >= 90, `first retry after ${gaps[0]} ms`);
  assert.ok(gaps[1]! >= 190, `second retry after ${gaps[1]} ms`);
  assert.ok(gaps[2]! >= 390, `third retry after ${gaps[2]} ms`);
  assert.equal(c.state.lastError?.code, MqttErrorCode.CONNECTION_REFUSED);
});

test('silence after PINGREQ: the link is declared dead, closed with a clear reason, and reopened', async (t) => {
  const broker = await startFakeBroker(t);
  const c = client(t, broker.url, { keepaliveSec: 1, pingTimeoutMs: 500 });
  const first = await acceptSession(broker);
  await first.next('pingreq', 3000); // and never answer
  const second = await acceptSession(broker, true);
  assert.ok(second);
  assert.equal(c.state.lastError?.code, MqttErrorCode.KEEPALIVE_TIMEOUT);
  assert.match(c.state.lastError!.message, /no PINGRESP within 500 ms/);
});

test('SUBACK 0x80 is a per-filter failure the caller sees in granted', async (t) => {
  const broker = await startFakeBroker(t);
  const c = client(t, broker.url);
  const conn = await acceptSession(broker);
  const pending = c.subscribe(['ok/#', 'denied/#'], { qos: 1 });
  const sub = (await conn.next('subscribe')) as { packetId: number };
  conn.send({ type: 'suback', packetId: sub.packetId, returnCodes: [1, 0x80] });
  const s = await pending;
  assert.deepEqual(s.granted, [1, 0x80]);
});

test('subscriptions are restored after reconnect when the broker lost the session, not when it kept it', async (t) => {
  const broker = await startFakeBroker(t);
  const c = client(t, broker.url);
  const first = await acceptSession(broker);
  const pending = c.subscribe('keep/#', { qos: 1 });
  const sub = (await first.next('subscribe')) as { packetId: number };
  first.send({ type: 'suback', packetId: sub.packetId, returnCodes: [1] });
  await pending;
  first.close();
  const kept = await acceptSession(broker, true);
  await new Promise((r) => setTimeout(r, 150));
  assert.deepEqual(
    kept.received.map((p) => p.type),
    ['connect'],
  );
  kept.close();
  const lost = await acceptSession(broker, false);
  const again = (await lost.next('subscribe')) as { subscriptions: unknown };
  assert.deepEqual(again.subscriptions, [{ topic: 'keep/#', qos: 1 }]);
});

test('a packet before CONNACK is a protocol error', async (t) => {
  const broker = await startFakeBroker(t);
  const pending = connect(broker.url, { reconnect: false });
  const conn = await broker.accept();
  await conn.next('connect');
  conn.send({ type: 'pingresp' });
  await assert.rejects(pending, { code: MqttErrorCode.PROTOCOL });
});

test('no CONNACK within the connect timeout', async (t) => {
  const broker = await startFakeBroker(t);
  const started = Date.now();
  await assert.rejects(connect(broker.url, { reconnect: false, connectTimeoutMs: 300 }), {
    code: MqttErrorCode.CONNECT_TIMEOUT,
  });
  assert.ok(Date.now() - started < 2000);
});
