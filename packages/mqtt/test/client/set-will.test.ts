/**
 * `setWill`: the Will of the next CONNECT can change between connections (Sparkplug B's NDEATH
 * carries a sequence number per connection), against a real Mosquitto behind a cutting proxy.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { startMosquitto } from '../../../../test/helpers/mosquitto.js';
import { startFaultProxy } from '../../../../test/helpers/proxy.js';
import { connect, InvalidOptionError } from '../../src/index.js';
import { reconnected } from './fixture.js';

test('setWill applies from the next connection; the current one keeps its Will', async (t) => {
  const broker = await startMosquitto(t);
  const proxy = await startFaultProxy(t, { targetHost: broker.host, targetPort: broker.port });
  const watcher = await connect(broker.url(), { reconnect: false });
  t.after(() => watcher.end({ force: true }));
  const wills = await watcher.subscribe('will/#', { qos: 1 });
  const seen = wills[Symbol.asyncIterator]();

  const client = await connect(proxy.url(), {
    will: { topic: 'will/a', payload: 'first', qos: 1 },
    reconnect: { minDelayMs: 20, maxDelayMs: 50 },
  });
  t.after(() => client.end({ force: true }));
  assert.throws(
    () => client.setWill({ topic: 'will/+', payload: 'x' }),
    (e: unknown) => e instanceof InvalidOptionError && e.field === 'will.topic',
  );
  client.setWill({ topic: 'will/b', payload: 'second', qos: 1 });

  let back = reconnected(client);
  proxy.cutAll(); // an abrupt end: the broker publishes this connection's Will
  let will = (await seen.next()).value!;
  assert.equal(will.topic, 'will/a');
  await back;
  back = reconnected(client);
  proxy.cutAll();
  will = (await seen.next()).value!;
  assert.equal(will.topic, 'will/b', 'the new Will went with the next CONNECT');
  assert.equal(new TextDecoder().decode(will.payload), 'second');
  await back;
});
