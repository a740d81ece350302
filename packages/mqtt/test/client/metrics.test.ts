/**
 * The client's counters and its packet trace, checked against what a scripted broker saw on
 * the wire: packets and bytes by type in both directions, PINGREQ round trip, reconnects and
 * the last error, queue gauges, dropped QoS 0, store syncs; and the trace hook with one packet
 * of every type, secrets masked.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type TestContext, test } from 'node:test';
import {
  type Client,
  type ClientMetrics,
  type ClientOptions,
  createClient,
  fileStore,
  type PacketType,
  QueueFullError,
  redactPacket,
} from 'courier-mqtt';
import { encode, type Packet, type ProtocolVersion } from 'courier-mqtt/packet';
import {
  acceptSession,
  type FakeBroker,
  type FakeConnection,
  startFakeBroker,
} from '../../../../test/helpers/fake-broker.js';

const TYPES: readonly PacketType[] = [
  'connect',
  'connack',
  'publish',
  'puback',
  'pubrec',
  'pubrel',
  'pubcomp',
  'subscribe',
  'suback',
  'unsubscribe',
  'unsuback',
  'pingreq',
  'pingresp',
  'disconnect',
  'auth',
];

const PASSWORD = 's3cret-pass';
const AUTH_DATA = 'client-final-proof';
const bytes = (s: string): Uint8Array => new TextEncoder().encode(s);

/** Resolves on the next packet of `type` the client receives. */
function received(client: Client, type: PacketType): Promise<void> {
  return new Promise((resolve) => {
    const on = (packet: Packet): void => {
      if (packet.type !== type) return;
      client.off('packetreceive', on);
      resolve();
    };
    client.on('packetreceive', on);
  });
}

/**
 * One connection that exchanges every packet type a client sends and receives (but AUTH and
 * the closing DISCONNECT): SUBSCRIBE, PUBLISH at QoS 0/1/2 both ways with their acks,
 * UNSUBSCRIBE, and a PINGREQ answered.
 */
async function converse(
  t: TestContext,
  version: ProtocolVersion,
  options: ClientOptions = {},
): Promise<{ client: Client; conn: FakeConnection; broker: FakeBroker }> {
  const broker = await startFakeBroker(t, { protocolVersion: version });
  const client = createClient(broker.url, {
    clientId: 'metrics-1',
    username: 'device',
    password: PASSWORD,
    keepaliveSec: 1,
    // The PINGREQ may come at any point of the exchange; it is answered at the end.
    pingTimeoutMs: 30_000,
    reconnect: false,
    protocolVersion: version,
    ...options,
  });
  t.after(() => client.end({ force: true }));
  const conn = await broker.accept();
  await conn.next('connect');
  conn.send({ type: 'connack', sessionPresent: false, returnCode: 0 });

  const subscribing = client.subscribe('in/#', { qos: 2 });
  const sub = (await conn.next('subscribe')) as Extract<Packet, { type: 'subscribe' }>;
  conn.send({ type: 'suback', packetId: sub.packetId, returnCodes: [2] });
  const subscription = await subscribing;

  await client.publish('out/0', 'zero', { qos: 0 });
  await conn.next('publish');
  const one = client.publish('out/1', 'one', { qos: 1 });
  const p1 = (await conn.next('publish')) as Extract<Packet, { type: 'publish' }>;
  conn.send({ type: 'puback', packetId: p1.packetId! });
  await one;
  const two = client.publish('out/2', 'two', { qos: 2 });
  const p2 = (await conn.next('publish')) as Extract<Packet, { type: 'publish' }>;
  conn.send({ type: 'pubrec', packetId: p2.packetId! });
  await conn.next('pubrel');
  conn.send({ type: 'pubcomp', packetId: p2.packetId! });
  await two;

  // Read as they come: a QoS 1/2 message is acknowledged once its reader took it.
  const iterator = subscription[Symbol.asyncIterator]();
  const topic = (r: IteratorResult<{ topic: string }>): string =>
    r.done === true ? '' : r.value.topic;
  const payload = bytes('incoming');
  const first = iterator.next();
  conn.send({
    type: 'publish',
    topic: 'in/1',
    payload,
    qos: 1,
    retain: false,
    dup: false,
    packetId: 7,
  });
  assert.equal(topic(await first), 'in/1');
  await conn.next('puback');
  const second = iterator.next();
  conn.send({
    type: 'publish',
    topic: 'in/2',
    payload,
    qos: 2,
    retain: false,
    dup: false,
    packetId: 8,
  });
  assert.equal(topic(await second), 'in/2');
  await conn.next('pubrec');
  conn.send({ type: 'pubrel', packetId: 8 });
  await conn.next('pubcomp');

  const unsubscribing = client.unsubscribe('in/#');
  const unsub = (await conn.next('unsubscribe')) as Extract<Packet, { type: 'unsubscribe' }>;
  conn.send(
    version === 5
      ? { type: 'unsuback', packetId: unsub.packetId, reasonCodes: [0] }
      : { type: 'unsuback', packetId: unsub.packetId },
  );
  await unsubscribing;

  // Keep-alive 1 s: the client has pinged by now, or will.
  const pong = received(client, 'pingresp');
  await conn.next('pingreq', 5000);
  conn.send({ type: 'pingresp' });
  await pong;
  return { client, conn, broker };
}

