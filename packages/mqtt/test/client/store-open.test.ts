/**
 * A daemon's first publishes with the file store (issue: "session store: putOutgoing … called
 * before open() resolved"), and the durable-accept signal `resolveOn: 'stored'`.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { acceptSession, startFakeBroker } from '../../../../test/helpers/fake-broker.js';
import { startMosquitto } from '../../../../test/helpers/mosquitto.js';
import { tempDir } from '../../../../test/helpers/tmp.js';
import { createClient, fileStore, MqttErrorCode } from '../../src/index.js';

test('publishes made at once after createClient with a file store wait for the store, none refused', async (t) => {
  const broker = await startMosquitto(t);
  const dir = await tempDir(t, 'courier-store-open-');
  const watcher = createClient(broker.url(), { reconnect: false });
  t.after(() => watcher.end({ force: true }));
  const sub = await watcher.subscribe('early/#', { qos: 2 });

  const client = createClient(broker.url(), {
    clientId: 'courier-early',
    clean: false,
    store: fileStore(dir),
  });
  t.after(() => client.end({ force: true }));
  // Before the store has opened, before any connection: the offline queue takes them.
  const done = [
    client.publish('early/a', '1', { qos: 2 }),
    client.publish('early/a', '2', { qos: 1 }),
    client.publish('early/a', '3', { qos: 0 }),
  ];
  await Promise.all(done);
  const got: string[] = [];
  for await (const message of sub) {
    got.push(new TextDecoder().decode(message.payload));
    if (got.length === 3) break;
  }
  // MQTT orders messages of one QoS only: Mosquitto forwards a QoS 2 message at its PUBREL.
  assert.deepEqual(got.sort(), ['1', '2', '3']);
});

test("resolveOn 'stored' resolves once the message is on disk, before the broker acknowledged it", async (t) => {
  const broker = await startFakeBroker(t);
  const dir = await tempDir(t, 'courier-stored-');
  const client = createClient(broker.url, {
    clientId: 'courier-stored',
    clean: false,
    store: fileStore(dir),
    reconnect: false,
  });
  const connection = await acceptSession(broker);
  const completed = client.publish('s/1', 'completed', { qos: 1 });
  let completedSettled = false;
  void completed.then(
    () => {
      completedSettled = true;
    },
    () => {
      completedSettled = true;
    },
  );
  await client.publish('s/2', 'stored', { qos: 2, resolveOn: 'stored' });
  // The broker has not answered anything: only the durable signal could resolve.
  await connection.next('publish');
  assert.equal(completedSettled, false);
  await client.end({ force: true });
  await completed.catch(() => undefined);

  // The message is in the store a restart reads.
  const snapshot = await fileStore(dir).open();
  const topics = snapshot.outgoing.map((m) => m.topic);
  assert.ok(topics.includes('s/2'), `stored: ${topics.join(', ')}`);
});

test("resolveOn must be 'completed' or 'stored'", async (t) => {
  const broker = await startFakeBroker(t);
  const client = createClient(broker.url, { reconnect: false });
  t.after(() => client.end({ force: true }));
  await assert.rejects(
    client.publish('t', 'x', { qos: 1, resolveOn: 'written' as 'stored' }),
    (error: { code: string; message: string }) =>
      error.code === MqttErrorCode.INVALID_OPTION && /resolveOn/.test(error.message),
  );
});
