/**
 * Modbus data: the four tables, the data types a channel reads from them, and the conversions
 * between 16-bit registers and engineering values. Pure functions, no I/O.
 *
 * Modbus itself only knows bits (coils, discrete inputs) and 16-bit words (input and holding
 * registers), big-endian within a word (Modbus Application Protocol v1.1b3, §4.2). A 32-bit
 * value spans two registers; which comes first is the device's choice, so the word order is a
 * setting: `big` puts the high word at the lower address (ABCD, the common one), `little` the
 * low word (CDAB, many PLCs and energy meters).
 *
 * @module
 */

/** The Modbus tables a channel can read: FC1, FC2, FC4 and FC3. */
export const MODBUS_FUNCTIONS = [
  'coil',
  'discrete-input',
  'input-register',
  'holding-register',
] as const;

/** A Modbus table. */
export type ModbusFunction = (typeof MODBUS_FUNCTIONS)[number];

/** The data types of a channel's Modbus value. */
export const MODBUS_DATA_TYPES = ['bool', 'int16', 'uint16', 'int32', 'uint32', 'float32'] as const;

/** A Modbus data type. */
export type ModbusDataType = (typeof MODBUS_DATA_TYPES)[number];

/** Word orders of 32-bit values: `big` = high word first (ABCD), `little` = low word first (CDAB). */
export const WORD_ORDERS = ['big', 'little'] as const;

/** A word order. */
export type WordOrder = (typeof WORD_ORDERS)[number];

/** Whether the table holds bits (coils, discrete inputs) rather than registers. */
export const isBitTable = (fn: ModbusFunction): boolean => fn === 'coil' || fn === 'discrete-input';

/** Whether the master may write the table: coils (FC5/FC15) and holding registers (FC6/FC16). */
export const isWritableTable = (fn: ModbusFunction): boolean =>
  fn === 'coil' || fn === 'holding-register';

/** How many bits or registers a value of `dataType` occupies in `fn`'s table. */
export function widthOf(fn: ModbusFunction, dataType: ModbusDataType): 1 | 2 {
  if (isBitTable(fn)) return 1;
  return dataType === 'int32' || dataType === 'uint32' || dataType === 'float32' ? 2 : 1;
}

/** The bits of an integer data type (the wrap-around of a counter read with it). */
export function bitsOf(dataType: ModbusDataType): 16 | 32 | undefined {
  if (dataType === 'int16' || dataType === 'uint16') return 16;
  if (dataType === 'int32' || dataType === 'uint32') return 32;
  return undefined;
}

const RANGES: Record<Exclude<ModbusDataType, 'bool' | 'float32'>, [number, number]> = {
  int16: [-0x8000, 0x7fff],
  uint16: [0, 0xffff],
  int32: [-0x8000_0000, 0x7fff_ffff],
  uint32: [0, 0xffff_ffff],
};

/** The largest finite float32. */
const FLOAT32_MAX = 3.4028234663852886e38;

/**
 * The raw value of registers read from a device.
 * @param words the registers, from the value's lowest address; 1 or 2 of them
 */
export function decodeRegisters(
  words: readonly number[],
  dataType: ModbusDataType,
  wordOrder: WordOrder,
): number {
  const a = (words[0] ?? 0) & 0xffff;
  const b = (words[1] ?? 0) & 0xffff;
  switch (dataType) {
    case 'bool':
      return a === 0 ? 0 : 1;
    case 'uint16':
      return a;
    case 'int16':
      return (a << 16) >> 16;
    default: {
      const [hi, lo] = wordOrder === 'big' ? [a, b] : [b, a];
      const view = new DataView(new ArrayBuffer(4));
      view.setUint16(0, hi);
      view.setUint16(2, lo);
      if (dataType === 'uint32') return view.getUint32(0);
      if (dataType === 'int32') return view.getInt32(0);
      return view.getFloat32(0);
    }
  }
}

/**
 * The registers that hold the raw value `raw`, lowest address first.
 * @returns the words, or why `raw` does not fit the data type (`does not fit a uint16 ...`)
 */
export function encodeRegisters(
  raw: number,
  dataType: ModbusDataType,
  wordOrder: WordOrder,
): number[] | string {
  if (!Number.isFinite(raw)) return 'is not a finite number';
  if (dataType === 'bool') return [raw === 0 ? 0 : 1];
  if (dataType === 'float32') {
    if (Math.abs(raw) > FLOAT32_MAX) return 'does not fit a float32';
  } else {
    const [min, max] = RANGES[dataType];
    if (!Number.isInteger(raw) || raw < min || raw > max)
      return `does not fit a ${dataType} (${min}..${max}, whole numbers)`;
  }
  if (dataType === 'int16' || dataType === 'uint16') return [raw & 0xffff];
  const view = new DataView(new ArrayBuffer(4));
  if (dataType === 'float32') view.setFloat32(0, raw);
  else if (dataType === 'int32') view.setInt32(0, raw);
  else view.setUint32(0, raw);
  const hi = view.getUint16(0);
  const lo = view.getUint16(2);
  return wordOrder === 'big' ? [hi, lo] : [lo, hi];
}

/**
 * `raw × scale + offset`, rounded to 15 significant digits so that a register of 215 at scale
 * 0.1 reads 21.5 and not 21.500000000000004 (binary fractions; 15 digits is what a double
 * holds exactly).
 */
export function toEngineering(raw: number, scale: number, offset: number): number {
  if (scale === 1 && offset === 0) return raw;
  const v = raw * scale + offset;
  return Number.isFinite(v) ? Number(v.toPrecision(15)) : v;
}

/**
 * The raw value an engineering value is written as: `(value − offset) / scale`, rounded to a
 * whole number for the integer types.
 */
export function toRaw(
  value: number,
  dataType: ModbusDataType,
  scale: number,
  offset: number,
): number {
  const raw = (value - offset) / scale;
  return dataType === 'float32' ? raw : Math.round(raw);
}

/**
 * A pulse count that survives the wrap-around of its register.
 *
 * A 32-bit counter register goes from 4,294,967,295 back to 0 (a 16-bit one after 65,535); the
 * channel's count keeps going up by the pulses in between: each reading adds
 * `(raw − previous) mod 2^bits`. A device that restarts from 0 looks the same as a wrap, so it
 * adds the pulses counted since the restart, never a negative step.
 */
export class PulseCounter {
  readonly #modulus: number;
  #last: number | undefined;
  #total = 0;

  /** @param bits width of the counter register (16 or 32) */
  constructor(bits: 16 | 32) {
    this.#modulus = 2 ** bits;
  }

  /** The count after reading `raw` (the first reading is taken as it is). */
  update(raw: number): number {
    if (this.#last === undefined) this.#total = raw;
    else this.#total += (((raw - this.#last) % this.#modulus) + this.#modulus) % this.#modulus;
    this.#last = raw;
    return this.#total;
  }
}
