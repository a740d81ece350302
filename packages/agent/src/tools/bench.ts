/**
 * `courier bench`: publishers and subscribers against a broker, measuring throughput and
 * end-to-end latency.
 *
 * Every payload starts with the send time (`performance.now()`, a float64) and the publisher
 * index, so a subscriber in the same process computes latency without clock skew. Each
 * publisher keeps up to `inflight` publishes outstanding, as a real producer would.
 *
 * @module
 */

import { performance } from 'node:perf_hooks';
import { type Client, connect, type Message } from 'courier-mqtt';
import { type ConnectFlags, resolveConnectFlags, UsageError } from './connect-options.js';
import { percentile } from './stats.js';

/** What to measure. */
export interface BenchFlags extends ConnectFlags {
  /** Publishing clients. @default 1 */
  readonly publishers?: number | undefined;
  /** Subscribing clients, each receiving every message. @default 1 */
  readonly subscribers?: number | undefined;
  /** Messages per publisher. @default 10000 */
  readonly messages?: number | undefined;
  /** Payload size in bytes (at least 12). @default 64 */
  readonly size?: number | undefined;
  /** @default 0 */
  readonly qos?: number | undefined;
  /** Outstanding publishes per publisher. @default 100 */
  readonly inflight?: number | undefined;
  /** Stop waiting for the last messages after this long without one. @default 2 */
  readonly idleSec?: number | undefined;
  /** Topic prefix. @default 'courier/bench' */
  readonly topic?: string | undefined;
}

/** Progress, reported as messages arrive. */
export interface BenchProgress {
  readonly published: number;
  readonly received: number;
  readonly expected: number;
}

/** Latency percentiles in milliseconds. */
export interface LatencyStats {
  readonly p50: number;
  readonly p95: number;
  readonly p99: number;
  readonly max: number;
}

/** The outcome of a run. */
export interface BenchResult {
  readonly publishers: number;
  readonly subscribers: number;
  readonly qos: 0 | 1 | 2;
  readonly size: number;
  readonly published: number;
  readonly received: number;
  readonly expected: number;
  /** First publish to last publish completion, seconds. */
  readonly publishSec: number;
  /** First publish to last message received, seconds. */
  readonly totalSec: number;
  readonly publishRate: number;
  readonly receiveRate: number;
  readonly latencyMs: LatencyStats;
}

const positive = (v: number | undefined, fallback: number, flag: string, min = 1): number => {
  const n = v ?? fallback;
  if (!Number.isInteger(n) || n < min)
    throw new UsageError(`Error: ${flag} must be a whole number, at least ${min}.`);
  return n;
};

/**
 * Runs a benchmark.
 * @throws {UsageError} for invalid flags
 */
export async function runBench(
  flags: BenchFlags,
  onProgress?: (p: BenchProgress) => void,
): Promise<BenchResult> {
  const publishers = positive(flags.publishers, 1, '--publishers');
  const subscribers = positive(flags.subscribers, 1, '--subscribers', 0);
  const messages = positive(flags.messages, 10000, '--messages');
  const size = positive(flags.size, 64, '--size', 12);
  const inflight = positive(flags.inflight, 100, '--inflight');
  const qos = flags.qos ?? 0;
  if (qos !== 0 && qos !== 1 && qos !== 2)
    throw new UsageError('Error: Invalid QoS given, it must be 0, 1 or 2.');
  const resolved = await resolveConnectFlags(flags);
  const prefix = `${flags.topic ?? 'courier/bench'}/${process.pid}-${Date.now().toString(36)}`;
  const expected = publishers * messages * subscribers;
  const latencies: number[] = [];
  let received = 0;
  let published = 0;
  let lastReceivedAt = 0;
  let allReceived: () => void = () => undefined;
  const done = new Promise<void>((resolve) => {
    allReceived = resolve;
  });
  if (expected === 0) allReceived();
  const clients: Client[] = [];
  // Every bench client needs its own id: with -i, suffix it; without, the library generates.
  const optionsFor = (role: string) =>
    flags.id === undefined
      ? resolved.options
      : { ...resolved.options, clientId: `${flags.id}-${role}` };
  try {
    for (let s = 0; s < subscribers; s++) {
      const sub = await connect(resolved.url, optionsFor(`s${s}`));
      clients.push(sub);
      sub.on('message', (m: Message) => {
        const now = performance.now();
        const view = new DataView(m.payload.buffer, m.payload.byteOffset, m.payload.byteLength);
        latencies.push(now - view.getFloat64(0, true));
        received++;
        lastReceivedAt = now;
        if (received % 1000 === 0) onProgress?.({ published, received, expected });
        if (received >= expected) allReceived();
      });
      await sub.subscribe(`${prefix}/#`, { qos: qos as 0 | 1 | 2 });
    }
    const pubs: Client[] = [];
    for (let p = 0; p < publishers; p++) {
      const c = await connect(resolved.url, optionsFor(`p${p}`));
      clients.push(c);
      pubs.push(c);
    }
    const start = performance.now();
    let publishEnd = start;
    await Promise.all(
      pubs.map(async (client, index) => {
        const topic = `${prefix}/${index}`;
        const window = new Set<Promise<void>>();
        for (let i = 0; i < messages; i++) {
          const payload = new Uint8Array(size);
          const view = new DataView(payload.buffer);
          view.setFloat64(0, performance.now(), true);
          view.setUint32(8, index, true);
          const p: Promise<void> = client
            .publish(topic, payload, { qos: qos as 0 | 1 | 2 })
            .then(() => {
              window.delete(p);
              published++;
              if (subscribers === 0 && published % 1000 === 0)
                onProgress?.({ published, received, expected });
            });
          window.add(p);
          if (window.size >= inflight) await Promise.race(window);
        }
        await Promise.all(window);
      }),
    );
    publishEnd = performance.now();
    // Wait for the last messages until none has arrived for `idleSec`: a broker may drop
    // what it cannot queue (Mosquitto's max_queued_messages), and then they never come.
    const idleMs = (flags.idleSec ?? 2) * 1000;
    let finished = false;
    void done.then(() => {
      finished = true;
    });
    while (!finished && performance.now() - Math.max(lastReceivedAt, publishEnd) < idleMs) {
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    onProgress?.({ published, received, expected });
    const end = subscribers === 0 ? publishEnd : Math.max(lastReceivedAt, publishEnd);
    const sorted = latencies.sort((a, b) => a - b);
    const publishSec = (publishEnd - start) / 1000;
    const totalSec = (end - start) / 1000;
    return {
      publishers,
      subscribers,
      qos: qos as 0 | 1 | 2,
      size,
      published,
      received,
      expected,
      publishSec,
      totalSec,
      publishRate: published / Math.max(publishSec, 1e-9),
      receiveRate: received / Math.max(totalSec, 1e-9),
      latencyMs: {
        p50: percentile(sorted, 0.5),
        p95: percentile(sorted, 0.95),
        p99: percentile(sorted, 0.99),
        max: sorted.at(-1) ?? Number.NaN,
      },
    };
  } finally {
    await Promise.allSettled(clients.map((c) => c.end({ timeoutMs: 5000 })));
  }
}
