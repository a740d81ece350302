/**
 * The CONNECT strings a user configures: client id, user name, password. Checked when the
 * options are given, with the field named, so that a value the encoder would refuse never
 * reaches a connection attempt (where it would fail again on every retry). The agent's
 * configuration calls the same functions.
 *
 * @module
 */

import { InvalidOptionError } from '../errors.js';
import { typeName } from '../option-checks.js';
import { loneSurrogateIndex, utf8Length } from '../utf16.js';

/** Largest string or binary field an MQTT 3.1.1 length prefix can carry, in bytes. */
export const MAX_MQTT_STRING_BYTES = 65_535;

/**
 * Validates an MQTT UTF-8 string [MQTT-1.5.3]: a string, well-formed (no lone UTF-16
 * surrogate, which has no UTF-8 encoding [MQTT-1.5.3-1]), without U+0000 [MQTT-1.5.3-2], at
 * most 65,535 bytes of UTF-8. The value is never echoed in the error.
 *
 * @param field dotted name of the field, used in the error, e.g. `'will.topic'`
 * @throws {@link InvalidOptionError} naming `field`
 */
export function validateMqttString(value: unknown, field: string): asserts value is string {
  if (typeof value !== 'string') {
    throw new InvalidOptionError(field, `must be a string, got ${typeName(value)}`);
  }
  const nul = value.indexOf('\u0000');
  if (nul >= 0) {
    throw new InvalidOptionError(field, `must not contain U+0000 (at index ${nul}) [MQTT-1.5.3-2]`);
  }
  const lone = loneSurrogateIndex(value);
  if (lone >= 0) {
    throw new InvalidOptionError(
      field,
      `holds a lone UTF-16 surrogate at index ${lone}, which is not well-formed UTF-8 [MQTT-1.5.3-1]`,
    );
  }
  if (value.length > MAX_MQTT_STRING_BYTES / 3 && utf8Length(value) > MAX_MQTT_STRING_BYTES) {
    throw new InvalidOptionError(field, 'must be at most 65,535 bytes of UTF-8 [MQTT-1.5.3]');
  }
}

/**
 * Validates a client identifier as CONNECT carries it: an MQTT UTF-8 string (see
 * {@link validateMqttString}). With `clean: false` it must not be empty: the broker can only
 * keep a session for a named client [MQTT-3.1.3-7]. Brokers may accept only 1 to 23
 * characters `[0-9a-zA-Z]` [MQTT-3.1.3-5]; longer ids are allowed here since most brokers
 * take them.
 *
 * @param options.clean the clean-session flag the id is used with, when known
 * @param options.field name of the field in the error @default 'clientId'
 * @throws {@link InvalidOptionError} naming the field
 */
export function validateClientId(
  clientId: unknown,
  options: { readonly clean?: boolean; readonly field?: string } = {},
): asserts clientId is string {
  const field = options.field ?? 'clientId';
  validateMqttString(clientId, field);
  if (clientId === '' && options.clean === false) {
    throw new InvalidOptionError(
      field,
      'an empty client id requires clean: true [MQTT-3.1.3-7]; set a client id for a persistent session',
    );
  }
}

/**
 * Validates a user name as CONNECT carries it: an MQTT UTF-8 string (see
 * {@link validateMqttString}) [MQTT-3.1.3-11].
 *
 * @param field name of the field in the error @default 'username'
 * @throws {@link InvalidOptionError} naming the field
 */
export function validateUsername(
  username: unknown,
  field = 'username',
): asserts username is string {
  validateMqttString(username, field);
}

/**
 * Validates a password: binary data of at most 65,535 bytes [MQTT-3.1.3.5], given as bytes or
 * as a string sent as UTF-8 (which then must be well-formed: a lone surrogate would be sent
 * as U+FFFD, another password than the one configured). Never echoed.
 *
 * @param field name of the field in the error @default 'password'
 * @throws {@link InvalidOptionError} naming the field
 */
export function validatePassword(
  password: unknown,
  field = 'password',
): asserts password is string | Uint8Array {
  if (password instanceof Uint8Array) {
    if (password.byteLength > MAX_MQTT_STRING_BYTES) {
      throw new InvalidOptionError(field, 'must be at most 65,535 bytes');
    }
    return;
  }
  if (typeof password !== 'string') {
    throw new InvalidOptionError(field, `must be a string or bytes, got ${typeName(password)}`);
  }
  if (loneSurrogateIndex(password) >= 0) {
    throw new InvalidOptionError(
      field,
      'holds a lone UTF-16 surrogate, which has no UTF-8 encoding [MQTT-1.5.3-1]; give it as bytes',
    );
  }
  if (password.length > MAX_MQTT_STRING_BYTES / 3 && utf8Length(password) > MAX_MQTT_STRING_BYTES) {
    throw new InvalidOptionError(field, 'must be at most 65,535 bytes of UTF-8');
  }
}
