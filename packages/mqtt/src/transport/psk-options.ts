/**
 * TLS-PSK options checked before any connection: a malformed key or identity is refused at
 * once with the field named (and the key never echoed), instead of failing every connection
 * attempt.
 *
 * @module
 */

import { InvalidOptionError } from '../errors.js';
import { checkKnownKeys, checkObject, type KnownKeys, typeName } from '../option-checks.js';
import { loneSurrogateIndex, utf8Length } from '../utf16.js';
import { optionalString } from './tls-options.js';
import type { PskOptions } from './types.js';

/** Largest PSK identity, in bytes of UTF-8: OpenSSL 1.1.1's limit, which brokers still link. */
export const MAX_PSK_IDENTITY_BYTES = 128;
/** Largest pre-shared key, in bytes (twice as many hex digits): OpenSSL 1.1.1's limit. */
export const MAX_PSK_KEY_BYTES = 256;

const PSK_KEYS = {
  identity: true,
  key: true,
  ciphers: true,
} as const satisfies KnownKeys<PskOptions>;

/**
 * The pre-shared key as bytes: hex digits, an even number of them, 1 to
 * {@link MAX_PSK_KEY_BYTES} bytes. The key is never echoed.
 *
 * @throws {@link InvalidOptionError} naming `field`
 */
export function pskKeyBytes(hex: unknown, field = 'psk.key'): Buffer {
  if (typeof hex !== 'string' || hex === '') {
    throw new InvalidOptionError(field, 'must be a non-empty string of hexadecimal digits');
  }
  if (hex.length > MAX_PSK_KEY_BYTES * 2) {
    throw new InvalidOptionError(
      field,
      `must be at most ${MAX_PSK_KEY_BYTES * 2} hexadecimal digits (${MAX_PSK_KEY_BYTES} bytes)`,
    );
  }
  if (!/^[0-9a-fA-F]+$/.test(hex)) {
    throw new InvalidOptionError(field, 'must hold only hexadecimal digits 0-9, a-f');
  }
  if (hex.length % 2 !== 0) {
    throw new InvalidOptionError(
      field,
      'must be an even number of hexadecimal digits (whole bytes)',
    );
  }
  return Buffer.from(hex, 'hex');
}

/**
 * Validates a pre-shared key given as hex digits (see {@link pskKeyBytes}).
 *
 * @throws {@link InvalidOptionError} naming `field`; the key is never echoed
 */
export function validatePskKey(hex: unknown, field = 'psk.key'): asserts hex is string {
  pskKeyBytes(hex, field);
}

/**
 * Validates a PSK identity: a non-empty UTF-8 string (well-formed, no U+0000, which would cut
 * it short in OpenSSL) of at most {@link MAX_PSK_IDENTITY_BYTES} bytes.
 *
 * @throws {@link InvalidOptionError} naming `field`
 */
export function validatePskIdentity(
  identity: unknown,
  field = 'psk.identity',
): asserts identity is string {
  if (typeof identity !== 'string' || identity === '') {
    throw new InvalidOptionError(field, `must be a non-empty string, got ${typeName(identity)}`);
  }
  if (identity.includes('\u0000')) throw new InvalidOptionError(field, 'must not contain U+0000');
  if (loneSurrogateIndex(identity) >= 0) {
    throw new InvalidOptionError(
      field,
      'holds a lone UTF-16 surrogate, which is not well-formed UTF-8',
    );
  }
  if (utf8Length(identity) > MAX_PSK_IDENTITY_BYTES) {
    throw new InvalidOptionError(field, `must be at most ${MAX_PSK_IDENTITY_BYTES} bytes of UTF-8`);
  }
}

/**
 * Checks TLS-PSK options: identity (see {@link validatePskIdentity}), key (see
 * {@link pskKeyBytes}), cipher list, no unknown key.
 *
 * @param field where the options sit, e.g. `'servers[0].psk'` @default 'psk'
 * @throws {@link InvalidOptionError} naming the field
 */
export function checkPskOptions(psk: unknown, field = 'psk'): PskOptions {
  checkObject(psk, field);
  checkKnownKeys(psk, PSK_KEYS, `${field}.`, { hint: `the identity hint comes from the server` });
  const p = psk as PskOptions;
  validatePskIdentity(p.identity, `${field}.identity`);
  pskKeyBytes(p.key, `${field}.key`);
  optionalString(p.ciphers, `${field}.ciphers`, 4096);
  return {
    identity: p.identity,
    key: p.key,
    ...(p.ciphers === undefined ? {} : { ciphers: p.ciphers }),
  };
}
