/**
 * What each feature of the interop matrix does on a broker that follows the specification,
 * and where a broker of the matrix departs from it: an explicit, named table. The matrix test
 * observes each outcome and asserts it equals this table, so an entry fails the day its
 * broker changes (and `docs/brokers.md`, checked against this table, must change with it).
 *
 * @module
 */

import type { BrokerName } from './brokers.js';

/** The features of the interop suite. */
export const FEATURES = [
  'connect',
  'qos 0 and 1 both ways',
  'subscribe at qos 2',
  'publish at qos 2',
  'retained to the exact topic',
  'retained to a/+',
  'retained to #',
  'retained cleared',
  'persistent session resume',
  'will',
  'keep-alive',
  'unsubscribe',
  '$-topics',
  'shared subscriptions',
] as const;

/** One feature of the interop suite. */
export type Feature = (typeof FEATURES)[number];

/** The outcome on a broker that follows the specification. */
export const SPEC: Readonly<Record<Feature, string>> = {
  connect: 'CONNACK accepted, no session present',
  'qos 0 and 1 both ways': 'received at QoS 0 and 1',
  'subscribe at qos 2': 'granted QoS 2',
  'publish at qos 2': 'completed (PUBCOMP), received at QoS 2',
  'retained to the exact topic': 'delivered with the retain flag',
  'retained to a/+': 'delivered with the retain flag',
  'retained to #': 'delivered with the retain flag',
  'retained cleared': 'cleared by an empty retained message',
  'persistent session resume': 'session present, 3 of 3 queued QoS 1 messages delivered',
  will: 'published when the connection is lost, not after DISCONNECT',
  'keep-alive': 'PINGRESP answered; a silent client closed',
  unsubscribe: 'nothing delivered after UNSUBACK',
  '$-topics': '# does not match $courier/x; $courier/# receives it',
  'shared subscriptions': 'split across the group, none twice; the survivor took all 20',
};

/** A departure from {@link SPEC}: what the broker does instead, and why we know. */
export interface Difference {
  readonly outcome: string;
  /** The broker's own words (documentation, log line), for the matrix. */
  readonly why: string;
}

/** Every known departure, by broker and feature. Absent means {@link SPEC}. */
export const DIFFERENCES: Readonly<Record<BrokerName, Partial<Record<Feature, Difference>>>> = {
  'mosquitto-3.1.1': {},
  'mosquitto-5': {},
  nats: {
    'subscribe at qos 2': {
      outcome: 'granted QoS 1',
      why: 'NATS 2.9 MQTT supports QoS 0 and 1 only and grants at most 1',
    },
    'publish at qos 2': {
      outcome: 'PoisonMessageError: the broker closed the connection 3 times',
      why: 'NATS closes the connection on a QoS 2 PUBLISH (log: "publish QoS=2 not supported")',
    },
    '$-topics': {
      outcome: '# matches $courier/x; $courier/# receives it',
      why: 'NATS maps topics to subjects, where `>` matches a leading `$` level [MQTT-4.7.2-1]',
    },
    'shared subscriptions': {
      outcome: 'nothing delivered to the $share filter (no shared subscriptions)',
      why: 'NATS 2.9 MQTT has no $share; it uses NATS queue groups instead, not reachable over MQTT',
    },
  },
  rabbitmq: {
    'subscribe at qos 2': {
      outcome: 'granted QoS 1',
      why: 'rabbitmq_mqtt 3.10 downgrades QoS 2 subscriptions to QoS 1',
    },
    'publish at qos 2': {
      outcome: 'QosDowngradedError (PUBACK for QoS 2), received at QoS 1',
      why: 'rabbitmq_mqtt 3.10 answers a QoS 2 PUBLISH with PUBACK',
    },
    'retained to a/+': {
      outcome: 'not delivered',
      why: 'rabbitmq_mqtt 3.10 looks a retained message up by the exact filter: a wildcard filter gets none',
    },
    'retained to #': {
      outcome: 'not delivered',
      why: 'rabbitmq_mqtt 3.10 looks a retained message up by the exact filter: a wildcard filter gets none',
    },
    '$-topics': {
      outcome: '# matches $courier/x; $courier/# receives it',
      why: 'MQTT topics are AMQP topic-exchange routing keys, where `#` matches any word [MQTT-4.7.2-1]',
    },
    'shared subscriptions': {
      outcome: 'nothing delivered to the $share filter (no shared subscriptions)',
      why: 'rabbitmq_mqtt 3.10 has no $share',
    },
  },
  aedes: {
    'shared subscriptions': {
      outcome: 'nothing delivered to the $share filter (no shared subscriptions)',
      why: 'Aedes 1.2 has no $share',
    },
  },
};

/** The outcome the matrix asserts for `broker` and `feature`. */
export function expected(broker: BrokerName, feature: Feature): string {
  return DIFFERENCES[broker][feature]?.outcome ?? SPEC[feature];
}
