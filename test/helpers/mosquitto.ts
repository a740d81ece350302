/**
 * Starts a real Mosquitto for a test: generated configuration (listeners, anonymous access,
 * password file, ACL, PSK file, persistence) on free loopback ports, waits until every
 * listener accepts connections, and stops it when the test ends — also when it fails.
 *
 * @module
 */

import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { connect } from 'node:net';
import { join } from 'node:path';
import type { TestContext } from 'node:test';
import { promisify } from 'node:util';
import { freePort } from './ports.js';
import { tempDir } from './tmp.js';

const run = promisify(execFile);

/** One listener block of the generated configuration. */
export interface ListenerSpec {
  /** @default a free port */
  readonly port?: number;
  /** @default '127.0.0.1' ('::1' for IPv6) */
  readonly host?: string;
  /** Extra lines inside the listener block (cafile, certfile, keyfile, psk_hint, ...). */
  readonly lines?: readonly string[];
}

/** What to configure. */
export interface MosquittoOptions {
  /** @default one plain listener on a free 127.0.0.1 port */
  readonly listeners?: readonly ListenerSpec[];
  /** @default true */
  readonly allowAnonymous?: boolean;
  /** User → password, written with `mosquitto_passwd`. */
  readonly users?: Readonly<Record<string, string>>;
  /** ACL file contents. */
  readonly acl?: string;
  /** PSK identity → hex key (`psk_file`). */
  readonly psk?: Readonly<Record<string, string>>;
  /** Keep messages and sessions on disk across restarts. @default false */
  readonly persistence?: boolean;
  /** Extra global lines. */
  readonly lines?: readonly string[];
}

/** A running Mosquitto. */
export interface Mosquitto {
  readonly host: string;
  /** Port of the first listener. */
  readonly port: number;
  readonly ports: readonly number[];
  /** Working directory: configuration, log, persistence. */
  readonly dir: string;
  /** URL of listener `i` (IPv6 bracketed). */
  url(i?: number, scheme?: string): string;
  /** The broker's log so far. */
  log(): string;
  stop(): Promise<void>;
  /** Sends a signal without waiting (SIGKILL by default). */
  kill(signal?: NodeJS.Signals): void;
  /** Stops and starts again with the same configuration, ports and persistence. */
  restart(): Promise<void>;
}

function findBinary(name: string): string {
  for (const dir of (process.env.PATH ?? '').split(':').concat(['/usr/sbin', '/usr/local/sbin'])) {
    const path = join(dir, name);
    if (dir !== '' && existsSync(path)) return path;
  }
  throw new Error(
    `${name} not found: install it with 'apt-get install mosquitto mosquitto-clients' (the tests need a real broker)`,
  );
}

function waitForPort(host: string, port: number, deadline: number): Promise<void> {
  return new Promise((resolve, reject) => {
    const attempt = (): void => {
      const socket = connect({ host, port });
      socket.once('connect', () => {
        socket.destroy();
        resolve();
      });
      socket.once('error', () => {
        socket.destroy();
        if (Date.now() > deadline) reject(new Error(`nothing listens on ${host}:${port}`));
        else setTimeout(attempt, 25);
      });
    };
    attempt();
  });
}

/** Starts Mosquitto with a configuration generated from `options`. */
export async function startMosquitto(
  t: TestContext | undefined,
  options: MosquittoOptions = {},
): Promise<Mosquitto> {
  const binary = findBinary('mosquitto');
  const dir = await tempDir(t, 'mosquitto');
  const specs = options.listeners ?? [{}];
  const listeners = await Promise.all(
    specs.map(async (spec) => {
      const host = spec.host ?? '127.0.0.1';
      return { host, port: spec.port ?? (await freePort(host)), lines: spec.lines ?? [] };
    }),
  );
  const config: string[] = [
    // Started as root, Mosquitto would switch to the `mosquitto` user, who cannot read the
    // test's private temp dir: stay who we are.
    ...(process.getuid?.() === 0 ? ['user root'] : []),
    'per_listener_settings false',
    `allow_anonymous ${options.allowAnonymous ?? true}`,
    `log_dest file ${join(dir, 'mosquitto.log')}`,
    'log_type all',
    'connection_messages true',
    ...(options.persistence === true
      ? ['persistence true', `persistence_location ${dir}/`, 'autosave_interval 1']
      : ['persistence false']),
  ];
  if (options.users !== undefined) {
    const file = join(dir, 'passwd');
    await writeFile(file, '', { mode: 0o600 });
    const passwd = findBinary('mosquitto_passwd');
    for (const [user, password] of Object.entries(options.users)) {
      await run(passwd, ['-b', file, user, password]);
    }
    config.push(`password_file ${file}`);
  }
  if (options.acl !== undefined) {
    const file = join(dir, 'acl');
    await writeFile(file, options.acl, { mode: 0o600 });
    config.push(`acl_file ${file}`);
  }
  if (options.psk !== undefined) {
    const file = join(dir, 'psk');
    await writeFile(
      file,
      Object.entries(options.psk)
        .map(([identity, key]) => `${identity}:${key}\n`)
        .join(''),
      { mode: 0o600 },
    );
    config.push(`psk_file ${file}`);
  }
  config.push(...(options.lines ?? []));
  for (const l of listeners) config.push(`listener ${l.port} ${l.host}`, ...l.lines);
  const configFile = join(dir, 'mosquitto.conf');
  await writeFile(configFile, `${config.join('\n')}\n`);
  const logFile = join(dir, 'mosquitto.log');
  const log = (): string => (existsSync(logFile) ? readFileSync(logFile, 'utf8') : '');

  let child: ChildProcess | undefined;
  let stderr = '';
  const start = async (): Promise<void> => {
    stderr = '';
    const proc = spawn(binary, ['-c', configFile], { stdio: ['ignore', 'ignore', 'pipe'] });
    child = proc;
    proc.stderr?.on('data', (chunk: Buffer) => {
      stderr += chunk.toString();
    });
    const exited = new Promise<never>((_, reject) => {
      proc.once('exit', (code, signal) =>
        reject(
          new Error(
            `mosquitto exited (${code ?? signal}) while starting:\n${stderr}\n${log()}\n--- config ---\n${config.join('\n')}`,
          ),
        ),
      );
    });
    exited.catch(() => undefined);
    const deadline = Date.now() + 10_000;
    await Promise.race([
      Promise.all(listeners.map((l) => waitForPort(l.host, l.port, deadline))),
      exited,
    ]);
  };
  const stop = async (): Promise<void> => {
    const proc = child;
    child = undefined;
    if (proc === undefined || proc.exitCode !== null || proc.signalCode !== null) return;
    const gone = new Promise<void>((resolve) => proc.once('exit', () => resolve()));
    proc.kill('SIGTERM');
    const timer = setTimeout(() => proc.kill('SIGKILL'), 3000);
    await gone;
    clearTimeout(timer);
  };
  await start();
  t?.after(stop);
  const first = listeners[0]!;
  return {
    host: first.host,
    port: first.port,
    ports: listeners.map((l) => l.port),
    dir,
    url(i = 0, scheme = 'mqtt') {
      const l = listeners[i]!;
      const host = l.host.includes(':') ? `[${l.host}]` : l.host;
      return `${scheme}://${host}:${l.port}`;
    },
    log,
    stop,
    kill(signal: NodeJS.Signals = 'SIGKILL') {
      child?.kill(signal);
    },
    async restart() {
      await stop();
      await start();
    },
  };
}
