// The browser bundle in a real headless Chromium (Debian's `chromium`, driven by
// playwright-core) against Aedes served over WebSocket by this test on a free loopback port
// (`ws`'s createWebSocketStream feeds Aedes the bytes): the page loads the bundle built with
// the build's own options, connects with the browser's WebSocket, publishes at QoS 0/1/2 (each
// seen by the broker, each promise settled by its flow), receives at QoS 0/1/2 from the broker,
// and reconnects (resubscribing) after the test drops its socket on the server side.
import assert from 'node:assert/strict';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, test } from 'node:test';
import type { Browser, Page } from 'playwright-core';
import { createWebSocketStream, type WebSocket, WebSocketServer } from 'ws';
import { within } from '../../../../test/helpers/within.js';
import {
  browserBundle,
  connectInPage,
  launchChromium,
  type PageState,
  pageServer,
  type RecordingBroker,
  recordingBroker,
  type Seen,
} from './fixture.js';

const CLIENT_ID = 'browser-page-1';

let browser: Browser;
let broker: RecordingBroker;
let http: Server;
let wss: WebSocketServer;
let wsUrl: string;
let pageUrl: string;
const sockets = new Set<WebSocket>();
const publishWaiters: (() => void)[] = [];
const subscribeWaiters: (() => void)[] = [];

/** A bound on each wait, so a hang fails with what was awaited (not a wait itself). */
const BOUND_MS = 20_000;

/** Resolves once the broker has seen a PUBLISH on `topic` (or at once if it already has). */
function brokerSaw(topic: string): Promise<Seen> {
  return within(
    (async () => {
      for (;;) {
        const seen = broker.published.find((p) => p.topic === topic);
        if (seen !== undefined) return seen;
        await new Promise<void>((resolve) => publishWaiters.push(resolve));
      }
    })(),
    BOUND_MS,
    `a PUBLISH on ${topic}`,
  );
}

/** Resolves once the page's client has subscribed `count` times in all. */
function subscribed(count: number): Promise<void> {
  return within(
    (async () => {
      while (broker.subscribes < count) {
        await new Promise<void>((resolve) => subscribeWaiters.push(resolve));
      }
    })(),
    BOUND_MS,
    `SUBSCRIBE number ${count}`,
  );
}

function brokerPublish(topic: string, payload: string, qos: 0 | 1 | 2): Promise<void> {
  return broker.publish(topic, payload, qos);
}

before(async () => {
  const script = await browserBundle();
  // Each event wakes both kinds of waiter; each re-checks its own condition.
  broker = await recordingBroker(CLIENT_ID, () => {
    for (const wake of publishWaiters.splice(0)) wake();
    for (const wake of subscribeWaiters.splice(0)) wake();
  });
  http = pageServer(script, 'courier-mqtt');
  wss = new WebSocketServer({ server: http, path: '/mqtt' });
  wss.on('connection', (ws) => {
    sockets.add(ws);
    ws.on('close', () => sockets.delete(ws));
    broker.broker.handle(createWebSocketStream(ws));
  });
  await new Promise<void>((resolve) => http.listen(0, '127.0.0.1', resolve));
  const { port } = http.address() as AddressInfo;
  pageUrl = `http://127.0.0.1:${port}/`;
  wsUrl = `ws://127.0.0.1:${port}/mqtt`;

  browser = await launchChromium();
});

after(async () => {
  await browser?.close();
  for (const ws of sockets) ws.terminate();
  wss?.close();
  await new Promise<void>((resolve) => (http ? http.close(() => resolve()) : resolve()));
  await broker?.close();
});

