/**
 * Hand-encoded MQTT 3.1.1 packets and byte readers, to prove MQTT traffic flows over a
 * transport without depending on the codec or the client.
 *
 * @module
 */

import type { Duplex } from 'node:stream';

/** CONNECT, protocol level 4, clean session, keep-alive 60 s, client id `id`. */
export function connectPacket(id = 'transport-test'): Buffer {
  const idBytes = Buffer.from(id, 'utf8');
  const body = Buffer.concat([
    Buffer.from([0x00, 0x04, 0x4d, 0x51, 0x54, 0x54, 0x04, 0x02, 0x00, 0x3c]),
    Buffer.from([idBytes.length >> 8, idBytes.length & 0xff]),
    idBytes,
  ]);
  return Buffer.concat([Buffer.from([0x10, body.length]), body]);
}

/** CONNACK: session present 0, return code 0. */
export const CONNACK_ACCEPTED = Buffer.from([0x20, 0x02, 0x00, 0x00]);

/** SUBSCRIBE packet id 1, one filter at QoS 0. */
export function subscribePacket(filter: string): Buffer {
  const f = Buffer.from(filter, 'utf8');
  const body = Buffer.concat([
    Buffer.from([0x00, 0x01, f.length >> 8, f.length & 0xff]),
    f,
    Buffer.from([0x00]),
  ]);
  return Buffer.concat([Buffer.from([0x82, body.length]), body]);
}

/** Reads exactly `n` bytes from the stream, or rejects after `timeoutMs`. */
export function readBytes(stream: Duplex, n: number, timeoutMs = 3_000): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    let got = Buffer.alloc(0);
    const done = (): void => {
      clearTimeout(timer);
      stream.off('data', onData);
      stream.off('close', onClose);
    };
    const timer = setTimeout(() => {
      done();
      reject(new Error(`timed out with ${got.length}/${n} bytes`));
    }, timeoutMs);
    const onData = (chunk: Buffer): void => {
      got = Buffer.concat([got, chunk]);
      if (got.length >= n) {
        done();
        resolve(got.subarray(0, n));
      }
    };
    const onClose = (): void => {
      done();
      reject(new Error(`closed after ${got.length}/${n} bytes`));
    };
    stream.on('data', onData);
    stream.on('close', onClose);
  });
}

/** Sends CONNECT and returns the 4-byte CONNACK. */
export async function mqttHandshake(stream: Duplex, id?: string): Promise<Buffer> {
  stream.write(connectPacket(id));
  return readBytes(stream, 4);
}
