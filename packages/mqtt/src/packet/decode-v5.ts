/**
 * Decoding of one complete MQTT 5.0 packet whose bytes are all present, validated as strictly
 * as the 3.1.1 decoder in `decode.ts`: every violation is a {@link MalformedPacketError} naming
 * the byte offset (from the start of the packet) and the normative statement broken, or the
 * section of the specification where the statement has no id ("It is a Protocol Error to...").
 *
 * Checks shared with 3.1.1 (framing, UTF-8 strings, topic syntax) report the same ids as for
 * 3.1.1; the statements read the same in 5.0.
 *
 * @module
 */

import { decodeConnect, decodeTopic } from './decode.js';
import { readProperties, WILL_CONTEXT } from './properties.js';
import { CONTEXT_NAMES } from './property-table.js';
import { Reader } from './reader.js';
import { REASON_CODE_RULES, type ReasonCodePacket, reasonCodeAllowed } from './reason-codes.js';
import type {
  AckProperties,
  AuthProperties,
  ConnackProperties,
  ConnectProperties,
  DisconnectProperties,
  Packet,
  PublishProperties,
  QoS,
  RetainHandling,
  SubscribeProperties,
  Subscription,
  UnsubscribeProperties,
  Will,
  WillProperties,
} from './types.js';

/** [MQTT-2.2.1-3] (5.0) A packet that needs an id has a non-zero one. */
const PACKET_ID_RULE = 'MQTT-2.2.1-3';

/** Reserved flag rule per packet type; 2.1.3-1 for those without one of their own. */
function flagsRule(type: number): string {
  switch (type) {
    case 6:
      return 'MQTT-3.6.1-1';
    case 8:
      return 'MQTT-3.8.1-1';
    case 10:
      return 'MQTT-3.10.1-1';
    case 14:
      return 'MQTT-3.14.1-1';
    case 15:
      return 'MQTT-3.15.1-1';
    default:
      return 'MQTT-2.1.3-1';
  }
}

const ACK_NAMES = {
  4: 'puback',
  5: 'pubrec',
  6: 'pubrel',
  7: 'pubcomp',
} as const;

/** Reads a reason code and checks that the packet may carry it. */
function reasonCode(r: Reader, type: number, name: ReasonCodePacket): number {
  const at = r.pos;
  const code = r.u8('reason code');
  if (!reasonCodeAllowed(code, type)) {
    r.fail(
      `reason code 0x${code.toString(16).padStart(2, '0')} is not allowed in ${name.toUpperCase()}`,
      REASON_CODE_RULES[name],
      at,
    );
  }
  return code;
}

/**
 * Decodes the MQTT 5.0 packet in `buf[start..end)` whose body begins at `bodyStart` (after the
 * fixed header). The caller has framed it: `end - bodyStart` is its remaining length.
 */
export function decodeAt5(buf: Uint8Array, start: number, bodyStart: number, end: number): Packet {
  const first = buf[start] as number;
  const type = first >>> 4;
  const flags = first & 0x0f;
  const r = new Reader(buf, start, bodyStart, end);
  if (type === 3) return decodePublish(r, flags);
  // [MQTT-2.1.3-1] Reserved flag bits: 0010 for PUBREL, SUBSCRIBE and UNSUBSCRIBE, 0000 for
  // every other packet but PUBLISH.
  const expectedFlags = type === 6 || type === 8 || type === 10 ? 2 : 0;
  if (flags !== expectedFlags) {
    r.fail(
      `reserved flags of packet type ${type} must be ${expectedFlags}, got ${flags}`,
      flagsRule(type),
      start,
    );
  }
  const remaining = end - bodyStart;
  switch (type) {
    case 1:
      return decodeConnect5(r);
    case 2:
      return decodeConnack(r, remaining);
    case 4:
    case 5:
    case 6:
    case 7: {
      const name = ACK_NAMES[type];
      const packetId = r.packetId(PACKET_ID_RULE);
      // [MQTT-3.4.2.1] The reason code and property length can be left out: a remaining length
      // of 2 means success and no properties, 3 a reason code and no properties.
      if (remaining === 2) return { type: name, packetId, reasonCode: 0 } as Packet;
      const code = reasonCode(r, type, name);
      if (remaining === 3) return { type: name, packetId, reasonCode: code } as Packet;
      const properties = readProperties<AckProperties>(r, type);
      r.done(CONTEXT_NAMES[type] as string);
      return (
        properties === undefined
          ? { type: name, packetId, reasonCode: code }
          : { type: name, packetId, reasonCode: code, properties }
      ) as Packet;
    }
    case 8:
      return decodeSubscribe(r);
    case 9: {
      const packetId = r.packetId(PACKET_ID_RULE);
      const properties = readProperties<AckProperties>(r, 9);
      const returnCodes: number[] = [];
      while (r.pos < end) returnCodes.push(reasonCode(r, 9, 'suback'));
      return properties === undefined
        ? { type: 'suback', packetId, returnCodes }
        : { type: 'suback', packetId, returnCodes, properties };
    }
    case 10: {
      const packetId = r.packetId(PACKET_ID_RULE);
      const properties = readProperties<UnsubscribeProperties>(r, 10);
      const topics: string[] = [];
      while (r.pos < end) topics.push(decodeTopic(r, 'topic filter', true));
      if (topics.length === 0) r.fail('UNSUBSCRIBE has no topic filter', 'MQTT-3.10.3-2');
      return properties === undefined
        ? { type: 'unsubscribe', packetId, topics }
        : { type: 'unsubscribe', packetId, topics, properties };
    }
    case 11: {
      const packetId = r.packetId(PACKET_ID_RULE);
      const properties = readProperties<AckProperties>(r, 11);
      const reasonCodes: number[] = [];
      while (r.pos < end) reasonCodes.push(reasonCode(r, 11, 'unsuback'));
      return properties === undefined
        ? { type: 'unsuback', packetId, reasonCodes }
        : { type: 'unsuback', packetId, reasonCodes, properties };
    }
    case 12:
    case 13:
      if (remaining !== 0)
        r.fail(`remaining length must be 0, got ${remaining}`, 'MQTT-2.2.3', start + 1);
      return { type: type === 12 ? 'pingreq' : 'pingresp' };
    case 14:
    case 15: {
      const name = type === 14 ? 'disconnect' : 'auth';
      // §3.14.2.1 / §3.15.2.1 An empty body means reason code 0x00 and no properties; a
      // DISCONNECT may also carry a reason code alone.
      if (remaining === 0) return { type: name, reasonCode: 0 };
      const code = reasonCode(r, type, name);
      if (remaining === 1 && type === 14) return { type: name, reasonCode: code };
      const properties = readProperties<DisconnectProperties & AuthProperties>(r, type);
      r.done(CONTEXT_NAMES[type] as string);
      return (
        properties === undefined
          ? { type: name, reasonCode: code }
          : { type: name, reasonCode: code, properties }
      ) as Packet;
    }
    default:
      // Type 0 is reserved.
      return r.fail(`reserved packet type ${type}`, 'MQTT-2.2.1', start);
  }
}

