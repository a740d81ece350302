/**
 * The `boolean` format: two words for on and off.
 *
 * LucidIoT's `Valve` row switches a digital output with the payloads `On` and `Off`; other
 * systems say `1`/`0` or `true`/`false`. Both words are configurable.
 *
 * @module
 */

import { FormatError } from '../errors.js';
import type { ChannelValue, Format, ParsedSample, Sample } from './types.js';

/** Options of the `boolean` format. */
export interface BooleanFormatOptions {
  /** The word for on. @default 'On' */
  readonly on?: string | undefined;
  /** The word for off. @default 'Off' */
  readonly off?: string | undefined;
  /** Compare payloads case-sensitively. @default false */
  readonly caseSensitive?: boolean | undefined;
}

/** Creates a `boolean` format. */
export function booleanFormat(options: BooleanFormatOptions = {}): Format {
  const on = options.on ?? 'On';
  const off = options.off ?? 'Off';
  const caseSensitive = options.caseSensitive ?? false;
  const norm = (s: string): string => (caseSensitive ? s : s.toLowerCase());
  const isOn = (value: ChannelValue): boolean =>
    typeof value === 'boolean' ? value : !Number.isNaN(value) && value !== 0;
  return {
    type: 'boolean',
    render(sample: Sample): string {
      return isOn(sample.value) ? on : off;
    },
    key(value: ChannelValue): string {
      return isOn(value) ? 'on' : 'off';
    },
    parse(payload: string): ParsedSample {
      const text = norm(payload.trim());
      if (text === norm(on)) return { value: true };
      if (text === norm(off)) return { value: false };
      throw new FormatError(
        'boolean',
        payload,
        `expected ${JSON.stringify(on)} or ${JSON.stringify(off)}${caseSensitive ? ' (case-sensitive)' : ''}`,
      );
    },
  };
}