/** Every counter of `m` against the packets and bytes the broker saw. */
function checkAgainstWire(
  m: ClientMetrics,
  conns: readonly FakeConnection[],
  version: ProtocolVersion,
): void {
  const wireIn = conns.flatMap((c) => c.received);
  const wireOut = conns.flatMap((c) => c.sent);
  const count = (list: readonly Packet[], type: PacketType): number =>
    list.filter((p) => p.type === type).length;
  const size = (list: readonly Packet[], type: PacketType): number =>
    list.filter((p) => p.type === type).reduce((n, p) => n + encode(p, version).length, 0);
  for (const type of TYPES) {
    assert.equal(m.packetsOut[type], count(wireIn, type), `packets out: ${type}`);
    assert.equal(m.packetsIn[type], count(wireOut, type), `packets in: ${type}`);
    assert.equal(m.bytesOut[type], size(wireIn, type), `bytes out: ${type}`);
    assert.equal(m.bytesIn[type], size(wireOut, type), `bytes in: ${type}`);
  }
  // And in total, the bytes the broker's socket read and wrote.
  const sum = (c: Readonly<Record<PacketType, number>>): number =>
    TYPES.reduce((n, type) => n + c[type], 0);
  assert.equal(
    sum(m.bytesOut),
    conns.reduce((n, c) => n + c.bytesReceived, 0),
  );
  assert.equal(
    sum(m.bytesIn),
    conns.reduce((n, c) => n + c.bytesSent, 0),
  );
}

test('the counters match what the broker saw on the wire, packet type by packet type (3.1.1)', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'courier-metrics-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const store = fileStore(dir);
  const { client, conn } = await converse(t, 4, { store });
  const live = client.metrics();
  assert.equal(live.inflight, 0);
  assert.equal(live.queued, 0);
  assert.equal(live.pings, 1);
  assert.ok(live.pingRttMs !== undefined && live.pingRttMs >= 0, `pingRttMs ${live.pingRttMs}`);
  assert.equal(live.connectAttempts, 1);
  assert.equal(live.connects, 1);
  assert.equal(live.reconnects, 0);
  assert.equal(live.lastError, undefined);
  // The QoS 1 and 2 publishes went through the file store: its syncs are counted and timed.
  assert.ok(live.store !== undefined && live.store.syncs > 0, JSON.stringify(live.store));
  assert.ok(live.store.syncMsMax > 0 && live.store.syncMsTotal >= live.store.syncMsMax);

  const ended = client.end();
  await conn.next('disconnect');
  await ended;
  const m = client.metrics();
  assert.equal(m.packetsOut.disconnect, 1);
  checkAgainstWire(m, [conn], 4);
  // The snapshot is a copy: later traffic does not change it.
  assert.equal(live.packetsOut.disconnect, 0);
});

test('the trace sees one packet of every type, the password and AUTH data masked (5.0)', async (t) => {
  const traced: ['in' | 'out', Packet][] = [];
  const { client, conn, broker } = await converse(t, 5, {
    trace: (direction, packet) => traced.push([direction, packet]),
    reconnect: { minDelayMs: 10, maxDelayMs: 10, jitter: 0 },
  });
  // An AUTH the client never asked for: traced as it arrived, then the session drops the
  // connection; the DISCONNECT of the end goes out on the next one.
  const authSeen = received(client, 'auth');
  conn.send({
    type: 'auth',
    reasonCode: 0x18,
    properties: { authenticationMethod: 'SCRAM-SHA-256', authenticationData: bytes(AUTH_DATA) },
  });
  await authSeen;
  const again = await acceptSession(broker);
  for await (const state of client.states()) if (state.status === 'connected') break;
  const ended = client.end();
  await again.next('disconnect');
  await ended;

  const seen = (direction: 'in' | 'out'): Set<PacketType> =>
    new Set(traced.filter(([d]) => d === direction).map(([, p]) => p.type));
  assert.deepEqual(
    [...seen('out')].sort(),
    [
      'connect',
      'disconnect',
      'pingreq',
      'puback',
      'pubcomp',
      'publish',
      'pubrec',
      'pubrel',
      'subscribe',
      'unsubscribe',
    ].sort(),
  );
  assert.deepEqual(
    [...seen('in')].sort(),
    [
      'auth',
      'connack',
      'pingresp',
      'puback',
      'pubcomp',
      'publish',
      'pubrec',
      'pubrel',
      'suback',
      'unsuback',
    ].sort(),
  );
  // The trace is in wire order: what the broker received, in the same order.
  assert.deepEqual(
    traced.filter(([d]) => d === 'out').map(([, p]) => p.type),
    [...conn.received, ...again.received].map((p) => p.type),
  );

  const connect = traced.find(([, p]) => p.type === 'connect')![1] as Extract<
    Packet,
    { type: 'connect' }
  >;
  assert.equal(new TextDecoder().decode(connect.password), '***');
  assert.equal(connect.username, 'device');
  const auth = traced.find(([, p]) => p.type === 'auth')![1] as Extract<Packet, { type: 'auth' }>;
  assert.equal(new TextDecoder().decode(auth.properties?.authenticationData), '***');
  assert.equal(auth.properties?.authenticationMethod, 'SCRAM-SHA-256');
  const everything = traced.map(([, p]) => Buffer.from(encode(p, 5)).toString('latin1')).join('');
  assert.ok(!everything.includes(PASSWORD), 'the password reached the trace');
  assert.ok(!everything.includes(AUTH_DATA), 'the AUTH data reached the trace');
  // Masking copies: the broker got the real password.
  const wire = conn.received[0] as Extract<Packet, { type: 'connect' }>;
  assert.equal(new TextDecoder().decode(wire.password), PASSWORD);
  // The 5.0 counters agree with the wire too, AUTH included.
  const m = client.metrics();
  assert.equal(m.packetsIn.auth, 1);
  checkAgainstWire(m, [conn, again], 5);
  assert.equal(m.reconnects, 1);
  assert.ok(m.lastError !== undefined);
});

