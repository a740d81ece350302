/**
 * Counters and gauges of one client, without a dependency: what went over the wire by packet
 * type, what waits, what was lost, how the link and the store behave. The client bumps plain
 * integer fields on its hot path (no allocation, no closure per packet); {@link Client.metrics}
 * copies them into a {@link ClientMetrics} snapshot that adds the gauges read at that moment.
 *
 * @module
 */

import type { Packet } from '../packet/types.js';

/** The packet types, as `Packet['type']`. */
export type PacketType = Packet['type'];

/** One number per MQTT control packet type. */
export type PacketCounts = { [K in PacketType]: number };

function zeroCounts(): PacketCounts {
  return {
    connect: 0,
    connack: 0,
    publish: 0,
    puback: 0,
    pubrec: 0,
    pubrel: 0,
    pubcomp: 0,
    subscribe: 0,
    suback: 0,
    unsubscribe: 0,
    unsuback: 0,
    pingreq: 0,
    pingresp: 0,
    disconnect: 0,
    auth: 0,
  };
}

/** The last error that ended a connection attempt or a connection. */
export interface MetricsError {
  readonly name: string;
  readonly message: string;
  /** When it happened, milliseconds since the epoch. */
  readonly at: number;
}

/** What a durable store did (the file store's counters), when the client's store keeps them. */
export interface StoreMetrics {
  /** Batches written. */
  readonly writes: number;
  /** `fdatasync`/`fsync` calls. */
  readonly syncs: number;
  /** Time spent in those syncs, milliseconds in total. */
  readonly syncMsTotal: number;
  /** The slowest sync so far, milliseconds. */
  readonly syncMsMax: number;
  /** Current size of the log, bytes. */
  readonly logBytes: number;
}

/** A snapshot of a client's counters (monotonic since the client was created) and gauges. */
export interface ClientMetrics {
  /** Packets received, by type. */
  readonly packetsIn: Readonly<PacketCounts>;
  /** Packets sent (handed to the socket), by type. */
  readonly packetsOut: Readonly<PacketCounts>;
  /** Bytes of the packets received, fixed header included, by type. */
  readonly bytesIn: Readonly<PacketCounts>;
  /** Bytes of the packets sent, fixed header included, by type. */
  readonly bytesOut: Readonly<PacketCounts>;
  /** Gauge: outgoing QoS 1/2 messages sent and not yet acknowledged. */
  readonly inflight: number;
  /** Gauge: outgoing messages accepted and not yet sent (offline queue, waiting for a slot). */
  readonly queued: number;
  /** Gauge: payload bytes of {@link queued}. */
  readonly queuedBytes: number;
  /** Connection attempts (TCP/TLS/WebSocket opened or tried), the first included. */
  readonly connectAttempts: number;
  /** Connections the broker accepted (CONNACK success). */
  readonly connects: number;
  /** Attempts made after an earlier attempt or connection ended: `connectAttempts - 1`, at least 0. */
  readonly reconnects: number;
  /** The last error that ended an attempt or a connection. */
  readonly lastError?: MetricsError;
  /** PINGREQ sent. */
  readonly pings: number;
  /** Round-trip time of the last answered PINGREQ, milliseconds. */
  readonly pingRttMs?: number;
  /** Incoming QoS 0 messages dropped (a subscription buffer was full). */
  readonly droppedQos0In: number;
  /** Outgoing QoS 0 messages dropped (offline queue policy `drop-oldest-qos0`). */
  readonly droppedQos0Out: number;
  /** Messages given up in total, any QoS and direction (as `droppedCount`). */
  readonly dropped: number;
  /** The store's counters, when the store keeps them (the file store does). */
  readonly store?: StoreMetrics;
}

/**
 * The live counters a client increments. Plain number fields: bumping one costs a property
 * store, which the benchmark does not see.
 *
 * @internal
 */
export class MetricsCounters {
  readonly packetsIn = zeroCounts();
  readonly packetsOut = zeroCounts();
  readonly bytesIn = zeroCounts();
  readonly bytesOut = zeroCounts();
  connectAttempts = 0;
  connects = 0;
  lastError: MetricsError | undefined;
  pings = 0;
  /** When the unanswered PINGREQ went out (`performance.now()`), or -1. */
  pingSentAt = -1;
  pingRttMs = -1;
  droppedQos0In = 0;
  droppedQos0Out = 0;
  dropped = 0;

  /** A packet went out as `bytes` bytes. */
  sent(type: PacketType, bytes: number, now: number): void {
    this.packetsOut[type]++;
    this.bytesOut[type] += bytes;
    if (type === 'pingreq') {
      this.pings++;
      this.pingSentAt = now;
    }
  }

  /** A packet of `bytes` bytes arrived. */
  received(type: PacketType, bytes: number, now: number): void {
    this.packetsIn[type]++;
    this.bytesIn[type] += bytes;
    if (type === 'pingresp' && this.pingSentAt >= 0) {
      this.pingRttMs = now - this.pingSentAt;
      this.pingSentAt = -1;
    }
  }
}

/** Copies the counters into a snapshot. @internal */
export function snapshotMetrics(
  c: MetricsCounters,
  gauges: { inflight: number; queued: number; queuedBytes: number },
  store: StoreMetrics | undefined,
): ClientMetrics {
  return {
    packetsIn: { ...c.packetsIn },
    packetsOut: { ...c.packetsOut },
    bytesIn: { ...c.bytesIn },
    bytesOut: { ...c.bytesOut },
    inflight: gauges.inflight,
    queued: gauges.queued,
    queuedBytes: gauges.queuedBytes,
    connectAttempts: c.connectAttempts,
    connects: c.connects,
    reconnects: Math.max(0, c.connectAttempts - 1),
    ...(c.lastError === undefined ? {} : { lastError: c.lastError }),
    pings: c.pings,
    ...(c.pingRttMs < 0 ? {} : { pingRttMs: c.pingRttMs }),
    droppedQos0In: c.droppedQos0In,
    droppedQos0Out: c.droppedQos0Out,
    dropped: c.dropped,
    ...(store === undefined ? {} : { store }),
  };
}

/** The store's counters, when it keeps them (the file store's `stats`). */
export function storeMetrics(store: unknown): StoreMetrics | undefined {
  const stats = (store as { stats?: Partial<StoreMetrics> } | undefined)?.stats;
  if (stats === undefined || typeof stats.syncs !== 'number') return undefined;
  return {
    writes: stats.writes ?? 0,
    syncs: stats.syncs,
    syncMsTotal: stats.syncMsTotal ?? 0,
    syncMsMax: stats.syncMsMax ?? 0,
    logBytes: stats.logBytes ?? 0,
  };
}
