/**
 * Every MQTT 5.0 validation rule: the error class, the normative statement id (or the section
 * for "It is a Protocol Error to ..." sentences without one) and the byte offset.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { MalformedPacketError } from '../../src/errors.js';
import {
  decode,
  encode,
  isReasonCodeAllowed,
  isWellFormedUtf8,
  REASON_CODES,
  ReasonCode,
  type ReasonCodePacket,
  reasonCodeName,
} from '../../src/packet/index.js';
import type { Packet } from '../../src/packet/types.js';
import { CODES } from './arbitraries-v5.js';

const ascii = (s: string): number[] => [...s].map((c) => c.charCodeAt(0));
const b = (s: string): Uint8Array => new TextEncoder().encode(s);

function rejects(bytes: number[], rule: string, offset: number): void {
  assert.throws(
    () => decode(Uint8Array.from(bytes), 5),
    (e: unknown) => {
      assert.ok(e instanceof MalformedPacketError, `not a MalformedPacketError: ${String(e)}`);
      assert.equal(e.rule, rule, e.message);
      assert.equal(e.offset, offset, e.message);
      return true;
    },
  );
}

/** A 5.0 CONNECT with the given flags, no properties and an empty client id. */
const connectWithFlags = (flags: number): number[] => [
  0x10,
  13,
  0,
  4,
  ...ascii('MQTT'),
  5,
  flags,
  0,
  0,
  0,
  0,
  0,
];

