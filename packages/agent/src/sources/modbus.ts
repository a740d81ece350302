/**
 * The Modbus I/O driver: channels read from a Modbus TCP or RTU device by polling, outputs
 * written with the matching function, every value with a quality.
 *
 * Each channel sits in a poll group with its own period. A group's channels are read with as
 * few requests as the addresses allow ({@link planReads}); the requests of a poll go one after
 * another on the one {@link ModbusLink}. A request that fails — exception, timeout, link down,
 * garbled answer — marks the channels it covers `stale` or `bad` with the reason and the poll
 * goes on with the next request: one silent unit or one refused address never stops the
 * others. When a batch is refused with "illegal data address", the batch is split into one
 * request per channel, so the one bad address no longer takes its neighbours down with it.
 *
 * @module
 */

import type { Logger } from 'pino';
import type { DeviceConfig } from '../config/schema.js';
import { ChannelError } from '../errors.js';
import type { ChannelValue } from '../formats/types.js';
import {
  type ChannelChange,
  type ChannelInfo,
  type ChannelQuality,
  checkWrite,
  type IoDriver,
  isDigital,
  type Quality,
} from './channels.js';
import {
  bitsOf,
  decodeRegisters,
  encodeRegisters,
  isBitTable,
  type ModbusDataType,
  type ModbusFunction,
  PulseCounter,
  toEngineering,
  toRaw,
  type WordOrder,
  widthOf,
} from './modbus-codec.js';
import { ModbusError } from './modbus-errors.js';
import { ModbusLink, type ModbusLinkOptions, type ModbusLinkState } from './modbus-link.js';
import { DEFAULT_GROUP, planReads, type ReadPoint, type ReadRequest } from './modbus-plan.js';

/** Where a channel's value is on the device, and how to read it. */
export interface ModbusPoint {
  /** Unit id (slave address). */
  readonly unit: number;
  readonly fn: ModbusFunction;
  /** First bit or register, 0-based as on the wire. */
  readonly address: number;
  readonly dataType: ModbusDataType;
  readonly wordOrder: WordOrder;
  /** engineering = raw × scale + offset. */
  readonly scale: number;
  readonly offset: number;
  /** The poll group's name. */
  readonly group: string;
  /** Write with FC15/FC16 even for one coil or register (devices that lack FC5/FC6). */
  readonly writeMultiple: boolean;
}

/** One channel of a Modbus device. */
export interface ModbusChannel {
  readonly info: ChannelInfo;
  readonly point: ModbusPoint;
}

/**
 * Runs the poll timers; the default uses `setInterval`. A test passes a manual one (the same
 * shape as the topic table's scheduler) to poll when it decides.
 */
export interface PollScheduler {
  /** Calls `fn` every `periodMs` until the returned function is called. */
  every(periodMs: number, fn: () => void): () => void;
}

const intervalScheduler: PollScheduler = {
  every(periodMs, fn) {
    const timer = setInterval(fn, periodMs);
    timer.unref();
    return () => clearInterval(timer);
  },
};

/** Options of a {@link ModbusDriver}. */
export interface ModbusDriverOptions {
  readonly channels: readonly ModbusChannel[];
  /** The link to the device. */
  readonly link: ModbusLinkOptions;
  /** Poll period of each group, by name; every channel's group must be here. */
  readonly groups: ReadonlyMap<string, number>;
  /** Unread addresses a batched read may span between two channels. @default 0 */
  readonly maxGap?: number;
  readonly logger?: Logger | undefined;
  /** @default Date.now */
  readonly now?: () => number;
  /** The poll timers. @default setInterval */
  readonly scheduler?: PollScheduler;
}

interface ChannelState {
  readonly info: ChannelInfo;
  readonly point: ModbusPoint;
  value: ChannelValue;
  quality: Quality;
  reason: string | undefined;
  /** Whether a good value was ever read (a failure then makes it stale, not bad). */
  everGood: boolean;
  readonly counter: PulseCounter | undefined;
}

