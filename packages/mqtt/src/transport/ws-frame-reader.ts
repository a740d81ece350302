/**
 * The RFC 6455 frame reader of the client side, sans I/O: fed the chunks a socket delivers, it
 * calls back once per frame with what the frame means (message bytes, ping, pong, close), and
 * throws a {@link WebSocketFrameError} naming the rule a frame breaks. Modelled on the
 * `Receiver` of the `ws` package; it knows nothing of sockets or MQTT.
 *
 * Chunks are kept in a list with a byte count and each frame takes exactly its bytes from it:
 * a payload inside one chunk is a view of that chunk, and only a payload spread over chunks is
 * copied, once, into a buffer of its exact size (allocated when its first part arrives; its
 * size was checked against the limit at the header). A large frame arriving in small chunks
 * thus costs one copy of each byte, not a copy of everything so far on every chunk as the
 * `Buffer.concat` per chunk it replaces did (quadratic).
 *
 * @module
 */

import { WebSocketError } from './errors.js';
import {
  CloseCode,
  isControlOpcode,
  isValidCloseCode,
  MAX_CONTROL_PAYLOAD_BYTES,
  Opcode,
} from './ws-frame.js';

/** Default of {@link WebSocketFrameReaderOptions.maxMessageBytes}: the largest MQTT packet plus 16. */
export const DEFAULT_MAX_MESSAGE_BYTES = 268_435_472;

/**
 * A frame, or a sequence of frames, breaks RFC 6455 (or this endpoint's limits). The
 * connection is failed [RFC 6455 §7.1.7]: `closeCode` is the status to send in the close frame
 * before the TCP connection is dropped.
 */
export class WebSocketFrameError extends WebSocketError {
  override get name(): string {
    return 'WebSocketFrameError';
  }

  /** The rule broken, e.g. `RFC 6455 §5.1`. */
  readonly rule: string;
  /** The close status that tells the peer why: 1002, 1003, 1007 or 1009 [§7.4.1]. */
  readonly closeCode: number;

  constructor(message: string, rule: string, closeCode: number) {
    super(`${message} [${rule}]`);
    this.rule = rule;
    this.closeCode = closeCode;
  }
}

/** What one frame means, as reported by {@link WebSocketFrameReader.push}. */
export type WebSocketEvent =
  | {
      /**
       * The payload of one data frame. The fragments of a message arrive one event each, in
       * order; `fin` marks the last. Fragments are not joined: a consumer that needs the
       * whole message joins them, one that treats messages as a byte stream (MQTT) does not.
       */
      readonly type: 'data';
      readonly payload: Uint8Array;
      /** False for a text message (already checked to be UTF-8), true for binary. */
      readonly binary: boolean;
      /** True on the last frame of the message. */
      readonly fin: boolean;
    }
  | { readonly type: 'ping'; readonly payload: Uint8Array }
  | { readonly type: 'pong'; readonly payload: Uint8Array }
  | {
      /** The peer starts (or answers) the closing handshake; no frame may follow [§5.5.1]. */
      readonly type: 'close';
      /** The status code, or undefined for a close frame without a body (1005 locally). */
      readonly code: number | undefined;
      readonly reason: string;
    };

/** Options of a {@link WebSocketFrameReader}. */
export interface WebSocketFrameReaderOptions {
  /**
   * Largest message accepted, in bytes, all of its fragments together. Checked at each frame
   * header, before the frame's payload is buffered: a peer cannot make the reader hold more.
   * (A frame that arrives in pieces gets a buffer of its announced size when its first
   * payload bytes come, so this is also the most one frame can make the reader allocate.)
   * @default 268435472 (256 MiB + 16)
   */
  readonly maxMessageBytes?: number;
  /**
   * Whether text messages are accepted (checked to be UTF-8 [§8.1], fragments included) or
   * refused at their first frame header with close code 1003. MQTT over WebSocket refuses
   * them: its packets travel in binary messages only [MQTT-6.0.0-1].
   * @default true
   */
  readonly acceptText?: boolean;
}

const STATE_HEADER = 0;
const STATE_PAYLOAD = 1;

/** Rules, as cited in errors. */
const RULE = {
  MASK: 'RFC 6455 §5.1',
  FRAMING: 'RFC 6455 §5.2',
  FRAGMENTS: 'RFC 6455 §5.4',
  CONTROL: 'RFC 6455 §5.5',
  CLOSE_BODY: 'RFC 6455 §5.5.1',
  CLOSE_CODE: 'RFC 6455 §7.4',
  UTF8: 'RFC 6455 §8.1',
  DATA_TYPE: 'RFC 6455 §7.4.1',
  SIZE: 'RFC 6455 §10.4',
} as const;

