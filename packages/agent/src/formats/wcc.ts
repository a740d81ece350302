/**
 * The `wcc` format: WCC Lite's MQTT payload `value,timestamp_ms,quality`.
 *
 * `value` is a float, an integer or `nan`; `timestamp_ms` is Unix time in milliseconds;
 * `quality` is 1 when the value is valid and 0 when it is not (WCC Lite sets 0 when the Redis
 * flags hold IV, NT or OV).
 *
 * @module
 */

import { FormatError } from '../errors.js';
import { NUMBER_RE, numberKey, renderNumber } from './shared.js';
import type { ChannelValue, Format, ParsedSample, Sample } from './types.js';

/** Options of the `wcc` format. */
export interface WccFormatOptions {
  /** Decimals after the point; none means as many as the value has. */
  readonly precision?: number | undefined;
}

/** Creates a `wcc` format. */
export function wccFormat(options: WccFormatOptions = {}): Format {
  const { precision } = options;
  return {
    type: 'wcc',
    render(sample: Sample): string {
      return `${renderNumber(sample.value, precision)},${Math.trunc(sample.ts)},${sample.quality ?? 1}`;
    },
    key(value: ChannelValue): string {
      return numberKey(value, precision);
    },
    parse(payload: string): ParsedSample {
      const parts = payload.trim().split(',');
      if (parts.length !== 3) {
        throw new FormatError(
          'wcc',
          payload,
          `expected 3 comma-separated fields value,timestamp_ms,quality, got ${parts.length}`,
        );
      }
      const [valueText, tsText, qualityText] = parts.map((p) => p.trim()) as [
        string,
        string,
        string,
      ];
      let value: number;
      if (valueText.toLowerCase() === 'nan') value = Number.NaN;
      else if (NUMBER_RE.test(valueText)) value = Number(valueText);
      else
        throw new FormatError(
          'wcc',
          payload,
          `value ${JSON.stringify(valueText)} is not a number or nan`,
        );
      if (!/^\d+$/.test(tsText)) {
        throw new FormatError(
          'wcc',
          payload,
          `timestamp ${JSON.stringify(tsText)} is not Unix milliseconds`,
        );
      }
      if (qualityText !== '0' && qualityText !== '1') {
        throw new FormatError(
          'wcc',
          payload,
          `quality ${JSON.stringify(qualityText)} must be 0 or 1`,
        );
      }
      return { value, ts: Number(tsText), quality: qualityText === '1' ? 1 : 0 };
    },
  };
}
