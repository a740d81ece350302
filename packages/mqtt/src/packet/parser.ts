/**
 * The decoder: an incremental {@link Parser} fed arbitrary chunks, and {@link decode} for one
 * complete packet. Every violation of the spec is a {@link MalformedPacketError} naming the
 * byte offset (from the start of the packet) and the normative statement broken.
 *
 * @module
 */

import { MalformedPacketError, MqttError, MqttErrorCode, PacketTooLargeError } from '../errors.js';
import type { Packet, ProtocolVersion, QoS, Subscription } from './types.js';
import { readUtf8 } from './utf8.js';

/** Options of a {@link Parser}. */
export interface ParserOptions {
  /** @default 4 */
  readonly protocolVersion?: ProtocolVersion;
  /** Largest packet accepted, fixed header included. @default 268435460 */
  readonly maxPacketSize?: number;
}

const DEFAULT_MAX_PACKET_SIZE = 268_435_460;

/** Cursor over one packet's bytes: `buf[start..end)`, `pos` absolute. */
class Reader {
  pos: number;
  constructor(
    readonly buf: Uint8Array,
    readonly start: number,
    readonly end: number,
    bodyStart: number,
  ) {
    this.pos = bodyStart;
  }

  fail(message: string, rule?: string, at = this.pos): never {
    throw new MalformedPacketError(message, at - this.start, rule);
  }

  need(n: number, what: string): void {
    if (this.pos + n > this.end) this.fail(`packet too short for ${what}`, 'MQTT-2.2.3');
  }

  u8(what: string): number {
    this.need(1, what);
    return this.buf[this.pos++]!;
  }

  u16(what: string): number {
    this.need(2, what);
    const v = (this.buf[this.pos]! << 8) | this.buf[this.pos + 1]!;
    this.pos += 2;
    return v;
  }

  packetId(): number {
    const at = this.pos;
    const id = this.u16('packet id');
    if (id === 0) this.fail('packet id must not be 0', 'MQTT-2.3.1-1', at);
    return id;
  }

  string(what: string): string {
    const length = this.u16(`${what} length`);
    this.need(length, what);
    const s = readUtf8(this.buf, this.pos, length, this.start, what);
    this.pos += length;
    return s;
  }

  bytes(what: string): Uint8Array {
    const length = this.u16(`${what} length`);
    this.need(length, what);
    const b = this.buf.subarray(this.pos, this.pos + length);
    this.pos += length;
    return b;
  }

  done(type: string): void {
    if (this.pos !== this.end) {
      this.fail(`${this.end - this.pos} unexpected bytes at the end of ${type}`, 'MQTT-2.2.3');
    }
  }
}

function checkFilter(r: Reader, filter: string, at: number): void {
  if (filter.length === 0) r.fail('topic filter must not be empty', 'MQTT-4.7.3-1', at);
  const levels = filter.split('/');
  for (let i = 0; i < levels.length; i++) {
    const level = levels[i]!;
    if (level.includes('#') && (level !== '#' || i !== levels.length - 1)) {
      r.fail(`misplaced '#' in topic filter ${JSON.stringify(filter)}`, 'MQTT-4.7.1-2', at);
    }
    if (level.includes('+') && level !== '+') {
      r.fail(`misplaced '+' in topic filter ${JSON.stringify(filter)}`, 'MQTT-4.7.1-3', at);
    }
  }
}

