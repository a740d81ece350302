/**
 * WCC Lite's Redis data format and its mapping to MQTT.
 *
 * Redis channels are named `tag/<device_alias>/<signal_alias>/<direction>` (direction one of
 * `rout`, `out`, `in`, `rin`) and carry `value,timestamp_ms,flags`. The MQTT payload is
 * `value,timestamp_ms,quality` where quality is 1 unless the flags hold IV (invalid),
 * NT (not topical) or OV (overflow), then 0. A `nan` value passes as `nan`.
 *
 * The other way, an MQTT command `value[,timestamp_ms[,quality]]` for a signal of direction
 * `out` becomes the Redis message `value,timestamp_ms,flags` on `tag/…/…/out`.
 *
 * Everything is read strictly, because a gateway forwards what it accepts: a bounded size, a
 * finite value (or `nan`), a timestamp between 1970 and 9999.
 *
 * @module
 */

import { RedisMessageError } from '../errors.js';
import { NUMBER_RE } from '../formats/shared.js';

/** The four Redis tag directions of WCC Lite. */
export const TAG_DIRECTIONS = ['rout', 'out', 'in', 'rin'] as const;

/** A Redis tag direction. */
export type TagDirection = (typeof TAG_DIRECTIONS)[number];

/** The flags that make a value invalid (quality 0). */
export const INVALID_FLAGS = ['IV', 'NT', 'OV'] as const;

/** The parts of a Redis tag channel name. */
export interface TagChannel {
  readonly deviceAlias: string;
  readonly signalAlias: string;
  readonly direction: TagDirection;
}

/** The Redis channel name of a signal: `tag/<device_alias>/<signal_alias>/<direction>`. */
export function tagChannel(
  deviceAlias: string,
  signalAlias: string,
  direction: TagDirection,
): string {
  return `tag/${deviceAlias}/${signalAlias}/${direction}`;
}

/** Splits a Redis channel name; `undefined` when it is not a WCC Lite tag channel. */
export function parseTagChannel(channel: string): TagChannel | undefined {
  const parts = channel.split('/');
  if (parts.length !== 4 || parts[0] !== 'tag') return undefined;
  const [, deviceAlias, signalAlias, direction] = parts as [string, string, string, string];
  if (deviceAlias === '' || signalAlias === '') return undefined;
  if (!(TAG_DIRECTIONS as readonly string[]).includes(direction)) return undefined;
  return { deviceAlias, signalAlias, direction: direction as TagDirection };
}

/** A parsed Redis message. */
export interface RedisSample {
  /** The value as text: the number as written, or `nan`. */
  readonly valueText: string;
  /** The value as a number (NaN for `nan`). */
  readonly value: number;
  /** Unix epoch milliseconds. */
  readonly ts: number;
  /** The flag codes, upper case, e.g. `['IV', 'NT']`. */
  readonly flags: readonly string[];
  /** 1 valid, 0 when a flag in {@link INVALID_FLAGS} is set. */
  readonly quality: 0 | 1;
}

/**
 * Splits the flags field into codes. WCC Lite's flag field lists two-letter codes; separators
 * vary between firmware versions (space, `|`, `;`, or none at all), so any non-letter
 * separates, and a run of letters of even length is read as consecutive two-letter codes.
 */
export function parseFlags(field: string): string[] {
  const codes: string[] = [];
  for (const token of field.toUpperCase().split(/[^A-Z]+/)) {
    if (token === '') continue;
    if (token.length > 2 && token.length % 2 === 0) {
      for (let i = 0; i < token.length; i += 2) codes.push(token.slice(i, i + 2));
    } else codes.push(token);
  }
  return codes;
}

/** Quality of a set of flags: 0 if any of IV, NT, OV is present, else 1. */
export function qualityOf(flags: readonly string[]): 0 | 1 {
  return flags.some((f) => (INVALID_FLAGS as readonly string[]).includes(f)) ? 0 : 1;
}

/** Largest Redis message the bridge reads, in bytes, unless `redis.maxMessageBytes` says otherwise. */
export const DEFAULT_MAX_MESSAGE_BYTES = 4096;

/**
 * Longest value field, in characters. A double needs at most 24 (`-2.2250738585072014e-308`);
 * anything much longer is not a measurement, whatever it parses to.
 */
export const MAX_VALUE_CHARS = 32;

/** Latest timestamp accepted: 9999-12-31T23:59:59.999Z, in Unix milliseconds. */
export const MAX_TIMESTAMP_MS = 253_402_300_799_999;

/** The not-a-number spellings of WCC Lite (`nan`) and of C's printf (`-nan`). */
const NAN_SPELLINGS = ['nan', '-nan'];

/** The message as an error shows it: the first 64 characters. */
function shown(raw: string): string {
  return raw.length > 64 ? `${raw.slice(0, 61)}...` : raw;
}

/**
 * Reads a value field: a finite decimal number of at most {@link MAX_VALUE_CHARS} characters,
 * or `nan` when `allowNan`. `Infinity`, `NaN`, `inf` and numbers beyond a double (`1e999`) are
 * refused: a gateway forwarding them would publish what no consumer can use.
 * @returns the value and its text, or a reason
 */
export function parseValueField(
  field: string,
  allowNan: boolean,
): { value: number; valueText: string } | { reason: string } {
  if (allowNan && NAN_SPELLINGS.includes(field)) return { value: Number.NaN, valueText: 'nan' };
  if (field.length > MAX_VALUE_CHARS) {
    return { reason: `value of ${field.length} characters is longer than ${MAX_VALUE_CHARS}` };
  }
  if (!NUMBER_RE.test(field))
    return { reason: `value ${JSON.stringify(field)} is not a number${allowNan ? ' or nan' : ''}` };
  const value = Number(field);
  if (!Number.isFinite(value))
    return { reason: `value ${JSON.stringify(field)} is out of range (not a finite number)` };
  return { value, valueText: field };
}

