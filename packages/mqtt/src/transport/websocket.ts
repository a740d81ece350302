/**
 * A small RFC 6455 WebSocket client over an already connected TCP or TLS stream, exposed as a
 * `Duplex` of MQTT bytes (binary frames), so the client sees the same byte stream as over TCP.
 * Node 20 has no stable WebSocket client, and the library depends on nothing but Node.
 *
 * @module
 */

import { createHash, randomBytes } from 'node:crypto';
import { Duplex } from 'node:stream';
import { WebSocketError } from './errors.js';

/** Options of {@link openWebSocket}. */
export interface WebSocketOptions {
  readonly host: string;
  readonly port: number;
  readonly path: string;
  readonly secure: boolean;
  readonly headers: Readonly<Record<string, string>>;
  readonly timeoutMs: number;
  /** Largest frame accepted. @default 256 MiB + 16 */
  readonly maxFrameBytes?: number;
}

const GUID = '258EAFA5-E914-47DA-95CA-C5AB0DC85B11';
const OP_CONTINUATION = 0x0;
const OP_TEXT = 0x1;
const OP_BINARY = 0x2;
const OP_CLOSE = 0x8;
const OP_PING = 0x9;
const OP_PONG = 0xa;

/** Builds one masked client frame [RFC 6455 §5.3: a client masks every frame]. */
function frame(opcode: number, payload: Uint8Array): Buffer {
  const length = payload.byteLength;
  const headerLength = length < 126 ? 2 : length < 65536 ? 4 : 10;
  const out = Buffer.allocUnsafe(headerLength + 4 + length);
  out[0] = 0x80 | opcode;
  if (length < 126) {
    out[1] = 0x80 | length;
  } else if (length < 65536) {
    out[1] = 0x80 | 126;
    out.writeUInt16BE(length, 2);
  } else {
    out[1] = 0x80 | 127;
    out.writeBigUInt64BE(BigInt(length), 2);
  }
  const mask = randomBytes(4);
  mask.copy(out, headerLength);
  const body = headerLength + 4;
  for (let i = 0; i < length; i++) out[body + i] = payload[i]! ^ mask[i & 3]!;
  return out;
}

/** The WebSocket connection as a byte-stream Duplex. */
class WebSocketStream extends Duplex {
  readonly #socket: Duplex;
  readonly #maxFrameBytes: number;
  #buffer: Buffer = Buffer.alloc(0);
  #fragments: Buffer[] = [];
  #closeSent = false;

  constructor(socket: Duplex, maxFrameBytes: number, initial: Buffer) {
    super();
    this.#socket = socket;
    this.#maxFrameBytes = maxFrameBytes;
    socket.on('data', (chunk: Buffer) => this.#onData(chunk));
    socket.on('end', () => this.push(null));
    socket.on('close', () => this.destroy());
    socket.on('error', (error: Error) => this.destroy(error));
    if (initial.length > 0) this.#onData(initial);
  }

  #onData(chunk: Buffer): void {
    this.#buffer = this.#buffer.length === 0 ? chunk : Buffer.concat([this.#buffer, chunk]);
    try {
      while (this.#parseFrame()) {
        // keep going
      }
    } catch (error) {
      this.destroy(error as Error);
    }
  }

  /** Parses one frame from the buffer; false when more bytes are needed. */
  #parseFrame(): boolean {
    const b = this.#buffer;
    if (b.length < 2) return false;
    const fin = (b[0]! & 0x80) !== 0;
    const opcode = b[0]! & 0x0f;
    if ((b[0]! & 0x70) !== 0) throw new WebSocketError('WebSocket frame with reserved bits set');
    if ((b[1]! & 0x80) !== 0)
      throw new WebSocketError('masked frame from the server (RFC 6455 §5.1)');
    let length = b[1]! & 0x7f;
    let offset = 2;
    if (length === 126) {
      if (b.length < 4) return false;
      length = b.readUInt16BE(2);
      offset = 4;
    } else if (length === 127) {
      if (b.length < 10) return false;
      const big = b.readBigUInt64BE(2);
      if (big > BigInt(this.#maxFrameBytes)) {
        throw new WebSocketError(`WebSocket frame of ${big} bytes exceeds the limit`);
      }
      length = Number(big);
      offset = 10;
    }
    if (length > this.#maxFrameBytes) {
      throw new WebSocketError(`WebSocket frame of ${length} bytes exceeds the limit`);
    }
    if (b.length < offset + length) return false;
    const payload = b.subarray(offset, offset + length);
    this.#buffer = b.subarray(offset + length);
    switch (opcode) {
      case OP_BINARY:
      case OP_TEXT:
      case OP_CONTINUATION:
        if (fin && this.#fragments.length === 0) {
          this.#deliver(payload);
        } else {
          this.#fragments.push(payload);
          if (fin) {
            this.#deliver(Buffer.concat(this.#fragments));
            this.#fragments = [];
          }
        }
        break;
      case OP_PING:
        this.#socket.write(frame(OP_PONG, payload));
        break;
      case OP_PONG:
        break;
      case OP_CLOSE:
        if (!this.#closeSent) {
          this.#closeSent = true;
          this.#socket.write(frame(OP_CLOSE, payload.subarray(0, 2)));
        }
        this.#socket.end();
        this.push(null);
        break;
      default:
        throw new WebSocketError(`unknown WebSocket opcode ${opcode}`);
    }
    return true;
  }

