/**
 * `-D <command> <property> <value>` and `-x`: MQTT 5.0 properties on the command line, as
 * `mosquitto_pub`, `mosquitto_sub` and `mosquitto_rr` 2.x take them, with their error
 * messages.
 *
 * Every property name mosquitto knows is recognised, and a property the specification does
 * not allow on a command gets mosquitto's error. What courier's library cannot carry (a
 * Topic Alias, which it assigns itself; a Subscription Identifier, also its own) is refused by
 * name before connecting, rather than silently dropped.
 *
 * @module
 */

import { checkWireString } from '../config/wire-string.js';
import { UsageError } from './connect-options.js';

/** The packets `-D` names, in mosquitto's words. */
export const PROPERTY_COMMANDS = [
  'connect',
  'connack',
  'publish',
  'puback',
  'pubrec',
  'pubrel',
  'pubcomp',
  'subscribe',
  'suback',
  'unsubscribe',
  'unsuback',
  'disconnect',
  'auth',
  'will',
] as const;

/** One of {@link PROPERTY_COMMANDS}. */
export type PropertyCommand = (typeof PROPERTY_COMMANDS)[number];

type PropertyType = 'byte' | 'int16' | 'int32' | 'varint' | 'string' | 'binary' | 'pair';

interface PropertyInfo {
  readonly type: PropertyType;
  /** The packets that may carry it (MQTT 5.0 §2.2.2.2, the table of properties). */
  readonly commands: readonly PropertyCommand[];
  /** A range narrower than the type's, where the specification gives one. */
  readonly min?: number;
  readonly max?: number;
}

const ACKS: readonly PropertyCommand[] = [
  'puback',
  'pubrec',
  'pubrel',
  'pubcomp',
  'suback',
  'unsuback',
];

/** Every MQTT 5.0 property by mosquitto's name, its type and where it may appear. */
const PROPERTIES: Readonly<Record<string, PropertyInfo>> = {
  'payload-format-indicator': { type: 'byte', commands: ['publish', 'will'], max: 1 },
  'message-expiry-interval': { type: 'int32', commands: ['publish', 'will'] },
  'content-type': { type: 'string', commands: ['publish', 'will'] },
  'response-topic': { type: 'string', commands: ['publish', 'will'] },
  'correlation-data': { type: 'binary', commands: ['publish', 'will'] },
  'subscription-identifier': {
    type: 'varint',
    commands: ['publish', 'subscribe'],
    min: 1,
    max: 268_435_455,
  },
  'session-expiry-interval': { type: 'int32', commands: ['connect', 'connack', 'disconnect'] },
  'assigned-client-identifier': { type: 'string', commands: ['connack'] },
  'server-keep-alive': { type: 'int16', commands: ['connack'] },
  'authentication-method': { type: 'string', commands: ['connect', 'connack', 'auth'] },
  'authentication-data': { type: 'binary', commands: ['connect', 'connack', 'auth'] },
  'request-problem-information': { type: 'byte', commands: ['connect'], max: 1 },
  'will-delay-interval': { type: 'int32', commands: ['will'] },
  'request-response-information': { type: 'byte', commands: ['connect'], max: 1 },
  'response-information': { type: 'string', commands: ['connack'] },
  'server-reference': { type: 'string', commands: ['connack', 'disconnect'] },
  'reason-string': { type: 'string', commands: ['connack', ...ACKS, 'disconnect', 'auth'] },
  'receive-maximum': { type: 'int16', commands: ['connect', 'connack'], min: 1 },
  'topic-alias-maximum': { type: 'int16', commands: ['connect', 'connack'] },
  'topic-alias': { type: 'int16', commands: ['publish'], min: 1 },
  'maximum-qos': { type: 'byte', commands: ['connack'], max: 1 },
  'retain-available': { type: 'byte', commands: ['connack'], max: 1 },
  'user-property': {
    type: 'pair',
    commands: [
      'connect',
      'connack',
      'publish',
      'will',
      ...ACKS,
      'subscribe',
      'unsubscribe',
      'disconnect',
      'auth',
    ],
  },
  'maximum-packet-size': { type: 'int32', commands: ['connect', 'connack'], min: 1 },
  'wildcard-subscription-available': { type: 'byte', commands: ['connack'], max: 1 },
  'subscription-identifier-available': { type: 'byte', commands: ['connack'], max: 1 },
  'shared-subscription-available': { type: 'byte', commands: ['connack'], max: 1 },
};

