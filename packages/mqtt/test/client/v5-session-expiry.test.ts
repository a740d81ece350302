/**
 * Session expiry and the Assigned Client Identifier with the file store, against a real
 * Mosquitto 2.0 (5.0 on a normal listener). A "restart" is a new client on the same store
 * directory, as a new process would be.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type TestContext, test } from 'node:test';
import {
  type Client,
  type ClientOptions,
  connect,
  createClient,
  fileStore,
  type Packet,
} from 'courier-mqtt';
import type { ConnectPacket } from 'courier-mqtt/packet';
import { type Mosquitto, startMosquitto } from '../../../../test/helpers/mosquitto.js';
import { text } from './fixture.js';

function tempDir(t: TestContext): string {
  const dir = mkdtempSync(join(tmpdir(), 'courier-expiry-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

/** A client on the store in `dir`; resolves once connected, with the CONNECT it sent. */
async function start(
  t: TestContext,
  url: string,
  dir: string,
  options: ClientOptions,
): Promise<{ client: Client; connect: ConnectPacket; received: string[] }> {
  const client = createClient(url, {
    protocolVersion: 5,
    clean: false,
    clientId: '',
    store: fileStore(dir),
    reconnect: false,
    ...options,
  });
  t.after(() => client.end({ force: true }));
  const received: string[] = [];
  client.on('message', (m) => received.push(text(m)));
  let sent: ConnectPacket | undefined;
  client.on('packetsend', (p: Packet) => {
    if (p.type === 'connect') sent = p;
  });
  for await (const s of client.states()) {
    if (s.status === 'connected') break;
    if (s.status === 'closed') throw s.lastError ?? new Error('closed');
  }
  assert.ok(sent !== undefined);
  return { client, connect: sent, received };
}

/** Resolves once Mosquitto's log has a line matching `pattern` (it logs every expiry). */
async function logged(broker: Mosquitto, pattern: RegExp, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!pattern.test(broker.log())) {
    if (Date.now() > deadline) throw new Error(`no log line ${pattern} within ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}

test('the Assigned Client Identifier is kept in the file store: after a restart the session is resumed under it', async (t) => {
  const broker = await startMosquitto(t);
  const dir = tempDir(t);
  const first = await start(t, broker.url(), dir, { sessionExpirySec: 300 });
  assert.equal(first.connect.clientId, '');
  const assigned = first.client.clientId;
  assert.match(assigned, /.+/, 'the broker assigned an id');
  assert.equal(first.client.sessionMayExist, false, 'an empty id and nothing recorded');
  await first.client.subscribe('assigned/#', { qos: 1 });
  await first.client.end();

  const pub = await connect(broker.url(), { protocolVersion: 5, reconnect: false });
  t.after(() => pub.end({ force: true }));
  await pub.publish('assigned/a', 'while away', { qos: 1 });

  // A new process on the same store: the CONNECT carries the assigned id.
  const second = await start(t, broker.url(), dir, { sessionExpirySec: 300 });
  assert.equal(second.connect.clientId, assigned);
  assert.equal(second.client.sessionMayExist, true);
  assert.equal(second.client.state.sessionPresent, true);
  const deadline = Date.now() + 5000;
  while (second.received.length === 0 && Date.now() < deadline) {
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  assert.deepEqual(second.received, ['while away']);
});

test('Session Expiry: the session is kept before the interval and gone after it; sessionMayExist says so after a restart', async (t) => {
  const broker = await startMosquitto(t);
  // Kept: 300 s.
  const keptDir = tempDir(t);
  const kept = await start(t, broker.url(), keptDir, {
    clientId: 'expiry-kept',
    sessionExpirySec: 300,
  });
  await kept.client.end();
  const keptAgain = await start(t, broker.url(), keptDir, {
    clientId: 'expiry-kept',
    sessionExpirySec: 300,
  });
  assert.equal(keptAgain.client.sessionMayExist, true);
  assert.equal(keptAgain.client.state.sessionPresent, true);
  await keptAgain.client.end();

  // Gone: 1 s. Mosquitto logs the expiry; the restarted client judges the same from its store.
  const goneDir = tempDir(t);
  const gone = await start(t, broker.url(), goneDir, {
    clientId: 'expiry-gone',
    sessionExpirySec: 1,
  });
  await gone.client.subscribe('gone/#', { qos: 1 });
  await gone.client.end();
  await logged(broker, /Expiring client expiry-gone due to timeout/);
  const goneAgain = await start(t, broker.url(), goneDir, {
    clientId: 'expiry-gone',
    sessionExpirySec: 1,
  });
  assert.equal(goneAgain.client.sessionMayExist, false);
  assert.equal(goneAgain.client.state.sessionPresent, false);
});
