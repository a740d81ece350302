/**
 * The `json` format: `{"value":20.1,"ts":1700000000000,"unit":"°C"}`.
 *
 * NaN has no JSON spelling, so it is rendered as `null`. On input a bare JSON number or
 * boolean is accepted as well as an object with a `value` member.
 *
 * @module
 */

import { FormatError } from '../errors.js';
import { numberKey } from './shared.js';
import type { ChannelValue, Format, FormatContext, ParsedSample, Sample } from './types.js';

/** Options of the `json` format. */
export interface JsonFormatOptions {
  /** Decimals after the point for numbers; none means as many as the value has. */
  readonly precision?: number | undefined;
  /** Include the `unit` member when the channel has a unit. @default true */
  readonly withUnit?: boolean | undefined;
}

/** Creates a `json` format. */
export function jsonFormat(options: JsonFormatOptions = {}): Format {
  const { precision, withUnit = true } = options;
  const jsonValue = (value: ChannelValue): number | boolean | null => {
    if (typeof value === 'boolean') return value;
    if (!Number.isFinite(value)) return null;
    return precision === undefined ? value : Number(value.toFixed(precision));
  };
  return {
    type: 'json',
    render(sample: Sample, context: FormatContext): string {
      const out: Record<string, unknown> = { value: jsonValue(sample.value), ts: sample.ts };
      if (withUnit && context.unit !== '') out.unit = context.unit;
      if (sample.quality !== undefined) out.quality = sample.quality;
      return JSON.stringify(out);
    },
    key(value: ChannelValue): string {
      return numberKey(value, precision);
    },
    parse(payload: string): ParsedSample {
      let doc: unknown;
      try {
        doc = JSON.parse(payload);
      } catch (error) {
        throw new FormatError('json', payload, `not JSON: ${(error as Error).message}`);
      }
      if (typeof doc === 'number' || typeof doc === 'boolean') return { value: doc };
      if (typeof doc !== 'object' || doc === null || Array.isArray(doc)) {
        throw new FormatError(
          'json',
          payload,
          'expected an object with a "value" member, a number or a boolean',
        );
      }
      const record = doc as Record<string, unknown>;
      const value = record.value;
      if (typeof value !== 'number' && typeof value !== 'boolean') {
        throw new FormatError('json', payload, '"value" must be a number or a boolean');
      }
      const ts = record.ts;
      if (ts !== undefined && (typeof ts !== 'number' || !Number.isInteger(ts) || ts < 0)) {
        throw new FormatError('json', payload, '"ts" must be Unix milliseconds');
      }
      const quality = record.quality;
      if (quality !== undefined && quality !== 0 && quality !== 1) {
        throw new FormatError('json', payload, '"quality" must be 0 or 1');
      }
      return {
        value,
        ...(ts === undefined ? {} : { ts }),
        ...(quality === undefined ? {} : { quality }),
      };
    },
  };
}
