/**
 * The cluster failover scenario, run on a 3-node NATS cluster and a 3-node RabbitMQ cluster
 * (the tests start them): the node a publisher is connected to is SIGKILLed in the middle of
 * 20,000 numbered QoS 1 messages; a persistent subscriber on another node counts them: none
 * may be lost, duplicates are counted and reported, the failover time is measured and printed
 * (only correctness is asserted). The killed node is restarted and rejoins (two of three
 * nodes are the quorum both brokers' replication needs); then the subscriber's node is
 * killed: its session (subscription and the messages queued while it was away) must survive
 * on the cluster and resume on another node.
 *
 * @module
 */
import assert from 'node:assert/strict';
import type { TestContext } from 'node:test';
import { type Client, type ClientOptions, createClient, type Message } from 'courier-mqtt';
import type { ClusterNode } from '../../../../test/helpers/cluster.js';
import { within } from '../../../../test/helpers/within.js';

const text = (m: Message): string => new TextDecoder().decode(m.payload);

export const TOTAL = 20_000;
const KILL_AFTER = 5_000;

function open(t: TestContext, servers: readonly string[], options: ClientOptions): Client {
  const [first, ...rest] = servers;
  const c = createClient(first!, {
    servers: rest,
    // Equal nodes: move on at the first failure, with short waits (loopback).
    reconnect: { minDelayMs: 250, maxDelayMs: 2000, jitter: 0, failover: 'cluster' },
    connectTimeoutMs: 5000,
    ...options,
  });
  t.after(() => c.end({ force: true }));
  return c;
}

/** Resolves with the next `connected` state (the current one if connected and `now`). */
async function nextConnected(c: Client, skipCurrent = false): Promise<string> {
  let first = true;
  for await (const s of c.states()) {
    if (s.status === 'connected' && !(first && skipCurrent)) return s.server;
    if (s.status === 'closed') throw s.lastError ?? new Error('closed');
    first = false;
  }
  throw new Error('state stream ended');
}

/** Counts numbered messages on `prefix/<n>`: distinct, duplicates, and a wait for a count. */
function counter(c: Client, prefix: string) {
  const seen = new Set<number>();
  let duplicates = 0;
  const waiters: { n: number; resolve: () => void }[] = [];
  c.on('message', (m) => {
    if (!m.topic.startsWith(`${prefix}/`)) return;
    const n = Number(text(m));
    if (seen.has(n)) duplicates++;
    else seen.add(n);
    for (const w of waiters.splice(0)) {
      if (seen.size >= w.n) w.resolve();
      else waiters.push(w);
    }
  });
  return {
    seen,
    get duplicates() {
      return duplicates;
    },
    reach(n: number, ms: number): Promise<void> {
      if (seen.size >= n) return Promise.resolve();
      return new Promise<void>((resolve, reject) => {
        const timer = setTimeout(
          () => reject(new Error(`${seen.size} of ${n} distinct messages within ${ms} ms`)),
          ms,
        );
        waiters.push({
          n,
          resolve: () => {
            clearTimeout(timer);
            resolve();
          },
        });
      });
    },
  };
}

/** Node URLs starting at index `i`, then the others in order. */
function from(cluster: { nodes: readonly ClusterNode[] }, i: number): string[] {
  const urls = cluster.nodes.map((n) => n.url);
  return [...urls.slice(i), ...urls.slice(0, i)];
}

/** What the broker does when the node holding a client's connection dies. */
export interface ClusterExpectations {
  /** Whether the surviving nodes publish the dead connection's Will. */
  readonly willOnNodeLoss: boolean;
}

