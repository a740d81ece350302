/**
 * WCC Lite's Redis data format and its mapping to MQTT.
 *
 * Redis channels are named `tag/<device_alias>/<signal_alias>/<direction>` (direction one of
 * `rout`, `out`, `in`, `rin`) and carry `value,timestamp_ms,flags`. The MQTT payload is
 * `value,timestamp_ms,quality` where quality is 1 unless the flags hold IV (invalid),
 * NT (not topical) or OV (overflow), then 0. A `nan` value passes as `nan`.
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

/**
 * Parses `value,timestamp_ms,flags` (the flags field may be empty or absent).
 * @throws {RedisMessageError} naming the field that is wrong
 */
export function parseRedisMessage(channel: string, raw: string): RedisSample {
  const text = raw.trim();
  const first = text.indexOf(',');
  if (first < 0) throw new RedisMessageError(channel, raw, 'expected value,timestamp_ms,flags');
  const second = text.indexOf(',', first + 1);
  const valueField = text.slice(0, first).trim();
  const tsField = (second < 0 ? text.slice(first + 1) : text.slice(first + 1, second)).trim();
  const flagsField = second < 0 ? '' : text.slice(second + 1);
  let value: number;
  let valueText: string;
  if (valueField.toLowerCase() === 'nan') {
    value = Number.NaN;
    valueText = 'nan';
  } else if (NUMBER_RE.test(valueField)) {
    value = Number(valueField);
    valueText = valueField;
  } else {
    throw new RedisMessageError(
      channel,
      raw,
      `value ${JSON.stringify(valueField)} is not a number or nan`,
    );
  }
  if (!/^\d+$/.test(tsField)) {
    throw new RedisMessageError(
      channel,
      raw,
      `timestamp ${JSON.stringify(tsField)} is not Unix milliseconds`,
    );
  }
  const flags = parseFlags(flagsField);
  return { valueText, value, ts: Number(tsField), flags, quality: qualityOf(flags) };
}

/** The MQTT payload of a Redis sample: `value,timestamp_ms,quality`. */
export function toMqttPayload(sample: RedisSample): string {
  return `${sample.valueText},${sample.ts},${sample.quality}`;
}
