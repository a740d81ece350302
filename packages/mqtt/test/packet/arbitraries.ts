/** fast-check generators of valid MQTT 3.1.1 packets. */
import fc from 'fast-check';
import type { Packet, QoS } from '../../src/packet/types.js';

const qos = fc.constantFrom<QoS>(0, 1, 2);
const packetId = fc.integer({ min: 1, max: 65535 });
/** UTF-8 strings without U+0000 (and no lone surrogates: fast-check strings are well formed). */
const utf8 = (min: number, max: number) =>
  fc
    .string({ unit: 'grapheme', minLength: min, maxLength: max })
    .filter((s) => !s.includes('\u0000'));
const level = utf8(0, 6).filter((s) => !/[+#/]/.test(s));
const topicName = fc
  .array(level, { minLength: 1, maxLength: 5 })
  .map((l) => l.join('/'))
  .filter((s) => s.length > 0);
const topicFilter = fc
  .tuple(fc.array(fc.oneof(level, fc.constant('+')), { minLength: 1, maxLength: 5 }), fc.boolean())
  .map(([levels, hash]) => (hash ? [...levels, '#'] : levels).join('/'))
  .filter((s) => s.length > 0);
const bytes = (max: number) => fc.uint8Array({ maxLength: max });

export const arbitraryPacket: fc.Arbitrary<Packet> = fc.oneof(
  fc
    .record({
      protocolVersion: fc.constantFrom<3 | 4>(3, 4),
      clientId: utf8(1, 20),
      clean: fc.boolean(),
      keepaliveSec: fc.integer({ min: 0, max: 65535 }),
      username: fc.option(utf8(0, 10), { nil: undefined }),
      password: fc.option(bytes(10), { nil: undefined }),
      will: fc.option(
        fc.record({ topic: topicName, payload: bytes(20), qos, retain: fc.boolean() }),
        { nil: undefined },
      ),
    })
    .filter((c) => c.protocolVersion === 4 || new TextEncoder().encode(c.clientId).length <= 23)
    .map(
      (c): Packet => ({
        type: 'connect',
        protocolVersion: c.protocolVersion,
        clientId: c.clientId,
        clean: c.clean,
        keepaliveSec: c.keepaliveSec,
        ...(c.username === undefined ? {} : { username: c.username }),
        ...(c.username === undefined || c.password === undefined ? {} : { password: c.password }),
        ...(c.will === undefined ? {} : { will: c.will }),
      }),
    ),
  fc.record({ sessionPresent: fc.boolean(), returnCode: fc.integer({ min: 0, max: 5 }) }).map(
    (c): Packet => ({
      type: 'connack',
      sessionPresent: c.returnCode === 0 && c.sessionPresent,
      returnCode: c.returnCode,
    }),
  ),
  fc
    .record({
      topic: topicName,
      payload: bytes(300),
      qos,
      retain: fc.boolean(),
      dup: fc.boolean(),
      packetId,
    })
    .map(
      (p): Packet =>
        p.qos === 0
          ? {
              type: 'publish',
              topic: p.topic,
              payload: p.payload,
              qos: 0,
              retain: p.retain,
              dup: false,
            }
          : {
              type: 'publish',
              topic: p.topic,
              payload: p.payload,
              qos: p.qos,
              retain: p.retain,
              dup: p.dup,
              packetId: p.packetId,
            },
    ),
  fc
    .record({
      type: fc.constantFrom('puback', 'pubrec', 'pubrel', 'pubcomp', 'unsuback' as const),
      packetId,
    })
    .map((p) => p as Packet),
  fc
    .record({
      packetId,
      subscriptions: fc.array(fc.record({ topic: topicFilter, qos }), {
        minLength: 1,
        maxLength: 5,
      }),
    })
    .map((p): Packet => ({ type: 'subscribe', ...p })),
  fc
    .record({
      packetId,
      returnCodes: fc.array(fc.constantFrom(0, 1, 2, 0x80), { minLength: 1, maxLength: 5 }),
    })
    .map((p): Packet => ({ type: 'suback', ...p })),
  fc
    .record({ packetId, topics: fc.array(topicFilter, { minLength: 1, maxLength: 5 }) })
    .map((p): Packet => ({ type: 'unsubscribe', ...p })),
  fc.constantFrom<Packet>({ type: 'pingreq' }, { type: 'pingresp' }, { type: 'disconnect' }),
);
