/**
 * MQTT 5.0 DISCONNECT from the client, `end({ reasonCode, properties })`, against a real
 * Mosquitto 2.0: 0x04 (Disconnect with Will Message) makes the broker publish the Will, a
 * Session Expiry Interval of 0 ends a persistent session, and a bad option is refused with
 * the client left running.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { InvalidOptionError, type Message, type Packet } from 'courier-mqtt';
import { startMosquitto } from '../../../../test/helpers/mosquitto.js';
import { open, openV5, text } from './fixture.js';

const field = (name: string) => (e: unknown) => e instanceof InvalidOptionError && e.field === name;

test('end({ reasonCode: 0x04 }) makes the broker publish the Will, with our reason and properties on the wire; a plain end() does not', async (t) => {
  const broker = await startMosquitto(t);
  const watcher = await openV5(t, broker.url());
  const seen: Message[] = [];
  let arrived: () => void = () => {};
  const loudWill = new Promise<void>((resolve) => {
    arrived = resolve;
  });
  watcher.on('message', (m) => {
    seen.push(m);
    if (m.topic === 'dw/loud') arrived();
  });
  await watcher.subscribe('dw/#', { qos: 1 });

  const will = (topic: string) => ({ topic, payload: 'offline', qos: 1 as const });
  const quiet = await openV5(t, broker.url(), { clientId: 'dw-quiet', will: will('dw/quiet') });
  await quiet.end();
  const loud = await openV5(t, broker.url(), { clientId: 'dw-loud', will: will('dw/loud') });
  const sent: Packet[] = [];
  loud.on('packetsend', (p: Packet) => sent.push(p));
  await loud.end({
    reasonCode: 0x04,
    properties: { reasonString: 'shutting down', userProperties: [['why', 'maintenance']] },
  });
  // Bounded, so a broker that keeps the Will fails the test instead of hanging it.
  let timer: ReturnType<typeof setTimeout> | undefined;
  await Promise.race([
    loudWill,
    new Promise((_, reject) => {
      timer = setTimeout(
        () => reject(new Error('no Will after end({ reasonCode: 0x04 })')),
        10_000,
      );
    }),
  ]);
  clearTimeout(timer);
  // The broker handles the two ends in order: a Will of the quiet one would have come first.
  assert.deepEqual(
    seen.map((m) => `${m.topic} ${text(m)}`),
    ['dw/loud offline'],
  );
  assert.deepEqual(
    sent.filter((p) => p.type === 'disconnect'),
    [
      {
        type: 'disconnect',
        reasonCode: 0x04,
        properties: { reasonString: 'shutting down', userProperties: [['why', 'maintenance']] },
      },
    ],
  );
});

test('end() with a Session Expiry Interval of 0 ends a persistent session; a plain end() keeps it', async (t) => {
  const broker = await startMosquitto(t);
  const options = { clientId: 'dse', clean: false, sessionExpirySec: 300 };
  const first = await openV5(t, broker.url(), options);
  await first.subscribe('dse/x', { qos: 1 });
  await first.end();
  const second = await openV5(t, broker.url(), options);
  assert.equal(second.state.sessionPresent, true, 'kept after a plain end()');
  await second.end({ properties: { sessionExpiryIntervalSec: 0 } });
  const third = await openV5(t, broker.url(), options);
  assert.equal(third.state.sessionPresent, false, 'ended by the DISCONNECT');
});

test('bad end() options are refused by field, and the client goes on', async (t) => {
  const broker = await startMosquitto(t);
  const client = await openV5(t, broker.url(), { clientId: 'dbad' });
  await assert.rejects(client.end({ reasonCode: 0x80 as never }), field('reasonCode'));
  // The CONNECT set no Session Expiry Interval: a DISCONNECT may not raise it [MQTT-3.14.2-2].
  await assert.rejects(
    client.end({ properties: { sessionExpiryIntervalSec: 60 } }),
    field('properties.sessionExpiryIntervalSec'),
  );
  await assert.rejects(
    client.end({ properties: { reasonString: 'a\ud800' } }),
    field('properties.reasonString'),
  );
  await assert.rejects(
    client.end({ properties: { serverReference: 'x' } as never }),
    field('properties.serverReference'),
  );
  await assert.rejects(client.end({ timeoutMs: -1 }), field('timeoutMs'));
  await assert.rejects(client.end({ timeout: 5 } as never), field('timeout'));
  assert.equal(client.state.status, 'connected');
  await client.publish('dbad/still', 'here', { qos: 1 });
  await client.end({ properties: { sessionExpiryIntervalSec: 0 } });
  assert.equal(client.state.status, 'closed');

  const old = await open(t, broker.url(), { clientId: 'dbad-311' });
  await assert.rejects(old.end({ reasonCode: 0x04 }), field('reasonCode'));
  await assert.rejects(old.end({ properties: { reasonString: 'x' } }), field('properties'));
  await old.end();
});
