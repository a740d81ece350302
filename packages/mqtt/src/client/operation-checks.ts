/**
 * The arguments of `publish` and `subscribe`, checked before anything is queued or sent:
 * a bad value is refused with a typed error naming the field.
 *
 * @module
 */

import { InvalidOptionError, InvalidTopicError, PacketTooLargeError } from '../errors.js';
import { checkKnownKeys, checkObject } from '../option-checks.js';
import type {
  DisconnectProperties,
  ProtocolVersion,
  QoS,
  Subscription as SubscriptionRequest,
  UserProperties,
} from '../packet/types.js';
import { isWellFormedUtf8 } from '../packet/utf8.js';
import { parseSharedFilter, validateTopicFilter, validateTopicName } from '../topic/index.js';
import { MAX_MQTT_STRING_BYTES, validateMqttString } from './mqtt-strings.js';
import { END_KEYS, END_PROPERTY_KEYS, SUBSCRIBE_HINTS, SUBSCRIBE_KEYS } from './option-keys.js';
import { resolveUserProperties, toBytes } from './options.js';
import type {
  EndOptions,
  FilterRequest,
  OutgoingPublishProperties,
  PublishOptions,
  SubscribeOptions,
} from './types.js';

const MAX_REMAINING_LENGTH = 268_435_455;
/** Most filters one `subscribe()` may carry: a bound on one SUBSCRIBE packet's work. */
const MAX_FILTERS = 10_000;
const textEncoder = new TextEncoder();

/** A publish's checked arguments. */
export interface CheckedPublish {
  readonly payload: Uint8Array;
  readonly qos: QoS;
  readonly retain: boolean;
  readonly resolveOn: 'completed' | 'stored';
  /** MQTT 5.0 properties, checked; undefined when none were given. */
  readonly properties: OutgoingPublishProperties | undefined;
}

/** The keys of {@link OutgoingPublishProperties}: anything else is refused, not dropped. */
const PROPERTY_KEYS: ReadonlySet<string> = new Set([
  'payloadFormatIndicator',
  'messageExpiryIntervalSec',
  'contentType',
  'responseTopic',
  'correlationData',
  'userProperties',
]);

/**
 * At most this many user properties on one publish: each costs at least 5 bytes on the wire
 * and an entry per message in memory and in the store; a bound keeps a runaway loop from
 * building a packet no broker takes.
 */
export const MAX_USER_PROPERTIES = 4096;

const typeName = (v: unknown): string =>
  v === null ? 'null' : Array.isArray(v) ? 'an array' : typeof v;

/**
 * Checks MQTT 5.0 publish properties (§3.3.2.3) and returns their size on the wire (the
 * property section without its length prefix): every string a well-formed MQTT string
 * [MQTT-1.5.4-1], [MQTT-1.5.4-2], the response topic a topic name without wildcards
 * [MQTT-3.3.2-14], and with Payload Format Indicator 1 the payload well-formed UTF-8
 * (§3.3.2.3.2: the receiver may refuse it with 0x99, so it is caught before the wire).
 */
