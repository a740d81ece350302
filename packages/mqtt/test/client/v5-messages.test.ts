/**
 * MQTT 5.0 messages against a scripted broker that speaks 5.0: publish properties both ways,
 * Message Expiry of queued messages, and Topic Aliases both ways, including what a real
 * broker will not do on demand (an alias over our maximum, an unknown alias, alias 0).
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  type Client,
  connect,
  createClient,
  type DroppedMessage,
  fileStore,
  InvalidOptionError,
  type Message,
  MessageExpiredError,
  PacketTooLargeError,
  ProtocolError,
} from 'courier-mqtt';
import type { PublishPacket } from 'courier-mqtt/packet';
import {
  acceptSession,
  type FakeConnection,
  startFakeBroker,
} from '../../../../test/helpers/fake-broker.js';
import { tempDir } from '../../../../test/helpers/tmp.js';
import { acceptV5, barrier, openV5 as open, publishes, V5 } from './fake-v5.js';
import { bytes } from './fixture.js';

/** The error the client closed with. */
async function closedWith(client: Client): Promise<unknown> {
  for await (const s of client.states()) if (s.status === 'closed') return s.lastError;
  return undefined;
}

/** The next message the client's `message` event hands over. */
const nextMessage = (client: Client): Promise<Message> =>
  new Promise((resolve) => {
    const listener = (m: Message): void => {
      client.off('message', listener);
      resolve(m);
    };
    client.on('message', listener);
  });

/** Properties with Correlation Data as a plain Uint8Array (the decoder hands a Buffer view). */
function plain(properties: object | undefined): object | undefined {
  if (properties === undefined) return undefined;
  const p = properties as { correlationData?: Uint8Array };
  return p.correlationData === undefined
    ? properties
    : { ...properties, correlationData: new Uint8Array(p.correlationData) };
}

const ALL = {
  payloadFormatIndicator: 1,
  messageExpiryIntervalSec: 300,
  contentType: 'application/json; charset=utf-8',
  responseTopic: 'replies/device-7',
  correlationData: new Uint8Array([0, 1, 2, 255]),
  userProperties: [
    ['site', 'north'],
    ['tag', 'a'],
    ['tag', 'b'],
    ['', 'empty name'],
  ],
} as const;

test('publish properties reach the wire as given: user properties in order with duplicates', async (t) => {
  const broker = await startFakeBroker(t, V5);
  const { client, c } = await open(t, broker);
  await client.publish('props/out', '{"v":1}', { qos: 0, properties: ALL });
  await barrier(client, c);
  const [p] = publishes(c);
  assert.equal(p?.topic, 'props/out');
  assert.deepEqual(plain(p?.properties), {
    ...ALL,
    userProperties: ALL.userProperties.map(([n, v]) => [n, v]),
  });
});

