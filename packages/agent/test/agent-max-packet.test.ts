// connection.maxPacketSize against a real Mosquitto: a PUBLISH larger than the bound reaching a
// subscribed topic closes the agent's connection on the packet's fixed header (nothing of the
// body is buffered), the reason is in the agent's state, and the agent reconnects.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import mqtt from 'mqtt';
import { startMosquitto } from '../../../test/helpers/mosquitto.js';
import { Agent, type AgentSnapshot } from '../src/agent/agent.js';
import { lucidChannels, lucidTopics } from '../src/agent/demo.js';
import type { AgentEvent } from '../src/agent/events.js';
import { parseConfig } from '../src/config/validate.js';
import { deferrer, waitFor } from './util.js';

describe('agent: connection.maxPacketSize', () => {
  it('a 2 MB PUBLISH to a subscribed topic is refused on its header with the default 1 MiB', async (t) => {
    const defer = deferrer(t);
    const broker = await startMosquitto(t);
    const config = parseConfig({
      connection: { server: broker.host, port: broker.port, clientId: 'courier-max-packet' },
      reconnect: { minDelaySec: 0.05, maxDelaySec: 0.1 },
      device: { channels: lucidChannels(), stepMs: 50 },
      // Valve: a subscribe row at QoS 1 on the digital output 0.
      topics: lucidTopics().filter((r) => r.topic === 'Valve'),
    });
    assert.equal(config.connection.maxPacketSize, 1024 * 1024);
    const agent = new Agent(config);
    defer(() => agent.close());
    const events: AgentEvent[] = [];
    agent.on('event', (e) => events.push(e));
    await agent.start();
    await agent.whenConnected(10000);

    const publisher = await mqtt.connectAsync(broker.url(), { reconnectPeriod: 0 });
    defer(() => publisher.endAsync());
    // The row is subscribed once a small command gets through.
    await publisher.publishAsync('Valve', 'On', { qos: 1 });
    await waitFor(() => events.some((e) => e.type === 'received'), 'the small command');

    const sizes: number[] = [];
    agent.client?.on('packetreceive', (p) => {
      if (p.type === 'publish') sizes.push(p.payload.byteLength);
    });
    const big = Buffer.alloc(2 * 1024 * 1024, 0x31);
    await publisher.publishAsync('Valve', big, { qos: 1 });
    let refused: AgentSnapshot['lastError'];
    await waitFor(() => {
      refused = agent.snapshot().lastError;
      return refused?.code === 'MQTT_PACKET_TOO_LARGE';
    }, 'PacketTooLargeError in the agent state');
    // The size is the one the fixed header announced (1 + 4 length bytes + 2 + "Valve" + a
    // packet id + 2 MiB): the body was never read into memory.
    assert.equal(
      refused?.message,
      'packet of 2097166 bytes exceeds the maximum packet size of 1048576 bytes',
    );
    assert.deepEqual(sizes, [], 'no large PUBLISH was ever parsed');
    // The agent is not stuck: it reconnects (the clean session drops the message).
    await agent.whenConnected(10000);
    await publisher.publishAsync('Valve', 'Off', { qos: 1 });
    await waitFor(
      () => events.some((e) => e.type === 'received' && e.payload === 'Off'),
      'a command after the reconnect',
    );
  });
});
