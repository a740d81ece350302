/** Every validation rule: the error class, the normative statement id and the byte offset. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { MalformedPacketError } from '../../src/errors.js';
import { decode, encode, Parser } from '../../src/packet/index.js';
import type { Packet } from '../../src/packet/types.js';

const ascii = (s: string): number[] => [...s].map((c) => c.charCodeAt(0));
const b = (s: string): Uint8Array => new TextEncoder().encode(s);

function rejects(bytes: number[], rule: string, offset: number): void {
  assert.throws(
    () => decode(Uint8Array.from(bytes)),
    (e: unknown) => {
      assert.ok(e instanceof MalformedPacketError, `not a MalformedPacketError: ${String(e)}`);
      assert.equal(e.rule, rule, e.message);
      assert.equal(e.offset, offset, e.message);
      return true;
    },
  );
}

const decodeCases: [string, number[], string, number][] = [
  ['reserved flags on PUBACK', [0x41, 2, 0, 1], 'MQTT-2.2.2-2', 0],
  ['reserved flags on PINGREQ', [0xc8, 0], 'MQTT-2.2.2-2', 0],
  ['PUBREL without flags 0010', [0x60, 2, 0, 1], 'MQTT-3.6.1-1', 0],
  ['SUBSCRIBE without flags 0010', [0x80, 6, 0, 1, 0, 1, 0x61, 0], 'MQTT-3.8.1-1', 0],
  ['UNSUBSCRIBE without flags 0010', [0xa0, 5, 0, 1, 0, 1, 0x61], 'MQTT-3.10.1-1', 0],
  ['PUBLISH QoS 3', [0x36, 5, 0, 1, 0x74, 0, 1], 'MQTT-3.3.1-4', 0],
  ['DUP on QoS 0', [0x38, 3, 0, 1, 0x74], 'MQTT-3.3.1-2', 0],
  ['packet id 0 on PUBLISH QoS 1', [0x32, 5, 0, 1, 0x74, 0, 0], 'MQTT-2.3.1-1', 5],
  ['packet id 0 on PUBACK', [0x40, 2, 0, 0], 'MQTT-2.3.1-1', 2],
  ['wildcard in a PUBLISH topic', [0x30, 5, 0, 3, 0x61, 0x2f, 0x23], 'MQTT-3.3.2-2', 2],
  ['U+0000 in a topic', [0x30, 5, 0, 3, 0x61, 0x00, 0x62], 'MQTT-1.5.3-2', 5],
  ['ill-formed UTF-8 in a topic', [0x30, 4, 0, 2, 0xc3, 0x28], 'MQTT-1.5.3-1', 4],
  ['UTF-8 encoded surrogate (U+D800)', [0x30, 5, 0, 3, 0xed, 0xa0, 0x80], 'MQTT-1.5.3-1', 4],
  ['misplaced # in a filter', [0x82, 8, 0, 1, 0, 3, 0x23, 0x2f, 0x61, 0], 'MQTT-4.7.1-2', 4],
  ['misplaced + in a filter', [0x82, 7, 0, 1, 0, 2, 0x61, 0x2b, 0], 'MQTT-4.7.1-3', 4],
  ['empty SUBSCRIBE', [0x82, 2, 0, 1], 'MQTT-3.8.3-3', 4],
  ['empty UNSUBSCRIBE', [0xa2, 2, 0, 1], 'MQTT-3.10.3-2', 4],
  ['SUBSCRIBE requested QoS 3', [0x82, 6, 0, 1, 0, 1, 0x61, 3], 'MQTT-3-8.3-4', 7],
  ['SUBSCRIBE reserved bits in the QoS byte', [0x82, 6, 0, 1, 0, 1, 0x61, 0x41], 'MQTT-3-8.3-4', 7],
  ['SUBACK return code 3', [0x90, 3, 0, 1, 3], 'MQTT-3.9.3-2', 4],
  ['CONNACK reserved flag bits', [0x20, 2, 2, 0], 'MQTT-3.2.2-1', 2],
  ['remaining length longer than 4 bytes', [0x30, 0xff, 0xff, 0xff, 0xff, 0x01], 'MQTT-2.2.3', 4],
  ['remaining length too long for PUBACK', [0x40, 3, 0, 1, 0], 'MQTT-2.2.3', 1],
  ['string longer than the packet', [0x30, 3, 0, 5, 0x61], 'MQTT-2.2.3', 4],
  ['reserved packet type 0', [0x00, 0], 'MQTT-2.2.1', 0],
  ['reserved packet type 15', [0xf0, 0], 'MQTT-2.2.1', 0],
  [
    'CONNECT reserved flag',
    [0x10, 12, 0, 4, ...ascii('MQTT'), 4, 0x03, 0, 0, 0, 0],
    'MQTT-3.1.2-3',
    9,
  ],
  [
    'CONNECT Will QoS without Will flag',
    [0x10, 12, 0, 4, ...ascii('MQTT'), 4, 0x0a, 0, 0, 0, 0],
    'MQTT-3.1.2-13',
    9,
  ],
  [
    'CONNECT Will Retain without Will flag',
    [0x10, 12, 0, 4, ...ascii('MQTT'), 4, 0x22, 0, 0, 0, 0],
    'MQTT-3.1.2-15',
    9,
  ],
  [
    'CONNECT Will QoS 3',
    [0x10, 12, 0, 4, ...ascii('MQTT'), 4, 0x1e, 0, 0, 0, 0],
    'MQTT-3.1.2-14',
    9,
  ],
  [
    'CONNECT password without user name',
    [0x10, 12, 0, 4, ...ascii('MQTT'), 4, 0x42, 0, 0, 0, 0],
    'MQTT-3.1.2-22',
    9,
  ],
  [
    'CONNECT unknown protocol level',
    [0x10, 12, 0, 4, ...ascii('MQTT'), 9, 0x02, 0, 0, 0, 0],
    'MQTT-3.1.2-2',
    8,
  ],
  [
    'CONNECT level 5 on a 3.1.1 connection',
    [0x10, 12, 0, 4, ...ascii('MQTT'), 5, 0x02, 0, 0, 0, 0],
    'MQTT-3.1.2-2',
    8,
  ],
  [
    'CONNECT level 3 with protocol name MQTT',
    [0x10, 12, 0, 4, ...ascii('MQTT'), 3, 0x02, 0, 0, 0, 0],
    'MQTT-3.1.2-2',
    8,
  ],
  [
    'CONNECT Will topic with a wildcard',
    [0x10, 17, 0, 4, ...ascii('MQTT'), 4, 0x06, 0, 0, 0, 0, 0, 1, 0x23, 0, 0],
    'MQTT-4.7.1-1',
    14,
  ],
  [
    'CONNECT trailing bytes after the payload',
    [0x10, 13, 0, 4, ...ascii('MQTT'), 4, 0x02, 0, 0, 0, 0, 0x61],
    'MQTT-2.2.3',
    14,
  ],
  ['empty PUBLISH topic', [0x30, 2, 0, 0], 'MQTT-4.7.3-1', 2],
  ['empty filter in SUBSCRIBE', [0x82, 5, 0, 1, 0, 0, 0], 'MQTT-4.7.3-1', 4],
  ['misplaced # in UNSUBSCRIBE', [0xa2, 6, 0, 1, 0, 2, 0x23, 0x61], 'MQTT-4.7.1-2', 4],
  ['PINGREQ with a body', [0xc0, 1, 0], 'MQTT-2.2.3', 1],
  ['CONNACK remaining length 3', [0x20, 3, 0, 0, 0], 'MQTT-2.2.3', 1],
  ['packet cut short', [0x40, 2, 0], 'MQTT-2.2.3', 3],
  ['bytes after the packet', [0xc0, 0, 0xc0], 'MQTT-2.2.3', 2],
  [
    'CONNECT unknown protocol name',
    [0x10, 12, 0, 4, ...ascii('MQXX'), 4, 0x02, 0, 0, 0, 0],
    'MQTT-3.1.2-1',
    2,
  ],
];

for (const [name, bytes, rule, offset] of decodeCases) {
  test(`decode rejects: ${name}`, () => rejects(bytes, rule, offset));
}

function encodeRejects(packet: Packet, rule: string | undefined): void {
  assert.throws(
    () => encode(packet),
    (e: unknown) => {
      assert.ok(e instanceof MalformedPacketError, String(e));
      assert.equal(e.rule, rule, e.message);
      assert.equal(e.offset, -1);
      return true;
    },
  );
}

test('encode rejects what decode rejects', () => {
  const pub = { type: 'publish', topic: 't', payload: b(''), retain: false } as const;
  encodeRejects({ ...pub, qos: 3 as 0, dup: false }, 'MQTT-3.3.1-4');
  encodeRejects({ ...pub, qos: 0, dup: true }, 'MQTT-3.3.1-2');
  encodeRejects({ ...pub, qos: 1, dup: false, packetId: 0 }, 'MQTT-2.3.1-1');
  encodeRejects({ ...pub, qos: 1, dup: false }, 'MQTT-2.3.1-1');
  encodeRejects({ ...pub, topic: 'a/#', qos: 0, dup: false }, 'MQTT-4.7.1-1');
  encodeRejects({ ...pub, topic: '', qos: 0, dup: false }, 'MQTT-4.7.3-1');
  encodeRejects({ ...pub, topic: 'a\u0000b', qos: 0, dup: false }, 'MQTT-1.5.3-2');
  encodeRejects({ ...pub, topic: 'a\ud800b', qos: 0, dup: false }, 'MQTT-1.5.3-1');
  encodeRejects({ ...pub, topic: 'x'.repeat(65536), qos: 0, dup: false }, 'MQTT-1.5.3');
  encodeRejects({ type: 'subscribe', packetId: 1, subscriptions: [] }, 'MQTT-3.8.3-3');
  encodeRejects(
    { type: 'subscribe', packetId: 1, subscriptions: [{ topic: 'a/#/b', qos: 0 }] },
    'MQTT-4.7.1-2',
  );
  encodeRejects(
    { type: 'subscribe', packetId: 1, subscriptions: [{ topic: 'a+', qos: 0 }] },
    'MQTT-4.7.1-3',
  );
  encodeRejects(
    { type: 'subscribe', packetId: 1, subscriptions: [{ topic: 'a', qos: 3 as 0 }] },
    'MQTT-3-8.3-4',
  );
  encodeRejects({ type: 'unsubscribe', packetId: 1, topics: [] }, 'MQTT-3.10.3-2');
  encodeRejects({ type: 'suback', packetId: 1, returnCodes: [3] }, 'MQTT-3.9.3-2');
  encodeRejects({ type: 'puback', packetId: 70000 }, 'MQTT-2.3.1-1');
  const connect = {
    type: 'connect',
    protocolVersion: 4,
    clientId: 'c',
    clean: true,
    keepaliveSec: 0,
  } as const;
  encodeRejects({ ...connect, password: b('p') }, 'MQTT-3.1.2-22');
  encodeRejects({ ...connect, clientId: '', clean: false }, 'MQTT-3.1.3-7');
  encodeRejects(
    { ...connect, will: { topic: 'w/#', payload: b(''), qos: 0, retain: false } },
    'MQTT-4.7.1-1',
  );
  encodeRejects({ ...connect, username: 'a\u0000' }, 'MQTT-1.5.3-2');
  encodeRejects({ ...connect, clientId: '\udc00' }, 'MQTT-1.5.3-1');
  encodeRejects({ type: 'unsubscribe', packetId: 1, topics: ['a/#/b'] }, 'MQTT-4.7.1-2');
  encodeRejects({ type: 'unsubscribe', packetId: 0, topics: ['a'] }, 'MQTT-2.3.1-1');
  encodeRejects(
    { type: 'subscribe', packetId: 1, subscriptions: [{ topic: '', qos: 0 }] },
    'MQTT-4.7.3-1',
  );
  encodeRejects({ type: 'connack', sessionPresent: true, returnCode: 5 }, 'MQTT-3.2.2-4');
  encodeRejects({ type: 'pubrel', packetId: 0 }, 'MQTT-2.3.1-1');
  encodeRejects({ ...pub, qos: 0, dup: false, packetId: 5 }, 'MQTT-2.3.1-5');
  encodeRejects(
    { ...connect, will: { topic: 'w', payload: b(''), qos: 3 as 0, retain: false } },
    'MQTT-3.1.2-14',
  );
});

test('MQTT 5.0 is accepted by encode, decode and the Parser (no longer refused)', () => {
  assert.deepEqual([...encode({ type: 'pingreq' }, 5)], [0xc0, 0]);
  const connect = encode({
    type: 'connect',
    protocolVersion: 5,
    clientId: 'c',
    clean: true,
    keepaliveSec: 0,
  });
  assert.equal(connect[8], 5, 'protocol level 5');
  assert.deepEqual(decode(Uint8Array.of(0xc0, 0), 5), { type: 'pingreq' });
  const got: Packet[] = [];
  new Parser({ protocolVersion: 5 }).push(connect, (p) => got.push(p));
  assert.equal(got[0]?.type, 'connect');
});