test('publish properties are checked at call time, each refusal names its field, nothing is sent', async (t) => {
  const broker = await startFakeBroker(t, V5);
  const { client, c } = await open(t, broker);
  const bad: [unknown, string][] = [
    [{ responseTopic: 'replies/+' }, 'properties.responseTopic'],
    [{ responseTopic: '' }, 'properties.responseTopic'],
    [{ payloadFormatIndicator: 2 }, 'properties.payloadFormatIndicator'],
    [{ messageExpiryIntervalSec: -1 }, 'properties.messageExpiryIntervalSec'],
    [{ messageExpiryIntervalSec: 2 ** 32 }, 'properties.messageExpiryIntervalSec'],
    [{ messageExpiryIntervalSec: 1.5 }, 'properties.messageExpiryIntervalSec'],
    [{ contentType: 'a\u0000b' }, 'properties.contentType'],
    [{ contentType: '\ud800' }, 'properties.contentType'],
    [{ contentType: 'x'.repeat(65_536) }, 'properties.contentType'],
    [{ correlationData: 'text' }, 'properties.correlationData'],
    [{ correlationData: new Uint8Array(65_536) }, 'properties.correlationData'],
    [{ userProperties: [['only-name']] }, 'properties.userProperties[0]'],
    [{ userProperties: [['n', 7]] }, 'properties.userProperties[0][1]'],
    [{ userProperties: { a: 'b' } }, 'properties.userProperties'],
    [
      { userProperties: Array.from({ length: 4097 }, () => ['a', 'b']) },
      'properties.userProperties',
    ],
    [{ topicAlias: 3 }, 'properties.topicAlias'],
    [{ subscriptionIdentifiers: [1] }, 'properties.subscriptionIdentifiers'],
    [{ contentTyp: 'x' }, 'properties.contentTyp'],
    ['text', 'properties'],
  ];
  for (const [properties, field] of bad) {
    await assert.rejects(
      client.publish('props/bad', 'x', { properties } as never),
      (e: unknown) => e instanceof InvalidOptionError && e.field === field,
      `${JSON.stringify(properties).slice(0, 80)} → ${field}`,
    );
  }
  // Payload Format Indicator 1 promises UTF-8: a payload that is not is refused.
  await assert.rejects(
    client.publish('props/bad', new Uint8Array([0xc3, 0x28]), {
      properties: { payloadFormatIndicator: 1 },
    }),
    (e: unknown) =>
      e instanceof InvalidOptionError && e.field === 'properties.payloadFormatIndicator',
  );
  // The same bytes as unspecified data are fine.
  await client.publish('props/ok', new Uint8Array([0xc3, 0x28]), {
    properties: { payloadFormatIndicator: 0 },
  });
  await barrier(client, c);
  assert.deepEqual(
    publishes(c).map((p) => p.topic),
    ['props/ok'],
  );
});

test('properties on a 3.1.1 connection are a typed error, not silently dropped', async (t) => {
  const broker = await startFakeBroker(t);
  const pending = connect(broker.url, { reconnect: false });
  await acceptSession(broker);
  const client = await pending;
  t.after(() => client.end({ force: true }));
  await assert.rejects(
    client.publish('v4/props', 'x', { qos: 1, properties: { contentType: 'text/plain' } }),
    (e: unknown) =>
      e instanceof InvalidOptionError && e.field === 'properties' && /MQTT 3\.1\.1/.test(e.message),
  );
  assert.equal(client.pendingCount, 0);
  assert.throws(
    () => createClient(broker.url, { topicAliasMaximum: 5 }),
    (e: unknown) => e instanceof InvalidOptionError && e.field === 'topicAliasMaximum',
  );
});

test('received messages carry their properties; subscription identifiers kept', async (t) => {
  const broker = await startFakeBroker(t, V5);
  const { client, c } = await open(t, broker);
  const got = nextMessage(client);
  c.send({
    type: 'publish',
    topic: 'props/in',
    payload: bytes('hi'),
    qos: 0,
    retain: false,
    dup: false,
    properties: { ...ALL, subscriptionIdentifiers: [7, 300] },
  });
  const m = await got;
  assert.equal(m.topic, 'props/in');
  assert.deepEqual(plain(m.properties), {
    ...ALL,
    userProperties: ALL.userProperties.map(([n, v]) => [n, v]),
    subscriptionIdentifiers: [7, 300],
  });
});

test('incoming Topic Aliases are honoured within our topicAliasMaximum, announced in CONNECT', async (t) => {
  const broker = await startFakeBroker(t, V5);
  const { client, c, connect: sent } = await open(t, broker, {}, { topicAliasMaximum: 2 });
  assert.equal(sent.properties?.topicAliasMaximum, 2);
  const seen: Message[] = [];
  client.on('message', (m) => seen.push(m));
  const send = (topic: string, alias: number, payload: string, qos: 0 | 1 = 0): void =>
    c.send({
      type: 'publish',
      topic,
      payload: bytes(payload),
      qos,
      retain: false,
      dup: false,
      ...(qos === 1 ? { packetId: seen.length + 1 } : {}),
      properties: { topicAlias: alias, userProperties: [['n', payload]] },
    });
  send('room/1/temp', 1, 'a');
  send('', 1, 'b');
  send('room/2/temp', 2, 'c');
  send('', 2, 'd', 1);
  send('room/3/temp', 1, 'e'); // alias 1 redefined [MQTT-3.3.2-12]
  send('', 1, 'f');
  await c.next('puback');
  await barrier(client, c);
  assert.deepEqual(
    seen.map((m) => [m.topic, new TextDecoder().decode(m.payload)]),
    [
      ['room/1/temp', 'a'],
      ['room/1/temp', 'b'],
      ['room/2/temp', 'c'],
      ['room/2/temp', 'd'],
      ['room/3/temp', 'e'],
      ['room/3/temp', 'f'],
    ],
  );
  // The alias is resolved and removed: the application sees topics only.
  for (const m of seen) {
    assert.deepEqual(m.properties, {
      userProperties: [['n', new TextDecoder().decode(m.payload)]],
    });
  }
});

