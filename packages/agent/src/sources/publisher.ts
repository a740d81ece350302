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

/**
 * The MQTT 5.0 properties a topic row gives each of its messages, with the library's field
 * names (`OutgoingPublishProperties`).
 */
export interface RowPublishProperties {
  readonly messageExpiryIntervalSec?: number;
  readonly contentType?: string;
  readonly userProperties?: readonly (readonly [string, string])[];
}

/** What a message is published with. */
export interface PublisherOptions {
  readonly qos: QoS;
  readonly retain: boolean;
  /** MQTT 5.0 only; absent on 3.1.1 (the configuration refuses them there). */
  readonly properties?: RowPublishProperties;
}

/** Publishes one message; resolves when the QoS flow completes. */
export interface Publisher {
  publish(topic: string, payload: string, options: PublisherOptions): Promise<void>;
}
