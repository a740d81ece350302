/**
 * The MQTT 5.0 encoder: one packet → one `Uint8Array`, validated before a byte is written, as
 * the 3.1.1 encoder in `encode.ts` (and from the same buffer pool).
 *
 * Properties are written in identifier order. Acknowledgements use their short forms where the
 * specification allows it (§3.4.2.1, §3.14.2.1, §3.15.2.1): no reason code and no property
 * length when the code is 0x00 and there are no properties, no property length when there
 * are no properties.
 *
 * @module
 */

import { propertiesLength, WILL_CONTEXT, writeProperties } from './properties.js';
import { REASON_CODE_RULES, type ReasonCodePacket, reasonCodeAllowed } from './reason-codes.js';
import type {
  AckPacket,
  AuthPacket,
  ConnackPacket,
  ConnectPacket,
  DisconnectPacket,
  Packet,
  PublishPacket,
  SubackPacket,
  SubscribePacket,
  Subscription,
  UnsubackPacket,
  UnsubscribePacket,
} from './types.js';
import { utf8ByteLength, writeUtf8 } from './utf8.js';
import {
  allocate,
  bytes,
  checkPacketId,
  checkQos,
  checkTopic,
  EMPTY,
  fail,
  varintLength,
  write16,
  writeBytes,
} from './writer.js';

function checkReasonCode(code: number, type: number, packet: ReasonCodePacket): number {
  if (!reasonCodeAllowed(code, type)) {
    fail(
      `reason code ${String(code)} is not allowed in ${packet.toUpperCase()}`,
      REASON_CODE_RULES[packet],
    );
  }
  return code;
}

/** A PUBLISH in MQTT 5.0: as in 3.1.1, with properties between the packet id and the payload. */
export function encodePublish5(packet: PublishPacket): Uint8Array {
  const { topic, payload, qos, dup, retain, properties } = packet;
  checkQos(qos, 'QoS', 'MQTT-3.3.1-4');
  if (dup && qos === 0) fail('DUP must be 0 for QoS 0 messages', 'MQTT-3.3.1-2');
  const topicLength = utf8ByteLength(topic, 'topic name');
  // §3.3.2.3.4 An empty topic name refers to an established Topic Alias.
  if (topicLength === 0 && properties?.topicAlias === undefined) {
    fail('topic name must not be empty without a Topic Alias', 'MQTT-4.7.3-1');
  }
  for (let i = 0; i < topic.length; i++) {
    const c = topic.charCodeAt(i);
    if (c === 0x23 || c === 0x2b) checkTopic(topic, false);
  }
  let packetId = 0;
  if (qos > 0) packetId = checkPacketId(packet.packetId);
  else if (packet.packetId !== undefined) fail('a QoS 0 PUBLISH has no packet id', 'MQTT-2.2.1-2');
  const propsLength = properties === undefined ? 0 : propertiesLength(properties, 3);
  const remaining =
    2 +
    topicLength +
    (qos > 0 ? 2 : 0) +
    varintLength(propsLength) +
    propsLength +
    payload.byteLength;
  const [out, start] = allocate(0x30 | (dup ? 8 : 0) | (qos << 1) | (retain ? 1 : 0), remaining);
  let pos = write16(out, start, topicLength);
  pos = writeUtf8(out, pos, topic, topicLength);
  if (qos > 0) pos = write16(out, pos, packetId);
  if (propsLength === 0) out[pos++] = 0;
  else pos = writeProperties(out, pos, properties, 3, propsLength);
  out.set(payload, pos);
  return out;
}

/** PUBACK, PUBREC, PUBREL, PUBCOMP with their short forms [MQTT-3.4.2.1]. */
function encodeAck(
  first: number,
  packet: AckPacket<'puback' | 'pubrec' | 'pubrel' | 'pubcomp'>,
): Uint8Array {
  const type = first >>> 4;
  const id = checkPacketId(packet.packetId);
  const code = checkReasonCode(packet.reasonCode ?? 0, type, packet.type);
  const propsLength = propertiesLength(packet.properties, type);
  if (propsLength === 0) {
    const out = bytes(code === 0 ? 4 : 5);
    out[0] = first;
    out[1] = code === 0 ? 2 : 3;
    out[2] = id >>> 8;
    out[3] = id & 0xff;
    if (code !== 0) out[4] = code;
    return out;
  }
  const [out, start] = allocate(first, 3 + varintLength(propsLength) + propsLength);
  let pos = write16(out, start, id);
  out[pos++] = code;
  writeProperties(out, pos, packet.properties, type, propsLength);
  return out;
}

