/**
 * fast-check generators of valid MQTT 5.0 packets, in the shape the 5.0 decoder returns them
 * (reason codes and subscription options always set, `properties` only when non-empty), so
 * that `decode(encode(p, 5), 5)` must equal `p`.
 */
import fc from 'fast-check';
import type { Packet, QoS, UserProperties } from '../../src/packet/types.js';

const qos = fc.constantFrom<QoS>(0, 1, 2);
const packetId = fc.integer({ min: 1, max: 65535 });
const utf8 = (min: number, max: number) =>
  fc
    .string({ unit: 'grapheme', minLength: min, maxLength: max })
    .filter((s) => !s.includes('\u0000'));
const level = utf8(0, 6).filter((s) => !/[+#/]/.test(s));
const topicName = fc
  .array(level, { minLength: 1, maxLength: 4 })
  .map((l) => l.join('/'))
  .filter((s) => s.length > 0);
const topicFilter = fc
  .tuple(fc.array(fc.oneof(level, fc.constant('+')), { minLength: 1, maxLength: 4 }), fc.boolean())
  .map(([levels, hash]) => (hash ? [...levels, '#'] : levels).join('/'))
  .filter((s) => s.length > 0 && !s.startsWith('$share/'));
const bytes = (max: number) => fc.uint8Array({ maxLength: max });
const u16 = fc.integer({ min: 0, max: 0xffff });
const u16nz = fc.integer({ min: 1, max: 0xffff });
const u32 = fc.integer({ min: 0, max: 0xffffffff });
const u32nz = fc.integer({ min: 1, max: 0xffffffff });
const varint = fc.integer({ min: 1, max: 268_435_455 });
const userProperties: fc.Arbitrary<UserProperties> = fc.array(fc.tuple(utf8(0, 5), utf8(0, 5)), {
  minLength: 1,
  maxLength: 3,
});

/** Optional properties: any subset of `model`; an empty one becomes no `properties` at all. */
function props<T extends object>(model: { [K in keyof T]: fc.Arbitrary<T[K]> }) {
  return fc
    .record(model, { requiredKeys: [] })
    .map((p) => (Object.keys(p).length === 0 ? undefined : (p as T)));
}

const withProps = <P extends object>(p: P, properties: object | undefined): P =>
  properties === undefined ? p : { ...p, properties };

const willProperties = props({
  willDelayIntervalSec: u32,
  payloadFormatIndicator: fc.constantFrom<0 | 1>(0, 1),
  messageExpiryIntervalSec: u32,
  contentType: utf8(0, 8),
  responseTopic: topicName,
  correlationData: bytes(8),
  userProperties,
});

const authMethodAndData = fc.oneof(
  fc.constant({}),
  fc.record({ authenticationMethod: utf8(1, 8) }),
  fc.record({ authenticationMethod: utf8(1, 8), authenticationData: bytes(8) }),
);

const connectProperties = fc
  .tuple(
    props({
      sessionExpiryIntervalSec: u32,
      receiveMaximum: u16nz,
      maximumPacketSizeBytes: u32nz,
      topicAliasMaximum: u16,
      requestResponseInformation: fc.boolean(),
      requestProblemInformation: fc.boolean(),
      userProperties,
    }),
    authMethodAndData,
  )
  .map(([p, auth]) => {
    const all = { ...(p ?? {}), ...auth };
    return Object.keys(all).length === 0 ? undefined : all;
  });

const connackProperties = fc
  .tuple(
    props({
      sessionExpiryIntervalSec: u32,
      receiveMaximum: u16nz,
      maximumQos: fc.constantFrom<0 | 1>(0, 1),
      retainAvailable: fc.boolean(),
      maximumPacketSizeBytes: u32nz,
      assignedClientIdentifier: utf8(0, 8),
      topicAliasMaximum: u16,
      reasonString: utf8(0, 8),
      userProperties,
      wildcardSubscriptionAvailable: fc.boolean(),
      subscriptionIdentifiersAvailable: fc.boolean(),
      sharedSubscriptionAvailable: fc.boolean(),
      serverKeepAliveSec: u16,
      responseInformation: utf8(0, 8),
      serverReference: utf8(0, 8),
    }),
    authMethodAndData,
  )
  .map(([p, auth]) => {
    const all = { ...(p ?? {}), ...auth };
    return Object.keys(all).length === 0 ? undefined : all;
  });

const publishProperties = props({
  payloadFormatIndicator: fc.constantFrom<0 | 1>(0, 1),
  messageExpiryIntervalSec: u32,
  topicAlias: u16nz,
  responseTopic: topicName,
  correlationData: bytes(8),
  userProperties,
  subscriptionIdentifiers: fc.array(varint, { minLength: 1, maxLength: 3 }),
  contentType: utf8(0, 8),
});

const ackProperties = props({ reasonString: utf8(0, 8), userProperties });

/** Reason codes each packet may carry (MQTT 5.0 table 2-6), written out independently. */
export const CODES = {
  connack: [
    0x00, 0x80, 0x81, 0x82, 0x83, 0x84, 0x85, 0x86, 0x87, 0x88, 0x89, 0x8a, 0x8c, 0x90, 0x95, 0x97,
    0x99, 0x9a, 0x9b, 0x9c, 0x9d, 0x9f,
  ],
  pubackPubrec: [0x00, 0x10, 0x80, 0x83, 0x87, 0x90, 0x91, 0x97, 0x99],
  pubrelPubcomp: [0x00, 0x92],
  suback: [0x00, 0x01, 0x02, 0x80, 0x83, 0x87, 0x8f, 0x91, 0x97, 0x9e, 0xa1, 0xa2],
  unsuback: [0x00, 0x11, 0x80, 0x83, 0x87, 0x8f, 0x91],
  disconnect: [
    0x00, 0x04, 0x80, 0x81, 0x82, 0x83, 0x87, 0x89, 0x8b, 0x8c, 0x8d, 0x8e, 0x8f, 0x90, 0x93, 0x94,
    0x95, 0x96, 0x97, 0x98, 0x99, 0x9a, 0x9b, 0x9c, 0x9d, 0x9e, 0x9f, 0xa0, 0xa1, 0xa2,
  ],
  auth: [0x00, 0x18, 0x19],
} as const;

const code = (list: readonly number[]) => fc.constantFrom(...list);

export const arbitraryPacket5: fc.Arbitrary<Packet> = fc.oneof(
  fc
    .record({
      clientId: utf8(0, 20),
      clean: fc.boolean(),
      keepaliveSec: u16,
      username: fc.option(utf8(0, 10), { nil: undefined }),
      password: fc.option(bytes(10), { nil: undefined }),
      will: fc.option(
        fc
          .record({ topic: topicName, payload: bytes(20), qos, retain: fc.boolean() })
          .chain((w) => willProperties.map((p) => withProps(w, p))),
        { nil: undefined },
      ),
      properties: connectProperties,
    })
    .map(
      (c): Packet =>
        withProps(
          {
            type: 'connect',
            protocolVersion: 5,
            clientId: c.clientId,
            clean: c.clean,
            keepaliveSec: c.keepaliveSec,
            ...(c.username === undefined ? {} : { username: c.username }),
            ...(c.password === undefined ? {} : { password: c.password }),
            ...(c.will === undefined ? {} : { will: c.will }),
          },
          c.properties,
        ),
    ),
  fc
    .record({
      sessionPresent: fc.boolean(),
      returnCode: code(CODES.connack),
      properties: connackProperties,
    })
    .map(
      (c): Packet =>
        withProps(
          {
            type: 'connack',
            sessionPresent: c.returnCode === 0 && c.sessionPresent,
            returnCode: c.returnCode,
          },
          c.properties,
        ),
    ),
  fc
    .record({
      topic: topicName,
      payload: bytes(300),
      qos,
      retain: fc.boolean(),
      dup: fc.boolean(),
      packetId,
      properties: publishProperties,
      aliasOnly: fc.boolean(),
    })
    .map((p): Packet => {
      // With a Topic Alias, the topic may be left empty.
      const topic = p.aliasOnly && p.properties?.topicAlias !== undefined ? '' : p.topic;
      return withProps(
        p.qos === 0
          ? { type: 'publish', topic, payload: p.payload, qos: 0, retain: p.retain, dup: false }
          : {
              type: 'publish',
              topic,
              payload: p.payload,
              qos: p.qos,
              retain: p.retain,
              dup: p.dup,
              packetId: p.packetId,
            },
        p.properties,
      );
    }),
  fc
    .tuple(
      fc.constantFrom('puback', 'pubrec', 'pubrel', 'pubcomp' as const),
      packetId,
      fc.nat(),
      ackProperties,
    )
    .map(([type, id, n, properties]): Packet => {
      const list =
        type === 'puback' || type === 'pubrec' ? CODES.pubackPubrec : CODES.pubrelPubcomp;
      return withProps(
        { type, packetId: id, reasonCode: list[n % list.length] as number },
        properties,
      );
    }),
  fc
    .record({
      packetId,
      subscriptions: fc.array(
        fc.record({
          topic: topicFilter,
          qos,
          noLocal: fc.boolean(),
          retainAsPublished: fc.boolean(),
          retainHandling: fc.constantFrom<0 | 1 | 2>(0, 1, 2),
        }),
        { minLength: 1, maxLength: 5 },
      ),
      properties: props({ subscriptionIdentifier: varint, userProperties }),
    })
    .map(
      (p): Packet =>
        withProps(
          { type: 'subscribe', packetId: p.packetId, subscriptions: p.subscriptions },
          p.properties,
        ),
    ),
  fc
    .record({
      packetId,
      returnCodes: fc.array(code(CODES.suback), { minLength: 1, maxLength: 5 }),
      properties: ackProperties,
    })
    .map(
      (p): Packet =>
        withProps(
          { type: 'suback', packetId: p.packetId, returnCodes: p.returnCodes },
          p.properties,
        ),
    ),
  fc
    .record({
      packetId,
      topics: fc.array(topicFilter, { minLength: 1, maxLength: 5 }),
      properties: props({ userProperties }),
    })
    .map(
      (p): Packet =>
        withProps({ type: 'unsubscribe', packetId: p.packetId, topics: p.topics }, p.properties),
    ),
  fc
    .record({
      packetId,
      reasonCodes: fc.array(code(CODES.unsuback), { minLength: 1, maxLength: 5 }),
      properties: ackProperties,
    })
    .map(
      (p): Packet =>
        withProps(
          { type: 'unsuback', packetId: p.packetId, reasonCodes: p.reasonCodes },
          p.properties,
        ),
    ),
  fc.constantFrom<Packet>({ type: 'pingreq' }, { type: 'pingresp' }),
  fc
    .record({
      reasonCode: code(CODES.disconnect),
      properties: props({
        sessionExpiryIntervalSec: u32,
        reasonString: utf8(0, 8),
        userProperties,
        serverReference: utf8(0, 8),
      }),
    })
    .map((p): Packet => withProps({ type: 'disconnect', reasonCode: p.reasonCode }, p.properties)),
  fc
    .record({
      reasonCode: code(CODES.auth),
      auth: authMethodAndData,
      rest: props({ reasonString: utf8(0, 8), userProperties }),
    })
    .map((p): Packet => {
      const all = { ...p.auth, ...(p.rest ?? {}) };
      return withProps(
        { type: 'auth', reasonCode: p.reasonCode },
        Object.keys(all).length === 0 ? undefined : all,
      );
    }),
);