  /** Pushes a message's bytes; a full read buffer pauses the socket (back-pressure). */
  #deliver(bytes: Buffer): void {
    if (!this.push(bytes)) this.#socket.pause();
  }

  override _read(): void {
    // Data is pushed as frames arrive; the reader wants more: let the socket flow again.
    this.#socket.resume();
  }

  override _write(
    chunk: Buffer,
    _encoding: BufferEncoding,
    callback: (error?: Error | null) => void,
  ): void {
    this.#socket.write(frame(OP_BINARY, chunk), callback);
  }

  override _writev(chunks: { chunk: Buffer }[], callback: (error?: Error | null) => void): void {
    // One frame for everything written in one tick.
    this.#socket.write(frame(OP_BINARY, Buffer.concat(chunks.map((c) => c.chunk))), callback);
  }

  override _final(callback: (error?: Error | null) => void): void {
    if (!this.#closeSent) {
      this.#closeSent = true;
      this.#socket.write(frame(OP_CLOSE, Uint8Array.of(0x03, 0xe8)));
    }
    this.#socket.end();
    callback();
  }

  override _destroy(error: Error | null, callback: (error?: Error | null) => void): void {
    this.#socket.destroy();
    callback(error);
  }
}

/**
 * Performs the HTTP/1.1 upgrade with `Sec-WebSocket-Protocol: mqtt` over `socket` and returns
 * the WebSocket as a byte stream.
 */
export function openWebSocket(socket: Duplex, options: WebSocketOptions): Promise<Duplex> {
  const key = randomBytes(16).toString('base64');
  const expected = createHash('sha1')
    .update(key + GUID)
    .digest('base64');
  const defaultPort = options.secure ? 443 : 80;
  const hostHeader =
    (options.host.includes(':') ? `[${options.host}]` : options.host) +
    (options.port === defaultPort ? '' : `:${options.port}`);
  const lines = [
    `GET ${options.path} HTTP/1.1`,
    `Host: ${hostHeader}`,
    'Upgrade: websocket',
    'Connection: Upgrade',
    `Sec-WebSocket-Key: ${key}`,
    'Sec-WebSocket-Version: 13',
    'Sec-WebSocket-Protocol: mqtt',
    ...Object.entries(options.headers).map(([k, v]) => `${k}: ${v}`),
  ];
  const where = `${options.secure ? 'wss' : 'ws'}://${hostHeader}${options.path}`;
  return new Promise((resolve, reject) => {
    let received = Buffer.alloc(0);
    const fail = (message: string, cause?: unknown): void => {
      cleanup();
      socket.destroy();
      reject(new WebSocketError(`WebSocket upgrade at ${where} failed: ${message}`, cause));
    };
    const onData = (chunk: Buffer): void => {
      received = Buffer.concat([received, chunk]);
      const end = received.indexOf('\r\n\r\n');
      if (end < 0) {
        if (received.length > 16384) fail('response headers too large');
        return;
      }
      const head = received.subarray(0, end).toString('latin1').split('\r\n');
      const rest = received.subarray(end + 4);
      const status = /^HTTP\/1\.1 (\d{3})/.exec(head[0] ?? '');
      if (status?.[1] !== '101') {
        fail(
          `the server answered ${JSON.stringify(head[0] ?? '')} instead of 101 Switching Protocols`,
        );
        return;
      }
      const headers = new Map<string, string>();
      for (const line of head.slice(1)) {
        const colon = line.indexOf(':');
        if (colon > 0)
          headers.set(line.slice(0, colon).trim().toLowerCase(), line.slice(colon + 1).trim());
      }
      if (headers.get('sec-websocket-accept') !== expected) {
        fail('Sec-WebSocket-Accept does not match the key (RFC 6455 §4.1)');
        return;
      }
      const protocol = headers.get('sec-websocket-protocol');
      if (protocol !== undefined && protocol !== 'mqtt') {
        fail(`the server chose subprotocol ${JSON.stringify(protocol)}, not mqtt`);
        return;
      }
      cleanup();
      resolve(new WebSocketStream(socket, options.maxFrameBytes ?? 268_435_472, rest));
    };
    const onError = (error: Error): void => fail(error.message, error);
    const onClose = (): void => fail('the connection closed during the upgrade');
    const timer = setTimeout(
      () => fail(`no answer within ${options.timeoutMs} ms`),
      options.timeoutMs,
    );
    const cleanup = (): void => {
      clearTimeout(timer);
      socket.off('data', onData);
      socket.off('error', onError);
      socket.off('close', onClose);
    };
    socket.on('data', onData);
    socket.on('error', onError);
    socket.on('close', onClose);
    socket.write(`${lines.join('\r\n')}\r\n\r\n`);
  });
}
