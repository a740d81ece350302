/**
 * The rule every configured string that goes into an MQTT packet must keep, as the library
 * checks it: one validator, not a second copy of it.
 *
 * MQTT strings are UTF-8 with a two-byte length [MQTT-1.5.3]: a JavaScript string holding a
 * lone UTF-16 surrogate has no UTF-8 form ([MQTT-1.5.3-1]; `TextEncoder` would silently send
 * U+FFFD instead, or the broker drops the connection), U+0000 is forbidden
 * [MQTT-1.5.3-2], and more than 65,535 bytes cannot be expressed. Such a value must be
 * refused when the configuration is checked: the alternative is an agent that connects,
 * is refused, and retries for ever.
 *
 * @module
 */

import {
  InvalidOptionError,
  MAX_MQTT_STRING_BYTES,
  validateMqttString,
  validatePassword,
  validatePskIdentity,
} from 'courier-mqtt';

/** The most bytes of UTF-8 an MQTT string can hold [MQTT-1.5.3]. */
export const WIRE_STRING_MAX_BYTES = MAX_MQTT_STRING_BYTES;

/**
 * What kind of wire field a value is:
 * - `string`: an MQTT UTF-8 string (client id, user name, topic);
 * - `binary`: binary data given as text (a Will message, a password): U+0000 is allowed;
 *   never echoed where it is a secret;
 * - `psk-identity`: a TLS-PSK identity (at most 128 bytes, OpenSSL's limit).
 */
export type WireKind = 'string' | 'binary' | 'psk-identity';

/**
 * Why `value` cannot be sent as the wire field `field`, or `undefined` when it can. The
 * library's own validators decide.
 * @param field what the value is, for the message (e.g. `client id`)
 */
export function checkWireString(
  value: string,
  field: string,
  kind: WireKind = 'string',
): string | undefined {
  try {
    if (kind === 'string') validateMqttString(value, field);
    else if (kind === 'binary') validatePassword(value, field);
    else validatePskIdentity(value, field);
    return undefined;
  } catch (error) {
    if (!(error instanceof InvalidOptionError)) throw error;
    // "client id: holds ..." → "the client id holds ..."
    return `the ${field} ${error.message.slice(field.length + 2)}`;
  }
}
