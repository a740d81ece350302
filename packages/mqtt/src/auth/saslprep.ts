/**
 * SASLprep (RFC 4013, a profile of stringprep, RFC 3454) for SCRAM user names and passwords
 * (RFC 5802 §2.2 `Normalize`), so that a password typed with a no-break space or a
 * compatibility character derives the same key as on the server.
 *
 * What is implemented:
 * - mapping (§2.1): non-ASCII spaces (RFC 3454 table C.1.2) to U+0020, then the characters
 *   "commonly mapped to nothing" (table B.1) removed;
 * - normalisation (§2.2): Unicode NFKC;
 * - prohibited output (§2.3): tables C.1.2, C.2.1, C.2.2, C.3, C.4, C.5, C.6, C.7, C.8, C.9;
 * - unassigned code points (§2.5, stored strings): refused, judged by the Unicode version of
 *   the running JavaScript engine rather than Unicode 3.2, so a character assigned since 3.2
 *   passes here where a strict 3.2 implementation would refuse it.
 *
 * Not implemented: the bidirectional check (§2.4, RFC 3454 §6). A user name mixing
 * right-to-left and left-to-right text that a server's SASLprep refuses is sent as prepared
 * here, and the server then refuses the authentication: nothing is accepted that should not
 * be, the error only comes from the server instead of from this side.
 *
 * @module
 */

import { InvalidOptionError } from '../errors.js';

/** Table C.1.2: non-ASCII space characters, mapped to U+0020. */
const NON_ASCII_SPACE = /[\u00A0\u1680\u2000-\u200B\u202F\u205F\u3000]/gu;

/** Table B.1: characters commonly mapped to nothing. */
const MAPPED_TO_NOTHING =
  // biome-ignore lint/suspicious/noMisleadingCharacterClass: each code point is removed on its own, combining marks included
  /[\u00AD\u034F\u1806\u180B-\u180D\u200B-\u200D\u2060\uFE00-\uFE0F\uFEFF]/gu;

/**
 * Tables C.1.2 (non-ASCII spaces), C.2.1 (ASCII controls), C.2.2 (non-ASCII controls), C.3
 * (private use), C.4 (non-characters), C.5 (surrogates, i.e. lone UTF-16 halves here), C.6
 * (inappropriate for plain text), C.7 (for canonical representation), C.8 (change display
 * properties or deprecated), C.9 (tagging characters); and unassigned code points.
 */
const PROHIBITED = new RegExp(
  [
    '[\\u00A0\\u1680\\u2000-\\u200B\\u202F\\u205F\\u3000]', // C.1.2
    '[\\u0000-\\u001F\\u007F]', // C.2.1
    '[\\u0080-\\u009F\\u06DD\\u070F\\u180E\\u200C\\u200D\\u2028\\u2029\\u2060-\\u2063\\u206A-\\u206F\\uFEFF\\uFFF9-\\uFFFC\\u{1D173}-\\u{1D17A}]', // C.2.2
    '[\\uE000-\\uF8FF\\u{F0000}-\\u{FFFFD}\\u{100000}-\\u{10FFFD}]', // C.3
    '[\\uFDD0-\\uFDEF\\uFFFE\\uFFFF\\u{1FFFE}\\u{1FFFF}\\u{2FFFE}\\u{2FFFF}\\u{3FFFE}\\u{3FFFF}\\u{4FFFE}\\u{4FFFF}\\u{5FFFE}\\u{5FFFF}\\u{6FFFE}\\u{6FFFF}\\u{7FFFE}\\u{7FFFF}\\u{8FFFE}\\u{8FFFF}\\u{9FFFE}\\u{9FFFF}\\u{AFFFE}\\u{AFFFF}\\u{BFFFE}\\u{BFFFF}\\u{CFFFE}\\u{CFFFF}\\u{DFFFE}\\u{DFFFF}\\u{EFFFE}\\u{EFFFF}\\u{FFFFE}\\u{FFFFF}\\u{10FFFE}\\u{10FFFF}]', // C.4
    '[\\uD800-\\uDFFF]', // C.5: with the u flag only lone surrogates match
    '[\\uFFF9-\\uFFFD]', // C.6
    '[\\u2FF0-\\u2FFB]', // C.7
    '[\\u0340\\u0341\\u200E\\u200F\\u202A-\\u202E\\u206A-\\u206F]', // C.8
    '[\\u{E0001}\\u{E0020}-\\u{E007F}]', // C.9
    '\\p{Cn}', // unassigned (A.1, by the engine's Unicode version)
  ].join('|'),
  'u',
);

/**
 * Prepares `value` with SASLprep for use as a SCRAM user name or password.
 *
 * @param field - the option's dotted path, named in the error
 * @throws {@link InvalidOptionError} naming `field` and the code point when the prepared
 *   string holds a prohibited or unassigned character
 */
export function saslprep(value: string, field: string): string {
  const mapped = value.replace(NON_ASCII_SPACE, ' ').replace(MAPPED_TO_NOTHING, '');
  const prepared = mapped.normalize('NFKC');
  const bad = PROHIBITED.exec(prepared);
  if (bad !== null) {
    const codePoint = bad[0].codePointAt(0) ?? 0;
    throw new InvalidOptionError(
      field,
      `holds U+${codePoint.toString(16).toUpperCase().padStart(4, '0')} at index ${bad.index}, which SASLprep prohibits (RFC 4013 §2.3, §2.5)`,
    );
  }
  return prepared;
}
