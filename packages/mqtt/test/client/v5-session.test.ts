/**
 * MQTT 5.0 in the session and the client, against a scripted broker that speaks 5.0: what
 * a real broker will not do on demand (announce a Receive Maximum of 3, a tiny Maximum
 * Packet Size, no retain, refuse with a given reason code, assign an id).
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  ConnectionRefusedError,
  connect,
  createClient,
  MqttErrorCode,
  PacketTooLargeError,
  ProtocolError,
  PublishRejectedError,
  ServerDisconnectError,
  UnsupportedByServerError,
} from 'courier-mqtt';
import type { PublishPacket } from 'courier-mqtt/packet';
import { startFakeBroker } from '../../../../test/helpers/fake-broker.js';
import { acceptV5, barrier, openV5 as open, publishes, V5 } from './fake-v5.js';
import { refusal } from './fixture.js';

test('CONNECT at 5.0 carries our properties: session expiry, receive maximum, our packet size, user properties', async (t) => {
  const broker = await startFakeBroker(t, V5);
  const { connect: packet } = await open(
    t,
    broker,
    {},
    {
      clean: false,
      clientId: 'v5-props',
      sessionExpirySec: 3600,
      receiveMaximum: 7,
      maxPacketSize: 65536,
      requestResponseInformation: true,
      userProperties: [['site', 'north']],
    },
  );
  assert.equal(packet.protocolVersion, 5);
  assert.equal(packet.clean, false);
  assert.deepEqual(packet.properties, {
    sessionExpiryIntervalSec: 3600,
    receiveMaximum: 7,
    maximumPacketSizeBytes: 65536,
    requestResponseInformation: true,
    userProperties: [['site', 'north']],
  });
});

test('a 5.0 CONNACK refusal is a ConnectionRefusedError with the reason in words; permanent only where a retry cannot help', async (t) => {
  const broker = await startFakeBroker(t, V5);
  const cases: [number, RegExp, boolean][] = [
    [0x86, /Bad User Name or Password \(CONNACK reason code 0x86\): go away/, true],
    [0x87, /Not authorized/, true],
    [0x8a, /Banned/, true],
    [0x89, /Server busy/, false],
    [0x88, /Server unavailable/, false],
    [0x9f, /Connection rate exceeded/, false],
  ];
  for (const [code, words, permanent] of cases) {
    const attempt = connect(broker.url, { ...V5, reconnect: false, connectTimeoutMs: 5000 });
    await acceptV5(broker, { reasonString: 'go away' }, code);
    const error = await refusal(attempt);
    assert.ok(error instanceof ConnectionRefusedError, String(error));
    assert.equal(error.returnCode, code);
    assert.match(error.message, words);
    assert.equal(error.reasonString, 'go away');
    assert.equal(error.permanent, permanent, `0x${code.toString(16)}`);
  }
});

test('a 3.1.1 broker answering a 5.0 CONNECT with return code 1 is an unacceptable protocol version', async (t) => {
  const broker = await startFakeBroker(t, V5);
  const attempt = connect(broker.url, { ...V5, reconnect: false, connectTimeoutMs: 5000 });
  const c = await broker.accept();
  await c.next('connect');
  // A 3.1.1 CONNACK: two bytes, no properties.
  c.socket.write(Uint8Array.of(0x20, 0x02, 0x00, 0x01));
  const error = await refusal(attempt);
  assert.ok(error instanceof ConnectionRefusedError, String(error));
  assert.match(error.message, /unacceptable protocol version/);
  assert.equal(error.permanent, true);
});

test('an Assigned Client Identifier is adopted: client.clientId, and the next CONNECT uses it', async (t) => {
  const broker = await startFakeBroker(t, V5);
  const client = createClient(broker.url, {
    ...V5,
    clientId: '',
    clean: false,
    sessionExpirySec: 600,
    reconnect: { minDelayMs: 10, maxDelayMs: 10, jitter: 0 },
  });
  t.after(() => client.end({ force: true }));
  const first = await acceptV5(broker, { assignedClientIdentifier: 'auto-42' });
  assert.equal(first.connect.clientId, '');
  for await (const s of client.states()) if (s.status === 'connected') break;
  assert.equal(client.clientId, 'auto-42');
  first.c.close();
  const second = await acceptV5(broker);
  assert.equal(second.connect.clientId, 'auto-42');
});

test("Receive Maximum is honoured when sending: the broker's 3 caps the window, counted on the wire", async (t) => {
  const broker = await startFakeBroker(t, V5);
  const { client, c } = await open(t, broker, { receiveMaximum: 3 }, { maxInflight: 100 });
  const done = Array.from({ length: 10 }, (_, n) => client.publish('rm/t', String(n), { qos: 1 }));
  await barrier(client, c);
  // Before the fix all ten went out at once: maxInflight is 100.
  assert.equal(publishes(c).length, 3);
  let maxOutstanding = 0;
  for (let acked = 0; acked < 10; acked++) {
    const p = (await c.next('publish')) as PublishPacket;
    maxOutstanding = Math.max(maxOutstanding, publishes(c).length - acked);
    c.send({ type: 'puback', packetId: p.packetId!, reasonCode: 0 });
  }
  await Promise.all(done);
  assert.equal(publishes(c).length, 10);
  assert.ok(maxOutstanding <= 3, `up to ${maxOutstanding} unacknowledged`);
});

test("a publish over the broker's Maximum Packet Size is refused before the wire", async (t) => {
  const broker = await startFakeBroker(t, V5);
  const { client, c } = await open(t, broker, { maximumPacketSizeBytes: 100 });
  const error = await client.publish('mps/t', new Uint8Array(200), { qos: 1 }).then(
    () => assert.fail('published'),
    (e: unknown) => e,
  );
  assert.ok(error instanceof PacketTooLargeError, String(error));
  assert.equal(error.maxBytes, 100);
  // Exactly at the limit still goes: 1 + 1 + (2 + 5 + 2 + 1 + 88) = 100 bytes.
  const fits = client.publish('mps/t', new Uint8Array(88), { qos: 1 });
  const p = (await c.next('publish')) as PublishPacket;
  c.send({ type: 'puback', packetId: p.packetId!, reasonCode: 0 });
  await fits;
  await barrier(client, c);
  assert.equal(publishes(c).length, 1);
  assert.equal(client.pendingCount, 0);
  assert.equal(client.state.status, 'connected');
});

test('Maximum QoS, Retain Available, wildcard and shared subscriptions: refused with a typed error, never downgraded', async (t) => {
  const broker = await startFakeBroker(t, V5);
  const { client, c } = await open(t, broker, {
    maximumQos: 1,
    retainAvailable: false,
    wildcardSubscriptionAvailable: false,
    sharedSubscriptionAvailable: false,
  });
  const refused = async (run: () => Promise<unknown>, feature: string): Promise<void> => {
    const error = await run().then(
      () => assert.fail(`${feature} went through`),
      (e: unknown) => e,
    );
    assert.ok(error instanceof UnsupportedByServerError, String(error));
    assert.equal(error.code, MqttErrorCode.NOT_SUPPORTED_BY_SERVER);
    assert.equal(error.feature, feature);
  };
  await refused(() => client.publish('q/t', 'x', { qos: 2 }), 'maximum-qos');
  await refused(() => client.publish('q/t', 'x', { qos: 0, retain: true }), 'retain');
  await refused(() => client.subscribe('a/+'), 'wildcard-subscriptions');
  await refused(() => client.subscribe('a/#'), 'wildcard-subscriptions');
  await refused(() => client.subscribe('$share/g/a'), 'shared-subscriptions');
  await barrier(client, c);
  // Nothing of it reached the broker; QoS 1 still goes.
  assert.equal(publishes(c).length, 0);
  assert.deepEqual(
    c.received.filter((p) => p.type === 'subscribe').length,
    1,
    'only the barrier SUBSCRIBE',
  );
  const ok = client.publish('q/t', 'x', { qos: 1 });
  const p = (await c.next('publish')) as PublishPacket;
  assert.equal(p.qos, 1);
  c.send({ type: 'puback', packetId: p.packetId!, reasonCode: 0 });
  await ok;
});

test("the broker's Server Keep Alive replaces ours", async (t) => {
  const broker = await startFakeBroker(t, V5);
  const { c } = await open(t, broker, { serverKeepAliveSec: 1 }, { keepaliveSec: 600 });
  // With our 600 s no PINGREQ would come for ten minutes.
  await c.next('pingreq', 5000);
});

test('PUBACK 0x87 rejects that publish with its reason; it is not retried and leaves the store', async (t) => {
  const broker = await startFakeBroker(t, V5);
  const client = createClient(broker.url, {
    ...V5,
    clientId: 'v5-rejected',
    clean: false,
    sessionExpirySec: 60,
    reconnect: { minDelayMs: 10, maxDelayMs: 10, jitter: 0 },
  });
  t.after(() => client.end({ force: true }));
  const { c } = await acceptV5(broker);
  const rejected = client.publish('acl/denied', 'x', { qos: 1 });
  const allowed = client.publish('acl/allowed', 'y', { qos: 1 });
  const p1 = (await c.next('publish')) as PublishPacket;
  const p2 = (await c.next('publish')) as PublishPacket;
  c.send({
    type: 'puback',
    packetId: p1.packetId!,
    reasonCode: 0x87,
    properties: { reasonString: 'no write access' },
  });
  const error = await rejected.then(
    () => assert.fail('published'),
    (e: unknown) => e,
  );
  assert.ok(error instanceof PublishRejectedError, String(error));
  assert.equal(error.code, MqttErrorCode.PUBLISH_REJECTED);
  assert.equal(error.reasonCode, 0x87);
  assert.equal(error.reasonString, 'no write access');
  assert.match(error.message, /Not authorized/);
  assert.equal(client.pendingCount, 1);
  // The next connection resends only the message still in flight.
  c.close();
  const again = await acceptV5(broker);
  const resent = (await again.c.next('publish')) as PublishPacket;
  assert.equal(resent.topic, 'acl/allowed');
  assert.equal(resent.packetId, p2.packetId);
  again.c.send({ type: 'puback', packetId: resent.packetId!, reasonCode: 0x10 });
  await allowed;
  await barrier(client, again.c);
  assert.equal(publishes(again.c).length, 1);
});

test('PUBREC 0x97 ends a QoS 2 flow with the typed error: no PUBREL follows', async (t) => {
  const broker = await startFakeBroker(t, V5);
  const { client, c } = await open(t, broker);
  const rejected = client.publish('quota/t', 'x', { qos: 2 });
  const p = (await c.next('publish')) as PublishPacket;
  c.send({ type: 'pubrec', packetId: p.packetId!, reasonCode: 0x97 });
  const error = await rejected.then(
    () => assert.fail('published'),
    (e: unknown) => e,
  );
  assert.ok(error instanceof PublishRejectedError, String(error));
  assert.equal(error.reasonCode, 0x97);
  await barrier(client, c);
  assert.equal(c.received.filter((x) => x.type === 'pubrel').length, 0);
  assert.equal(client.pendingCount, 0);
});

test('SUBACK reason codes are reported per filter; a refused filter delivers nothing', async (t) => {
  const broker = await startFakeBroker(t, V5);
  const { client, c } = await open(t, broker);
  const pending = client.subscribe([
    { topic: 'ok/t', qos: 1 },
    { topic: 'denied/t', qos: 1 },
  ]);
  const sub = (await c.next('subscribe')) as { packetId: number };
  c.send({ type: 'suback', packetId: sub.packetId, returnCodes: [1, 0x87] });
  const subscription = await pending;
  assert.deepEqual(subscription.granted, [1, 0x87]);
  const payload = new Uint8Array(0);
  c.send({ type: 'publish', topic: 'denied/t', payload, qos: 0, retain: false, dup: false });
  c.send({ type: 'publish', topic: 'ok/t', payload, qos: 0, retain: false, dup: false });
  const first = await subscription[Symbol.asyncIterator]().next();
  assert.equal(first.value?.topic, 'ok/t');
});

test('a server DISCONNECT is state.lastError, a typed error with its reason code and string', async (t) => {
  const broker = await startFakeBroker(t, V5);
  const client = createClient(broker.url, { ...V5, reconnect: false, connectTimeoutMs: 5000 });
  t.after(() => client.end({ force: true }));
  const { c } = await acceptV5(broker);
  for await (const s of client.states()) if (s.status === 'connected') break;
  c.send({
    type: 'disconnect',
    reasonCode: 0x8b,
    properties: { reasonString: 'maintenance' },
  });
  for await (const s of client.states()) {
    if (s.status !== 'closed') continue;
    assert.ok(s.lastError instanceof ServerDisconnectError, String(s.lastError));
    assert.equal(s.lastError.reasonCode, 0x8b);
    assert.equal(s.lastError.reasonString, 'maintenance');
    assert.match(s.lastError.message, /Server shutting down/);
    break;
  }
});

for (const [packet, code] of [
  ['DISCONNECT', 0x9c],
  ['CONNACK', 0x9d],
] as const) {
  test(`${packet} 0x${code.toString(16)} with a Server Reference: the next attempt goes to that server`, async (t) => {
    const first = await startFakeBroker(t, V5);
    const other = await startFakeBroker(t, V5);
    const client = createClient(first.url, {
      ...V5,
      reconnect: { minDelayMs: 10, maxDelayMs: 10, jitter: 0 },
    });
    t.after(() => client.end({ force: true }));
    const properties = { serverReference: `127.0.0.1:${other.port} 127.0.0.1:1` };
    if (packet === 'DISCONNECT') {
      const { c } = await acceptV5(first);
      for await (const s of client.states()) if (s.status === 'connected') break;
      c.send({ type: 'disconnect', reasonCode: code, properties });
    } else {
      await acceptV5(first, properties, code);
    }
    const { connect: moved } = await acceptV5(other);
    assert.equal(moved.protocolVersion, 5);
    for await (const s of client.states()) {
      if (s.status !== 'connected') continue;
      assert.equal(s.server, `mqtt://127.0.0.1:${other.port}`);
      break;
    }
  });
}

test('a broker overrunning our Receive Maximum gets DISCONNECT 0x93 and the client a typed error', async (t) => {
  const broker = await startFakeBroker(t, V5);
  const { client, c } = await open(t, broker, {}, { receiveMaximum: 2 });
  const pending = client.subscribe('rm/#', { qos: 2, ack: 'manual' });
  const sub = (await c.next('subscribe')) as { packetId: number };
  c.send({ type: 'suback', packetId: sub.packetId, returnCodes: [2] });
  await pending;
  const payload = new Uint8Array(1);
  const publish = (packetId: number, qos: 1 | 2): void =>
    c.send({ type: 'publish', topic: 'rm/t', payload, qos, retain: false, dup: false, packetId });
  publish(1, 1);
  publish(2, 2);
  // A redelivery of an id we hold is not one more.
  c.send({
    type: 'publish',
    topic: 'rm/t',
    payload,
    qos: 2,
    retain: false,
    dup: true,
    packetId: 2,
  });
  publish(3, 1);
  const disconnect = (await c.next('disconnect')) as { reasonCode?: number };
  assert.equal(disconnect.reasonCode, 0x93);
  for await (const s of client.states()) {
    if (s.status !== 'closed') continue;
    assert.ok(s.lastError instanceof ProtocolError, String(s.lastError));
    assert.equal(s.lastError.rule, 'MQTT-3.3.4-9');
    assert.match(s.lastError.message, /Receive Maximum of 2/);
    break;
  }
});

test('a Topic Alias from the broker, which we never allowed, gets DISCONNECT 0x94 and a typed error, not a crash', async (t) => {
  const broker = await startFakeBroker(t, V5);
  const { client, c } = await open(t, broker);
  c.send({
    type: 'publish',
    topic: '',
    payload: new Uint8Array(1),
    qos: 0,
    retain: false,
    dup: false,
    properties: { topicAlias: 1 },
  });
  const disconnect = (await c.next('disconnect')) as { reasonCode?: number };
  assert.equal(disconnect.reasonCode, 0x94);
  for await (const s of client.states()) {
    if (s.status !== 'closed') continue;
    assert.ok(s.lastError instanceof ProtocolError, String(s.lastError));
    assert.equal(s.lastError.rule, 'MQTT-3.3.2-10');
    break;
  }
});
