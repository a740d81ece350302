/**
 * A scripted fake broker for what a real broker will not do on demand: drop an ack, send a
 * duplicate, refuse a CONNACK, go silent. It speaks through the codec, on a free loopback port.
 *
 * @module
 */

import { createServer, type Server, type Socket } from 'node:net';
import type { TestContext } from 'node:test';
import { encode, type Packet, Parser, type ProtocolVersion } from 'courier-mqtt/packet';

/** One client connection as the fake broker sees it. */
export interface FakeConnection {
  readonly socket: Socket;
  /** Every packet received on this connection, in order. */
  readonly received: Packet[];
  /** Every packet sent on this connection by {@link send}, in order. */
  readonly sent: Packet[];
  /** Bytes read from the socket so far. */
  readonly bytesReceived: number;
  /** Bytes written to the socket so far by {@link send}. */
  readonly bytesSent: number;
  send(packet: Packet): void;
  /** Resolves with the next received packet of `type` (already received ones count). */
  next(type: Packet['type'], timeoutMs?: number): Promise<Packet>;
  close(): void;
}

/** The fake broker. */
export interface FakeBroker {
  readonly port: number;
  readonly url: string;
  /** Resolves with the next accepted connection. */
  accept(timeoutMs?: number): Promise<FakeConnection>;
  close(): Promise<void>;
}

/** How the fake broker speaks. */
export interface FakeBrokerOptions {
  /** The protocol version its parser and encoder use. @default 4 */
  readonly protocolVersion?: ProtocolVersion;
}

/** Starts a fake broker; every connection is handed to the test through `accept()`. */
export async function startFakeBroker(
  t: TestContext,
  options: FakeBrokerOptions = {},
): Promise<FakeBroker> {
  const version = options.protocolVersion ?? 4;
  const pending: FakeConnection[] = [];
  const waiters: ((c: FakeConnection) => void)[] = [];
  const sockets = new Set<Socket>();
  const server: Server = createServer((socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    socket.on('error', () => undefined);
    const parser = new Parser({ protocolVersion: version });
    const received: Packet[] = [];
    const sent: Packet[] = [];
    const bytes = { received: 0, sent: 0 };
    let cursor = new Map<string, number>();
    const listeners: (() => void)[] = [];
    socket.on('data', (chunk: Uint8Array) => {
      bytes.received += chunk.length;
      parser.push(chunk, (p) => received.push(p));
      for (const l of listeners.splice(0)) l();
    });
    const connection: FakeConnection = {
      socket,
      received,
      sent,
      get bytesReceived() {
        return bytes.received;
      },
      get bytesSent() {
        return bytes.sent;
      },
      send: (p) => {
        if (socket.destroyed) return;
        const frame = encode(p, version);
        sent.push(p);
        bytes.sent += frame.length;
        socket.write(frame);
      },
      next: (type, timeoutMs = 5000) =>
        new Promise((resolve, reject) => {
          const deadline = Date.now() + timeoutMs;
          const look = (): void => {
            const from = cursor.get(type) ?? 0;
            for (let i = from; i < received.length; i++) {
              if (received[i]!.type === type) {
                cursor.set(type, i + 1);
                resolve(received[i]!);
                return;
              }
            }
            if (Date.now() > deadline) {
              reject(
                new Error(
                  `no ${type} within ${timeoutMs} ms; got ${received.map((p) => p.type).join(',')}`,
                ),
              );
              return;
            }
            listeners.push(look);
            setTimeout(look, Math.max(1, deadline - Date.now()) + 1).unref();
          };
          look();
        }),
      close: () => socket.destroy(),
    };
    cursor = new Map();
    const waiter = waiters.shift();
    if (waiter !== undefined) waiter(connection);
    else pending.push(connection);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  const port = typeof address === 'object' && address !== null ? address.port : 0;
  const close = async (): Promise<void> => {
    for (const s of sockets) s.destroy();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  };
  t.after(close);
  return {
    port,
    url: `mqtt://127.0.0.1:${port}`,
    accept: (timeoutMs = 5000) =>
      new Promise((resolve, reject) => {
        const ready = pending.shift();
        if (ready !== undefined) {
          resolve(ready);
          return;
        }
        const timer = setTimeout(
          () => reject(new Error(`no connection within ${timeoutMs} ms`)),
          timeoutMs,
        );
        waiters.push((c) => {
          clearTimeout(timer);
          resolve(c);
        });
      }),
    close,
  };
}

/** Accepts a connection and answers its CONNECT with CONNACK. */
export async function acceptSession(
  broker: FakeBroker,
  sessionPresent = false,
  returnCode = 0,
): Promise<FakeConnection> {
  const c = await broker.accept();
  await c.next('connect');
  c.send({ type: 'connack', sessionPresent, returnCode });
  return c;
}
