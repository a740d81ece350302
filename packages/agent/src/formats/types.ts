/**
 * What every payload format implements.
 *
 * A format turns a channel sample into MQTT payload text (for publish rows) and, where that
 * makes sense, payload text back into a value (for subscribe rows). Parsing never guesses: a
 * payload the format does not recognise raises a {@link FormatError} naming what is wrong.
 *
 * @module
 */

import type { FormatError } from '../errors.js';

/** The value of a channel: a number for analog channels, a boolean for digital ones. */
export type ChannelValue = number | boolean;

/** One reading, as a format renders it. */
export interface Sample {
  /** The value; `NaN` is rendered as `nan` (WCC Lite) or `null` (JSON). */
  readonly value: ChannelValue;
  /** When the value was taken, Unix epoch milliseconds. */
  readonly ts: number;
  /** WCC Lite quality: 1 valid, 0 invalid. @default 1 */
  readonly quality?: 0 | 1;
}

/** What a format knows about the channel or signal a sample belongs to. */
export interface FormatContext {
  /** Engineering unit, e.g. `°C`; empty when none. */
  readonly unit: string;
  /** Human name of the channel or signal. */
  readonly name: string;
  /** Channel id, or -1 for a Redis signal. */
  readonly channel: number;
}

/** A value read back from a payload. */
export interface ParsedSample {
  readonly value: ChannelValue;
  /** Present when the payload carries a timestamp. */
  readonly ts?: number;
  /** Present when the payload carries a quality. */
  readonly quality?: 0 | 1;
}

/** A payload format. */
export interface Format {
  /** The format's type name, as in the configuration (`number`, `boolean`, ...). */
  readonly type: string;
  /** Renders a sample as payload text. */
  render(sample: Sample, context: FormatContext): string;
  /**
   * The value as a threshold compares it: two values with the same key are "unchanged".
   * Formats with a precision round first, so `20.11` and `20.12` at precision 1 are equal.
   */
  key(value: ChannelValue): string;
  /**
   * Reads a value from payload text.
   * @throws {FormatError} when the payload does not match the format
   */
  parse(payload: string, context: FormatContext): ParsedSample;
}

/** Re-exported for implementers. */
export type { FormatError };
