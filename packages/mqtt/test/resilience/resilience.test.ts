/**
 * Stay connected and lose nothing: numbered message streams through a fault-injecting proxy
 * to a real Mosquitto, broker restarts, stalls, and failover; every message counted at the
 * receiving end.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  type Client,
  type ClientOptions,
  createClient,
  type Message,
  MqttErrorCode,
  type QoS,
} from 'courier-mqtt';
import { startMosquitto } from '../../../../test/helpers/mosquitto.js';
import { type FaultProxy, startFaultProxy } from '../../../../test/helpers/proxy.js';

const BROKER_LINES = ['max_queued_messages 0', 'max_inflight_messages 0', 'max_queued_bytes 0'];
const fast: ClientOptions = {
  reconnect: { minDelayMs: 20, maxDelayMs: 200, jitter: 0.2 },
  connectTimeoutMs: 3000,
  keepaliveSec: 2,
  pingTimeoutMs: 1000,
};

function open(t: { after(fn: () => unknown): void }, url: string, options: ClientOptions): Client {
  const client = createClient(url, { ...fast, ...options });
  t.after(() => client.end({ force: true }));
  return client;
}

async function until(what: string, predicate: () => boolean, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!predicate()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** Cuts every connection of the proxy at random moments until the returned function is called. */
function cutRandomly(proxy: FaultProxy, minMs: number, maxMs: number): () => number {
  return proxy.cutRandomly({ minMs, maxMs });
}

async function connected(client: Client): Promise<void> {
  for await (const s of client.states()) if (s.status === 'connected') return;
}

/** Counts numbered messages per QoS, as `qos/<n>` topics carry them. */
class Counter {
  readonly seen = new Map<string, number>();
  add = (m: Message): void => {
    const key = `${m.topic.split('/').slice(-2).join('/')}`;
    this.seen.set(key, (this.seen.get(key) ?? 0) + 1);
  };
  report(qos: QoS, n: number): { lost: number; duplicated: number } {
    let lost = 0;
    let duplicated = 0;
    for (let i = 0; i < n; i++) {
      const c = this.seen.get(`${qos}/${i}`) ?? 0;
      if (c === 0) lost++;
      if (c > 1) duplicated += c - 1;
    }
    return { lost, duplicated };
  }
  count(qos: QoS, n: number): number {
    let c = 0;
    for (let i = 0; i < n; i++) if (this.seen.has(`${qos}/${i}`)) c++;
    return c;
  }
}

/**
 * Publishes numbered messages in windows of `window`, each window awaited: at least `n`, and
 * on while `more()` holds (so a fast machine still sees the faults it is meant to see).
 * Resolves with the count sent.
 */
async function publishStream(
  client: Client,
  prefix: string,
  qos: QoS,
  n: number,
  more: () => boolean = () => false,
  window = 50,
): Promise<number> {
  let sent = 0;
  while (sent < n || (more() && sent < 20 * n)) {
    const pending: Promise<void>[] = [];
    for (let i = sent; i < sent + window; i++) {
      pending.push(client.publish(`${prefix}/${qos}/${i}`, String(i), { qos }));
    }
    sent += window;
    await Promise.all(pending);
  }
  return sent;
}

test('publisher behind a proxy that cuts at random: QoS 1 none lost, QoS 2 none lost or duplicated', async (t) => {
  const broker = await startMosquitto(t, { lines: BROKER_LINES });
  const proxy = await startFaultProxy(t, { targetHost: broker.host, targetPort: broker.port });
  const counter = new Counter();
  const sub = open(t, broker.url(), { clientId: 'r1-sub', clean: false });
  sub.on('message', counter.add);
  await connected(sub);
  await sub.subscribe('cut/#', { qos: 2 });
  const pub = open(t, proxy.url(), { clientId: 'r1-pub', clean: false });
  await connected(pub);
  const stop = cutRandomly(proxy, 20, 120);
  const started = Date.now();
  const more = (): boolean => proxy.accepted < 10;
  const [n1, n2, n0] = await Promise.all([
    publishStream(pub, 'cut', 1, 3000, more),
    publishStream(pub, 'cut', 2, 3000, more),
    publishStream(pub, 'cut', 0, 3000),
  ]);
  stop();
  await until(
    'every QoS 1/2 message at the subscriber',
    () => counter.count(1, n1) === n1 && counter.count(2, n2) === n2,
  );
  await new Promise((r) => setTimeout(r, 300)); // let any duplicate arrive
  const q1 = counter.report(1, n1);
  const q2 = counter.report(2, n2);
  const q0 = counter.report(0, n0);
  t.diagnostic(
    `cuts: ${proxy.accepted - 1} reconnects in ${Date.now() - started} ms; QoS 1: ${n1} sent, ${q1.lost} lost, ${q1.duplicated} duplicated; ` +
      `QoS 2: ${n2} sent, ${q2.lost} lost, ${q2.duplicated} duplicated; QoS 0: ${n0 - q0.lost} of ${n0} delivered`,
  );
  assert.ok(proxy.accepted > 5, `only ${proxy.accepted} connections: the proxy did not cut`);
  assert.equal(q1.lost, 0);
  assert.equal(q2.lost, 0);
  assert.equal(q2.duplicated, 0);
});

