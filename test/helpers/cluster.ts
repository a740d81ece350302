/**
 * The shape every broker cluster a test starts shares (test/helpers/nats-cluster.ts,
 * test/helpers/rabbitmq-cluster.ts), so that one failover scenario runs on any of them.
 *
 * @module
 */

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
