/**
 * Golden byte vectors for MQTT 5.0, written by hand from the OASIS MQTT 5.0 specification (not
 * produced by our encoder): every packet type, every property (table 2-4) at least once, the
 * short forms of the acknowledgements, and variable byte integers of more than one byte.
 *
 * The encoder writes properties in identifier order; the vectors list them so. Lengths are
 * counted by hand in the comments.
 */
import type { Packet } from '../../src/packet/types.js';

const b = (s: string): Uint8Array => new TextEncoder().encode(s);
const ascii = (s: string): number[] => [...s].map((c) => c.charCodeAt(0));

/** A named MQTT 5.0 vector: the packet and its exact bytes. */
export interface Vector5 {
  readonly name: string;
  readonly packet: Packet;
  readonly bytes: Uint8Array;
}

const longValue = 'v'.repeat(130);

// biome-ignore format: bytes are laid out by field, as in the specification's tables
export const vectors5: readonly Vector5[] = [
  {
    name: 'CONNECT minimal (clean, keep-alive 60, id "a", no properties)',
    packet: { type: 'connect', protocolVersion: 5, clientId: 'a', clean: true, keepaliveSec: 60 },
    // 10 | 14 | 00 04 'MQTT' | 05 | flags 02 | 00 3C | props 00 | 00 01 'a'
    bytes: Uint8Array.of(0x10, 14, 0, 4, ...ascii('MQTT'), 5, 0x02, 0, 60, 0, 0, 1, 0x61),
  },
  {
    name: 'CONNECT with every CONNECT property, every Will property, user name and password',
    packet: {
      type: 'connect',
      protocolVersion: 5,
      clientId: 'dev',
      clean: false,
      keepaliveSec: 10,
      username: 'u',
      password: b('pw'),
      properties: {
        sessionExpiryIntervalSec: 3600,
        authenticationMethod: 'M',
        authenticationData: Uint8Array.of(1, 2),
        requestProblemInformation: false,
        requestResponseInformation: true,
        receiveMaximum: 20,
        topicAliasMaximum: 10,
        userProperties: [['k', 'v']],
        maximumPacketSizeBytes: 1048576,
      },
      will: {
        topic: 'w',
        payload: b('bye'),
        qos: 1,
        retain: true,
        properties: {
          payloadFormatIndicator: 1,
          messageExpiryIntervalSec: 120,
          contentType: 'c',
          responseTopic: 'r',
          correlationData: Uint8Array.of(7),
          willDelayIntervalSec: 30,
          userProperties: [
            ['a', 'b'],
            ['a', 'c'],
          ],
        },
      },
    },
    // Variable header 47 = name 6 + level 1 + flags 1 + keep-alive 2 + props (1 + 36).
    // Payload 59 = id 5 + Will props (1 + 38) + Will topic 3 + Will payload 5 + user 3 + pw 4.
    // flags: user 80 | password 40 | Will retain 20 | Will QoS 1 08 | Will 04 = EC
    bytes: Uint8Array.of(
      0x10,
      106,
      0,
      4,
      ...ascii('MQTT'),
      5,
      0xec,
      0,
      10,
      36, // CONNECT property length
      0x11, 0x00, 0x00, 0x0e, 0x10, // Session Expiry Interval 3600
      0x15, 0, 1, ...ascii('M'), // Authentication Method
      0x16, 0, 2, 1, 2, // Authentication Data
      0x17, 0, // Request Problem Information 0
      0x19, 1, // Request Response Information 1
      0x21, 0, 20, // Receive Maximum 20
      0x22, 0, 10, // Topic Alias Maximum 10
      0x26, 0, 1, ...ascii('k'), 0, 1, ...ascii('v'), // User Property
      0x27, 0x00, 0x10, 0x00, 0x00, // Maximum Packet Size 1 MiB
      0, 3, ...ascii('dev'),
      38, // Will property length
      0x01, 1, // Payload Format Indicator 1
      0x02, 0, 0, 0, 120, // Message Expiry Interval 120
      0x03, 0, 1, ...ascii('c'), // Content Type
      0x08, 0, 1, ...ascii('r'), // Response Topic
      0x09, 0, 1, 7, // Correlation Data
      0x18, 0, 0, 0, 30, // Will Delay Interval 30
      0x26, 0, 1, ...ascii('a'), 0, 1, ...ascii('b'),
      0x26, 0, 1, ...ascii('a'), 0, 1, ...ascii('c'),
      0, 1, ...ascii('w'),
      0, 3, ...ascii('bye'),
      0, 1, ...ascii('u'),
      0, 2, ...ascii('pw'),
    ),
  },
  {
    name: 'CONNECT with an empty client id, Clean Start 0 and a password without a user name',
    packet: {
      type: 'connect',
      protocolVersion: 5,
      clientId: '',
      clean: false,
      keepaliveSec: 0,
      password: Uint8Array.of(1),
    },
    bytes: Uint8Array.of(0x10, 16, 0, 4, ...ascii('MQTT'), 5, 0x40, 0, 0, 0, 0, 0, 0, 1, 1),
  },
  {
    name: 'CONNACK success, no properties',
    packet: { type: 'connack', sessionPresent: false, returnCode: 0 },
    bytes: Uint8Array.of(0x20, 3, 0, 0, 0),
  },
  {
    name: 'CONNACK with every CONNACK property, session present',
    packet: {
      type: 'connack',
      sessionPresent: true,
      returnCode: 0,
      properties: {
        sessionExpiryIntervalSec: 0xffffffff,
        assignedClientIdentifier: 'id',
        serverKeepAliveSec: 30,
        authenticationMethod: 'M',
        authenticationData: Uint8Array.of(9),
        responseInformation: 'ri',
        serverReference: 's',
        reasonString: 'ok',
        receiveMaximum: 100,
        topicAliasMaximum: 5,
        maximumQos: 1,
        retainAvailable: false,
        userProperties: [['x', 'y']],
        maximumPacketSizeBytes: 65536,
        wildcardSubscriptionAvailable: false,
        subscriptionIdentifiersAvailable: true,
        sharedSubscriptionAvailable: false,
      },
    },
    // remaining 66 = flags 1 + code 1 + property length 1 + properties 63
    bytes: Uint8Array.of(
      0x20,
      66,
      1,
      0,
      63,
      0x11, 0xff, 0xff, 0xff, 0xff, // Session Expiry Interval: never
      0x12, 0, 2, ...ascii('id'), // Assigned Client Identifier
      0x13, 0, 30, // Server Keep Alive 30
      0x15, 0, 1, ...ascii('M'), // Authentication Method
      0x16, 0, 1, 9, // Authentication Data
      0x1a, 0, 2, ...ascii('ri'), // Response Information
      0x1c, 0, 1, ...ascii('s'), // Server Reference
      0x1f, 0, 2, ...ascii('ok'), // Reason String
      0x21, 0, 100, // Receive Maximum 100
      0x22, 0, 5, // Topic Alias Maximum 5
      0x24, 1, // Maximum QoS 1
      0x25, 0, // Retain Available 0
      0x26, 0, 1, ...ascii('x'), 0, 1, ...ascii('y'), // User Property
      0x27, 0x00, 0x01, 0x00, 0x00, // Maximum Packet Size 65536
      0x28, 0, // Wildcard Subscription Available 0
      0x29, 1, // Subscription Identifiers Available 1
      0x2a, 0, // Shared Subscription Available 0
    ),
  },
  {
    name: 'CONNACK refused: 0x87 Not authorized, with a Reason String',
    packet: {
      type: 'connack',
      sessionPresent: false,
      returnCode: 0x87,
      properties: { reasonString: 'no' },
    },
    bytes: Uint8Array.of(0x20, 8, 0, 0x87, 5, 0x1f, 0, 2, ...ascii('no')),
  },
  {
    name: 'PUBLISH QoS 0 without properties',
    packet: {
      type: 'publish',
      topic: 'a/b',
      payload: b('hi'),
      qos: 0,
      retain: false,
      dup: false,
    },
    bytes: Uint8Array.of(0x30, 8, 0, 3, ...ascii('a/b'), 0, ...ascii('hi')),
  },
  {
    name: 'PUBLISH QoS 1 DUP RETAIN with every PUBLISH property',
    packet: {
      type: 'publish',
      topic: 'a/b',
      payload: Uint8Array.of(1, 2, 3),
      qos: 1,
      retain: true,
      dup: true,
      packetId: 10,
      properties: {
        payloadFormatIndicator: 1,
        messageExpiryIntervalSec: 60,
        contentType: 'text',
        responseTopic: 'res/1',
        correlationData: Uint8Array.of(0xca, 0xfe),
        subscriptionIdentifiers: [1, 268435455],
        topicAlias: 3,
        userProperties: [
          ['a', '1'],
          ['b', '2'],
          ['a', '3'],
        ],
      },
    },
    // remaining 69 = topic 5 + id 2 + property length 1 + properties 58 + payload 3
    bytes: Uint8Array.of(
      0x3b,
      69,
      0, 3, ...ascii('a/b'),
      0, 10,
      58,
      0x01, 1, // Payload Format Indicator
      0x02, 0, 0, 0, 60, // Message Expiry Interval 60
      0x03, 0, 4, ...ascii('text'), // Content Type
      0x08, 0, 5, ...ascii('res/1'), // Response Topic
      0x09, 0, 2, 0xca, 0xfe, // Correlation Data
      0x0b, 0x01, // Subscription Identifier 1
      0x0b, 0xff, 0xff, 0xff, 0x7f, // Subscription Identifier 268,435,455 (4-byte VBI)
      0x23, 0, 3, // Topic Alias 3
      0x26, 0, 1, ...ascii('a'), 0, 1, ...ascii('1'),
      0x26, 0, 1, ...ascii('b'), 0, 1, ...ascii('2'),
      0x26, 0, 1, ...ascii('a'), 0, 1, ...ascii('3'),
      1, 2, 3,
    ),
  },
  {
    name: 'PUBLISH QoS 2 with an empty topic name and a Topic Alias',
    packet: {
      type: 'publish',
      topic: '',
      payload: b('x'),
      qos: 2,
      retain: false,
      dup: false,
      packetId: 7,
      properties: { topicAlias: 5 },
    },
    bytes: Uint8Array.of(0x34, 9, 0, 0, 0, 7, 3, 0x23, 0, 5, ...ascii('x')),
  },
  {
    name: 'PUBLISH with a 136-byte property section (two-byte lengths)',
    packet: {
      type: 'publish',
      topic: 't',
      payload: new Uint8Array(0),
      qos: 0,
      retain: false,
      dup: false,
      properties: { userProperties: [['k', longValue]] },
    },
    // property length 136 = 0x88 0x01; remaining 141 = 3 + 2 + 136 = 0x8D 0x01
    bytes: Uint8Array.of(
      0x30,
      0x8d,
      0x01,
      0, 1, ...ascii('t'),
      0x88,
      0x01,
      0x26, 0, 1, ...ascii('k'), 0, 130, ...ascii(longValue),
    ),
  },
  {
    name: 'PUBACK success in the short form (no reason code, no properties)',
    packet: { type: 'puback', packetId: 1, reasonCode: 0 },
    bytes: Uint8Array.of(0x40, 2, 0, 1),
  },
  {
    name: 'PUBACK 0x10 No matching subscribers, reason code without property length',
    packet: { type: 'puback', packetId: 1, reasonCode: 0x10 },
    bytes: Uint8Array.of(0x40, 3, 0, 1, 0x10),
  },
  {
    name: 'PUBACK 0x99 Payload format invalid with a Reason String and a User Property',
    packet: {
      type: 'puback',
      packetId: 2,
      reasonCode: 0x99,
      properties: { reasonString: 'bad', userProperties: [['k', 'v']] },
    },
    bytes: Uint8Array.of(
      0x40,
      17,
      0, 2,
      0x99,
      13,
      0x1f, 0, 3, ...ascii('bad'),
      0x26, 0, 1, ...ascii('k'), 0, 1, ...ascii('v'),
    ),
  },
  {
    name: 'PUBREC 0x80 Unspecified error with a Reason String',
    packet: {
      type: 'pubrec',
      packetId: 3,
      reasonCode: 0x80,
      properties: { reasonString: 'x' },
    },
    bytes: Uint8Array.of(0x50, 8, 0, 3, 0x80, 4, 0x1f, 0, 1, ...ascii('x')),
  },
  {
    name: 'PUBREL 0x92 Packet Identifier not found',
    packet: { type: 'pubrel', packetId: 4, reasonCode: 0x92 },
    bytes: Uint8Array.of(0x62, 3, 0, 4, 0x92),
  },
  {
    name: 'PUBCOMP success with a User Property (full form)',
    packet: {
      type: 'pubcomp',
      packetId: 5,
      reasonCode: 0,
      properties: { userProperties: [['a', 'b']] },
    },
    bytes: Uint8Array.of(0x70, 11, 0, 5, 0, 7, 0x26, 0, 1, ...ascii('a'), 0, 1, ...ascii('b')),
  },
  {
    name: 'SUBSCRIBE minimal (one filter, default options)',
    packet: {
      type: 'subscribe',
      packetId: 1,
      subscriptions: [{ topic: 'a', qos: 0, noLocal: false, retainAsPublished: false, retainHandling: 0 }],
    },
    bytes: Uint8Array.of(0x82, 7, 0, 1, 0, 0, 1, ...ascii('a'), 0),
  },
  {
    name: 'SUBSCRIBE with a Subscription Identifier, a User Property and every option',
    packet: {
      type: 'subscribe',
      packetId: 10,
      properties: { subscriptionIdentifier: 150, userProperties: [['a', 'b']] },
      subscriptions: [
        { topic: 'a/+', qos: 1, noLocal: true, retainAsPublished: true, retainHandling: 2 },
        { topic: '#', qos: 2, noLocal: false, retainAsPublished: false, retainHandling: 1 },
      ],
    },
    // options: QoS 1 | No Local 04 | Retain As Published 08 | Retain Handling 2 << 4 = 2D;
    // QoS 2 | Retain Handling 1 << 4 = 12
    bytes: Uint8Array.of(
      0x82,
      23,
      0, 10,
      10,
      0x0b, 0x96, 0x01, // Subscription Identifier 150 (2-byte VBI)
      0x26, 0, 1, ...ascii('a'), 0, 1, ...ascii('b'),
      0, 3, ...ascii('a/+'), 0x2d,
      0, 1, ...ascii('#'), 0x12,
    ),
  },
  {
    name: 'SUBACK with granted and refused reason codes and a Reason String',
    packet: {
      type: 'suback',
      packetId: 10,
      returnCodes: [0x00, 0x01, 0x02, 0x80, 0x8f, 0x9e, 0xa1, 0xa2],
      properties: { reasonString: 'r' },
    },
    bytes: Uint8Array.of(
      0x90,
      15,
      0, 10,
      4, 0x1f, 0, 1, ...ascii('r'),
      0x00, 0x01, 0x02, 0x80, 0x8f, 0x9e, 0xa1, 0xa2,
    ),
  },
  {
    name: 'UNSUBSCRIBE with a User Property',
    packet: {
      type: 'unsubscribe',
      packetId: 11,
      topics: ['a/b', 'c'],
      properties: { userProperties: [['a', 'b']] },
    },
    bytes: Uint8Array.of(
      0xa2,
      18,
      0, 11,
      7, 0x26, 0, 1, ...ascii('a'), 0, 1, ...ascii('b'),
      0, 3, ...ascii('a/b'),
      0, 1, ...ascii('c'),
    ),
  },
  {
    name: 'UNSUBACK with three reason codes, no properties',
    packet: { type: 'unsuback', packetId: 11, reasonCodes: [0x00, 0x11, 0x87] },
    bytes: Uint8Array.of(0xb0, 6, 0, 11, 0, 0x00, 0x11, 0x87),
  },
  {
    name: 'UNSUBACK 0x8F Topic Filter invalid with a Reason String',
    packet: {
      type: 'unsuback',
      packetId: 12,
      reasonCodes: [0x8f],
      properties: { reasonString: 'no' },
    },
    bytes: Uint8Array.of(0xb0, 9, 0, 12, 5, 0x1f, 0, 2, ...ascii('no'), 0x8f),
  },
  { name: 'PINGREQ', packet: { type: 'pingreq' }, bytes: Uint8Array.of(0xc0, 0) },
  { name: 'PINGRESP', packet: { type: 'pingresp' }, bytes: Uint8Array.of(0xd0, 0) },
  {
    name: 'DISCONNECT normal, empty form (remaining length 0)',
    packet: { type: 'disconnect', reasonCode: 0 },
    bytes: Uint8Array.of(0xe0, 0),
  },
  {
    name: 'DISCONNECT 0x04 with Will Message, reason code alone',
    packet: { type: 'disconnect', reasonCode: 0x04 },
    bytes: Uint8Array.of(0xe0, 1, 0x04),
  },
  {
    name: 'DISCONNECT 0x9D Server moved with every DISCONNECT property',
    packet: {
      type: 'disconnect',
      reasonCode: 0x9d,
      properties: {
        sessionExpiryIntervalSec: 0,
        serverReference: 'host',
        reasonString: 'z',
        userProperties: [['a', 'b']],
      },
    },
    bytes: Uint8Array.of(
      0xe0,
      25,
      0x9d,
      23,
      0x11, 0, 0, 0, 0, // Session Expiry Interval 0
      0x1c, 0, 4, ...ascii('host'), // Server Reference
      0x1f, 0, 1, ...ascii('z'), // Reason String
      0x26, 0, 1, ...ascii('a'), 0, 1, ...ascii('b'),
    ),
  },
  {
    name: 'AUTH success, empty form (remaining length 0)',
    packet: { type: 'auth', reasonCode: 0 },
    bytes: Uint8Array.of(0xf0, 0),
  },
  {
    name: 'AUTH 0x18 Continue authentication with every AUTH property',
    packet: {
      type: 'auth',
      reasonCode: 0x18,
      properties: {
        authenticationMethod: 'SCRAM-SHA-256',
        authenticationData: Uint8Array.of(1, 2, 3),
        reasonString: 'r',
        userProperties: [['a', 'b']],
      },
    },
    bytes: Uint8Array.of(
      0xf0,
      35,
      0x18,
      33,
      0x15, 0, 13, ...ascii('SCRAM-SHA-256'),
      0x16, 0, 3, 1, 2, 3,
      0x1f, 0, 1, ...ascii('r'),
      0x26, 0, 1, ...ascii('a'), 0, 1, ...ascii('b'),
    ),
  },
  {
    name: 'AUTH 0x19 Re-authenticate with the method only',
    packet: { type: 'auth', reasonCode: 0x19, properties: { authenticationMethod: 'M' } },
    bytes: Uint8Array.of(0xf0, 6, 0x19, 4, 0x15, 0, 1, ...ascii('M')),
  },
];
