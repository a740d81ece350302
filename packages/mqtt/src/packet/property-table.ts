/**
 * The MQTT 5.0 properties (§2.2.2.2, table 2-4) as data: each identifier with its key in the
 * properties object, its data type, the packets it may appear in, and the section or statement
 * that its rules cite. `properties.ts` reads and writes them from this table.
 *
 * @module
 */

/**
 * Where a property may appear: the packet type code (1 = CONNECT ... 15 = AUTH), or 0 for the
 * Will properties of a CONNECT.
 */
export type PropertyContext = number;

/** Context of the Will properties in a CONNECT payload. */
export const WILL_CONTEXT = 0;

/** Data types of property values (§1.5, §2.2.2.2). */
export const Kind = {
  /** A byte that must be 0 or 1, kept as a number (Payload Format Indicator, Maximum QoS). */
  BYTE01: 0,
  /** A byte that must be 0 or 1, as a boolean. */
  BOOL: 1,
  U16: 2,
  U32: 3,
  VARINT: 4,
  STRING: 5,
  /** A UTF-8 string that must be a topic name (Response Topic). */
  TOPIC: 6,
  BINARY: 7,
  PAIR: 8,
} as const;
export type Kind = (typeof Kind)[keyof typeof Kind];

/** One row of the specification's table 2-4. */
export interface PropertyInfo {
  readonly id: number;
  /** Key in the properties object. */
  readonly name: string;
  /** Name in the specification, for messages. */
  readonly label: string;
  readonly kind: Kind;
  /** A bit per context (packet type code, 0 = Will) the property may appear in. */
  readonly contexts: number;
  /** The rule broken by a duplicate (and by a bad value, unless `valueRule` says otherwise). */
  readonly rule: string;
  /** The rule broken by a bad value, when it has its own statement. */
  readonly valueRule?: string;
  /** 0 is a Protocol Error. */
  readonly nonZero?: boolean;
}

const WILL = 1 << 0;
const CONNECT = 1 << 1;
const CONNACK = 1 << 2;
const PUBLISH = 1 << 3;
const PUBACK = 1 << 4;
const PUBREC = 1 << 5;
const PUBREL = 1 << 6;
const PUBCOMP = 1 << 7;
const SUBSCRIBE = 1 << 8;
const SUBACK = 1 << 9;
const UNSUBSCRIBE = 1 << 10;
const UNSUBACK = 1 << 11;
const DISCONNECT = 1 << 14;
const AUTH = 1 << 15;
const ALL =
  WILL |
  CONNECT |
  CONNACK |
  PUBLISH |
  PUBACK |
  PUBREC |
  PUBREL |
  PUBCOMP |
  SUBSCRIBE |
  SUBACK |
  UNSUBSCRIBE |
  UNSUBACK |
  DISCONNECT |
  AUTH;

