/**
 * An I/O driver whose inputs the test sets: each `set` is a change with its own timestamp,
 * and writes are checked as a real driver checks them (`checkWrite`).
 */
import type { ChannelValue } from '../src/formats/types.js';
import {
  type ChannelChange,
  type ChannelInfo,
  checkWrite,
  type IoDriver,
} from '../src/sources/channels.js';

/** The driver over `values` (the channels' current values) and `infos` (what each one is). */
export function manualDriverOf(
  values: Map<number, ChannelValue>,
  infos: ReadonlyMap<number, ChannelInfo>,
): {
  driver: IoDriver;
  set(id: number, value: ChannelValue, ts?: number): void;
  values: Map<number, ChannelValue>;
} {
  const listeners = new Set<(c: ChannelChange) => void>();
  const set = (id: number, value: ChannelValue, ts = Date.now()) => {
    values.set(id, value);
    for (const l of listeners) l({ id, value, ts });
  };
  const driver: IoDriver = {
    kind: 'manual',
    start: async () => undefined,
    read: async (id) => values.get(id)!,
    write: async (id, value) => set(id, checkWrite(infos.get(id)!, value)),
    onChange: (l) => {
      listeners.add(l);
      return () => listeners.delete(l);
    },
    close: async () => undefined,
  };
  return { driver, set, values };
}
