/**
 * The encoder: one packet → one `Uint8Array` holding exactly that packet, validated against
 * the spec before a byte is written.
 *
 * Packets up to 16 KiB are views into a shared slab (see `bytes()` below): always use the
 * view's `byteOffset`/`byteLength`, never its `.buffer` alone. Each view's bytes belong to that
 * packet only and are never rewritten by a later encode.
 *
 * @module
 */

import { InvalidTopicError, MalformedPacketError } from '../errors.js';
import { validateTopicFilter, validateTopicName } from '../topic/index.js';
import { refuseVersion5 } from './decode.js';
import type { Packet, ProtocolVersion, PublishPacket, QoS, Subscription } from './types.js';
import { PacketTypeCode } from './types.js';
import { utf8ByteLength, writeUtf8 } from './utf8.js';

/** The largest remaining length a 4-byte variable byte integer can express. */
export const MAX_REMAINING_LENGTH = 268_435_455;

const EMPTY = new Uint8Array(0);

function fail(message: string, rule?: string): never {
  throw new MalformedPacketError(message, -1, rule);
}

function checkVersion(version: ProtocolVersion): void {
  if (version === 5) refuseVersion5();
  if (version !== 3 && version !== 4) fail(`unknown protocol version ${String(version)}`);
}

function checkPacketId(id: number | undefined): number {
  if (id === undefined || !Number.isInteger(id) || id < 1 || id > 0xffff) {
    fail(`packet id must be 1..65535, got ${String(id)}`, 'MQTT-2.3.1-1');
  }
  return id;
}

function checkQos(qos: number, what: string, rule: string): QoS {
  if (qos !== 0 && qos !== 1 && qos !== 2) fail(`${what} must be 0, 1 or 2, got ${qos}`, rule);
  return qos;
}