/**
 * An incremental reader of the frames a server sends. Feed it chunks as they arrive with
 * {@link push}; it calls back once per complete frame, in order.
 *
 * After an error the connection must be failed (RFC 6455 has no resynchronisation): every later
 * `push` throws the same error. After a close frame the peer may send nothing more, and every
 * later byte is an error too.
 */
export class WebSocketFrameReader {
  readonly #maxMessageBytes: number;
  readonly #acceptText: boolean;
  /** Received bytes not consumed yet: whole chunks, the first one possibly partly consumed. */
  #chunks: Uint8Array[] = [];
  #buffered = 0;
  #bytesCopied = 0;
  #state = STATE_HEADER;
  /** The frame whose payload is awaited. */
  #fin = false;
  #opcode = 0;
  #payloadBytes = 0;
  /** A payload arriving over several chunks, and how much of it is here. */
  #partial: Uint8Array | undefined;
  #filled = 0;
  /** The message in progress: its opcode (TEXT or BINARY; 0 = none) and its size so far. */
  #messageOpcode = 0;
  #messageBytes = 0;
  /** Checks a text message's UTF-8 across fragments (a code point may span two). */
  #utf8: InstanceType<typeof TextDecoder> | undefined;
  #closed = false;
  #error: WebSocketFrameError | undefined;

  constructor(options: WebSocketFrameReaderOptions = {}) {
    this.#maxMessageBytes = options.maxMessageBytes ?? DEFAULT_MAX_MESSAGE_BYTES;
    this.#acceptText = options.acceptText ?? true;
  }

  /** Bytes received and not yet reported in an event. */
  get bufferedBytes(): number {
    return this.#buffered + (this.#partial === undefined ? 0 : this.#filled);
  }

  /**
   * Bytes copied so far to assemble payloads spread over several chunks: at most once each
   * byte received, whatever the chunk sizes. (Exposed so a test can prove the work linear.)
   */
  get bytesCopied(): number {
    return this.#bytesCopied;
  }

