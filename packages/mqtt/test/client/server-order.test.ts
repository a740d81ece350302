/**
 * `serverOrder`: the servers tried as given, or shuffled once per client with an injectable
 * random source (so a fleet spreads across a cluster's nodes, and tests know the order).
 */
import assert from 'node:assert/strict';
import { type TestContext, test } from 'node:test';
import { type Client, type ClientOptions, createClient, InvalidOptionError } from 'courier-mqtt';
import { startMosquitto } from '../../../../test/helpers/mosquitto.js';
import { freePort } from '../../../../test/helpers/ports.js';
import { resolveOptions } from '../../src/client/options.js';

const NODES = ['mqtt://n1:1883', 'mqtt://n2:1883', 'mqtt://n3:1883', 'mqtt://n4:1883'];

/** A source that returns `values` in turn, and fails the test if asked for more. */
function scripted(...values: number[]): () => number {
  return () => {
    const v = values.shift();
    if (v === undefined) assert.fail('the random source was called more often than scripted');
    return v;
  };
}

/** A small seeded generator (mulberry32), so "random" runs are the same on every machine. */
function seeded(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let x = a;
    x = Math.imul(x ^ (x >>> 15), x | 1);
    x ^= x + Math.imul(x ^ (x >>> 7), x | 61);
    return ((x ^ (x >>> 14)) >>> 0) / 4294967296;
  };
}

function order(options: ClientOptions): string[] {
  const [first, ...rest] = NODES;
  return resolveOptions(first!, { servers: rest, ...options }).servers.map((s) => s.url);
}

test("'in-order' (the default) keeps the servers as given, primary first", () => {
  assert.deepEqual(order({}), NODES);
  assert.deepEqual(order({ serverOrder: 'in-order', random: scripted(0.9) }), NODES);
  assert.equal(resolveOptions(NODES[0]!).serverOrder, 'in-order');
});

test("'random' shuffles once with the given source (Fisher-Yates), primary included", () => {
  // i = 3: j = floor(0.99 * 4) = 3 (stays); i = 2: j = floor(0 * 3) = 0 (swap n1, n3);
  // i = 1: j = floor(0.6 * 2) = 1 (stays).
  assert.deepEqual(order({ serverOrder: 'random', random: scripted(0.99, 0, 0.6) }), [
    'mqtt://n3:1883',
    'mqtt://n2:1883',
    'mqtt://n1:1883',
    'mqtt://n4:1883',
  ]);
  // Every draw 0: each position swaps with the first, a rotation.
  assert.deepEqual(order({ serverOrder: 'random', random: scripted(0, 0, 0) }), [
    'mqtt://n2:1883',
    'mqtt://n3:1883',
    'mqtt://n4:1883',
    'mqtt://n1:1883',
  ]);
});

test("'random' spreads a fleet: each node comes first for about a quarter of 4,000 clients", () => {
  const random = seeded(16);
  const firsts = new Map<string, number>();
  for (let i = 0; i < 4000; i++) {
    const servers = order({ serverOrder: 'random', random });
    assert.deepEqual([...servers].sort(), NODES, 'a shuffle is a permutation');
    firsts.set(servers[0]!, (firsts.get(servers[0]!) ?? 0) + 1);
  }
  assert.deepEqual([...firsts.keys()].sort(), NODES);
  // A uniform shuffle gives 1000 each (σ ≈ 27); 'in-order' would give 4000 to n1.
  for (const [node, count] of firsts) assert.ok(count > 850 && count < 1150, `${node}: ${count}`);
});

test('serverOrder and random are validated when the options are given, with the field named', () => {
  const refused = (options: unknown, field: string, pattern: RegExp): void => {
    assert.throws(
      () => resolveOptions(NODES[0]!, { servers: NODES.slice(1), ...(options as ClientOptions) }),
      (e: unknown) =>
        e instanceof InvalidOptionError && e.field === field && pattern.test(e.message),
      JSON.stringify(options),
    );
  };
  refused({ serverOrder: 'shuffle' }, 'serverOrder', /'in-order' or 'random', got "shuffle"/);
  refused({ serverOrder: 1 }, 'serverOrder', /got 1/);
  refused({ random: 0.5 }, 'random', /must be a function/);
  refused({ serverOrder: 'random', random: () => 1 }, 'random', /\[0, 1\), returned 1/);
  refused({ serverOrder: 'random', random: () => -0.1 }, 'random', /returned -0\.1/);
  refused({ random: () => Number.NaN }, 'random', /returned null/);
  refused({ random: () => '0.5' }, 'random', /returned "0\.5"/);
  // A near-miss spelling is refused as an unknown key.
  refused({ serverorder: 'random' }, 'serverorder', /serverOrder/);
  // createClient refuses before any connection is attempted.
  assert.throws(
    () =>
      createClient(NODES[0]!, { serverOrder: 'random', servers: NODES.slice(1), random: () => 2 }),
    (e: unknown) => e instanceof InvalidOptionError && e.field === 'random',
  );
});

function open(t: TestContext, url: string, options: ClientOptions): Client {
  const c = createClient(url, {
    reconnect: { minDelayMs: 10, maxDelayMs: 50, jitter: 0, failover: 'cluster' },
    connectTimeoutMs: 5000,
    ...options,
  });
  t.after(() => c.end({ force: true }));
  return c;
}

/** The servers the client tried, in order, until it was connected. */
async function attempts(c: Client): Promise<string[]> {
  const tried: string[] = [];
  for await (const s of c.states()) {
    if (s.status === 'connecting' || s.status === 'connected') {
      if (tried.at(-1) !== s.server || s.status === 'connecting') tried.push(s.server);
    }
    if (s.status === 'connected') return tried;
  }
  return tried;
}

/** `values` in turn, then 0 (the reconnect jitter draws from the same source). */
function thenZero(...values: number[]): () => number {
  return () => values.shift() ?? 0;
}

test('the client tries the servers in the shuffled order', async (t) => {
  const broker = await startMosquitto(t);
  const dead1 = `mqtt://127.0.0.1:${await freePort()}`;
  const dead2 = `mqtt://127.0.0.1:${await freePort()}`;
  const live = broker.url();
  // [dead1, dead2, live] shuffled by (0, 0): i = 2 swaps with 0, i = 1 swaps with 0 →
  // [dead2, live, dead1]: one failed attempt, then the live broker.
  const a = open(t, dead1, {
    servers: [dead2, live],
    serverOrder: 'random',
    random: thenZero(0, 0),
  });
  const triedA = await attempts(a);
  assert.deepEqual(Array.from(new Set(triedA)), [dead2, live]);
  // (0.5, 0): i = 2: j = 1 → [dead1, live, dead2]; i = 1: j = 0 → [live, dead1, dead2].
  const b = open(t, dead1, {
    servers: [dead2, live],
    serverOrder: 'random',
    random: thenZero(0.5, 0),
  });
  const triedB = await attempts(b);
  assert.deepEqual(Array.from(new Set(triedB)), [live]);
});