function checkTopic(topic: string, filter: boolean): void {
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

function varintLength(n: number): number {
  return n < 128 ? 1 : n < 16384 ? 2 : n < 2097152 ? 3 : 4;
}

/**
 * Small packets are carved out of a shared slab, as Node's Buffer pool does: allocating a
 * separate ArrayBuffer per packet costs more than encoding it. A slab is never rewritten; a
 * new one replaces it when full, and the old one lives as long as a packet views it.
 */
const SLAB_BYTES = 256 * 1024;
const POOLED_MAX_BYTES = 16 * 1024;
let slab = new Uint8Array(SLAB_BYTES);
let slabUsed = 0;

function bytes(n: number): Uint8Array {
  if (n > POOLED_MAX_BYTES) return new Uint8Array(n);
  if (slabUsed + n > SLAB_BYTES) {
    slab = new Uint8Array(SLAB_BYTES);
    slabUsed = 0;
  }
  const view = slab.subarray(slabUsed, slabUsed + n);
  // Keep views 8-byte aligned.
  slabUsed += (n + 7) & ~7;
  return view;
}

/** Allocates the packet and writes its fixed header; returns the buffer and the body offset. */
function allocate(firstByte: number, remaining: number): [Uint8Array, number] {
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
  return [out, pos];
}

function write16(out: Uint8Array, pos: number, value: number): number {
  out[pos] = value >>> 8;
  out[pos + 1] = value & 0xff;
  return pos + 2;
}

function writeBytes(out: Uint8Array, pos: number, bytes: Uint8Array): number {
  pos = write16(out, pos, bytes.byteLength);
  out.set(bytes, pos);
  return pos + bytes.byteLength;
}

/**
 * Encodes a PUBLISH. The hot path of every client: one allocation, an ASCII fast path for the
 * topic, and the payload copied once.
 */
export function encodePublish(packet: PublishPacket, version: ProtocolVersion = 4): Uint8Array {
  // PUBLISH is the same in 3.1 and 3.1.1; the parameter keeps the call sites right for 5.0,
  // which adds properties after the packet id.
  if (version !== 4 && version !== 3) checkVersion(version);
  const { topic, payload, qos, dup, retain } = packet;
  checkQos(qos, 'QoS', 'MQTT-3.3.1-4');
  if (dup && qos === 0) fail('DUP must be 0 for QoS 0 messages', 'MQTT-3.3.1-2');
  const topicLength = utf8ByteLength(topic, 'topic name');
  // Fast check for the common ASCII case; the full validator only when needed.
  if (topicLength === 0) fail('topic name must be at least one character long', 'MQTT-4.7.3-1');
  for (let i = 0; i < topic.length; i++) {
    const c = topic.charCodeAt(i);
    if (c === 0x23 || c === 0x2b) checkTopic(topic, false);
  }
  let packetId = 0;
  if (qos > 0) packetId = checkPacketId(packet.packetId);
  else if (packet.packetId !== undefined) fail('a QoS 0 PUBLISH has no packet id', 'MQTT-2.3.1-5');
  const remaining = 2 + topicLength + (qos > 0 ? 2 : 0) + payload.byteLength;
  const [out, start] = allocate(0x30 | (dup ? 8 : 0) | (qos << 1) | (retain ? 1 : 0), remaining);
  let pos = write16(out, start, topicLength);
  pos = writeUtf8(out, pos, topic, topicLength);
  if (qos > 0) pos = write16(out, pos, packetId);
  out.set(payload, pos);
  return out;
}

function encodeAck(first: number, packetId: number | undefined): Uint8Array {
  const out = bytes(4);
  const id = checkPacketId(packetId);
  out[0] = first;
  out[1] = 2;
  out[2] = id >>> 8;
  out[3] = id & 0xff;
  return out;
}

/**
 * Encodes any control packet for the given protocol version (4 = MQTT 3.1.1, 3 = MQTT 3.1).
 * A CONNECT is encoded for its own `protocolVersion` (protocol name `MQIsdp` for 3).
 *
 * @throws {@link MalformedPacketError} (offset -1, with the rule) for a packet the spec forbids.
 * @throws {@link MqttError} with code `PROTOCOL` for version 5, not supported yet.
 */
export function encode(packet: Packet, version: ProtocolVersion = 4): Uint8Array {
  checkVersion(version);
  switch (packet.type) {
    case 'publish':
      return encodePublish(packet, version);
    case 'puback':
      return encodeAck(0x40, packet.packetId);
    case 'pubrec':
      return encodeAck(0x50, packet.packetId);
    case 'pubrel':
      // [MQTT-3.6.1-1] PUBREL's fixed header flags are 0010.
      return encodeAck(0x62, packet.packetId);
    case 'pubcomp':
      return encodeAck(0x70, packet.packetId);
    case 'unsuback':
      return encodeAck(0xb0, packet.packetId);
    case 'pingreq':
      return Uint8Array.of(0xc0, 0);
    case 'pingresp':
      return Uint8Array.of(0xd0, 0);
    case 'disconnect':
      return Uint8Array.of(0xe0, 0);
    case 'connack': {
      if (
        packet.returnCode < 0 ||
        packet.returnCode > 255 ||
        !Number.isInteger(packet.returnCode)
      ) {
        fail(`CONNACK return code must be a byte, got ${packet.returnCode}`);
      }
      if (packet.sessionPresent && packet.returnCode !== 0) {
        fail('session present must be 0 when the connection is refused', 'MQTT-3.2.2-4');
      }
      return Uint8Array.of(0x20, 2, packet.sessionPresent ? 1 : 0, packet.returnCode);
    }
    case 'subscribe': {
      const id = checkPacketId(packet.packetId);
      if (packet.subscriptions.length === 0) {
        fail('SUBSCRIBE must contain at least one topic filter', 'MQTT-3.8.3-3');
      }
      const lengths: number[] = [];
      let remaining = 2;
      for (const s of packet.subscriptions) {
        checkTopic(s.topic, true);
        checkQos(s.qos, 'requested QoS', 'MQTT-3-8.3-4');
        const n = utf8ByteLength(s.topic, 'topic filter');
        lengths.push(n);
        remaining += 3 + n;
      }
      const [out, start] = allocate(0x82, remaining);
      let pos = write16(out, start, id);
      const subscriptions = packet.subscriptions;
      for (let i = 0; i < subscriptions.length; i++) {
        const s = subscriptions[i] as Subscription;
        const n = lengths[i] as number;
        pos = write16(out, pos, n);
        pos = writeUtf8(out, pos, s.topic, n);
        out[pos++] = s.qos;
      }
      return out;
    }
    case 'suback': {
      const id = checkPacketId(packet.packetId);
      for (const code of packet.returnCodes) {
        if (code !== 0 && code !== 1 && code !== 2 && code !== 0x80) {
          fail(`SUBACK return code must be 0, 1, 2 or 0x80, got ${code}`, 'MQTT-3.9.3-2');
        }
      }
      const [out, start] = allocate(0x90, 2 + packet.returnCodes.length);
      const pos = write16(out, start, id);
      out.set(packet.returnCodes, pos);
      return out;
    }
    case 'unsubscribe': {
      const id = checkPacketId(packet.packetId);
      if (packet.topics.length === 0) {
        fail('UNSUBSCRIBE must contain at least one topic filter', 'MQTT-3.10.3-2');
      }
      const lengths = packet.topics.map((t) => {
        checkTopic(t, true);
        return utf8ByteLength(t, 'topic filter');
      });
      const remaining = lengths.reduce((sum, n) => sum + 2 + n, 2);
      const [out, start] = allocate(0xa2, remaining);
      let pos = write16(out, start, id);
      const topics = packet.topics;
      for (let i = 0; i < topics.length; i++) {
        const n = lengths[i] as number;
        pos = write16(out, pos, n);
        pos = writeUtf8(out, pos, topics[i] as string, n);
      }
      return out;
    }
    case 'connect':
      return encodeConnect(packet);
  }
}

function encodeConnect(packet: Extract<Packet, { type: 'connect' }>): Uint8Array {
  const level = packet.protocolVersion;
  checkVersion(level);
  const name = level === 3 ? 'MQIsdp' : 'MQTT';
  if (
    !Number.isInteger(packet.keepaliveSec) ||
    packet.keepaliveSec < 0 ||
    packet.keepaliveSec > 0xffff
  ) {
    fail(`keep-alive must be 0..65535 seconds, got ${packet.keepaliveSec}`);
  }
  const clientIdLength = utf8ByteLength(packet.clientId, 'client id');
  if (clientIdLength === 0 && !packet.clean) {
    fail('an empty client id requires clean session', 'MQTT-3.1.3-7');
  }
  if (level === 3 && (clientIdLength === 0 || clientIdLength > 23)) {
    fail('MQTT 3.1 client ids must be 1 to 23 bytes');
  }
  if (packet.password !== undefined && packet.username === undefined) {
    fail('a password requires a user name', 'MQTT-3.1.2-22');
  }
  let remaining = 2 + name.length + 1 + 1 + 2 + 2 + clientIdLength;
  let flags = packet.clean ? 0x02 : 0;
  let willTopicLength = 0;
  const will = packet.will;
  if (will !== undefined) {
    checkTopic(will.topic, false);
    checkQos(will.qos, 'Will QoS', 'MQTT-3.1.2-14');
    willTopicLength = utf8ByteLength(will.topic, 'Will topic');
    if (will.payload.byteLength > 0xffff) fail('Will message is longer than 65,535 bytes');
    remaining += 2 + willTopicLength + 2 + will.payload.byteLength;
    flags |= 0x04 | (will.qos << 3) | (will.retain ? 0x20 : 0);
  }
  let usernameLength = 0;
  if (packet.username !== undefined) {
    usernameLength = utf8ByteLength(packet.username, 'user name');
    remaining += 2 + usernameLength;
    flags |= 0x80;
  }
  const password = packet.password ?? EMPTY;
  if (packet.password !== undefined) {
    if (password.byteLength > 0xffff) fail('password is longer than 65,535 bytes');
    remaining += 2 + password.byteLength;
    flags |= 0x40;
  }
  const [out, start] = allocate(0x10, remaining);
  let pos = write16(out, start, name.length);
  pos = writeUtf8(out, pos, name, name.length);
  out[pos++] = level;
  out[pos++] = flags;
  pos = write16(out, pos, packet.keepaliveSec);
  pos = write16(out, pos, clientIdLength);
  pos = writeUtf8(out, pos, packet.clientId, clientIdLength);
  if (will !== undefined) {
    pos = write16(out, pos, willTopicLength);
    pos = writeUtf8(out, pos, will.topic, willTopicLength);
    pos = writeBytes(out, pos, will.payload);
  }
  if (packet.username !== undefined) {
    pos = write16(out, pos, usernameLength);
    pos = writeUtf8(out, pos, packet.username, usernameLength);
  }
  if (packet.password !== undefined) writeBytes(out, pos, password);
  return out;
}

/** Type code of each packet type, for callers that need the numeric value. */
export { PacketTypeCode };
