/**
 * One benchmark contender, run in its own process so that its peak RSS is its own.
 *
 * A publisher and a subscriber connect to the broker; the publisher sends `messages` payloads
 * of 64 bytes at one QoS, keeping at most `window` publishes outstanding (not yet completed:
 * written for QoS 0, PUBACK for QoS 1, PUBCOMP for QoS 2), the same window for every contender.
 * The clock runs from the first publish until the subscriber has every message and every
 * publish has completed. Prints one JSON line ({@link ContenderResult}).
 *
 * Entry point: contender-main.ts '<ContenderSpec as JSON>'
 */

import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** What to run. */
export interface ContenderSpec {
  readonly contender: 'ours' | 'mqttjs' | 'raw' | 'baseline';
  /**
   * `throughput` (the default): the windowed publish loop. `idle`: `connections` clients
   * connect, subscribe once at QoS 1 and idle; the result is the RSS each one costs.
   */
  readonly mode?: 'throughput' | 'idle';
  /** Idle mode: how many connections. */
  readonly connections?: number;
  /** 4 = MQTT 3.1.1 (the default), 5 = MQTT 5.0. The raw contender speaks 3.1.1 only. */
  readonly protocolVersion?: 4 | 5;
  readonly qos: 0 | 1 | 2;
  readonly messages: number;
  readonly port: number;
  readonly window: number;
  /** Our client only: its session store. */
  readonly store?: 'memory' | 'file';
}

/** What a run measured. */
export interface ContenderResult {
  readonly msgPerSec: number;
  readonly elapsedMs: number;
  /** Messages the subscriber received (QoS 0 may lose some; QoS 1 may duplicate). */
  readonly received: number;
  /**
   * CPU time (user + system, `process.cpuUsage()`) the process spent over the same interval
   * as `elapsedMs`, divided by the messages: publisher and subscriber together.
   */
  readonly cpuUsPerMsg: number;
  /** The user-space part of `cpuUsPerMsg`. */
  readonly userUsPerMsg: number;
  /** The kernel part of `cpuUsPerMsg` (system calls, the loopback TCP stack). */
  readonly systemUsPerMsg: number;
  /** Peak resident set size of the whole process, in KiB. */
  readonly maxRssKiB: number;
  /** Idle mode: RSS growth per connection (after a full GC), in KiB. */
  readonly rssPerConnKiB?: number;
  /** Idle mode: connections established per second. */
  readonly connectsPerSec?: number;
  /** Contender-specific notes (e.g. file store syncs). */
  readonly note?: string;
}

/** A publisher and a subscriber of one contender, driven by {@link measure}. */
export interface Pair {
  /** Starts one publish; `done` is called once it completed. */
  publish(done: (error?: unknown) => void): void;
  /** Registers the subscriber's per-message callback. */
  onMessage(fn: () => void): void;
  close(): Promise<void>;
  note?(): string;
}

export const PAYLOAD = new Uint8Array(64).fill(0x61);
const STALL_MS = 3000;

/** Runs the windowed publish loop and times it. */
export function measure(
  pair: Pair,
  spec: ContenderSpec,
): Promise<{ elapsedMs: number; userUs: number; systemUs: number; received: number }> {
  return new Promise((resolve, reject) => {
    let sent = 0;
    let completed = 0;
    let received = 0;
    let lastProgress = Date.now();
    let finished = false;
    const cpuStart = process.cpuUsage();
    const start = performance.now();
    const finish = (): void => {
      if (finished) return;
      finished = true;
      clearInterval(stallTimer);
      const elapsedMs = performance.now() - start;
      const cpu = process.cpuUsage(cpuStart);
      resolve({ elapsedMs, userUs: cpu.user, systemUs: cpu.system, received });
    };
    const check = (): void => {
      lastProgress = Date.now();
      if (completed === spec.messages && received >= spec.messages) finish();
    };
    pair.onMessage(() => {
      received++;
      if (received >= spec.messages) check();
      else if ((received & 1023) === 0) lastProgress = Date.now();
    });
    const next = (): void => {
      if (sent >= spec.messages) return;
      sent++;
      pair.publish((error) => {
        if (error !== undefined) {
          finished = true;
          clearInterval(stallTimer);
          reject(error);
          return;
        }
        completed++;
        if (completed === spec.messages) check();
        next();
      });
    };
    // QoS 0 may lose messages: stop once nothing moved for a while and report what arrived.
    const stallTimer = setInterval(() => {
      if (Date.now() - lastProgress > STALL_MS) {
        if (spec.qos === 0 && completed === spec.messages) finish();
        else {
          finished = true;
          clearInterval(stallTimer);
          reject(new Error(`stalled: sent ${sent}, completed ${completed}, received ${received}`));
        }
      }
    }, 250);
    for (let i = 0; i < spec.window; i++) next();
  });
}

