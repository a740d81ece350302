/**
 * Defects found on clustered brokers (issue 16) and the reconnect policy for permanent
 * refusals (issue 11), against a scripted fake broker: a broker that closes the connection on
 * a message, a QoS 2 message acknowledged with PUBACK, failover across equal nodes, a close
 * before CONNACK, and a refusal that must neither be hammered nor given up.
 * The same defects against real NATS and RabbitMQ: broker-defects-real.test.ts.
 */
import assert from 'node:assert/strict';
import { mock, type TestContext, test } from 'node:test';
import {
  type Client,
  type ClientOptions,
  type ClientState,
  ConnectionLostError,
  ConnectionRefusedError,
  connect,
  createClient,
  MqttErrorCode,
  memoryStore,
  PoisonMessageError,
  QosDowngradedError,
  resolveOptions,
} from 'courier-mqtt';
import type { Packet } from 'courier-mqtt/packet';
import {
  acceptSession,
  type FakeBroker,
  type FakeConnection,
  startFakeBroker,
} from '../../../../test/helpers/fake-broker.js';
import { freePort } from '../../../../test/helpers/ports.js';
import { refusal } from './fixture.js';

function client(t: TestContext, url: string, options: ClientOptions = {}): Client {
  const c = createClient(url, {
    clientId: 'defects-1',
    clean: false,
    reconnect: { minDelayMs: 10, maxDelayMs: 80, jitter: 0 },
    connectTimeoutMs: 2000,
    ...options,
  });
  t.after(() => c.end({ force: true }));
  return c;
}

/**
 * Serves every connection of `broker` with CONNACK 0, then hands each packet to `onPacket`
 * as it arrives. Stops after `maxConnections` (the test then fails on its own assertions
 * instead of looping forever).
 */
function serve(
  broker: FakeBroker,
  onPacket: (conn: FakeConnection, packet: Packet, index: number) => void,
  maxConnections = 20,
): { readonly connections: number } {
  const stats = { connections: 0 };
  void (async () => {
    while (stats.connections < maxConnections) {
      let conn: FakeConnection;
      try {
        conn = await acceptSession(broker);
      } catch {
        return; // the broker closed, or no client came back
      }
      const index = ++stats.connections;
      let seen = 1; // the CONNECT
      const look = (): void => {
        while (seen < conn.received.length) onPacket(conn, conn.received[seen++]!, index);
      };
      conn.socket.on('data', look);
      look();
    }
  })();
  return stats;
}

function recordStates(c: Client): ClientState[] {
  const states: ClientState[] = [];
  c.on('state', (s) => states.push(s));
  return states;
}

// ─── 1. a broker that closes the connection on a message ────────────────────────────────

test('a message the broker closes the connection on is given up as poison; the messages behind it flow', async (t) => {
  const broker = await startFakeBroker(t);
  // As NATS does: QoS 1 is acknowledged, a QoS 2 PUBLISH closes the connection.
  const served = serve(broker, (conn, packet) => {
    if (packet.type !== 'publish') return;
    if (packet.qos === 2) conn.close();
    else if (packet.qos === 1) conn.send({ type: 'puback', packetId: packet.packetId! });
  });
  const c = client(t, broker.url, {
    reconnect: { minDelayMs: 10, maxDelayMs: 80, jitter: 0, poisonThreshold: 3, poisonWindowMs: 0 },
  });
  const states = recordStates(c);
  const poisoned = c.publish('cmd/q2', 'exactly once?', { qos: 2 }).then(
    () => assert.fail('a QoS 2 publish the broker never took resolved'),
    (e: unknown) => e,
  );
  const rest = [1, 2, 3].map((i) => c.publish(`data/${i}`, String(i), { qos: 1 }));
  const error = await poisoned;
  assert.ok(error instanceof PoisonMessageError, `got ${String(error)}`);
  assert.equal(error.code, MqttErrorCode.POISON_MESSAGE);
  assert.equal(error.topic, 'cmd/q2');
  assert.equal(error.qos, 2);
  assert.equal(error.closes, 3);
  await Promise.all(rest);
  assert.equal(c.pendingCount, 0);
  // Three connections killed by the message, one that carried the rest.
  assert.equal(served.connections, 4);
  // The backoff was not reset by the CONNACKs of connections that died at once.
  const waits = states.filter((s) => s.status === 'reconnect-wait').map((s) => s.retryInMs);
  assert.deepEqual(waits, [10, 20, 40]);
  const lost = states.find((s) => s.status === 'reconnect-wait')?.lastError;
  assert.ok(lost instanceof ConnectionLostError);
  assert.equal(lost.beforeConnack, false);
  assert.match(lost.message, /^connection to mqtt:\/\/127\.0\.0\.1:\d+ closed by the server$/);
});

