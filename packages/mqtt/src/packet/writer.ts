/**
 * Low-level writing shared by the 3.1.1 and 5.0 encoders: the packet buffer pool, the fixed
 * header, big-endian integers and the checks every encoder applies to packet ids, QoS and
 * topics. Every check throws a {@link MalformedPacketError} with offset -1 (encode side).
 *
 * @module
 */

import { InvalidTopicError, MalformedPacketError } from '../errors.js';
import { validateTopicFilter, validateTopicName } from '../topic/index.js';
import type { QoS } from './types.js';

/** The largest remaining length a 4-byte variable byte integer can express. */
export const MAX_REMAINING_LENGTH = 268_435_455;

/** The largest value of a variable byte integer [MQTT-1.5.5]. */
export const MAX_VARINT = 268_435_455;

/** A shared empty byte array. */
export const EMPTY = new Uint8Array(0);

/** Throws the encoder's error: a {@link MalformedPacketError} at offset -1. */
export function fail(message: string, rule?: string): never {
  throw new MalformedPacketError(message, -1, rule);
}

/** A packet id must be 1..65,535 [MQTT-2.3.1-1]; returns it. */
export function checkPacketId(id: number | undefined): number {
  if (id === undefined || !Number.isInteger(id) || id < 1 || id > 0xffff) {
    fail(`packet id must be 1..65535, got ${String(id)}`, 'MQTT-2.3.1-1');
  }
  return id;
}

/** A QoS must be 0, 1 or 2; `rule` names the statement for this field. */
export function checkQos(qos: number, what: string, rule: string): QoS {
  if (qos !== 0 && qos !== 1 && qos !== 2) fail(`${what} must be 0, 1 or 2, got ${qos}`, rule);
  return qos;
}

/** Validates a topic filter or name with the topic layer, as an encoder error. */
export function checkTopic(topic: string, filter: boolean): void {
  try {
    if (filter) validateTopicFilter(topic);
    else validateTopicName(topic);
  } catch (error) {
    if (error instanceof InvalidTopicError) {
      fail(error.message, filter ? error.rule : (error.rule ?? 'MQTT-3.3.2-2'));
    }
    throw error;
  }
}

/** Bytes of `n` as a variable byte integer. */
export function varintLength(n: number): number {
  return n < 128 ? 1 : n < 16384 ? 2 : n < 2097152 ? 3 : 4;
}

/**
 * Small packets are carved out of a shared slab, as Node's Buffer pool does: allocating a
 * separate ArrayBuffer per packet costs more than encoding it. A slab is never rewritten; a
 * new one replaces it when full, and the old one lives as long as a packet views it.
 */
const SLAB_BYTES = 256 * 1024;
const POOLED_MAX_BYTES = 16 * 1024;
let slab = new ArrayBuffer(SLAB_BYTES);
let slabUsed = 0;

/** `n` bytes for one packet: from the slab up to 16 KiB, else their own buffer. */
export function bytes(n: number): Uint8Array {
  if (n > POOLED_MAX_BYTES) return new Uint8Array(n);
  if (slabUsed + n > SLAB_BYTES) {
    slab = new ArrayBuffer(SLAB_BYTES);
    slabUsed = 0;
  }
  // A view made by the constructor: `subarray` goes through the species lookup, which costs
  // a third more on a path every packet takes.
  const view = new Uint8Array(slab, slabUsed, n);
  // Keep views 8-byte aligned.
  slabUsed += (n + 7) & ~7;
  return view;
}

/** Allocates the packet and writes its fixed header; returns the buffer and the body offset. */
export function allocate(firstByte: number, remaining: number): [Uint8Array, number] {
  const out = allocatePacket(firstByte, remaining);
  return [out, 1 + varintLength(remaining)];
}

/**
 * Allocates the packet and writes its fixed header; its body starts at
 * `1 + varintLength(remaining)`. {@link allocate} without the pair it returns.
 */
export function allocatePacket(firstByte: number, remaining: number): Uint8Array {
  if (remaining > MAX_REMAINING_LENGTH) {
    fail(`remaining length ${remaining} exceeds ${MAX_REMAINING_LENGTH}`, 'MQTT-2.2.3');
  }
  const out = bytes(1 + varintLength(remaining) + remaining);
  out[0] = firstByte;
  let pos = 1;
  let n = remaining;
  do {
    let byte = n % 128;
    n = Math.floor(n / 128);
    if (n > 0) byte |= 0x80;
    out[pos++] = byte;
  } while (n > 0);
  return out;
}

/** Writes a big-endian two-byte integer; returns the new position. */
export function write16(out: Uint8Array, pos: number, value: number): number {
  out[pos] = value >>> 8;
  out[pos + 1] = value & 0xff;
  return pos + 2;
}

/** Writes length-prefixed binary data; returns the new position. */
export function writeBytes(out: Uint8Array, pos: number, bytes: Uint8Array): number {
  pos = write16(out, pos, bytes.byteLength);
  out.set(bytes, pos);
  return pos + bytes.byteLength;
}

/** Writes a big-endian four-byte integer; returns the new position. */
export function write32(out: Uint8Array, pos: number, value: number): number {
  out[pos] = value >>> 24;
  out[pos + 1] = (value >>> 16) & 0xff;
  out[pos + 2] = (value >>> 8) & 0xff;
  out[pos + 3] = value & 0xff;
  return pos + 4;
}

/** Writes a variable byte integer (at most 268,435,455) in its shortest form [MQTT-1.5.5-1]. */
export function writeVarint(out: Uint8Array, pos: number, value: number): number {
  let n = value;
  do {
    let byte = n % 128;
    n = Math.floor(n / 128);
    if (n > 0) byte |= 0x80;
    out[pos++] = byte;
  } while (n > 0);
  return pos;
}