const decodeCases: [string, number[], string, number][] = [
  // Fixed header.
  ['reserved flags on PUBACK', [0x41, 2, 0, 1], 'MQTT-2.1.3-1', 0],
  ['reserved flags on AUTH', [0xf1, 0], 'MQTT-3.15.1-1', 0],
  ['reserved flags on DISCONNECT', [0xe2, 0], 'MQTT-3.14.1-1', 0],
  ['PUBREL without flags 0010', [0x60, 2, 0, 1], 'MQTT-3.6.1-1', 0],
  ['reserved packet type 0', [0x00, 0], 'MQTT-2.2.1', 0],
  ['packet id 0 on PUBACK', [0x40, 2, 0, 0], 'MQTT-2.2.1-3', 2],
  ['packet id 0 on a QoS 1 PUBLISH', [0x32, 6, 0, 1, 0x74, 0, 0, 0], 'MQTT-2.2.1-3', 5],
  ['PINGREQ with a body', [0xc0, 1, 0], 'MQTT-2.2.3', 1],
  ['bytes after the properties of a PUBACK', [0x40, 5, 0, 1, 0, 0, 0xff], 'MQTT-2.2.3', 6],
  ['AUTH with a reason code but no property length', [0xf0, 1, 0x18], 'MQTT-2.2.3', 3],
  // Properties: identifiers and where they may appear (§2.2.2.2).
  ['unknown property identifier 0x05', [0x30, 6, 0, 1, 0x74, 2, 0x05, 0], 'MQTT-2.2.2.2', 6],
  ['Topic Alias in a PUBACK', [0x40, 7, 0, 1, 0x00, 3, 0x23, 0, 1], 'MQTT-2.2.2.2', 6],
  [
    'Will Delay Interval in a PUBLISH',
    [0x30, 9, 0, 1, 0x74, 5, 0x18, 0, 0, 0, 1],
    'MQTT-2.2.2.2',
    6,
  ],
  [
    'Session Expiry Interval among the Will properties',
    [
      0x10,
      24,
      0,
      4,
      ...ascii('MQTT'),
      5,
      0x06,
      0,
      0,
      0,
      0,
      0,
      5,
      0x11,
      0,
      0,
      0,
      1,
      0,
      1,
      0x77,
      0,
      0,
    ],
    'MQTT-2.2.2.2',
    16,
  ],
  ['Subscription Identifier in a CONNACK', [0x20, 5, 0, 0, 2, 0x0b, 1], 'MQTT-2.2.2.2', 5],
  // Properties that may appear only once.
  [
    'Content Type twice',
    [0x30, 12, 0, 1, 0x74, 8, 0x03, 0, 1, 0x61, 0x03, 0, 1, 0x62],
    'MQTT-3.3.2.3.9',
    10,
  ],
  ['Topic Alias twice', [0x30, 10, 0, 1, 0x74, 6, 0x23, 0, 1, 0x23, 0, 2], 'MQTT-3.3.2.3.4', 9],
  [
    'Subscription Identifier twice in a SUBSCRIBE',
    [0x82, 11, 0, 1, 4, 0x0b, 1, 0x0b, 2, 0, 1, 0x61, 0],
    'MQTT-3.8.2.1.2',
    7,
  ],
  [
    'Reason String twice in a DISCONNECT',
    [0xe0, 10, 0x80, 8, 0x1f, 0, 1, 0x61, 0x1f, 0, 1, 0x62],
    'MQTT-3.4.2.2.2',
    8,
  ],
  // Property values.
  ['Topic Alias 0', [0x30, 7, 0, 1, 0x74, 3, 0x23, 0, 0], 'MQTT-3.3.2-8', 7],
  ['Subscription Identifier 0', [0x30, 6, 0, 1, 0x74, 2, 0x0b, 0], 'MQTT-3.3.2.3.8', 7],
  ['Payload Format Indicator 2', [0x30, 6, 0, 1, 0x74, 2, 0x01, 2], 'MQTT-3.3.2.3.2', 7],
  ['Receive Maximum 0', [0x20, 6, 0, 0, 3, 0x21, 0, 0], 'MQTT-3.1.2.11.3', 6],
  ['Maximum Packet Size 0', [0x20, 8, 0, 0, 5, 0x27, 0, 0, 0, 0], 'MQTT-3.1.2.11.4', 6],
  ['Maximum QoS 2', [0x20, 5, 0, 0, 2, 0x24, 2], 'MQTT-3.2.2.3.4', 6],
  ['Retain Available 2', [0x20, 5, 0, 0, 2, 0x25, 2], 'MQTT-3.2.2.3.5', 6],
  ['Wildcard Subscription Available 7', [0x20, 5, 0, 0, 2, 0x28, 7], 'MQTT-3.2.2.3.11', 6],
  ['Shared Subscription Available 2', [0x20, 5, 0, 0, 2, 0x2a, 2], 'MQTT-3.2.2.3.13', 6],
  [
    'Request Problem Information 2',
    [0x10, 15, 0, 4, ...ascii('MQTT'), 5, 0x02, 0, 0, 2, 0x17, 2, 0, 0],
    'MQTT-3.1.2.11.7',
    14,
  ],
  [
    'Authentication Data without an Authentication Method',
    [0xf0, 6, 0x18, 4, 0x16, 0, 1, 9],
    'MQTT-3.1.2.11.10',
    3,
  ],
  [
    'Response Topic with a wildcard',
    [0x30, 8, 0, 1, 0x74, 4, 0x08, 0, 1, 0x23],
    'MQTT-3.3.2-14',
    7,
  ],
  ['empty Response Topic', [0x30, 7, 0, 1, 0x74, 3, 0x08, 0, 0], 'MQTT-4.7.3-1', 7],
  [
    'ill-formed UTF-8 in a User Property',
    [0x30, 12, 0, 1, 0x74, 8, 0x26, 0, 1, 0x61, 0, 2, 0xc3, 0x28],
    'MQTT-1.5.3-1',
    12,
  ],
  // Property lengths and variable byte integers.
  ['property length past the end of the packet', [0x30, 5, 0, 1, 0x74, 9, 1], 'MQTT-2.2.3', 5],
  [
    'a property running past the property length',
    [0x30, 9, 0, 1, 0x74, 2, 0x02, 0, 0, 0, 1],
    'MQTT-2.2.3',
    6,
  ],
  [
    'property length not in its shortest form',
    [0x30, 5, 0, 1, 0x74, 0x80, 0x00],
    'MQTT-1.5.5-1',
    5,
  ],
  [
    'Subscription Identifier not in its shortest form',
    [0x30, 7, 0, 1, 0x74, 3, 0x0b, 0x81, 0x00],
    'MQTT-1.5.5-1',
    7,
  ],
  [
    'Subscription Identifier of five bytes',
    [0x30, 10, 0, 1, 0x74, 6, 0x0b, 0xff, 0xff, 0xff, 0xff, 0x01],
    'MQTT-1.5.5',
    7,
  ],
  // Reason codes a packet may not carry (table 2-6).
  ['PUBACK 0x92', [0x40, 3, 0, 1, 0x92], 'MQTT-3.4.2-1', 4],
  ['PUBREC 0x01', [0x50, 3, 0, 1, 0x01], 'MQTT-3.5.2-1', 4],
  ['PUBREL 0x10', [0x62, 3, 0, 1, 0x10], 'MQTT-3.6.2-1', 4],
  ['PUBCOMP 0x80', [0x70, 3, 0, 1, 0x80], 'MQTT-3.7.2-1', 4],
  ['SUBACK 0x03', [0x90, 4, 0, 1, 0, 0x03], 'MQTT-3.9.3-2', 5],
  ['UNSUBACK 0x10', [0xb0, 4, 0, 1, 0, 0x10], 'MQTT-3.11.3-2', 5],
  ['DISCONNECT 0x18', [0xe0, 1, 0x18], 'MQTT-3.14.2-1', 2],
  ['AUTH 0x04', [0xf0, 2, 0x04, 0], 'MQTT-3.15.2-1', 2],
  ['CONNACK 0x01 in the 5.0 form', [0x20, 3, 0, 0x01, 0], 'MQTT-3.2.2-8', 3],
  ['CONNACK 0x10', [0x20, 3, 0, 0x10, 0], 'MQTT-3.2.2-8', 3],
  // CONNACK.
  ['CONNACK session present with a refusal', [0x20, 3, 1, 0x80, 0], 'MQTT-3.2.2-6', 2],
  ['CONNACK reserved flag bits', [0x20, 3, 2, 0, 0], 'MQTT-3.2.2-1', 2],
  ['CONNACK success without a property length', [0x20, 2, 0, 0], 'MQTT-2.2.3', 4],
  // PUBLISH.
  ['empty topic without a Topic Alias', [0x30, 3, 0, 0, 0], 'MQTT-4.7.3-1', 2],
  [
    'empty topic with properties but no Topic Alias',
    [0x30, 5, 0, 0, 2, 0x01, 1],
    'MQTT-4.7.3-1',
    2,
  ],
  ['PUBLISH QoS 3', [0x36, 6, 0, 1, 0x74, 0, 1, 0], 'MQTT-3.3.1-4', 0],
  ['DUP on QoS 0', [0x38, 4, 0, 1, 0x74, 0], 'MQTT-3.3.1-2', 0],
  ['wildcard in a PUBLISH topic', [0x30, 4, 0, 1, 0x23, 0], 'MQTT-3.3.2-2', 2],
  // SUBSCRIBE and UNSUBSCRIBE.
  ['SUBSCRIBE reserved option bits', [0x82, 7, 0, 1, 0, 0, 1, 0x61, 0x40], 'MQTT-3.8.3-5', 8],
  ['SUBSCRIBE QoS 3', [0x82, 7, 0, 1, 0, 0, 1, 0x61, 0x03], 'MQTT-3.8.3.1', 8],
  ['SUBSCRIBE Retain Handling 3', [0x82, 7, 0, 1, 0, 0, 1, 0x61, 0x30], 'MQTT-3.8.3.1', 8],
  [
    'No Local on a shared subscription',
    [0x82, 16, 0, 1, 0, 0, 10, ...ascii('$share/g/a'), 0x04],
    'MQTT-3.8.3-4',
    17,
  ],
  ['SUBSCRIBE without a filter', [0x82, 3, 0, 1, 0], 'MQTT-3.8.3-2', 5],
  ['UNSUBSCRIBE without a filter', [0xa2, 3, 0, 1, 0], 'MQTT-3.10.3-2', 5],
  [
    'misplaced # in a SUBSCRIBE filter',
    [0x82, 9, 0, 1, 0, 0, 3, 0x23, 0x2f, 0x61, 0],
    'MQTT-4.7.1-2',
    5,
  ],
  // CONNECT.
  ['CONNECT reserved flag', connectWithFlags(0x03), 'MQTT-3.1.2-3', 9],
  ['CONNECT Will QoS without the Will flag', connectWithFlags(0x0a), 'MQTT-3.1.2-11', 9],
  ['CONNECT Will QoS 3', connectWithFlags(0x1e), 'MQTT-3.1.2-12', 9],
  ['CONNECT Will Retain without the Will flag', connectWithFlags(0x22), 'MQTT-3.1.2-13', 9],
  [
    'CONNECT Will topic with a wildcard',
    [0x10, 19, 0, 4, ...ascii('MQTT'), 5, 0x06, 0, 0, 0, 0, 0, 0, 0, 1, 0x23, 0, 0],
    'MQTT-4.7.1-1',
    16,
  ],
];

