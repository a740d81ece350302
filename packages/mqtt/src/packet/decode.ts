/**
 * Decoding of one complete packet whose bytes are all present. The incremental framing lives
 * in `parser.ts`; this module only turns a framed packet into a {@link Packet}, validating it
 * strictly: every violation is a {@link MalformedPacketError} naming the byte offset (from the
 * start of the packet) and the normative statement broken.
 *
 * @module
 */

import { InvalidTopicError } from '../errors.js';
import { validateTopicFilter, validateTopicName } from '../topic/index.js';
import { Reader } from './reader.js';
import type { Packet, ProtocolVersion, QoS, Subscription, Will } from './types.js';

/** Validates a topic (filter or name) read at absolute index `at`, reusing the topic layer. */
function checkTopic(r: Reader, topic: string, filter: boolean, at: number): void {
  try {
    if (filter) validateTopicFilter(topic);
    else validateTopicName(topic);
  } catch (error) {
    if (error instanceof InvalidTopicError) r.fail(error.message, error.rule, at);
    throw error;
  }
}

/** Reads a topic name or filter at the cursor and validates it. */
export function decodeTopic(r: Reader, what: string, filter: boolean): string {
  const at = r.pos;
  const topic = r.string(what);
  checkTopic(r, topic, filter, at);
  return topic;
}

/** Names of the packets that carry only a packet id, by type code. */
const ACK_NAMES = {
  4: 'puback',
  5: 'pubrec',
  6: 'pubrel',
  7: 'pubcomp',
  11: 'unsuback',
} as const;

/**
 * Decodes the 3.1.1 or 3.1 packet in `buf[start..end)` whose body begins at `bodyStart` (after
 * the fixed header). The caller has framed it: `end - bodyStart` is its remaining length.
 * MQTT 5.0 packets are decoded by `decodeAt5` (`decode-v5.ts`).
 */
