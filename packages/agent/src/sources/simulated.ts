/**
 * A simulated I/O module: temperatures that drift, inputs that toggle, outputs that remember.
 *
 * Driven by a seedable pseudo-random generator so that a test can replay the same readings,
 * and by an explicit {@link SimulatedDriver.step} so that a test can advance it without
 * waiting. {@link SimulatedDriver.start} runs `step` on a timer for the real thing.
 *
 * @module
 */

import { ChannelError } from '../errors.js';
import type { ChannelValue } from '../formats/types.js';
import {
  type ChannelChange,
  type ChannelInfo,
  type ChannelQuality,
  checkWrite,
  GOOD,
  type IoDriver,
  isDigital,
  isOutput,
} from './channels.js';

/**
 * mulberry32: a tiny, fast 32-bit PRNG with a good enough spread for a simulation.
 * @returns a function giving numbers in [0, 1)
 */
export function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Options of the simulated module. */
export interface SimulatedDriverOptions {
  /** The channels to simulate. */
  readonly channels: readonly ChannelInfo[];
  /** Seed of the pseudo-random generator. @default Date.now() */
  readonly seed?: number;
  /** Period of the simulation timer started by `start()`. @default 500 */
  readonly stepMs?: number;
  /** Probability that a digital input toggles at each step. @default 0.05 */
  readonly toggleProbability?: number;
  /** Clock, for tests. @default Date.now */
  readonly now?: () => number;
}

/** The simulated I/O module driver. */
export class SimulatedDriver implements IoDriver {
  /** @inheritdoc */
  readonly kind = 'simulated';
  readonly #channels = new Map<number, ChannelInfo>();
  readonly #values = new Map<number, ChannelValue>();
  readonly #base = new Map<number, number>();
  readonly #listeners = new Set<(change: ChannelChange) => void>();
  readonly #random: () => number;
  readonly #stepMs: number;
  readonly #toggleProbability: number;
  readonly #now: () => number;
  #timer: NodeJS.Timeout | undefined;

  constructor(options: SimulatedDriverOptions) {
    this.#random = mulberry32(options.seed ?? Date.now());
    this.#stepMs = options.stepMs ?? 500;
    this.#toggleProbability = options.toggleProbability ?? 0.05;
    this.#now = options.now ?? Date.now;
    for (const channel of options.channels) {
      this.#channels.set(channel.id, channel);
      const { min, max } = channel.range;
      if (isDigital(channel.type)) {
        this.#values.set(channel.id, false);
      } else if (isOutput(channel.type)) {
        this.#values.set(channel.id, min);
      } else if (channel.type === 'counter') {
        this.#values.set(channel.id, Math.max(0, min));
      } else {
        // A room at 20 °C when the range allows it; otherwise the middle of the range.
        const base = channel.type === 'rtd-input' && min <= 20 && max >= 20 ? 20 : (min + max) / 2;
        this.#base.set(channel.id, base);
        this.#values.set(channel.id, base);
      }
    }
  }

  /** @inheritdoc */
  async start(): Promise<void> {
    if (this.#timer !== undefined) return;
    this.#timer = setInterval(() => this.step(), this.#stepMs);
    this.#timer.unref();
  }

  /** @inheritdoc */
  async read(id: number): Promise<ChannelValue> {
    return this.peek(id);
  }

  /**
   * The current value, synchronously (the simulator has no bus to wait for).
   * @throws {ChannelError} for an unknown channel
   */
  peek(id: number): ChannelValue {
    const value = this.#values.get(id);
    if (value === undefined) throw new ChannelError(id, 'no such channel in the simulated module');
    return value;
  }

  /** The simulator cannot fail: every value is good. */
  quality(id: number): ChannelQuality {
    this.peek(id);
    return GOOD;
  }

  /** @inheritdoc */
  async write(id: number, value: ChannelValue): Promise<void> {
    const channel = this.#channels.get(id);
    if (channel === undefined)
      throw new ChannelError(id, 'no such channel in the simulated module');
    this.#set(id, checkWrite(channel, value));
  }

  /**
   * Forces the value of any channel, inputs included, as if the process changed: for tests
   * and demonstrations. Numbers are clamped to the channel range.
   * @throws {ChannelError} for an unknown channel
   */
  inject(id: number, value: ChannelValue): void {
    const channel = this.#channels.get(id);
    if (channel === undefined)
      throw new ChannelError(id, 'no such channel in the simulated module');
    if (isDigital(channel.type)) this.#set(id, typeof value === 'boolean' ? value : value !== 0);
    else {
      const n = typeof value === 'boolean' ? Number(value) : value;
      this.#set(id, Math.min(channel.range.max, Math.max(channel.range.min, n)));
    }
  }

  /** @inheritdoc */
  onChange(listener: (change: ChannelChange) => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  /**
   * Advances the simulation by one step: analog and RTD inputs take a mean-reverting random
   * walk (a slow drift around their starting point), digital inputs toggle now and then,
   * counters count 0 to 3 pulses.
   * Outputs never change by themselves.
   */
  step(): void {
    for (const channel of this.#channels.values()) {
      if (isOutput(channel.type)) continue;
      const current = this.#values.get(channel.id);
      if (isDigital(channel.type)) {
        if (this.#random() < this.#toggleProbability) this.#set(channel.id, current !== true);
        continue;
      }
      if (channel.type === 'counter') {
        // Pulses: 0 to 3 per step; a counter only ever goes up.
        const n = typeof current === 'number' ? current : 0;
        this.#set(channel.id, n + Math.floor(this.#random() * 4));
        continue;
      }
      const { min, max } = channel.range;
      const base = this.#base.get(channel.id) ?? (min + max) / 2;
      const span = max - min;
      const v = typeof current === 'number' ? current : base;
      // Steps of up to ±0.05 °C for RTDs (a room warms slowly; their span is 1000 °C wide)
      // and ±0.1 % of the span otherwise, pulled back 2 % towards the base each time.
      const amplitude = channel.type === 'rtd-input' ? 0.1 : span * 0.002;
      const next = v + (this.#random() - 0.5) * amplitude + (base - v) * 0.02;
      this.#set(channel.id, Math.min(max, Math.max(min, next)));
    }
  }

  /** @inheritdoc */
  async close(): Promise<void> {
    if (this.#timer !== undefined) clearInterval(this.#timer);
    this.#timer = undefined;
    this.#listeners.clear();
  }

  #set(id: number, value: ChannelValue): void {
    const previous = this.#values.get(id);
    this.#values.set(id, value);
    if (previous === value) return;
    const change: ChannelChange = { id, value, ts: this.#now() };
    for (const listener of this.#listeners) listener(change);
  }
}