for (const [name, topic, alias, rule] of [
  ['an alias over our maximum', 'a/b', 3, 'MQTT-3.3.2-10'],
  ['an empty topic with an alias never mapped', '', 2, 'MQTT-3.3.2-12'],
] as const) {
  test(`${name} gets DISCONNECT 0x94 and a ProtocolError, never a delivery`, async (t) => {
    const broker = await startFakeBroker(t, V5);
    const { client, c } = await open(t, broker, {}, { topicAliasMaximum: 2 });
    const seen: Message[] = [];
    client.on('message', (m) => seen.push(m));
    c.send({
      type: 'publish',
      topic,
      payload: bytes('x'),
      qos: 1,
      packetId: 1,
      retain: false,
      dup: false,
      properties: { topicAlias: alias },
    });
    const disconnect = (await c.next('disconnect')) as { reasonCode?: number };
    assert.equal(disconnect.reasonCode, 0x94);
    const error = await closedWith(client);
    assert.ok(error instanceof ProtocolError, String(error));
    assert.equal(error.rule, rule);
    assert.equal(seen.length, 0);
    assert.equal(c.received.filter((p) => p.type === 'puback').length, 0);
  });
}

test('Topic Alias 0 gets DISCONNECT 0x94 and a ProtocolError, not a crash', async (t) => {
  const broker = await startFakeBroker(t, V5);
  const { client, c } = await open(t, broker, {}, { topicAliasMaximum: 2 });
  // Written by hand: our encoder refuses alias 0. PUBLISH QoS 0, topic "a/b",
  // properties [0x23 Topic Alias = 0], payload "x".
  c.socket.write(new Uint8Array([0x30, 10, 0, 3, 0x61, 0x2f, 0x62, 3, 0x23, 0, 0, 0x78]));
  const disconnect = (await c.next('disconnect')) as { reasonCode?: number };
  assert.equal(disconnect.reasonCode, 0x94);
  const error = await closedWith(client);
  assert.ok(error instanceof ProtocolError, String(error));
  assert.equal(error.rule, 'MQTT-3.3.2-8');
});

test('incoming aliases end with the connection [MQTT-3.3.2-7]', async (t) => {
  const broker = await startFakeBroker(t, V5);
  const client = createClient(broker.url, {
    ...V5,
    topicAliasMaximum: 4,
    reconnect: { minDelayMs: 10, maxDelayMs: 20, jitter: 0 },
  });
  t.after(() => client.end({ force: true }));
  const { c: first } = await acceptV5(broker);
  const seen: Message[] = [];
  client.on('message', (m) => seen.push(m));
  const alias = (c: FakeConnection, topic: string): void =>
    c.send({
      type: 'publish',
      topic,
      payload: bytes('x'),
      qos: 0,
      retain: false,
      dup: false,
      properties: { topicAlias: 1 },
    });
  alias(first, 'kept/only/here');
  await barrier(client, first);
  assert.equal(seen.length, 1);
  first.close();
  const { c: second } = await acceptV5(broker);
  alias(second, '');
  const disconnect = (await second.next('disconnect')) as { reasonCode?: number };
  assert.equal(disconnect.reasonCode, 0x94);
  assert.equal(seen.length, 1);
});

