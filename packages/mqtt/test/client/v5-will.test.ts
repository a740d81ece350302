/**
 * MQTT 5.0 Will properties against a real Mosquitto 2.0 (5.0 on a normal listener), the
 * client's connection cut by a TCP proxy: the properties reach the subscriber, the Will waits
 * its Will Delay Interval, and a reconnect within the delay cancels it [MQTT-3.1.3-9].
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { type Client, type ClientOptions, InvalidOptionError, type Packet } from 'courier-mqtt';
import type { PublishPacket } from 'courier-mqtt/packet';
import { startMosquitto } from '../../../../test/helpers/mosquitto.js';
import { startFaultProxy } from '../../../../test/helpers/proxy.js';
import { type AfterHook, connectForTest, reconnected } from './fixture.js';

const open = (t: AfterHook, url: string, options: ClientOptions): Promise<Client> =>
  connectForTest(t, url, { protocolVersion: 5, ...options });

/** The Will PUBLISH packets a watcher receives, with when each arrived. */
function wills(watcher: Client): {
  arrived: { packet: PublishPacket; at: number }[];
  next(topic: string): Promise<{ packet: PublishPacket; at: number }>;
} {
  const arrived: { packet: PublishPacket; at: number }[] = [];
  const waiters: (() => void)[] = [];
  watcher.on('packetreceive', (p: Packet) => {
    if (p.type !== 'publish') return;
    arrived.push({ packet: p, at: performance.now() });
    for (const w of waiters.splice(0)) w();
  });
  return {
    arrived,
    next: (topic) =>
      new Promise((resolve) => {
        const look = (): void => {
          const found = arrived.find((a) => a.packet.topic === topic);
          if (found !== undefined) resolve(found);
          else waiters.push(look);
        };
        look();
      }),
  };
}

test('5.0 Will: its properties reach the subscriber, after the Will Delay Interval', async (t) => {
  const broker = await startMosquitto(t);
  const proxy = await startFaultProxy(t, { targetHost: broker.host, targetPort: broker.port });
  const watcher = await open(t, broker.url(), { reconnect: false });
  const seen = wills(watcher);
  await watcher.subscribe('will5/#', { qos: 1 });

  await open(t, proxy.url(), {
    clientId: 'will5-delayed',
    // The Will goes out at the end of the delay or of the session, whichever comes first.
    sessionExpirySec: 60,
    reconnect: false,
    will: {
      topic: 'will5/delayed',
      payload: 'gone',
      qos: 1,
      properties: {
        willDelayIntervalSec: 1,
        payloadFormatIndicator: 1,
        messageExpiryIntervalSec: 120,
        contentType: 'text/plain',
        responseTopic: 'will5/reply',
        correlationData: 'corr-1',
        userProperties: [['site', 'north']],
      },
    },
  });
  const cutAt = performance.now();
  proxy.cutAll();
  const { packet, at } = await seen.next('will5/delayed');
  // Not at once: Mosquitto holds it for the delay (it checks delayed Wills once a second,
  // so it may be up to a second late, never early).
  assert.ok(at - cutAt >= 900, `the Will came ${Math.round(at - cutAt)} ms after the cut`);
  assert.equal(new TextDecoder().decode(packet.payload), 'gone');
  const p = packet.properties;
  assert.equal(p?.payloadFormatIndicator, 1);
  assert.equal(p?.contentType, 'text/plain');
  assert.equal(p?.responseTopic, 'will5/reply');
  assert.equal(new TextDecoder().decode(p?.correlationData), 'corr-1');
  assert.deepEqual(p?.userProperties, [['site', 'north']]);
  // The broker counts the expiry down while it holds the message.
  assert.ok(p?.messageExpiryIntervalSec !== undefined && p.messageExpiryIntervalSec <= 120);
});

test('5.0 Will: a reconnect within the Will Delay Interval cancels it; setWill() takes properties too', async (t) => {
  const broker = await startMosquitto(t);
  const proxyB = await startFaultProxy(t, { targetHost: broker.host, targetPort: broker.port });
  const proxyC = await startFaultProxy(t, { targetHost: broker.host, targetPort: broker.port });
  const watcher = await open(t, broker.url(), { reconnect: false });
  const seen = wills(watcher);
  await watcher.subscribe('will5/#', { qos: 1 });

  const delayed = (topic: string) =>
    ({ topic, payload: topic, qos: 1, properties: { willDelayIntervalSec: 2 } }) as const;
  // B comes back within the delay; C, cut just after B with the same delay, does not: C's
  // Will arriving marks the moment B's would have arrived (no sleep needed to show absence).
  const b = await open(t, proxyB.url(), {
    clientId: 'will5-back',
    clean: false,
    sessionExpirySec: 60,
    reconnect: { minDelayMs: 20, maxDelayMs: 50, jitter: 0 },
  });
  assert.throws(
    () =>
      b.setWill({ topic: 'will5/back', payload: 'x', properties: { willDelayIntervalSec: -1 } }),
    (e: unknown) =>
      e instanceof InvalidOptionError && e.field === 'will.properties.willDelayIntervalSec',
  );
  // From the next connection on: B's first connection carries no Will, so cut it once.
  b.setWill(delayed('will5/back'));
  let again = reconnected(b);
  proxyB.cutAll();
  await again;
  await open(t, proxyC.url(), {
    clientId: 'will5-gone',
    sessionExpirySec: 60,
    reconnect: false,
    will: delayed('will5/gone'),
  });
  again = reconnected(b);
  proxyB.cutAll();
  proxyC.cutAll();
  await again;
  await seen.next('will5/gone');
  // A round trip through the broker after C's Will: anything due before it has arrived.
  await watcher.publish('will5/marker', 'm', { qos: 1 });
  await seen.next('will5/marker');
  assert.deepEqual(
    seen.arrived.map((a) => a.packet.topic),
    ['will5/gone', 'will5/marker'],
  );
});
