/**
 * Helpers of the option checks, shared by the client's and the transport's, so they sit below
 * both.
 *
 * Unknown option keys: an option the library does not know is refused, never ignored: a
 * misspelt `keepAlive` or MQTT.js's `reconnectPeriod` silently falling back to a default is
 * the kind of mistake nobody finds until a device is in the field.
 *
 * @module
 */

import { InvalidOptionError } from './errors.js';

/**
 * Every key of an options type, each mapped to `true`. Declaring a key list as
 * `satisfies KnownKeys<T>` makes the compiler fail when an option is added to `T` but not to
 * the list (and the other way round), so the check can never refuse a documented option.
 */
export type KnownKeys<T> = { readonly [K in keyof Required<T>]: true };

/**
 * Refuses a key of `value` that is not in `known`. `prefix` is the dotted path of `value`
 * (`''` at the top, `'tls.'` inside `tls`); `hints` maps a known foreign name (an MQTT.js or
 * Node option) to advice. Without a hint, a near-miss spelling of a known key is suggested.
 *
 * @throws {@link InvalidOptionError} naming the first unknown key, listing every unknown one
 */
export function checkKnownKeys(
  value: object,
  known: Readonly<Record<string, true>>,
  prefix: string,
  hints: Readonly<Record<string, string>> = {},
): void {
  const unknown = Object.keys(value).filter((key) => !Object.hasOwn(known, key));
  const first = unknown[0];
  if (first === undefined) return;
  const names = Object.keys(known);
  const advice = (key: string): string => {
    if (Object.hasOwn(hints, key)) return hints[key]!;
    const near = nearestKey(key, names);
    return near === undefined ? '' : `did you mean ${prefix}${near}?`;
  };
  const firstAdvice = advice(first);
  let message = `unknown option${firstAdvice === '' ? '' : `; ${firstAdvice}`}`;
  if (firstAdvice === '') message += ` (known here: ${names.join(', ')})`;
  if (unknown.length > 1) {
    const rest = unknown.slice(1, 10).map((key) => {
      const a = advice(key);
      return `${prefix}${key}${a === '' ? '' : ` (${a})`}`;
    });
    message += `; also unknown: ${rest.join(', ')}${unknown.length > 10 ? ', …' : ''}`;
  }
  throw new InvalidOptionError(`${prefix}${first}`, message);
}

/** Unit suffixes our names carry and other libraries' names lack (`connectTimeout` → `…Ms`). */
const UNIT_SUFFIXES = ['ms', 'sec'];

/**
 * The known key closest to `key`: the same name in another case, the name plus a unit suffix,
 * or one within a small edit distance (1 for short names, 2 from 6 characters on).
 */
export function nearestKey(key: string, known: readonly string[]): string | undefined {
  const lower = key.toLowerCase();
  let best: string | undefined;
  let bestDistance = Number.POSITIVE_INFINITY;
  for (const name of known) {
    const candidate = name.toLowerCase();
    if (candidate === lower || UNIT_SUFFIXES.some((s) => candidate === lower + s)) return name;
    const limit = Math.min(lower.length, candidate.length) >= 6 ? 2 : 1;
    const distance = editDistance(lower, candidate, limit);
    if (distance <= limit && distance < bestDistance) {
      best = name;
      bestDistance = distance;
    }
  }
  return best;
}

/**
 * Optimal string alignment distance (Levenshtein plus adjacent transpositions), giving up
 * early: any result above `limit` is reported as `limit + 1`.
 */
function editDistance(a: string, b: string, limit: number): number {
  if (Math.abs(a.length - b.length) > limit) return limit + 1;
  let prevPrev: number[] = [];
  let prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const row = [i];
    let rowMin = i;
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      let d = Math.min(prev[j]! + 1, row[j - 1]! + 1, prev[j - 1]! + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) {
        d = Math.min(d, prevPrev[j - 2]! + 1);
      }
      row.push(d);
      rowMin = Math.min(rowMin, d);
    }
    if (rowMin > limit) return limit + 1;
    prevPrev = prev;
    prev = row;
  }
  return Math.min(prev[b.length]!, limit + 1);
}

/** A short description of a value's type for an error message, never the value itself. */
export function typeName(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  if (value instanceof Uint8Array) return 'bytes';
  return typeof value === 'object' ? 'an object' : `a ${typeof value}`;
}

/**
 * Checks that an options group is a plain object (not an array, not null).
 *
 * @throws {@link InvalidOptionError} naming `field`
 */
export function checkObject(value: unknown, field: string): asserts value is object {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new InvalidOptionError(field, `must be an object, got ${typeName(value)}`);
  }
}
