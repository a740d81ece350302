/**
 * Well-formedness of JavaScript strings that go on the wire as UTF-8. A string is UTF-16; a
 * lone surrogate (`"a\ud800b"`) has no UTF-8 encoding, and `TextEncoder` would quietly turn it
 * into U+FFFD, so the broker would see another topic or client id than the one configured.
 * Pure, shared by the topic validators and the option checks.
 *
 * @module
 */

/** Any surrogate code unit; most strings have none, and the regex scan is native. */
const SURROGATE = /[\ud800-\udfff]/;

/**
 * Index of the first lone surrogate in `s` (a high surrogate not followed by a low one, or a
 * low one not preceded by a high one), or -1 when `s` is well-formed UTF-16.
 */
export function loneSurrogateIndex(s: string): number {
  if (!SURROGATE.test(s)) return -1;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 0xd800 || c > 0xdfff) continue;
    if (c <= 0xdbff) {
      const next = i + 1 < s.length ? s.charCodeAt(i + 1) : 0;
      if (next >= 0xdc00 && next <= 0xdfff) {
        i++;
        continue;
      }
    }
    return i;
  }
  return -1;
}

/** UTF-8 length of a string without allocating (a lone surrogate counts as 3, as U+FFFD). */
export function utf8Length(s: string): number {
  let n = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 0x80) n += 1;
    else if (c < 0x800) n += 2;
    else if (c >= 0xd800 && c <= 0xdbff && i + 1 < s.length) {
      const next = s.charCodeAt(i + 1);
      if (next >= 0xdc00 && next <= 0xdfff) {
        n += 4;
        i++;
      } else n += 3;
    } else n += 3;
  }
  return n;
}
