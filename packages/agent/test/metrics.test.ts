// The agent's Prometheus metrics: `/metrics` on the console and on a server of its own, scraped
// and parsed with a Prometheus text-format parser (parse-prometheus-text-format), names checked
// against Prometheus conventions and values against what the agent and its client counted.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import mqtt from 'mqtt';
import parsePrometheusTextFormat from 'parse-prometheus-text-format';
import { ConfigError } from '../src/config/errors.js';
import { parseConfig } from '../src/config/validate.js';
import { agentMetrics, startMetricsServer } from '../src/web/metrics.js';
import { lucidConfig, MQTT_PASSWORD, REDIS_PASSWORD, startConsoleFixture } from './console-util.js';
import { waitFor } from './util.js';

interface Family {
  readonly name: string;
  readonly help: string;
  readonly type: string;
  readonly metrics: readonly {
    readonly value?: string;
    readonly labels?: Record<string, string>;
  }[];
}

async function scrape(url: string): Promise<{ text: string; type: string; families: Family[] }> {
  const response = await fetch(url);
  assert.equal(response.status, 200);
  const text = await response.text();
  return {
    text,
    type: response.headers.get('content-type') ?? '',
    families: parsePrometheusTextFormat(text) as Family[],
  };
}

/** The value of `name` whose labels include `labels`. */
function value(
  families: readonly Family[],
  name: string,
  labels: Record<string, string> = {},
): number {
  const family = families.find((f) => f.name === name);
  assert.ok(family !== undefined, `no family ${name}`);
  const sample = family.metrics.find((m) =>
    Object.entries(labels).every(([k, v]) => m.labels?.[k] === v),
  );
  assert.ok(sample !== undefined, `no ${name}${JSON.stringify(labels)}`);
  return Number(sample.value);
}

/** Prometheus naming: snake case, `courier_` prefix, counters `_total`, a unit on timed values. */
function checkConventions(families: readonly Family[]): void {
  for (const f of families) {
    assert.match(f.name, /^[a-z_:][a-z0-9_:]*$/, f.name);
    assert.ok(f.help.length > 0, `${f.name} has no help`);
    if (f.name.startsWith('courier_')) {
      if (f.type === 'COUNTER')
        assert.match(f.name, /_total$/, `${f.name}: counter without _total`);
      else assert.doesNotMatch(f.name, /_total$/, `${f.name}: _total on a ${f.type}`);
      if (/_(rtt|age|sync|timestamp)(_|$)/.test(f.name)) {
        assert.match(f.name, /_seconds(_total)?$/, `${f.name}: time without _seconds`);
      }
    }
  }
}

describe('Prometheus metrics', () => {
  it('the console serves /metrics without a session: client, rows, channels, Redis, process', async (t) => {
    const fx = await startConsoleFixture(t);
    // A payload the Valve row refuses, from another client.
    const rejected = new Promise<void>((resolve) => {
      fx.agent.on('rejected', () => resolve());
    });
    const observer = await mqtt.connectAsync(fx.broker.url(), {
      username: 'observer',
      password: 'observer-pw',
    });
    t.after(() => observer.endAsync());
    await observer.publishAsync('Valve', 'Maybe', { qos: 1 });
    await rejected;
    // OfficeTemp publishes every second: wait for one to complete.
    await waitFor(
      () => (fx.agent.snapshot().rows.find((r) => r.topic === 'OfficeTemp')?.published ?? 0) > 0,
      'a publish of OfficeTemp',
    );

    const { text, type, families } = await scrape(`${fx.web.url}/metrics`);
    assert.match(type, /^text\/plain; version=0\.0\.4/);
    checkConventions(families);
    for (const secret of [MQTT_PASSWORD, REDIS_PASSWORD, 'observer-pw']) {
      assert.ok(!text.includes(secret), 'a secret reached /metrics');
    }

    // The library's counters, as the client counts them (one CONNECT, its SUBSCRIBE).
    const client = fx.agent.client!.metrics();
    assert.equal(value(families, 'courier_mqtt_packets_sent_total', { type: 'connect' }), 1);
    assert.equal(value(families, 'courier_mqtt_packets_received_total', { type: 'connack' }), 1);
    assert.equal(
      value(families, 'courier_mqtt_packets_sent_total', { type: 'subscribe' }),
      client.packetsOut.subscribe,
    );
    assert.ok(value(families, 'courier_mqtt_sent_bytes_total', { type: 'publish' }) > 0);
    assert.ok(value(families, 'courier_mqtt_packets_received_total', { type: 'publish' }) >= 1);
    assert.equal(value(families, 'courier_mqtt_connects_total'), 1);
    assert.equal(value(families, 'courier_mqtt_connected'), 1);
    assert.equal(value(families, 'courier_mqtt_queued_messages'), client.queued);

    // Per topic row.
    assert.equal(value(families, 'courier_topic_rejected_total', { topic: 'Valve' }), 1);
    assert.equal(value(families, 'courier_topic_received_total', { topic: 'Valve' }), 0);
    const officeTemp = value(families, 'courier_topic_published_total', {
      topic: 'OfficeTemp',
      direction: 'publish',
    });
    assert.ok(officeTemp >= 1);
    assert.ok(
      officeTemp <= fx.agent.snapshot().rows.find((r) => r.topic === 'OfficeTemp')!.published,
    );
    assert.equal(value(families, 'courier_agent_rejected_total'), 1);

    // Every channel has a value age; the Redis bridge (pointed at a closed port) is down.
    const ages = families.find((f) => f.name === 'courier_channel_value_age_seconds')!;
    assert.equal(ages.metrics.length, 16);
    assert.ok(ages.metrics.every((m) => Number(m.value) >= 0));
    assert.equal(
      value(families, 'courier_channel_value_age_seconds', { name: 'OfficeTemp' }) >= 0,
      true,
    );
    assert.equal(value(families, 'courier_redis_connected'), 0);

    // prom-client's process metrics.
    assert.ok(value(families, 'process_cpu_user_seconds_total') > 0);
    assert.ok(value(families, 'process_resident_memory_bytes') > 0);
  });

  it('metrics.enabled serves them on a port of their own; other paths are 404', async (t) => {
    const fx = await startConsoleFixture(t);
    const metrics = agentMetrics(fx.agent);
    const server = await startMetricsServer(metrics, '127.0.0.1', 0);
    t.after(async () => {
      metrics.close();
      await server.close();
    });
    const { families } = await scrape(`${server.url}/metrics`);
    checkConventions(families);
    assert.equal(value(families, 'courier_mqtt_packets_sent_total', { type: 'connect' }), 1);
    assert.equal((await fetch(`${server.url}/`)).status, 404);
    assert.equal((await fetch(`${server.url}/metrics`, { method: 'POST' })).status, 404);
  });

  it('the metrics section: defaults, and a bad port or unknown key refused by name', () => {
    const base = lucidConfig('127.0.0.1', 1883);
    const config = parseConfig(base);
    assert.deepEqual(config.metrics, { enabled: false, host: '127.0.0.1', port: 9464 });
    assert.throws(
      () => parseConfig({ ...base, metrics: { enabled: true, port: 70000 } }),
      (e) => e instanceof ConfigError && e.issues.some((i) => i.path === 'metrics.port'),
    );
    assert.throws(
      () => parseConfig({ ...base, metrics: { path: '/x' } }),
      (e) => e instanceof ConfigError && JSON.stringify(e.issues).includes('metrics'),
    );
  });
});