export function checkPublishProperties(
  properties: unknown,
  payload: Uint8Array,
  protocolVersion: ProtocolVersion,
): number {
  const field = 'properties';
  if (typeof properties !== 'object' || properties === null || Array.isArray(properties)) {
    throw new InvalidOptionError(field, `must be an object, got ${typeName(properties)}`);
  }
  if (protocolVersion !== 5) {
    // Dropping them silently would deliver a message its subscriber cannot interpret.
    throw new InvalidOptionError(
      field,
      `are MQTT 5.0 only; this client speaks ${protocolVersion === 4 ? 'MQTT 3.1.1' : 'MQTT 3.1'} (set protocolVersion: 5)`,
    );
  }
  const p = properties as Record<string, unknown>;
  for (const key of Object.keys(p)) {
    if (p[key] === undefined) continue;
    if (!PROPERTY_KEYS.has(key)) {
      throw new InvalidOptionError(
        `${field}.${key}`,
        key === 'topicAlias'
          ? 'is assigned by the client (see the topicAliases option), not given per publish'
          : key === 'subscriptionIdentifiers'
            ? 'is sent by the server only [MQTT-3.3.4-6]'
            : `is not a publish property (known: ${[...PROPERTY_KEYS].join(', ')})`,
      );
    }
  }
  let size = 0;
  const format = p.payloadFormatIndicator;
  if (format !== undefined) {
    if (format !== 0 && format !== 1) {
      throw new InvalidOptionError(
        `${field}.payloadFormatIndicator`,
        `must be 0 or 1, got ${JSON.stringify(format)}`,
      );
    }
    if (format === 1 && !isWellFormedUtf8(payload)) {
      throw new InvalidOptionError(
        `${field}.payloadFormatIndicator`,
        'is 1 (UTF-8 text) but the payload is not well-formed UTF-8 (§3.3.2.3.2)',
      );
    }
    size += 2;
  }
  if (p.messageExpiryIntervalSec !== undefined) {
    checkSeconds(p.messageExpiryIntervalSec, `${field}.messageExpiryIntervalSec`);
    size += 5;
  }
  if (p.contentType !== undefined) {
    validateMqttString(p.contentType, `${field}.contentType`);
    size += 3 + textEncoder.encode(p.contentType).byteLength;
  }
  const responseTopic = p.responseTopic;
  if (responseTopic !== undefined) {
    validateMqttString(responseTopic, `${field}.responseTopic`);
    try {
      validateTopicName(responseTopic);
    } catch (error) {
      if (!(error instanceof InvalidTopicError)) throw error;
      throw new InvalidOptionError(
        `${field}.responseTopic`,
        `must be a topic name without wildcards [MQTT-3.3.2-14]: ${error.message}`,
      );
    }
    size += 3 + textEncoder.encode(responseTopic).byteLength;
  }
  const correlation = p.correlationData;
  if (correlation !== undefined) {
    if (!(correlation instanceof Uint8Array)) {
      throw new InvalidOptionError(
        `${field}.correlationData`,
        `must be a Uint8Array, got ${typeName(correlation)}`,
      );
    }
    if (correlation.byteLength > MAX_MQTT_STRING_BYTES) {
      throw new InvalidOptionError(
        `${field}.correlationData`,
        `must be at most 65,535 bytes, got ${correlation.byteLength}`,
      );
    }
    size += 3 + correlation.byteLength;
  }
  if (p.userProperties !== undefined) size += checkUserProperties(p.userProperties, field);
  return size;
}

/**
 * Checks `<field>.userProperties`: an array of at most {@link MAX_USER_PROPERTIES} [name,
 * value] pairs of MQTT strings. Returns their size on the wire.
 */
function checkUserProperties(user: unknown, field: string): number {
  if (!Array.isArray(user)) {
    throw new InvalidOptionError(
      `${field}.userProperties`,
      `must be an array of [name, value] pairs, got ${typeName(user)}`,
    );
  }
  if (user.length > MAX_USER_PROPERTIES) {
    throw new InvalidOptionError(
      `${field}.userProperties`,
      `must hold at most ${MAX_USER_PROPERTIES} pairs, got ${user.length}`,
    );
  }
  let size = 0;
  user.forEach((pair: unknown, i) => {
    const at = `${field}.userProperties[${i}]`;
    if (!Array.isArray(pair) || pair.length !== 2) {
      throw new InvalidOptionError(at, 'must be a [name, value] pair of strings');
    }
    validateMqttString(pair[0], `${at}[0]`);
    validateMqttString(pair[1], `${at}[1]`);
    size += 5 + textEncoder.encode(pair[0]).byteLength + textEncoder.encode(pair[1]).byteLength;
  });
  return size;
}

/** The longest delay a timer takes (a longer one fires at once). */
const MAX_TIMER_MS = 2_147_483_647;

/** What `end()` sends in its DISCONNECT, checked. */
export interface CheckedEnd {
  readonly force: boolean;
  readonly timeoutMs: number;
  /** MQTT 5.0: the reason code and properties, when given. */
  readonly disconnect: { readonly reasonCode?: number; readonly properties?: DisconnectProperties };
}

/**
 * Checks the options of `end()` before the client ends, so a bad one leaves it running: the
 * reason code one an application may choose (0x00, 0x04), the properties a client's
 * DISCONNECT may carry, all MQTT 5.0 only, and a Session Expiry Interval that does not rise
 * from a CONNECT's 0 [MQTT-3.14.2-2].
 *
 * @param connectExpirySec the Session Expiry Interval the CONNECT carried (0 when none)
 */
