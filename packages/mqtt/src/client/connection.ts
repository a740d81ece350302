/**
 * One connection to one server: the transport opened, bytes fed to the packet parser, the
 * link's end told once with why, and the CONNACK deadline of the handshake.
 *
 * What the packets mean is the session's business (the CONNACK checks included): a
 * connection only carries them and knows when it has been accepted.
 *
 * ```
 *   Connection.open() ──► awaiting CONNACK ──accepted()──► accepted
 *          │                   │ timeout, error, close          │ error, close, close()
 *          ▼                   ▼                                ▼
 *        throws           closed (handshake rejects)          closed
 * ```
 *
 * @module
 */

import { openTransport } from '#platform';
import { ConnectionLostError, MalformedPacketError, MqttError, ProtocolError } from '../errors.js';
import { encode, Parser } from '../packet/index.js';
import type { Packet, ProtocolVersion } from '../packet/types.js';
import { ConnectTimeoutError, tlsError } from '../transport/errors.js';
import type { ByteStream } from '../transport/types.js';
import { parseServerUrl, redactUrl } from '../transport/url.js';
import type { ServerOptions } from './options.js';

const now = (): number => performance.now();

/**
 * The error a connection fails with: an {@link MqttError} as it is, anything else (a socket
 * error other than a reset, an exception while reading) as a {@link ConnectionLostError}
 * that keeps it as `cause`.
 */
export function asMqttError(error: unknown, server: string, beforeConnack = false): MqttError {
  if (error instanceof MqttError) return error;
  return ConnectionLostError.failed(server, beforeConnack, error);
}

function timedOut(connection: Connection): void {
  connection.timedOut();
}

/** What a connection needs from the client options. */
export interface ConnectionSettings {
  readonly protocolVersion: ProtocolVersion;
  readonly maxPacketSize: number;
  /** Transport and CONNACK together must complete within this. */
  readonly connectTimeoutMs: number;
}

/** What a connection reports. */
export interface ConnectionEvents {
  /**
   * A packet arrived (in order). Return false to stop reading: the rest waits in the socket
   * until the stream is resumed. `bytes` is its size on the wire.
   */
  packet(packet: Packet, bytes: number): boolean;
  /** The socket's write buffer drained. */
  drain(): void;
}

/** One open transport connection and its parser. */
export class Connection {
  readonly stream: ByteStream;
  readonly server: ServerOptions;
  /** The server as a URL without credentials. */
  readonly display: string;
  /** Settles once: the connection is gone, with why. */
  readonly closed: Promise<MqttError>;
  /** Resolves on {@link accepted}; rejects with the close error if the connection ends first. */
  readonly handshake: Promise<void>;
  readonly #parser: Parser;
  #settleClosed!: (error: MqttError) => void;
  // The handshake's settlers, dropped once it settled (an accepted connection may live for
  // months: it should not keep them).
  #accept: (() => void) | undefined;
  #refuse: ((error: MqttError) => void) | undefined;
  #isClosed = false;
  #accepted = false;
  readonly #protocolVersion: ProtocolVersion;
  /** The CONNACK deadline. */
  #timer: ReturnType<typeof setTimeout> | undefined;
  readonly #events: ConnectionEvents;
  /** The host name the transport was opened to (for TLS errors). */
  readonly #host: string;
  readonly #connectTimeoutMs: number;

  /**
   * Opens the transport to `server` and starts reading. The CONNACK deadline counts from
   * the start of this call: `connectTimeoutMs` covers DNS, TCP, TLS and the handshake.
   */
  static async open(
    server: ServerOptions,
    settings: ConnectionSettings,
    events: ConnectionEvents,
  ): Promise<Connection> {
    const url = parseServerUrl(server.url);
    const started = now();
    const transport = await openTransport({
      protocol: url.protocol,
      host: url.host,
      port: url.port,
      path: server.wsPath ?? url.path,
      connectTimeoutMs: settings.connectTimeoutMs,
      ...(server.family === undefined ? {} : { family: server.family }),
      ...(server.tls === undefined ? {} : { tls: server.tls }),
      ...(server.psk === undefined ? {} : { psk: server.psk }),
    });
    const remainingMs = Math.max(1, settings.connectTimeoutMs - (now() - started));
    return new Connection(transport.stream, server, settings, events, url.host, remainingMs);
  }

