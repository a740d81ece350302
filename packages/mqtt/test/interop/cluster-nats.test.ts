/**
 * Cluster failover on a 3-node NATS cluster (JetStream, MQTT on every node, MQTT streams
 * replicated to all 3: `stream_replicas: 3`) started by the test on loopback; the scenario is
 * in `cluster-scenario.ts`. NATS publishes no Will for a connection lost with its node.
 *
 * Runs with the matrix's NATS entry: `npm test -- --broker nats`.
 */
import { test } from 'node:test';
import { startNatsCluster } from '../../../../test/helpers/nats-cluster.js';
import { brokerSelected } from './brokers.js';
import { runClusterFailover } from './cluster-scenario.js';

if (brokerSelected('nats')) {
  test('NATS cluster: 20,000 QoS 1 messages across a SIGKILLed node, none lost; a persistent session survives its node', async (t) => {
    const cluster = await startNatsCluster(t);
    await runClusterFailover(t, cluster, 'NATS', { willOnNodeLoss: false });
  });
}
