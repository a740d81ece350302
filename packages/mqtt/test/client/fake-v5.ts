/**
 * Helpers shared by the client tests that script an MQTT 5.0 broker (test/helpers/fake-broker.ts)
 * for what a real broker will not do on demand: answering the CONNECT with chosen CONNACK
 * properties, connecting a 5.0 client to it, and waiting until what the client wrote arrived.
 *
 * @module
 */
import { type Client, type ClientOptions, connect } from 'courier-mqtt';
import type { ConnackProperties, ConnectPacket, PublishPacket } from 'courier-mqtt/packet';
import type { FakeBroker, FakeConnection } from '../../../../test/helpers/fake-broker.js';
import type { AfterHook } from './fixture.js';

/** The option that makes a client speak MQTT 5.0. */
export const V5 = { protocolVersion: 5 } as const;

/**
 * Accepts a connection and answers its CONNECT with a 5.0 CONNACK carrying `properties`
 * (none at all when empty) and `returnCode`; resolves with the connection and the CONNECT.
 */
export async function acceptV5(
  broker: FakeBroker,
  properties: ConnackProperties = {},
  returnCode = 0,
): Promise<{ c: FakeConnection; connect: ConnectPacket }> {
  const c = await broker.accept();
  const packet = (await c.next('connect')) as ConnectPacket;
  c.send({
    type: 'connack',
    sessionPresent: false,
    returnCode,
    ...(Object.keys(properties).length === 0 ? {} : { properties }),
  });
  return { c, connect: packet };
}

/**
 * Connects a 5.0 client (no reconnection) to the broker, which answers with `properties`;
 * the client is ended (forced) when the test ends.
 */
export async function openV5(
  t: AfterHook,
  broker: FakeBroker,
  properties: ConnackProperties = {},
  options: ClientOptions = {},
): Promise<{ client: Client; c: FakeConnection; connect: ConnectPacket }> {
  const pending = connect(broker.url, {
    ...V5,
    reconnect: false,
    connectTimeoutMs: 5000,
    ...options,
  });
  const { c, connect: packet } = await acceptV5(broker, properties);
  const client = await pending;
  t.after(() => client.end({ force: true }));
  return { client, c, connect: packet };
}

/**
 * Everything the client wrote before this call has reached the broker once it returns: a
 * SUBSCRIBE goes out ahead of queued publishes, and TCP keeps the order.
 */
export async function barrier(client: Client, c: FakeConnection): Promise<void> {
  const done = client.subscribe('barrier/x').catch(() => undefined);
  const sub = (await c.next('subscribe')) as { packetId: number };
  c.send({ type: 'suback', packetId: sub.packetId, returnCodes: [0] });
  await done;
}

/** The PUBLISH packets the broker received on `c` so far. */
export const publishes = (c: FakeConnection): PublishPacket[] =>
  c.received.filter((p): p is PublishPacket => p.type === 'publish');
