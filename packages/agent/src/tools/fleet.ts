/**
 * `courier bench conn|pub|sub`: a fleet of clients in one process, like emqtt-bench.
 *
 * - `conn`: N clients connect (paced: at most `connectRate` per second, at most `concurrency`
 *   handshakes outstanding) and idle; measures the connect rate, handshake latency and the RSS
 *   each connection costs.
 * - `pub`: N clients each publish `messages` messages at `rate` per second to a topic template
 *   (`%i` = the client's index); measures publish rate and completion latency.
 * - `sub`: N subscribers on one topic and one publisher sending `messages` at `rate` per second;
 *   measures fan-out latency (publish to each subscriber's receipt) percentiles.
 *
 * Every payload starts with its send time (`performance.now()`, float64), so latency needs no
 * clock sync (publisher and subscribers share the process). CPU per message is measured as
 * `npm run bench` does: `process.cpuUsage()` over the run, divided by the messages.
 *
 * @module
 */

import { performance } from 'node:perf_hooks';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { type Client, type ClientOptions, connect, type Message } from 'courier-mqtt';
import type { LatencyStats } from './bench.js';
import { type ConnectFlags, resolveConnectFlags, UsageError } from './connect-options.js';
import { percentile } from './stats.js';

/** The fleet modes. */
export const FLEET_MODES = ['conn', 'pub', 'sub'] as const;
/** One of {@link FLEET_MODES}. */
export type FleetMode = (typeof FLEET_MODES)[number];

/** Most clients one fleet run may start. */
export const MAX_FLEET_CLIENTS = 100_000;

/** What to run. */
export interface FleetFlags extends ConnectFlags {
  /** Clients (conn, pub) or subscribers (sub). @default 100 */
  readonly clients?: number | undefined;
  /** Connects started per second; 0 = no pacing (only `concurrency` bounds them). @default 200 */
  readonly connectRate?: number | undefined;
  /** Handshakes outstanding at once. @default 50 */
  readonly concurrency?: number | undefined;
  /** pub/sub: messages per publisher. @default 100 */
  readonly messages?: number | undefined;
  /** pub/sub: messages per second per publisher; 0 = as fast as the window allows. @default 10 */
  readonly rate?: number | undefined;
  /** @default 0 */
  readonly qos?: number | undefined;
  /** Payload bytes, at least 12. @default 64 */
  readonly size?: number | undefined;
  /** Topic template; `%i` is replaced by the client index. @default `courier/bench/%i` */
  readonly topic?: string | undefined;
  /** conn: seconds to hold the connections after all connected. @default 0 */
  readonly holdSec?: number | undefined;
  /** sub: stop waiting for the last messages after this long without one. @default 2 */
  readonly idleSec?: number | undefined;
}

/** Progress, for the live line. */
export interface FleetProgress {
  readonly mode: FleetMode;
  readonly elapsedSec: number;
  readonly connected: number;
  readonly clients: number;
  readonly published: number;
  readonly received: number;
  readonly expected: number;
  readonly errors: number;
  /** Latency percentiles of what arrived so far (pub: completion; sub: fan-out). */
  readonly latencyMs: LatencyStats;
}

/** The outcome of a run. */
export interface FleetResult {
  readonly mode: FleetMode;
  readonly clients: number;
  readonly connected: number;
  readonly connectErrors: number;
  /** First connect started to last connected, seconds. */
  readonly connectSec: number;
  readonly connectRate: number;
  readonly connectLatencyMs: LatencyStats;
  /** conn: RSS growth per connected client, KiB (after a GC when `--expose-gc`). */
  readonly rssPerConnKiB: number | undefined;
  readonly qos: 0 | 1 | 2;
  readonly published: number;
  readonly publishErrors: number;
  readonly received: number;
  readonly expected: number;
  /** First publish to last completion (pub) or last receipt (sub), seconds. */
  readonly runSec: number;
  /** pub: publishes completed per second; sub: messages received per second. */
  readonly messageRate: number;
  /** pub: completion latency; sub: fan-out latency. */
  readonly latencyMs: LatencyStats;
  /** CPU (user + system) of the run per message (pub: published, sub: received), µs. */
  readonly cpuUsPerMsg: number | undefined;
}

const whole = (
  v: number | undefined,
  fallback: number,
  flag: string,
  min: number,
  max: number,
): number => {
  const n = v ?? fallback;
  if (!Number.isInteger(n) || n < min || n > max) {
    throw new UsageError(`Error: ${flag} must be a whole number from ${min} to ${max}.`);
  }
  return n;
};

