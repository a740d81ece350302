/**
 * MQTT 5.0 subscriptions against a real Mosquitto 2.0 started by the test: No Local, Retain
 * Handling, Retain As Published, Subscription Identifiers routing each message to exactly its
 * subscriptions, and shared subscriptions (also at 3.1.1, which Mosquitto accepts).
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { type Client, InvalidOptionError, type Packet, type Subscription } from 'courier-mqtt';
import type { PublishPacket, SubscribePacket } from 'courier-mqtt/packet';
import { startMosquitto } from '../../../../test/helpers/mosquitto.js';
import { openV5 as open, take, text } from './fixture.js';

/**
 * Waits until the broker has delivered everything published before this call to `client`:
 * a marker message published by `client` to a topic only it listens on comes back after
 * them (Mosquitto delivers in order on one connection). Returns the subscriptions' buffered
 * counts at that moment, so that "nothing else arrived" is checked without a sleep.
 */
async function settle(client: Client, subs: readonly Subscription[]): Promise<number[]> {
  const marker = `settle/${Math.random().toString(36).slice(2)}`;
  const s = await client.subscribe(marker, { qos: 1 });
  await client.publish(marker, 'x', { qos: 1 });
  await take(s, 1);
  await s.unsubscribe();
  return subs.map((sub) => sub.buffered);
}

test('5.0 No Local: our own publications are not sent back; others still are', async (t) => {
  const broker = await startMosquitto(t);
  const a = await open(t, broker.url());
  const b = await open(t, broker.url());
  const own = await a.subscribe('nl/x', { qos: 1, noLocal: true });
  const control = await b.subscribe('nl/x', { qos: 1 });
  await a.publish('nl/x', 'from a', { qos: 1 });
  await b.publish('nl/x', 'from b', { qos: 1 });
  assert.deepEqual((await take(control, 2)).map(text), ['from a', 'from b']);
  assert.deepEqual((await take(own, 1)).map(text), ['from b']);
  assert.deepEqual(await settle(a, [own]), [0]);
});

test('5.0 Subscription Identifiers: overlapping filters of two calls, one with No Local, each get exactly their messages', async (t) => {
  const broker = await startMosquitto(t);
  const a = await open(t, broker.url());
  const b = await open(t, broker.url());
  const received: PublishPacket[] = [];
  a.on('packetreceive', (p: Packet) => {
    if (p.type === 'publish' && p.topic.startsWith('ov/')) received.push(p);
  });
  const sent: SubscribePacket[] = [];
  a.on('packetsend', (p: Packet) => {
    if (p.type === 'subscribe') sent.push(p);
  });
  const wide = await a.subscribe('ov/#', { qos: 1, noLocal: true });
  const narrow = await a.subscribe('ov/+', { qos: 1 });
  const [wideId, narrowId] = sent.map((p) => p.properties?.subscriptionIdentifier);
  assert.ok(wideId !== undefined && narrowId !== undefined && wideId !== narrowId);
  // Our own message matches both filters; only the one without No Local takes it.
  await a.publish('ov/own', 'own', { qos: 1 });
  // Another client's message matches both: each subscription gets it exactly once, whether
  // the broker sends one copy with both identifiers or one copy per subscription.
  await b.publish('ov/other', 'other', { qos: 1 });
  // Matches only the wide filter.
  await b.publish('ov/deep/er', 'deep', { qos: 1 });
  assert.deepEqual((await take(narrow, 2)).map(text), ['own', 'other']);
  assert.deepEqual((await take(wide, 2)).map(text), ['other', 'deep']);
  assert.deepEqual(await settle(a, [wide, narrow]), [0, 0]);
  // The broker did tag them: the routing above was by identifier.
  const own = received.find((p) => p.topic === 'ov/own');
  assert.deepEqual(own?.properties?.subscriptionIdentifiers, [narrowId]);
  const ids = received
    .filter((p) => p.topic === 'ov/other')
    .flatMap((p) => p.properties?.subscriptionIdentifiers ?? [])
    .sort();
  assert.deepEqual(ids, [wideId, narrowId].sort());
});