for (const [name, bytes, rule, offset] of decodeCases) {
  test(`v5 decode rejects: ${name} [${rule}]`, () => rejects(bytes, rule, offset));
}

test('v5: a 3.1.1 CONNACK refusal (remaining length 2) is kept for protocol fallback', () => {
  assert.deepEqual(decode(Uint8Array.of(0x20, 2, 0, 0x01), 5), {
    type: 'connack',
    sessionPresent: false,
    returnCode: 1,
  });
  assert.deepEqual(decode(Uint8Array.of(0x20, 2, 0, 0x05), 5), {
    type: 'connack',
    sessionPresent: false,
    returnCode: 5,
  });
  // Not a 3.1.1 refusal code: read as 5.0, and 0x80 lacks its property length.
  rejects([0x20, 2, 0, 0x80], 'MQTT-2.2.3', 4);
});

test('v5: User Property and PUBLISH Subscription Identifier may repeat, in order', () => {
  const p = decode(
    Uint8Array.of(
      0x30,
      24,
      0,
      1,
      0x74,
      20,
      0x26,
      0,
      1,
      0x61,
      0,
      1,
      0x31,
      0x0b,
      5,
      0x26,
      0,
      1,
      0x61,
      0,
      1,
      0x31,
      0x0b,
      3,
      0x0b,
      5,
    ),
    5,
  );
  assert.ok(p.type === 'publish');
  assert.deepEqual(p.properties, {
    userProperties: [
      ['a', '1'],
      ['a', '1'],
    ],
    subscriptionIdentifiers: [5, 3, 5],
  });
});

