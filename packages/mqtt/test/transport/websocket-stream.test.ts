/**
 * The WebSocket byte stream against a raw server that sends exactly the frames a test wants,
 * broken ones included, and reads what the client sends with the `ws` package's own
 * `Receiver` (an independent RFC 6455 implementation): a broken frame fails the connection with
 * the close code that says why; text messages are refused [MQTT-6.0.0-1]; a slow reader pauses
 * the socket; the closing handshake echoes the server's code; a ping racing our close is not
 * answered after it.
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { once } from 'node:events';
import { createRequire } from 'node:module';
import { createServer, connect as netConnect, type Server, type Socket } from 'node:net';
import type { Duplex, Writable } from 'node:stream';
import { test } from 'node:test';
import { WebSocketError } from '../../src/transport/errors.js';
import { openWebSocket } from '../../src/transport/websocket.js';
import { encodeFrame, Opcode } from '../../src/transport/ws-frame.js';
import { WebSocketFrameError } from '../../src/transport/ws-frame-reader.js';

/** `ws`'s frame parser; the package's typings leave it out. */
const Receiver = (createRequire(import.meta.url)('ws') as { Receiver: unknown })
  .Receiver as new (options: {
  isServer: boolean;
}) => Writable;

/**
 * A bound on each test, so that a stream that never fails (or never closes) fails the test
 * instead of hanging the run; far beyond what any of them takes.
 */
const BOUND = { timeout: 30_000 };

const GUID = '258EAFA5-E914-47DA-95CA-C5AB0DC85B11';

/** What the server saw from the client, as parsed by `ws`. */
interface Seen {
  messages: Buffer[];
  pongs: Buffer[];
  close: Promise<{ code: number; reason: string }>;
  error: Error | undefined;
}