export function checkEnd(
  options: unknown,
  protocolVersion: ProtocolVersion,
  connectExpirySec: number,
): CheckedEnd {
  checkObject(options, 'options');
  checkKnownKeys(options, END_KEYS, '');
  const o = options as EndOptions;
  if (o.force !== undefined && typeof o.force !== 'boolean') {
    throw new InvalidOptionError('force', `must be a boolean, got ${typeName(o.force)}`);
  }
  const timeoutMs = o.timeoutMs ?? 5000;
  if (typeof timeoutMs !== 'number' || !(timeoutMs >= 0 && timeoutMs <= MAX_TIMER_MS)) {
    throw new InvalidOptionError(
      'timeoutMs',
      `must be a number of milliseconds from 0 to ${MAX_TIMER_MS}, got ${JSON.stringify(o.timeoutMs)}`,
    );
  }
  const base = { force: o.force === true, timeoutMs };
  if (o.reasonCode === undefined && o.properties === undefined) return { ...base, disconnect: {} };
  const v5Only = (field: string): InvalidOptionError =>
    new InvalidOptionError(
      field,
      `is MQTT 5.0 only; this connection speaks ${protocolVersion === 4 ? 'MQTT 3.1.1' : 'MQTT 3.1'}, whose DISCONNECT carries nothing`,
    );
  const reasonCode = o.reasonCode;
  if (reasonCode !== undefined) {
    if (reasonCode !== 0x00 && reasonCode !== 0x04) {
      throw new InvalidOptionError(
        'reasonCode',
        `must be 0x00 (Normal disconnection) or 0x04 (Disconnect with Will Message), got ${JSON.stringify(reasonCode)}`,
      );
    }
    if (protocolVersion !== 5) throw v5Only('reasonCode');
  }
  const properties = o.properties;
  if (properties === undefined) return { ...base, disconnect: { reasonCode: reasonCode! } };
  checkObject(properties, 'properties');
  if (protocolVersion !== 5) throw v5Only('properties');
  checkKnownKeys(properties, END_PROPERTY_KEYS, 'properties.');
  const expiry = properties.sessionExpiryIntervalSec;
  if (expiry !== undefined) {
    checkSeconds(expiry, 'properties.sessionExpiryIntervalSec');
    if (expiry > 0 && connectExpirySec === 0) {
      throw new InvalidOptionError(
        'properties.sessionExpiryIntervalSec',
        'must be 0: the CONNECT set no Session Expiry Interval, and a DISCONNECT may not raise it from 0 [MQTT-3.14.2-2] (set the sessionExpirySec option)',
      );
    }
  }
  if (properties.reasonString !== undefined) {
    validateMqttString(properties.reasonString, 'properties.reasonString');
  }
  if (properties.userProperties !== undefined) {
    checkUserProperties(properties.userProperties, 'properties');
  }
  return {
    ...base,
    disconnect: { ...(reasonCode === undefined ? {} : { reasonCode }), properties },
  };
}

/** Checks an interval in seconds, a Four Byte Integer on the wire (0..4,294,967,295). */
function checkSeconds(value: unknown, field: string): asserts value is number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 0 || value > 0xffffffff) {
    throw new InvalidOptionError(
      field,
      `must be an integer 0..4294967295 (seconds), got ${JSON.stringify(value)}`,
    );
  }
}

/** Bytes of a variable byte integer. */
const varintBytes = (n: number): number => (n < 128 ? 1 : n < 16_384 ? 2 : n < 2_097_152 ? 3 : 4);

/**
 * Checks a publish: topic, QoS, `resolveOn`, MQTT 5.0 properties, and that the packet fits
 * MQTT's size limit.
 */
export function checkPublish(
  topic: string,
  payload: string | Uint8Array,
  options: PublishOptions,
  protocolVersion: ProtocolVersion = 4,
): CheckedPublish {
  const qos = options.qos ?? 0;
  const retain = options.retain ?? false;
  const resolveOn = options.resolveOn ?? 'completed';
  validateTopicName(topic);
  if (qos !== 0 && qos !== 1 && qos !== 2) {
    throw new InvalidOptionError('qos', `must be 0, 1 or 2, got ${JSON.stringify(qos)}`);
  }
  if (resolveOn !== 'completed' && resolveOn !== 'stored') {
    throw new InvalidOptionError(
      'resolveOn',
      `must be 'completed' or 'stored', got ${JSON.stringify(resolveOn)}`,
    );
  }
  const bytes = toBytes(payload);
  const given = options.properties;
  const propertiesBytes =
    given === undefined ? 0 : checkPublishProperties(given, bytes, protocolVersion);
  const properties = given === undefined || propertiesBytes === 0 ? undefined : given;
  // A UTF-8 topic is at most 3 bytes per UTF-16 unit: measure exactly only near the limit.
  const fixed =
    2 +
    (qos > 0 ? 2 : 0) +
    (protocolVersion === 5 ? varintBytes(propertiesBytes) + propertiesBytes : 0) +
    bytes.byteLength;
  if (fixed + 3 * topic.length > MAX_REMAINING_LENGTH) {
    const size = fixed + textEncoder.encode(topic).byteLength;
    if (size > MAX_REMAINING_LENGTH) {
      throw new PacketTooLargeError(size + 5, MAX_REMAINING_LENGTH + 5);
    }
  }
  return { payload: bytes, qos, retain, resolveOn, properties };
}