function encodeRejects(packet: Packet, rule: string | undefined, version: 3 | 4 | 5 = 5): void {
  assert.throws(
    () => encode(packet, version),
    (e: unknown) => {
      assert.ok(e instanceof MalformedPacketError, `not a MalformedPacketError: ${String(e)}`);
      assert.equal(e.rule, rule, e.message);
      assert.equal(e.offset, -1);
      return true;
    },
  );
}

const pub: Packet = {
  type: 'publish',
  topic: 't',
  payload: b('x'),
  qos: 1,
  retain: false,
  dup: false,
  packetId: 1,
};
const withPublishProps = (properties: object): Packet => ({ ...pub, properties }) as Packet;
const connect: Packet = {
  type: 'connect',
  protocolVersion: 5,
  clientId: 'c',
  clean: true,
  keepaliveSec: 0,
};
const withConnectProps = (properties: object): Packet => ({ ...connect, properties }) as Packet;

test('v5 encode refuses bad properties with the rule', () => {
  encodeRejects(withPublishProps({ topicAlias: 0 }), 'MQTT-3.3.2-8');
  encodeRejects(withPublishProps({ topicAlias: 65536 }), 'MQTT-3.3.2-8');
  encodeRejects(withPublishProps({ payloadFormatIndicator: 2 }), 'MQTT-3.3.2.3.2');
  encodeRejects(withPublishProps({ sessionExpiryIntervalSec: 1 }), 'MQTT-2.2.2.2');
  encodeRejects(withPublishProps({ topicAlais: 1 }), 'MQTT-2.2.2.2');
  encodeRejects(withPublishProps({ responseTopic: 'a/#' }), 'MQTT-3.3.2-14');
  encodeRejects(withPublishProps({ subscriptionIdentifiers: [0] }), 'MQTT-3.3.2.3.8');
  encodeRejects(withPublishProps({ subscriptionIdentifiers: [268_435_456] }), 'MQTT-3.3.2.3.8');
  encodeRejects(withPublishProps({ subscriptionIdentifiers: 3 }), 'MQTT-3.3.2.3.8');
  encodeRejects(withPublishProps({ messageExpiryIntervalSec: 2 ** 32 }), 'MQTT-3.3.2.3.3');
  encodeRejects(withPublishProps({ correlationData: 'abc' }), 'MQTT-3.3.2.3.6');
  encodeRejects(withPublishProps({ userProperties: [['a']] }), 'MQTT-3.1.2.11.8');
  encodeRejects(withPublishProps({ userProperties: [['a', 1]] }), 'MQTT-3.1.2.11.8');
  encodeRejects(withPublishProps({ contentType: 'a\u0000' }), 'MQTT-1.5.3-2');
  encodeRejects(withConnectProps({ receiveMaximum: 0 }), 'MQTT-3.1.2.11.3');
  encodeRejects(withConnectProps({ maximumPacketSizeBytes: 0 }), 'MQTT-3.1.2.11.4');
  encodeRejects(withConnectProps({ requestProblemInformation: 1 }), 'MQTT-3.1.2.11.7');
  encodeRejects(withConnectProps({ authenticationData: b('x') }), 'MQTT-3.1.2.11.10');
  encodeRejects(
    {
      ...connect,
      will: { topic: 'w', payload: b(''), qos: 0, retain: false, properties: { topicAlias: 1 } },
    } as Packet,
    'MQTT-2.2.2.2',
  );
  encodeRejects(
    {
      type: 'subscribe',
      packetId: 1,
      subscriptions: [{ topic: 'a', qos: 0 }],
      properties: { subscriptionIdentifiers: [1] },
    } as Packet,
    'MQTT-2.2.2.2',
  );
  encodeRejects(
    {
      type: 'subscribe',
      packetId: 1,
      subscriptions: [{ topic: 'a', qos: 0 }],
      properties: { subscriptionIdentifier: 0 },
    },
    'MQTT-3.3.2.3.8',
  );
});

