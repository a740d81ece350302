/**
 * The agent's Prometheus metrics, through `prom-client` (the ecosystem's standard client, its
 * text format and its process metrics): the MQTT client's counters (`client.metrics()`), the
 * topic table's per-row counts, each channel's value age, the Redis bridge's state, the agent's
 * own counts, and Node's process metrics. Served as `GET /metrics` by the console and, with the
 * `metrics` section, by a small server of its own ({@link startMetricsServer}).
 *
 * Every value is read from the agent when Prometheus scrapes (prom-client's `collect`): nothing
 * is counted twice and nothing runs between scrapes. Names follow Prometheus conventions:
 * `courier_` prefix, `_total` for counters, the unit in the name (`_bytes`, `_seconds`).
 *
 * A counter read from the MQTT client starts again from 0 when the agent makes a new client
 * (a configuration change that needs a new connection): Prometheus treats that as a reset.
 *
 * @module
 */

import { createServer, type Server } from 'node:http';
import type { PacketType } from 'courier-mqtt';
import { Counter, collectDefaultMetrics, Gauge, Registry } from 'prom-client';
import type { Agent } from '../agent/agent.js';

type Labels = Record<string, string | number>;
type Sample = readonly [Labels, number];

/** The agent's metrics registry. */
export interface AgentMetrics {
  readonly registry: Registry;
  /** The exposition text (`text/plain; version=0.0.4`). */
  render(): Promise<string>;
  /** The Content-Type of {@link render}'s text. */
  readonly contentType: string;
  /** Stops following the agent's channel events. */
  close(): void;
}

/**
 * Builds the registry of `agent`'s metrics. One per agent: the process metrics are registered
 * on this registry only, never on prom-client's global one.
 */
