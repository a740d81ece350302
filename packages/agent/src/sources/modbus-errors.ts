/**
 * What can go wrong with a Modbus request, and what it makes of a channel's quality.
 *
 * @module
 */

import { AgentError, AgentErrorCode } from '../errors.js';
import type { Quality } from './channels.js';

/**
 * The kinds of Modbus failure:
 * - `exception`: the device answered with an exception code (MODBUS Application Protocol
 *   v1.1b3, §7);
 * - `timeout`: no answer within the timeout (a slow or silent slave);
 * - `link`: the TCP connection or the serial port is down;
 * - `protocol`: an answer that cannot be read (bad CRC, wrong length, wrong unit or function).
 */
export const MODBUS_FAILURES = ['exception', 'timeout', 'link', 'protocol'] as const;

/** A kind of Modbus failure. */
export type ModbusFailure = (typeof MODBUS_FAILURES)[number];

/** The exception codes of the specification (§7), in its words (0x0A = 10, 0x0B = 11). */
export const MODBUS_EXCEPTIONS: Readonly<Record<number, string>> = {
  1: 'illegal function',
  2: 'illegal data address',
  3: 'illegal data value',
  4: 'server device failure',
  5: 'acknowledge',
  6: 'server device busy',
  8: 'memory parity error',
  10: 'gateway path unavailable',
  11: 'gateway target device failed to respond',
};

/**
 * Exceptions that say "later", not "never": acknowledge (0x05, a long operation runs), busy
 * (0x06) and the gateway's two (0x0A, 0x0B: the device behind it is off or unreachable).
 */
const TRANSIENT_EXCEPTIONS = new Set([0x05, 0x06, 0x0a, 0x0b]);

/** `2` → `0x02 (illegal data address)`. */
export function describeException(code: number): string {
  const hex = `0x${code.toString(16).padStart(2, '0').toUpperCase()}`;
  return `${hex} (${MODBUS_EXCEPTIONS[code] ?? 'unknown exception'})`;
}

/** A Modbus request failed. */
export class ModbusError extends AgentError {
  /** What failed. */
  readonly kind: ModbusFailure;
  /** The exception code the device answered, for `kind: 'exception'`. */
  readonly exceptionCode: number | undefined;

  constructor(
    kind: ModbusFailure,
    message: string,
    options?: { exceptionCode?: number; cause?: unknown },
  ) {
    super(AgentErrorCode.MODBUS, message, options);
    this.kind = kind;
    this.exceptionCode = options?.exceptionCode;
  }

  /**
   * What the failure makes of a value that was good: `stale` when it may pass (no answer, link
   * down, a garbled answer, a busy device), `bad` when the device refuses the request (illegal
   * function, address or value, device failure), which will not change until someone fixes the
   * configuration or the device.
   */
  get quality(): Quality {
    if (this.kind !== 'exception') return 'stale';
    return TRANSIENT_EXCEPTIONS.has(this.exceptionCode ?? 0) ? 'stale' : 'bad';
  }
}