test('v5 encode refuses reason codes a packet may not carry', () => {
  encodeRejects({ type: 'puback', packetId: 1, reasonCode: 0x92 }, 'MQTT-3.4.2-1');
  encodeRejects({ type: 'pubrec', packetId: 1, reasonCode: 0x8f }, 'MQTT-3.5.2-1');
  encodeRejects({ type: 'pubrel', packetId: 1, reasonCode: 0x10 }, 'MQTT-3.6.2-1');
  encodeRejects({ type: 'pubcomp', packetId: 1, reasonCode: 0x80 }, 'MQTT-3.7.2-1');
  encodeRejects({ type: 'suback', packetId: 1, returnCodes: [3] }, 'MQTT-3.9.3-2');
  encodeRejects({ type: 'unsuback', packetId: 1, reasonCodes: [0x10] }, 'MQTT-3.11.3-2');
  encodeRejects({ type: 'disconnect', reasonCode: 0x18 }, 'MQTT-3.14.2-1');
  encodeRejects({ type: 'auth', reasonCode: 0x04 }, 'MQTT-3.15.2-1');
  encodeRejects({ type: 'connack', sessionPresent: false, returnCode: 1 }, 'MQTT-3.2.2-8');
  encodeRejects({ type: 'connack', sessionPresent: true, returnCode: 0x80 }, 'MQTT-3.2.2-6');
  encodeRejects({ type: 'puback', packetId: 1, reasonCode: 256 }, 'MQTT-3.4.2-1');
  encodeRejects({ type: 'puback', packetId: 1, reasonCode: 0.5 }, 'MQTT-3.4.2-1');
});

test('v5 encode refuses bad PUBLISH and SUBSCRIBE fields', () => {
  encodeRejects({ ...pub, topic: '' }, 'MQTT-4.7.3-1');
  encodeRejects({ ...pub, packetId: 0 }, 'MQTT-2.3.1-1');
  encodeRejects({ ...pub, qos: 0, dup: false, packetId: 1 }, 'MQTT-2.2.1-2');
  const sub = (s: object): Packet =>
    ({ type: 'subscribe', packetId: 1, subscriptions: [{ topic: 'a', qos: 0, ...s }] }) as Packet;
  encodeRejects(sub({ retainHandling: 3 }), 'MQTT-3.8.3.1');
  encodeRejects(sub({ qos: 3 }), 'MQTT-3.8.3.1');
  encodeRejects(sub({ topic: '$share/g/a', noLocal: true }), 'MQTT-3.8.3-4');
  encodeRejects({ type: 'subscribe', packetId: 1, subscriptions: [] }, 'MQTT-3.8.3-2');
  encodeRejects({ type: 'unsubscribe', packetId: 1, topics: [] }, 'MQTT-3.10.3-2');
});