/** A subscribe's checked arguments. */
export interface CheckedSubscribe {
  /** The filters with their QoS and, on 5.0, their subscription options. */
  readonly filters: SubscriptionRequest[];
  readonly manual: boolean;
  /** MQTT 5.0: the SUBSCRIBE's User Properties. */
  readonly userProperties?: UserProperties;
}

/** The options that only MQTT 5.0 has (the subscription options of §3.8.3.1). */
const V5_SUBSCRIBE_OPTIONS = [
  'noLocal',
  'retainAsPublished',
  'retainHandling',
  'userProperties',
] as const;

function optionalBoolean(
  options: SubscribeOptions,
  field: 'noLocal' | 'retainAsPublished',
): boolean {
  const value = options[field];
  if (value === undefined) return false;
  if (typeof value !== 'boolean') {
    throw new InvalidOptionError(field, `must be true or false, got ${typeName(value)}`);
  }
  return value;
}

/**
 * Checks a subscribe: the filters with their QoS, the `ack` mode and, on MQTT 5.0, the
 * subscription options (refused on 3.1/3.1.1, which cannot carry them: sending the
 * subscription without them would deliver what the caller asked not to get).
 */
export function checkSubscribe(
  filter: string | readonly string[] | readonly FilterRequest[],
  options: SubscribeOptions,
  protocolVersion: ProtocolVersion,
): CheckedSubscribe {
  checkObject(options, 'options');
  checkKnownKeys(options, SUBSCRIBE_KEYS, '', SUBSCRIBE_HINTS);
  const defaultQos = options.qos ?? 0;
  const ack = options.ack ?? 'auto';
  if (ack !== 'auto' && ack !== 'manual') {
    throw new InvalidOptionError('ack', `must be 'auto' or 'manual', got ${JSON.stringify(ack)}`);
  }
  if (protocolVersion !== 5) {
    const given = V5_SUBSCRIBE_OPTIONS.find((f) => options[f] !== undefined);
    if (given !== undefined) {
      throw new InvalidOptionError(given, 'is an MQTT 5.0 option: set protocolVersion: 5');
    }
  }
  const noLocal = optionalBoolean(options, 'noLocal');
  const retainAsPublished = optionalBoolean(options, 'retainAsPublished');
  const retainHandling = options.retainHandling ?? 0;
  if (retainHandling !== 0 && retainHandling !== 1 && retainHandling !== 2) {
    throw new InvalidOptionError(
      'retainHandling',
      `must be 0, 1 or 2, got ${JSON.stringify(retainHandling)} [MQTT-3.8.3-5]`,
    );
  }
  const userProperties =
    options.userProperties === undefined
      ? undefined
      : resolveUserProperties(options.userProperties, 'userProperties');
  const list: FilterRequest[] = (typeof filter === 'string' ? [filter] : [...filter]).map(
    (f): FilterRequest => (typeof f === 'string' ? { topic: f, qos: defaultQos } : f),
  );
  if (list.length === 0) {
    throw new InvalidOptionError('filter', 'at least one topic filter is required [MQTT-3.8.3-3]');
  }
  if (list.length > MAX_FILTERS) {
    throw new InvalidOptionError('filter', `at most ${MAX_FILTERS} filters, got ${list.length}`);
  }
  const filters = list.map((entry): SubscriptionRequest => {
    validateTopicFilter(entry.topic);
    if (entry.qos !== 0 && entry.qos !== 1 && entry.qos !== 2) {
      throw new InvalidOptionError(
        'qos',
        `must be 0, 1 or 2, got ${JSON.stringify(entry.qos)} for ${JSON.stringify(entry.topic)}`,
      );
    }
    if (protocolVersion !== 5) return { topic: entry.topic, qos: entry.qos };
    if (noLocal && parseSharedFilter(entry.topic) !== undefined) {
      throw new InvalidOptionError(
        'noLocal',
        `must not be set on the shared subscription ${JSON.stringify(entry.topic)} [MQTT-3.8.3-4]`,
      );
    }
    return { topic: entry.topic, qos: entry.qos, noLocal, retainAsPublished, retainHandling };
  });
  return {
    filters,
    manual: ack === 'manual',
    ...(userProperties === undefined || userProperties.length === 0 ? {} : { userProperties }),
  };
}

/** Checks the filters of an unsubscribe. */
export function checkUnsubscribe(filter: string | readonly string[]): string[] {
  const topics = typeof filter === 'string' ? [filter] : [...filter];
  for (const topic of topics) validateTopicFilter(topic);
  return topics;
}