export function agentMetrics(agent: Agent): AgentMetrics {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });

  /** A counter whose values are read at scrape time. */
  const counter = (
    name: string,
    help: string,
    labelNames: readonly string[],
    read: () => readonly Sample[],
  ): void => {
    new Counter({
      name,
      help,
      labelNames,
      registers: [registry],
      collect() {
        this.reset();
        for (const [labels, value] of read()) this.inc(labels, value);
      },
    });
  };
  /** A gauge whose values are read at scrape time. */
  const gauge = (
    name: string,
    help: string,
    labelNames: readonly string[],
    read: () => readonly Sample[],
  ): void => {
    new Gauge({
      name,
      help,
      labelNames,
      registers: [registry],
      collect() {
        this.reset();
        for (const [labels, value] of read()) this.set(labels, value);
      },
    });
  };

  const client = () => agent.client?.metrics();
  const byType =
    (pick: (m: NonNullable<ReturnType<typeof client>>) => Record<PacketType, number>) =>
    (): Sample[] => {
      const m = client();
      // The library's per-type counts hold every packet type, always in the same order: one
      // sample each, so the agent keeps no list of its own to fall out of step with it.
      return m === undefined
        ? []
        : Object.entries(pick(m)).map(([type, n]) => [{ type }, n] as const);
    };
  const one =
    (read: (m: NonNullable<ReturnType<typeof client>>) => number | undefined) => (): Sample[] => {
      const m = client();
      const value = m === undefined ? undefined : read(m);
      return value === undefined ? [] : [[{}, value]];
    };

  // ── the MQTT client ──────────────────────────────────────────────────────────────────────
  counter(
    'courier_mqtt_packets_received_total',
    'MQTT packets received, by type.',
    ['type'],
    byType((m) => m.packetsIn),
  );
  counter(
    'courier_mqtt_packets_sent_total',
    'MQTT packets sent, by type.',
    ['type'],
    byType((m) => m.packetsOut),
  );
  counter(
    'courier_mqtt_received_bytes_total',
    'Bytes of the MQTT packets received, by type.',
    ['type'],
    byType((m) => m.bytesIn),
  );
  counter(
    'courier_mqtt_sent_bytes_total',
    'Bytes of the MQTT packets sent, by type.',
    ['type'],
    byType((m) => m.bytesOut),
  );
  // One number each, no labels: a table, registered in this order.
  const scalars: ReadonlyArray<
    readonly [
      typeof counter,
      string,
      string,
      (m: NonNullable<ReturnType<typeof client>>) => number | undefined,
    ]
  > = [
    [
      gauge,
      'courier_mqtt_inflight_messages',
      'Outgoing QoS 1/2 messages sent and not yet acknowledged.',
      (m) => m.inflight,
    ],
    [
      gauge,
      'courier_mqtt_queued_messages',
      'Outgoing messages accepted and not yet sent (offline queue).',
      (m) => m.queued,
    ],
    [
      gauge,
      'courier_mqtt_queued_bytes',
      'Payload bytes of the queued messages.',
      (m) => m.queuedBytes,
    ],
    [
      counter,
      'courier_mqtt_connect_attempts_total',
      'Connection attempts.',
      (m) => m.connectAttempts,
    ],
    [counter, 'courier_mqtt_connects_total', 'Connections the broker accepted.', (m) => m.connects],
    [
      counter,
      'courier_mqtt_reconnects_total',
      'Connection attempts after the first.',
      (m) => m.reconnects,
    ],
    [counter, 'courier_mqtt_pings_total', 'PINGREQ sent.', (m) => m.pings],
    [
      gauge,
      'courier_mqtt_ping_rtt_seconds',
      'Round trip of the last answered PINGREQ.',
      (m) => (m.pingRttMs === undefined ? undefined : m.pingRttMs / 1000),
    ],
  ];
  for (const [register, name, help, read] of scalars) register(name, help, [], one(read));
  gauge(
    'courier_mqtt_last_error_timestamp_seconds',
    'When the last connection error happened, Unix time.',
    ['error'],
    () => {
      const e = client()?.lastError;
      return e === undefined ? [] : [[{ error: e.name }, e.at / 1000]];
    },
  );
  counter(
    'courier_mqtt_dropped_qos0_messages_total',
    'QoS 0 messages dropped: in, a subscription buffer was full; out, the offline queue made room.',
    ['direction'],
    () => {
      const m = client();
      return m === undefined
        ? []
        : [
            [{ direction: 'in' }, m.droppedQos0In],
            [{ direction: 'out' }, m.droppedQos0Out],
          ];
    },
  );
  counter(
    'courier_mqtt_dropped_messages_total',
    'Messages the client gave up (any QoS, reported as dropped).',
    [],
    one((m) => m.dropped),
  );
  counter(
    'courier_store_syncs_total',
    'fsync/fdatasync calls of the session store.',
    [],
    one((m) => m.store?.syncs),
  );
  counter(
    'courier_store_sync_seconds_total',
    'Time spent in those syncs.',
    [],
    one((m) => (m.store === undefined ? undefined : m.store.syncMsTotal / 1000)),
  );
  gauge(
    'courier_store_sync_max_seconds',
    'The slowest sync so far.',
    [],
    one((m) => (m.store === undefined ? undefined : m.store.syncMsMax / 1000)),
  );
  gauge('courier_mqtt_connected', '1 while the agent is connected to its broker.', [], () => [
    [{}, agent.client?.state.status === 'connected' ? 1 : 0],
  ]);

  // ── the agent ────────────────────────────────────────────────────────────────────────────
  const counts = () => agent.snapshot().counts;
  counter(
    'courier_agent_published_total',
    'Messages published and completed (topic table and Redis).',
    [],
    () => [[{}, counts().published]],
  );
  counter(
    'courier_agent_received_total',
    'Valid payloads applied to outputs, commands written to Redis.',
    [],
    () => [[{}, counts().received]],
  );
  counter('courier_agent_rejected_total', 'Payloads or Redis messages refused.', [], () => [
    [{}, counts().rejected],
  ]);
  counter('courier_agent_suppressed_total', 'Values not sent because of a threshold.', [], () => [
    [{}, counts().suppressed],
  ]);
  counter('courier_agent_publish_failed_total', 'Publishes that failed.', [], () => [
    [{}, counts().publishFailed],
  ]);

  const rows = () => agent.snapshot().rows;
  const perRow = (pick: 'published' | 'rejected' | 'suppressed' | 'received') => (): Sample[] =>
    rows().map((r) => [{ row: r.index, topic: r.topic, direction: r.direction }, r[pick]] as const);
  const ROW_LABELS = ['row', 'topic', 'direction'];
  counter(
    'courier_topic_published_total',
    'Messages published by a topic row.',
    ROW_LABELS,
    perRow('published'),
  );
  counter(
    'courier_topic_rejected_total',
    'Payloads a topic row refused.',
    ROW_LABELS,
    perRow('rejected'),
  );
  counter(
    'courier_topic_suppressed_total',
    'Values a topic row did not send (threshold).',
    ROW_LABELS,
    perRow('suppressed'),
  );
  counter(
    'courier_topic_received_total',
    'Payloads a subscribe row applied.',
    ROW_LABELS,
    perRow('received'),
  );

  // A channel's value age: since its last value event (or since the metrics started following).
  const channelAt = new Map<number, number>();
  const started = Date.now();
  const onChannel = (event: { type: string; id?: number; at: number }): void => {
    if (event.type === 'channel' && event.id !== undefined) channelAt.set(event.id, event.at);
  };
  agent.on('channel', onChannel);
  gauge(
    'courier_channel_value_age_seconds',
    'Seconds since the channel last got a value.',
    ['channel', 'name'],
    () =>
      agent
        .snapshot()
        .channels.map(
          (c) =>
            [
              { channel: c.id, name: c.name },
              (Date.now() - (channelAt.get(c.id) ?? started)) / 1000,
            ] as const,
        ),
  );

  // ── the Redis bridge ─────────────────────────────────────────────────────────────────────
  gauge(
    'courier_redis_connected',
    '1 while the Redis bridge is connected (absent without a bridge).',
    [],
    () => {
      const redis = agent.snapshot().redis;
      return redis === undefined ? [] : [[{}, redis.connected ? 1 : 0]];
    },
  );
  gauge('courier_redis_signals', 'Signals the Redis bridge maps.', [], () => {
    const redis = agent.snapshot().redis;
    return redis === undefined ? [] : [[{}, redis.signals.length]];
  });

  return {
    registry,
    contentType: registry.contentType,
    render: () => registry.metrics(),
    close: () => {
      agent.off('channel', onChannel);
    },
  };
}

/** A running metrics server. */
export interface MetricsServer {
  /** e.g. `http://127.0.0.1:9464` */
  readonly url: string;
  close(): Promise<void>;
}

/**
 * Serves `GET /metrics` (and nothing else: 404) on its own port, for an agent without the
 * console (`metrics.enabled`).
 */
export async function startMetricsServer(
  metrics: AgentMetrics,
  host: string,
  port: number,
): Promise<MetricsServer> {
  const server: Server = createServer((request, response) => {
    const path = (request.url ?? '').split('?')[0];
    if (request.method !== 'GET' || path !== '/metrics') {
      response
        .writeHead(404, { 'content-type': 'text/plain' })
        .end('Not found: try GET /metrics\n');
      return;
    }
    metrics.render().then(
      (text) => response.writeHead(200, { 'content-type': metrics.contentType }).end(text),
      (error: unknown) =>
        response
          .writeHead(500, { 'content-type': 'text/plain' })
          .end(`metrics failed: ${error instanceof Error ? error.message : String(error)}\n`),
    );
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const address = server.address();
  const bound = typeof address === 'object' && address !== null ? address.port : port;
  const shown = host.includes(':') ? `[${host}]` : host;
  return {
    url: `http://${shown}:${bound}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