test('3.1.1 encode refuses 5.0-only fields instead of dropping them', () => {
  const only5 = (packet: Packet, version: 3 | 4 = 4) => encodeRejects(packet, undefined, version);
  only5(withPublishProps({ topicAlias: 1 }));
  only5({ type: 'puback', packetId: 1, reasonCode: 0x80 });
  only5({ type: 'puback', packetId: 1, properties: { reasonString: 'x' } });
  only5({ type: 'unsuback', packetId: 1, reasonCodes: [0] });
  only5({ type: 'disconnect', reasonCode: 0x04 });
  only5({ type: 'auth', reasonCode: 0 });
  only5({ type: 'connack', sessionPresent: false, returnCode: 0, properties: {} });
  only5({ type: 'suback', packetId: 1, returnCodes: [0], properties: {} });
  only5({ type: 'unsubscribe', packetId: 1, topics: ['a'], properties: {} });
  only5({ type: 'subscribe', packetId: 1, subscriptions: [{ topic: 'a', qos: 0, noLocal: true }] });
  only5({
    type: 'subscribe',
    packetId: 1,
    subscriptions: [{ topic: 'a', qos: 0, retainHandling: 1 }],
  });
  only5({ ...connect, protocolVersion: 4, properties: {} } as Packet);
  only5(
    {
      ...connect,
      protocolVersion: 3,
      will: { topic: 'w', payload: b(''), qos: 0, retain: false, properties: {} },
    } as Packet,
    3,
  );
  // A reason code of 0 means what a 3.1.1 acknowledgement means.
  assert.deepEqual([...encode({ type: 'puback', packetId: 1, reasonCode: 0 }, 4)], [0x40, 2, 0, 1]);
  assert.deepEqual([...encode({ type: 'disconnect', reasonCode: 0 }, 4)], [0xe0, 0]);
});

test('reason code table: every code of table 2-6 in exactly the packets the spec lists', () => {
  const packets: [ReasonCodePacket, readonly number[]][] = [
    ['connack', CODES.connack],
    ['puback', CODES.pubackPubrec],
    ['pubrec', CODES.pubackPubrec],
    ['pubrel', CODES.pubrelPubcomp],
    ['pubcomp', CODES.pubrelPubcomp],
    ['suback', CODES.suback],
    ['unsuback', CODES.unsuback],
    ['disconnect', CODES.disconnect],
    ['auth', CODES.auth],
  ];
  for (const [packet, codes] of packets) {
    for (let code = 0; code < 256; code++) {
      assert.equal(
        isReasonCodeAllowed(code, packet),
        codes.includes(code),
        `${packet} 0x${code.toString(16)}`,
      );
    }
  }
  assert.equal(new Set(REASON_CODES.map((r) => r.code)).size, 43, '43 distinct codes');
  assert.equal(reasonCodeName(0x00, 'disconnect'), 'Normal disconnection');
  assert.equal(reasonCodeName(0x00, 'suback'), 'Granted QoS 0');
  assert.equal(reasonCodeName(0x87, 'puback'), 'Not authorized');
  assert.equal(reasonCodeName(0x87, 'pubrel'), undefined);
  assert.equal(ReasonCode.RECEIVE_MAXIMUM_EXCEEDED, 0x93);
  assert.equal(ReasonCode.TOPIC_ALIAS_INVALID, 0x94);
});

test('isWellFormedUtf8 tells a Payload Format Indicator 1 payload that lies', () => {
  assert.equal(isWellFormedUtf8(b('hello, wörld ✓')), true);
  assert.equal(isWellFormedUtf8(new Uint8Array(0)), true);
  assert.equal(isWellFormedUtf8(Uint8Array.of(0x61, 0xc3, 0x28)), false);
  assert.equal(isWellFormedUtf8(Uint8Array.of(0xed, 0xa0, 0x80)), false, 'encoded surrogate');
});