  /**
   * Feeds bytes; calls `onEvent` for each complete frame, in order. Throws
   * {@link WebSocketFrameError}, and keeps throwing it on every later call. An exception thrown
   * by `onEvent` is the caller's and passes through untouched (the frame it was given is
   * consumed).
   */
  push(chunk: Uint8Array, onEvent: (event: WebSocketEvent) => void): void {
    if (this.#error !== undefined) throw this.#error;
    if (chunk.byteLength === 0) return;
    this.#chunks.push(chunk);
    this.#buffered += chunk.byteLength;
    try {
      while (this.#step(onEvent)) {
        // one frame, or one frame header, per step
      }
    } catch (error) {
      if (error instanceof WebSocketFrameError) {
        this.#error = error;
        this.#chunks = [];
        this.#buffered = 0;
        this.#partial = undefined;
      }
      throw error;
    }
  }

  /** Reads one frame header or one payload; false when more bytes are needed. */
  #step(onEvent: (event: WebSocketEvent) => void): boolean {
    if (this.#closed && this.#buffered > 0) {
      throw new WebSocketFrameError(
        `${this.#buffered} bytes after the close frame`,
        RULE.CLOSE_BODY,
        CloseCode.PROTOCOL_ERROR,
      );
    }
    if (this.#state === STATE_HEADER) return this.#readHeader();
    const payload = this.#takePayload();
    if (payload === undefined) return false;
    this.#state = STATE_HEADER;
    if (isControlOpcode(this.#opcode)) this.#control(payload, onEvent);
    else this.#data(payload, onEvent);
    return true;
  }

  /**
   * The payload of the current frame once all of it is here. A payload inside the buffered
   * chunks is taken from them ({@link #consume}); one that is still arriving is copied, chunk
   * by chunk, into a buffer of its exact size, so that the chunk list stays short however the
   * bytes trickle in (and the peak is one payload, not the chunks plus their copy).
   */
  #takePayload(): Uint8Array | undefined {
    const length = this.#payloadBytes;
    if (this.#partial === undefined) {
      if (this.#buffered >= length) return this.#consume(length);
      if (this.#buffered === 0) return undefined;
      this.#partial = new Uint8Array(length);
      this.#filled = 0;
    }
    const take = Math.min(length - this.#filled, this.#buffered);
    this.#copyInto(this.#partial, this.#filled, take);
    this.#filled += take;
    if (this.#filled < length) return undefined;
    const payload = this.#partial;
    this.#partial = undefined;
    return payload;
  }

  /** The byte `index` bytes into the unconsumed input (header bytes only: a few chunks). */
  #byteAt(index: number): number {
    let i = index;
    for (const chunk of this.#chunks) {
      if (i < chunk.byteLength) return chunk[i] as number;
      i -= chunk.byteLength;
    }
    throw new RangeError('byteAt past the buffered bytes');
  }

  #readHeader(): boolean {
    if (this.#buffered < 2) return false;
    const b0 = this.#byteAt(0);
    const b1 = this.#byteAt(1);
    const fin = (b0 & 0x80) !== 0;
    const opcode = b0 & 0x0f;
    // Everything the first two bytes can tell is checked before waiting for more.
    if ((b0 & 0x70) !== 0) {
      // No extension is negotiated (the upgrade offers none), so RSV1-3 must be 0.
      throw this.#protocol(`reserved bits 0x${(b0 & 0x70).toString(16)} set`, RULE.FRAMING);
    }
    const control = isControlOpcode(opcode);
    if (control) {
      if (opcode !== Opcode.CLOSE && opcode !== Opcode.PING && opcode !== Opcode.PONG) {
        throw this.#protocol(`unknown control opcode 0x${opcode.toString(16)}`, RULE.FRAMING);
      }
      if (!fin) throw this.#protocol('fragmented control frame (FIN not set)', RULE.CONTROL);
      if ((b1 & 0x7f) > MAX_CONTROL_PAYLOAD_BYTES) {
        throw this.#protocol(
          `control frame longer than ${MAX_CONTROL_PAYLOAD_BYTES} bytes`,
          RULE.CONTROL,
        );
      }
    } else if (opcode === Opcode.CONTINUATION) {
      if (this.#messageOpcode === 0) {
        throw this.#protocol('continuation frame without a message to continue', RULE.FRAGMENTS);
      }
    } else if (opcode === Opcode.TEXT || opcode === Opcode.BINARY) {
      if (this.#messageOpcode !== 0) {
        throw this.#protocol('new data frame inside a fragmented message', RULE.FRAGMENTS);
      }
      if (opcode === Opcode.TEXT && !this.#acceptText) {
        throw new WebSocketFrameError(
          'text message refused: only binary messages are accepted',
          RULE.DATA_TYPE,
          CloseCode.UNSUPPORTED_DATA,
        );
      }
    } else {
      throw this.#protocol(`unknown data opcode 0x${opcode.toString(16)}`, RULE.FRAMING);
    }
    // [§5.1] A server MUST NOT mask any frame it sends to the client.
    if ((b1 & 0x80) !== 0) throw this.#protocol('masked frame from the server', RULE.MASK);

    let payloadBytes = b1 & 0x7f;
    let headerBytes = 2;
    if (payloadBytes === 126) {
      if (this.#buffered < 4) return false;
      payloadBytes = (this.#byteAt(2) << 8) | this.#byteAt(3);
      headerBytes = 4;
    } else if (payloadBytes === 127) {
      if (this.#buffered < 10) return false;
      const high = this.#byteAt(2) * 0x100_0000 + (this.#byteAt(3) << 16) + this.#bytesAt16(4);
      if (high >= 0x8000_0000) {
        throw this.#protocol(
          '64-bit payload length with its most significant bit set',
          RULE.FRAMING,
        );
      }
      const low = this.#byteAt(6) * 0x100_0000 + (this.#byteAt(7) << 16) + this.#bytesAt16(8);
      // Exact below 2^53; above, still far beyond any limit, so the comparison holds.
      payloadBytes = high * 0x1_0000_0000 + low;
      headerBytes = 10;
    }
    // Non-minimal length encodings (§5.2) are accepted, as `ws` and browsers do: they cost
    // nothing and refusing them protects nothing.
    if (!control) {
      const messageBytes = this.#messageBytes + payloadBytes;
      if (messageBytes > this.#maxMessageBytes) {
        throw new WebSocketFrameError(
          `message of ${messageBytes}${fin ? '' : '+'} bytes exceeds the limit of ${this.#maxMessageBytes} bytes`,
          RULE.SIZE,
          CloseCode.MESSAGE_TOO_BIG,
        );
      }
      this.#messageBytes = messageBytes;
      if (opcode !== Opcode.CONTINUATION) {
        this.#messageOpcode = opcode;
        this.#utf8 = opcode === Opcode.TEXT ? new TextDecoder('utf-8', { fatal: true }) : undefined;
      }
    }
    this.#consume(headerBytes);
    this.#fin = fin;
    this.#opcode = opcode;
    this.#payloadBytes = payloadBytes;
    this.#state = STATE_PAYLOAD;
    return true;
  }

  #bytesAt16(index: number): number {
    return (this.#byteAt(index) << 8) | this.#byteAt(index + 1);
  }

  #data(payload: Uint8Array, onEvent: (event: WebSocketEvent) => void): void {
    const fin = this.#fin;
    const binary = this.#messageOpcode === Opcode.BINARY;
    if (this.#utf8 !== undefined) {
      try {
        // `stream` keeps a code point cut between two fragments; the last call flushes, so a
        // message ending mid code point is refused too.
        this.#utf8.decode(payload, { stream: !fin });
      } catch {
        throw new WebSocketFrameError(
          'text message is not valid UTF-8',
          RULE.UTF8,
          CloseCode.INVALID_PAYLOAD,
        );
      }
    }
    if (fin) {
      this.#messageOpcode = 0;
      this.#messageBytes = 0;
      this.#utf8 = undefined;
    }
    onEvent({ type: 'data', payload, binary, fin });
  }

  #control(payload: Uint8Array, onEvent: (event: WebSocketEvent) => void): void {
    if (this.#opcode === Opcode.PING) {
      onEvent({ type: 'ping', payload });
      return;
    }
    if (this.#opcode === Opcode.PONG) {
      onEvent({ type: 'pong', payload });
      return;
    }
    // [§5.5.1] The body of a close frame is empty, or a 2-byte status code then UTF-8 text.
    if (payload.byteLength === 1) {
      throw this.#protocol('close frame with a 1-byte body', RULE.CLOSE_BODY);
    }
    let code: number | undefined;
    let reason = '';
    if (payload.byteLength >= 2) {
      code = ((payload[0] as number) << 8) | (payload[1] as number);
      if (!isValidCloseCode(code)) {
        throw this.#protocol(`close code ${code} may not be sent`, RULE.CLOSE_CODE);
      }
      try {
        reason = new TextDecoder('utf-8', { fatal: true }).decode(payload.subarray(2));
      } catch {
        throw new WebSocketFrameError(
          'close reason is not valid UTF-8',
          RULE.CLOSE_BODY,
          CloseCode.INVALID_PAYLOAD,
        );
      }
    }
    this.#closed = true;
    onEvent({ type: 'close', code, reason });
  }

  #protocol(message: string, rule: string): WebSocketFrameError {
    return new WebSocketFrameError(message, rule, CloseCode.PROTOCOL_ERROR);
  }

  /**
   * Takes the next `length` bytes: a view when they lie in the first chunk, else one copy of
   * exactly `length` bytes. The caller made sure they are buffered.
   */
  #consume(length: number): Uint8Array {
    const first = this.#chunks[0];
    if (first === undefined || length === 0) return new Uint8Array(0);
    if (length <= first.byteLength) {
      this.#buffered -= length;
      const bytes = first.subarray(0, length);
      if (length === first.byteLength) this.#chunks.shift();
      else this.#chunks[0] = first.subarray(length);
      return bytes;
    }
    const out = new Uint8Array(length);
    this.#copyInto(out, 0, length);
    return out;
  }

  /** Moves the next `length` buffered bytes into `out` at `offset`. */
  #copyInto(out: Uint8Array, offset: number, length: number): void {
    let filled = 0;
    let used = 0;
    while (filled < length) {
      const chunk = this.#chunks[used] as Uint8Array;
      const take = Math.min(chunk.byteLength, length - filled);
      out.set(take === chunk.byteLength ? chunk : chunk.subarray(0, take), offset + filled);
      filled += take;
      if (take === chunk.byteLength) used++;
      else this.#chunks[used] = chunk.subarray(take);
    }
    // One splice for all the chunks used up: shifting them one by one would be quadratic.
    this.#chunks.splice(0, used);
    this.#buffered -= length;
    this.#bytesCopied += length;
  }
}
