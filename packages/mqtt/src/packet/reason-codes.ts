/**
 * MQTT 5.0 reason codes (§2.4, table 2-6): every code with its name and the packets it may
 * appear in, and the check the codec applies to each packet that carries one.
 *
 * @module
 */

import type { PacketType } from './types.js';

/** Packets that carry reason codes in MQTT 5.0. */
export type ReasonCodePacket =
  | 'connack'
  | 'puback'
  | 'pubrec'
  | 'pubrel'
  | 'pubcomp'
  | 'suback'
  | 'unsuback'
  | 'disconnect'
  | 'auth';

/**
 * Every MQTT 5.0 reason code (§2.4), in the order of the specification's table. A value can
 * have a different name in different packets (0x00 is Success, Normal disconnection or
 * Granted QoS 0).
 */
export const REASON_CODES = [
  {
    code: 0x00,
    name: 'Success',
    packets: ['connack', 'puback', 'pubrec', 'pubrel', 'pubcomp', 'unsuback', 'auth'],
  },
  { code: 0x00, name: 'Normal disconnection', packets: ['disconnect'] },
  { code: 0x00, name: 'Granted QoS 0', packets: ['suback'] },
  { code: 0x01, name: 'Granted QoS 1', packets: ['suback'] },
  { code: 0x02, name: 'Granted QoS 2', packets: ['suback'] },
  { code: 0x04, name: 'Disconnect with Will Message', packets: ['disconnect'] },
  { code: 0x10, name: 'No matching subscribers', packets: ['puback', 'pubrec'] },
  { code: 0x11, name: 'No subscription existed', packets: ['unsuback'] },
  { code: 0x18, name: 'Continue authentication', packets: ['auth'] },
  { code: 0x19, name: 'Re-authenticate', packets: ['auth'] },
  {
    code: 0x80,
    name: 'Unspecified error',
    packets: ['connack', 'puback', 'pubrec', 'suback', 'unsuback', 'disconnect'],
  },
  { code: 0x81, name: 'Malformed Packet', packets: ['connack', 'disconnect'] },
  { code: 0x82, name: 'Protocol Error', packets: ['connack', 'disconnect'] },
  {
    code: 0x83,
    name: 'Implementation specific error',
    packets: ['connack', 'puback', 'pubrec', 'suback', 'unsuback', 'disconnect'],
  },
  { code: 0x84, name: 'Unsupported Protocol Version', packets: ['connack'] },
  { code: 0x85, name: 'Client Identifier not valid', packets: ['connack'] },
  { code: 0x86, name: 'Bad User Name or Password', packets: ['connack'] },
  {
    code: 0x87,
    name: 'Not authorized',
    packets: ['connack', 'puback', 'pubrec', 'suback', 'unsuback', 'disconnect'],
  },
  { code: 0x88, name: 'Server unavailable', packets: ['connack'] },
  { code: 0x89, name: 'Server busy', packets: ['connack', 'disconnect'] },
  { code: 0x8a, name: 'Banned', packets: ['connack'] },
  { code: 0x8b, name: 'Server shutting down', packets: ['disconnect'] },
  { code: 0x8c, name: 'Bad authentication method', packets: ['connack', 'disconnect'] },
  { code: 0x8d, name: 'Keep Alive timeout', packets: ['disconnect'] },
  { code: 0x8e, name: 'Session taken over', packets: ['disconnect'] },
  { code: 0x8f, name: 'Topic Filter invalid', packets: ['suback', 'unsuback', 'disconnect'] },
  {
    code: 0x90,
    name: 'Topic Name invalid',
    packets: ['connack', 'puback', 'pubrec', 'disconnect'],
  },
  {
    code: 0x91,
    name: 'Packet Identifier in use',
    packets: ['puback', 'pubrec', 'suback', 'unsuback'],
  },
  { code: 0x92, name: 'Packet Identifier not found', packets: ['pubrel', 'pubcomp'] },
  { code: 0x93, name: 'Receive Maximum exceeded', packets: ['disconnect'] },
  { code: 0x94, name: 'Topic Alias invalid', packets: ['disconnect'] },
  { code: 0x95, name: 'Packet too large', packets: ['connack', 'disconnect'] },
  { code: 0x96, name: 'Message rate too high', packets: ['disconnect'] },
  {
    code: 0x97,
    name: 'Quota exceeded',
    packets: ['connack', 'puback', 'pubrec', 'suback', 'disconnect'],
  },
  { code: 0x98, name: 'Administrative action', packets: ['disconnect'] },
  {
    code: 0x99,
    name: 'Payload format invalid',
    packets: ['connack', 'puback', 'pubrec', 'disconnect'],
  },
  { code: 0x9a, name: 'Retain not supported', packets: ['connack', 'disconnect'] },
  { code: 0x9b, name: 'QoS not supported', packets: ['connack', 'disconnect'] },
  { code: 0x9c, name: 'Use another server', packets: ['connack', 'disconnect'] },
  { code: 0x9d, name: 'Server moved', packets: ['connack', 'disconnect'] },
  { code: 0x9e, name: 'Shared Subscriptions not supported', packets: ['suback', 'disconnect'] },
  { code: 0x9f, name: 'Connection rate exceeded', packets: ['connack', 'disconnect'] },
  { code: 0xa0, name: 'Maximum connect time', packets: ['disconnect'] },
  {
    code: 0xa1,
    name: 'Subscription Identifiers not supported',
    packets: ['suback', 'disconnect'],
  },
  {
    code: 0xa2,
    name: 'Wildcard Subscriptions not supported',
    packets: ['suback', 'disconnect'],
  },
] as const satisfies readonly {
  readonly code: number;
  readonly name: string;
  readonly packets: readonly ReasonCodePacket[];
}[];

