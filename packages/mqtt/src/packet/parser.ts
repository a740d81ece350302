/**
 * The incremental decoder: a {@link Parser} fed arbitrary chunks (one byte at a time, many
 * packets per chunk), and {@link decode} for exactly one complete packet.
 *
 * Framing only happens here; `decode.ts` validates and builds each framed packet.
 *
 * @module
 */

import { MalformedPacketError, PacketTooLargeError } from '../errors.js';
import { decodeAt } from './decode.js';
import { decodeAt5 } from './decode-v5.js';
import type { Packet, ProtocolVersion } from './types.js';

/** Options of a {@link Parser}. */
export interface ParserOptions {
  /**
   * Protocol level spoken on this connection: 4 (MQTT 3.1.1), 3 (MQTT 3.1) or 5 (MQTT 5.0).
   * A 5.0 parser also reads a 3.1.1 or 3.1 CONNECT at its own level, so that a server can
   * answer it; a 3.1.1 parser refuses a 5.0 CONNECT [MQTT-3.1.2-2].
   * @default 4
   */
  readonly protocolVersion?: ProtocolVersion;
  /**
   * Largest packet accepted, in bytes, fixed header included. Checked as soon as the fixed
   * header is known, before any of the body is buffered.
   * @default 268435460 (the largest remaining length, 268,435,455, plus a 5-byte fixed header)
   */
  readonly maxPacketSize?: number;
}

const DEFAULT_MAX_PACKET_SIZE = 268_435_455 + 5;

/** Largest fixed header: a type byte and a 4-byte remaining length [MQTT-2.2.3]. */
const MAX_HEADER_BYTES = 5;

function checkType(first: number, version: ProtocolVersion): void {
  const type = first >>> 4;
  // Types 0 and 15 are reserved in MQTT 3.1.1, 0 only in 5.0 (15 is AUTH): refuse them before
  // waiting for a body.
  if (type === 0 || (type === 15 && version !== 5)) {
    throw new MalformedPacketError(`reserved packet type ${type}`, 0, 'MQTT-2.2.1');
  }
}

/** Decodes one framed packet: `decodeAt` (3.1.1, 3.1) or `decodeAt5` (5.0). */
type DecodeAt = (buf: Uint8Array, start: number, bodyStart: number, end: number) => Packet;

function tooLongLength(): never {
  // [MQTT-2.2.3] The remaining length takes at most four bytes; the fourth has no
  // continuation bit.
  throw new MalformedPacketError('remaining length longer than 4 bytes', 4, 'MQTT-2.2.3');
}

/**
 * An incremental MQTT packet parser. Feed it chunks as they arrive; it calls back once per
 * complete packet, in order.
 *
 * A PUBLISH payload is a view into the chunk when the packet lies within one chunk (no copy);
 * a packet spread over chunks is assembled into one buffer of its exact size, allocated once
 * its fixed header is known and checked against `maxPacketSize`.
 *
 * After an error the stream is corrupt (MQTT has no resynchronisation): every later `push`
 * throws the same error.
 */
export class Parser {
  readonly #version: ProtocolVersion;
  readonly #decodeAt: DecodeAt;
  readonly #maxPacketSize: number;
  /** A fixed header split across chunks, and how many bytes of it arrived (0 = none). */
  /** A fixed header cut by a chunk's end (created the first time one is). */
  #head: Uint8Array | undefined;
  #headLength = 0;
  /** A packet being assembled across chunks, its body start, and how much of it is filled. */
  #partial: Uint8Array | undefined;
  #partialBody = 0;
  #filled = 0;
  #error: Error | undefined;

  constructor(options: ParserOptions = {}) {
    const version = options.protocolVersion ?? 4;
    this.#version = version;
    this.#decodeAt = version === 5 ? decodeAt5 : decodeAt;
    this.#maxPacketSize = options.maxPacketSize ?? DEFAULT_MAX_PACKET_SIZE;
  }

  /** True while a packet is partly received. */
  get pending(): boolean {
    return this.#partial !== undefined || this.#headLength > 0;
  }