/** Runs the scenario; `label` names the broker in the figures printed. */
export async function runClusterFailover(
  t: TestContext,
  cluster: { readonly nodes: readonly ClusterNode[] },
  label: string,
  expect: ClusterExpectations,
): Promise<void> {
  const [a, b, c] = cluster.nodes;
  // JetStream elects its leaders after the listeners are up, and NATS refuses an MQTT
  // CONNECT until then: wait until every node takes one.
  for (const node of cluster.nodes) {
    const probe = open(t, [node.url], { clientId: `ready-${node.name}` });
    await within(nextConnected(probe), 60_000, `node ${node.name} ready`);
    await probe.end();
  }

  // The subscriber on node 2 (then 3, 1), persistent.
  const sub = open(t, from(cluster, 1), { clientId: 'cluster-sub', clean: false });
  const subStates: string[] = [];
  sub.on('state', (st) =>
    subStates.push(`${st.status} ${st.server} ${st.lastError?.message ?? ''}`.slice(0, 300)),
  );
  const count = counter(sub, 'fleet');
  assert.equal(await nextConnected(sub), b!.url);
  const s = await sub.subscribe('fleet/#', { qos: 1 });
  assert.deepEqual(s.granted, [1]);

  // The publisher on node 1 (then 2, 3).
  const pub = open(t, from(cluster, 0), {
    clientId: 'cluster-pub',
    clean: false,
    // While JetStream elects new stream leaders after a node loss (seconds), NATS closes
    // the connection on every QoS 1 PUBLISH it cannot store, right after CONNACK. The
    // poison rule's count alone took that for a message that kills connections and gave a
    // good one up (3 closes, with 50 ms and with 1 s first waits); its default window
    // (`poisonWindowMs`, 30 s from the first close) outlasts the election. The default
    // poison policy runs here: a lost message fails this test.
    reconnect: {
      minDelayMs: 250,
      maxDelayMs: 2000,
      jitter: 0,
      failover: 'cluster',
    },
    offlineQueue: { maxMessages: TOTAL },
  });
  assert.equal(await nextConnected(pub), a!.url);

  let killedAt = 0;
  let failover: Promise<{ server: string; ms: number }> | undefined;
  const started = Date.now();
  const pending: Promise<void>[] = [];
  let acked = 0;
  for (let i = 0; i < TOTAL; i++) {
    pending.push(
      pub.publish(`fleet/${i}`, String(i), { qos: 1 }).then(() => {
        acked++;
        if (acked === KILL_AFTER) {
          // Kill the publisher's node in the middle of the stream, messages in flight.
          killedAt = Date.now();
          failover = nextConnected(pub, true).then((server) => ({
            server,
            ms: Date.now() - killedAt,
          }));
          void a!.kill();
        }
      }),
    );
    // A window of 2,000 outstanding publishes keeps memory bounded.
    if (pending.length === 2_000)
      await within(Promise.all(pending.splice(0)), 120_000, `publishes up to ${i}`);
  }
  await within(Promise.all(pending), 120_000, 'the last publishes');
  const publishMs = Date.now() - started;
  assert.ok(failover, 'the node was killed');
  const moved = await within(failover, 60_000, 'publisher failover');
  assert.notEqual(moved.server, a!.url, 'the publisher moved to another node');
  assert.equal(a!.alive, false);

  await count.reach(TOTAL, 120_000);
  assert.equal(count.seen.size, TOTAL, 'none lost');
  for (let i = 0; i < TOTAL; i++) assert.ok(count.seen.has(i), `message ${i} lost`);
  t.diagnostic(
    `${label} cluster: ${TOTAL} QoS 1 messages in ${publishMs} ms; publisher failover ${moved.ms} ms (SIGKILL to CONNACK from ${moved.server}); ${count.duplicates} duplicates, 0 lost`,
  );
  console.log(
    `[figures] ${label}-cluster publish=${TOTAL} ms=${publishMs} failoverMs=${moved.ms} duplicates=${count.duplicates} lost=0`,
  );

  // A client with a Will on the subscriber's node, watched from node 3: NATS publishes no
  // Will when the node holding the connection dies (the matrix records it).
  const watched = open(t, [b!.url], {
    clientId: 'cluster-will',
    reconnect: false,
    will: { topic: 'wills/cluster-will', payload: 'gone', qos: 0 },
  });
  await within(nextConnected(watched), 30_000, 'will client');
  const observer = open(t, [c!.url], { clientId: 'cluster-observer' });
  await within(nextConnected(observer), 30_000, 'observer');
  const wills: Message[] = [];
  const sentinel = new Promise<void>((resolve) => {
    observer.on('message', (m) => {
      if (m.topic === 'wills/sentinel') resolve();
      else wills.push(m);
    });
  });
  // QoS 0 end to end: plain NATS subscriptions, no JetStream consumer that a node loss
  // would have to move.
  await observer.subscribe('wills/#', { qos: 0 });

  // The killed node comes back and rejoins (two of three nodes are the quorum JetStream
  // needs: with a second node down the last one refuses every MQTT CONNECT).
  await a!.restart();
  const back = open(t, [a!.url], { clientId: 'ready-n1-again' });
  await within(nextConnected(back), 60_000, 'node 1 back');
  await back.end();

  // Kill the subscriber's node; publish while the subscriber is away.
  assert.equal(sub.state.server, b!.url);
  const subKilledAt = Date.now();
  const resumed = nextConnected(sub, true);
  await b!.kill();
  const more = 1_000;
  const later: Promise<void>[] = [];
  for (let i = TOTAL; i < TOTAL + more; i++) {
    later.push(pub.publish(`fleet/${i}`, String(i), { qos: 1 }));
  }
  const subServer = await within(resumed, 60_000, 'subscriber resuming').catch((e: unknown) => {
    console.log(subStates.slice(-20).join('\n'));
    for (const n of cluster.nodes) {
      const lines = n
        .log()
        .split('\n')
        .filter((l: string) => /cluster-sub|\[ERR\]/.test(l));
      console.log(`---- ${n.name}\n${lines.slice(-15).join('\n')}`);
    }
    throw e;
  });
  console.log(`subscriber resumed on ${subServer}, session present ${sub.state.sessionPresent}`);
  const subFailoverMs = Date.now() - subKilledAt;
  assert.notEqual(subServer, b!.url, 'the subscriber resumed on another node');
  assert.equal(sub.state.sessionPresent, true, 'its session survived on the cluster');
  await within(Promise.all(later), 60_000, 'publishes while the subscriber was away');
  await count.reach(TOTAL + more, 120_000);
  assert.equal(count.seen.size, TOTAL + more, 'none lost across the subscriber node loss');
  t.diagnostic(
    `${label} cluster: subscriber resumed on ${subServer} ${subFailoverMs} ms after its node was killed, session present; ${count.duplicates} duplicates in total`,
  );
  console.log(
    `[figures] ${label}-cluster subscriberFailoverMs=${subFailoverMs} duplicatesTotal=${count.duplicates}`,
  );

  // By now the survivors have handled the lost connection's aftermath: no Will came.
  await pub.publish('wills/sentinel', 'end', { qos: 0 });
  await within(sentinel, 30_000, 'will sentinel');
  assert.deepEqual(
    wills.map((m) => m.topic),
    expect.willOnNodeLoss ? ['wills/cluster-will'] : [],
    `${label}: the Will of a connection lost with its node: update docs/brokers.md`,
  );
}
