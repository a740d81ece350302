/**
 * Defects found on clustered brokers (issue 16), against the real brokers, each started by
 * the test on free loopback ports with its own configuration and data directory:
 * - NATS 2.9 (JetStream + MQTT) has no QoS 2 and closes the connection on a QoS 2 PUBLISH;
 * - RabbitMQ 3.10 (rabbitmq_mqtt) answers a QoS 2 PUBLISH with PUBACK.
 */
import assert from 'node:assert/strict';
import { type TestContext, test } from 'node:test';
import {
  type Client,
  type ClientOptions,
  ConnectionLostError,
  createClient,
  type Message,
  PoisonMessageError,
  QosDowngradedError,
} from 'courier-mqtt';
import { startNats } from '../../../../test/helpers/nats.js';
import { startRabbitMq } from '../../../../test/helpers/rabbitmq.js';

function open(t: TestContext, url: string, options: ClientOptions): Client {
  const c = createClient(url, {
    reconnect: { minDelayMs: 20, maxDelayMs: 200, jitter: 0 },
    connectTimeoutMs: 5000,
    ...options,
  });
  t.after(() => c.end({ force: true }));
  return c;
}

async function connected(c: Client): Promise<void> {
  for await (const s of c.states()) if (s.status === 'connected') return;
}

/** Resolves once `n` messages arrived at `c`. */
function collect(c: Client, n: number): { got: Message[]; all: Promise<void> } {
  const got: Message[] = [];
  const all = new Promise<void>((resolve) => {
    c.on('message', (m) => {
      got.push(m);
      if (got.length === n) resolve();
    });
  });
  return { got, all };
}

test('NATS: a QoS 2 publish is given up as poison, the QoS 1 publishes behind it complete, reconnects are bounded', async (t) => {
  const nats = await startNats(t);
  const sub = open(t, nats.url, { clientId: 'defects-nats-sub', clean: true });
  await connected(sub);
  const received = collect(sub, 5);
  await sub.subscribe('data/#', { qos: 1 });

  // A short window: the message is condemned by its closes over 1 s, not by the count alone.
  const pub = open(t, nats.url, {
    clientId: 'defects-nats-pub',
    clean: false,
    reconnect: { minDelayMs: 20, maxDelayMs: 200, jitter: 0, poisonWindowMs: 1000 },
  });
  let connections = 0;
  const losses: unknown[] = [];
  pub.on('state', (s) => {
    if (s.status === 'connected') connections++;
    if (s.status === 'reconnect-wait') losses.push(s.lastError);
  });
  await connected(pub);
  const poisoned = pub.publish('cmd/q2', 'exactly once?', { qos: 2 }).then(
    () => assert.fail('NATS has no QoS 2, yet the publish resolved'),
    (e: unknown) => e,
  );
  const rest = [1, 2, 3, 4, 5].map((i) => pub.publish(`data/${i}`, String(i), { qos: 1 }));
  const error = await poisoned;
  assert.ok(error instanceof PoisonMessageError, `got ${String(error)}`);
  assert.equal(error.topic, 'cmd/q2');
  assert.equal(error.qos, 2);
  assert.ok(error.closes > 3, `condemned after ${error.closes} closes: the window, not the count`);
  await Promise.all(rest);
  await received.all;
  assert.deepEqual(received.got.map((m) => m.topic).sort(), [
    'data/1',
    'data/2',
    'data/3',
    'data/4',
    'data/5',
  ]);
  // The connections NATS closed (one per close counted against the message, bounded by the
  // backoff over the window), and the one that carried the rest.
  assert.equal(losses.length, error.closes, `losses: ${losses.map(String).join('; ')}`);
  for (const loss of losses) assert.ok(loss instanceof ConnectionLostError, String(loss));
  assert.equal(connections, error.closes + 1);
  assert.match(nats.log(), /publish QoS=2 not supported/);
});

test('RabbitMQ: PUBACK for a QoS 2 publish settles it with QosDowngradedError; the slot is freed and end() does not hang', async (t) => {
  const rabbit = await startRabbitMq(t);
  const sub = open(t, rabbit.url, { clientId: 'defects-rabbit-sub', clean: true });
  await connected(sub);
  const received = collect(sub, 2);
  await sub.subscribe('cmd/#', { qos: 1 });

  const pub = open(t, rabbit.url, { clientId: 'defects-rabbit-pub', maxInflight: 1 });
  await connected(pub);
  const error = await pub.publish('cmd/q2', 'exactly once?', { qos: 2 }).then(
    () => assert.fail('resolved as if delivered exactly once'),
    (e: unknown) => e,
  );
  assert.ok(error instanceof QosDowngradedError, `got ${String(error)}`);
  assert.equal(error.topic, 'cmd/q2');
  // With maxInflight 1, this completes only if the downgraded message freed its slot.
  await pub.publish('cmd/q1', 'after', { qos: 1 });
  assert.equal(pub.pendingCount, 0);
  // Delivered at least once: the subscriber has both.
  await received.all;
  assert.deepEqual(received.got.map((m) => m.topic).sort(), ['cmd/q1', 'cmd/q2']);
  await pub.end({ timeoutMs: 60_000 });
  assert.equal(pub.state.status, 'closed');
  assert.equal(pub.state.lastError, undefined);
});
