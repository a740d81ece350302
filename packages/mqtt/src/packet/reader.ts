/**
 * A bounds-checked cursor over the bytes of one packet, used by the decoder. Every read that
 * would run past the end of the packet, as announced by its remaining length, is a
 * {@link MalformedPacketError} at the offset where the missing bytes should have been.
 *
 * @module
 */

import { MalformedPacketError } from '../errors.js';
import { readTopicName, readUtf8 } from './utf8.js';

/** Cursor over one packet: `buf[start..end)`; `pos` is absolute in `buf`. */
export class Reader {
  /** The buffer holding the packet (possibly among other packets). */
  readonly buf: Uint8Array;
  /** Absolute index of the packet's first byte (its type byte). */
  readonly start: number;
  /** Absolute index one past the packet's last byte. */
  readonly end: number;
  /** Absolute index of the next byte to read. */
  pos: number;

  constructor(buf: Uint8Array, start: number, bodyStart: number, end: number) {
    this.buf = buf;
    this.start = start;
    this.end = end;
    this.pos = bodyStart;
  }

  /** Throws a {@link MalformedPacketError} at absolute index `at` (default: the cursor). */
  fail(message: string, rule?: string, at: number = this.pos): never {
    throw new MalformedPacketError(message, at - this.start, rule);
  }

  /** Fails unless `n` more bytes lie within the packet. */
  need(n: number, what: string): void {
    // [MQTT-2.2.3] The remaining length bounds the packet: reading past it is malformed.
    if (this.pos + n > this.end) this.fail(`packet too short for the ${what}`, 'MQTT-2.2.3');
  }

  /** Reads one byte. */
  u8(what: string): number {
    this.need(1, what);
    return this.buf[this.pos++] as number;
  }

  /** Reads a big-endian two-byte integer [MQTT-1.5.2]. */
  u16(what: string): number {
    this.need(2, what);
    const buf = this.buf;
    const v = ((buf[this.pos] as number) << 8) | (buf[this.pos + 1] as number);
    this.pos += 2;
    return v;
  }

  /** Reads a big-endian four-byte integer [MQTT-1.5.3]. */
  u32(what: string): number {
    this.need(4, what);
    const buf = this.buf;
    const p = this.pos;
    this.pos += 4;
    // `>>> 0` keeps values above 2^31 positive.
    return (
      (((buf[p] as number) << 24) |
        ((buf[p + 1] as number) << 16) |
        ((buf[p + 2] as number) << 8) |
        (buf[p + 3] as number)) >>>
      0
    );
  }

  /**
   * Reads a variable byte integer (MQTT 5.0 §1.5.5): at most four bytes, in the shortest form
   * [MQTT-1.5.5-1].
   */
  varint(what: string): number {
    const at = this.pos;
    let value = 0;
    let multiplier = 1;
    for (let i = 0; i < 4; i++) {
      const byte = this.u8(what);
      value += (byte & 0x7f) * multiplier;
      if ((byte & 0x80) === 0) {
        // A last byte of 0 after the first one means a longer form than needed.
        if (byte === 0 && i > 0) {
          this.fail(`${what} is not in its shortest form`, 'MQTT-1.5.5-1', at);
        }
        return value;
      }
      multiplier *= 128;
    }
    return this.fail(`${what} is longer than 4 bytes`, 'MQTT-1.5.5', at);
  }

  /** Reads a packet identifier, which must be non-zero [MQTT-2.3.1-1]. */
  packetId(rule = 'MQTT-2.3.1-1'): number {
    const at = this.pos;
    const id = this.u16('packet id');
    if (id === 0) this.fail('packet id must not be 0', rule, at);
    return id;
  }

  /** Reads a length-prefixed UTF-8 string, validated per [MQTT-1.5.3]. */
  string(what: string): string {
    const length = this.u16(`${what} length`);
    this.need(length, what);
    const s = readUtf8(this.buf, this.pos, length, this.start, what);
    this.pos += length;
    return s;
  }

  /** Reads a PUBLISH topic name: {@link string}, with recent topics remembered. */
  topicName(): string {
    const length = this.u16('topic name length');
    this.need(length, 'topic name');
    const s = readTopicName(this.buf, this.pos, length, this.start, 'topic name');
    this.pos += length;
    return s;
  }

  /** Reads length-prefixed binary data, as a view (no copy). */
  bytes(what: string): Uint8Array {
    const length = this.u16(`${what} length`);
    this.need(length, what);
    const b = this.buf.subarray(this.pos, this.pos + length);
    this.pos += length;
    return b;
  }

  /** Fails if bytes remain: the remaining length must match the content exactly. */
  done(type: string): void {
    if (this.pos !== this.end) {
      this.fail(`${this.end - this.pos} unexpected bytes at the end of ${type}`, 'MQTT-2.2.3');
    }
  }
}
