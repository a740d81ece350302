/**
 * `protocolVersion: 'auto'`: MQTT 5.0 first, 3.1.1 with a server that refuses 5.0, remembered
 * per server for the life of the client. Against NATS 2.9 (its MQTT listener speaks 3.1.1
 * only and answers a level-5 CONNECT with a 3.1.1 CONNACK, return code 1), Mosquitto 2.0
 * (5.0), and the scripted broker for each way of refusing.
 */
import assert from 'node:assert/strict';
import { type TestContext, test } from 'node:test';
import {
  type Client,
  ConnectionRefusedError,
  connect,
  createClient,
  InvalidOptionError,
  UnsupportedByServerError,
} from 'courier-mqtt';
import type { ConnectPacket } from 'courier-mqtt/packet';
import { startFakeBroker } from '../../../../test/helpers/fake-broker.js';
import { startMosquitto } from '../../../../test/helpers/mosquitto.js';
import { startNats } from '../../../../test/helpers/nats.js';
import { refusal, stateWhere } from './fixture.js';

test("'auto' against NATS (3.1.1 only): falls back to 3.1.1 and works; against Mosquitto: 5.0", async (t) => {
  const nats = await startNats(t);
  const client = await connect(nats.url, {
    protocolVersion: 'auto',
    sessionExpirySec: 60,
    connectTimeoutMs: 5000,
    reconnect: { minDelayMs: 10, maxDelayMs: 50, jitter: 0 },
  });
  t.after(() => client.end({ force: true }));
  assert.equal(client.protocolVersion, 4);
  const sub = await client.subscribe('auto/nats', { qos: 1 });
  await client.publish('auto/nats', 'hello', { qos: 1 });
  const first = await sub[Symbol.asyncIterator]().next();
  assert.equal(new TextDecoder().decode(first.value?.payload), 'hello');

  const broker = await startMosquitto(t);
  const v5 = await connect(broker.url(), { protocolVersion: 'auto', reconnect: false });
  t.after(() => v5.end({ force: true }));
  assert.equal(v5.protocolVersion, 5);
});

test("'auto' with the scripted broker: CONNACK 0x01 (3.1.1 style), reason 0x84, or a close on CONNECT each fall back; the choice is kept per server", async (t) => {
  const refusals: [string, (c: Awaited<ReturnType<typeof broker.accept>>) => void][] = [
    // A 3.1.1 broker's CONNACK: two bytes, return code 1, no properties.
    ['3.1.1 CONNACK 0x01', (c) => c.socket.write(Uint8Array.of(0x20, 0x02, 0x00, 0x01))],
    [
      'reason code 0x84',
      (c) => c.send({ type: 'connack', sessionPresent: false, returnCode: 0x84 }),
    ],
    ['a close without CONNACK', (c) => c.close()],
  ];
  const broker = await startFakeBroker(t, { protocolVersion: 5 });
  for (const [name, refuse] of refusals) {
    const client = createClient(broker.url, {
      protocolVersion: 'auto',
      will: { topic: 'w/auto', payload: 'gone', properties: { willDelayIntervalSec: 5 } },
      connectTimeoutMs: 5000,
      reconnect: { minDelayMs: 10, maxDelayMs: 50, jitter: 0 },
    });
    const first = await broker.accept();
    const connect5 = (await first.next('connect')) as ConnectPacket;
    assert.equal(connect5.protocolVersion, 5, name);
    assert.deepEqual(connect5.will?.properties, { willDelayIntervalSec: 5 }, name);
    refuse(first);
    // At once, no backoff: the server said which version it speaks.
    const second = await broker.accept();
    const connect4 = (await second.next('connect')) as ConnectPacket;
    assert.equal(connect4.protocolVersion, 4, name);
    assert.equal(connect4.properties, undefined, name);
    // The Will goes along, without the properties 3.1.1 cannot carry.
    assert.deepEqual(connect4.will?.topic, 'w/auto', name);
    assert.equal(connect4.will?.properties, undefined, name);
    second.socket.write(Uint8Array.of(0x20, 0x02, 0x00, 0x00));
    await stateWhere(client, (s) => s.status === 'connected');
    assert.equal(client.protocolVersion, 4, name);
    // Lost and back: 3.1.1 straight away, remembered for this server.
    second.close();
    const third = await broker.accept();
    assert.equal(((await third.next('connect')) as ConnectPacket).protocolVersion, 4, name);
    await client.end({ force: true });
  }
});

