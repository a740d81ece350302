/**
 * The rule every configured string that goes into an MQTT packet must keep.
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

/** The most bytes of UTF-8 an MQTT string can hold [MQTT-1.5.3]. */
export const WIRE_STRING_MAX_BYTES = 65_535;

/** Options of {@link checkWireString}. */
export interface WireStringRules {
  /**
   * Whether U+0000 is allowed: true for binary data fields (a password, a payload), which
   * are bytes rather than MQTT strings. @default false
   */
  readonly allowNull?: boolean;
  /** The most bytes of UTF-8. @default {@link WIRE_STRING_MAX_BYTES} */
  readonly maxBytes?: number;
  /** A secret (a password): the message says what is wrong but not where. @default false */
  readonly secret?: boolean;
}

/**
 * Why `value` cannot be sent as the MQTT string `field`, or `undefined` when it can.
 * @param field what the value is, for the message (e.g. `client id`)
 */
export function checkWireString(
  value: string,
  field: string,
  rules: WireStringRules = {},
): string | undefined {
  // With the u flag a surrogate pair is one code point: only a lone half matches.
  const at = value.search(/\p{Surrogate}/u);
  if (at >= 0) {
    if (rules.secret === true)
      return `the ${field} holds a lone UTF-16 surrogate, which has no UTF-8 form [MQTT-1.5.3-1]`;
    return `the ${field} holds a lone UTF-16 surrogate (U+${value.charCodeAt(at).toString(16).toUpperCase()} at index ${at}), which has no UTF-8 form [MQTT-1.5.3-1]`;
  }
  if (rules.allowNull !== true && value.includes('\u0000')) {
    return `the ${field} must not contain U+0000 [MQTT-1.5.3-2]`;
  }
  const maxBytes = rules.maxBytes ?? WIRE_STRING_MAX_BYTES;
  // Three bytes per UTF-16 unit at most: a short string needs no count.
  if (value.length * 3 > maxBytes && Buffer.byteLength(value, 'utf8') > maxBytes) {
    return `the ${field} is longer than ${maxBytes.toLocaleString('en')} bytes of UTF-8`;
  }
  return undefined;
}