test('in Chromium: what a browser cannot do is refused at option time, naming the field', async (t) => {
  const context = await browser.newContext();
  t.after(() => context.close());
  const page = await context.newPage();
  await page.goto(pageUrl);
  const refused = await page.evaluate(async (url) => {
    const path = '/courier-mqtt.js';
    const courier = await import(path);
    const cases: [string, unknown, unknown][] = [
      ['mqtt', 'mqtt://127.0.0.1:1883', {}],
      ['mqtts', 'mqtts://127.0.0.1:8883', {}],
      ['tls', url.replace('ws:', 'wss:'), { tls: { rejectUnauthorized: false } }],
      [
        'psk',
        url,
        { servers: [{ url: 'wss://127.0.0.1:1/mqtt', psk: { identity: 'a', key: '00' } }] },
      ],
      ['family', url, { family: 6 }],
      ['family 0', url, { family: 0, reconnect: false }],
    ];
    return cases.map(([name, server, options]) => {
      try {
        const client = courier.createClient(server, {
          clientId: 'refused',
          ...(options as object),
        });
        void client.end({ force: true });
        return [name, 'accepted'];
      } catch (error) {
        const e = error as { name: string; field: string; message: string };
        return [name, e.name, e.field, e.message];
      }
    });
  }, wsUrl);
  const byName = new Map(refused.map((r) => [r[0], r.slice(1)]));
  assert.deepEqual(byName.get('mqtt')?.slice(0, 2), ['InvalidOptionError', 'url']);
  assert.match(
    String(byName.get('mqtt')?.[2]),
    /mqtt:\/\/ needs a TCP socket.*use ws:\/\/ or wss:\/\//,
  );
  assert.deepEqual(byName.get('mqtts')?.slice(0, 2), ['InvalidOptionError', 'url']);
  assert.deepEqual(byName.get('tls')?.slice(0, 2), ['InvalidOptionError', 'tls']);
  assert.match(String(byName.get('tls')?.[2]), /browser's own TLS/);
  assert.deepEqual(byName.get('psk')?.slice(0, 2), ['InvalidOptionError', 'servers[0].psk']);
  assert.deepEqual(byName.get('family')?.slice(0, 2), ['InvalidOptionError', 'family']);
  // What a browser can do is accepted: the check is not a blanket refusal.
  assert.deepEqual(byName.get('family 0'), ['accepted']);
});

test('in Chromium: a reader that starts late gets all of 2,000 QoS 1 messages, in order (reading paused, then resumed)', async (t) => {
  const context = await browser.newContext();
  t.after(() => context.close());
  const page = await context.newPage();
  await page.goto(pageUrl);
  await page.evaluate(async (url) => {
    const path = '/courier-mqtt.js';
    const courier = await import(path);
    // Five messages behind, the client stops reading the WebSocket (kept in memory: a
    // browser cannot pause it) and gives the rest back when the reader catches up.
    const client = await courier.connect(url, {
      clientId: 'slow-reader',
      subscriptionBufferSize: 5,
    });
    const g = globalThis as unknown as { slow: { client: unknown; sub: unknown } };
    g.slow = { client, sub: await client.subscribe('slow/#', { qos: 1 }) };
  }, wsUrl);
  const count = 2000;
  for (let i = 0; i < count; i++) void brokerPublish(`slow/${i}`, String(i), 1);
  const got = await page.evaluate(async (n) => {
    const { client, sub } = (
      globalThis as unknown as {
        slow: {
          client: { end(): Promise<void>; droppedCount: number };
          sub: AsyncIterable<{ payload: Uint8Array }>;
        };
      }
    ).slow;
    const seen: string[] = [];
    for await (const m of sub) {
      seen.push(new TextDecoder().decode(m.payload));
      if (seen.length === n) break;
    }
    const dropped = client.droppedCount;
    await client.end();
    return { seen, dropped };
  }, count);
  assert.equal(got.dropped, 0);
  assert.deepEqual(
    got.seen,
    Array.from({ length: count }, (_, i) => String(i)),
  );
});

test('in Chromium: QoS 1 messages queued offline in indexedDbStore survive a reload and are sent by the next client', async (t) => {
  const context = await browser.newContext();
  t.after(() => context.close());
  const page = await context.newPage();
  await page.goto(pageUrl);
  // Offline: the server refuses the WebSocket (a path it does not serve), so the messages
  // wait in the store; the test flushes the store (what the client does before a packet
  // leaves) and reloads the page without ending the client, as a closed tab would.
  const queued = await page
    .evaluate(async (url) => {
      const path = '/courier-mqtt.js';
      const courier = await import(path);
      const store = courier.indexedDbStore('courier-test-offline');
      const client = courier.createClient(url.replace('/mqtt', '/nowhere'), {
        clientId: 'offline-page',
        clean: false,
        store,
        reconnect: { minDelayMs: 60_000 },
      });
      for (const i of [1, 2, 3])
        client.publish(`persist/${i}`, `kept ${i}`, { qos: 1 }).catch(() => {});
      // Once the first attempt failed, the store is open and holds the messages; client.flush()
      // would wait for their acknowledgements, the store's own flush makes them durable.
      for await (const state of client.states()) if (state.status === 'reconnect-wait') break;
      await store.flush();
      return client.state.status as string;
    }, wsUrl)
    .catch((error: unknown) => String(error));
  assert.notEqual(queued, 'connected');
  await page.reload();
  await page.evaluate(async (url) => {
    const path = '/courier-mqtt.js';
    const courier = await import(path);
    const client = await courier.connect(url, {
      clientId: 'offline-page',
      clean: false,
      store: courier.indexedDbStore('courier-test-offline'),
    });
    await client.flush();
    await client.end();
  }, wsUrl);
  for (const i of [1, 2, 3]) {
    const seen = await brokerSaw(`persist/${i}`);
    assert.deepEqual([seen.payload, seen.qos, seen.clientId], [`kept ${i}`, 1, 'offline-page']);
  }
});

async function received(page: Page, count: number): Promise<PageState['received']> {
  await page.waitForFunction(
    (n) => (globalThis as unknown as PageState).received.length >= n,
    count,
    { timeout: 20_000 },
  );
  return page.evaluate(() => (globalThis as unknown as PageState).received);
}

test('in Chromium: connect over WebSocket, QoS 0/1/2 both ways, reconnect after a drop', async (t) => {
  const context = await browser.newContext();
  t.after(() => context.close());
  const page = await context.newPage();
  const pageErrors: string[] = [];
  page.on('pageerror', (e) => pageErrors.push(e.message));
  await page.goto(pageUrl);

  // Connect and subscribe from the page, with the bundle loaded as a module.
  const firstState = await page.evaluate(connectInPage, {
    url: wsUrl,
    clientId: CLIENT_ID,
    qos: 2,
  });
  assert.equal(firstState, 'connected');
  await subscribed(1);

  // Page → broker at each QoS: publish() resolves when its flow completed (PUBACK, PUBCOMP).
  await page.evaluate(async () => {
    const { client } = globalThis as unknown as PageState;
    for (const qos of [0, 1, 2] as const)
      await client.publish(`from-page/q${qos}`, `up ${qos}`, { qos });
  });
  for (const qos of [0, 1, 2]) {
    const seen = await brokerSaw(`from-page/q${qos}`);
    assert.deepEqual(seen, {
      topic: `from-page/q${qos}`,
      qos,
      payload: `up ${qos}`,
      clientId: CLIENT_ID,
    });
  }

  // Broker → page at each QoS (the subscription granted 2, so each arrives at its own QoS).
  for (const qos of [0, 1, 2] as const) await brokerPublish(`to-page/q${qos}`, `down ${qos}`, qos);
  const down = await received(page, 3);
  assert.deepEqual(
    down.map((m) => [m.topic, m.qos, m.payload]),
    [
      ['to-page/q0', 0, 'down 0'],
      ['to-page/q1', 1, 'down 1'],
      ['to-page/q2', 2, 'down 2'],
    ],
  );

  // The server drops the socket (no close frame): the page's client reconnects by itself and
  // subscribes again (clean session), then both directions work on the new connection.
  assert.equal(sockets.size, 1);
  for (const ws of sockets) ws.terminate();
  await subscribed(2);
  await page.waitForFunction(
    () => (globalThis as unknown as PageState).states.at(-1) === 'connected',
    undefined,
    { timeout: 20_000 },
  );
  const states = await page.evaluate(() => (globalThis as unknown as PageState).states);
  assert.ok(states.includes('reconnect-wait'), `states: ${states.join(' → ')}`);
  await brokerPublish('to-page/after', 'after drop', 1);
  const afterDrop = await received(page, 4);
  assert.deepEqual(afterDrop[3], { topic: 'to-page/after', qos: 1, payload: 'after drop' });
  await page.evaluate(() =>
    (globalThis as unknown as PageState).client.publish('from-page/after', 'back', { qos: 1 }),
  );
  assert.equal((await brokerSaw('from-page/after')).payload, 'back');

  await page.evaluate(() =>
    (globalThis as unknown as { client: { end(): Promise<void> } }).client.end(),
  );
  assert.deepEqual(pageErrors, []);
});
