/**
 * Smoke test of the codec against a real broker: a raw TCP socket, our encoded packets, the
 * broker's replies decoded by our parser.
 */
import assert from 'node:assert/strict';
import { connect } from 'node:net';
import { test } from 'node:test';
import { encode, type Packet, Parser } from 'courier-mqtt/packet';
import { startMosquitto } from '../../../../test/helpers/mosquitto.js';

test('CONNECT, SUBSCRIBE and PUBLISH over a raw socket to Mosquitto', async (t) => {
  const broker = await startMosquitto(t);
  const socket = connect({ host: broker.host, port: broker.port });
  t.after(() => socket.destroy());
  await new Promise((resolve) => socket.once('connect', resolve));
  const parser = new Parser();
  const received: Packet[] = [];
  let wake: (() => void) | undefined;
  socket.on('data', (chunk: Uint8Array) => {
    parser.push(chunk, (p) => received.push(p));
    wake?.();
  });
  const next = async (): Promise<Packet> => {
    const deadline = Date.now() + 5000;
    while (received.length === 0) {
      if (Date.now() > deadline) throw new Error('no packet from the broker');
      await new Promise<void>((resolve) => {
        wake = resolve;
        setTimeout(resolve, 100);
      });
    }
    return received.shift()!;
  };

  socket.write(
    encode({
      type: 'connect',
      protocolVersion: 4,
      clientId: 'raw-1',
      clean: true,
      keepaliveSec: 30,
    }),
  );
  assert.deepEqual(await next(), { type: 'connack', sessionPresent: false, returnCode: 0 });

  socket.write(
    encode({ type: 'subscribe', packetId: 1, subscriptions: [{ topic: 'raw/#', qos: 1 }] }),
  );
  assert.deepEqual(await next(), { type: 'suback', packetId: 1, returnCodes: [1] });

  const payload = new TextEncoder().encode('20.1');
  socket.write(
    encode({
      type: 'publish',
      topic: 'raw/OfficeTemp',
      payload,
      qos: 1,
      retain: false,
      dup: false,
      packetId: 2,
    }),
  );
  const replies = [await next(), await next()];
  const ack = replies.find((p) => p.type === 'puback');
  const echo = replies.find((p) => p.type === 'publish');
  assert.deepEqual(ack, { type: 'puback', packetId: 2 });
  assert.ok(echo?.type === 'publish');
  assert.equal(echo.topic, 'raw/OfficeTemp');
  assert.equal(new TextDecoder().decode(echo.payload), '20.1');
  assert.equal(echo.qos, 1);
  assert.equal(echo.retain, false);
  assert.equal(echo.dup, false);
  socket.write(encode({ type: 'puback', packetId: echo.packetId! }));

  socket.write(encode({ type: 'pingreq' }));
  assert.deepEqual(await next(), { type: 'pingresp' });
  socket.write(encode({ type: 'disconnect' }));
});
