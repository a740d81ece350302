/**
 * UTF-8 strings as MQTT wants them [MQTT-1.5.3]: well-formed, no U+0000, at most 65,535 bytes,
 * with an ASCII fast path for the common case (topics and client ids are mostly ASCII).
 *
 * @module
 */

import { MalformedPacketError } from '../errors.js';

const encoder = new TextEncoder();
const decoder = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

/** Largest string an MQTT length prefix can carry. */
export const MAX_STRING_BYTES = 65535;

/**
 * UTF-8 byte length of `s`, validating it on the way: throws for U+0000 [MQTT-1.5.3-2] and for
 * lone surrogates, which cannot be encoded as well-formed UTF-8 [MQTT-1.5.3-1].
 */
export function utf8ByteLength(s: string, what: string): number {
  let n = 0;
  const len = s.length;
  for (let i = 0; i < len; i++) {
    const c = s.charCodeAt(i);
    if (c < 0x80) {
      if (c === 0) {
        throw new MalformedPacketError(`${what} contains U+0000`, -1, 'MQTT-1.5.3-2');
      }
      n += 1;
    } else if (c < 0x800) {
      n += 2;
    } else if (c >= 0xd800 && c <= 0xdfff) {
      const next = i + 1 < len ? s.charCodeAt(i + 1) : 0;
      if (c > 0xdbff || next < 0xdc00 || next > 0xdfff) {
        throw new MalformedPacketError(`${what} contains a lone surrogate`, -1, 'MQTT-1.5.3-1');
      }
      n += 4;
      i++;
    } else {
      n += 3;
    }
  }
  if (n > MAX_STRING_BYTES) {
    throw new MalformedPacketError(`${what} is longer than 65,535 bytes`, -1, 'MQTT-1.5.3');
  }
  return n;
}

/** Writes `s` (already measured as `byteLength`) at `offset`; returns the new offset. */
export function writeUtf8(out: Uint8Array, offset: number, s: string, byteLength: number): number {
  if (byteLength === s.length) {
    for (let i = 0; i < byteLength; i++) out[offset + i] = s.charCodeAt(i);
    return offset + byteLength;
  }
  encoder.encodeInto(s, out.subarray(offset, offset + byteLength));
  return offset + byteLength;
}

/**
 * Decodes `length` bytes at `offset` as an MQTT UTF-8 string. `packetStart` is used to report
 * offsets relative to the start of the packet.
 */
export function readUtf8(
  buf: Uint8Array,
  offset: number,
  length: number,
  packetStart: number,
  what: string,
): string {
  let ascii = true;
  for (let i = offset; i < offset + length; i++) {
    const b = buf[i]!;
    if (b === 0) {
      throw new MalformedPacketError(`${what} contains U+0000`, i - packetStart, 'MQTT-1.5.3-2');
    }
    if (b >= 0x80) ascii = false;
  }
  if (ascii) {
    if (length <= 64) {
      let s = '';
      for (let i = offset; i < offset + length; i++) s += String.fromCharCode(buf[i]!);
      return s;
    }
    return String.fromCharCode.apply(
      null,
      buf.subarray(offset, offset + length) as unknown as number[],
    );
  }
  try {
    // fatal: ill-formed sequences, overlong forms and encoded surrogates throw [MQTT-1.5.3-1].
    return decoder.decode(buf.subarray(offset, offset + length));
  } catch {
    throw new MalformedPacketError(
      `${what} is not well-formed UTF-8`,
      offset - packetStart,
      'MQTT-1.5.3-1',
    );
  }
}

/** Topic names of at most this many bytes are remembered by {@link readTopicName}. */
const MEMO_MAX_BYTES = 64;
/** Slots of the topic memo (a power of two): direct-mapped by a hash of the bytes. */
const MEMO_SLOTS = 32;
const memoBytes: (Uint8Array | undefined)[] = new Array(MEMO_SLOTS).fill(undefined);
const memoStrings: string[] = new Array(MEMO_SLOTS).fill('');

/**
 * {@link readUtf8} for a PUBLISH topic name, remembering recent ones: a subscriber sees the
 * same few topics over and over, and comparing the bytes with a topic decoded before costs far
 * less than building the string again (an ASCII string built a character at a time allocates
 * once per character). A remembered string was validated when it was first decoded, and the
 * same bytes decode to the same string.
 */
export function readTopicName(
  buf: Uint8Array,
  offset: number,
  length: number,
  packetStart: number,
  what: string,
): string {
  if (length > MEMO_MAX_BYTES) return readUtf8(buf, offset, length, packetStart, what);
  let hash = 0x811c9dc5;
  for (let i = offset; i < offset + length; i++) hash = Math.imul(hash ^ buf[i]!, 0x01000193);
  const slot = (hash ^ (hash >>> 15)) & (MEMO_SLOTS - 1);
  const known = memoBytes[slot];
  if (known !== undefined && known.length === length) {
    let same = true;
    for (let i = 0; i < length; i++) {
      if (known[i] !== buf[offset + i]) {
        same = false;
        break;
      }
    }
    if (same) return memoStrings[slot]!;
  }
  const topic = readUtf8(buf, offset, length, packetStart, what);
  // A copy: a view would keep the whole received chunk alive.
  memoBytes[slot] = buf.slice(offset, offset + length);
  memoStrings[slot] = topic;
  return topic;
}

/**
 * True when `bytes` are well-formed UTF-8: what a PUBLISH with Payload Format Indicator 1
 * promises (MQTT 5.0 §3.3.2.3.2). The receiver may check it and answer 0x99 (Payload format
 * invalid); the decoder does not, so a payload is never scanned twice.
 */
export function isWellFormedUtf8(bytes: Uint8Array): boolean {
  for (let i = 0; i < bytes.length; i++) {
    if ((bytes[i] as number) >= 0x80) {
      try {
        decoder.decode(bytes.subarray(i));
        return true;
      } catch {
        return false;
      }
    }
  }
  return true;
}
