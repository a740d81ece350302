/**
 * A 3-node NATS cluster (JetStream clustered, an MQTT listener on every node) started by a
 * test on free loopback ports, each node with its own configuration and JetStream store in
 * a temp dir. MQTT sessions and QoS 1 messages live in JetStream streams; `stream_replicas`
 * in the `mqtt` block says on how many nodes (2.9's default leaves a session on fewer nodes
 * than the cluster has, and unreachable after a node loss), so it is set to the cluster size.
 *
 * @module
 */

import { rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { TestContext } from 'node:test';
import { type Cluster, type ClusterNode, peerNode } from './cluster.js';
import { freePort } from './ports.js';
import { findBinary, type PeerProcess, spawnPeer, stopPeer, waitForListeners } from './process.js';
import { tempDir } from './tmp.js';

/** One node of the cluster; a restart keeps its configuration and JetStream store. */
export interface NatsNode extends ClusterNode {
  readonly mqttPort: number;
}

/** A running cluster. */
export type NatsCluster = Cluster<NatsNode>;

/** Options of {@link startNatsCluster}. */
export interface NatsClusterOptions {
  /** @default 3 */
  readonly size?: number;
  /** Extra lines inside every node's `mqtt { }` block. */
  readonly mqttLines?: readonly string[];
}

/**
 * Starts the nodes, each routed to all the others, and waits until every node's client,
 * cluster and MQTT listeners accept TCP. JetStream elects its meta leader after that: a
 * client's first CONNECT may be refused until it has, so clients connect with reconnect on.
 */
export async function startNatsCluster(
  t: TestContext,
  options: NatsClusterOptions = {},
): Promise<NatsCluster> {
  const size = options.size ?? 3;
  const binary = await findBinary('nats-server', 'nats-server');
  const dir = await tempDir(undefined, 'nats-cluster-');
  const host = '127.0.0.1';
  const specs: { name: string; port: number; clusterPort: number; mqttPort: number }[] = [];
  for (let i = 0; i < size; i++) {
    specs.push({
      name: `n${i + 1}`,
      port: await freePort(host),
      clusterPort: await freePort(host),
      mqttPort: await freePort(host),
    });
  }
  const peers: PeerProcess[] = [];
  const stop = async (): Promise<void> => {
    await Promise.all(peers.map((p) => stopPeer(p)));
  };
  t.after(async () => {
    await stop();
    await rm(dir, { recursive: true, force: true });
  });
  const nodes: NatsNode[] = [];
  for (const spec of specs) {
    const routes = specs
      .filter((s) => s !== spec)
      .map((s) => `    nats-route://${host}:${s.clusterPort}`);
    const config = [
      `server_name: ${spec.name}`,
      `listen: ${host}:${spec.port}`,
      'jetstream {',
      `  store_dir: ${JSON.stringify(join(dir, spec.name))}`,
      '  max_memory_store: 64MB',
      '  max_file_store: 512MB',
      '}',
      'cluster {',
      '  name: courier-test',
      `  listen: ${host}:${spec.clusterPort}`,
      '  routes: [',
      ...routes,
      '  ]',
      '}',
      'mqtt {',
      `  listen: ${host}:${spec.mqttPort}`,
      `  stream_replicas: ${size}`,
      ...(options.mqttLines ?? []).map((line) => `  ${line}`),
      '}',
    ].join('\n');
    const file = join(dir, `${spec.name}.conf`);
    await writeFile(file, `${config}\n`, { mode: 0o600 });
    const spawn = (): PeerProcess => spawnPeer(binary, ['-c', file], dir);
    const index = peers.length;
    peers.push(spawn());
    nodes.push(
      peerNode(
        { name: spec.name, url: `mqtt://${host}:${spec.mqttPort}`, mqttPort: spec.mqttPort },
        peers,
        index,
        {
          spawn,
          ready: (peer) =>
            waitForListeners(
              peer,
              `nats-server ${spec.name}`,
              [
                { host, port: spec.port },
                { host, port: spec.mqttPort },
              ],
              30_000,
            ),
        },
      ),
    );
  }
  try {
    for (const [i, spec] of specs.entries()) {
      await waitForListeners(
        peers[i]!,
        `nats-server ${spec.name}`,
        [
          { host, port: spec.port },
          { host, port: spec.clusterPort },
          { host, port: spec.mqttPort },
        ],
        30_000,
      );
    }
  } catch (error) {
    await stop();
    throw error;
  }
  return { nodes, stop };
}
