/**
 * Interoperability scenarios against a real Mosquitto started by the test, with our client as
 * both peers (after the well-known MQTT interoperability test list). The scenarios run twice:
 * at MQTT 3.1.1 (their original names) and at MQTT 5.0 (names prefixed `5.0:`); what is
 * specific to one version (3.1's MQIsdp, 3.1.1's empty-client-id rule and return codes) runs
 * once.
 */
import assert from 'node:assert/strict';
import { connect as netConnect } from 'node:net';
import { test } from 'node:test';
import {
  type Client,
  type ClientOptions,
  ConnectionRefusedError,
  connect,
  createClient,
  InvalidTopicError,
  MqttErrorCode,
  type Subscription,
} from 'courier-mqtt';
import { encode } from 'courier-mqtt/packet';
import { startMosquitto } from '../../../../test/helpers/mosquitto.js';
import { type AfterHook, open as openClient, take, text } from './fixture.js';

/** Asserts that nothing arrives within `ms`. */
async function nothing(sub: Subscription, ms = 300): Promise<void> {
  const iterator = sub[Symbol.asyncIterator]();
  const next = await Promise.race([
    iterator.next(),
    new Promise<'quiet'>((resolve) => setTimeout(() => resolve('quiet'), ms)),
  ]);
  assert.equal(
    next,
    'quiet',
    `unexpected message: ${next === 'quiet' ? '' : JSON.stringify(next.value?.topic)}`,
  );
}

/**
 * The scenarios every protocol version must pass. `name` gives each its test name; `open`
 * connects a client speaking `version`.
 */
