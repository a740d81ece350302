/**
 * `reconnect()`: a protocol above MQTT (Sparkplug B) ends the connection cleanly and starts a
 * new one with a new Will, against a real Mosquitto behind a cutting proxy.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { startMosquitto } from '../../../../test/helpers/mosquitto.js';
import { startFaultProxy } from '../../../../test/helpers/proxy.js';
import { type Client, connect } from '../../src/index.js';

/** Resolves on the next 'connected' that follows a state other than 'connected'. */
function reconnected(client: Client): Promise<string[]> {
  return new Promise((resolve) => {
    const seen: string[] = [];
    const listener = (s: { status: string }): void => {
      seen.push(s.status);
      if (s.status === 'connected' && seen.length > 1) {
        client.off('state', listener);
        resolve(seen);
      }
    };
    client.on('state', listener);
  });
}

test('reconnect() sends DISCONNECT (the Will is discarded) and connects again with the new Will', async (t) => {
  const broker = await startMosquitto(t);
  const proxy = await startFaultProxy(t, { targetHost: broker.host, targetPort: broker.port });
  const watcher = await connect(broker.url(), { reconnect: false });
  t.after(() => watcher.end({ force: true }));
  const wills = await watcher.subscribe('will/#', { qos: 1 });
  const seen = wills[Symbol.asyncIterator]();

  const client = await connect(proxy.url(), {
    will: { topic: 'will/first', payload: 'first', qos: 1 },
    reconnect: { minDelayMs: 20, maxDelayMs: 50 },
  });
  t.after(() => client.end({ force: true }));
  const accepted = proxy.accepted;
  client.setWill({ topic: 'will/second', payload: 'second', qos: 1 });
  const back = reconnected(client);
  client.reconnect();
  assert.deepEqual(await back, ['reconnect-wait', 'connecting', 'connected']);
  assert.equal(proxy.accepted, accepted + 1, 'a new connection');
  assert.match(client.state.lastError?.message ?? '', /reconnect requested/);

  // The first connection's Will was discarded by the DISCONNECT: the first Will the watcher
  // sees is the second connection's, published when that one is cut.
  proxy.cutAll();
  const will = (await seen.next()).value!;
  assert.equal(will.topic, 'will/second');
  assert.equal(new TextDecoder().decode(will.payload), 'second');
});

test('reconnect() does nothing while not connected or after end()', async (t) => {
  const broker = await startMosquitto(t);
  const client = await connect(broker.url(), { reconnect: { minDelayMs: 20, maxDelayMs: 50 } });
  await client.end();
  client.reconnect();
  assert.equal(client.state.status, 'closed');
});
