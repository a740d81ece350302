/**
 * The threshold decision of publish rows and Redis signals.
 *
 * WCC Lite's `enable_threshold`: "identical values should not be sent multiple times in a
 * row". For analog channels a deadband widens "identical" to "changed by no more than the
 * deadband", so that sensor noise does not flood the broker.
 *
 * @module
 */

import type { ChannelValue } from '../formats/types.js';

/** The last value sent, as the threshold remembers it. */
export interface LastSent {
  /** The format's key of the value (rounded to its precision). */
  readonly key: string;
  readonly value: ChannelValue;
}

/** Threshold settings of one row. */
export interface ThresholdOptions {
  /** Suppress unchanged values. */
  readonly enabled: boolean;
  /** For numbers: changes of at most this much count as unchanged. 0 = exact (by key). */
  readonly deadband: number;
}

/**
 * Whether a value must be sent.
 *
 * Always true without threshold or when nothing was sent yet. With a deadband, a number is
 * sent when it moved by more than the deadband from the last value *sent* (not the last value
 * read), so a slow drift is still reported once it adds up. `NaN` differs from every number and
 * equals itself (a sensor stuck at `nan` is not re-sent).
 */
export function shouldSend(
  options: ThresholdOptions,
  last: LastSent | undefined,
  key: string,
  value: ChannelValue,
): boolean {
  if (!options.enabled || last === undefined) return true;
  if (
    options.deadband > 0 &&
    typeof value === 'number' &&
    typeof last.value === 'number' &&
    !Number.isNaN(value) &&
    !Number.isNaN(last.value)
  ) {
    return Math.abs(value - last.value) > options.deadband;
  }
  return key !== last.key;
}