/** Table 2-4 of MQTT 5.0, with the section that states each property's rules. */
const PROPERTIES: readonly PropertyInfo[] = [
  {
    id: 0x01,
    name: 'payloadFormatIndicator',
    label: 'Payload Format Indicator',
    kind: Kind.BYTE01,
    contexts: PUBLISH | WILL,
    rule: 'MQTT-3.3.2.3.2',
  },
  {
    id: 0x02,
    name: 'messageExpiryIntervalSec',
    label: 'Message Expiry Interval',
    kind: Kind.U32,
    contexts: PUBLISH | WILL,
    rule: 'MQTT-3.3.2.3.3',
  },
  {
    id: 0x03,
    name: 'contentType',
    label: 'Content Type',
    kind: Kind.STRING,
    contexts: PUBLISH | WILL,
    rule: 'MQTT-3.3.2.3.9',
  },
  {
    id: 0x08,
    name: 'responseTopic',
    label: 'Response Topic',
    kind: Kind.TOPIC,
    contexts: PUBLISH | WILL,
    rule: 'MQTT-3.3.2.3.5',
  },
  {
    id: 0x09,
    name: 'correlationData',
    label: 'Correlation Data',
    kind: Kind.BINARY,
    contexts: PUBLISH | WILL,
    rule: 'MQTT-3.3.2.3.6',
  },
  {
    id: 0x0b,
    name: 'subscriptionIdentifier',
    label: 'Subscription Identifier',
    kind: Kind.VARINT,
    contexts: PUBLISH | SUBSCRIBE,
    // Repeating it is an error only in SUBSCRIBE; 0 is an error in both (§3.3.2.3.8).
    rule: 'MQTT-3.8.2.1.2',
    valueRule: 'MQTT-3.3.2.3.8',
    nonZero: true,
  },
  {
    id: 0x11,
    name: 'sessionExpiryIntervalSec',
    label: 'Session Expiry Interval',
    kind: Kind.U32,
    contexts: CONNECT | CONNACK | DISCONNECT,
    rule: 'MQTT-3.1.2.11.2',
  },
  {
    id: 0x12,
    name: 'assignedClientIdentifier',
    label: 'Assigned Client Identifier',
    kind: Kind.STRING,
    contexts: CONNACK,
    rule: 'MQTT-3.2.2.3.7',
  },
  {
    id: 0x13,
    name: 'serverKeepAliveSec',
    label: 'Server Keep Alive',
    kind: Kind.U16,
    contexts: CONNACK,
    rule: 'MQTT-3.2.2.3.14',
  },
  {
    id: 0x15,
    name: 'authenticationMethod',
    label: 'Authentication Method',
    kind: Kind.STRING,
    contexts: CONNECT | CONNACK | AUTH,
    rule: 'MQTT-3.1.2.11.9',
  },
  {
    id: 0x16,
    name: 'authenticationData',
    label: 'Authentication Data',
    kind: Kind.BINARY,
    contexts: CONNECT | CONNACK | AUTH,
    rule: 'MQTT-3.1.2.11.10',
  },
  {
    id: 0x17,
    name: 'requestProblemInformation',
    label: 'Request Problem Information',
    kind: Kind.BOOL,
    contexts: CONNECT,
    rule: 'MQTT-3.1.2.11.7',
  },
  {
    id: 0x18,
    name: 'willDelayIntervalSec',
    label: 'Will Delay Interval',
    kind: Kind.U32,
    contexts: WILL,
    rule: 'MQTT-3.1.3.2.2',
  },
  {
    id: 0x19,
    name: 'requestResponseInformation',
    label: 'Request Response Information',
    kind: Kind.BOOL,
    contexts: CONNECT,
    rule: 'MQTT-3.1.2.11.6',
  },
  {
    id: 0x1a,
    name: 'responseInformation',
    label: 'Response Information',
    kind: Kind.STRING,
    contexts: CONNACK,
    rule: 'MQTT-3.2.2.3.15',
  },
  {
    id: 0x1c,
    name: 'serverReference',
    label: 'Server Reference',
    kind: Kind.STRING,
    contexts: CONNACK | DISCONNECT,
    rule: 'MQTT-3.2.2.3.16',
  },
  {
    id: 0x1f,
    name: 'reasonString',
    label: 'Reason String',
    kind: Kind.STRING,
    contexts: CONNACK | PUBACK | PUBREC | PUBREL | PUBCOMP | SUBACK | UNSUBACK | DISCONNECT | AUTH,
    rule: 'MQTT-3.4.2.2.2',
  },
  {
    id: 0x21,
    name: 'receiveMaximum',
    label: 'Receive Maximum',
    kind: Kind.U16,
    contexts: CONNECT | CONNACK,
    rule: 'MQTT-3.1.2.11.3',
    nonZero: true,
  },
  {
    id: 0x22,
    name: 'topicAliasMaximum',
    label: 'Topic Alias Maximum',
    kind: Kind.U16,
    contexts: CONNECT | CONNACK,
    rule: 'MQTT-3.1.2.11.5',
  },
  {
    id: 0x23,
    name: 'topicAlias',
    label: 'Topic Alias',
    kind: Kind.U16,
    contexts: PUBLISH,
    rule: 'MQTT-3.3.2.3.4',
    valueRule: 'MQTT-3.3.2-8',
    nonZero: true,
  },
  {
    id: 0x24,
    name: 'maximumQos',
    label: 'Maximum QoS',
    kind: Kind.BYTE01,
    contexts: CONNACK,
    rule: 'MQTT-3.2.2.3.4',
  },
  {
    id: 0x25,
    name: 'retainAvailable',
    label: 'Retain Available',
    kind: Kind.BOOL,
    contexts: CONNACK,
    rule: 'MQTT-3.2.2.3.5',
  },
  {
    id: 0x26,
    name: 'userProperties',
    label: 'User Property',
    kind: Kind.PAIR,
    contexts: ALL,
    rule: 'MQTT-3.1.2.11.8',
  },
  {
    id: 0x27,
    name: 'maximumPacketSizeBytes',
    label: 'Maximum Packet Size',
    kind: Kind.U32,
    contexts: CONNECT | CONNACK,
    rule: 'MQTT-3.1.2.11.4',
    nonZero: true,
  },
  {
    id: 0x28,
    name: 'wildcardSubscriptionAvailable',
    label: 'Wildcard Subscription Available',
    kind: Kind.BOOL,
    contexts: CONNACK,
    rule: 'MQTT-3.2.2.3.11',
  },
  {
    id: 0x29,
    name: 'subscriptionIdentifiersAvailable',
    label: 'Subscription Identifiers Available',
    kind: Kind.BOOL,
    contexts: CONNACK,
    rule: 'MQTT-3.2.2.3.12',
  },
  {
    id: 0x2a,
    name: 'sharedSubscriptionAvailable',
    label: 'Shared Subscription Available',
    kind: Kind.BOOL,
    contexts: CONNACK,
    rule: 'MQTT-3.2.2.3.13',
  },
];