const stats = (samples: number[]): LatencyStats => {
  const sorted = samples.sort((a, b) => a - b);
  return {
    p50: percentile(sorted, 0.5),
    p95: percentile(sorted, 0.95),
    p99: percentile(sorted, 0.99),
    max: sorted.at(-1) ?? Number.NaN,
  };
};

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
/**
 * A full garbage collection before each RSS reading, as `npm run bench` does (it runs with
 * `--expose-gc`): without it, the memory per connection counts garbage of the connects. The
 * CLI is not started with the flag, so it is set at run time and `gc` taken from a new context.
 */
let collect: (() => void) | undefined;
const gc = (): void => {
  if (collect === undefined) {
    const exposed = (globalThis as { gc?: () => void }).gc;
    if (exposed !== undefined) collect = exposed;
    else {
      setFlagsFromString('--expose-gc');
      collect = runInNewContext('gc') as () => void;
    }
  }
  collect();
};

/** The topic of client `i`. */
export function topicOf(template: string, i: number): string {
  return template.replaceAll('%i', String(i));
}

/**
 * Runs a fleet benchmark. `onProgress` is called about twice a second.
 * @throws {UsageError} for invalid flags, before anything connects
 */
export async function runFleet(
  mode: FleetMode,
  flags: FleetFlags,
  onProgress?: (p: FleetProgress) => void,
): Promise<FleetResult> {
  const clients = whole(flags.clients, 100, '--clients', 1, MAX_FLEET_CLIENTS);
  const connectRate = whole(flags.connectRate, 200, '--connect-rate', 0, 1_000_000);
  const concurrency = whole(flags.concurrency, 50, '--concurrency', 1, 10_000);
  const messages = whole(flags.messages, 100, '--messages', 1, 10_000_000);
  const rate = whole(flags.rate, 10, '--rate', 0, 1_000_000);
  const size = whole(flags.size, 64, '--size', 12, 268_435_455);
  const holdSec = whole(flags.holdSec, 0, '--hold', 0, 86_400);
  const qos = flags.qos ?? 0;
  if (qos !== 0 && qos !== 1 && qos !== 2)
    throw new UsageError('Error: Invalid QoS given, it must be 0, 1 or 2.');
  const template = flags.topic ?? 'courier/bench/%i';
  if (template.includes('+') || template.includes('#') || template.length === 0) {
    throw new UsageError(`Error: --topic '${template}' must be a topic name (no + or #).`);
  }
  const resolved = await resolveConnectFlags(flags);
  const run = `${flags.id ?? 'courier-bench'}-${process.pid.toString(36)}${Date.now().toString(36)}`;
  const optionsFor = (role: string, i: number): ClientOptions => ({
    ...resolved.options,
    clientId: `${run}-${role}${i}`,
    reconnect: false,
  });

  const started = performance.now();
  const connectLatencies: number[] = [];
  const latencies: number[] = [];
  let connected = 0;
  let connectErrors = 0;
  let published = 0;
  let publishErrors = 0;
  let received = 0;
  let lastReceivedAt = 0;
  const expected = mode === 'sub' ? messages * clients : mode === 'pub' ? messages * clients : 0;
  const fleet: Client[] = [];
  const progress = (): void => {
    // Percentiles so far, of the last 10,000 samples: cheap enough twice a second.
    const window = latencies.slice(-10_000);
    onProgress?.({
      mode,
      elapsedSec: (performance.now() - started) / 1000,
      connected,
      clients: mode === 'sub' ? clients + 1 : clients,
      published,
      received,
      expected,
      errors: connectErrors + publishErrors,
      latencyMs: stats(window),
    });
  };
  const ticker = onProgress === undefined ? undefined : setInterval(progress, 500);

  /** Connects `count` clients, paced and bounded; calls `ready` for each that connected. */
  const connectAll = async (
    role: string,
    count: number,
    ready: (c: Client, i: number) => Promise<void>,
  ) => {
    let next = 0;
    const first = performance.now();
    const worker = async (): Promise<void> => {
      while (next < count) {
        const i = next++;
        if (connectRate > 0) {
          const due = first + (i * 1000) / connectRate;
          const wait = due - performance.now();
          if (wait > 0) await sleep(wait);
        }
        const t0 = performance.now();
        try {
          const client = await connect(resolved.url, optionsFor(role, i));
          fleet.push(client);
          connectLatencies.push(performance.now() - t0);
          connected++;
          await ready(client, i);
        } catch {
          connectErrors++;
        }
      }
    };
    await Promise.all(Array.from({ length: Math.min(concurrency, count) }, worker));
    return (performance.now() - first) / 1000;
  };

  /** Publishes `messages` from `client` at `rate` per second, QoS `qos`. */
  const publishFrom = async (client: Client, topic: string): Promise<void> => {
    const first = performance.now();
    const pending = new Set<Promise<void>>();
    for (let n = 0; n < messages; n++) {
      if (rate > 0) {
        const wait = first + (n * 1000) / rate - performance.now();
        if (wait > 0) await sleep(wait);
      }
      const payload = new Uint8Array(size);
      new DataView(payload.buffer).setFloat64(0, performance.now(), true);
      const t0 = performance.now();
      const p: Promise<void> = client.publish(topic, payload, { qos }).then(
        () => {
          pending.delete(p);
          published++;
          if (mode === 'pub') {
            const ms = performance.now() - t0;
            latencies.push(ms);
          }
        },
        () => {
          pending.delete(p);
          publishErrors++;
        },
      );
      pending.add(p);
      if (pending.size >= 100) await Promise.race(pending);
    }
    await Promise.all(pending);
  };

  let rssBefore = 0;
  let connectSec = 0;
  let runSec = 0;
  let cpuUs: number | undefined;
  try {
    if (mode === 'conn') {
      gc();
      rssBefore = process.memoryUsage().rss;
      connectSec = await connectAll('c', clients, async () => undefined);
      progress();
      if (holdSec > 0) await sleep(holdSec * 1000);
    } else if (mode === 'pub') {
      const publishers: [Client, number][] = [];
      connectSec = await connectAll('p', clients, async (c, i) => {
        publishers.push([c, i]);
      });
      const cpu = process.cpuUsage();
      const t0 = performance.now();
      await Promise.all(publishers.map(([c, i]) => publishFrom(c, topicOf(template, i))));
      runSec = (performance.now() - t0) / 1000;
      const used = process.cpuUsage(cpu);
      cpuUs = published > 0 ? (used.user + used.system) / published : undefined;
    } else {
      const topic = topicOf(template, 0);
      connectSec = await connectAll('s', clients, async (c) => {
        c.on('message', (m: Message) => {
          const now = performance.now();
          const view = new DataView(m.payload.buffer, m.payload.byteOffset, m.payload.byteLength);
          const ms = now - view.getFloat64(0, true);
          latencies.push(ms);
          received++;
          lastReceivedAt = now;
        });
        await c.subscribe(topic, { qos });
      });
      const publisher = await connect(resolved.url, optionsFor('pub', 0));
      fleet.push(publisher);
      const cpu = process.cpuUsage();
      const t0 = performance.now();
      await publishFrom(publisher, topic);
      const publishEnd = performance.now();
      // Wait for the last messages until none has arrived for `idleSec`: a broker may drop
      // what it cannot queue, and then they never come.
      const idleMs = (flags.idleSec ?? 2) * 1000;
      while (
        received < connected * messages &&
        performance.now() - Math.max(lastReceivedAt, publishEnd) < idleMs
      ) {
        await sleep(20);
      }
      runSec = (Math.max(lastReceivedAt, publishEnd) - t0) / 1000;
      const used = process.cpuUsage(cpu);
      cpuUs = received > 0 ? (used.user + used.system) / received : undefined;
    }
  } finally {
    if (ticker !== undefined) clearInterval(ticker);
  }
  let rssPerConnKiB: number | undefined;
  if (mode === 'conn' && connected > 0) {
    gc();
    rssPerConnKiB = (process.memoryUsage().rss - rssBefore) / 1024 / connected;
  }
  progress();
  await Promise.allSettled(fleet.map((c) => c.end({ timeoutMs: 5000 })));
  return {
    mode,
    clients,
    connected,
    connectErrors,
    connectSec,
    connectRate: connected / Math.max(connectSec, 1e-9),
    connectLatencyMs: stats(connectLatencies),
    rssPerConnKiB,
    qos,
    published,
    publishErrors,
    received,
    expected,
    runSec,
    messageRate: (mode === 'sub' ? received : published) / Math.max(runSec, 1e-9),
    latencyMs: stats(latencies),
    cpuUsPerMsg: cpuUs,
  };
}