/** A server that completes the upgrade by hand and gives the test the raw socket. */
async function rawServer(
  t: { after(fn: () => unknown): void },
  onOpen: (socket: Socket, seen: Seen) => void,
  /** Frames written in the same write as the 101 response. */
  withUpgrade: Uint8Array = new Uint8Array(0),
): Promise<{ port: number; server: Server }> {
  const sockets = new Set<Socket>();
  const server = createServer((socket) => {
    sockets.add(socket);
    let head = Buffer.alloc(0);
    const onData = (chunk: Buffer): void => {
      head = Buffer.concat([head, chunk]);
      const end = head.indexOf('\r\n\r\n');
      if (end < 0) return;
      socket.off('data', onData);
      const key = /sec-websocket-key: *(\S+)/i.exec(head.subarray(0, end).toString())?.[1];
      const accept = createHash('sha1')
        .update(key + GUID)
        .digest('base64');
      socket.write(
        Buffer.concat([
          Buffer.from(
            'HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n' +
              `Sec-WebSocket-Accept: ${accept}\r\nSec-WebSocket-Protocol: mqtt\r\n\r\n`,
          ),
          withUpgrade,
        ]),
      );
      const receiver = new Receiver({ isServer: true });
      let closed!: (value: { code: number; reason: string }) => void;
      const seen: Seen = {
        messages: [],
        pongs: [],
        close: new Promise((resolve) => {
          closed = resolve;
        }),
        error: undefined,
      };
      receiver.on('message', (data: Buffer) => seen.messages.push(data));
      receiver.on('pong', (data: Buffer) => seen.pongs.push(data));
      receiver.on('conclude', (code: number, reason: Buffer) =>
        closed({ code, reason: reason.toString() }),
      );
      receiver.on('error', (error: Error) => {
        seen.error = error;
      });
      socket.on('error', () => {});
      socket.on('data', (chunk: Buffer) => receiver.write(chunk));
      const rest = head.subarray(end + 4);
      if (rest.length > 0) receiver.write(rest);
      onOpen(socket, seen);
    };
    socket.on('data', onData);
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  t.after(() => {
    server.close();
    for (const socket of sockets) socket.destroy();
  });
  return { port: (server.address() as { port: number }).port, server };
}

async function openClient(
  t: { after(fn: () => unknown): void },
  port: number,
  maxMessageBytes?: number,
): Promise<{ stream: Duplex; socket: Socket }> {
  const socket = netConnect(port, '127.0.0.1');
  t.after(() => socket.destroy());
  await once(socket, 'connect');
  const stream = await openWebSocket(socket, {
    host: '127.0.0.1',
    port,
    path: '/mqtt',
    secure: false,
    headers: {},
    timeoutMs: 5000,
    ...(maxMessageBytes === undefined ? {} : { maxMessageBytes }),
  });
  return { stream, socket };
}

const failures: {
  name: string;
  frames: Uint8Array[];
  rule: string;
  closeCode: number;
  maxMessageBytes?: number;
}[] = [
  {
    name: 'a masked frame',
    frames: [encodeFrame(Opcode.BINARY, Uint8Array.of(1), { mask: Uint8Array.of(1, 2, 3, 4) })],
    rule: 'RFC 6455 §5.1',
    closeCode: 1002,
  },
  {
    name: 'a fragmented ping',
    frames: [Uint8Array.of(0x09, 0x00)],
    rule: 'RFC 6455 §5.5',
    closeCode: 1002,
  },
  {
    name: 'a ping of 126 bytes',
    frames: [Uint8Array.of(0x89, 0x7e, 0x00, 0x7e, ...new Uint8Array(126))],
    rule: 'RFC 6455 §5.5',
    closeCode: 1002,
  },
  {
    name: 'a reserved bit',
    frames: [Uint8Array.of(0xc2, 0x01, 0x00)],
    rule: 'RFC 6455 §5.2',
    closeCode: 1002,
  },
  {
    name: 'a close frame with code 1005',
    frames: [encodeFrame(Opcode.CLOSE, Uint8Array.of(0x03, 0xed))],
    rule: 'RFC 6455 §7.4',
    closeCode: 1002,
  },
  {
    name: 'a continuation without a message',
    frames: [encodeFrame(Opcode.CONTINUATION, Uint8Array.of(1))],
    rule: 'RFC 6455 §5.4',
    closeCode: 1002,
  },
  {
    name: 'a text message [MQTT-6.0.0-1]',
    frames: [encodeFrame(Opcode.TEXT, new TextEncoder().encode('{"hello":1}'))],
    rule: 'RFC 6455 §7.4.1',
    closeCode: 1003,
  },
  {
    name: 'a fragmented message over maxMessageBytes, each fragment under it',
    frames: [
      encodeFrame(Opcode.BINARY, new Uint8Array(600), { fin: false }),
      encodeFrame(Opcode.CONTINUATION, new Uint8Array(600)),
    ],
    rule: 'RFC 6455 §10.4',
    closeCode: 1009,
    maxMessageBytes: 1000,
  },
];

for (const failure of failures) {
  test(
    `WebSocket stream: ${failure.name} fails the connection with close code ${failure.closeCode}`,
    BOUND,
    async (t) => {
      let seen!: Promise<Seen>;
      const { port } = await rawServer(t, (socket, s) => {
        // A good message first: bytes before the broken frame are not the failure.
        socket.write(encodeFrame(Opcode.BINARY, Uint8Array.of(7)));
        for (const frame of failure.frames) socket.write(frame);
        seen = Promise.resolve(s);
      });
      const { stream } = await openClient(t, port, failure.maxMessageBytes);
      stream.on('data', () => {});
      const [error] = (await once(stream, 'error')) as [Error];
      assert.ok(error instanceof WebSocketFrameError, String(error));
      assert.ok(error instanceof WebSocketError);
      assert.equal(error.rule, failure.rule, error.message);
      assert.equal(error.closeCode, failure.closeCode);
      // The server learns why [RFC 6455 §7.1.7] before the connection drops.
      const close = await (await seen).close;
      assert.equal(close.code, failure.closeCode);
      assert.equal((await seen).error, undefined, 'the close frame is well formed');
    },
  );
}

test(
  'WebSocket stream: a broken frame in the same packet as the 101 response fails the stream, not the process',
  BOUND,
  async (t) => {
    let seen!: Seen;
    const { port } = await rawServer(
      t,
      (_socket, s) => {
        seen = s;
      },
      Buffer.concat([
        encodeFrame(Opcode.BINARY, Buffer.from('ok')),
        Uint8Array.of(0xc2, 0x01, 0x00), // RSV1 set, no extension negotiated
      ]),
    );
    const socket = netConnect(port, '127.0.0.1');
    t.after(() => socket.destroy());
    await once(socket, 'connect');
    const stream = await openWebSocket(socket, {
      host: '127.0.0.1',
      port,
      path: '/mqtt',
      secure: false,
      headers: {},
      timeoutMs: 5000,
    });
    // The owner of the stream listens only after `openWebSocket` resolved and its callers ran
    // on (here even a turn of the event loop later): the error must wait for it, where the
    // stream used to emit it at once, with no listener, and crash the process.
    await new Promise((resolve) => setImmediate(resolve));
    const chunks: Buffer[] = [];
    stream.on('data', (chunk: Buffer) => chunks.push(chunk));
    const [error] = (await once(stream, 'error')) as [Error];
    assert.ok(error instanceof WebSocketFrameError);
    assert.equal(error.rule, 'RFC 6455 §5.2');
    assert.equal((await seen.close).code, 1002);
  },
);

test(
  'WebSocket stream: a slow reader pauses the socket; reading resumes it (back-pressure)',
  BOUND,
  async (t) => {
    const frames = 64;
    const frameBytes = 16 * 1024;
    const { port } = await rawServer(t, (socket, seen) => {
      // Sent once the client asks, so that none of it comes with the 101 response.
      const send = (): void => {
        for (let i = 0; i < frames; i++) {
          socket.write(encodeFrame(Opcode.BINARY, new Uint8Array(frameBytes).fill(i)));
        }
      };
      socket.on('data', () => {
        if (seen.messages.length === 1 && !sent) {
          sent = true;
          send();
        }
      });
    });
    let sent = false;
    const { stream, socket } = await openClient(t, port);
    // Nobody reads the stream: its buffer fills and the socket is paused.
    const paused = once(socket, 'pause');
    stream.write(Buffer.from('go'));
    await paused;
    assert.ok(socket.isPaused());
    assert.ok(stream.readableLength >= stream.readableHighWaterMark);
    // Reading drains it and lets the socket flow again, until everything has arrived in order.
    const resumed = once(socket, 'resume');
    const received: Buffer[] = [];
    let total = 0;
    stream.on('data', (chunk: Buffer) => {
      received.push(chunk);
      total += chunk.length;
    });
    await resumed;
    while (total < frames * frameBytes) await once(stream, 'data');
    const all = Buffer.concat(received);
    assert.equal(all.length, frames * frameBytes);
    for (let i = 0; i < frames; i++) assert.equal(all[i * frameBytes + frameBytes - 1], i);
  },
);

test(
  'WebSocket stream: a close from the server is echoed with its code and ends the stream',
  BOUND,
  async (t) => {
    let seen!: Seen;
    const { port } = await rawServer(t, (socket, s) => {
      seen = s;
      socket.write(encodeFrame(Opcode.BINARY, new TextEncoder().encode('last')));
      socket.write(encodeFrame(Opcode.CLOSE, Uint8Array.of(0x0f, 0xa1, 0x62, 0x79, 0x65)));
    });
    const { stream } = await openClient(t, port);
    const chunks: Buffer[] = [];
    stream.on('data', (chunk: Buffer) => chunks.push(chunk));
    let failed: Error | undefined;
    stream.on('error', (error) => {
      failed = error;
    });
    await once(stream, 'end');
    assert.equal(Buffer.concat(chunks).toString(), 'last', 'data before the close is delivered');
    assert.deepEqual(await seen.close, { code: 4001, reason: '' });
    assert.equal(failed, undefined);
  },
);

test(
  'WebSocket stream: after our close, a ping from the server is not answered and nothing fails',
  BOUND,
  async (t) => {
    let seen!: Seen;
    const { port } = await rawServer(t, (socket, s) => {
      seen = s;
      void s.close.then(() => {
        // The server pings before it notices our close, then completes the handshake.
        socket.write(encodeFrame(Opcode.PING, Uint8Array.of(1)));
        socket.end(encodeFrame(Opcode.CLOSE, Uint8Array.of(0x03, 0xe8)));
      });
    });
    const { stream } = await openClient(t, port);
    let failed: Error | undefined;
    stream.on('error', (error) => {
      failed = error;
    });
    stream.resume();
    stream.end();
    await once(stream, 'close');
    assert.equal(failed, undefined, `no error: ${failed?.message}`);
    assert.deepEqual(await seen.close, { code: 1000, reason: '' });
    assert.deepEqual(seen.pongs, [], 'no pong after our close frame');
  },
);

test(
  'WebSocket stream: fragments and a ping between them arrive as one byte stream; writes are masked frames',
  BOUND,
  async (t) => {
    let seen!: Seen;
    const { port } = await rawServer(t, (socket, s) => {
      seen = s;
      const wire = Buffer.concat([
        encodeFrame(Opcode.BINARY, Buffer.from('MQ'), { fin: false }),
        encodeFrame(Opcode.PING, Buffer.from('?')),
        encodeFrame(Opcode.CONTINUATION, Buffer.from('TT')),
        encodeFrame(Opcode.BINARY, Buffer.from(' over ws')),
      ]);
      // One byte per TCP write: the reader must not care where the chunks end.
      for (const byte of wire) socket.write(Uint8Array.of(byte));
    });
    const { stream } = await openClient(t, port);
    const chunks: Buffer[] = [];
    stream.on('data', (chunk: Buffer) => chunks.push(chunk));
    while (Buffer.concat(chunks).length < 12) await once(stream, 'data');
    assert.equal(Buffer.concat(chunks).toString(), 'MQTT over ws');
    stream.write(Buffer.from('a'));
    stream.write(Buffer.from('bc'));
    stream.end();
    await seen.close;
    assert.equal(seen.error, undefined, String(seen.error));
    assert.equal(Buffer.concat(seen.messages).toString(), 'abc');
    assert.deepEqual(
      seen.pongs.map((p) => p.toString()),
      ['?'],
    );
  },
);
