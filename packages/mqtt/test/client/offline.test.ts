/**
 * The offline queue, flush() and end(): bounded memory while disconnected, order kept, a
 * typed error when full, and a clean end that waits for what is in flight.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { createClient, type Message, MqttErrorCode } from 'courier-mqtt';
import type { PublishPacket } from 'courier-mqtt/packet';
import { acceptSession, startFakeBroker } from '../../../../test/helpers/fake-broker.js';
import { startMosquitto } from '../../../../test/helpers/mosquitto.js';
import { freePort } from '../../../../test/helpers/ports.js';

const retry = { minDelayMs: 20, maxDelayMs: 100, jitter: 0 };

test('publishes made while disconnected are queued and sent in order after connecting', async (t) => {
  const port = await freePort();
  const client = createClient(`mqtt://127.0.0.1:${port}`, {
    clientId: 'offline-1',
    reconnect: retry,
  });
  t.after(() => client.end({ force: true }));
  const done = [0, 1, 2, 3, 4, 5].map((i) =>
    client.publish(`q/${i}`, String(i), { qos: (i % 3) as 0 | 1 | 2 }),
  );
  await new Promise((r) => setTimeout(r, 100));
  assert.notEqual(client.state.status, 'connected');
  assert.equal(client.pendingCount, 6);
  // The broker appears on the port the client keeps trying.
  const broker = await startMosquitto(t, { listeners: [{ port }] });
  const watcher = createClient(broker.url());
  t.after(() => watcher.end({ force: true }));
  const got: Message[] = [];
  watcher.on('message', (m) => got.push(m));
  for await (const s of watcher.states()) if (s.status === 'connected') break;
  await watcher.subscribe('q/#', { qos: 2 });
  await Promise.all(done);
  assert.equal(client.pendingCount, 0);
  assert.ok(client.state.status === 'connected');
});

test('a full offline queue rejects new publishes with QUEUE_FULL (policy reject)', async (t) => {
  const port = await freePort();
  const client = createClient(`mqtt://127.0.0.1:${port}`, {
    reconnect: retry,
    offlineQueue: { maxMessages: 3, maxBytes: 1000, policy: 'reject' },
  });
  t.after(() => client.end({ force: true }));
  const kept = [1, 2, 3].map((i) => client.publish('q', String(i), { qos: 1 }));
  for (const p of kept) p.catch(() => undefined);
  await assert.rejects(client.publish('q', '4', { qos: 1 }), (e: unknown) => {
    assert.equal((e as { code?: string }).code, MqttErrorCode.QUEUE_FULL);
    assert.match(String(e), /offline queue full \(3 messages/);
    return true;
  });
  // Bytes bound too.
  const bytesClient = createClient(`mqtt://127.0.0.1:${port}`, {
    reconnect: retry,
    offlineQueue: { maxMessages: 100, maxBytes: 10 },
  });
  t.after(() => bytesClient.end({ force: true }));
  const first = bytesClient.publish('q', '12345678', { qos: 1 });
  first.catch(() => undefined);
  await assert.rejects(bytesClient.publish('q', '12345', { qos: 1 }), {
    code: MqttErrorCode.QUEUE_FULL,
  });
  assert.equal(client.pendingCount, 3);
});

test('policy drop-oldest-qos0 makes room by dropping the oldest QoS 0 message only', async (t) => {
  const broker = await startFakeBroker(t);
  const client = createClient(broker.url, {
    clientId: 'drop-1',
    reconnect: retry,
    offlineQueue: { maxMessages: 3, policy: 'drop-oldest-qos0' },
  });
  t.after(() => client.end({ force: true }));
  // Not connected yet: the fake broker has not answered CONNECT.
  const a = client.publish('q/a', 'a', { qos: 0 });
  const b = client.publish('q/b', 'b', { qos: 1 });
  const c = client.publish('q/c', 'c', { qos: 0 });
  const d = client.publish('q/d', 'd', { qos: 1 }); // drops a
  await assert.rejects(a, { code: MqttErrorCode.QUEUE_FULL });
  const e = client.publish('q/e', 'e', { qos: 1 }); // drops c
  await assert.rejects(c, { code: MqttErrorCode.QUEUE_FULL });
  // Only QoS 1 messages left: a new one is refused rather than dropping a QoS 1.
  await assert.rejects(client.publish('q/f', 'f', { qos: 1 }), { code: MqttErrorCode.QUEUE_FULL });
  const conn = await acceptSession(broker);
  const sent: string[] = [];
  for (let i = 0; i < 3; i++) {
    const p = (await conn.next('publish')) as PublishPacket;
    sent.push(p.topic);
    conn.send({ type: 'puback', packetId: p.packetId! });
  }
  assert.deepEqual(sent, ['q/b', 'q/d', 'q/e']);
  await Promise.all([b, d, e]);
});

test('flush() resolves once everything accepted has completed; end() waits for in-flight messages', async (t) => {
  const broker = await startFakeBroker(t);
  const client = createClient(broker.url, { clientId: 'flush-1', reconnect: retry });
  const conn = await acceptSession(broker);
  for await (const s of client.states()) if (s.status === 'connected') break;
  const published = client.publish('f/1', 'x', { qos: 1 });
  const flushed = client.flush();
  let isFlushed = false;
  void flushed.then(() => {
    isFlushed = true;
  });
  const p = (await conn.next('publish')) as PublishPacket;
  await new Promise((r) => setTimeout(r, 50));
  assert.equal(isFlushed, false);
  conn.send({ type: 'puback', packetId: p.packetId! });
  await Promise.all([published, flushed]);
  // end() with a message in flight: it waits for the PUBACK, then sends DISCONNECT.
  const late = client.publish('f/2', 'y', { qos: 1 });
  const q = (await conn.next('publish')) as PublishPacket;
  const ending = client.end({ timeoutMs: 2000 });
  await new Promise((r) => setTimeout(r, 50));
  assert.equal(client.state.status, 'disconnecting');
  conn.send({ type: 'puback', packetId: q.packetId! });
  await Promise.all([late, ending]);
  await conn.next('disconnect');
  assert.equal(client.state.status, 'closed');
  await assert.rejects(client.publish('f/3', 'z'), { code: MqttErrorCode.CLIENT_CLOSED });
});

test('end() gives up waiting after its timeout and rejects what is still pending', async (t) => {
  const broker = await startFakeBroker(t);
  const client = createClient(broker.url, { clientId: 'end-1', reconnect: retry });
  const conn = await acceptSession(broker);
  for await (const s of client.states()) if (s.status === 'connected') break;
  const stuck = client.publish('e/1', 'x', { qos: 1 });
  await conn.next('publish'); // never acknowledged
  const started = Date.now();
  await client.end({ timeoutMs: 200 });
  assert.ok(Date.now() - started >= 190);
  await assert.rejects(stuck, { code: MqttErrorCode.CLIENT_CLOSED });
});