function encodeConnack(packet: ConnackPacket): Uint8Array {
  const code = checkReasonCode(packet.returnCode, 2, 'connack');
  if (packet.sessionPresent && code !== 0) {
    fail('session present must be 0 with a non-zero reason code', 'MQTT-3.2.2-6');
  }
  const propsLength = propertiesLength(packet.properties, 2);
  const [out, start] = allocate(0x20, 2 + varintLength(propsLength) + propsLength);
  out[start] = packet.sessionPresent ? 1 : 0;
  out[start + 1] = code;
  writeProperties(out, start + 2, packet.properties, 2, propsLength);
  return out;
}

function encodeSubscribe(packet: SubscribePacket): Uint8Array {
  const id = checkPacketId(packet.packetId);
  const subscriptions = packet.subscriptions;
  if (subscriptions.length === 0) {
    fail('SUBSCRIBE must contain at least one topic filter', 'MQTT-3.8.3-2');
  }
  const propsLength = propertiesLength(packet.properties, 8);
  let remaining = 2 + varintLength(propsLength) + propsLength;
  const lengths: number[] = [];
  for (const s of subscriptions) {
    checkTopic(s.topic, true);
    checkQos(s.qos, 'subscription QoS', 'MQTT-3.8.3.1');
    const rh = s.retainHandling ?? 0;
    if (rh !== 0 && rh !== 1 && rh !== 2) {
      fail(`Retain Handling must be 0, 1 or 2, got ${String(rh)}`, 'MQTT-3.8.3.1');
    }
    if (s.noLocal === true && s.topic.startsWith('$share/')) {
      fail('No Local must not be set on a shared subscription', 'MQTT-3.8.3-4');
    }
    const n = utf8ByteLength(s.topic, 'topic filter');
    lengths.push(n);
    remaining += 3 + n;
  }
  const [out, start] = allocate(0x82, remaining);
  let pos = write16(out, start, id);
  pos = writeProperties(out, pos, packet.properties, 8, propsLength);
  for (let i = 0; i < subscriptions.length; i++) {
    const s = subscriptions[i] as Subscription;
    const n = lengths[i] as number;
    pos = write16(out, pos, n);
    pos = writeUtf8(out, pos, s.topic, n);
    out[pos++] =
      s.qos |
      (s.noLocal === true ? 4 : 0) |
      (s.retainAsPublished === true ? 8 : 0) |
      ((s.retainHandling ?? 0) << 4);
  }
  return out;
}

/** SUBACK and UNSUBACK: a packet id, properties and a list of reason codes. */
function encodeCodeList(
  first: number,
  packet: SubackPacket | UnsubackPacket,
  codes: readonly number[],
): Uint8Array {
  const type = first >>> 4;
  const name = packet.type;
  const id = checkPacketId(packet.packetId);
  for (const code of codes) checkReasonCode(code, type, name);
  const propsLength = propertiesLength(packet.properties, type);
  const [out, start] = allocate(first, 2 + varintLength(propsLength) + propsLength + codes.length);
  let pos = write16(out, start, id);
  pos = writeProperties(out, pos, packet.properties, type, propsLength);
  out.set(codes, pos);
  return out;
}

function encodeUnsubscribe(packet: UnsubscribePacket): Uint8Array {
  const id = checkPacketId(packet.packetId);
  const topics = packet.topics;
  if (topics.length === 0) {
    fail('UNSUBSCRIBE must contain at least one topic filter', 'MQTT-3.10.3-2');
  }
  const propsLength = propertiesLength(packet.properties, 10);
  let remaining = 2 + varintLength(propsLength) + propsLength;
  const lengths: number[] = [];
  for (const t of topics) {
    checkTopic(t, true);
    const n = utf8ByteLength(t, 'topic filter');
    lengths.push(n);
    remaining += 2 + n;
  }
  const [out, start] = allocate(0xa2, remaining);
  let pos = write16(out, start, id);
  pos = writeProperties(out, pos, packet.properties, 10, propsLength);
  for (let i = 0; i < topics.length; i++) {
    const n = lengths[i] as number;
    pos = write16(out, pos, n);
    pos = writeUtf8(out, pos, topics[i] as string, n);
  }
  return out;
}

