/**
 * The agent acknowledges a QoS 1 command to the broker only once it has applied it (manual
 * acknowledgement): with an output that takes its time, a scripted broker sees no PUBACK
 * until the write finished.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { Packet } from 'courier-mqtt/packet';
import { acceptSession, startFakeBroker } from '../../../test/helpers/fake-broker.js';
import { Agent } from '../src/agent/agent.js';
import { parseConfig } from '../src/config/validate.js';
import type { ChannelValue } from '../src/formats/index.js';
import type { IoDriver } from '../src/sources/channels.js';
import { deferrer, waitFor } from './util.js';

/** A one-output driver whose writes finish when the test says so. */
function slowDriver() {
  const writes: { value: ChannelValue; finish: () => void }[] = [];
  let value: ChannelValue = false;
  const driver: IoDriver = {
    kind: 'slow',
    start: async () => undefined,
    read: async () => value,
    write: (_id, v) =>
      new Promise<void>((resolve) => {
        writes.push({
          value: v,
          finish: () => {
            value = v;
            resolve();
          },
        });
      }),
    onChange: () => () => undefined,
    close: async () => undefined,
  };
  return { driver, writes };
}

describe('agent acknowledgements', () => {
  it('a QoS 1 command is acknowledged once the output was written, not when it arrived', async (t) => {
    const defer = deferrer(t);
    const broker = await startFakeBroker(t);
    const { driver, writes } = slowDriver();
    const agent = new Agent(
      parseConfig({
        connection: { server: '127.0.0.1', port: broker.port, clientId: 'agent-ack' },
        device: { channels: [{ id: 0, name: 'Valve', type: 'digital-output' }] },
        topics: [
          {
            topic: 'Valve',
            direction: 'subscribe',
            channel: 0,
            format: { type: 'boolean', on: 'On', off: 'Off' },
            qos: 1,
          },
        ],
      }),
      { driver },
    );
    defer(() => agent.stop(100));
    const started = agent.start();
    const connection = await acceptSession(broker);
    await started;
    const subscribe = (await connection.next('subscribe')) as Extract<
      Packet,
      { type: 'subscribe' }
    >;
    connection.send({ type: 'suback', packetId: subscribe.packetId, returnCodes: [1] });
    connection.send({
      type: 'publish',
      topic: 'Valve',
      payload: new TextEncoder().encode('On'),
      qos: 1,
      retain: false,
      dup: false,
      packetId: 42,
    });
    await waitFor(() => writes.length === 1, 'the output write');
    // A barrier: a client answers PUBREL with PUBCOMP at once, even for an id it does not
    // know; a PUBACK written when the command arrived would reach us before that PUBCOMP.
    connection.send({ type: 'pubrel', packetId: 99 });
    await connection.next('pubcomp');
    const pubacksWhileWriting = connection.received.filter((p) => p.type === 'puback').length;
    assert.equal(pubacksWhileWriting, 0, 'no PUBACK while the output is being written');
    writes[0]!.finish();
    const ack = (await connection.next('puback')) as Extract<Packet, { type: 'puback' }>;
    assert.equal(ack.packetId, 42);
    assert.equal(writes[0]!.value, true);
  });
});
