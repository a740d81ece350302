/**
 * `protocolVersion: 'auto'`: which MQTT version the client offers each server. 5.0 first;
 * a server that refused it is remembered (by URL, for the client's life) and offered 3.1.1
 * from then on.
 *
 * @module
 */

import { ConnectionLostError, ConnectionRefusedError, type MqttError } from '../errors.js';
import type { ProtocolVersion } from '../packet/types.js';

/** The version to offer each server, and the servers that refused 5.0. */
export class VersionChoice {
  readonly #auto: boolean;
  readonly #configured: ProtocolVersion;
  /** The servers (by URL) that refused 5.0 and speak 3.1.1 (created by the first). */
  #fallbacks: Set<string> | undefined;

  /**
   * @param auto `protocolVersion: 'auto'` was configured
   * @param configured the configured version (used as it is unless `auto`)
   */
  constructor(auto: boolean, configured: ProtocolVersion) {
    this.#auto = auto;
    this.#configured = configured;
  }

  /** The version to offer the server at `url`: 5 unless it refused it before. */
  versionFor(url: string): ProtocolVersion {
    if (!this.#auto) return this.#configured;
    return this.#fallbacks?.has(url) === true ? 4 : 5;
  }

  /**
   * An attempt at `url` with `version` failed before a CONNACK accepted it. True when it
   * says the server does not speak 5.0: remembered, and the client tries 3.1.1 at once (no
   * failure: the server told us which version it speaks).
   */
  refused(url: string, version: ProtocolVersion, error: MqttError): boolean {
    if (!this.#auto || version !== 5 || !refusesVersion5(error)) return false;
    this.#fallbacks ??= new Set();
    this.#fallbacks.add(url);
    return true;
  }
}

/**
 * Whether a failed 5.0 attempt says the server does not speak 5.0. A 3.1.1 server answers a
 * level it does not know with CONNACK return code 1 [MQTT-3.1.2-2] (decoded as such from its
 * 3.1.1-style CONNACK); a 5.0 server with reason code 0x84 (Unsupported Protocol Version);
 * some close the connection on the CONNECT without a word (a close by the server before
 * CONNACK, never one torn down on this side or a time-out).
 */
export function refusesVersion5(error: MqttError): boolean {
  if (error instanceof ConnectionRefusedError) {
    return error.returnCode === 0x01 || error.returnCode === 0x84;
  }
  return error instanceof ConnectionLostError && error.byServer && error.beforeConnack;
}
