/**
 * A real Mosquitto broker per test, on free loopback ports, with generated configuration
 * (listeners, TLS, PSK, password file, ACL, persistence). A broker already running on the
 * machine is never used.
 *
 * Mosquitto 2.0.11 with the default `per_listener_settings false`: `allow_anonymous`,
 * `password_file`, `acl_file` and `psk_file` are global; the certificate and PSK-hint options
 * (`cafile`, `certfile`, `keyfile`, `require_certificate`, `use_identity_as_username`,
 * `psk_hint`, `tls_version`, `ciphers`) belong to a `listener` block. Since 2.0, a broker
 * with explicit listeners refuses anonymous clients unless told otherwise, so
 * `allow_anonymous` is always written.
 *
 * @module
 */

import { spawnSync } from 'node:child_process';
import { rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { TestContext } from 'node:test';
import { freePort } from './ports.js';
import { findBinary, type PeerProcess, spawnPeer, stopPeer, waitForListeners } from './process.js';
import { tempDir } from './tmp.js';

/** One `listener` block. */
export interface MosquittoListener {
  /** @default a free port */
  port?: number;
  /** Bind address. @default '127.0.0.1'; `'::1'` for IPv6. */
  host?: string;
  /**
   * Lines inside the listener block, e.g. `cafile ...`, `certfile ...`, `keyfile ...`,
   * `require_certificate true`, `use_identity_as_username true`, `psk_hint hint`,
   * `tls_version tlsv1.2`, `ciphers ...`.
   */
  lines?: string[];
}

/** What to generate. Every field is optional: the default is one anonymous plain listener. */
export interface MosquittoOptions {
  /** @default one plain listener on a free 127.0.0.1 port */
  listeners?: MosquittoListener[];
  /** @default true */
  allowAnonymous?: boolean;
  /** user name → password, written with `mosquitto_passwd -b` as `password_file`. */
  users?: Record<string, string>;
  /** Contents of the `acl_file`. */
  acl?: string;
  /** identity → hex key, written as `psk_file`. */
  psk?: Record<string, string>;
  /** Persist sessions and retained messages in the temp dir across {@link Mosquitto.restart}. */
  persistence?: boolean;
  /** Extra global configuration lines. */
  lines?: string[];
}

/** A running broker. */
export interface Mosquitto {
  /** Bind address of the first listener. */
  readonly host: string;
  /** Port of the first listener. */
  readonly port: number;
  /** Ports of every listener, in order. */
  readonly ports: readonly number[];
  /** `scheme://host:port` of listener `i` (IPv6 in brackets). */
  url(i?: number, scheme?: string): string;
  /** The temp directory holding the config, password/ACL/PSK files and persistence. */
  readonly dir: string;
  /** Everything the broker logged, across restarts. */
  log(): string;
  /** SIGTERM and wait for the exit (persistence is written). Idempotent. */
  stop(): Promise<void>;
  /** Sends a signal (default SIGKILL) without waiting: a crash. */
  kill(signal?: NodeJS.Signals): void;
  /** Stops if running, then starts again with the same config, ports and persistence. */
  restart(): Promise<void>;
}

function formatHost(host: string): string {
  return host.includes(':') ? `[${host}]` : host;
}

async function writeConfig(
  dir: string,
  listeners: readonly { port: number; host: string; lines: readonly string[] }[],
  options: MosquittoOptions,
): Promise<string> {
  const lines: string[] = [
    // Running as root, Mosquitto 2 drops to user `mosquitto`, which cannot read the 0700
    // temp dir; staying as the invoking user keeps the files readable.
    ...(process.getuid?.() === 0 ? ['user root'] : []),
    'log_dest stderr',
    'log_type error',
    'log_type warning',
    'log_type notice',
    'log_type information',
    'log_timestamp true',
    `allow_anonymous ${options.allowAnonymous ?? true}`,
  ];
  if (options.persistence === true) {
    lines.push('persistence true', `persistence_location ${dir}/`, 'autosave_interval 1');
  } else {
    lines.push('persistence false');
  }
  if (options.users !== undefined) {
    const file = join(dir, 'passwd');
    await writeFile(file, '', { mode: 0o600 });
    const passwd = await findBinary('mosquitto_passwd', 'mosquitto');
    for (const [user, password] of Object.entries(options.users)) {
      const result = spawnSync(passwd, ['-b', file, user, password], { encoding: 'utf8' });
      if (result.status !== 0) {
        throw new Error(`mosquitto_passwd failed for user ${user}: ${result.stderr}`);
      }
    }
    lines.push(`password_file ${file}`);
  }
  if (options.acl !== undefined) {
    const file = join(dir, 'acl');
    await writeFile(file, options.acl, { mode: 0o600 });
    lines.push(`acl_file ${file}`);
  }
  if (options.psk !== undefined) {
    const file = join(dir, 'psk');
    const body = Object.entries(options.psk).map(([id, key]) => `${id}:${key}\n`);
    await writeFile(file, body.join(''), { mode: 0o600 });
    lines.push(`psk_file ${file}`);
  }
  lines.push(...(options.lines ?? []));
  for (const listener of listeners) {
    lines.push('', `listener ${listener.port} ${listener.host}`, ...listener.lines);
  }
  const file = join(dir, 'mosquitto.conf');
  await writeFile(file, `${lines.join('\n')}\n`, { mode: 0o600 });
  return file;
}

/**
 * Starts Mosquitto with a generated config in a temp dir and waits until every listener
 * accepts TCP. If the broker exits first (a bad config line), rejects at once with its log.
 * With a test context, the broker is stopped after the test.
 */
export async function startMosquitto(
  t: TestContext | undefined,
  options: MosquittoOptions = {},
): Promise<Mosquitto> {
  const binary = await findBinary('mosquitto', 'mosquitto mosquitto-clients');
  // The directory is removed by our own after-hook, once the broker has stopped.
  const dir = await tempDir(undefined, 'mosquitto-');
  const specs = options.listeners ?? [{}];
  const listeners: { port: number; host: string; lines: readonly string[] }[] = [];
  for (const spec of specs) {
    const host = spec.host ?? '127.0.0.1';
    listeners.push({ host, port: spec.port ?? (await freePort(host)), lines: spec.lines ?? [] });
  }
  const configFile = await writeConfig(dir, listeners, options);
  const first = listeners[0];
  if (first === undefined) throw new Error('startMosquitto: at least one listener is required');

  let previousLogs = '';
  let peer: PeerProcess | undefined;
  const launch = async (): Promise<void> => {
    const started = spawnPeer(binary, ['-c', configFile], dir);
    peer = started;
    try {
      await waitForListeners(started, 'mosquitto', listeners);
    } catch (err) {
      await stopPeer(started);
      throw err;
    }
  };
  const stop = async (): Promise<void> => {
    if (peer === undefined) return;
    const current = peer;
    await stopPeer(current);
    if (peer === current) {
      previousLogs += current.output();
      peer = undefined;
    }
  };
  const broker: Mosquitto = {
    host: first.host,
    port: first.port,
    ports: listeners.map((l) => l.port),
    url(i = 0, scheme = 'mqtt') {
      const listener = listeners[i];
      if (listener === undefined) throw new RangeError(`no listener #${i}`);
      return `${scheme}://${formatHost(listener.host)}:${listener.port}`;
    },
    dir,
    log: () => previousLogs + (peer?.output() ?? ''),
    stop,
    kill(signal = 'SIGKILL') {
      peer?.child.kill(signal);
    },
    async restart() {
      await stop();
      await launch();
    },
  };
  // Registered before launching so a failed start cannot leak a process or a directory.
  t?.after(async () => {
    await stop();
    await rm(dir, { recursive: true, force: true });
  });
  await launch();
  return broker;
}