test("outgoing aliases: assigned within the broker's maximum, least recently used replaced", async (t) => {
  const broker = await startFakeBroker(t, V5);
  const { client, c } = await open(t, broker, { topicAliasMaximum: 2 });
  const ops = ['t/1', 't/1', 't/2', 't/3', 't/1', 't/3'].map((topic) =>
    client.publish(topic, 'x', { qos: 1 }),
  );
  const wire: [string, number | undefined][] = [];
  for (let i = 0; i < 6; i++) {
    const p = (await c.next('publish')) as PublishPacket;
    wire.push([p.topic, p.properties?.topicAlias]);
    c.send({ type: 'puback', packetId: p.packetId!, reasonCode: 0 });
  }
  await Promise.all(ops);
  assert.deepEqual(wire, [
    ['t/1', 1],
    ['', 1],
    ['t/2', 2],
    ['t/3', 1], // t/1 was least recently used
    ['t/1', 2], // t/2 was
    ['', 1],
  ]);
});

test('outgoing aliasing can be turned off; it is never used without a broker maximum', async (t) => {
  const broker = await startFakeBroker(t, V5);
  const { client, c } = await open(
    t,
    broker,
    { topicAliasMaximum: 5 },
    { outgoingTopicAliases: false },
  );
  await client.publish('off/1', 'x');
  await client.publish('off/1', 'x');
  const broker2 = await startFakeBroker(t, V5);
  const { client: client2, c: c2 } = await open(t, broker2);
  await client2.publish('none/1', 'x');
  await client2.publish('none/1', 'x');
  await barrier(client, c);
  await barrier(client2, c2);
  for (const p of [...publishes(c), ...publishes(c2)]) {
    assert.notEqual(p.topic, '');
    assert.equal(p.properties?.topicAlias, undefined);
  }
  assert.equal(publishes(c).length + publishes(c2).length, 4);
});

test('a DUP resend after a reconnect carries the full topic, never an alias of the old connection', async (t) => {
  const broker = await startFakeBroker(t, V5);
  const client = createClient(broker.url, {
    ...V5,
    reconnect: { minDelayMs: 10, maxDelayMs: 20, jitter: 0 },
  });
  t.after(() => client.end({ force: true }));
  const { c: first } = await acceptV5(broker, { topicAliasMaximum: 3 });
  const a = client.publish('dup/topic', 'one', { qos: 1 });
  const b = client.publish('dup/topic', 'two', { qos: 1 });
  const p1 = (await first.next('publish')) as PublishPacket;
  const p2 = (await first.next('publish')) as PublishPacket;
  assert.deepEqual([p1.topic, p2.topic, p2.properties?.topicAlias], ['dup/topic', '', 1]);
  first.close();
  const { c: second } = await acceptV5(broker, { topicAliasMaximum: 3 });
  // The early close makes the first message a poison suspect: it is resent alone, and the
  // second follows once it is answered.
  const r1 = (await second.next('publish')) as PublishPacket;
  second.send({ type: 'puback', packetId: r1.packetId!, reasonCode: 0 });
  const r2 = (await second.next('publish')) as PublishPacket;
  second.send({ type: 'puback', packetId: r2.packetId!, reasonCode: 0 });
  for (const r of [r1, r2]) {
    assert.equal(r.dup, true);
    assert.equal(r.topic, 'dup/topic');
    assert.equal(r.properties?.topicAlias, undefined);
  }
  await Promise.all([a, b]);
  // A new publish on the new connection starts a new mapping.
  await client.publish('dup/topic', 'three').catch(() => undefined);
  const p3 = (await second.next('publish')) as PublishPacket;
  assert.deepEqual([p3.topic, p3.properties?.topicAlias], ['dup/topic', 1]);
});

test('a small Maximum Packet Size counts the properties: refused before the wire', async (t) => {
  const broker = await startFakeBroker(t, V5);
  const { client, c } = await open(t, broker, { maximumPacketSizeBytes: 64 });
  const small = client.publish('mps/a', 'small', { qos: 1 });
  const ok = (await c.next('publish')) as PublishPacket;
  c.send({ type: 'puback', packetId: ok.packetId!, reasonCode: 0 });
  await small;
  await assert.rejects(
    client.publish('mps/a', 'small', {
      qos: 1,
      properties: { userProperties: [['k', 'v'.repeat(50)]] },
    }),
    (e: unknown) => e instanceof PacketTooLargeError && e.maxBytes === 64 && e.sizeBytes > 64,
  );
  await barrier(client, c);
  assert.equal(publishes(c).length, 1);
});

