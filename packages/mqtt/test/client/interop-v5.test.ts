/**
 * MQTT 5.0 interoperability against a real Mosquitto 2.0 started by the test (it accepts
 * 5.0 on a normal listener), with our client as both peers.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  ConnectionRefusedError,
  connect,
  createClient,
  type Packet,
  PublishRejectedError,
} from 'courier-mqtt';
import { startMosquitto } from '../../../../test/helpers/mosquitto.js';
import { openV5 as open, refusal, take, text } from './fixture.js';

test('5.0: publish and subscribe at QoS 0, 1 and 2, CONNECT and CONNACK at protocol level 5', async (t) => {
  const broker = await startMosquitto(t);
  const sub = await open(t, broker.url(), { clientId: 'v5-basic-sub' });
  const pub = await open(t, broker.url(), { clientId: 'v5-basic-pub' });
  const s = await sub.subscribe('basic5/#', { qos: 2 });
  assert.deepEqual(s.granted, [2]);
  for (const qos of [0, 1, 2] as const) await pub.publish(`basic5/${qos}`, `q${qos}`, { qos });
  const got = await take(s, 3);
  assert.deepEqual(
    got.map((m) => [m.topic, text(m), m.qos]),
    [
      ['basic5/0', 'q0', 0],
      ['basic5/1', 'q1', 1],
      ['basic5/2', 'q2', 2],
    ],
  );
});

test('5.0: an empty client id gets the id Mosquitto assigns, exposed as client.clientId', async (t) => {
  const broker = await startMosquitto(t);
  const client = await open(t, broker.url(), { clientId: '' });
  assert.match(client.clientId, /^auto-/);
});

test('5.0: bad credentials are refused with the 5.0 reason code in words, permanent', async (t) => {
  const broker = await startMosquitto(t, { allowAnonymous: false, users: { device: 'pw-ok' } });
  await open(t, broker.url(), { username: 'device', password: 'pw-ok' });
  const error = await refusal(
    connect(broker.url(), {
      protocolVersion: 5,
      reconnect: false,
      username: 'device',
      password: 'pw-wrong',
    }),
  );
  assert.ok(error instanceof ConnectionRefusedError, String(error));
  // Mosquitto 2.0 answers 0x87 Not authorized where 0x86 would be more precise.
  assert.ok([0x86, 0x87].includes(error.returnCode), String(error.returnCode));
  assert.match(error.message, /Bad User Name or Password|Not authorized/);
  assert.doesNotMatch(error.message, /pw-wrong/);
  assert.equal(error.permanent, true);
});

test('5.0: a publish the ACL forbids is rejected with PUBACK 0x87, not retried', async (t) => {
  const broker = await startMosquitto(t, {
    allowAnonymous: false,
    users: { device: 'pw' },
    acl: 'user device\ntopic write allowed/#\n',
  });
  const client = await open(t, broker.url(), { username: 'device', password: 'pw' });
  const sent: Packet[] = [];
  client.on('packetsend', (p) => sent.push(p));
  const error = await client.publish('denied/t', 'x', { qos: 1 }).then(
    () => assert.fail('published'),
    (e: unknown) => e,
  );
  assert.ok(error instanceof PublishRejectedError, String(error));
  assert.equal(error.reasonCode, 0x87);
  await client.publish('allowed/t', 'y', { qos: 1 });
  assert.equal(sent.filter((p) => p.type === 'publish').length, 2);
  assert.equal(client.pendingCount, 0);
});

test('5.0: with sessionExpirySec the session outlives the connection; without it, it does not', async (t) => {
  const broker = await startMosquitto(t);
  for (const [sessionExpirySec, kept] of [
    [300, true],
    [0, false],
  ] as const) {
    const clientId = `v5-expiry-${sessionExpirySec}`;
    const first = await open(t, broker.url(), { clientId, clean: false, sessionExpirySec });
    await first.subscribe('expiry5/#', { qos: 1 });
    await first.end();
    const pub = await open(t, broker.url());
    await pub.publish('expiry5/a', 'queued', { qos: 1 });
    const again = createClient(broker.url(), {
      protocolVersion: 5,
      clientId,
      clean: false,
      sessionExpirySec,
    });
    t.after(() => again.end({ force: true }));
    const received: string[] = [];
    again.on('message', (m) => received.push(text(m)));
    for await (const state of again.states()) if (state.status === 'connected') break;
    assert.equal(again.state.sessionPresent, kept, `sessionExpirySec ${sessionExpirySec}`);
    if (kept) {
      const deadline = Date.now() + 5000;
      while (received.length < 1 && Date.now() < deadline) {
        await new Promise((r) => setTimeout(r, 20));
      }
      assert.deepEqual(received, ['queued']);
    }
  }
});