/** PUBLISH: the hot path. The payload is a view into `buf`, never a copy. */
function decodePublish(r: Reader, flags: number): Packet {
  const qos = (flags >>> 1) & 3;
  if (qos === 3) r.fail('QoS 3 is not allowed', 'MQTT-3.3.1-4', r.start);
  const dup = (flags & 8) !== 0;
  if (dup && qos === 0) r.fail('DUP must be 0 for QoS 0', 'MQTT-3.3.1-2', r.start);
  const retain = (flags & 1) !== 0;
  const topicAt = r.pos;
  const topic = r.topicName();
  for (let i = 0; i < topic.length; i++) {
    const c = topic.charCodeAt(i);
    if (c === 0x23 || c === 0x2b) {
      r.fail('wildcards are not allowed in a PUBLISH topic name', 'MQTT-3.3.2-2', topicAt);
    }
  }
  const packetId = qos === 0 ? undefined : r.packetId(PACKET_ID_RULE);
  const properties = readProperties<PublishProperties>(r, 3);
  // §3.3.2.3.4 An empty topic name is how a sender uses an established Topic Alias; without
  // one it is a Protocol Error. Resolving the alias is the session's job.
  if (topic.length === 0 && properties?.topicAlias === undefined) {
    r.fail('topic name must not be empty without a Topic Alias', 'MQTT-4.7.3-1', topicAt);
  }
  const payload = r.buf.subarray(r.pos, r.end);
  if (packetId === undefined) {
    return properties === undefined
      ? { type: 'publish', topic, payload, qos: 0, retain, dup: false }
      : { type: 'publish', topic, payload, qos: 0, retain, dup: false, properties };
  }
  return properties === undefined
    ? { type: 'publish', topic, payload, qos: qos as QoS, retain, dup, packetId }
    : { type: 'publish', topic, payload, qos: qos as QoS, retain, dup, packetId, properties };
}

function decodeConnack(r: Reader, remaining: number): Packet {
  const ackFlags = r.u8('acknowledge flags');
  // [MQTT-3.2.2-1] Bits 7-1 of the acknowledge flags are reserved and set to 0.
  if ((ackFlags & 0xfe) !== 0) {
    r.fail('CONNACK reserved flag bits must be 0', 'MQTT-3.2.2-1', r.pos - 1);
  }
  const sessionPresent = (ackFlags & 1) === 1;
  const codeAt = r.pos;
  if (remaining === 2) {
    // A 3.1.1 server refuses a level it does not speak with a 3.1.1 CONNACK: 0x01
    // (unacceptable protocol version), or another 3.1.1 refusal. Kept as is so the client can
    // tell it from a 5.0 answer and fall back.
    const code = r.u8('return code');
    if (code >= 1 && code <= 5 && !sessionPresent) {
      return { type: 'connack', sessionPresent, returnCode: code };
    }
    r.pos = codeAt;
  }
  const returnCode = reasonCode(r, 2, 'connack');
  // [MQTT-3.2.2-6] A refusal never has a session present.
  if (sessionPresent && returnCode !== 0) {
    r.fail('session present must be 0 with a non-zero reason code', 'MQTT-3.2.2-6', r.start + 2);
  }
  const properties = readProperties<ConnackProperties>(r, 2);
  r.done('CONNACK');
  return properties === undefined
    ? { type: 'connack', sessionPresent, returnCode }
    : { type: 'connack', sessionPresent, returnCode, properties };
}