  private constructor(
    stream: ByteStream,
    server: ServerOptions,
    settings: ConnectionSettings,
    events: ConnectionEvents,
    host: string,
    handshakeTimeoutMs: number,
  ) {
    this.stream = stream;
    this.server = server;
    this.#protocolVersion = settings.protocolVersion;
    this.#events = events;
    this.#host = host;
    this.#connectTimeoutMs = settings.connectTimeoutMs;
    this.display = redactUrl(server.url);
    this.#parser = new Parser({
      protocolVersion: settings.protocolVersion,
      maxPacketSize: settings.maxPacketSize,
    });
    this.closed = new Promise<MqttError>((resolve) => {
      this.#settleClosed = resolve;
    });
    this.handshake = new Promise<void>((resolve, reject) => {
      this.#accept = resolve;
      this.#refuse = reject;
    });
    // Whoever opened the connection may close it before awaiting the handshake.
    this.handshake.catch(() => undefined);
    this.#timer = setTimeout(timedOut, handshakeTimeoutMs, this);
    this.#listen(stream);
  }

  /**
   * The stream's listeners. They live as long as the connection, so they close over nothing
   * but the connection itself (one small context, not the constructor's arguments: a gateway
   * holds thousands of these).
   */
  #listen(stream: ByteStream): void {
    // Returns false to stop parsing: the connection ended, or a reader fell behind.
    const onPacket = (packet: Packet, bytes: number): boolean => {
      if (this.#isClosed) return false;
      return this.#events.packet(packet, bytes) && !this.#isClosed;
    };
    stream.on('data', (chunk: Uint8Array) => {
      try {
        const used = this.#parser.push(chunk, onPacket);
        // Paused between two packets: the rest waits in the stream, read on resume.
        if (used < chunk.length && !this.#isClosed) stream.unshift(chunk.subarray(used));
      } catch (error) {
        this.close(this.#refuseMalformed(asMqttError(error, this.display, !this.#accepted)));
      }
    });
    stream.on('error', (error: Error) => this.close(this.#streamError(error)));
    // Our own close() settles the connection first, so a close seen here came from the
    // other end.
    stream.on('close', () =>
      this.close(new ConnectionLostError(this.display, !this.#accepted, false)),
    );
    stream.on('drain', () => this.#events.drain());
  }

  /** The error a stream error closes the connection with. */
  #streamError(error: Error): MqttError {
    // With TLS 1.3 the server judges our certificate after the handshake: its alert
    // arrives as a stream error, before CONNACK. Word it like a handshake failure.
    const code = (error as { code?: string }).code ?? '';
    if (code.startsWith('ERR_SSL')) {
      return tlsError(error, this.display, this.server.tls?.servername ?? this.#host);
    }
    if (code === 'ECONNRESET' || code === 'EPIPE') {
      return new ConnectionLostError(this.display, !this.#accepted, true, error);
    }
    return asMqttError(error, this.display, !this.#accepted);
  }

  /** The CONNACK deadline passed. */
  timedOut(): void {
    this.close(
      new ConnectTimeoutError(
        `no CONNACK from ${this.display} within ${this.#connectTimeoutMs} ms`,
        this.display,
      ),
    );
  }

  /**
   * MQTT 5.0 §4.13: a malformed packet from the server is answered with DISCONNECT and the
   * reason before the connection closes (0x81 Malformed Packet), so the broker's log says why.
   * A Topic Alias of 0 [MQTT-3.3.2-8], which the decoder refuses by value, is the one case
   * with a reason of its own: 0x94 Topic Alias invalid, reported as a {@link ProtocolError}
   * like the other invalid aliases (see the session's incoming flows).
   */
  #refuseMalformed(error: MqttError): MqttError {
    if (this.#protocolVersion !== 5 || !(error instanceof MalformedPacketError)) return error;
    const aliasZero = error.rule === 'MQTT-3.3.2-8';
    try {
      this.stream.write(encode({ type: 'disconnect', reasonCode: aliasZero ? 0x94 : 0x81 }, 5));
    } catch {
      // The stream is already unwritable: closing is all that is left.
    }
    if (!aliasZero) return error;
    return new ProtocolError(
      `${this.display} sent Topic Alias 0, which is never valid (DISCONNECT 0x94 Topic Alias invalid)`,
      'MQTT-3.3.2-8',
    );
  }

  /** True once the connection is gone. */
  get isClosed(): boolean {
    return this.#isClosed;
  }

  /** The broker accepted the session (CONNACK 0): the handshake is over. */
  accepted(): void {
    if (this.#accepted || this.#isClosed) return;
    this.#accepted = true;
    clearTimeout(this.#timer);
    // A cleared Timeout still weighs ~120 bytes: an idle connection should not keep it.
    this.#timer = undefined;
    this.#accept?.();
    this.#accept = undefined;
    this.#refuse = undefined;
  }

  /** Ends the connection (once): the stream is destroyed, {@link closed} settles. */
  close(error: MqttError): void {
    if (this.#isClosed) return;
    this.#isClosed = true;
    clearTimeout(this.#timer);
    this.stream.destroy();
    this.#settleClosed(error);
    // Before CONNACK: the handshake fails with the same error.
    this.#refuse?.(error);
    this.#accept = undefined;
    this.#refuse = undefined;
  }
}