export function decodeAt(buf: Uint8Array, start: number, bodyStart: number, end: number): Packet {
  const first = buf[start] as number;
  const type = first >>> 4;
  const flags = first & 0x0f;
  const r = new Reader(buf, start, bodyStart, end);
  if (type === 3) return decodePublish(r, flags);

  // [MQTT-2.2.2-1] [MQTT-2.2.2-2] Reserved flag bits: 0010 for PUBREL, SUBSCRIBE and
  // UNSUBSCRIBE, 0000 for every other packet but PUBLISH.
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
  const remaining = end - bodyStart;
  switch (type) {
    case 1:
      return decodeConnect(r);
    case 2: {
      if (remaining !== 2)
        r.fail(`CONNACK remaining length must be 2, got ${remaining}`, 'MQTT-2.2.3', start + 1);
      const ackFlags = r.u8('acknowledge flags');
      // [MQTT-3.2.2.1] Bits 7-1 of the acknowledge flags are reserved and set to 0.
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
      return { type: ACK_NAMES[type], packetId: r.packetId() };
    }
    case 8:
      return decodeSubscribe(r);
    case 9: {
      const packetId = r.packetId();
      const returnCodes: number[] = [];
      while (r.pos < end) {
        const code = r.u8('return code');
        // [MQTT-3.9.3-2] Only 0x00, 0x01, 0x02 and 0x80 are allowed.
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
        checkTopic(r, topic, true, at);
        topics.push(topic);
      }
      if (topics.length === 0) r.fail('UNSUBSCRIBE has no topic filter', 'MQTT-3.10.3-2');
      return { type: 'unsubscribe', packetId, topics };
    }
    case 12:
    case 13:
    case 14:
      if (remaining !== 0)
        r.fail(`remaining length must be 0, got ${remaining}`, 'MQTT-2.2.3', start + 1);
      return { type: type === 12 ? 'pingreq' : type === 13 ? 'pingresp' : 'disconnect' };
    default:
      // Types 0 and 15 are reserved in MQTT 3.1.1.
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
  if (topic.length === 0) r.fail('topic name must not be empty', 'MQTT-4.7.3-1', topicAt);
  // An inline scan rather than the full validator: U+0000 was refused by the UTF-8 reader and
  // the length is bounded by its prefix, so only wildcards remain to check.
  for (let i = 0; i < topic.length; i++) {
    const c = topic.charCodeAt(i);
    if (c === 0x23 || c === 0x2b) {
      r.fail('wildcards are not allowed in a PUBLISH topic name', 'MQTT-3.3.2-2', topicAt);
    }
  }
  if (qos === 0) {
    // [MQTT-2.3.1-5] A QoS 0 PUBLISH has no packet id.
    return {
      type: 'publish',
      topic,
      payload: r.buf.subarray(r.pos, r.end),
      qos: 0,
      retain,
      dup: false,
    };
  }
  const packetId = r.packetId();
  return {
    type: 'publish',
    topic,
    payload: r.buf.subarray(r.pos, r.end),
    qos: qos as QoS,
    retain,
    dup,
    packetId,
  };
}

function decodeSubscribe(r: Reader): Packet {
  const packetId = r.packetId();
  const subscriptions: Subscription[] = [];
  while (r.pos < r.end) {
    const at = r.pos;
    const topic = r.string('topic filter');
    checkTopic(r, topic, true, at);
    const qosAt = r.pos;
    const options = r.u8('requested QoS');
    // [MQTT-3-8.3-4] The upper 6 bits are reserved and the QoS must be 0, 1 or 2.
    if (options > 2) {
      r.fail(`requested QoS byte must be 0, 1 or 2, got ${options}`, 'MQTT-3-8.3-4', qosAt);
    }
    subscriptions.push({ topic, qos: options as QoS });
  }
  if (subscriptions.length === 0) r.fail('SUBSCRIBE has no topic filter', 'MQTT-3.8.3-3');
  return { type: 'subscribe', packetId, subscriptions };
}

/** A 3.1.1 or 3.1 CONNECT, from its protocol name on. */
export function decodeConnect(r: Reader): Packet {
  const nameAt = r.pos;
  const name = r.string('protocol name');
  const levelAt = r.pos;
  const level = r.u8('protocol level');
  // [MQTT-3.1.2-1] The protocol name is 'MQTT' (3.1.1) or 'MQIsdp' (3.1).
  if (name !== 'MQTT' && name !== 'MQIsdp') {
    r.fail(`unknown protocol name ${JSON.stringify(name)}`, 'MQTT-3.1.2-1', nameAt);
  }
  // [MQTT-3.1.2-2] A level this connection does not speak (5 on a 3.1.1 connection included) is
  // reported with its own rule, so that a server can answer CONNACK 0x01 (unacceptable
  // protocol version).
  if (!((name === 'MQTT' && level === 4) || (name === 'MQIsdp' && level === 3))) {
    r.fail(
      `unsupported protocol level ${level} for ${JSON.stringify(name)}`,
      'MQTT-3.1.2-2',
      levelAt,
    );
  }
  const flagsAt = r.pos;
  const flags = r.u8('connect flags');
  if ((flags & 1) !== 0) r.fail('CONNECT reserved flag must be 0', 'MQTT-3.1.2-3', flagsAt);
  const willFlag = (flags & 0x04) !== 0;
  const willQos = (flags >>> 3) & 3;
  const willRetain = (flags & 0x20) !== 0;
  if (!willFlag && willQos !== 0)
    r.fail('Will QoS set without the Will flag', 'MQTT-3.1.2-13', flagsAt);
  if (!willFlag && willRetain)
    r.fail('Will Retain set without the Will flag', 'MQTT-3.1.2-15', flagsAt);
  if (willQos === 3) r.fail('Will QoS 3 is not allowed', 'MQTT-3.1.2-14', flagsAt);
  const hasUser = (flags & 0x80) !== 0;
  const hasPassword = (flags & 0x40) !== 0;
  if (hasPassword && !hasUser) {
    r.fail('password flag set without the user name flag', 'MQTT-3.1.2-22', flagsAt);
  }
  const keepaliveSec = r.u16('keep-alive');
  const clientId = r.string('client id');
  let will: Will | undefined;
  if (willFlag) {
    const at = r.pos;
    const topic = r.string('Will topic');
    // [MQTT-3.1.2-9] [MQTT-3.1.3-10] The Will topic is a valid topic name.
    checkTopic(r, topic, false, at);
    const payload = r.bytes('Will message');
    will = { topic, payload, qos: willQos as QoS, retain: willRetain };
  }
  // [MQTT-3.1.2-19] [MQTT-3.1.2-21] The user name and password are present iff flagged.
  const username = hasUser ? r.string('user name') : undefined;
  const password = hasPassword ? r.bytes('password') : undefined;
  r.done('CONNECT');
  return {
    type: 'connect',
    protocolVersion: level as ProtocolVersion,
    clientId,
    clean: (flags & 0x02) !== 0,
    keepaliveSec,
    ...(username === undefined ? {} : { username }),
    ...(password === undefined ? {} : { password }),
    ...(will === undefined ? {} : { will }),
  };
}