/**
 * Reads a timestamp field: Unix milliseconds from 0 to {@link MAX_TIMESTAMP_MS}.
 * @returns the timestamp, or a reason
 */
export function parseTimestampField(field: string): number | { reason: string } {
  if (!/^\d{1,15}$/.test(field))
    return { reason: `timestamp ${JSON.stringify(shown(field))} is not Unix milliseconds` };
  const ts = Number(field);
  if (ts > MAX_TIMESTAMP_MS)
    return { reason: `timestamp ${field} is after the year 9999 (not Unix milliseconds?)` };
  return ts;
}

/** `raw`'s size in UTF-8 bytes when it is over `maxBytes`, else undefined (cheap for big text). */
function oversize(raw: string, maxBytes: number): number | undefined {
  // A character is at least one byte: most text is decided without counting.
  if (raw.length <= maxBytes / 3) return undefined;
  const bytes = Buffer.byteLength(raw);
  return bytes > maxBytes ? bytes : undefined;
}

/**
 * Parses `value,timestamp_ms,flags` (the flags field may be empty or absent), strictly: at most
 * `maxBytes` bytes, a finite value or `nan`, a timestamp in range.
 * @throws {RedisMessageError} naming the field that is wrong
 */
export function parseRedisMessage(
  channel: string,
  raw: string,
  maxBytes: number = DEFAULT_MAX_MESSAGE_BYTES,
): RedisSample {
  const size = oversize(raw, maxBytes);
  if (size !== undefined) {
    throw new RedisMessageError(
      channel,
      shown(raw),
      `message of ${size} bytes is larger than the limit of ${maxBytes} (redis.maxMessageBytes)`,
    );
  }
  const fail = (reason: string) => new RedisMessageError(channel, shown(raw), reason);
  const text = raw.trim();
  const first = text.indexOf(',');
  if (first < 0) throw fail('expected value,timestamp_ms,flags');
  const second = text.indexOf(',', first + 1);
  const valueField = text.slice(0, first).trim();
  const tsField = (second < 0 ? text.slice(first + 1) : text.slice(first + 1, second)).trim();
  const flagsField = second < 0 ? '' : text.slice(second + 1);
  const value = parseValueField(valueField, true);
  if ('reason' in value) throw fail(value.reason);
  const ts = parseTimestampField(tsField);
  if (typeof ts !== 'number') throw fail(ts.reason);
  const flags = parseFlags(flagsField);
  return { valueText: value.valueText, value: value.value, ts, flags, quality: qualityOf(flags) };
}

/** The MQTT payload of a Redis sample: `value,timestamp_ms,quality`. */
export function toMqttPayload(sample: RedisSample): string {
  return `${sample.valueText},${sample.ts},${sample.quality}`;
}

/** An MQTT command for a Redis `out` tag. */
export interface RedisCommand {
  /** The value as written (a finite number). */
  readonly valueText: string;
  /** Unix epoch milliseconds: the payload's, or the time it arrived. */
  readonly ts: number;
  /** 0 writes the value flagged invalid (IV). */
  readonly quality: 0 | 1;
}

/**
 * Parses an MQTT command for a Redis `out` tag. The payload is WCC Lite's MQTT form read the
 * other way: `value`, `value,timestamp_ms` or `value,timestamp_ms,quality` (quality 0 or 1).
 * The timestamp defaults to `now`; `nan` is refused: a command must say what to set.
 * @throws {RedisMessageError} naming the field that is wrong (`channel` is the MQTT topic)
 */
export function parseRedisCommand(
  topic: string,
  payload: string,
  now: number,
  maxBytes: number = DEFAULT_MAX_MESSAGE_BYTES,
): RedisCommand {
  const size = oversize(payload, maxBytes);
  if (size !== undefined) {
    throw new RedisMessageError(
      topic,
      shown(payload),
      `command of ${size} bytes is larger than the limit of ${maxBytes} (redis.maxMessageBytes)`,
    );
  }
  const fail = (reason: string) => new RedisMessageError(topic, shown(payload), reason);
  const fields = payload.trim().split(',');
  if (fields.length > 3)
    throw fail('expected value, value,timestamp_ms or value,timestamp_ms,quality');
  const [valueField = '', tsField, qualityField] = fields.map((f) => f.trim());
  const value = parseValueField(valueField, false);
  if ('reason' in value) throw fail(value.reason);
  let ts = now;
  if (tsField !== undefined && tsField !== '') {
    const parsed = parseTimestampField(tsField);
    if (typeof parsed !== 'number') throw fail(parsed.reason);
    ts = parsed;
  }
  let quality: 0 | 1 = 1;
  if (qualityField !== undefined && qualityField !== '') {
    if (qualityField !== '0' && qualityField !== '1')
      throw fail(`quality ${JSON.stringify(shown(qualityField))} is not 0 or 1`);
    quality = qualityField === '0' ? 0 : 1;
  }
  return { valueText: value.valueText, ts, quality };
}

/**
 * The Redis message of a command: `value,timestamp_ms,flags`, the flags empty or `IV` for
 * quality 0 (the one flag that says "do not trust this value").
 */
export function toRedisMessage(command: RedisCommand): string {
  return `${command.valueText},${command.ts},${command.quality === 0 ? 'IV' : ''}`;
}