test('a connection that dies right after CONNACK does not reset the backoff', async (t) => {
  const broker = await startFakeBroker(t);
  const c = client(t, broker.url, {
    reconnect: { minDelayMs: 10, maxDelayMs: 1000, jitter: 0 },
  });
  const states = recordStates(c);
  for (let i = 0; i < 4; i++) {
    // The broker accepts the session, then goes away at once.
    const conn = await acceptSession(broker);
    await nextState(c, 'connected');
    conn.close();
    await nextState(c, 'reconnect-wait');
  }
  const waits = states.filter((s) => s.status === 'reconnect-wait').map((s) => s.retryInMs);
  assert.deepEqual(waits, [10, 20, 40, 80]);
});

test('keep-alive time-outs and closes before CONNACK never condemn a message (an ordinary outage)', async (t) => {
  const broker = await startFakeBroker(t);
  const c = client(t, broker.url, {
    keepaliveSec: 1,
    pingTimeoutMs: 200,
    reconnect: { minDelayMs: 10, maxDelayMs: 20, jitter: 0, poisonThreshold: 2 },
  });
  const done = c.publish('data/1', 'x', { qos: 1 });
  let failed: unknown;
  done.catch((e: unknown) => {
    failed = e;
  });
  // 1: accepted, the PUBLISH goes unanswered, so does the PINGREQ: keep-alive time-out.
  const first = await acceptSession(broker);
  await first.next('publish');
  await first.next('pingreq', 5000);
  // 2: closed before CONNACK (a network or broker restart).
  const second = await broker.accept(5000);
  await second.next('connect');
  second.close();
  // 3: accepted, the message resent, a keep-alive time-out again.
  const third = await acceptSession(broker, true);
  await third.next('publish');
  await third.next('pingreq', 5000);
  // 4: the broker is well again.
  const fourth = await acceptSession(broker, true);
  const resent = await fourth.next('publish');
  assert.equal(failed, undefined, `the message was condemned: ${String(failed)}`);
  fourth.send({ type: 'puback', packetId: (resent as { packetId: number }).packetId });
  await done;
});

// ─── 2. a QoS 2 message acknowledged with PUBACK ───────────────────────────────────────

test('PUBACK for a QoS 2 PUBLISH settles it with QosDowngradedError and frees its slot and record', async (t) => {
  const broker = await startFakeBroker(t);
  // As RabbitMQ does: QoS 2 is handled as QoS 1.
  serve(broker, (conn, packet) => {
    if (packet.type === 'publish' && packet.qos > 0) {
      conn.send({ type: 'puback', packetId: packet.packetId! });
    }
  });
  const store = memoryStore();
  const c = client(t, broker.url, { maxInflight: 1, store });
  const error = await c.publish('cmd/q2', 'x', { qos: 2 }).then(
    () => assert.fail('resolved'),
    (e: unknown) => e,
  );
  assert.ok(error instanceof QosDowngradedError, `got ${String(error)}`);
  assert.equal(error.code, MqttErrorCode.QOS_DOWNGRADED);
  assert.equal(error.topic, 'cmd/q2');
  assert.match(
    error.message,
    /downgraded it to QoS 1 \(delivered at least once, not exactly once\)/,
  );
  // The only in-flight slot is free again: a QoS 1 publish goes through.
  await c.publish('data/1', 'y', { qos: 1 });
  assert.equal(c.pendingCount, 0);
  await c.flush();
  await c.end({ timeoutMs: 60_000 }); // would wait out the time-out with the slot still held
  assert.deepEqual((await store.open()).outgoing, [], 'no record left in the store');
});

// ─── 3. failover across equal nodes ──────────────────────────────────────────────────

test("failover 'cluster': with the first node down, the second is tried at the first retry", async (t) => {
  const down = `mqtt://127.0.0.1:${await freePort()}`;
  const broker = await startFakeBroker(t);
  serve(broker, () => undefined);
  const c = client(t, down, {
    servers: [broker.url],
    reconnect: { minDelayMs: 10, maxDelayMs: 60_000, jitter: 0, failover: 'cluster' },
  });
  const attempts: string[] = [];
  let previous = '';
  for await (const s of c.states()) {
    if (s.status === 'connecting' && previous !== 'connecting') attempts.push(s.server);
    previous = s.status;
    if (s.status === 'reconnect-wait') {
      assert.equal(s.server, broker.url, 'the wait already names the next node');
      assert.equal(s.retryInMs, 10);
    }
    if (s.status === 'connected') break;
  }
  assert.deepEqual(attempts, [down, broker.url]);
});