/** Decodes the packet in `buf[start..end)` whose body begins at `bodyStart`. */
function decodeAt(
  buf: Uint8Array,
  start: number,
  bodyStart: number,
  end: number,
  version: ProtocolVersion,
): Packet {
  const first = buf[start]!;
  const type = first >>> 4;
  const flags = first & 0x0f;
  const r = new Reader(buf, start, end, bodyStart);
  const remaining = end - bodyStart;

  if (type === 3) {
    // PUBLISH
    const qos = (flags >>> 1) & 3;
    if (qos === 3) r.fail('QoS 3 is not allowed', 'MQTT-3.3.1-4', start);
    const dup = (flags & 8) !== 0;
    if (dup && qos === 0) r.fail('DUP must be 0 for QoS 0', 'MQTT-3.3.1-2', start);
    const topicAt = r.pos;
    const topic = r.string('topic name');
    if (topic.length === 0) r.fail('topic name must not be empty', 'MQTT-4.7.3-1', topicAt);
    for (let i = 0; i < topic.length; i++) {
      const c = topic.charCodeAt(i);
      if (c === 0x23 || c === 0x2b) {
        r.fail('wildcards are not allowed in a PUBLISH topic', 'MQTT-3.3.2-2', topicAt);
      }
    }
    if (qos === 0) {
      return {
        type: 'publish',
        topic,
        payload: buf.subarray(r.pos, end),
        qos: 0,
        retain: (flags & 1) !== 0,
        dup: false,
      };
    }
    const packetId = r.packetId();
    return {
      type: 'publish',
      topic,
      payload: buf.subarray(r.pos, end),
      qos: qos as QoS,
      retain: (flags & 1) !== 0,
      dup,
      packetId,
    };
  }

  // [MQTT-2.2.2-1] Reserved flag bits: 0010 for PUBREL, SUBSCRIBE, UNSUBSCRIBE; 0 elsewhere.
  const expectedFlags = type === 6 || type === 8 || type === 10 ? 2 : 0;
  if (flags !== expectedFlags) {
    const rule =
      type === 6
        ? 'MQTT-3.6.1-1'
        : type === 8
          ? 'MQTT-3.8.1-1'
          : type === 10
            ? 'MQTT-3.10.1-1'
            : 'MQTT-2.2.2-2';
    r.fail(
      `reserved flags of packet type ${type} must be ${expectedFlags}, got ${flags}`,
      rule,
      start,
    );
  }

  switch (type) {
    case 1:
      return decodeConnect(r, version);
    case 2: {
      if (remaining !== 2) r.fail('CONNACK remaining length must be 2', 'MQTT-3.2.2', start + 1);
      const ackFlags = r.u8('acknowledge flags');
      if ((ackFlags & 0xfe) !== 0)
        r.fail('CONNACK reserved flag bits must be 0', 'MQTT-3.2.2-1', r.pos - 1);
      const returnCode = r.u8('return code');
      return { type: 'connack', sessionPresent: (ackFlags & 1) === 1, returnCode };
    }
    case 4:
    case 5:
    case 6:
    case 7:
    case 11: {
      if (remaining !== 2)
        r.fail(`remaining length must be 2, got ${remaining}`, 'MQTT-2.2.3', start + 1);
      const packetId = r.packetId();
      const name = (
        { 4: 'puback', 5: 'pubrec', 6: 'pubrel', 7: 'pubcomp', 11: 'unsuback' } as const
      )[type];
      return { type: name, packetId };
    }
    case 8: {
      const packetId = r.packetId();
      const subscriptions: Subscription[] = [];
      while (r.pos < end) {
        const at = r.pos;
        const topic = r.string('topic filter');
        checkFilter(r, topic, at);
        const qosAt = r.pos;
        const options = r.u8('requested QoS');
        if (options > 2) {
          r.fail(`requested QoS byte must be 0, 1 or 2, got ${options}`, 'MQTT-3-8.3-4', qosAt);
        }
        subscriptions.push({ topic, qos: options as QoS });
      }
      if (subscriptions.length === 0) r.fail('SUBSCRIBE has no topic filter', 'MQTT-3.8.3-3');
      return { type: 'subscribe', packetId, subscriptions };
    }
    case 9: {
      const packetId = r.packetId();
      const returnCodes: number[] = [];
      while (r.pos < end) {
        const code = r.u8('return code');
        if (code !== 0 && code !== 1 && code !== 2 && code !== 0x80) {
          r.fail(
            `SUBACK return code must be 0, 1, 2 or 0x80, got ${code}`,
            'MQTT-3.9.3-2',
            r.pos - 1,
          );
        }
        returnCodes.push(code);
      }
      return { type: 'suback', packetId, returnCodes };
    }
    case 10: {
      const packetId = r.packetId();
      const topics: string[] = [];
      while (r.pos < end) {
        const at = r.pos;
        const topic = r.string('topic filter');
        checkFilter(r, topic, at);
        topics.push(topic);
      }
      if (topics.length === 0) r.fail('UNSUBSCRIBE has no topic filter', 'MQTT-3.10.3-2');
      return { type: 'unsubscribe', packetId, topics };
    }
    case 12:
    case 13:
    case 14: {
      if (remaining !== 0)
        r.fail(`remaining length must be 0, got ${remaining}`, 'MQTT-2.2.3', start + 1);
      return { type: type === 12 ? 'pingreq' : type === 13 ? 'pingresp' : 'disconnect' };
    }
    default:
      return r.fail(`reserved packet type ${type}`, 'MQTT-2.2.1', start);
  }
}

