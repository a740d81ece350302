/**
 * The `number` format: the value as a decimal number, optionally followed by the unit.
 *
 * LucidIoT publishes an RTD temperature of 20.1 °C as the payload `20.1`; with
 * `withUnit: true` the payload is `20.1 °C`.
 *
 * @module
 */

import { FormatError } from '../errors.js';
import { NUMBER_RE, numberKey, renderNumber } from './shared.js';
import type { ChannelValue, Format, FormatContext, ParsedSample, Sample } from './types.js';

/** Options of the `number` format. */
export interface NumberFormatOptions {
  /** Decimals after the point; none means as many as the value has. */
  readonly precision?: number | undefined;
  /** Append the unit after a space. @default false */
  readonly withUnit?: boolean | undefined;
  /** The unit to append instead of the channel's own. */
  readonly unit?: string | undefined;
}

/** Creates a `number` format. */
export function numberFormat(options: NumberFormatOptions = {}): Format {
  const { precision, withUnit = false } = options;
  const unitOf = (context: FormatContext): string => options.unit ?? context.unit;
  return {
    type: 'number',
    render(sample: Sample, context: FormatContext): string {
      const text = renderNumber(sample.value, precision);
      const unit = unitOf(context);
      return withUnit && unit !== '' ? `${text} ${unit}` : text;
    },
    key(value: ChannelValue): string {
      return numberKey(value, precision);
    },
    parse(payload: string, context: FormatContext): ParsedSample {
      let text = payload.trim();
      const unit = unitOf(context);
      // The unit is optional on input even when we append it on output: a controller that
      // sends "21.5" to a "°C" channel means 21.5 °C.
      if (unit !== '' && text.endsWith(unit)) text = text.slice(0, -unit.length).trimEnd();
      if (text === '') throw new FormatError('number', payload, 'empty payload, expected a number');
      if (!NUMBER_RE.test(text)) {
        throw new FormatError(
          'number',
          payload,
          `expected a number${unit === '' ? '' : ` (optionally followed by "${unit}")`}`,
        );
      }
      return { value: Number(text) };
    },
  };
}