test("failover 'backup' (default) keeps retrying the primary until a maximum wait failed", async (t) => {
  const down = `mqtt://127.0.0.1:${await freePort()}`;
  const broker = await startFakeBroker(t);
  serve(broker, () => undefined);
  const c = client(t, down, {
    servers: [broker.url],
    reconnect: { minDelayMs: 5, maxDelayMs: 20, jitter: 0 },
  });
  const attempts: string[] = [];
  let previous = '';
  for await (const s of c.states()) {
    if (s.status === 'connecting' && previous !== 'connecting') attempts.push(s.server);
    previous = s.status;
    if (s.status === 'connected') break;
  }
  // Waits 5, 10, 20 on the primary; the attempt after the 20 ms wait fails: the backup.
  assert.deepEqual(attempts, [down, down, down, down, broker.url]);
});

// ─── 4. a close before CONNACK ───────────────────────────────────────────────────────

test('a connection closed by the server before CONNACK says so', async (t) => {
  const broker = await startFakeBroker(t);
  const pending = connect(broker.url, { reconnect: false });
  const conn = await broker.accept();
  await conn.next('connect');
  conn.close();
  const error = await refusal(pending);
  assert.ok(error instanceof ConnectionLostError, `got ${String(error)}`);
  assert.equal(error.code, MqttErrorCode.CONNECTION_LOST);
  assert.equal(error.beforeConnack, true);
  assert.equal(error.server, broker.url);
  assert.match(
    error.message,
    new RegExp(
      `^connection to ${broker.url.replace(/\./g, '\\.')} closed by the server before CONNACK`,
    ),
  );
});

// ─── 5. permanent refusals (issue 11) ────────────────────────────────────────────────

test('a permanent refusal is reported as such and retried after refusedDelayMs, not before', async (t) => {
  const broker = await startFakeBroker(t);
  mock.timers.enable({ apis: ['setTimeout'] });
  t.after(() => mock.timers.reset());
  const c = client(t, broker.url, {
    reconnect: { minDelayMs: 1000, maxDelayMs: 8000, refusedDelayMs: 60_000, jitter: 0 },
  });
  const states = recordStates(c);
  const first = await broker.accept();
  await first.next('connect');
  first.send({ type: 'connack', sessionPresent: false, returnCode: 4 });
  const waiting = await nextState(c, 'reconnect-wait');
  assert.equal(waiting.retryInMs, 60_000);
  const refused = waiting.lastError;
  assert.ok(refused instanceof ConnectionRefusedError);
  assert.equal(refused.returnCode, 4);
  assert.equal(refused.permanent, true);
  assert.match(refused.message, /bad user name or password/);
  mock.timers.tick(59_999);
  await settle();
  assert.equal(c.state.status, 'reconnect-wait', 'no attempt before refusedDelayMs');
  mock.timers.tick(1);
  const second = await broker.accept();
  await second.next('connect');
  // The broker is now "server unavailable" (3): not permanent, and the backoff stays at max.
  second.send({ type: 'connack', sessionPresent: false, returnCode: 3 });
  const again = await nextState(c, 'reconnect-wait');
  assert.equal((again.lastError as ConnectionRefusedError).permanent, false);
  assert.equal(again.retryInMs, 8000);
  mock.timers.tick(8000);
  const third = await acceptSession(broker);
  assert.ok(third);
  await nextState(c, 'connected');
  const transitions = states.map((s) => s.status).filter((s, i, all) => s !== all[i - 1]);
  assert.deepEqual(transitions.slice(-5), [
    'reconnect-wait',
    'connecting',
    'reconnect-wait',
    'connecting',
    'connected',
  ]);
});

test('refusedDelayMs defaults to maxDelayMs; the new options are validated with the field named', () => {
  const resolved = resolveOptions('mqtt://h', { reconnect: { maxDelayMs: 90_000 } });
  assert.ok(resolved.reconnect !== false);
  assert.equal(resolved.reconnect.refusedDelayMs, 90_000);
  assert.equal(resolved.reconnect.failover, 'backup');
  assert.equal(resolved.reconnect.stableAfterMs, 10_000);
  assert.equal(resolved.reconnect.poisonThreshold, 3);
  assert.throws(
    () => resolveOptions('mqtt://h', { reconnect: { failover: 'ring' as 'cluster' } }),
    /reconnect\.failover: must be 'backup' or 'cluster'/,
  );
  assert.throws(
    () => resolveOptions('mqtt://h', { reconnect: { poisonThreshold: -1 } }),
    /reconnect\.poisonThreshold/,
  );
});

/** The next state with `status` (the current one counts). */
async function nextState(c: Client, status: ClientState['status']): Promise<ClientState> {
  if (c.state.status === status) return c.state;
  return new Promise((resolve) => {
    const listener = (s: ClientState): void => {
      if (s.status !== status) return;
      c.off('state', listener as (arg: never) => void);
      resolve(s);
    };
    c.on('state', listener);
  });
}

/** Lets pending I/O callbacks and promise reactions run (setImmediate is not mocked). */
function settle(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}
