/**
 * MQTT 5.0 messages against a real Mosquitto 2.0 started by the test: publish properties
 * through the broker, Message Expiry of a message queued while offline, and the Topic Aliases
 * our client assigns (Mosquitto announces a Topic Alias Maximum of 10 by default).
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { MessageExpiredError, type Packet } from 'courier-mqtt';
import type { PublishPacket } from 'courier-mqtt/packet';
import { startMosquitto } from '../../../../test/helpers/mosquitto.js';
import { startFaultProxy } from '../../../../test/helpers/proxy.js';
import { openV5 as open, take, text } from './fixture.js';

test('5.0 through Mosquitto: user properties (order, duplicates), content type, correlation data, response topic, payload format', async (t) => {
  const broker = await startMosquitto(t);
  const sub = await open(t, broker.url(), { clientId: 'v5-props-sub' });
  const pub = await open(t, broker.url(), { clientId: 'v5-props-pub' });
  const s = await sub.subscribe('props5/#', { qos: 1 });
  const properties = {
    payloadFormatIndicator: 1,
    messageExpiryIntervalSec: 120,
    contentType: 'application/json',
    responseTopic: 'props5/replies/7',
    correlationData: new Uint8Array([0xde, 0xad, 0x00, 0xbe, 0xef]),
    userProperties: [
      ['b', '2'],
      ['a', '1'],
      ['b', '3'],
      ['ünï', 'çødé ✓'],
    ],
  } as const;
  await pub.publish('props5/a', '{"t":21.5}', { qos: 1, properties });
  await pub.publish('props5/b', 'plain', { qos: 1 });
  const [first, second] = await take(s, 2);
  assert.equal(first?.topic, 'props5/a');
  assert.equal(text(first!), '{"t":21.5}');
  const p = first!.properties!;
  assert.equal(p.payloadFormatIndicator, 1);
  assert.equal(p.contentType, 'application/json');
  assert.equal(p.responseTopic, 'props5/replies/7');
  assert.deepEqual([...(p.correlationData ?? [])], [0xde, 0xad, 0x00, 0xbe, 0xef]);
  assert.deepEqual(
    p.userProperties?.map(([n, v]) => [n, v]),
    properties.userProperties.map(([n, v]) => [n, v]),
  );
  // Mosquitto forwards what remains of the interval [MQTT-3.3.2-6].
  assert.ok(
    p.messageExpiryIntervalSec !== undefined &&
      p.messageExpiryIntervalSec <= 120 &&
      p.messageExpiryIntervalSec >= 118,
  );
  assert.equal(p.topicAlias, undefined);
  // A message published without properties arrives without them, but for the Subscription
  // Identifier the client gave its subscribe() call.
  assert.equal(second?.topic, 'props5/b');
  assert.deepEqual(Object.keys(second?.properties ?? {}), ['subscriptionIdentifiers']);
  assert.equal(second?.properties?.subscriptionIdentifiers?.length, 1);
});

test('5.0 through Mosquitto: a message queued offline that expires is not sent; one still valid is, with what remains', async (t) => {
  const broker = await startMosquitto(t);
  const proxy = await startFaultProxy(t, { targetHost: broker.host, targetPort: broker.port });
  const sub = await open(t, broker.url(), { clientId: 'v5-exp-sub' });
  const s = await sub.subscribe('exp5/#', { qos: 1 });
  const pub = await open(t, proxy.url(), {
    clientId: 'v5-exp-pub',
    reconnect: { minDelayMs: 20, maxDelayMs: 50, jitter: 0 },
  });
  // Offline: every connection attempt is reset until refusing stops.
  proxy.refuse(true);
  proxy.cutAll();
  for await (const state of pub.states()) if (state.status !== 'connected') break;
  const short = pub.publish('exp5/short', 'expires', {
    qos: 1,
    properties: { messageExpiryIntervalSec: 1 },
  });
  const long = pub.publish('exp5/long', 'kept', {
    qos: 1,
    properties: { messageExpiryIntervalSec: 60 },
  });
  await assert.rejects(short, (e: unknown) => e instanceof MessageExpiredError);
  assert.equal(pub.expiredCount, 1);
  proxy.refuse(false);
  await long;
  const [m] = await take(s, 1);
  // The expired message, queued first, would have arrived first.
  assert.equal(m?.topic, 'exp5/long');
  const remaining = m?.properties?.messageExpiryIntervalSec ?? 0;
  assert.ok(remaining <= 59 && remaining >= 50, `remaining ${remaining}`);
});

test('5.0 through Mosquitto: outgoing Topic Aliases within its maximum, least recently used replaced, every message delivered under its topic', async (t) => {
  const broker = await startMosquitto(t);
  const sub = await open(t, broker.url(), { clientId: 'v5-alias-sub' });
  const s = await sub.subscribe('alias5/#', { qos: 1 });
  const pub = await open(t, broker.url(), { clientId: 'v5-alias-pub' });
  const sent: PublishPacket[] = [];
  pub.on('packetsend', (p: Packet) => {
    if (p.type === 'publish') sent.push(p);
  });
  // 12 topics cycled three times: more topics than Mosquitto's 10 aliases.
  const topics = Array.from({ length: 36 }, (_, i) => `alias5/sensor/${i % 12}`);
  for (const [i, topic] of topics.entries()) {
    await pub.publish(topic, `m${i}`, { qos: (i % 2) as 0 | 1 });
  }
  const got = await take(s, topics.length);
  assert.deepEqual(
    got.map((m) => [m.topic, text(m)]),
    topics.map((topic, i) => [topic, `m${i}`]),
  );
  const aliases = sent.map((p) => p.properties?.topicAlias);
  assert.ok(
    aliases.every((a) => a !== undefined && a >= 1 && a <= 10),
    aliases.join(','),
  );
  // With LRU over a cycle longer than the map, every use redefines: full topics each time.
  assert.ok(sent.every((p) => p.topic !== ''));
  // A topic repeated at once reuses its alias with an empty topic name.
  await pub.publish('alias5/repeat', 'r1', { qos: 1 });
  await pub.publish('alias5/repeat', 'r2', { qos: 1 });
  const [r1, r2] = await take(s, 2);
  assert.deepEqual([r1?.topic, r2?.topic, text(r2!)], ['alias5/repeat', 'alias5/repeat', 'r2']);
  const last = sent.at(-1)!;
  assert.equal(last.topic, '');
  assert.equal(last.properties?.topicAlias, sent.at(-2)?.properties?.topicAlias);
  assert.doesNotMatch(broker.log(), /Topic Alias invalid|protocol error/i);
});