interface Group {
  readonly name: string;
  readonly periodMs: number;
  requests: ReadRequest[];
  busy: Promise<void> | undefined;
  cancel: (() => void) | undefined;
}

const FUNCTION_WORDS: Record<ModbusFunction, string> = {
  coil: 'coils',
  'discrete-input': 'discrete inputs',
  'input-register': 'input registers',
  'holding-register': 'holding registers',
};

/** `read input registers 0..7 of unit 1`. */
function describeRead(r: ReadRequest): string {
  const span = r.count === 1 ? `${r.address}` : `${r.address}..${r.address + r.count - 1}`;
  return `read ${FUNCTION_WORDS[r.fn]} ${span} of unit ${r.unit}`;
}

/** The Modbus driver. */
export class ModbusDriver implements IoDriver {
  /** @inheritdoc */
  readonly kind = 'modbus';
  readonly #channels = new Map<number, ChannelState>();
  readonly #groups: Group[] = [];
  readonly #listeners = new Set<(change: ChannelChange) => void>();
  readonly #link: ModbusLink;
  readonly #log: Logger | undefined;
  readonly #now: () => number;
  readonly #scheduler: PollScheduler;
  readonly #linkListeners = new Set<(state: ModbusLinkState) => void>();
  #running = false;
  #requestCount = 0;
  #linkState: ModbusLinkState = 'idle';

