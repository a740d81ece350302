/**
 * A real RabbitMQ node with its MQTT plugin, per test: its own configuration, Mnesia and log
 * directories, Erlang cookie (in its own HOME), its own `epmd` and free loopback ports. The
 * machine's RabbitMQ service, if any, is never touched.
 *
 * RabbitMQ 3.10's MQTT plugin implements MQTT 3.1.1 with QoS 0 and 1: it answers a QoS 2
 * PUBLISH with PUBACK (it downgrades the message to QoS 1). A node takes about 10 s to start
 * (the plugin waits for a Raft election of its client-id registry).
 *
 * @module
 */

import { access, mkdir, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { TestContext } from 'node:test';
import { freePort } from './ports.js';
import { findBinary, type PeerProcess, spawnPeer, stopPeer, waitForListeners } from './process.js';
import { tempDir } from './tmp.js';

/** A running RabbitMQ node. */
export interface RabbitMq {
  readonly host: string;
  /** Port of the MQTT listener. */
  readonly mqttPort: number;
  /** `mqtt://127.0.0.1:<mqttPort>` */
  readonly url: string;
  /** Everything the node logged. */
  log(): string;
  stop(): Promise<void>;
}

const SERVER_SCRIPT = '/usr/lib/rabbitmq/bin/rabbitmq-server';

/**
 * Starts a RabbitMQ node with `rabbitmq_mqtt` and anonymous MQTT access (user guest), and
 * waits until the MQTT listener accepts TCP.
 */
export async function startRabbitMq(t: TestContext | undefined): Promise<RabbitMq> {
  try {
    await access(SERVER_SCRIPT);
  } catch {
    throw new Error(`${SERVER_SCRIPT} not found: apt-get install rabbitmq-server`);
  }
  const epmdBinary = await findBinary('epmd', 'erlang-base');
  const dir = await tempDir(undefined, 'rabbitmq-');
  const host = '127.0.0.1';
  const [epmdPort, nodePort, distPort, mqttPort] = [
    await freePort(host),
    await freePort(host),
    await freePort(host),
    await freePort(host),
  ];
  const home = join(dir, 'home');
  await mkdir(home);
  await mkdir(join(dir, 'mnesia'));
  await mkdir(join(dir, 'log'));
  // Nodes started together share nothing, so each gets its own random cookie.
  const cookie = `courier${Math.random().toString(36).slice(2)}${Date.now()}`;
  await writeFile(join(home, '.erlang.cookie'), cookie, { mode: 0o400 });
  await writeFile(join(dir, 'enabled_plugins'), '[rabbitmq_mqtt].\n');
  await writeFile(join(dir, 'rabbitmq-env.conf'), '');
  await writeFile(
    join(dir, 'rabbitmq.conf'),
    [
      'listeners.tcp = none',
      `mqtt.listeners.tcp.default = ${host}:${mqttPort}`,
      'mqtt.allow_anonymous = true',
      // guest may connect from loopback only by default; the tests connect from loopback.
      'loopback_users = none',
      '',
    ].join('\n'),
  );
  const env = {
    HOME: home,
    ERL_EPMD_PORT: String(epmdPort),
    RABBITMQ_NODENAME: `courier${mqttPort}@localhost`,
    RABBITMQ_NODE_IP_ADDRESS: host,
    RABBITMQ_NODE_PORT: String(nodePort),
    RABBITMQ_DIST_PORT: String(distPort),
    RABBITMQ_MNESIA_BASE: join(dir, 'mnesia'),
    RABBITMQ_LOG_BASE: join(dir, 'log'),
    RABBITMQ_LOGS: '-',
    RABBITMQ_ENABLED_PLUGINS_FILE: join(dir, 'enabled_plugins'),
    RABBITMQ_CONFIG_FILE: join(dir, 'rabbitmq.conf'),
    RABBITMQ_ADVANCED_CONFIG_FILE: join(dir, 'advanced.config'),
    RABBITMQ_CONF_ENV_FILE: join(dir, 'rabbitmq-env.conf'),
    RABBITMQ_PID_FILE: join(dir, 'rabbitmq.pid'),
  };
  // Our own epmd in the foreground: the one rabbitmq-server would start is a daemon that
  // outlives the test.
  const epmd: PeerProcess = spawnPeer(epmdBinary, ['-port', String(epmdPort)], dir);
  const assignments = Object.entries(env).map(([k, v]) => `${k}=${v}`);
  const node: PeerProcess = spawnPeer('/usr/bin/env', [...assignments, SERVER_SCRIPT], dir);
  const stop = async (): Promise<void> => {
    await stopPeer(node, 15_000);
    await stopPeer(epmd);
  };
  t?.after(async () => {
    await stop();
    await rm(dir, { recursive: true, force: true });
  });
  try {
    await waitForListeners(node, 'rabbitmq-server', [{ host, port: mqttPort }], 90_000);
  } catch (error) {
    await stop();
    throw error;
  }
  return { host, mqttPort, url: `mqtt://${host}:${mqttPort}`, log: () => node.output(), stop };
}