function scenarios(version: 4 | 5, name: (title: string) => string): void {
  const open = (t: AfterHook, url: string, options: ClientOptions = {}): Promise<Client> =>
    openClient(t, url, { protocolVersion: version, ...options });

  test(name('basic publish and subscribe at QoS 0, 1 and 2'), async (t) => {
    const broker = await startMosquitto(t);
    const sub = await open(t, broker.url(), { clientId: 'basic-sub' });
    const pub = await open(t, broker.url(), { clientId: 'basic-pub' });
    const s = await sub.subscribe('basic/#', { qos: 2 });
    assert.deepEqual(s.granted, [2]);
    for (const qos of [0, 1, 2] as const) await pub.publish(`basic/${qos}`, `q${qos}`, { qos });
    const got = await take(s, 3);
    assert.deepEqual(
      got.map((m) => [m.topic, text(m), m.qos]),
      [
        ['basic/0', 'q0', 0],
        ['basic/1', 'q1', 1],
        ['basic/2', 'q2', 2],
      ],
    );
  });

  test(name('retained messages are set, delivered to new subscribers, and cleared'), async (t) => {
    const broker = await startMosquitto(t);
    const pub = await open(t, broker.url());
    await pub.publish('PV/sunshine', 'yes', { qos: 1, retain: true });
    const late = await open(t, broker.url());
    const s = await late.subscribe('PV/#', { qos: 1 });
    const [m] = await take(s, 1);
    assert.equal(text(m!), 'yes');
    assert.equal(m!.retain, true);
    // An empty retained message clears it.
    await pub.publish('PV/sunshine', '', { qos: 1, retain: true });
    const later = await open(t, broker.url());
    const s2 = await later.subscribe('PV/#', { qos: 1 });
    await nothing(s2);
  });

  test(
    name('a persistent session queues QoS 1/2 messages while the subscriber is offline'),
    async (t) => {
      const broker = await startMosquitto(t);
      // 5.0: a session outlives its connection only with a Session Expiry Interval.
      const persist = version === 5 ? { sessionExpirySec: 300 } : {};
      const first = await open(t, broker.url(), {
        clientId: 'offline-sub',
        clean: false,
        ...persist,
      });
      await first.subscribe('queue/#', { qos: 2 });
      await first.end();
      const pub = await open(t, broker.url());
      for (let i = 0; i < 5; i++)
        await pub.publish(`queue/${i}`, String(i), { qos: (1 + (i % 2)) as 1 | 2 });
      // Queued messages follow the CONNACK at once: listen before connecting.
      const again = createClient(broker.url(), {
        clientId: 'offline-sub',
        clean: false,
        protocolVersion: version,
        ...persist,
      });
      t.after(() => again.end({ force: true }));
      const received: string[] = [];
      again.on('message', (m) => received.push(text(m)));
      for await (const state of again.states()) if (state.status === 'connected') break;
      assert.equal(again.state.sessionPresent, true);
      const deadline = Date.now() + 5000;
      while (received.length < 5 && Date.now() < deadline)
        await new Promise((r) => setTimeout(r, 20));
      assert.deepEqual(received, ['0', '1', '2', '3', '4']);
    },
  );

  test(
    name('the Will is published when a client stops answering and its keep-alive expires'),
    async (t) => {
      const broker = await startMosquitto(t);
      const watcher = await open(t, broker.url());
      const s = await watcher.subscribe('will/#', { qos: 1 });
      // A raw client that connects with a Will and a 1 s keep-alive, then goes silent (speaking
      // the version under test).
      const socket = netConnect({ host: broker.host, port: broker.port });
      t.after(() => socket.destroy());
      await new Promise((resolve) => socket.once('connect', resolve));
      socket.write(
        encode(
          {
            type: 'connect',
            protocolVersion: version,
            clientId: 'silent',
            clean: true,
            keepaliveSec: 1,
            will: {
              topic: 'will/silent',
              payload: new TextEncoder().encode('gone'),
              qos: 1,
              retain: false,
            },
          },
          version,
        ),
      );
      const connectedAt = Date.now();
      // Mosquitto 2.0 sweeps for expired keep-alives every few seconds, not the moment 1.5 × the
      // keep-alive has passed: measured here, the Will arrives 4.5 to 6.5 s after CONNECT.
      const [m] = await take(s, 1, 15_000);
      assert.ok(Date.now() - connectedAt >= 1000, 'the Will came before the keep-alive ran out');
      assert.equal(m!.topic, 'will/silent');
      assert.equal(text(m!), 'gone');
    },
  );

  test(name('a clean end() sends DISCONNECT: the Will is not published'), async (t) => {
    const broker = await startMosquitto(t);
    const watcher = await open(t, broker.url());
    const s = await watcher.subscribe('will/#', { qos: 1 });
    const client = await open(t, broker.url(), {
      will: { topic: 'will/clean', payload: 'gone', qos: 1 },
    });
    await client.end();
    assert.equal(client.state.status, 'closed');
    await nothing(s, 500);
  });

  test(
    name(
      version === 5
        ? 'overlapping subscriptions: each subscription gets the message once per matching filter'
        : 'overlapping subscriptions: each subscription gets the message once per PUBLISH',
    ),
    async (t) => {
      const broker = await startMosquitto(t);
      const client = await open(t, broker.url());
      const a = await client.subscribe(['myhome/firstFloor/+/temperature', 'myhome/#'], { qos: 1 });
      const b = await client.subscribe('myhome/+/+/temperature', { qos: 0 });
      await client.publish('myhome/firstFloor/Kitchen/temperature', '21.5', { qos: 1 });
      await client.publish('myhome/firstFloor/Kitchen/humidity', '40', { qos: 1 });
      // 5.0 lets the broker send one copy per matching subscription [MQTT-3.3.4-2], and
      // Mosquitto does: `a` holds two filters matching the temperature, so it gets a copy for
      // each (both tagged with its Subscription Identifier); never `b`'s copy.
      const temperature = 'myhome/firstFloor/Kitchen/temperature';
      const expected =
        version === 5
          ? [temperature, temperature, 'myhome/firstFloor/Kitchen/humidity']
          : [temperature, 'myhome/firstFloor/Kitchen/humidity'];
      const fromA = await take(a, expected.length);
      assert.deepEqual(
        fromA.map((m) => m.topic),
        expected,
      );
      const fromB = await take(b, 1);
      assert.equal(fromB[0]!.topic, 'myhome/firstFloor/Kitchen/temperature');
      await nothing(b);
      await nothing(a);
    },
  );

  test(name('the ACL keeps messages on forbidden topics from a subscriber'), async (t) => {
    // Mosquitto 2.0's acl_file grants the SUBSCRIBE and filters on delivery; the 0x80 SUBACK
    // path is proven against the scripted broker in fake-broker.test.ts.
    const broker = await startMosquitto(t, {
      users: { reader: 'pw', writer: 'pw' },
      allowAnonymous: false,
      acl: 'user reader\ntopic read public/#\nuser writer\ntopic write #\n',
    });
    const reader = await open(t, broker.url(), { username: 'reader', password: 'pw' });
    const writer = await open(t, broker.url(), { username: 'writer', password: 'pw' });
    const s = await reader.subscribe(['public/#', 'secret/#'], { qos: 1 });
    await writer.publish('secret/plan', 'x', { qos: 1 });
    await writer.publish('public/news', 'y', { qos: 1 });
    const [m] = await take(s, 1);
    assert.equal(m!.topic, 'public/news');
    await nothing(s);
  });

  test(name('$-topics are not matched by wildcards at the first level'), async (t) => {
    const broker = await startMosquitto(t);
    const client = await open(t, broker.url());
    const wild = await client.subscribe(['+/+', '#'], { qos: 0 });
    const sys = await client.subscribe('$SYS/broker/version', { qos: 0 });
    const [m] = await take(sys, 1);
    assert.match(text(m!), /mosquitto/);
    await nothing(wild, 300);
  });

  test(name('unsubscribe stops delivery and ends the subscription'), async (t) => {
    const broker = await startMosquitto(t);
    const client = await open(t, broker.url());
    const s = await client.subscribe('u/1', { qos: 1 });
    await client.publish('u/1', 'before', { qos: 1 });
    assert.equal(text((await take(s, 1))[0]!), 'before');
    await client.unsubscribe('u/1');
    await client.publish('u/1', 'after', { qos: 1 });
    const rest = await take(s, 1, 500);
    assert.deepEqual(rest, []); // the iterator ended, nothing after UNSUBACK
  });

  test(name('a zero-length client id is accepted with a clean session'), async (t) => {
    const broker = await startMosquitto(t);
    const client = await open(t, broker.url(), { clientId: '', clean: true });
    assert.equal(client.state.status, 'connected');
    await client.publish('z', 'x', { qos: 1 });
  });

  test(
    name('invalid topics, QoS and filters are rejected before the wire; the connection stays up'),
    async (t) => {
      const broker = await startMosquitto(t);
      const client = await open(t, broker.url());
      const sent: string[] = [];
      client.on('packetsend', (p) => sent.push(p.type));
      await assert.rejects(client.publish('a/+/b', 'x'), InvalidTopicError);
      await assert.rejects(client.publish('', 'x'), InvalidTopicError);
      await assert.rejects(client.publish('a', 'x', { qos: 3 as 0 }), {
        code: MqttErrorCode.INVALID_OPTION,
      });
      await assert.rejects(client.subscribe('a/#/b'), InvalidTopicError);
      await assert.rejects(client.subscribe('a+'), InvalidTopicError);
      assert.deepEqual(sent, []);
      assert.equal(client.state.status, 'connected');
      await client.publish('a', 'fine', { qos: 1 });
    },
  );
}