  constructor(options: ModbusDriverOptions) {
    this.#log = options.logger;
    this.#now = options.now ?? Date.now;
    this.#scheduler = options.scheduler ?? intervalScheduler;
    this.#link = new ModbusLink({
      ...options.link,
      logger: options.link.logger ?? options.logger,
      onState: (state, error) => this.#onLinkState(state, error),
    });
    const byGroup = new Map<string, ReadPoint[]>();
    for (const { info, point } of options.channels) {
      const bits = info.type === 'counter' ? bitsOf(point.dataType) : undefined;
      this.#channels.set(info.id, {
        info,
        point,
        value: isDigital(info.type) ? false : Number.NaN,
        quality: 'bad',
        reason: 'not read yet',
        everGood: false,
        counter: bits === undefined ? undefined : new PulseCounter(bits),
      });
      if (!options.groups.has(point.group)) {
        throw new ChannelError(info.id, `${info.name}: no poll group "${point.group}"`);
      }
      const points = byGroup.get(point.group) ?? [];
      points.push({
        id: info.id,
        unit: point.unit,
        fn: point.fn,
        address: point.address,
        width: widthOf(point.fn, point.dataType),
      });
      byGroup.set(point.group, points);
    }
    for (const [name, periodMs] of options.groups) {
      const points = byGroup.get(name);
      if (points === undefined) continue;
      this.#groups.push({
        name,
        periodMs,
        requests: planReads(points, options.maxGap ?? 0),
        busy: undefined,
        cancel: undefined,
      });
    }
  }

  /** The link's state. */
  get linkState(): ModbusLinkState {
    return this.#link.state;
  }

  /** Requests sent so far (reads and writes), for the console and tests. */
  get requestCount(): number {
    return this.#requestCount;
  }

  /** The read requests of each poll group, as planned (or split after an exception 0x02). */
  plan(): { group: string; periodMs: number; requests: readonly ReadRequest[] }[] {
    return this.#groups.map((g) => ({ group: g.name, periodMs: g.periodMs, requests: g.requests }));
  }

  /** Calls `listener` on every change of the link's state; returns a function that removes it. */
  onLinkState(listener: (state: ModbusLinkState) => void): () => void {
    this.#linkListeners.add(listener);
    return () => this.#linkListeners.delete(listener);
  }

  /** @inheritdoc */
  async start(): Promise<void> {
    if (this.#running) return;
    this.#running = true;
    for (const group of this.#groups) {
      group.cancel = this.#scheduler.every(group.periodMs, () => void this.#pollGroup(group));
    }
    // The first poll runs as soon as the link is up (see #onLinkState).
    this.#link.start();
  }

  /**
   * Polls every group now and resolves when done: a poll already running is waited for first,
   * then a fresh one reads what the device holds now. For tests and for a "read now".
   */
  async pollNow(): Promise<void> {
    await Promise.all(
      this.#groups.map(async (g) => {
        while (g.busy !== undefined) await g.busy;
        await this.#pollGroup(g);
      }),
    );
  }

  /** @inheritdoc */
  async read(id: number): Promise<ChannelValue> {
    return this.#state(id).value;
  }

  /** @inheritdoc */
  quality(id: number): ChannelQuality {
    const s = this.#state(id);
    return s.reason === undefined
      ? { quality: s.quality }
      : { quality: s.quality, reason: s.reason };
  }

  /**
   * Writes an output: a coil with FC5 (FC15 with `writeMultiple`), a holding register with
   * FC6, two registers (32-bit types) or `writeMultiple` with FC16. The value is the
   * channel's own after a write the device acknowledged.
   * @throws {ChannelError} for an unknown channel, an input, or a value the data type cannot hold
   * @throws {ModbusError} when the device refuses, does not answer or the link is down
   */
  async write(id: number, value: ChannelValue): Promise<void> {
    const s = this.#state(id);
    const v = checkWrite(s.info, value);
    const { point } = s;
    if (point.fn === 'coil') {
      const on = v === true;
      const what = `write coil ${point.address} of unit ${point.unit}`;
      await this.#request(point.unit, what, (c) =>
        point.writeMultiple ? c.writeCoils(point.address, [on]) : c.writeCoil(point.address, on),
      );
    } else if (point.fn === 'holding-register') {
      const raw =
        typeof v === 'boolean' ? (v ? 1 : 0) : toRaw(v, point.dataType, point.scale, point.offset);
      const words = encodeRegisters(raw, point.dataType, point.wordOrder);
      if (typeof words === 'string')
        throw new ChannelError(id, `${s.info.name}: ${v} is raw ${raw}, which ${words}`);
      const span =
        words.length === 1 ? `${point.address}` : `${point.address}..${point.address + 1}`;
      const what = `write holding register${words.length === 1 ? '' : 's'} ${span} of unit ${point.unit}`;
      const [first] = words;
      await this.#request(point.unit, what, (c) =>
        words.length === 1 && !point.writeMultiple && first !== undefined
          ? c.writeRegister(point.address, first)
          : c.writeRegisters(point.address, words),
      );
    } else {
      // The schema refuses an output on a read-only table; reaching this is a programming error.
      throw new ChannelError(id, `${s.info.name}: ${point.fn} cannot be written`);
    }
    this.#update(s, v, 'good', undefined);
  }

  /** @inheritdoc */
  onChange(listener: (change: ChannelChange) => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  /** @inheritdoc */
  async close(): Promise<void> {
    this.#running = false;
    for (const group of this.#groups) {
      group.cancel?.();
      group.cancel = undefined;
    }
    await this.#link.close();
    await Promise.all(this.#groups.map((g) => g.busy));
    this.#listeners.clear();
    this.#linkListeners.clear();
  }

  #state(id: number): ChannelState {
    const s = this.#channels.get(id);
    if (s === undefined) throw new ChannelError(id, 'no such channel in the Modbus device');
    return s;
  }

  #request<T>(unit: number, what: string, op: Parameters<ModbusLink['request']>[2]): Promise<T> {
    this.#requestCount++;
    return this.#link.request(unit, what, op) as Promise<T>;
  }

  #onLinkState(state: ModbusLinkState, error: ModbusError | undefined): void {
    const previous = this.#linkState;
    this.#linkState = state;
    for (const listener of this.#linkListeners) listener(state);
    if (state === 'connected' && this.#running) {
      // Fresh values at once, not a period later: at start and after every reconnect.
      for (const g of this.#groups) void this.#pollGroup(g);
    } else if (state === 'reconnect-wait' && previous === 'connected' && error !== undefined) {
      // Every value is now as old as the link: say so at once rather than at the next poll.
      // (Later failed attempts leave the reasons to the polls: one line each, not one per try.)
      for (const s of this.#channels.values()) this.#fail(s, error);
    }
  }

  /** One poll of a group: its requests one after another; a failure never stops the rest. */
  #pollGroup(group: Group): Promise<void> {
    if (group.busy !== undefined) return group.busy;
    const run = (async () => {
      try {
        for (const request of [...group.requests]) await this.#poll(group, request);
      } finally {
        group.busy = undefined;
      }
    })();
    group.busy = run;
    return run;
  }

  async #poll(group: Group, request: ReadRequest): Promise<void> {
    const what = describeRead(request);
    const { address, count } = request;
    let bits: readonly boolean[] | undefined;
    let words: readonly number[] | undefined;
    try {
      if (isBitTable(request.fn)) {
        const result = await this.#request<{ data: boolean[] }>(request.unit, what, (c) =>
          request.fn === 'coil'
            ? c.readCoils(address, count)
            : c.readDiscreteInputs(address, count),
        );
        bits = result.data;
      } else {
        const result = await this.#request<{ data: number[] }>(request.unit, what, (c) =>
          request.fn === 'input-register'
            ? c.readInputRegisters(address, count)
            : c.readHoldingRegisters(address, count),
        );
        words = result.data;
      }
    } catch (error) {
      const failure =
        error instanceof ModbusError
          ? error
          : new ModbusError('protocol', `${what}: ${(error as Error).message}`, { cause: error });
      if (
        failure.kind === 'exception' &&
        failure.exceptionCode === 0x02 &&
        request.points.length > 1 &&
        this.#running
      ) {
        await this.#split(group, request, failure);
        return;
      }
      this.#failAll(request, failure);
      return;
    }
    const at = this.#now();
    for (const p of request.points) {
      const s = this.#channels.get(p.id);
      if (s === undefined) continue;
      const offset = p.address - address;
      if (bits !== undefined) {
        this.#update(s, bits[offset] === true, 'good', undefined, at);
        continue;
      }
      const slice = words?.slice(offset, offset + p.width) ?? [];
      if (slice.length < p.width) {
        this.#fail(
          s,
          new ModbusError(
            'protocol',
            `${what}: the answer is ${words?.length ?? 0} registers short`,
          ),
        );
        continue;
      }
      const raw = decodeRegisters(slice, s.point.dataType, s.point.wordOrder);
      if (isDigital(s.info.type)) {
        this.#update(s, raw !== 0, 'good', undefined, at);
      } else if (s.counter !== undefined) {
        this.#update(
          s,
          toEngineering(s.counter.update(raw), s.point.scale, s.point.offset),
          'good',
          undefined,
          at,
        );
      } else if (Number.isNaN(raw)) {
        // A float32 NaN: the device says it has no value (a broken sensor, often).
        this.#update(s, raw, 'bad', 'the device reports NaN', at);
      } else {
        this.#update(s, toEngineering(raw, s.point.scale, s.point.offset), 'good', undefined, at);
      }
    }
  }

  /**
   * A batch refused with exception 0x02: some address in it does not exist. From now on each
   * of its channels is read alone, and they are read alone at once.
   */
  async #split(group: Group, request: ReadRequest, failure: ModbusError): Promise<void> {
    const single = request.points.map((p) => planReads([p])[0]).filter((r) => r !== undefined);
    const index = group.requests.indexOf(request);
    if (index >= 0) group.requests.splice(index, 1, ...single);
    this.#log?.warn(
      { group: group.name, channels: request.points.map((p) => p.id) },
      `Modbus: ${failure.message}; reading its ${request.points.length} channels one by one from now on`,
    );
    for (const r of single) await this.#poll(group, r);
  }

  #failAll(request: ReadRequest, failure: ModbusError): void {
    let changed = 0;
    for (const p of request.points) {
      const s = this.#channels.get(p.id);
      if (s !== undefined && this.#fail(s, failure)) changed++;
    }
    if (changed > 0) {
      this.#log?.warn(
        {
          kind: failure.kind,
          exceptionCode: failure.exceptionCode,
          channels: request.points.map((p) => p.id),
        },
        `Modbus: ${failure.message}`,
      );
    }
  }

  /** Marks `s` as not read: stale when it had a good value and the failure may pass; returns whether that changed it. */
  #fail(s: ChannelState, failure: ModbusError): boolean {
    const quality: Quality = s.everGood ? failure.quality : 'bad';
    return this.#update(s, s.value, quality, failure.message);
  }

  #update(
    s: ChannelState,
    value: ChannelValue,
    quality: Quality,
    reason: string | undefined,
    at = this.#now(),
  ): boolean {
    const recovered = quality === 'good' && s.quality !== 'good' && s.everGood;
    if (quality === 'good') s.everGood = true;
    const same =
      (s.value === value || (Number.isNaN(s.value) && Number.isNaN(value))) &&
      s.quality === quality &&
      s.reason === reason;
    s.value = value;
    s.quality = quality;
    s.reason = reason;
    if (same) return false;
    if (recovered) this.#log?.info({ channel: s.info.id }, `Modbus: ${s.info.name} reads again`);
    const change: ChannelChange = {
      id: s.info.id,
      value,
      ts: at,
      quality,
      ...(reason === undefined ? {} : { reason }),
    };
    for (const listener of this.#listeners) listener(change);
    return true;
  }
}