test('redactPacket masks CONNECT and CONNACK authentication data and leaves other packets alone', () => {
  const connect: Packet = {
    type: 'connect',
    protocolVersion: 5,
    clientId: 'c',
    clean: true,
    keepaliveSec: 0,
    properties: { authenticationMethod: 'X', authenticationData: bytes('secret') },
  };
  const masked = redactPacket(connect) as typeof connect;
  assert.equal(new TextDecoder().decode(masked.properties?.authenticationData), '***');
  assert.equal(masked.password, undefined);
  const connack: Packet = {
    type: 'connack',
    sessionPresent: false,
    returnCode: 0,
    properties: { authenticationMethod: 'X', authenticationData: bytes('server-final') },
  };
  const ack = redactPacket(connack) as typeof connack;
  assert.equal(new TextDecoder().decode(ack.properties?.authenticationData), '***');
  const publish: Packet = {
    type: 'publish',
    topic: 't',
    payload: bytes('p'),
    qos: 0,
    retain: false,
    dup: false,
  };
  assert.equal(redactPacket(publish), publish);
});

test('reconnects, the last error, the queue gauges and dropped QoS 0 are counted', async (t) => {
  const broker = await startFakeBroker(t);
  const client = createClient(broker.url, {
    clientId: 'metrics-2',
    reconnect: { minDelayMs: 10, maxDelayMs: 10, jitter: 0 },
    offlineQueue: { maxMessages: 1, policy: 'drop-oldest-qos0' },
    subscriptionBufferSize: 1,
  });
  t.after(() => client.end({ force: true }));
  const first = await acceptSession(broker);
  const offline = (async () => {
    for await (const state of client.states()) if (state.status === 'reconnect-wait') return;
  })();
  first.close();
  await offline;
  const dropped = client.publish('q/0', 'a', { qos: 0 });
  const kept = client.publish('q/0', 'bc', { qos: 0 });
  await assert.rejects(dropped, (e) => e instanceof QueueFullError && e.outcome === 'dropped');
  let m = client.metrics();
  assert.equal(m.queued, 1);
  assert.equal(m.queuedBytes, 2);
  assert.equal(m.droppedQos0Out, 1);
  assert.equal(m.lastError?.name, 'ConnectionLostError');

  const second = await acceptSession(broker);
  await second.next('publish');
  await kept;
  // Incoming QoS 0 over a full subscription buffer (1 message, nobody reading) is dropped.
  const subscribing = client.subscribe('in/#', { qos: 0 });
  const sub = (await second.next('subscribe')) as Extract<Packet, { type: 'subscribe' }>;
  second.send({ type: 'suback', packetId: sub.packetId, returnCodes: [0] });
  await subscribing;
  const twoDrops = new Promise<void>((resolve) => {
    let n = 0;
    client.on('dropped', () => {
      if (++n === 2) resolve();
    });
  });
  for (let i = 0; i < 3; i++) {
    second.send({
      type: 'publish',
      topic: 'in/x',
      payload: bytes(`${i}`),
      qos: 0,
      retain: false,
      dup: false,
    });
  }
  await twoDrops;
  m = client.metrics();
  assert.equal(m.connectAttempts, 2);
  assert.equal(m.reconnects, 1);
  assert.equal(m.connects, 2);
  assert.equal(m.queued, 0);
  assert.equal(m.droppedQos0In, 2);
  assert.equal(m.dropped, 2);
  assert.equal(m.packetsIn.publish, 3);
});