scenarios(4, (title) => title);
scenarios(5, (title) => `5.0: ${title}`);

test('a zero-length client id with a persistent session is rejected before anything is sent', async () => {
  await assert.rejects(
    connect('mqtt://127.0.0.1:1', { clientId: '', clean: false }),
    (e: unknown) =>
      (e as { code?: string }).code === MqttErrorCode.INVALID_OPTION &&
      /MQTT-3.1.3-7/.test(String(e)),
  );
});

test('user name and password: accepted, and CONNACK 5 / 4 become ConnectionRefusedError', async (t) => {
  const broker = await startMosquitto(t, {
    allowAnonymous: false,
    users: { device: 's3cret-pass' },
  });
  const ok = await openClient(t, broker.url(), { username: 'device', password: 's3cret-pass' });
  assert.equal(ok.state.status, 'connected');
  for (const options of [{ username: 'device', password: 'wrong-pass' }, {}]) {
    const error = await connect(broker.url(), { reconnect: false, ...options }).then(
      () => assert.fail('connected with bad credentials'),
      (e: unknown) => e,
    );
    assert.ok(error instanceof ConnectionRefusedError, String(error));
    assert.ok([4, 5].includes(error.returnCode));
    assert.match(error.message, /bad user name or password|not authorized/);
    assert.doesNotMatch(`${String(error)} ${JSON.stringify(error)}`, /wrong-pass|s3cret/);
  }
});

test('MQTT 3.1 (MQIsdp) connects too', async (t) => {
  const broker = await startMosquitto(t);
  const client = await openClient(t, broker.url(), { protocolVersion: 3, clientId: 'old-device' });
  const s = await client.subscribe('v3', { qos: 1 });
  await client.publish('v3', 'hello', { qos: 2 });
  assert.equal(text((await take(s, 1))[0]!), 'hello');
});
