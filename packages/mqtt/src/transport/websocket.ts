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
import { CloseCode, encodeClosePayload, encodeFrame, MASK_BYTES, Opcode } from './ws-frame.js';
import {
  DEFAULT_MAX_MESSAGE_BYTES,
  type WebSocketEvent,
  WebSocketFrameError,
  WebSocketFrameReader,
} from './ws-frame-reader.js';

/** Options of {@link openWebSocket}. */
export interface WebSocketOptions {
  readonly host: string;
  readonly port: number;
  readonly path: string;
  readonly secure: boolean;
  readonly headers: Readonly<Record<string, string>>;
  readonly timeoutMs: number;
  /**
   * Largest message accepted from the server, all fragments together, checked before it is
   * buffered: a larger one fails the connection with close code 1009.
   * @default 268435472 (256 MiB + 16)
   */
  readonly maxMessageBytes?: number;
}

const GUID = '258EAFA5-E914-47DA-95CA-C5AB0DC85B11';

/** A client frame: every one is masked, with a fresh key [RFC 6455 §5.3]. */
function clientFrame(opcode: Opcode, payload: Uint8Array | readonly Uint8Array[]): Uint8Array {
  return encodeFrame(opcode, payload, { mask: randomBytes(MASK_BYTES) });
}

/**
 * The WebSocket connection as a byte-stream Duplex: binary messages in and out, their
 * boundaries ignored, since MQTT packets need not align with them [MQTT-6.0.0-2]. Framing rules
 * are the reader's ({@link WebSocketFrameReader}); this class answers pings, runs the closing
 * handshake and fails the connection with the close code a broken frame calls for.
 */
class WebSocketStream extends Duplex {
  readonly #socket: Duplex;
  // [MQTT-6.0.0-1] MQTT travels in binary messages only; a text message fails the connection.
  readonly #reader: WebSocketFrameReader;
  /** Message bytes read from the current socket chunk, pushed together by `#flush`. */
  #pending: Uint8Array[] = [];
  #closeSent = false;
  /** Bytes that followed the 101 response, read on the first `_read`. */
  #initial: Buffer | undefined;

  constructor(socket: Duplex, maxMessageBytes: number, initial: Buffer) {
    super();
    this.#socket = socket;
    this.#reader = new WebSocketFrameReader({ maxMessageBytes, acceptText: false });
    socket.on('data', (chunk: Buffer) => this.#onData(chunk));
    socket.on('end', () => this.push(null));
    socket.on('close', () => this.destroy());
    socket.on('error', (error: Error) => this.destroy(error));
    if (initial.length > 0) {
      // Frames that came with the 101 response wait for the first read: a broken one must
      // fail the stream once its owner listens for 'error', not while `openWebSocket` is
      // still resolving (an 'error' nobody listens to crashes the process).
      this.#initial = initial;
      socket.pause();
    }
  }

  #onData(chunk: Buffer): void {
    try {
      this.#reader.push(chunk, this.#onEvent);
      this.#flush();
    } catch (error) {
      // [RFC 6455 §7.1.7] Fail the connection: say why in a close frame, then drop it.
      if (error instanceof WebSocketFrameError) this.#sendClose(error.closeCode);
      this.destroy(error as Error);
    }
  }

  readonly #onEvent = (event: WebSocketEvent): void => {
    switch (event.type) {
      case 'data':
        if (event.payload.byteLength > 0) this.#pending.push(event.payload);
        break;
      case 'ping':
        // [§5.5.2] Answer with a pong carrying the same bytes, unless we are closing.
        if (!this.#closeSent) this.#sendControl(clientFrame(Opcode.PONG, event.payload));
        break;
      case 'pong':
        // Unsolicited pongs are allowed as a heartbeat and need no answer [§5.5.3].
        break;
      case 'close':
        // [§5.5.1] Answer with a close frame echoing the code, unless ours went first; then
        // the server closes the TCP connection [§7.1.1], and our end of it follows.
        this.#sendClose(event.code);
        this.#socket.end();
        this.#flush();
        this.push(null);
        break;
    }
  };

  /**
   * Pushes the message bytes one socket chunk held, as one chunk: frames are not message
   * boundaries to the reader of a byte stream, and one push per chunk is what TCP gives it.
   * (A view when they come from one frame; a copy of at most a chunk's size otherwise.) A full
   * read buffer pauses the socket: back-pressure reaches the server through TCP.
   */
  #flush(): void {
    const pending = this.#pending;
    if (pending.length === 0) return;
    this.#pending = [];
    const bytes = pending.length === 1 ? (pending[0] as Uint8Array) : Buffer.concat(pending);
    if (!this.push(bytes)) this.#socket.pause();
  }

  /**
   * Writes a control frame unless the socket is already ending: a ping that races our close
   * needs no pong [§5.5.1: nothing is sent after a close frame]. Data frames are written
   * without this check, so that writing after the end fails loudly.
   */
  #sendControl(frame: Uint8Array): void {
    if (this.#socket.writableEnded || this.#socket.destroyed) return;
    this.#socket.write(frame);
  }

  #sendClose(code: number | undefined): void {
    if (this.#closeSent) return;
    this.#closeSent = true;
    this.#sendControl(clientFrame(Opcode.CLOSE, encodeClosePayload(code)));
  }

  override _read(): void {
    const initial = this.#initial;
    if (initial !== undefined) {
      this.#initial = undefined;
      this.#onData(initial);
      if (this.destroyed) return;
    }
    // Data is pushed as frames arrive; the reader wants more: let the socket flow again.
    this.#socket.resume();
  }

  override _write(
    chunk: Buffer,
    _encoding: BufferEncoding,
    callback: (error?: Error | null) => void,
  ): void {
    this.#socket.write(clientFrame(Opcode.BINARY, chunk), callback);
  }

  override _writev(chunks: { chunk: Buffer }[], callback: (error?: Error | null) => void): void {
    // One frame for everything written in one tick, masked straight from the chunks.
    const frame = clientFrame(
      Opcode.BINARY,
      chunks.map((c) => c.chunk),
    );
    this.#socket.write(frame, callback);
  }

  override _final(callback: (error?: Error | null) => void): void {
    this.#sendClose(CloseCode.NORMAL);
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
      resolve(
        new WebSocketStream(socket, options.maxMessageBytes ?? DEFAULT_MAX_MESSAGE_BYTES, rest),
      );
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
