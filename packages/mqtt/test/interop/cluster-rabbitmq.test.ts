/**
 * Cluster failover on a 3-node RabbitMQ cluster (rabbitmq_mqtt; persistent sessions' queues
 * are quorum queues: `mqtt.durable_queue_type = quorum`) started by the test in its own
 * directories, ports, node names and Erlang cookie; the scenario is in `cluster-scenario.ts`.
 *
 * Runs with the matrix's RabbitMQ entry: `npm test -- --broker rabbitmq`.
 */
import { test } from 'node:test';
import { startRabbitCluster } from '../../../../test/helpers/rabbitmq-cluster.js';
import { brokerSelected } from './brokers.js';
import { runClusterFailover } from './cluster-scenario.js';

if (brokerSelected('rabbitmq')) {
  test('RabbitMQ cluster: 20,000 QoS 1 messages across a SIGKILLed node, none lost; a persistent session survives its node', async (t) => {
    const cluster = await startRabbitCluster(t);
    t.diagnostic(`RabbitMQ ${cluster.version}`);
    await runClusterFailover(t, cluster, 'RabbitMQ', { willOnNodeLoss: false });
  });
}
