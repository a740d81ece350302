/**
 * Errors raised by the client layer.
 *
 * @module
 */

import { MqttError, MqttErrorCode } from '../errors.js';

const REFUSAL_REASONS: Readonly<Record<number, string>> = {
  1: 'unacceptable protocol version',
  2: 'identifier rejected',
  3: 'server unavailable',
  4: 'bad user name or password',
  5: 'not authorized',
};

/** The broker answered CONNECT with a non-zero CONNACK return code. */
export class ConnectionRefusedError extends MqttError {
  /** The CONNACK return code, 1..5 in MQTT 3.1.1 (others are reported as they come). */
  readonly returnCode: number;
  /** The server that refused, as a URL without credentials. */
  readonly server: string;

  constructor(returnCode: number, server: string) {
    const reason = REFUSAL_REASONS[returnCode] ?? `unknown return code ${returnCode}`;
    super(
      MqttErrorCode.CONNECTION_REFUSED,
      `connection refused by ${server}: ${reason} (CONNACK return code ${returnCode})`,
    );
    this.returnCode = returnCode;
    this.server = server;
  }

  /** True for refusals that retrying with the same settings cannot fix (1, 2, 4, 5). */
  get permanent(): boolean {
    return this.returnCode !== 3;
  }
}