const TYPE_MAX: Readonly<Record<'byte' | 'int16' | 'int32' | 'varint', number>> = {
  byte: 0xff,
  int16: 0xffff,
  int32: 0xffff_ffff,
  varint: 268_435_455,
};

/**
 * Most user properties one packet gets from the command line: the library's own bound on a
 * CONNECT's, applied to every packet so that no list is unbounded.
 */
export const MAX_CLI_USER_PROPERTIES = 1000;

/**
 * Why courier cannot send a property mosquitto can, by `command property`. Anything the
 * specification allows that is not here and not in {@link SUPPORTED} is a packet the client
 * never sends (CONNACK, SUBACK ...) and gets the same refusal.
 */
const NOT_CARRIED: Readonly<Record<string, string>> = {
  'publish topic-alias': 'courier assigns topic aliases itself, within the broker’s maximum',
  'publish subscription-identifier':
    'a client may not send it in a PUBLISH [MQTT-3.3.4-6]; it is the broker’s',
  'subscribe subscription-identifier': 'courier assigns one per subscription itself',
};

/** The `command property` pairs courier carries. */
const SUPPORTED = new Set([
  'connect session-expiry-interval',
  'connect receive-maximum',
  'connect maximum-packet-size',
  'connect topic-alias-maximum',
  'connect request-response-information',
  'connect user-property',
  'publish payload-format-indicator',
  'publish message-expiry-interval',
  'publish content-type',
  'publish response-topic',
  'publish correlation-data',
  'publish user-property',
  'subscribe user-property',
  'will will-delay-interval',
  'will payload-format-indicator',
  'will message-expiry-interval',
  'will content-type',
  'will response-topic',
  'will correlation-data',
  'will user-property',
  'disconnect session-expiry-interval',
  'disconnect reason-string',
  'disconnect user-property',
]);

/** How mosquitto names a packet in its "Duplicate property" error. */
const DUPLICATE_NAME: Readonly<Partial<Record<PropertyCommand, string>>> = {
  connect: 'CONNECT',
  publish: 'PUBLISH',
  subscribe: 'SUBSCRIBE',
  will: 'Will',
  disconnect: 'DISCONNECT',
};

/** A user property, `[name, value]`, in the order given. */
export type UserProperty = readonly [string, string];

/** The properties of an outgoing PUBLISH (the library's `OutgoingPublishProperties`). */
export interface CliPublishProperties {
  payloadFormatIndicator?: 0 | 1;
  messageExpiryIntervalSec?: number;
  contentType?: string;
  responseTopic?: string;
  correlationData?: Uint8Array;
  userProperties?: UserProperty[];
}

/**
 * The Will properties (MQTT 5.0 §3.1.3.2), as the library's `will.properties` takes them: a
 * PUBLISH's, and the Will Delay Interval.
 */
export interface CliWillProperties extends CliPublishProperties {
  willDelayIntervalSec?: number;
}

/** What `-D` and `-x` asked for, sorted by packet. */
export interface CliProperties {
  readonly connect: {
    sessionExpirySec?: number;
    receiveMaximum?: number;
    maxPacketSize?: number;
    topicAliasMaximum?: number;
    requestResponseInformation?: boolean;
    userProperties?: UserProperty[];
  };
  readonly publish: CliPublishProperties;
  readonly subscribe: { userProperties?: UserProperty[] };
  /** `-D will ...`: sent in the CONNECT with the Will, so they need `--will-topic`. */
  readonly will: CliWillProperties;
  /** `-D disconnect ...`: sent in the DISCONNECT that ends the tool (`end({ properties })`). */
  readonly disconnect: {
    sessionExpiryIntervalSec?: number;
    reasonString?: string;
    userProperties?: UserProperty[];
  };
  /** Whether any `-D` was given. */
  readonly any: boolean;
}