/** DISCONNECT and AUTH: a reason code and properties, both left out when 0x00 and none. */
function encodeReasonOnly(first: number, packet: DisconnectPacket | AuthPacket): Uint8Array {
  const type = first >>> 4;
  const code = checkReasonCode(packet.reasonCode ?? 0, type, packet.type);
  const propsLength = propertiesLength(packet.properties, type);
  if (propsLength === 0 && code === 0) return Uint8Array.of(first, 0);
  // §3.14.2.1 A DISCONNECT may carry its reason code alone; an AUTH with a reason code always
  // has a property length (§3.15.2.2.1).
  if (propsLength === 0 && type === 14) return Uint8Array.of(first, 1, code);
  const [out, start] = allocate(first, 1 + varintLength(propsLength) + propsLength);
  out[start] = code;
  writeProperties(out, start + 1, packet.properties, type, propsLength);
  return out;
}

/** A CONNECT at level 5: properties after the keep-alive, Will properties before its topic. */
export function encodeConnect5(packet: ConnectPacket): Uint8Array {
  if (
    !Number.isInteger(packet.keepaliveSec) ||
    packet.keepaliveSec < 0 ||
    packet.keepaliveSec > 0xffff
  ) {
    fail(`keep-alive must be 0..65535 seconds, got ${packet.keepaliveSec}`);
  }
  // 5.0 allows an empty client id with Clean Start 0 (the server assigns one, §3.1.3.1) and a
  // password without a user name (§3.1.2.9).
  const clientIdLength = utf8ByteLength(packet.clientId, 'client id');
  const propsLength = propertiesLength(packet.properties, 1);
  let remaining = 2 + 4 + 1 + 1 + 2 + varintLength(propsLength) + propsLength + 2 + clientIdLength;
  let flags = packet.clean ? 0x02 : 0;
  let willTopicLength = 0;
  let willPropsLength = 0;
  const will = packet.will;
  if (will !== undefined) {
    checkTopic(will.topic, false);
    checkQos(will.qos, 'Will QoS', 'MQTT-3.1.2-12');
    willTopicLength = utf8ByteLength(will.topic, 'Will topic');
    willPropsLength = propertiesLength(will.properties, WILL_CONTEXT);
    if (will.payload.byteLength > 0xffff) fail('Will payload is longer than 65,535 bytes');
    remaining +=
      varintLength(willPropsLength) +
      willPropsLength +
      2 +
      willTopicLength +
      2 +
      will.payload.byteLength;
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
  let pos = write16(out, start, 4);
  pos = writeUtf8(out, pos, 'MQTT', 4);
  out[pos++] = 5;
  out[pos++] = flags;
  pos = write16(out, pos, packet.keepaliveSec);
  pos = writeProperties(out, pos, packet.properties, 1, propsLength);
  pos = write16(out, pos, clientIdLength);
  pos = writeUtf8(out, pos, packet.clientId, clientIdLength);
  if (will !== undefined) {
    pos = writeProperties(out, pos, will.properties, WILL_CONTEXT, willPropsLength);
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

/**
 * Encodes any packet as MQTT 5.0, except a CONNECT, which `encode` sends to the encoder of its
 * own `protocolVersion`.
 */
export function encode5(packet: Exclude<Packet, ConnectPacket>): Uint8Array {
  switch (packet.type) {
    case 'publish':
      return encodePublish5(packet);
    case 'puback':
      return encodeAck(0x40, packet);
    case 'pubrec':
      return encodeAck(0x50, packet);
    case 'pubrel':
      // [MQTT-3.6.1-1] PUBREL's fixed header flags are 0010.
      return encodeAck(0x62, packet);
    case 'pubcomp':
      return encodeAck(0x70, packet);
    case 'connack':
      return encodeConnack(packet);
    case 'subscribe':
      return encodeSubscribe(packet);
    case 'suback':
      return encodeCodeList(0x90, packet, packet.returnCodes);
    case 'unsubscribe':
      return encodeUnsubscribe(packet);
    case 'unsuback':
      return encodeCodeList(0xb0, packet, packet.reasonCodes ?? []);
    case 'pingreq':
      return Uint8Array.of(0xc0, 0);
    case 'pingresp':
      return Uint8Array.of(0xd0, 0);
    case 'disconnect':
      return encodeReasonOnly(0xe0, packet);
    case 'auth':
      return encodeReasonOnly(0xf0, packet);
  }
}