test('Message Expiry: a queued message that expires is failed, counted and never sent; one that waited carries what remains', async (t) => {
  const broker = await startFakeBroker(t, V5);
  const client = createClient(broker.url, { ...V5, reconnect: false, connectTimeoutMs: 20_000 });
  t.after(() => client.end({ force: true }));
  // The broker takes the TCP connection but holds its CONNACK: publishes wait in the queue.
  const c = await broker.accept();
  await c.next('connect');
  const started = performance.now();
  const short = client.publish('exp/short', 'gone', {
    qos: 1,
    properties: { messageExpiryIntervalSec: 1 },
  });
  const long = client.publish('exp/long', 'kept', {
    qos: 1,
    properties: { messageExpiryIntervalSec: 60 },
  });
  const dropped: DroppedMessage[] = [];
  client.on('dropped', (d) => dropped.push(d));
  const stored = client.publish('exp/stored', 'gone too', {
    qos: 1,
    resolveOn: 'stored',
    properties: { messageExpiryIntervalSec: 1 },
  });
  await stored;
  const error = await short.then(
    () => undefined,
    (e: unknown) => e,
  );
  assert.ok(error instanceof MessageExpiredError, String(error));
  assert.equal(error.topic, 'exp/short');
  assert.equal(error.messageExpiryIntervalSec, 1);
  assert.ok(performance.now() - started >= 1000);
  // Nobody awaits the 'stored' one any more: the dropped event reports it.
  while (dropped.length === 0) await new Promise((r) => setImmediate(r));
  assert.equal(dropped[0]?.topic, 'exp/stored');
  assert.ok(dropped[0]?.error instanceof MessageExpiredError);
  assert.equal(client.expiredCount, 2);
  c.send({ type: 'connack', sessionPresent: false, returnCode: 0 });
  const sent = (await c.next('publish')) as PublishPacket;
  assert.equal(sent.topic, 'exp/long');
  const remaining = sent.properties?.messageExpiryIntervalSec ?? 0;
  assert.ok(remaining <= 59 && remaining >= 50, `remaining ${remaining}`);
  c.send({ type: 'puback', packetId: sent.packetId!, reasonCode: 0 });
  await long;
  await barrier(client, c);
  assert.deepEqual(
    publishes(c).map((p) => p.topic),
    ['exp/long'],
  );
});

test('the file store keeps publish properties: a queued QoS 1 message survives a restart with them', async (t) => {
  const dir = await tempDir(t, 'v5-props-store-');
  const broker = await startFakeBroker(t, V5);
  const first = createClient(broker.url, {
    ...V5,
    clientId: 'props-store',
    clean: false,
    reconnect: false,
    connectTimeoutMs: 20_000,
    store: fileStore(dir),
  });
  // The broker holds its CONNACK: the publish is stored, not sent; then the client ends.
  const held = await broker.accept();
  await held.next('connect');
  await first.publish('store/props', 'payload', {
    qos: 1,
    resolveOn: 'stored',
    properties: { ...ALL, messageExpiryIntervalSec: 3600 },
  });
  await first.end({ force: true });
  const second = createClient(broker.url, {
    ...V5,
    clientId: 'props-store',
    clean: false,
    reconnect: false,
    store: fileStore(dir),
  });
  t.after(() => second.end({ force: true }));
  const c = await broker.accept();
  await c.next('connect');
  c.send({ type: 'connack', sessionPresent: false, returnCode: 0 });
  const p = (await c.next('publish')) as PublishPacket;
  assert.equal(p.topic, 'store/props');
  const { messageExpiryIntervalSec, ...rest } = p.properties ?? {};
  assert.deepEqual(plain(rest), {
    payloadFormatIndicator: 1,
    contentType: ALL.contentType,
    responseTopic: ALL.responseTopic,
    correlationData: ALL.correlationData,
    userProperties: ALL.userProperties.map(([n, v]) => [n, v]),
  });
  assert.ok(
    messageExpiryIntervalSec !== undefined &&
      messageExpiryIntervalSec <= 3600 &&
      messageExpiryIntervalSec > 3500,
  );
});
