/**
 * The arguments of `publish` and `subscribe`, checked before anything is queued or sent:
 * a bad value is refused with a typed error naming the field.
 *
 * @module
 */

import { InvalidOptionError, PacketTooLargeError } from '../errors.js';
import { checkKnownKeys, checkObject, typeName } from '../option-checks.js';
import type {
  ProtocolVersion,
  QoS,
  Subscription as SubscriptionRequest,
  UserProperties,
} from '../packet/types.js';
import { parseSharedFilter, validateTopicFilter, validateTopicName } from '../topic/index.js';
import { SUBSCRIBE_HINTS, SUBSCRIBE_KEYS } from './option-keys.js';
import { resolveUserProperties, toBytes } from './options.js';
import type { FilterRequest, PublishOptions, SubscribeOptions } from './types.js';

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
}

/** Checks a publish: topic, QoS, `resolveOn`, and that the packet fits MQTT's size limit. */
export function checkPublish(
  topic: string,
  payload: string | Uint8Array,
  options: PublishOptions,
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
  // A UTF-8 topic is at most 3 bytes per UTF-16 unit: measure exactly only near the limit.
  const fixed = 2 + (qos > 0 ? 2 : 0) + bytes.byteLength;
  if (fixed + 3 * topic.length > MAX_REMAINING_LENGTH) {
    const size = fixed + textEncoder.encode(topic).byteLength;
    if (size > MAX_REMAINING_LENGTH) {
      throw new PacketTooLargeError(size + 5, MAX_REMAINING_LENGTH + 5);
    }
  }
  return { payload: bytes, qos, retain, resolveOn };
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

function optionalBoolean(options: SubscribeOptions, field: 'noLocal' | 'retainAsPublished'): boolean {
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