function decodeConnect(r: Reader, version: ProtocolVersion): Packet {
  const nameAt = r.pos;
  const name = r.string('protocol name');
  const levelAt = r.pos;
  const level = r.u8('protocol level');
  if (!((name === 'MQTT' && (level === 4 || level === 5)) || (name === 'MQIsdp' && level === 3))) {
    r.fail(
      `unsupported protocol ${JSON.stringify(name)} level ${level}`,
      'MQTT-3.1.2-1',
      name === 'MQTT' || name === 'MQIsdp' ? levelAt : nameAt,
    );
  }
  if (level === 5 || version === 5) {
    throw new MqttError(MqttErrorCode.PROTOCOL, 'MQTT 5.0 is not supported yet');
  }
  const flagsAt = r.pos;
  const flags = r.u8('connect flags');
  if ((flags & 1) !== 0) r.fail('CONNECT reserved flag must be 0', 'MQTT-3.1.2-3', flagsAt);
  const willFlag = (flags & 0x04) !== 0;
  const willQos = (flags >>> 3) & 3;
  const willRetain = (flags & 0x20) !== 0;
  if (!willFlag && willQos !== 0)
    r.fail('Will QoS set without Will flag', 'MQTT-3.1.2-13', flagsAt);
  if (!willFlag && willRetain)
    r.fail('Will Retain set without Will flag', 'MQTT-3.1.2-15', flagsAt);
  if (willQos === 3) r.fail('Will QoS 3 is not allowed', 'MQTT-3.1.2-14', flagsAt);
  const hasUser = (flags & 0x80) !== 0;
  const hasPassword = (flags & 0x40) !== 0;
  if (hasPassword && !hasUser)
    r.fail('password flag set without user name flag', 'MQTT-3.1.2-22', flagsAt);
  const keepaliveSec = r.u16('keep-alive');
  const clientId = r.string('client id');
  const clean = (flags & 0x02) !== 0;
  let will: { topic: string; payload: Uint8Array; qos: QoS; retain: boolean } | undefined;
  if (willFlag) {
    const at = r.pos;
    const topic = r.string('Will topic');
    if (topic.length === 0 || /[+#]/.test(topic)) r.fail('invalid Will topic', 'MQTT-3.1.3-10', at);
    const payload = r.bytes('Will message');
    will = { topic, payload, qos: willQos as QoS, retain: willRetain };
  }
  const username = hasUser ? r.string('user name') : undefined;
  const password = hasPassword ? r.bytes('password') : undefined;
  r.done('CONNECT');
  return {
    type: 'connect',
    protocolVersion: level as ProtocolVersion,
    clientId,
    clean,
    keepaliveSec,
    ...(username === undefined ? {} : { username }),
    ...(password === undefined ? {} : { password }),
    ...(will === undefined ? {} : { will }),
  };
}

/**
 * An incremental MQTT packet parser. Feed it chunks as they arrive; it calls back once per
 * complete packet. A PUBLISH payload is a view into the chunk when the packet lies within one
 * chunk (no copy); a packet spread over chunks is assembled into one buffer of its exact size,
 * allocated once its fixed header is known and checked against `maxPacketSize` first.
 *
 * After an error the stream is corrupt: every later `push` throws the same error.
 */
export class Parser {
  readonly #version: ProtocolVersion;
  readonly #maxPacketSize: number;
  /** A packet being assembled across chunks, and how much of it is filled. */
  #partial: Uint8Array | undefined;
  #filled = 0;
  /** The start of a fixed header split across chunks (at most 4 bytes). */
  #head: Uint8Array | undefined;
  #error: Error | undefined;

  constructor(options: ParserOptions = {}) {
    this.#version = options.protocolVersion ?? 4;
    this.#maxPacketSize = options.maxPacketSize ?? DEFAULT_MAX_PACKET_SIZE;
  }

  /** True while a packet is partly received. */
  get pending(): boolean {
    return this.#partial !== undefined || this.#head !== undefined;
  }

  /** Feeds bytes; calls `onPacket` for each complete packet, in order. */
  push(chunk: Uint8Array, onPacket: (packet: Packet) => void): void {
    if (this.#error !== undefined) throw this.#error;
    try {
      this.#push(chunk, onPacket);
    } catch (error) {
      if (error instanceof MqttError) this.#error = error;
      throw error;
    }
  }

  #push(chunk: Uint8Array, onPacket: (packet: Packet) => void): void {
    let data = chunk;
    let pos = 0;
    const partial = this.#partial;
    if (partial !== undefined) {
      const n = Math.min(partial.length - this.#filled, data.length);
      partial.set(data.subarray(0, n), this.#filled);
      this.#filled += n;
      pos = n;
      if (this.#filled < partial.length) return;
      this.#partial = undefined;
      onPacket(
        decodeAt(
          partial,
          0,
          partial.length - this.#bodyLength(partial),
          partial.length,
          this.#version,
        ),
      );
    }
    if (this.#head !== undefined) {
      const rest = data.subarray(pos);
      const joined = new Uint8Array(this.#head.length + rest.length);
      joined.set(this.#head);
      joined.set(rest, this.#head.length);
      this.#head = undefined;
      data = joined;
      pos = 0;
    }
    const length = data.length;
    while (pos < length) {
      // Fixed header: type byte, then the remaining length in 1..4 bytes [MQTT-2.2.3].
      let remaining = 0;
      let multiplier = 1;
      let i = pos + 1;
      let complete = false;
      for (; i < length && i <= pos + 4; i++) {
        const byte = data[i]!;
        remaining += (byte & 0x7f) * multiplier;
        multiplier *= 128;
        if ((byte & 0x80) === 0) {
          complete = true;
          i++;
          break;
        }
      }
      if (!complete) {
        if (i > pos + 4) {
          throw new MalformedPacketError('remaining length longer than 4 bytes', 4, 'MQTT-2.2.3');
        }
        this.#head = data.slice(pos);
        return;
      }
      const total = i - pos + remaining;
      if (total > this.#maxPacketSize) throw new PacketTooLargeError(total, this.#maxPacketSize);
      const type = data[pos]! >>> 4;
      if (type === 0 || type === 15) {
        throw new MalformedPacketError(`reserved packet type ${type}`, 0, 'MQTT-2.2.1');
      }
      if (pos + total > length) {
        const assembled = new Uint8Array(total);
        assembled.set(data.subarray(pos));
        this.#partial = assembled;
        this.#filled = length - pos;
        return;
      }
      onPacket(decodeAt(data, pos, i, pos + total, this.#version));
      pos += total;
    }
  }

  /** Remaining length of an assembled packet (recomputed from its header). */
  #bodyLength(packet: Uint8Array): number {
    let remaining = 0;
    let multiplier = 1;
    for (let i = 1; i < 5; i++) {
      const byte = packet[i]!;
      remaining += (byte & 0x7f) * multiplier;
      multiplier *= 128;
      if ((byte & 0x80) === 0) break;
    }
    return remaining;
  }
}

/**
 * Decodes exactly one complete packet. Throws {@link MalformedPacketError} when the bytes are
 * not one valid packet (too short, trailing bytes, or any rule broken).
 */
export function decode(bytes: Uint8Array, version: ProtocolVersion = 4): Packet {
  const packets: Packet[] = [];
  const parser = new Parser({ protocolVersion: version });
  parser.push(bytes, (p) => packets.push(p));
  if (packets.length !== 1 || parser.pending) {
    throw new MalformedPacketError(
      packets.length === 0 ? 'incomplete packet' : 'bytes left after the packet',
      packets.length === 0 ? 0 : bytes.length,
      'MQTT-2.2.3',
    );
  }
  return packets[0]!;
}
