/**
 * The arguments of `publish` and `subscribe`, checked before anything is queued or sent:
 * a bad value is refused with a typed error naming the field.
 *
 * @module
 */

import { InvalidOptionError, PacketTooLargeError } from '../errors.js';
import type { QoS } from '../packet/types.js';
import { validateTopicFilter, validateTopicName } from '../topic/index.js';
import { toBytes } from './options.js';
import type { FilterRequest, PublishOptions, SubscribeOptions } from './types.js';

const MAX_REMAINING_LENGTH = 268_435_455;
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

/** Checks a subscribe: the filters with their QoS, and the `ack` mode. */
export function checkSubscribe(
  filter: string | readonly string[] | readonly FilterRequest[],
  options: SubscribeOptions,
): { readonly filters: FilterRequest[]; readonly manual: boolean } {
  const defaultQos = options.qos ?? 0;
  const ack = options.ack ?? 'auto';
  if (ack !== 'auto' && ack !== 'manual') {
    throw new InvalidOptionError('ack', `must be 'auto' or 'manual', got ${JSON.stringify(ack)}`);
  }
  const filters: FilterRequest[] = (typeof filter === 'string' ? [filter] : [...filter]).map(
    (f): FilterRequest => (typeof f === 'string' ? { topic: f, qos: defaultQos } : f),
  );
  if (filters.length === 0) {
    throw new InvalidOptionError('filter', 'at least one topic filter is required [MQTT-3.8.3-3]');
  }
  for (const entry of filters) {
    validateTopicFilter(entry.topic);
    if (entry.qos !== 0 && entry.qos !== 1 && entry.qos !== 2) {
      throw new InvalidOptionError(
        'qos',
        `must be 0, 1 or 2, got ${JSON.stringify(entry.qos)} for ${JSON.stringify(entry.topic)}`,
      );
    }
  }
  return { filters, manual: ack === 'manual' };
}

/** Checks the filters of an unsubscribe. */
export function checkUnsubscribe(filter: string | readonly string[]): string[] {
  const topics = typeof filter === 'string' ? [filter] : [...filter];
  for (const topic of topics) validateTopicFilter(topic);
  return topics;
}