test("'auto' does not fall back on a refusal that is not about the version", async (t) => {
  const broker = await startFakeBroker(t, { protocolVersion: 5 });
  const attempt = refusal(connect(broker.url, { protocolVersion: 'auto', reconnect: false }));
  const c = await broker.accept();
  await c.next('connect');
  c.send({ type: 'connack', sessionPresent: false, returnCode: 0x86 });
  const error = await attempt;
  assert.ok(error instanceof ConnectionRefusedError && error.returnCode === 0x86, String(error));
});

/**
 * A client with `protocolVersion: 'auto'` created (not yet connected) against NATS, which
 * answers a 5.0 CONNECT with return code 1: it falls back to 3.1.1.
 */
async function autoClientOnNats(t: TestContext): Promise<Client> {
  const nats = await startNats(t);
  const client = createClient(nats.url, {
    protocolVersion: 'auto',
    connectTimeoutMs: 5000,
    reconnect: { minDelayMs: 10, maxDelayMs: 50, jitter: 0 },
  });
  t.after(() => client.end({ force: true }));
  return client;
}

test("'auto' fallen back to 3.1.1: a subscribe with 5.0 options queued meanwhile is refused with its reason, a plain one goes through", async (t) => {
  const client = await autoClientOnNats(t);
  // Made before the first CONNACK, while 5.0 is expected: accepted and queued.
  const noLocal = client.subscribe('auto/own', { qos: 1, noLocal: true });
  const plain = client.subscribe('auto/any', { qos: 1 });
  const error = await noLocal.then(
    () => assert.fail('subscribed without noLocal'),
    (e: unknown) => e,
  );
  assert.ok(error instanceof UnsupportedByServerError, String(error));
  assert.equal(error.feature, 'mqtt-5');
  assert.match(error.message, /"auto\/own".*MQTT 5\.0 noLocal.*speaks MQTT 3\.1\.1/);
  const subscription = await plain;
  assert.equal(client.protocolVersion, 4);
  // The plain one works: its messages arrive.
  await client.publish('auto/any', 'hello', { qos: 1 });
  const first = await subscription[Symbol.asyncIterator]().next();
  assert.equal(new TextDecoder().decode(first.value!.payload), 'hello');
  assert.equal(client.state.status, 'connected');
});

test("'auto' fallen back to 3.1.1: a publish with 5.0 properties queued meanwhile is refused with its reason, later ones at call time; the connection stays up", async (t) => {
  const client = await autoClientOnNats(t);
  // Made before the first CONNACK, while 5.0 is expected: accepted and queued.
  const queued = client.publish('auto/props', 'x', {
    qos: 1,
    properties: { contentType: 'text/plain' },
  });
  const plain = client.publish('auto/props', 'y', { qos: 1 });
  const error = await queued.then(
    () => assert.fail('sent without its properties'),
    (e: unknown) => e,
  );
  assert.ok(error instanceof UnsupportedByServerError, String(error));
  assert.equal(error.feature, 'mqtt-5');
  assert.match(error.message, /MQTT 5\.0 properties.*speaks MQTT 3\.1\.1/);
  await plain;
  assert.equal(client.protocolVersion, 4);
  assert.equal(client.state.status, 'connected');
  await assert.rejects(
    client.publish('auto/props', 'z', { qos: 1, properties: { contentType: 'a' } }),
    InvalidOptionError,
  );
});