/**
 * The Modbus driver of a validated `device` section (`driver: modbus`).
 * @param channels the channels, resolved (range and unit filled in), in the order of the file
 */
export function createModbusDriver(
  device: DeviceConfig,
  channels: readonly ChannelInfo[],
  logger?: Logger,
): ModbusDriver {
  const m = device.modbus;
  if (m === undefined) throw new ChannelError(-1, 'device.modbus is required by driver "modbus"');
  const byId = new Map(device.channels.map((c) => [c.id, c]));
  const list: ModbusChannel[] = channels.map((info) => {
    const point = byId.get(info.id)?.modbus;
    if (point === undefined) throw new ChannelError(info.id, `${info.name}: no modbus settings`);
    return {
      info,
      point: {
        unit: point.unit,
        fn: point.function,
        address: point.address,
        dataType: point.dataType ?? defaultDataType(point.function, info),
        wordOrder: point.wordOrder,
        scale: point.scale,
        offset: point.offset,
        group: point.group ?? DEFAULT_GROUP,
        writeMultiple: point.writeMultiple,
      },
    };
  });
  const groups = new Map<string, number>([[DEFAULT_GROUP, m.pollMs]]);
  for (const g of m.groups) groups.set(g.name, g.pollMs);
  const target =
    m.transport === 'rtu'
      ? {
          transport: 'rtu' as const,
          path: m.path ?? '',
          baudRate: m.baudRate,
          dataBits: m.dataBits,
          stopBits: m.stopBits,
          parity: m.parity,
        }
      : { transport: 'tcp' as const, host: m.host ?? '', port: m.port };
  return new ModbusDriver({
    channels: list,
    link: {
      target,
      timeoutMs: m.timeoutMs,
      reconnect: { minDelayMs: m.reconnect.minDelayMs, maxDelayMs: m.reconnect.maxDelayMs },
    },
    groups,
    maxGap: m.maxGap,
    logger,
  });
}

/**
 * The data type a channel reads when its configuration names none: a bit for coils and
 * discrete inputs, an unsigned register for a digital channel on a register (0 is off), a
 * 32-bit unsigned pair for a counter, a signed register otherwise (temperatures go below 0).
 */
export function defaultDataType(
  fn: ModbusFunction,
  info: Pick<ChannelInfo, 'type'>,
): ModbusDataType {
  if (isBitTable(fn)) return 'bool';
  if (isDigital(info.type)) return 'uint16';
  if (info.type === 'counter') return 'uint32';
  return 'int16';
}
