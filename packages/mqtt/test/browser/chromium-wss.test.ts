// The browser bundle in headless Chromium over `wss://`: Aedes behind a TLS WebSocket server
// (`node:https` + `ws`) on a free loopback port, with a server certificate for
// localhost/127.0.0.1 signed by a CA generated at test time (test/helpers/certs.ts).
//
// How Chromium trusts it: `--ignore-certificate-errors-spki-list=<base64 SHA-256 of the
// server key's SubjectPublicKeyInfo>`. It accepts a chain only if it holds exactly that key,
// where playwright's `ignoreHTTPSErrors` would accept any certificate at all, so the negative
// case below (a second server whose key is not pinned, signed by a CA nobody trusts) proves
// that the pin, not a blanket switch, is what lets the first server through. The page itself is
// served over plain HTTP (a `wss://` socket from an `http:` page is not mixed content).
import assert from 'node:assert/strict';
import { createHash, createPublicKey } from 'node:crypto';
import type { Server as HttpServer } from 'node:http';
import { createServer as createHttpsServer, type Server as HttpsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import { after, before, test } from 'node:test';
import type { Browser } from 'playwright-core';
import { createWebSocketStream, type WebSocket, WebSocketServer } from 'ws';
import { type CertPair, testCerts } from '../../../../test/helpers/certs.js';
import { within } from '../../../../test/helpers/within.js';
import {
  browserBundle,
  connectInPage,
  launchChromium,
  type PageState,
  pageServer,
  type RecordingBroker,
  recordingBroker,
} from './fixture.js';

const CLIENT_ID = 'browser-wss-1';

let browser: Browser;
let broker: RecordingBroker;
let http: HttpServer;
let trusted: HttpsServer;
let untrusted: HttpsServer;
let pageUrl: string;
let trustedUrl: string;
let untrustedUrl: string;
const sockets = new Set<WebSocket>();
const servers: WebSocketServer[] = [];
const untrustedHandshakeErrors: Error[] = [];
/** Woken on every broker event and TLS client error the waits below look at. */
const wakers: (() => void)[] = [];

function wake(): void {
  for (const w of wakers.splice(0)) w();
}

/** Resolves once `check()` holds, re-checked at each event; fails after 20 s (a bound, not a wait). */
function until<T>(check: () => T | undefined, what: string): Promise<T> {
  return within(
    (async () => {
      for (;;) {
        const value = check();
        if (value !== undefined) return value;
        await new Promise<void>((resolve) => wakers.push(resolve));
      }
    })(),
    20_000,
    what,
  );
}

/** Base64 SHA-256 of the key's DER SubjectPublicKeyInfo: the form Chromium's SPKI list takes. */
function spkiHash(pair: CertPair): string {
  const der = createPublicKey(pair.key).export({ type: 'spki', format: 'der' });
  return createHash('sha256').update(der).digest('base64');
}

/** A TLS WebSocket server for Aedes at `/mqtt` on a free loopback port. */
async function tlsWebSocketServer(pair: CertPair, ca: string): Promise<HttpsServer> {
  const server = createHttpsServer({ cert: `${pair.cert}${ca}`, key: pair.key });
  const wss = new WebSocketServer({ server, path: '/mqtt' });
  servers.push(wss);
  wss.on('connection', (ws) => {
    sockets.add(ws);
    ws.on('close', () => sockets.delete(ws));
    broker.broker.handle(createWebSocketStream(ws));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return server;
}

function brokerPublish(topic: string, payload: string, qos: 0 | 1 | 2): Promise<void> {
  return broker.publish(topic, payload, qos);
}

before(async () => {
  const script = await browserBundle();
  const certs = await testCerts();
  broker = await recordingBroker(CLIENT_ID, wake);
  http = pageServer(script, 'courier-mqtt wss');
  await new Promise<void>((resolve) => http.listen(0, '127.0.0.1', resolve));
  pageUrl = `http://127.0.0.1:${(http.address() as AddressInfo).port}/`;

  trusted = await tlsWebSocketServer(certs.server, certs.ca.cert);
  trustedUrl = `wss://127.0.0.1:${(trusted.address() as AddressInfo).port}/mqtt`;
  // Same host names, but a key that is not pinned and a CA nobody trusts.
  untrusted = await tlsWebSocketServer(certs.unknownCa, certs.otherCa.cert);
  untrusted.on('tlsClientError', (error: Error) => {
    untrustedHandshakeErrors.push(error);
    wake();
  });
  untrustedUrl = `wss://127.0.0.1:${(untrusted.address() as AddressInfo).port}/mqtt`;

  browser = await launchChromium([
    `--ignore-certificate-errors-spki-list=${spkiHash(certs.server)}`,
  ]);
});

after(async () => {
  await browser?.close();
  for (const ws of sockets) ws.terminate();
  for (const wss of servers) wss.close();
  for (const server of [http, trusted, untrusted]) {
    server?.closeAllConnections();
    await new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve()));
  }
  await broker?.close();
});

test('in Chromium over wss://: connect to the pinned server key, QoS 1 both ways, reconnect after a drop', async (t) => {
  const context = await browser.newContext();
  t.after(() => context.close());
  const page = await context.newPage();
  const pageErrors: string[] = [];
  page.on('pageerror', (e) => pageErrors.push(e.message));
  await page.goto(pageUrl);

  const firstState = await page.evaluate(connectInPage, {
    url: trustedUrl,
    clientId: CLIENT_ID,
    qos: 1,
  });
  assert.equal(firstState, 'connected');
  await until(() => (broker.subscribes >= 1 ? true : undefined), 'the first SUBSCRIBE');
  // The one WebSocket is on the TLS server: the page did not fall back to anything else.
  assert.equal(sockets.size, 1);
  assert.equal([...sockets][0]!.protocol, 'mqtt');

  const received = async (n: number): Promise<PageState['received']> => {
    await page.waitForFunction(
      (count) => (globalThis as unknown as PageState).received.length >= count,
      n,
      { timeout: 20_000 },
    );
    return page.evaluate(() => (globalThis as unknown as PageState).received);
  };
  const brokerSaw = (topic: string) =>
    until(() => broker.published.find((p) => p.topic === topic), `a PUBLISH on ${topic}`);

  // Page → broker at QoS 1: publish() resolves on the PUBACK, the broker saw it at QoS 1.
  await page.evaluate(() =>
    (globalThis as unknown as PageState).client.publish('from-page/q1', 'up 1', { qos: 1 }),
  );
  assert.deepEqual(await brokerSaw('from-page/q1'), {
    topic: 'from-page/q1',
    qos: 1,
    payload: 'up 1',
    clientId: CLIENT_ID,
  });
  // Broker → page at QoS 1.
  await brokerPublish('to-page/q1', 'down 1', 1);
  assert.deepEqual((await received(1))[0], { topic: 'to-page/q1', qos: 1, payload: 'down 1' });

  // The server drops the TLS socket (no close frame): the client reconnects over wss:// by
  // itself, subscribes again (clean session), and both directions work on the new connection.
  for (const ws of sockets) ws.terminate();
  await until(() => (broker.subscribes >= 2 ? true : undefined), 'the SUBSCRIBE after the drop');
  await page.waitForFunction(
    () => (globalThis as unknown as PageState).states.at(-1) === 'connected',
    undefined,
    { timeout: 20_000 },
  );
  const states = await page.evaluate(() => (globalThis as unknown as PageState).states);
  assert.ok(states.includes('reconnect-wait'), `states: ${states.join(' → ')}`);
  await brokerPublish('to-page/after', 'after drop', 1);
  assert.deepEqual((await received(2))[1], {
    topic: 'to-page/after',
    qos: 1,
    payload: 'after drop',
  });
  await page.evaluate(() =>
    (globalThis as unknown as PageState).client.publish('from-page/after', 'back', { qos: 1 }),
  );
  const back = await brokerSaw('from-page/after');
  assert.deepEqual([back.payload, back.qos, back.clientId], ['back', 1, CLIENT_ID]);

  await page.evaluate(() => (globalThis as unknown as PageState).client.end());
  assert.deepEqual(pageErrors, []);
});

test('in Chromium over wss://: a server whose certificate is not trusted fails the connection with a NetworkError (no hang)', async (t) => {
  const context = await browser.newContext();
  t.after(() => context.close());
  const page = await context.newPage();
  await page.goto(pageUrl);
  const before = broker.published.length;
  const outcome = await page.evaluate(async (url) => {
    const path = '/courier-mqtt.js';
    const courier = await import(path);
    try {
      const client = await courier.connect(url, { clientId: 'browser-wss-untrusted' });
      await client.end();
      return { connected: true };
    } catch (error) {
      const e = error as { name: string; code: string; address: string; message: string };
      return {
        connected: false,
        name: e.name,
        code: e.code,
        address: e.address,
        message: e.message,
      };
    }
  }, untrustedUrl);
  const port = (untrusted.address() as AddressInfo).port;
  assert.deepEqual(
    { connected: outcome.connected, name: outcome.name, code: outcome.code },
    { connected: false, name: 'NetworkError', code: 'MQTT_NETWORK' },
  );
  assert.equal(outcome.address, `127.0.0.1:${port}`);
  assert.match(String(outcome.message), /TLS/);
  // The failure was the certificate: Chromium reached the server and aborted the handshake
  // with an alert (not a refused port or an HTTP error), and no MQTT client got through.
  const handshake = await until(() => untrustedHandshakeErrors[0], 'the refused TLS handshake');
  assert.match(handshake.message, /alert|certificate|unknown ca/i);
  assert.equal(broker.published.length, before);
});
