/**
 * Number helpers shared by the formats.
 *
 * @module
 */

import type { ChannelValue } from './types.js';

/** A decimal number as people and PLCs write it: `20`, `-3.5`, `.5`, `1e3`. */
export const NUMBER_RE = /^[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?$/;

/** Renders a value as a number: booleans as 1/0, NaN as `nan`, `precision` decimals if set. */
export function renderNumber(value: ChannelValue, precision: number | undefined): string {
  if (typeof value === 'boolean') return value ? '1' : '0';
  if (Number.isNaN(value)) return 'nan';
  if (!Number.isFinite(value)) return value > 0 ? 'inf' : '-inf';
  if (precision === undefined) return String(value);
  // toFixed can print "-0.0" for tiny negatives; a device reading 0.0 should not flip sign.
  const text = value.toFixed(precision);
  return /^-0(?:\.0*)?$/.test(text) ? text.slice(1) : text;
}

/** The threshold key of a value: its rendering at the format's precision. */
export function numberKey(value: ChannelValue, precision: number | undefined): string {
  return renderNumber(value, precision);
}
