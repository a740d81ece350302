/**
 * A 3-node RabbitMQ cluster with the MQTT plugin, started by a test in its own directories:
 * node names, Erlang cookie (shared by the three nodes, in their own HOME), its own `epmd`,
 * free loopback ports, configuration, Mnesia and log directories. The machine's RabbitMQ
 * service, if any, is never touched.
 *
 * The nodes form the cluster through classic-config peer discovery: the first node starts
 * alone, then the others start and join it. MQTT subscriptions of persistent sessions are
 * quorum queues (`mqtt.durable_queue_type = quorum`, rabbitmq_mqtt 3.10+), replicated on
 * every node, so a session survives the loss of the node its client was connected to.
 *
 * @module
 */

import { access, mkdir, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { TestContext } from 'node:test';
import { type Cluster, type ClusterNode, peerNode } from './cluster.js';
import { freePort } from './ports.js';
import { findBinary, type PeerProcess, spawnPeer, stopPeer, waitForListeners } from './process.js';
import { tempDir } from './tmp.js';

/** One node of the cluster; `kill()` SIGKILLs the node's Erlang VM. */
export type RabbitNode = ClusterNode;

/** A running cluster. */
export interface RabbitCluster extends Cluster<RabbitNode> {
  /** The RabbitMQ version, from the first node's log. */
  readonly version: string;
}

const SERVER_SCRIPT = '/usr/lib/rabbitmq/bin/rabbitmq-server';

/** Starts the cluster and waits until every node's MQTT listener accepts TCP. */
export async function startRabbitCluster(t: TestContext, size = 3): Promise<RabbitCluster> {
  try {
    await access(SERVER_SCRIPT);
  } catch {
    throw new Error(`${SERVER_SCRIPT} not found: apt-get install rabbitmq-server`);
  }
  const epmdBinary = await findBinary('epmd', 'erlang-base');
  const dir = await tempDir(undefined, 'rabbitmq-cluster-');
  const host = '127.0.0.1';
  const epmdPort = await freePort(host);
  const home = join(dir, 'home');
  await mkdir(home);
  const cookie = `courier${Math.random().toString(36).slice(2)}${Date.now()}`;
  await writeFile(join(home, '.erlang.cookie'), cookie, { mode: 0o400 });
  const tag = epmdPort;
  const names = Array.from({ length: size }, (_, i) => `courier${tag}n${i + 1}@localhost`);
  const epmd = spawnPeer(epmdBinary, ['-port', String(epmdPort)], dir);
  const peers: PeerProcess[] = [];
  const stop = async (): Promise<void> => {
    await Promise.all(peers.map((p) => stopPeer(p, 15_000)));
    await stopPeer(epmd);
  };
  t.after(async () => {
    await stop();
    await rm(dir, { recursive: true, force: true });
  });

  const nodes: RabbitNode[] = [];
  const start = async (i: number): Promise<void> => {
    const nodeDir = join(dir, `n${i + 1}`);
    await mkdir(join(nodeDir, 'mnesia'), { recursive: true });
    await mkdir(join(nodeDir, 'log'), { recursive: true });
    const [nodePort, distPort, mqttPort] = [
      await freePort(host),
      await freePort(host),
      await freePort(host),
    ];
    await writeFile(join(nodeDir, 'enabled_plugins'), '[rabbitmq_mqtt].\n');
    await writeFile(join(nodeDir, 'rabbitmq-env.conf'), '');
    await writeFile(
      join(nodeDir, 'rabbitmq.conf'),
      [
        'listeners.tcp = none',
        `mqtt.listeners.tcp.default = ${host}:${mqttPort}`,
        'mqtt.allow_anonymous = true',
        'loopback_users = none',
        // Persistent sessions' queues replicated by Raft on every node.
        'mqtt.durable_queue_type = quorum',
        'cluster_formation.peer_discovery_backend = classic_config',
        ...names.map((n, k) => `cluster_formation.classic_config.nodes.${k + 1} = ${n}`),
        // Nodes are started one after the other: no random delay is needed.
        'cluster_formation.randomized_startup_delay_range.min = 0',
        'cluster_formation.randomized_startup_delay_range.max = 0',
        // A killed node must not stop the two others from serving (the default
        // `ignore` keeps serving; pause_minority would also, with 2 of 3 left).
        'cluster_partition_handling = pause_minority',
        '',
      ].join('\n'),
    );
    const env = {
      HOME: home,
      ERL_EPMD_PORT: String(epmdPort),
      RABBITMQ_NODENAME: names[i]!,
      RABBITMQ_NODE_IP_ADDRESS: host,
      RABBITMQ_NODE_PORT: String(nodePort),
      RABBITMQ_DIST_PORT: String(distPort),
      RABBITMQ_MNESIA_BASE: join(nodeDir, 'mnesia'),
      RABBITMQ_LOG_BASE: join(nodeDir, 'log'),
      RABBITMQ_LOGS: '-',
      RABBITMQ_ENABLED_PLUGINS_FILE: join(nodeDir, 'enabled_plugins'),
      RABBITMQ_CONFIG_FILE: join(nodeDir, 'rabbitmq.conf'),
      RABBITMQ_ADVANCED_CONFIG_FILE: join(nodeDir, 'advanced.config'),
      RABBITMQ_CONF_ENV_FILE: join(nodeDir, 'rabbitmq-env.conf'),
      RABBITMQ_PID_FILE: join(nodeDir, 'rabbitmq.pid'),
      // The script then execs the Erlang VM instead of running it in the background behind a
      // shell: SIGKILL must reach the VM (a crashed node), not orphan it.
      RUNNING_UNDER_SYSTEMD: 'true',
    };
    const assignments = Object.entries(env).map(([k, v]) => `${k}=${v}`);
    const spawnNode = (): PeerProcess =>
      spawnPeer('/usr/bin/env', [...assignments, SERVER_SCRIPT], nodeDir);
    const index = peers.length;
    peers.push(spawnNode());
    // RUNNING_UNDER_SYSTEMD: the child is the Erlang VM itself, which `kill()` SIGKILLs.
    const ready = (peer: PeerProcess): Promise<void> =>
      waitForListeners(peer, `rabbitmq-server ${names[i]}`, [{ host, port: mqttPort }], 120_000);
    nodes.push(
      peerNode({ name: names[i]!, url: `mqtt://${host}:${mqttPort}` }, peers, index, {
        spawn: spawnNode,
        ready,
      }),
    );
    await ready(peers[index]!);
  };
  try {
    for (let i = 0; i < size; i++) await start(i);
  } catch (error) {
    await stop();
    throw error;
  }
  const found = /RabbitMQ (\d+\.\d+\.\d+)/.exec(nodes[0]!.log());
  return { nodes, version: found?.[1] ?? 'unknown', stop };
}