test('subscriber behind a proxy that cuts at random: persistent session, QoS 2 exactly once', async (t) => {
  const broker = await startMosquitto(t, { lines: BROKER_LINES });
  const proxy = await startFaultProxy(t, { targetHost: broker.host, targetPort: broker.port });
  const counter = new Counter();
  const sub = open(t, proxy.url(), { clientId: 'r2-sub', clean: false });
  sub.on('message', counter.add);
  await connected(sub);
  await sub.subscribe('in/#', { qos: 2 });
  const pub = open(t, broker.url(), { clientId: 'r2-pub', clean: false });
  await connected(pub);
  const stop = cutRandomly(proxy, 20, 120);
  const more = (): boolean => proxy.accepted < 10;
  const [n1, n2] = await Promise.all([
    publishStream(pub, 'in', 1, 3000, more),
    publishStream(pub, 'in', 2, 3000, more),
  ]);
  await until(
    'every message at the subscriber',
    () => counter.count(1, n1) === n1 && counter.count(2, n2) === n2,
  );
  stop();
  await new Promise((r) => setTimeout(r, 300));
  const q1 = counter.report(1, n1);
  const q2 = counter.report(2, n2);
  t.diagnostic(
    `${proxy.accepted - 1} reconnects; QoS 1: ${q1.lost} lost, ${q1.duplicated} duplicated (allowed); QoS 2: ${q2.lost} lost, ${q2.duplicated} duplicated`,
  );
  assert.ok(proxy.accepted > 5, `only ${proxy.accepted} connections: the proxy did not cut`);
  assert.equal(q1.lost, 0);
  assert.equal(q2.lost, 0);
  assert.equal(q2.duplicated, 0);
});

test('a stalled link (half-open) is detected by keep-alive and replaced', async (t) => {
  const broker = await startMosquitto(t);
  const proxy = await startFaultProxy(t, { targetHost: broker.host, targetPort: broker.port });
  const client = open(t, proxy.url(), {
    clientId: 'r3',
    clean: false,
    keepaliveSec: 1,
    pingTimeoutMs: 500,
  });
  await connected(client);
  proxy.stall(true);
  const publishing = client.publish('stall/x', 'survives', { qos: 1 });
  await until('the dead link to be noticed', () => client.state.status !== 'connected', 5000);
  assert.equal(client.state.lastError?.code, MqttErrorCode.KEEPALIVE_TIMEOUT);
  proxy.cutAll();
  proxy.stall(false);
  await until('a new connection', () => client.state.status === 'connected', 5000);
  await publishing;
});

test('a slow link (latency, 32 KB/s) still delivers every QoS 1 message', async (t) => {
  const broker = await startMosquitto(t);
  const proxy = await startFaultProxy(t, { targetHost: broker.host, targetPort: broker.port });
  proxy.setLatency(30);
  proxy.setBandwidth(32 * 1024);
  const counter = new Counter();
  const sub = open(t, broker.url(), { clientId: 'r4-sub' });
  sub.on('message', counter.add);
  await connected(sub);
  await sub.subscribe('slow/#', { qos: 1 });
  const pub = open(t, proxy.url(), { clientId: 'r4-pub', keepaliveSec: 5 });
  await connected(pub);
  await publishStream(pub, 'slow', 1, 300);
  await until('all messages', () => counter.count(1, 300) === 300);
  assert.equal(counter.report(1, 300).lost, 0);
});

