/**
 * The raw contender, the ceiling of this machine: every PUBLISH is encoded with our codec
 * before the clock starts, written to a plain socket (writes of one tick coalesced), and the
 * acknowledgements are read with a minimal frame scanner. No session, no store, no promises.
 */

import { connect, type Socket } from 'node:net';
import { encode } from 'courier-mqtt/packet';
import type { ContenderSpec, IdleClient, Pair } from './contender.js';
import { PAYLOAD } from './contender.js';

/** Splits a byte stream into MQTT frames: calls `onFrame(firstByte, body)` per packet. */
class FrameReader {
  #rest: Buffer = Buffer.alloc(0);
  readonly #onFrame: (first: number, body: Buffer) => void;
  constructor(onFrame: (first: number, body: Buffer) => void) {
    this.#onFrame = onFrame;
  }
  push(chunk: Buffer): void {
    let buf = this.#rest.length === 0 ? chunk : Buffer.concat([this.#rest, chunk]);
    let at = 0;
    for (;;) {
      if (buf.length - at < 2) break;
      let length = 0;
      let multiplier = 1;
      let i = at + 1;
      let complete = false;
      while (i < buf.length && i < at + 5) {
        const byte = buf[i++]!;
        length += (byte & 0x7f) * multiplier;
        multiplier *= 128;
        if ((byte & 0x80) === 0) {
          complete = true;
          break;
        }
      }
      if (!complete || i + length > buf.length) break;
      this.#onFrame(buf[at]!, buf.subarray(i, i + length));
      at = i + length;
    }
    buf = buf.subarray(at);
    this.#rest = buf.length === 0 ? Buffer.alloc(0) : Buffer.from(buf);
  }
}

/** A socket whose writes of one tick go out in one `writev`. */
function corkedWriter(socket: Socket): (bytes: Uint8Array, done?: () => void) => void {
  let corked = false;
  return (bytes, done) => {
    if (!corked) {
      corked = true;
      socket.cork();
      queueMicrotask(() => {
        corked = false;
        socket.uncork();
      });
    }
    socket.write(bytes, done === undefined ? undefined : () => done());
  };
}

/** Opens a socket and completes CONNECT (and SUBSCRIBE) before returning. */
async function open(
  port: number,
  clientId: string,
  subscribe: { topic: string; qos: 0 | 1 | 2 } | undefined,
  onFrame: (first: number, body: Buffer) => void,
): Promise<Socket> {
  const socket = connect(port, '127.0.0.1');
  socket.setNoDelay(true);
  await new Promise<void>((resolve, reject) => {
    socket.once('connect', resolve);
    socket.once('error', reject);
  });
  let ready: () => void = () => {};
  const handshake = new Promise<void>((resolve) => {
    ready = resolve;
  });
  let waiting = subscribe === undefined ? 1 : 2; // CONNACK, SUBACK
  const reader = new FrameReader((first, body) => {
    const type = first >> 4;
    if (type === 2 || type === 9) {
      if (--waiting === 0) ready();
      return;
    }
    onFrame(first, body);
  });
  socket.on('data', (chunk: Buffer) => reader.push(chunk));
  socket.write(
    encode({ type: 'connect', protocolVersion: 4, clientId, clean: true, keepaliveSec: 0 }, 4),
  );
  if (subscribe !== undefined) {
    socket.write(encode({ type: 'subscribe', packetId: 1, subscriptions: [subscribe] }, 4));
  }
  await handshake;
  return socket;
}

