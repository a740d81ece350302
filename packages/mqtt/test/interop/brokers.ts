/**
 * The brokers of the interop matrix, each started by the tests on free loopback ports with its
 * own configuration and data directory (never a service already running on the machine), and
 * the selection `npm test -- --broker <name>` makes through `COURIER_BROKERS`.
 *
 * @module
 */

import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { createServer, type Server, type Socket } from 'node:net';
import { dirname, join } from 'node:path';
import type { TestContext } from 'node:test';
import { Aedes } from 'aedes';
import { startMosquitto } from '../../../../test/helpers/mosquitto.js';
import { startNats } from '../../../../test/helpers/nats.js';
import { freePort } from '../../../../test/helpers/ports.js';
import { findBinary } from '../../../../test/helpers/process.js';
import { startRabbitMq } from '../../../../test/helpers/rabbitmq.js';

/** The names `--broker` accepts (a prefix selects several: `mosquitto`). */
export const BROKER_NAMES = [
  'mosquitto-3.1.1',
  'mosquitto-5',
  'nats',
  'rabbitmq',
  'aedes',
] as const;

/** One broker of the matrix. */
export type BrokerName = (typeof BROKER_NAMES)[number];

/** A started broker. */
export interface RunningBroker {
  readonly url: string;
  /** The product and version, read from the binary or package at test time. */
  readonly version: string;
  /** What the broker logged (empty for the in-process Aedes). */
  log(): string;
  stop(): Promise<void>;
}

/** How a matrix entry is started and spoken to. */
export interface BrokerTarget {
  readonly name: BrokerName;
  /** The protocol version our clients use against it. */
  readonly protocolVersion: 4 | 5;
  start(): Promise<RunningBroker>;
}

/**
 * The brokers selected by `COURIER_BROKERS` (comma-separated names or prefixes), or all of
 * them. An unknown name is an error listing the known ones, never an empty run.
 */
export function selectedBrokers(): BrokerName[] {
  const raw = process.env.COURIER_BROKERS?.trim();
  if (raw === undefined || raw === '' || raw === 'all') return [...BROKER_NAMES];
  const out = new Set<BrokerName>();
  for (const wanted of raw.split(',').map((s) => s.trim())) {
    const hits = BROKER_NAMES.filter((n) => n === wanted || n.startsWith(wanted));
    if (hits.length === 0) {
      throw new Error(
        `COURIER_BROKERS: unknown broker ${JSON.stringify(wanted)}; known: ${BROKER_NAMES.join(', ')}`,
      );
    }
    for (const hit of hits) out.add(hit);
  }
  return [...out];
}

/** Whether any broker whose name starts with `prefix` is selected. */
export function brokerSelected(prefix: string): boolean {
  return selectedBrokers().some((n) => n.startsWith(prefix));
}

/** Cleanups the helpers register with `t.after`, run when the broker is stopped. */
function lifetime(): { t: TestContext; stopAll(): Promise<void> } {
  const cleanups: (() => unknown)[] = [];
  const t = { after: (fn: () => unknown) => cleanups.push(fn) } as unknown as TestContext;
  return {
    t,
    async stopAll() {
      for (const fn of cleanups.splice(0).reverse()) await fn();
    },
  };
}

function firstLine(binary: string, args: string[]): string {
  const r = spawnSync(binary, args, { encoding: 'utf8' });
  return `${r.stdout}${r.stderr}`.split('\n')[0]?.trim() ?? '';
}

async function mosquitto(): Promise<RunningBroker> {
  const { t, stopAll } = lifetime();
  const broker = await startMosquitto(t);
  // `mosquitto -h` prints "mosquitto version 2.0.11" first (and exits 3).
  const version = firstLine(await findBinary('mosquitto', 'mosquitto'), ['-h']).replace(
    /^mosquitto version /,
    'Mosquitto ',
  );
  return { url: broker.url(), version, log: () => broker.log(), stop: stopAll };
}

async function nats(): Promise<RunningBroker> {
  const { t, stopAll } = lifetime();
  const server = await startNats(t);
  // "nats-server: v2.9.10"
  const version = firstLine(await findBinary('nats-server', 'nats-server'), ['--version']).replace(
    /^nats-server: v/,
    'NATS ',
  );
  return { url: server.url, version, log: () => server.log(), stop: stopAll };
}

async function rabbitmq(): Promise<RunningBroker> {
  const { t, stopAll } = lifetime();
  const node = await startRabbitMq(t);
  // The node logs "Starting RabbitMQ 3.10.8 on Erlang ..." before its listeners accept.
  const found = /RabbitMQ (\d+\.\d+\.\d+)/.exec(node.log());
  return {
    url: node.url,
    version: `RabbitMQ ${found?.[1] ?? '(version not in its log)'} (rabbitmq_mqtt)`,
    log: () => node.log(),
    stop: stopAll,
  };
}

async function aedes(): Promise<RunningBroker> {
  const broker = await Aedes.createBroker();
  const sockets = new Set<Socket>();
  const server: Server = createServer((socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    broker.handle(socket);
  });
  const port = await freePort();
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => resolve());
  });
  // aedes exports no ./package.json: read the one beside its entry point.
  const entry = createRequire(import.meta.url).resolve('aedes');
  const pkg = JSON.parse(readFileSync(join(dirname(entry), 'package.json'), 'utf8')) as {
    version: string;
  };
  return {
    url: `mqtt://127.0.0.1:${port}`,
    version: `Aedes ${pkg.version} (in-memory persistence)`,
    log: () => '',
    async stop() {
      for (const s of sockets) s.destroy();
      await new Promise<void>((r) => server.close(() => r()));
      await new Promise<void>((r) => broker.close(() => r()));
    },
  };
}

/** Every broker of the matrix. */
export const TARGETS: Readonly<Record<BrokerName, BrokerTarget>> = {
  'mosquitto-3.1.1': { name: 'mosquitto-3.1.1', protocolVersion: 4, start: mosquitto },
  'mosquitto-5': { name: 'mosquitto-5', protocolVersion: 5, start: mosquitto },
  nats: { name: 'nats', protocolVersion: 4, start: nats },
  rabbitmq: { name: 'rabbitmq', protocolVersion: 4, start: rabbitmq },
  aedes: { name: 'aedes', protocolVersion: 4, start: aedes },
};