/** MQTT 5.0 reason codes by constant name, for code that sends or tests them. */
export const ReasonCode = {
  SUCCESS: 0x00,
  NORMAL_DISCONNECTION: 0x00,
  GRANTED_QOS_0: 0x00,
  GRANTED_QOS_1: 0x01,
  GRANTED_QOS_2: 0x02,
  DISCONNECT_WITH_WILL_MESSAGE: 0x04,
  NO_MATCHING_SUBSCRIBERS: 0x10,
  NO_SUBSCRIPTION_EXISTED: 0x11,
  CONTINUE_AUTHENTICATION: 0x18,
  RE_AUTHENTICATE: 0x19,
  UNSPECIFIED_ERROR: 0x80,
  MALFORMED_PACKET: 0x81,
  PROTOCOL_ERROR: 0x82,
  IMPLEMENTATION_SPECIFIC_ERROR: 0x83,
  UNSUPPORTED_PROTOCOL_VERSION: 0x84,
  CLIENT_IDENTIFIER_NOT_VALID: 0x85,
  BAD_USER_NAME_OR_PASSWORD: 0x86,
  NOT_AUTHORIZED: 0x87,
  SERVER_UNAVAILABLE: 0x88,
  SERVER_BUSY: 0x89,
  BANNED: 0x8a,
  SERVER_SHUTTING_DOWN: 0x8b,
  BAD_AUTHENTICATION_METHOD: 0x8c,
  KEEP_ALIVE_TIMEOUT: 0x8d,
  SESSION_TAKEN_OVER: 0x8e,
  TOPIC_FILTER_INVALID: 0x8f,
  TOPIC_NAME_INVALID: 0x90,
  PACKET_IDENTIFIER_IN_USE: 0x91,
  PACKET_IDENTIFIER_NOT_FOUND: 0x92,
  RECEIVE_MAXIMUM_EXCEEDED: 0x93,
  TOPIC_ALIAS_INVALID: 0x94,
  PACKET_TOO_LARGE: 0x95,
  MESSAGE_RATE_TOO_HIGH: 0x96,
  QUOTA_EXCEEDED: 0x97,
  ADMINISTRATIVE_ACTION: 0x98,
  PAYLOAD_FORMAT_INVALID: 0x99,
  RETAIN_NOT_SUPPORTED: 0x9a,
  QOS_NOT_SUPPORTED: 0x9b,
  USE_ANOTHER_SERVER: 0x9c,
  SERVER_MOVED: 0x9d,
  SHARED_SUBSCRIPTIONS_NOT_SUPPORTED: 0x9e,
  CONNECTION_RATE_EXCEEDED: 0x9f,
  MAXIMUM_CONNECT_TIME: 0xa0,
  SUBSCRIPTION_IDENTIFIERS_NOT_SUPPORTED: 0xa1,
  WILDCARD_SUBSCRIPTIONS_NOT_SUPPORTED: 0xa2,
} as const;

/** The normative statement that limits each packet to its own reason codes. */
export const REASON_CODE_RULES: Readonly<Record<ReasonCodePacket, string>> = {
  connack: 'MQTT-3.2.2-8',
  puback: 'MQTT-3.4.2-1',
  pubrec: 'MQTT-3.5.2-1',
  pubrel: 'MQTT-3.6.2-1',
  pubcomp: 'MQTT-3.7.2-1',
  suback: 'MQTT-3.9.3-2',
  unsuback: 'MQTT-3.11.3-2',
  disconnect: 'MQTT-3.14.2-1',
  auth: 'MQTT-3.15.2-1',
};

const TYPE_CODES: Readonly<Record<ReasonCodePacket, number>> = {
  connack: 2,
  puback: 4,
  pubrec: 5,
  pubrel: 6,
  pubcomp: 7,
  suback: 9,
  unsuback: 11,
  disconnect: 14,
  auth: 15,
};

/** Per reason code, a bit per packet type code that allows it: one lookup per check. */
const ALLOWED = new Uint16Array(256);
/** Name of each code per packet type code, for messages. */
const NAMES = new Map<number, string>();
for (const entry of REASON_CODES) {
  for (const packet of entry.packets) {
    const type = TYPE_CODES[packet];
    ALLOWED[entry.code] = (ALLOWED[entry.code] as number) | (1 << type);
    NAMES.set((type << 8) | entry.code, entry.name);
  }
}

/** True when `code` is a reason code the packet type with number `typeCode` may carry. */
export function reasonCodeAllowed(code: number, typeCode: number): boolean {
  // Out of range or fractional codes index nothing: undefined, hence not allowed.
  return ((ALLOWED[code] ?? 0) & (1 << typeCode)) !== 0;
}

/** True when `code` is a reason code `packet` may carry in MQTT 5.0. */
export function isReasonCodeAllowed(code: number, packet: ReasonCodePacket): boolean {
  return Number.isInteger(code) && reasonCodeAllowed(code, TYPE_CODES[packet]);
}

/**
 * The specification's name of a reason code in a packet (`'Quota exceeded'`), or undefined
 * when that packet may not carry it.
 */
export function reasonCodeName(
  code: number,
  packet: ReasonCodePacket | PacketType,
): string | undefined {
  const type = (TYPE_CODES as Record<string, number | undefined>)[packet];
  return type === undefined ? undefined : NAMES.get((type << 8) | code);
}
