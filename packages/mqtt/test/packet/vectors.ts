/**
 * Golden byte vectors, written by hand from the MQTT 3.1.1 specification (not produced by our
 * encoder), one or more per packet type.
 */
import type { Packet } from '../../src/packet/types.js';

const b = (s: string): Uint8Array => new TextEncoder().encode(s);
const ascii = (s: string): number[] => [...s].map((c) => c.charCodeAt(0));

/** A named vector: the packet and its exact bytes. */
export interface Vector {
  readonly name: string;
  readonly packet: Packet;
  readonly bytes: Uint8Array;
  readonly version?: 3 | 4;
}

export const vectors: readonly Vector[] = [
  {
    name: 'CONNECT minimal (clean, keep-alive 60, id "a")',
    packet: { type: 'connect', protocolVersion: 4, clientId: 'a', clean: true, keepaliveSec: 60 },
    // 10 | remaining 13 | 00 04 'MQTT' | level 4 | flags 02 | keep-alive 00 3C | 00 01 'a'
    bytes: Uint8Array.of(0x10, 13, 0, 4, ...ascii('MQTT'), 4, 0x02, 0, 60, 0, 1, 0x61),
  },
  {
    name: 'CONNECT with Will (QoS 1, retain), user name and password',
    packet: {
      type: 'connect',
      protocolVersion: 4,
      clientId: 'dev',
      clean: false,
      keepaliveSec: 10,
      username: 'u',
      password: b('pw'),
      will: { topic: 'w', payload: b('bye'), qos: 1, retain: true },
    },
    // flags: user 80 | password 40 | will retain 20 | will QoS 1 08 | will 04 = EC
    bytes: Uint8Array.of(
      0x10,
      30,
      0,
      4,
      ...ascii('MQTT'),
      4,
      0xec,
      0,
      10,
      0,
      3,
      ...ascii('dev'),
      0,
      1,
      ...ascii('w'),
      0,
      3,
      ...ascii('bye'),
      0,
      1,
      ...ascii('u'),
      0,
      2,
      ...ascii('pw'),
    ),
  },
  {
    name: 'CONNECT MQTT 3.1 (MQIsdp, level 3)',
    version: 3,
    packet: { type: 'connect', protocolVersion: 3, clientId: 'old', clean: true, keepaliveSec: 30 },
    bytes: Uint8Array.of(0x10, 17, 0, 6, ...ascii('MQIsdp'), 3, 0x02, 0, 30, 0, 3, ...ascii('old')),
  },
  {
    name: 'CONNACK accepted, session present',
    packet: { type: 'connack', sessionPresent: true, returnCode: 0 },
    bytes: Uint8Array.of(0x20, 2, 1, 0),
  },
  {
    name: 'CONNACK refused: bad user name or password',
    packet: { type: 'connack', sessionPresent: false, returnCode: 4 },
    bytes: Uint8Array.of(0x20, 2, 0, 4),
  },
  {
    name: 'PUBLISH QoS 0',
    packet: { type: 'publish', topic: 'a/b', payload: b('hi'), qos: 0, retain: false, dup: false },
    bytes: Uint8Array.of(0x30, 7, 0, 3, ...ascii('a/b'), ...ascii('hi')),
  },
  {
    name: 'PUBLISH QoS 1 retained',
    packet: {
      type: 'publish',
      topic: 'PV/sunshine',
      payload: b('yes'),
      qos: 1,
      retain: true,
      dup: false,
      packetId: 10,
    },
    bytes: Uint8Array.of(0x33, 18, 0, 11, ...ascii('PV/sunshine'), 0, 10, ...ascii('yes')),
  },
  {
    name: 'PUBLISH QoS 2 DUP, empty payload',
    packet: {
      type: 'publish',
      topic: 't',
      payload: new Uint8Array(0),
      qos: 2,
      retain: false,
      dup: true,
      packetId: 0x1234,
    },
    bytes: Uint8Array.of(0x3c, 5, 0, 1, 0x74, 0x12, 0x34),
  },
  {
    name: 'PUBLISH with a UTF-8 topic (°C)',
    packet: {
      type: 'publish',
      topic: 'temp/°C',
      payload: b('20.1'),
      qos: 0,
      retain: false,
      dup: false,
    },
    bytes: Uint8Array.of(0x30, 14, 0, 8, ...ascii('temp/'), 0xc2, 0xb0, 0x43, ...ascii('20.1')),
  },
  {
    name: 'PUBLISH with a 200-byte payload (2-byte remaining length)',
    packet: {
      type: 'publish',
      topic: 'x',
      payload: new Uint8Array(200).fill(7),
      qos: 0,
      retain: false,
      dup: false,
    },
    // remaining = 2 + 1 + 200 = 203 = 0xCB 0x01
    bytes: Uint8Array.of(0x30, 0xcb, 0x01, 0, 1, 0x78, ...new Uint8Array(200).fill(7)),
  },
  { name: 'PUBACK', packet: { type: 'puback', packetId: 1 }, bytes: Uint8Array.of(0x40, 2, 0, 1) },
  {
    name: 'PUBREC',
    packet: { type: 'pubrec', packetId: 258 },
    bytes: Uint8Array.of(0x50, 2, 1, 2),
  },
  {
    name: 'PUBREL (flags 0010)',
    packet: { type: 'pubrel', packetId: 65535 },
    bytes: Uint8Array.of(0x62, 2, 0xff, 0xff),
  },
  {
    name: 'PUBCOMP',
    packet: { type: 'pubcomp', packetId: 7 },
    bytes: Uint8Array.of(0x70, 2, 0, 7),
  },
  {
    name: 'SUBSCRIBE two filters (flags 0010)',
    packet: {
      type: 'subscribe',
      packetId: 2,
      subscriptions: [
        { topic: 'myhome/+/+/temperature', qos: 1 },
        { topic: '#', qos: 2 },
      ],
    },
    bytes: Uint8Array.of(
      0x82,
      31,
      0,
      2,
      0,
      22,
      ...ascii('myhome/+/+/temperature'),
      1,
      0,
      1,
      0x23,
      2,
    ),
  },
  {
    name: 'SUBACK with a failure',
    packet: { type: 'suback', packetId: 2, returnCodes: [1, 0x80] },
    bytes: Uint8Array.of(0x90, 4, 0, 2, 1, 0x80),
  },
  {
    name: 'UNSUBSCRIBE (flags 0010)',
    packet: { type: 'unsubscribe', packetId: 3, topics: ['a/#', 'b'] },
    bytes: Uint8Array.of(0xa2, 10, 0, 3, 0, 3, ...ascii('a/#'), 0, 1, 0x62),
  },
  {
    name: 'UNSUBACK',
    packet: { type: 'unsuback', packetId: 3 },
    bytes: Uint8Array.of(0xb0, 2, 0, 3),
  },
  { name: 'PINGREQ', packet: { type: 'pingreq' }, bytes: Uint8Array.of(0xc0, 0) },
  { name: 'PINGRESP', packet: { type: 'pingresp' }, bytes: Uint8Array.of(0xd0, 0) },
  { name: 'DISCONNECT', packet: { type: 'disconnect' }, bytes: Uint8Array.of(0xe0, 0) },
];
