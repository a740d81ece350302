/**
 * MQTT 5.0 Will properties (§3.1.3.2): validated when the `will` option or
 * `client.setWill()` is given, with the field named, so that nothing the encoder or the broker
 * would refuse reaches a CONNECT (where it would fail again on every reconnect).
 *
 * @module
 */

import { InvalidOptionError, InvalidTopicError } from '../errors.js';
import { checkKnownKeys, checkObject, typeName } from '../option-checks.js';
import type { UserProperties, WillProperties } from '../packet/types.js';
import { validateTopicName } from '../topic/index.js';
import { MAX_MQTT_STRING_BYTES, validateMqttString } from './mqtt-strings.js';
import { WILL_PROPERTY_KEYS } from './option-keys.js';
import type { WillPropertiesOptions } from './option-types.js';

export type { WillPropertiesOptions } from './option-types.js';

const FOUR_BYTE_MAX = 0xffff_ffff;
const utf8 = new TextDecoder('utf-8', { fatal: true });
const encoder = new TextEncoder();

function interval(field: string, value: unknown): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 0 || value > FOUR_BYTE_MAX) {
    throw new InvalidOptionError(
      field,
      `must be an integer from 0 to ${FOUR_BYTE_MAX}, got ${JSON.stringify(value)}`,
    );
  }
  return value;
}

/**
 * Validates the Will properties and returns them as the CONNECT carries them; values equal
 * to the wire's default are left out.
 *
 * @param payload - the Will payload, checked as UTF-8 when `payloadFormatIndicator` is 1
 * @param resolveUserProperties - the client's check of User Properties (bounded in number)
 * @throws {@link InvalidOptionError} naming `will.properties.<field>`
 */
export function resolveWillProperties(
  value: unknown,
  payload: Uint8Array,
  resolveUserProperties: (value: unknown, field: string) => UserProperties,
): WillProperties {
  const prefix = 'will.properties';
  checkObject(value, prefix);
  checkKnownKeys(value, WILL_PROPERTY_KEYS, `${prefix}.`);
  const p = value as WillPropertiesOptions;
  const out: {
    -readonly [K in keyof WillProperties]: WillProperties[K];
  } = {};
  if (p.willDelayIntervalSec !== undefined) {
    const delay = interval(`${prefix}.willDelayIntervalSec`, p.willDelayIntervalSec);
    if (delay !== 0) out.willDelayIntervalSec = delay;
  }
  if (p.payloadFormatIndicator !== undefined) {
    const format = p.payloadFormatIndicator;
    if (format !== 0 && format !== 1) {
      throw new InvalidOptionError(
        `${prefix}.payloadFormatIndicator`,
        `must be 0 (bytes) or 1 (UTF-8 text), got ${JSON.stringify(format)}`,
      );
    }
    if (format === 1) {
      try {
        utf8.decode(payload);
      } catch {
        // §3.1.3.2.3: the broker may refuse the CONNECT for it (0x99); say so now.
        throw new InvalidOptionError(
          'will.payload',
          'is not well-formed UTF-8, but will.properties.payloadFormatIndicator is 1 (UTF-8 text)',
        );
      }
      out.payloadFormatIndicator = 1;
    }
  }
  if (p.messageExpiryIntervalSec !== undefined) {
    out.messageExpiryIntervalSec = interval(
      `${prefix}.messageExpiryIntervalSec`,
      p.messageExpiryIntervalSec,
    );
  }
  if (p.contentType !== undefined) {
    validateMqttString(p.contentType, `${prefix}.contentType`);
    out.contentType = p.contentType;
  }
  if (p.responseTopic !== undefined) {
    const field = `${prefix}.responseTopic`;
    validateMqttString(p.responseTopic, field);
    try {
      // A Response Topic is a topic name: no wildcards [MQTT-3.3.2-14].
      validateTopicName(p.responseTopic);
    } catch (error) {
      if (error instanceof InvalidTopicError) throw new InvalidOptionError(field, error.message);
      throw error;
    }
    out.responseTopic = p.responseTopic;
  }
  if (p.correlationData !== undefined) {
    const field = `${prefix}.correlationData`;
    const data = p.correlationData;
    if (typeof data !== 'string' && !(data instanceof Uint8Array)) {
      throw new InvalidOptionError(field, `must be a string or bytes, got ${typeName(data)}`);
    }
    if (typeof data === 'string') validateMqttString(data, field);
    const bytes = typeof data === 'string' ? encoder.encode(data) : data;
    if (bytes.byteLength > MAX_MQTT_STRING_BYTES) {
      throw new InvalidOptionError(field, 'must be at most 65,535 bytes');
    }
    out.correlationData = bytes;
  }
  if (p.userProperties !== undefined) {
    const pairs = resolveUserProperties(p.userProperties, `${prefix}.userProperties`);
    if (pairs.length > 0) out.userProperties = pairs;
  }
  return out;
}