  /**
   * Feeds bytes; calls `onPacket` for each complete packet, in order. Throws
   * {@link MalformedPacketError} or {@link PacketTooLargeError}, and keeps throwing it on
   * every later call.
   *
   * When `onPacket` returns `false` the parser stops right after that packet, and returns how
   * many bytes of `chunk` it used: the caller keeps the rest (e.g. `stream.unshift`) and
   * feeds it again later. This is how a reader that cannot keep up stops reading between two
   * packets, not after a whole chunk of them.
   *
   * `onPacket` also gets the packet's size on the wire, fixed header included (for counters).
   *
   * @returns the number of bytes of `chunk` consumed: `chunk.length` unless stopped.
   */
  push(chunk: Uint8Array, onPacket: (packet: Packet, bytes: number) => unknown): number {
    if (this.#error !== undefined) throw this.#error;
    try {
      return this.#push(chunk, onPacket);
    } catch (error) {
      // Only our own errors poison the stream; an exception thrown by `onPacket` is the
      // caller's and is passed through untouched.
      if (error instanceof MalformedPacketError || error instanceof PacketTooLargeError) {
        this.#error = error;
      }
      throw error;
    }
  }

  #push(chunk: Uint8Array, onPacket: (packet: Packet, bytes: number) => unknown): number {
    const length = chunk.length;
    let pos = 0;
    if (this.#headLength > 0) {
      pos = this.#continueHead(chunk);
      if (this.#headLength > 0) return length;
    }
    if (this.#partial !== undefined) {
      const partial = this.#partial;
      pos = this.#fill(chunk, pos);
      if (this.#partial !== undefined) return length;
      const packet = this.#decodeAt(partial, 0, this.#partialBody, partial.length);
      if (onPacket(packet, partial.length) === false) {
        return pos;
      }
    }
    while (pos < length) {
      checkType(chunk[pos] as number, this.#version);
      // Fixed header: the type byte, then the remaining length in 1..4 bytes [MQTT-2.2.3].
      let remaining = 0;
      let multiplier = 1;
      let i = pos + 1;
      let complete = false;
      while (i < length) {
        const byte = chunk[i++] as number;
        remaining += (byte & 0x7f) * multiplier;
        if ((byte & 0x80) === 0) {
          complete = true;
          break;
        }
        if (i - pos === MAX_HEADER_BYTES) tooLongLength();
        multiplier *= 128;
      }
      if (!complete) {
        // The fixed header is cut: keep its (at most 4) bytes for the next chunk.
        this.#head ??= new Uint8Array(MAX_HEADER_BYTES);
        this.#head.set(chunk.subarray(pos, length));
        this.#headLength = length - pos;
        return length;
      }
      const total = i - pos + remaining;
      if (total > this.#maxPacketSize) throw new PacketTooLargeError(total, this.#maxPacketSize);
      if (pos + total > length) {
        const assembled = new Uint8Array(total);
        assembled.set(chunk.subarray(pos, length));
        this.#partial = assembled;
        this.#partialBody = i - pos;
        this.#filled = length - pos;
        return length;
      }
      const packet = this.#decodeAt(chunk, pos, i, pos + total);
      pos += total;
      if (onPacket(packet, total) === false) return pos;
    }
    return length;
  }

  /**
   * Continues a fixed header cut by the previous chunk, byte by byte. Once it is complete,
   * starts assembling the packet. Returns how many bytes of `chunk` were used.
   */
  #continueHead(chunk: Uint8Array): number {
    const head = this.#head!;
    let pos = 0;
    while (pos < chunk.length) {
      const byte = chunk[pos++] as number;
      head[this.#headLength++] = byte;
      if ((byte & 0x80) === 0) {
        let remaining = 0;
        let multiplier = 1;
        for (let i = 1; i < this.#headLength; i++) {
          remaining += ((head[i] as number) & 0x7f) * multiplier;
          multiplier *= 128;
        }
        const total = this.#headLength + remaining;
        if (total > this.#maxPacketSize) throw new PacketTooLargeError(total, this.#maxPacketSize);
        const assembled = new Uint8Array(total);
        assembled.set(head.subarray(0, this.#headLength));
        this.#partial = assembled;
        this.#partialBody = this.#headLength;
        this.#filled = this.#headLength;
        this.#headLength = 0;
        return pos;
      }
      if (this.#headLength === MAX_HEADER_BYTES) tooLongLength();
    }
    return pos;
  }

  /**
   * Copies bytes into the packet being assembled; once it is full, clears `#partial` (the
   * caller decodes it). Returns the new position.
   */
  #fill(chunk: Uint8Array, pos: number): number {
    const partial = this.#partial as Uint8Array;
    const n = Math.min(partial.length - this.#filled, chunk.length - pos);
    partial.set(chunk.subarray(pos, pos + n), this.#filled);
    this.#filled += n;
    if (this.#filled === partial.length) this.#partial = undefined;
    return pos + n;
  }
}

/**
 * Decodes exactly one complete packet of the given protocol version (4 = MQTT 3.1.1, 3 = MQTT
 * 3.1, 5 = MQTT 5.0). Throws {@link MalformedPacketError} when the bytes are not exactly one
 * valid packet (cut short, trailing bytes, or any rule broken).
 */
export function decode(bytes: Uint8Array, version: ProtocolVersion = 4): Packet {
  const length = bytes.length;
  if (length < 2) throw new MalformedPacketError('incomplete fixed header', length, 'MQTT-2.2.3');
  checkType(bytes[0] as number, version);
  let remaining = 0;
  let multiplier = 1;
  let i = 1;
  for (;;) {
    if (i >= length) throw new MalformedPacketError('incomplete fixed header', i, 'MQTT-2.2.3');
    const byte = bytes[i++] as number;
    remaining += (byte & 0x7f) * multiplier;
    if ((byte & 0x80) === 0) break;
    if (i === MAX_HEADER_BYTES) tooLongLength();
    multiplier *= 128;
  }
  const total = i + remaining;
  if (total > length) {
    throw new MalformedPacketError(
      `packet cut short: ${length} of ${total} bytes`,
      length,
      'MQTT-2.2.3',
    );
  }
  if (total < length) {
    throw new MalformedPacketError(
      `${length - total} bytes left after the packet`,
      total,
      'MQTT-2.2.3',
    );
  }
  return version === 5 ? decodeAt5(bytes, 0, i, total) : decodeAt(bytes, 0, i, total);
}