/** An empty {@link CliProperties}. */
export function noProperties(): CliProperties {
  return { connect: {}, publish: {}, subscribe: {}, will: {}, disconnect: {}, any: false };
}

const usage = (text: string) => new UsageError(`Error: ${text}`);

/** mosquitto's `atol`-like reading of a number, but refusing what is not a whole number. */
function wholeNumber(value: string, name: string, min: number, max: number): number {
  const n = /^\s*-?\d+\s*$/.test(value) ? Number(value) : Number.NaN;
  if (!Number.isSafeInteger(n) || n < min || n > max) {
    throw usage(`Property value (${value}) out of range for property ${name}.`);
  }
  return n;
}

function wireString(value: string, name: string, kind: 'string' | 'binary'): string {
  const why = checkWireString(value, `${name} value`, kind);
  if (why !== undefined) throw usage(`Invalid value for property ${name}: ${why}.`);
  return value;
}

/**
 * Parses the flat list the command line collected for `-D` (every `-D` adds its words:
 * `command property value`, or `command user-property name value`) into properties.
 * @param allowed the commands this tool sends (`pub`: connect, publish, will ...)
 * @throws {UsageError} with mosquitto's message for a missing word, an unknown command or
 *   property, a property the command may not carry, a value out of range, or a property
 *   other than a user property given twice for one packet; and naming the
 *   property for one courier cannot carry
 */
