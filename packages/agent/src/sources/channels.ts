/**
 * I/O channels and the driver interface behind them.
 *
 * A channel is one signal of an I/O module: LucidIoT's up to 16 mixed digital and analog
 * channels, each with a Value Id. The agent talks to hardware only through {@link IoDriver},
 * so a real driver (GPIO, Modbus) can replace the simulated one without touching the topic
 * table.
 *
 * @module
 */

import { ChannelError } from '../errors.js';
import type { ChannelValue } from '../formats/types.js';

/**
 * The function types of an I/O channel: LucidIoT's list, and `counter` for pulse counts
 * (LucidIoT publishes counters; a Modbus counter register of 16 or 32 bits wraps around, the
 * channel's value does not).
 */
export const CHANNEL_TYPES = [
  'digital-input',
  'digital-output',
  'analog-input',
  'analog-output',
  'rtd-input',
  'counter',
] as const;

/** A channel function type. */
export type ChannelType = (typeof CHANNEL_TYPES)[number];

/** Whether values of this type are booleans (digital) or numbers (analog, RTD, counter). */
export const isDigital = (type: ChannelType): boolean =>
  type === 'digital-input' || type === 'digital-output';

/** Whether the agent may write this channel (drive it from a subscribe row). */
export const isOutput = (type: ChannelType): boolean =>
  type === 'digital-output' || type === 'analog-output';

/** What the agent and drivers know about one channel. */
export interface ChannelInfo {
  /** Value Id, unique in the module. */
  readonly id: number;
  /** Human name, e.g. `Valve` or `Office temperature`. */
  readonly name: string;
  readonly type: ChannelType;
  /** Engineering unit, e.g. `°C`, `V`, `mA`; empty for digital channels. */
  readonly unit: string;
  /** Engineering range; values outside it are refused on write and clamped by the simulator. */
  readonly range: { readonly min: number; readonly max: number };
}

/**
 * How far a value can be trusted (ARCHITECTURE: "a source reports a quality per value").
 *
 * - `good`: the source answered and the value is current.
 * - `stale`: the last reading failed for a reason that may pass (no answer, link lost, device
 *   busy); the value is the last good one.
 * - `bad`: there is no valid value (never read, or the device refused the request).
 */
export const QUALITIES = ['good', 'stale', 'bad'] as const;

/** A value quality. */
export type Quality = (typeof QUALITIES)[number];

/** The quality of a channel's current value, with the reason when it is not good. */
export interface ChannelQuality {
  readonly quality: Quality;
  /** Why the value is stale or bad, in plain words; absent when good. */
  readonly reason?: string;
}

/** The quality of a driver that cannot fail (the simulator). */
export const GOOD: ChannelQuality = Object.freeze({ quality: 'good' });

/**
 * A change of a channel value, or of its quality, reported by a driver. `quality` is absent
 * from drivers that only ever report good values: absent means `good`.
 */
export interface ChannelChange {
  readonly id: number;
  readonly value: ChannelValue;
  /** Unix epoch milliseconds. */
  readonly ts: number;
  /** The value's quality; absent means `good`. */
  readonly quality?: Quality;
  /** Why the value is stale or bad. */
  readonly reason?: string;
}

/** WCC Lite's quality flag of a value: 1 valid (good), 0 invalid (stale or bad). */
export const qualityFlag = (quality: Quality | undefined): 0 | 1 =>
  quality === undefined || quality === 'good' ? 1 : 0;

/**
 * The interface every I/O driver implements.
 *
 * `read` and `write` are asynchronous because real buses (Modbus RTU, I²C) are.
 */
export interface IoDriver {
  /** Driver name for logs, e.g. `simulated`. */
  readonly kind: string;
  /** Starts polling or simulating. */
  start(): Promise<void>;
  /**
   * Reads the current value of a channel.
   * @throws {ChannelError} for an unknown channel
   */
  read(id: number): Promise<ChannelValue>;
  /**
   * Drives an output channel.
   * @throws {ChannelError} for an unknown channel, an input, a wrong type or a value out of range
   */
  write(id: number, value: ChannelValue): Promise<void>;
  /**
   * The quality of the channel's current value. Optional: a driver without it reports good
   * values only (what `read` returns is current).
   */
  quality?(id: number): ChannelQuality;
  /** Calls `listener` on every value or quality change; returns a function that removes it. */
  onChange(listener: (change: ChannelChange) => void): () => void;
  /** Stops timers and releases the hardware. */
  close(): Promise<void>;
}

/**
 * Checks that `value` may be written to `channel` and returns it in the channel's own type
 * (a digital output accepts `true`/`false` and the numbers 1/0).
 * @throws {ChannelError} naming what is wrong
 */
export function checkWrite(channel: ChannelInfo, value: ChannelValue): ChannelValue {
  if (!isOutput(channel.type)) {
    throw new ChannelError(
      channel.id,
      `${channel.name} is an ${channel.type}, it cannot be written`,
    );
  }
  if (isDigital(channel.type)) {
    if (typeof value === 'boolean') return value;
    if (value === 0 || value === 1) return value === 1;
    throw new ChannelError(
      channel.id,
      `${channel.name} is digital: expected on/off or 1/0, got ${value}`,
    );
  }
  const n = typeof value === 'boolean' ? (value ? 1 : 0) : value;
  if (!Number.isFinite(n))
    throw new ChannelError(channel.id, `${channel.name}: ${n} is not a finite number`);
  if (n < channel.range.min || n > channel.range.max) {
    throw new ChannelError(
      channel.id,
      `${channel.name}: ${n} is outside the range ${channel.range.min}..${channel.range.max}${channel.unit === '' ? '' : ` ${channel.unit}`}`,
    );
  }
  return n;
}
