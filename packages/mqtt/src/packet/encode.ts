/**
 * The encoder: one packet → one `Uint8Array` holding exactly that packet, validated against
 * the spec before a byte is written. This file encodes MQTT 3.1.1 and 3.1 and sends 5.0 to
 * `encode-v5.ts`.
 *
 * Packets up to 16 KiB are views into a shared slab (see `bytes()` in `writer.ts`): always use
 * the view's `byteOffset`/`byteLength`, never its `.buffer` alone. Each view's bytes belong to
 * that packet only and are never rewritten by a later encode.
 *
 * @module
 */

import { encode5, encodeConnect5, encodePublish5 } from './encode-v5.js';
import type { Packet, ProtocolVersion, PublishPacket, Subscription } from './types.js';
import { PacketTypeCode } from './types.js';
import { MAX_STRING_BYTES, utf8ByteLength, writeUtf8 } from './utf8.js';
import {
  allocate,
  allocatePacket,
  bytes,
  checkPacketId,
  checkQos,
  checkTopic,
  EMPTY,
  fail,
  MAX_REMAINING_LENGTH,
  varintLength,
  write16,
  writeBytes,
} from './writer.js';

export { MAX_REMAINING_LENGTH };

function checkVersion(version: ProtocolVersion): void {
  if (version !== 3 && version !== 4 && version !== 5) {
    fail(`unknown protocol version ${String(version)}`);
  }
}

/**
 * Nothing silent: a 5.0-only field given to the 3.1.1 encoder is refused, not dropped. A
 * reason code of 0 means what a 3.1.1 packet means, and is allowed.
 */
function only311(packet: { readonly properties?: object; readonly reasonCode?: number }): void {
  if (packet.properties !== undefined) fail('properties exist only in MQTT 5.0');
  if (packet.reasonCode !== undefined && packet.reasonCode !== 0) {
    fail('reason codes exist only in MQTT 5.0');
  }
}

/**
 * Encodes a PUBLISH. The hot path of every client: one allocation, an ASCII fast path for the
 * topic, and the payload copied once.
 */
export function encodePublish(packet: PublishPacket, version: ProtocolVersion = 4): Uint8Array {
  // PUBLISH is the same in 3.1 and 3.1.1; 5.0 adds properties after the packet id.
  if (version !== 4 && version !== 3) {
    if (version === 5) return encodePublish5(packet);
    checkVersion(version);
  }
  if (packet.properties !== undefined) fail('properties exist only in MQTT 5.0');
  const { topic, payload, qos, dup, retain } = packet;
  checkQos(qos, 'QoS', 'MQTT-3.3.1-4');
  if (dup && qos === 0) fail('DUP must be 0 for QoS 0 messages', 'MQTT-3.3.1-2');
  // One pass for the common case, a short ASCII topic without wildcards; the full measure and
  // validator only for anything else (U+0000, non-ASCII, '#', '+', over 65,535 bytes).
  let ascii = topic.length <= MAX_STRING_BYTES;
  for (let i = 0; ascii && i < topic.length; i++) {
    const c = topic.charCodeAt(i);
    if (c === 0x23 || c === 0x2b || c === 0 || c >= 0x80) {
      ascii = false;
      break;
    }
  }
  const topicLength = ascii ? topic.length : utf8ByteLength(topic, 'topic name');
  if (topicLength === 0) fail('topic name must be at least one character long', 'MQTT-4.7.3-1');
  if (!ascii) {
    for (let i = 0; i < topic.length; i++) {
      const c = topic.charCodeAt(i);
      if (c === 0x23 || c === 0x2b) checkTopic(topic, false);
    }
  }
  let packetId = 0;
  if (qos > 0) packetId = checkPacketId(packet.packetId);
  else if (packet.packetId !== undefined) fail('a QoS 0 PUBLISH has no packet id', 'MQTT-2.3.1-5');
  const remaining = 2 + topicLength + (qos > 0 ? 2 : 0) + payload.byteLength;
  const out = allocatePacket(0x30 | (dup ? 8 : 0) | (qos << 1) | (retain ? 1 : 0), remaining);
  let pos = write16(out, 1 + varintLength(remaining), topicLength);
  pos = writeUtf8(out, pos, topic, topicLength);
  if (qos > 0) pos = write16(out, pos, packetId);
  out.set(payload, pos);
  return out;
}

function encodeAck(
  first: number,
  packet: { readonly packetId: number; readonly properties?: object; readonly reasonCode?: number },
): Uint8Array {
  only311(packet);
  const out = bytes(4);
  const id = checkPacketId(packet.packetId);
  out[0] = first;
  out[1] = 2;
  out[2] = id >>> 8;
  out[3] = id & 0xff;
  return out;
}

/**
 * Encodes any control packet for the given protocol version (4 = MQTT 3.1.1, 3 = MQTT 3.1,
 * 5 = MQTT 5.0). A CONNECT is encoded for its own `protocolVersion` (protocol name `MQIsdp`
 * for 3).
 *
 * @throws {@link MalformedPacketError} (offset -1, with the rule) for a packet the spec forbids,
 *   a 5.0-only field (properties, a non-zero reason code, subscription options, AUTH) given
 *   for 3.1.1 or 3.1 included.
 */
export function encode(packet: Packet, version: ProtocolVersion = 4): Uint8Array {
  if (packet.type === 'connect') return encodeConnect(packet);
  if (version === 5) return encode5(packet);
  checkVersion(version);
  switch (packet.type) {
    case 'publish':
      return encodePublish(packet, version);
    case 'puback':
      return encodeAck(0x40, packet);
    case 'pubrec':
      return encodeAck(0x50, packet);
    case 'pubrel':
      // [MQTT-3.6.1-1] PUBREL's fixed header flags are 0010.
      return encodeAck(0x62, packet);
    case 'pubcomp':
      return encodeAck(0x70, packet);
    case 'unsuback':
      if (packet.reasonCodes !== undefined) fail('UNSUBACK reason codes exist only in MQTT 5.0');
      return encodeAck(0xb0, packet);
    case 'pingreq':
      return Uint8Array.of(0xc0, 0);
    case 'pingresp':
      return Uint8Array.of(0xd0, 0);
    case 'disconnect':
      only311(packet);
      return Uint8Array.of(0xe0, 0);
    case 'auth':
      return fail('AUTH exists only in MQTT 5.0');
    case 'connack': {
      only311(packet);
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
      only311(packet);
      const id = checkPacketId(packet.packetId);
      if (packet.subscriptions.length === 0) {
        fail('SUBSCRIBE must contain at least one topic filter', 'MQTT-3.8.3-3');
      }
      const lengths: number[] = [];
      let remaining = 2;
      for (const s of packet.subscriptions) {
        checkTopic(s.topic, true);
        checkQos(s.qos, 'requested QoS', 'MQTT-3-8.3-4');
        if (s.noLocal === true || s.retainAsPublished === true || (s.retainHandling ?? 0) !== 0) {
          fail('subscription options exist only in MQTT 5.0');
        }
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
      only311(packet);
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
      only311(packet);
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
  }
}

function encodeConnect(packet: Extract<Packet, { type: 'connect' }>): Uint8Array {
  const level = packet.protocolVersion;
  if (level === 5) return encodeConnect5(packet);
  checkVersion(level);
  if (packet.properties !== undefined || packet.will?.properties !== undefined) {
    fail('properties exist only in MQTT 5.0');
  }
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