/** Connects the raw publisher and subscriber and pre-encodes every PUBLISH. */
export async function rawPair(spec: ContenderSpec, topic: string): Promise<Pair> {
  const { qos } = spec;
  let onMessage: () => void = () => {};

  let subWrite: (bytes: Uint8Array) => void = () => {};
  const sub = await open(spec.port, `raw-sub-${process.pid}`, { topic, qos }, (first, body) => {
    const type = first >> 4;
    if (type === 3) {
      const packetQos = (first >> 1) & 3;
      if (packetQos > 0) {
        const topicLength = body.readUInt16BE(0);
        const id = body.readUInt16BE(2 + topicLength);
        subWrite(Uint8Array.of(packetQos === 1 ? 0x40 : 0x50, 2, id >> 8, id & 0xff));
      }
      onMessage();
    } else if (type === 6) {
      subWrite(Uint8Array.of(0x70, 2, body[0]!, body[1]!)); // PUBREL -> PUBCOMP
    }
  });
  subWrite = corkedWriter(sub);

  const pending: (((error?: unknown) => void) | undefined)[] = new Array(65536);
  let pubWrite: (bytes: Uint8Array, done?: () => void) => void = () => {};
  const pub = await open(spec.port, `raw-pub-${process.pid}`, undefined, (first, body) => {
    const type = first >> 4;
    const id = (body[0]! << 8) | body[1]!;
    if (type === 5) {
      pubWrite(Uint8Array.of(0x62, 2, body[0]!, body[1]!)); // PUBREC -> PUBREL
      return;
    }
    if (type === 4 || type === 7) {
      const done = pending[id];
      pending[id] = undefined;
      done?.();
    }
  });
  pubWrite = corkedWriter(pub);

  const packets: Uint8Array[] = [];
  for (let i = 0; i < spec.messages; i++) {
    packets.push(
      encode(
        qos === 0
          ? { type: 'publish', topic, payload: PAYLOAD, qos, retain: false, dup: false }
          : {
              type: 'publish',
              topic,
              payload: PAYLOAD,
              qos,
              retain: false,
              dup: false,
              packetId: (i % 65535) + 1,
            },
        4,
      ),
    );
  }
  let next = 0;
  return {
    publish(done) {
      const i = next++;
      const bytes = packets[i]!;
      packets[i] = PAYLOAD; // let the encoded packet go once written
      if (qos === 0) {
        pubWrite(bytes, done);
      } else {
        pending[(i % 65535) + 1] = done;
        pubWrite(bytes);
      }
    },
    onMessage(fn) {
      onMessage = fn;
    },
    async close() {
      pub.end(Uint8Array.of(0xe0, 0));
      sub.end(Uint8Array.of(0xe0, 0));
    },
  };
}

/**
 * One idle raw connection, the floor of the idle bench: a plain socket that sent CONNECT
 * (keep-alive 60 s) and SUBSCRIBE (QoS 1), read the CONNACK and SUBACK, and keeps reading.
 * No session, no parser state beyond the frame reader: what Node's socket alone costs.
 */
export const rawIdle: IdleClient = async (port, id, protocolVersion) => {
  const socket = connect(port, '127.0.0.1');
  await new Promise<void>((resolve, reject) => {
    socket.once('connect', resolve);
    socket.once('error', reject);
  });
  const version = protocolVersion === 5 ? 5 : 4;
  let ready: () => void = () => {};
  const handshake = new Promise<void>((resolve) => {
    ready = resolve;
  });
  let waiting = 2; // CONNACK, SUBACK
  const reader = new FrameReader((first) => {
    const type = first >> 4;
    if ((type === 2 || type === 9) && --waiting === 0) ready();
  });
  socket.on('data', (chunk: Buffer) => reader.push(chunk));
  socket.write(
    encode(
      {
        type: 'connect',
        protocolVersion: version,
        clientId: `raw-idle-${process.pid}-${id}`,
        clean: true,
        keepaliveSec: 60,
      },
      version,
    ),
  );
  socket.write(
    encode(
      {
        type: 'subscribe',
        packetId: 1,
        subscriptions: [{ topic: `idle/${process.pid}/${id}`, qos: 1 }],
      },
      version,
    ),
  );
  await handshake;
  return async () => {
    socket.end(Uint8Array.of(0xe0, 0));
  };
};