export function parseProperties(
  words: readonly string[],
  allowed: readonly PropertyCommand[],
): CliProperties {
  const out = noProperties();
  const pairs = (list: UserProperty[] | undefined, pair: UserProperty): UserProperty[] => {
    const next = [...(list ?? []), pair];
    if (next.length > MAX_CLI_USER_PROPERTIES) {
      throw usage(`at most ${MAX_CLI_USER_PROPERTIES} user-property values per packet.`);
    }
    return next;
  };
  // A property other than a User Property may appear once per packet (MQTT 5.0 §2.2.2.2, "It
  // is a Protocol Error to include ... more than once"); mosquitto refuses the second -D.
  const seen = new Set<string>();
  let i = 0;
  while (i < words.length) {
    const [cmdName, propName] = [words[i], words[i + 1]];
    if (cmdName === undefined || propName === undefined || words[i + 2] === undefined) {
      throw usage('--property argument given but not enough arguments specified.');
    }
    if (!(PROPERTY_COMMANDS as readonly string[]).includes(cmdName)) {
      throw usage('Invalid command given in --property argument.');
    }
    const cmd = cmdName as PropertyCommand;
    const info = PROPERTIES[propName];
    if (info === undefined) throw usage('Invalid property name given in --property argument.');
    if (!info.commands.includes(cmd)) {
      throw usage(`${propName} property not allowed for ${cmd} in --property argument.`);
    }
    const arity = info.type === 'pair' ? 2 : 1;
    if (words.length < i + 2 + arity) {
      throw usage('--property argument given but not enough arguments specified.');
    }
    const value = words[i + 2] as string;
    const second = words[i + 3] as string;
    i += 2 + arity;
    // Range first, as mosquitto does, then whether courier sends it at all.
    let number = 0;
    if (info.type === 'pair') {
      wireString(value, propName, 'string');
      wireString(second, propName, 'string');
    } else if (info.type === 'string' || info.type === 'binary') {
      wireString(value, propName, info.type);
    } else {
      number = wholeNumber(value, propName, info.min ?? 0, info.max ?? TYPE_MAX[info.type]);
    }
    const key = `${cmd} ${propName}`;
    if (!SUPPORTED.has(key)) {
      throw usage(
        `${propName} property for ${cmd} is not supported by courier (${NOT_CARRIED[key] ?? 'courier does not send it'}).`,
      );
    }
    if (!allowed.includes(cmd)) {
      throw usage(`${cmd} properties are not used by this command.`);
    }
    if (info.type !== 'pair') {
      if (seen.has(key)) {
        throw new UsageError(
          `Error in ${DUPLICATE_NAME[cmd] ?? cmd} properties: Duplicate property in property list`,
        );
      }
      seen.add(key);
    }
    const c = out.connect;
    const p = out.publish;
    const w = out.will;
    switch (key) {
      case 'connect session-expiry-interval':
        c.sessionExpirySec = number;
        break;
      case 'connect receive-maximum':
        c.receiveMaximum = number;
        break;
      case 'connect maximum-packet-size':
        // The library's bound: a packet holds at least a fixed header and a length byte.
        if (number < 2)
          throw usage(`Property value (${value}) out of range for property ${propName}.`);
        c.maxPacketSize = Math.min(number, 268_435_460);
        break;
      case 'connect topic-alias-maximum':
        c.topicAliasMaximum = number;
        break;
      case 'connect request-response-information':
        c.requestResponseInformation = number === 1;
        break;
      case 'connect user-property':
        c.userProperties = pairs(c.userProperties, [value, second]);
        break;
      case 'publish payload-format-indicator':
        p.payloadFormatIndicator = number as 0 | 1;
        break;
      case 'publish message-expiry-interval':
        p.messageExpiryIntervalSec = number;
        break;
      case 'publish content-type':
        p.contentType = value;
        break;
      case 'publish response-topic':
        p.responseTopic = value;
        break;
      case 'publish correlation-data':
        p.correlationData = new TextEncoder().encode(value);
        break;
      case 'publish user-property':
        p.userProperties = pairs(p.userProperties, [value, second]);
        break;
      case 'subscribe user-property':
        out.subscribe.userProperties = pairs(out.subscribe.userProperties, [value, second]);
        break;
      case 'will will-delay-interval':
        w.willDelayIntervalSec = number;
        break;
      case 'will payload-format-indicator':
        w.payloadFormatIndicator = number as 0 | 1;
        break;
      case 'will message-expiry-interval':
        w.messageExpiryIntervalSec = number;
        break;
      case 'will content-type':
        w.contentType = value;
        break;
      case 'will response-topic':
        w.responseTopic = value;
        break;
      case 'will correlation-data':
        w.correlationData = new TextEncoder().encode(value);
        break;
      case 'will user-property':
        w.userProperties = pairs(w.userProperties, [value, second]);
        break;
      case 'disconnect session-expiry-interval':
        out.disconnect.sessionExpiryIntervalSec = number;
        break;
      case 'disconnect reason-string':
        out.disconnect.reasonString = value;
        break;
      case 'disconnect user-property':
        out.disconnect.userProperties = pairs(out.disconnect.userProperties, [value, second]);
        break;
    }
  }
  return { ...out, any: words.length > 0 };
}

/** The largest session expiry, "never expires" [MQTT-3.1.2-11 ff.]. */
export const SESSION_NEVER_EXPIRES = 0xffff_ffff;

/**
 * Reads `-x`: 0..4294967295 seconds, or `-1` / `∞` for a session that never expires, as
 * mosquitto_pub's `-x` does.
 * @throws {UsageError} for anything else
 */
export function parseSessionExpiry(value: string): number {
  if (value === '-1' || value === '∞') return SESSION_NEVER_EXPIRES;
  const n = /^\d+$/.test(value) ? Number(value) : Number.NaN;
  if (!Number.isSafeInteger(n) || n > SESSION_NEVER_EXPIRES) {
    throw usage(
      `Invalid session-expiry-interval given with -x (${value}): 0 to 4294967295 seconds, or -1 (never expires).`,
    );
  }
  return n;
}