function decodeSubscribe(r: Reader): Packet {
  const packetId = r.packetId(PACKET_ID_RULE);
  const properties = readProperties<SubscribeProperties>(r, 8);
  const subscriptions: Subscription[] = [];
  while (r.pos < r.end) {
    const topic = decodeTopic(r, 'topic filter', true);
    const at = r.pos;
    const options = r.u8('subscription options');
    // [MQTT-3.8.3-5] Bits 7-6 are reserved.
    if ((options & 0xc0) !== 0) {
      r.fail('reserved bits of the subscription options must be 0', 'MQTT-3.8.3-5', at);
    }
    const qos = options & 3;
    // §3.8.3.1 "It is a Protocol Error if the Maximum QoS field has the value 3."
    if (qos === 3) r.fail('subscription QoS 3 is not allowed', 'MQTT-3.8.3.1', at);
    const retainHandling = (options >>> 4) & 3;
    // §3.8.3.1 "It is a Protocol Error to send a Retain Handling value of 3."
    if (retainHandling === 3) r.fail('Retain Handling 3 is not allowed', 'MQTT-3.8.3.1', at);
    const noLocal = (options & 4) !== 0;
    if (noLocal && topic.startsWith('$share/')) {
      r.fail('No Local must not be set on a shared subscription', 'MQTT-3.8.3-4', at);
    }
    subscriptions.push({
      topic,
      qos: qos as QoS,
      noLocal,
      retainAsPublished: (options & 8) !== 0,
      retainHandling: retainHandling as RetainHandling,
    });
  }
  if (subscriptions.length === 0) r.fail('SUBSCRIBE has no topic filter', 'MQTT-3.8.3-2');
  return properties === undefined
    ? { type: 'subscribe', packetId, subscriptions }
    : { type: 'subscribe', packetId, subscriptions, properties };
}

function decodeConnect5(r: Reader): Packet {
  const nameAt = r.pos;
  const name = r.string('protocol name');
  const level = r.u8('protocol level');
  // A 3.1.1 or 3.1 CONNECT describes itself: a server speaking 5.0 reads it as such.
  if (!(name === 'MQTT' && level === 5)) {
    r.pos = nameAt;
    return decodeConnect(r);
  }
  const flagsAt = r.pos;
  const flags = r.u8('connect flags');
  if ((flags & 1) !== 0) r.fail('CONNECT reserved flag must be 0', 'MQTT-3.1.2-3', flagsAt);
  const willFlag = (flags & 0x04) !== 0;
  const willQos = (flags >>> 3) & 3;
  const willRetain = (flags & 0x20) !== 0;
  if (!willFlag && willQos !== 0)
    r.fail('Will QoS set without the Will flag', 'MQTT-3.1.2-11', flagsAt);
  if (willQos === 3) r.fail('Will QoS 3 is not allowed', 'MQTT-3.1.2-12', flagsAt);
  if (!willFlag && willRetain)
    r.fail('Will Retain set without the Will flag', 'MQTT-3.1.2-13', flagsAt);
  // 5.0 allows a password without a user name (§3.1.2.9).
  const hasUser = (flags & 0x80) !== 0;
  const hasPassword = (flags & 0x40) !== 0;
  const keepaliveSec = r.u16('keep-alive');
  const properties = readProperties<ConnectProperties>(r, 1);
  const clientId = r.string('client id');
  let will: Will | undefined;
  if (willFlag) {
    // [MQTT-3.1.2-9] Will Properties, Will Topic and Will Payload follow the client id.
    const willProperties = readProperties<WillProperties>(r, WILL_CONTEXT);
    const topic = decodeTopic(r, 'Will topic', false);
    const payload = r.bytes('Will payload');
    will =
      willProperties === undefined
        ? { topic, payload, qos: willQos as QoS, retain: willRetain }
        : { topic, payload, qos: willQos as QoS, retain: willRetain, properties: willProperties };
  }
  // [MQTT-3.1.2-17] [MQTT-3.1.2-19] The user name and password are present iff flagged.
  const username = hasUser ? r.string('user name') : undefined;
  const password = hasPassword ? r.bytes('password') : undefined;
  r.done('CONNECT');
  return {
    type: 'connect',
    protocolVersion: 5,
    clientId,
    clean: (flags & 0x02) !== 0,
    keepaliveSec,
    ...(username === undefined ? {} : { username }),
    ...(password === undefined ? {} : { password }),
    ...(will === undefined ? {} : { will }),
    ...(properties === undefined ? {} : { properties }),
  };
}
