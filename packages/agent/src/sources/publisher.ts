/**
 * The narrow view of an MQTT client that data sources publish through.
 *
 * The topic table and the Redis bridge depend on this interface, not on the client, so their
 * logic (intervals, thresholds, mapping) is unit-tested with a recording fake.
 *
 * @module
 */

import type { QoS } from 'courier-mqtt';

/** MQTT quality of service: the library's own type. */
export type { QoS };

/** Publishes one message; resolves when the QoS flow completes. */
export interface Publisher {
  publish(topic: string, payload: string, options: { qos: QoS; retain: boolean }): Promise<void>;
}
