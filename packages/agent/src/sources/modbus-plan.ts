/**
 * Which Modbus read requests poll a set of channels: one request per run of nearby addresses
 * of the same unit and table, within the protocol's limits. Pure, no I/O.
 *
 * A Modbus PDU is at most 253 bytes (MODBUS Application Protocol v1.1b3, §4.1), so one read
 * returns at most 2000 bits (FC1/FC2, §6.1–6.2) or 125 registers (FC3/FC4, §6.3–6.4). Reading
 * eight RTDs at consecutive addresses in one request instead of eight is what makes a serial
 * line at 9600 baud keep up.
 *
 * @module
 */

import { isBitTable, type ModbusFunction } from './modbus-codec.js';

/** The poll group of a channel that names none; its period is `device.modbus.pollMs`. */
export const DEFAULT_GROUP = 'default';

/** Most bits one FC1/FC2 request reads. */
export const MAX_READ_BITS = 2000;
/** Most registers one FC3/FC4 request reads. */
export const MAX_READ_REGISTERS = 125;

/** One value to read: a channel's place in a table. */
export interface ReadPoint {
  /** The channel id. */
  readonly id: number;
  /** Unit id (slave address). */
  readonly unit: number;
  readonly fn: ModbusFunction;
  /** First bit or register. */
  readonly address: number;
  /** Bits or registers it spans (1, or 2 for 32-bit values). */
  readonly width: number;
}

/** One read request and the points its answer holds. */
export interface ReadRequest {
  readonly unit: number;
  readonly fn: ModbusFunction;
  readonly address: number;
  /** Bits or registers to read. */
  readonly count: number;
  /** The points, by address. */
  readonly points: readonly ReadPoint[];
}

/** The most bits or registers one read of `fn` returns. */
export const maxReadOf = (fn: ModbusFunction): number =>
  isBitTable(fn) ? MAX_READ_BITS : MAX_READ_REGISTERS;

/**
 * The read requests that cover `points`.
 *
 * Points of the same unit and table are sorted by address; a point joins the request before
 * it when it starts at most `maxGap` bits or registers after that request's end and the
 * request stays within the protocol's limit. A gap is read and thrown away: worth it for a
 * register or two, but a gap may hold addresses the device refuses (exception 0x02), so the
 * default is 0 (adjacent addresses only).
 *
 * @param maxGap unread addresses a request may span between two points
 */
export function planReads(points: readonly ReadPoint[], maxGap = 0): ReadRequest[] {
  const sorted = [...points].sort(
    (a, b) => a.unit - b.unit || a.fn.localeCompare(b.fn) || a.address - b.address || a.id - b.id,
  );
  const requests: ReadRequest[] = [];
  let current:
    | { unit: number; fn: ModbusFunction; address: number; end: number; points: ReadPoint[] }
    | undefined;
  const flush = () => {
    if (current === undefined) return;
    requests.push({
      unit: current.unit,
      fn: current.fn,
      address: current.address,
      count: current.end - current.address,
      points: current.points,
    });
    current = undefined;
  };
  for (const p of sorted) {
    const end = p.address + p.width;
    if (
      current !== undefined &&
      current.unit === p.unit &&
      current.fn === p.fn &&
      p.address <= current.end + maxGap &&
      Math.max(current.end, end) - current.address <= maxReadOf(p.fn)
    ) {
      current.end = Math.max(current.end, end);
      current.points.push(p);
      continue;
    }
    flush();
    current = { unit: p.unit, fn: p.fn, address: p.address, end, points: [p] };
  }
  flush();
  return requests;
}
