// Helpers of the Modbus driver's tests: channels in a line, a driver that polls only when the
// test says so, waits on the driver's own events (never on the clock), a logger that keeps
// its records.
import { type Logger, pino } from 'pino';
import type { ChannelInfo, ChannelType, Quality } from '../src/sources/channels.js';
import {
  defaultDataType,
  type ModbusChannel,
  ModbusDriver,
  type PollScheduler,
} from '../src/sources/modbus.js';
import type { ModbusDataType, ModbusFunction, WordOrder } from '../src/sources/modbus-codec.js';
import type { ModbusLinkState, ModbusTarget } from '../src/sources/modbus-link.js';

/** Poll timers that never fire: the test polls with `pollNow()`. */
export const neverScheduler: PollScheduler = { every: () => () => undefined };

/** A channel on a Modbus device, with the defaults a configuration would give. */
export function channel(
  id: number,
  type: ChannelType,
  fn: ModbusFunction,
  address: number,
  more: {
    unit?: number;
    dataType?: ModbusDataType;
    wordOrder?: WordOrder;
    scale?: number;
    offset?: number;
    group?: string;
    writeMultiple?: boolean;
    range?: { min: number; max: number };
  } = {},
): ModbusChannel {
  const info: ChannelInfo = {
    id,
    name: `ch${id}`,
    type,
    unit: '',
    range:
      more.range ?? (type.startsWith('digital') ? { min: 0, max: 1 } : { min: -1e12, max: 1e12 }),
  };
  return {
    info,
    point: {
      unit: more.unit ?? 1,
      fn,
      address,
      dataType: more.dataType ?? defaultDataType(fn, info),
      wordOrder: more.wordOrder ?? 'big',
      scale: more.scale ?? 1,
      offset: more.offset ?? 0,
      group: more.group ?? 'default',
      writeMultiple: more.writeMultiple ?? false,
    },
  };
}

/** A Modbus TCP driver to 127.0.0.1:`port`, polled by hand. */
export function tcpDriver(
  port: number,
  channels: ModbusChannel[],
  more: { timeoutMs?: number; maxGap?: number; logger?: Logger; target?: ModbusTarget } = {},
): ModbusDriver {
  return new ModbusDriver({
    channels,
    link: {
      target: more.target ?? { transport: 'tcp', host: '127.0.0.1', port },
      timeoutMs: more.timeoutMs ?? 2000,
      reconnect: { minDelayMs: 20, maxDelayMs: 200 },
    },
    groups: new Map([['default', 60_000]]),
    maxGap: more.maxGap ?? 0,
    scheduler: neverScheduler,
    ...(more.logger === undefined ? {} : { logger: more.logger }),
  });
}

/** Resolves when `check()` holds, checked now and after every change the driver reports. */
export function until(
  driver: ModbusDriver,
  check: () => boolean,
  what: string,
  timeoutMs = 10_000,
): Promise<void> {
  if (check()) return Promise.resolve();
  return new Promise((resolve, reject) => {
    const stop = () => {
      clearTimeout(timer);
      offChange();
      offLink();
    };
    // A guard against a hang, not a readiness wait: the condition is event-driven.
    const timer = setTimeout(() => {
      stop();
      reject(new Error(`timed out waiting for ${what}`));
    }, timeoutMs);
    const test = () => {
      if (!check()) return;
      stop();
      resolve();
    };
    const offChange = driver.onChange(test);
    const offLink = driver.onLinkState(test);
  });
}

/** Resolves when the channel has quality `quality`. */
export function untilQuality(driver: ModbusDriver, id: number, quality: Quality): Promise<void> {
  return until(driver, () => driver.quality(id).quality === quality, `channel ${id} ${quality}`);
}

/** Resolves when the link is in `state`. */
export function untilLink(driver: ModbusDriver, state: ModbusLinkState): Promise<void> {
  return until(driver, () => driver.linkState === state, `link ${state}`);
}

/** A record pino wrote. */
export type Line = Record<string, unknown> & { level: number; msg: string };

/** A pino logger that keeps its JSON records. */
export function recorder(): { logger: Logger; lines: Line[] } {
  const lines: Line[] = [];
  const logger: Logger = pino(
    { level: 'debug', base: null },
    { write: (l: string) => lines.push(JSON.parse(l) as Line) },
  );
  return { logger, lines };
}
