/**
 * What every packet sent or received feeds besides the session: the metrics counters, the
 * `trace` option and the `packetsend` / `packetreceive` listeners, with secrets removed.
 * On the path of every message: no allocation or closure per packet unless a trace function
 * or a listener asks for the packet.
 *
 * @module
 */

import { warn } from '#platform';
import type { Packet } from '../packet/types.js';
import type { MetricsCounters } from './metrics.js';
import type { PacketTrace } from './options.js';
import { redactPacket, withoutSecrets } from './redact.js';

/** The client's events that show packets. */
export interface PacketEvents {
  packetsend: [Packet];
  packetreceive: [Packet];
}

/** The part of the client's emitter (events.ts) the hooks use. */
export interface PacketListeners {
  listenerCount(event: keyof PacketEvents): number;
  emit(event: keyof PacketEvents, packet: Packet): boolean;
}

/** The metrics, trace and listener hooks of the packets one client sends and receives. */
export class PacketHooks {
  readonly #metrics: MetricsCounters;
  readonly #trace: PacketTrace | undefined;
  readonly #events: PacketListeners;

  /**
   * @param metrics the client's counters
   * @param trace the `trace` option
   * @param events the client's emitter (its `packetsend` / `packetreceive` listeners)
   */
  constructor(metrics: MetricsCounters, trace: PacketTrace | undefined, events: PacketListeners) {
    this.#metrics = metrics;
    this.#trace = trace;
    this.#events = events;
  }

  /** A packet about to be encoded: `packetsend` listeners get it. */
  sending(packet: Packet): void {
    if (this.#events.listenerCount('packetsend') > 0) {
      // Neither the password nor Authentication Data reaches a listener (or a log).
      this.#events.emit('packetsend', withoutSecrets(packet));
    }
  }

  /** A packet encoded to `bytes` bytes, about to be written: counted and traced. */
  sent(packet: Packet, bytes: number): void {
    // The clock is read for PINGREQ only (its round trip); not once per message.
    this.#metrics.sent(packet.type, bytes, packet.type === 'pingreq' ? performance.now() : 0);
    if (this.#trace !== undefined) this.#call('out', packet);
  }

  /** A packet decoded from `bytes` bytes at `at` (`performance.now()`): counted, traced, shown. */
  received(packet: Packet, bytes: number, at: number): void {
    this.#metrics.received(packet.type, bytes, at);
    if (this.#trace !== undefined) this.#call('in', packet);
    if (this.#events.listenerCount('packetreceive') > 0) {
      this.#events.emit('packetreceive', withoutSecrets(packet));
    }
  }

  /**
   * Calls the `trace` option with the packet, secrets masked. A throwing trace function must
   * not break the connection: its error becomes a process warning instead.
   */
  #call(direction: 'in' | 'out', packet: Packet): void {
    try {
      this.#trace?.(direction, redactPacket(packet));
    } catch (error) {
      warn(
        `courier-mqtt: the trace function threw: ${error instanceof Error ? error.message : String(error)}`,
      );
    }
  }
}