test('5.0 Retain Handling 0, 1 and 2', async (t) => {
  const broker = await startMosquitto(t);
  const pub = await open(t, broker.url());
  await pub.publish('rh/x', 'kept', { qos: 1, retain: true });
  const c = await open(t, broker.url());
  // 0: retained messages at every subscribe, new or not.
  const first0 = await c.subscribe('rh/x', { qos: 1, retainHandling: 0 });
  assert.deepEqual(
    (await take(first0, 1)).map((m) => [text(m), m.retain]),
    [['kept', true]],
  );
  const again0 = await c.subscribe('rh/x', { qos: 1, retainHandling: 0 });
  assert.deepEqual((await take(again0, 1)).map(text), ['kept']);
  // 1: only when the subscription is new.
  const new1 = await c.subscribe('rh/+', { qos: 1, retainHandling: 1 });
  assert.deepEqual((await take(new1, 1)).map(text), ['kept']);
  const old1 = await c.subscribe('rh/+', { qos: 1, retainHandling: 1 });
  // 2: never.
  const never2 = await c.subscribe('rh/#', { qos: 1, retainHandling: 2 });
  assert.deepEqual(await settle(c, [old1, never2]), [0, 0]);
  // Live messages still arrive on both.
  await pub.publish('rh/x', 'live', { qos: 1 });
  assert.deepEqual((await take(never2, 1)).map(text), ['live']);
  assert.deepEqual((await take(old1, 1)).map(text), ['live']);
});

test('5.0 Retain As Published: the RETAIN flag is kept on live messages only when asked', async (t) => {
  const broker = await startMosquitto(t);
  const pub = await open(t, broker.url());
  const plain = await (await open(t, broker.url())).subscribe('rap/x', { qos: 1 });
  const kept = await (await open(t, broker.url())).subscribe('rap/x', {
    qos: 1,
    retainAsPublished: true,
  });
  await pub.publish('rap/x', 'r', { qos: 1, retain: true });
  await pub.publish('rap/x', 'n', { qos: 1 });
  // [MQTT-3.3.1-12] Without it the broker clears RETAIN on messages it forwards live.
  assert.deepEqual(
    (await take(plain, 2)).map((m) => [text(m), m.retain]),
    [
      ['r', false],
      ['n', false],
    ],
  );
  assert.deepEqual(
    (await take(kept, 2)).map((m) => [text(m), m.retain]),
    [
      ['r', true],
      ['n', false],
    ],
  );
});

for (const version of [5, 4] as const) {
  const label = version === 5 ? '5.0' : '3.1.1';
  test(`${label} shared subscription: two clients in one group share the messages, each delivered once`, async (t) => {
    const broker = await startMosquitto(t);
    const workers = [
      await open(t, broker.url(), { protocolVersion: version }),
      await open(t, broker.url(), { protocolVersion: version }),
    ];
    const subs = await Promise.all(
      workers.map((w) => w.subscribe('$share/pool/jobs/#', { qos: 1 })),
    );
    const pub = await open(t, broker.url(), { protocolVersion: version });
    const total = 20;
    for (let i = 0; i < total; i++) await pub.publish(`jobs/${i}`, String(i), { qos: 1 });
    // Each published message reaches exactly one worker: read until all 20 are in.
    const got: string[][] = [[], []];
    const readers = subs.map(async (s, w) => {
      for await (const m of s) {
        got[w]!.push(text(m));
        if (got[0]!.length + got[1]!.length === total) break;
      }
    });
    let timer: ReturnType<typeof setTimeout> | undefined;
    await Promise.race([
      Promise.any(readers),
      new Promise((_, reject) => {
        timer = setTimeout(() => reject(new Error(`got ${JSON.stringify(got)}`)), 5000);
      }),
    ]);
    clearTimeout(timer);
    const all = [...got[0]!, ...got[1]!].map(Number).sort((x, y) => x - y);
    assert.deepEqual(
      all,
      Array.from({ length: total }, (_, i) => i),
    );
    assert.ok(got[0]!.length > 0 && got[1]!.length > 0, `shared: ${JSON.stringify(got)}`);
    // Dispatched on the filter part: the message topic is `jobs/<n>`, never `$share/...`.
    assert.ok(subs.every((s) => s.granted[0] === 1));
  });
}

test('3.1.1: subscription options are refused before anything is sent', async (t) => {
  const broker = await startMosquitto(t);
  const client = await open(t, broker.url(), { protocolVersion: 4 });
  const sent: string[] = [];
  client.on('packetsend', (p) => sent.push(p.type));
  for (const options of [
    { noLocal: true },
    { retainAsPublished: true },
    { retainHandling: 2 },
    { userProperties: [['a', 'b']] },
  ] as const) {
    await assert.rejects(
      client.subscribe('x', options),
      (e: unknown) =>
        e instanceof InvalidOptionError &&
        e.field === Object.keys(options)[0] &&
        /MQTT 5\.0/.test(e.message),
    );
  }
  assert.deepEqual(sent, []);
});