/** Connects one idle client of a contender (QoS 1 subscription, keep-alive 60 s); returns its closer. */
export type IdleClient = (
  port: number,
  id: number,
  protocolVersion: 4 | 5,
) => Promise<() => Promise<void>>;

async function idleClientOf(spec: ContenderSpec): Promise<IdleClient> {
  switch (spec.contender) {
    case 'mqttjs':
      return (await import('./contender-mqttjs.js')).mqttjsIdle;
    case 'ours':
      return (await import('./contender-ours.js')).oursIdle;
    case 'raw':
      return (await import('./contender-raw.js')).rawIdle;
    default:
      throw new Error(`${spec.contender} has no idle mode`);
  }
}

/**
 * Idle mode: connects `spec.connections` clients, at most 50 connects outstanding at once
 * (paced, so the broker's accept queue never overflows), and measures the RSS they cost after
 * a full garbage collection (the process runs with `--expose-gc`).
 */
async function measureIdle(spec: ContenderSpec): Promise<ContenderResult> {
  const n = spec.connections ?? 1000;
  const connectIdle = await idleClientOf(spec);
  const gc = (globalThis as { gc?: () => void }).gc;
  // Warm up: one client connected and closed, so code loading is not counted per connection.
  await (await connectIdle(spec.port, -1, spec.protocolVersion ?? 4))();
  gc?.();
  const before = process.memoryUsage().rss;
  const closers: (() => Promise<void>)[] = [];
  const start = performance.now();
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < n) {
      const id = next++;
      closers.push(await connectIdle(spec.port, id, spec.protocolVersion ?? 4));
    }
  };
  await Promise.all(Array.from({ length: Math.min(50, n) }, worker));
  const elapsedMs = performance.now() - start;
  // Let the connections settle (SUBACKs read, buffers released), then collect.
  await new Promise((r) => setTimeout(r, 500));
  gc?.();
  await new Promise((r) => setTimeout(r, 100));
  gc?.();
  const after = process.memoryUsage().rss;
  const maxRssKiB = process.resourceUsage().maxRSS;
  for (let i = 0; i < closers.length; i += 200) {
    await Promise.all(closers.slice(i, i + 200).map((close) => close()));
  }
  return {
    msgPerSec: 0,
    elapsedMs,
    cpuUsPerMsg: 0,
    userUsPerMsg: 0,
    systemUsPerMsg: 0,
    received: 0,
    maxRssKiB,
    rssPerConnKiB: (after - before) / 1024 / n,
    connectsPerSec: (n / elapsedMs) * 1000,
  };
}

async function makePair(spec: ContenderSpec, topic: string): Promise<Pair> {
  switch (spec.contender) {
    case 'mqttjs':
      return (await import('./contender-mqttjs.js')).mqttjsPair(spec, topic);
    case 'ours':
      return (await import('./contender-ours.js')).oursPair(spec, topic);
    case 'raw':
      return (await import('./contender-raw.js')).rawPair(spec, topic);
    case 'baseline':
      throw new Error('baseline has no pair');
  }
}

/** Runs the contender described by `process.argv[2]` and prints its result. */
export async function main(): Promise<void> {
  const spec = JSON.parse(process.argv[2] ?? '{}') as ContenderSpec;
  if (spec.contender === 'baseline') {
    // Node plus the TypeScript loader and nothing else: the floor every contender stands on.
    process.stdout.write(
      `${JSON.stringify({ msgPerSec: 0, elapsedMs: 0, cpuUsPerMsg: 0, userUsPerMsg: 0, systemUsPerMsg: 0, received: 0, maxRssKiB: process.resourceUsage().maxRSS })}\n`,
    );
    return;
  }
  if (spec.mode === 'idle') {
    process.stdout.write(`${JSON.stringify(await measureIdle(spec))}\n`);
    return;
  }
  const topic = `bench/${process.pid}/${spec.contender}/${spec.qos}`;
  const pair = await makePair(spec, topic);
  const { elapsedMs, userUs, systemUs, received } = await measure(pair, spec);
  const note = pair.note?.();
  await pair.close();
  const result: ContenderResult = {
    msgPerSec: (spec.messages / elapsedMs) * 1000,
    elapsedMs,
    cpuUsPerMsg: (userUs + systemUs) / spec.messages,
    userUsPerMsg: userUs / spec.messages,
    systemUsPerMsg: systemUs / spec.messages,
    received,
    maxRssKiB: process.resourceUsage().maxRSS,
    ...(note === undefined ? {} : { note }),
  };
  process.stdout.write(`${JSON.stringify(result)}\n`);
}

/** A fresh directory for a file store, removed at exit. */
export function tempStoreDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'courier-bench-store-'));
  process.once('exit', () => rmSync(dir, { recursive: true, force: true }));
  return dir;
}