test('broker restart (persistence on) in the middle of a stream: nothing lost, QoS 2 not duplicated', async (t) => {
  const broker = await startMosquitto(t, { persistence: true, lines: BROKER_LINES });
  const counter = new Counter();
  const sub = open(t, broker.url(), { clientId: 'r5-sub', clean: false });
  sub.on('message', counter.add);
  await connected(sub);
  await sub.subscribe('restart/#', { qos: 2 });
  const pub = open(t, broker.url(), { clientId: 'r5-pub', clean: false });
  await connected(pub);
  const N = 1000;
  const streams = Promise.all([
    publishStream(pub, 'restart', 1, N),
    publishStream(pub, 'restart', 2, N),
  ]);
  await until('some traffic', () => counter.seen.size > 200);
  await broker.restart();
  await streams;
  await until('every message', () => counter.count(1, N) === N && counter.count(2, N) === N);
  await new Promise((r) => setTimeout(r, 300));
  const q1 = counter.report(1, N);
  const q2 = counter.report(2, N);
  t.diagnostic(
    `restart: QoS 1 ${q1.lost} lost/${q1.duplicated} dup; QoS 2 ${q2.lost} lost/${q2.duplicated} dup`,
  );
  assert.equal(q1.lost, 0);
  assert.equal(q2.lost, 0);
  assert.equal(q2.duplicated, 0);
});

test('failover: primary down → backup after the maximum interval; stays there; back when the backup fails', async (t) => {
  const primary = await startMosquitto(t);
  const backup = await startMosquitto(t);
  await primary.stop();
  const client = open(t, primary.url(), {
    clientId: 'r6',
    reconnect: { minDelayMs: 50, maxDelayMs: 200, jitter: 0 },
    servers: [backup.url()],
  });
  const servers: string[] = [];
  client.on('state', (s) => {
    if (s.status === 'connecting') servers.push(s.server);
  });
  const started = Date.now();
  await until('connected to the backup', () => client.state.status === 'connected', 10_000);
  assert.equal(client.state.server, backup.url());
  // 50, 100, 200 ms on the primary; the attempt after the 200 ms wait fails too, then switch.
  assert.ok(Date.now() - started >= 340, `switched after ${Date.now() - started} ms`);
  assert.deepEqual(servers.slice(0, 4), [
    primary.url(),
    primary.url(),
    primary.url(),
    primary.url(),
  ]);
  // The primary comes back: the client stays on the backup that works.
  await primary.restart();
  await new Promise((r) => setTimeout(r, 500));
  assert.equal(client.state.server, backup.url());
  assert.equal(client.state.status, 'connected');
  // The backup fails: it is retried first, then the client returns to the primary.
  await backup.stop();
  await until(
    'back on the primary',
    () => client.state.status === 'connected' && client.state.server === primary.url(),
    10_000,
  );
  await client.publish('failover/ok', 'x', { qos: 1 });
});

test('re-subscribe: restored after a reconnect with session present = 0, not re-sent with session present = 1', async (t) => {
  const broker = await startMosquitto(t, { lines: BROKER_LINES });
  const proxy = await startFaultProxy(t, { targetHost: broker.host, targetPort: broker.port });
  const counts = async (clean: boolean, clientId: string) => {
    const client = open(t, proxy.url(), { clientId, clean });
    let subscribes = 0;
    let connects = 0;
    client.on('state', (s) => {
      if (s.status === 'connected') connects += 1;
    });
    client.on('packetsend', (p) => {
      if (p.type === 'subscribe') subscribes += 1;
    });
    await connected(client);
    const got: string[] = [];
    client.on('message', (m: Message) => got.push(new TextDecoder().decode(m.payload)));
    await client.subscribe(['rs/a', 'rs/b'], { qos: 1 });
    assert.equal(subscribes, 1);
    const before = connects;
    proxy.cutAll();
    // Polling the status could miss a reconnect faster than the poll; count CONNACKs instead.
    await until(
      'reconnected',
      () => connects > before && client.state.status === 'connected',
      10_000,
    );
    const publisher = open(t, broker.url(), { clientId: `${clientId}-pub` });
    await connected(publisher);
    await publisher.publish('rs/a', `${clientId}-a`, { qos: 1 });
    await publisher.publish('rs/b', `${clientId}-b`, { qos: 1 });
    await until('both messages after the reconnect', () => got.length >= 2, 10_000);
    assert.deepEqual(got.sort(), [`${clientId}-a`, `${clientId}-b`]);
    return { subscribes, sessionPresent: client.state.sessionPresent };
  };
  const clean = await counts(true, 'rs-clean');
  assert.equal(clean.sessionPresent, false);
  assert.equal(clean.subscribes, 2, 'session present = 0: one SUBSCRIBE restores the filters');
  const persistent = await counts(false, 'rs-persistent');
  assert.equal(persistent.sessionPresent, true);
  assert.equal(persistent.subscribes, 1, 'session present = 1: the broker kept them, none re-sent');
  t.diagnostic(
    `SUBSCRIBE packets: clean session ${clean.subscribes}, persistent session ${persistent.subscribes}`,
  );
});
