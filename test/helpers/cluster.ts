/**
 * The shape every broker cluster a test starts shares (test/helpers/nats-cluster.ts,
 * test/helpers/rabbitmq-cluster.ts), so that one failover scenario runs on any of them.
 *
 * @module
 */

import type { PeerProcess } from './process.js';

/** One node of a cluster started by the test. */
export interface ClusterNode {
  readonly name: string;
  /** `mqtt://127.0.0.1:<port>` of the node's MQTT listener. */
  readonly url: string;
  /** Everything the node logged. */
  log(): string;
  /** SIGKILL the node's process and wait until it is gone: a crashed node. */
  kill(): Promise<void>;
  /** Starts a killed node again with its configuration and data: it rejoins the cluster. */
  restart(): Promise<void>;
  readonly alive: boolean;
}

/** A running cluster of nodes of type `N`. */
export interface Cluster<N extends ClusterNode = ClusterNode> {
  readonly nodes: readonly N[];
  /** Stops every node (the test's end does it too). */
  stop(): Promise<void>;
}

/**
 * A {@link ClusterNode} around the process in `peers[index]`, which `restart()` replaces:
 * `spawn()` starts the node's process again with its configuration and data, `ready(peer)`
 * waits until it listens. The node's log keeps what the earlier processes printed.
 */
export function peerNode<I extends { readonly name: string; readonly url: string }>(
  identity: I,
  peers: PeerProcess[],
  index: number,
  start: { spawn(): PeerProcess; ready(peer: PeerProcess): Promise<void> },
): I & ClusterNode {
  let earlier = '';
  return {
    ...identity,
    log: () => earlier + peers[index]!.output(),
    async kill() {
      peers[index]!.child.kill('SIGKILL');
      await peers[index]!.exited;
    },
    async restart() {
      earlier += peers[index]!.output();
      const peer = start.spawn();
      peers[index] = peer;
      await start.ready(peer);
    },
    get alive() {
      const child = peers[index]!.child;
      return child.exitCode === null && child.signalCode === null;
    },
  };
}