/** Name of each context in messages: the packet, or the Will. */
export const CONTEXT_NAMES: readonly string[] = [
  'the Will',
  'CONNECT',
  'CONNACK',
  'PUBLISH',
  'PUBACK',
  'PUBREC',
  'PUBREL',
  'PUBCOMP',
  'SUBSCRIBE',
  'SUBACK',
  'UNSUBSCRIBE',
  'UNSUBACK',
  'PINGREQ',
  'PINGRESP',
  'DISCONNECT',
  'AUTH',
];

/** Rule for an identifier unknown or not valid for its packet (§2.2.2.2). */
export const IDENTIFIER_RULE = 'MQTT-2.2.2.2';

/** The Subscription Identifier: kept as an array in PUBLISH, where it may repeat. */
const SUBSCRIPTION_IDENTIFIER = 0x0b;
const PUBLISH_CONTEXT = 3;

export const BY_ID: readonly (PropertyInfo | undefined)[] = (() => {
  const byId: (PropertyInfo | undefined)[] = new Array(128).fill(undefined);
  for (const p of PROPERTIES) byId[p.id] = p;
  return byId;
})();

/** The key of a property in the object of a context. */
export function keyOf(info: PropertyInfo, context: PropertyContext): string {
  return info.id === SUBSCRIPTION_IDENTIFIER && context === PUBLISH_CONTEXT
    ? 'subscriptionIdentifiers'
    : info.name;
}

/** Per context, its properties in identifier order (the order the encoder writes them in). */
export const BY_CONTEXT: readonly (readonly PropertyInfo[])[] = Array.from(
  { length: 16 },
  (_, context) => PROPERTIES.filter((p) => (p.contexts & (1 << context)) !== 0),
);

/**
 * Rows of table 2-4 as data: identifier, key in the properties object, name in the
 * specification, and the contexts (packet type codes, 0 = Will) where it is allowed.
 */
export function propertyTable(): readonly {
  readonly id: number;
  readonly name: string;
  readonly label: string;
  readonly contexts: readonly PropertyContext[];
}[] {
  return PROPERTIES.map((p) => ({
    id: p.id,
    name: p.name,
    label: p.label,
    contexts: Array.from({ length: 16 }, (_, c) => c).filter((c) => (p.contexts & (1 << c)) !== 0),
  }));
}
