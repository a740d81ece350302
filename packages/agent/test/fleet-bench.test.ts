// `courier bench conn|pub|sub`: a fleet of 200 clients against a Mosquitto the test starts.
// Correctness only (rates depend on the machine): every client connected, as the broker's own
// log says; every message counted, by an independent subscriber (MQTT.js) and by the fleet.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import mqtt from 'mqtt';
import { startMosquitto } from '../../../test/helpers/mosquitto.js';
import { runFleet, topicOf } from '../src/tools/fleet.js';
import { runCli, waitFor } from './util.js';

const CLIENTS = 200;

/** Client ids the broker logged as connected, among those starting with `prefix`. */
function connectedIds(log: string, prefix: string): Set<string> {
  const ids = new Set<string>();
  for (const m of log.matchAll(/New client connected from \S+ as (\S+)/g)) {
    if (m[1]!.startsWith(prefix)) ids.add(m[1]!);
  }
  return ids;
}

describe('courier bench: the fleet modes', () => {
  it('conn: 200 clients connect, paced by the concurrency bound, each seen by the broker', async (t) => {
    const b = await startMosquitto(t);
    const progress: number[] = [];
    const r = await runFleet(
      'conn',
      {
        host: b.host,
        port: b.port,
        id: 'fleetconn',
        clients: CLIENTS,
        connectRate: 0,
        concurrency: 20,
      },
      (p) => progress.push(p.connected),
    );
    assert.equal(r.connected, CLIENTS);
    assert.equal(r.connectErrors, 0);
    assert.ok(r.connectRate > 0);
    assert.ok(r.rssPerConnKiB !== undefined);
    assert.equal(progress.at(-1), CLIENTS);
    await waitFor(() => connectedIds(b.log(), 'fleetconn-').size === CLIENTS, 'the broker log');
  });

  it('pub: 200 clients publish 5 messages each to their own topic (%i); all arrive', async (t) => {
    const b = await startMosquitto(t);
    const observer = await mqtt.connectAsync(b.url());
    t.after(() => observer.endAsync());
    const perTopic = new Map<string, number>();
    observer.on('message', (topic) => perTopic.set(topic, (perTopic.get(topic) ?? 0) + 1));
    await observer.subscribeAsync('fleet/+/data', { qos: 1 });
    const r = await runFleet('pub', {
      host: b.host,
      port: b.port,
      clients: CLIENTS,
      connectRate: 0,
      messages: 5,
      rate: 0,
      qos: 1,
      topic: 'fleet/%i/data',
    });
    assert.equal(r.connected, CLIENTS);
    assert.equal(r.published, CLIENTS * 5);
    assert.equal(r.publishErrors, 0);
    assert.ok(r.cpuUsPerMsg !== undefined && r.cpuUsPerMsg > 0);
    // QoS 1 to a QoS 1 subscriber: every one arrives (at least once).
    await waitFor(
      () => [...perTopic.values()].reduce((a, n) => a + n, 0) >= CLIENTS * 5,
      'every message at the observer',
    );
    assert.equal(perTopic.size, CLIENTS);
    for (let i = 0; i < CLIENTS; i++) {
      assert.ok((perTopic.get(topicOf('fleet/%i/data', i)) ?? 0) >= 5, `client ${i}`);
    }
  });

  it('sub: `courier bench sub --json`, 200 subscribers each get every message, with percentiles', async (t) => {
    const b = await startMosquitto(t);
    const r = await runCli(
      [
        'bench',
        'sub',
        '-h',
        b.host,
        '-p',
        String(b.port),
        '-i',
        'fleetsub',
        '--clients',
        String(CLIENTS),
        '--connect-rate',
        '0',
        '--messages',
        '5',
        '--rate',
        '0',
        '-q',
        '1',
        '-t',
        'fanout/%i',
        '--json',
      ],
      undefined,
      60_000,
    );
    assert.equal(r.status, 0, r.stderr);
    const result = JSON.parse(r.stdout) as {
      connected: number;
      received: number;
      expected: number;
      published: number;
      latencyMs: { p50: number; p95: number; p99: number; max: number };
    };
    assert.equal(result.connected, CLIENTS);
    assert.equal(result.published, 5);
    assert.deepEqual([result.received, result.expected], [CLIENTS * 5, CLIENTS * 5]);
    const l = result.latencyMs;
    assert.ok(l.p50 <= l.p95 && l.p95 <= l.p99 && l.p99 <= l.max, JSON.stringify(l));
    // The 200 subscribers and the publisher, as the broker saw them.
    await waitFor(() => connectedIds(b.log(), 'fleetsub-').size === CLIENTS + 1, 'the broker log');
  });

  it('refuses a bad mode or flag before connecting', async () => {
    const mode = await runCli(['bench', 'swarm', '-p', '1']);
    assert.equal(mode.status, 1);
    assert.match(mode.stderr, /unknown bench mode 'swarm': use conn, pub or sub/);
    await assert.rejects(
      runFleet('pub', { port: 1, topic: 'a/#' }),
      /--topic 'a\/#' must be a topic name/,
    );
    await assert.rejects(
      runFleet('conn', { port: 1, clients: 0 }),
      /--clients must be a whole number/,
    );
  });
});
