/**
 * The public types of the client's operations: their options, and what the client reports.
 *
 * @module
 */

import type { InvalidOptionError, MqttError } from '../errors.js';
import type { QoS, RetainHandling, UserProperties } from '../packet/types.js';

/** Options of {@link Client.publish}. */
export interface PublishOptions {
  /** @default 0 */
  readonly qos?: QoS;
  /** @default false */
  readonly retain?: boolean;
  /**
   * When the returned promise resolves:
   * - `'completed'`: when the QoS flow completes (QoS 0 written, QoS 1 PUBACK, QoS 2 PUBCOMP);
   * - `'stored'`: as soon as the message is safe in the session store (on disk with
   *   `fileStore`, fsync included), before the broker has it. From then on a crash or a
   *   power cut does not lose it: the next client with the same store sends it. A failure
   *   after that point (e.g. the client ended with a memory store) is reported through the
   *   `dropped` event. QoS 0 is never stored: it resolves when written.
   * @default 'completed'
   */
  readonly resolveOn?: 'completed' | 'stored';
  /**
   * MQTT 5.0 PUBLISH properties. Checked when `publish` is called: on a 3.1 / 3.1.1
   * connection giving any is an {@link InvalidOptionError} (they would be lost on the wire).
   */
  readonly properties?: OutgoingPublishProperties;
}

/**
 * Properties a publisher may set on a PUBLISH (MQTT 5.0 only, §3.3.2.3). Each is checked
 * when `publish` is called, and the whole packet is measured against the server's Maximum
 * Packet Size with them. The Topic Alias is not here: the client assigns aliases itself
 * (see the `topicAliases` option).
 */
export interface OutgoingPublishProperties {
  /**
   * 1: the payload is UTF-8 encoded character data, and is checked to be before it is sent
   * [MQTT-3.3.2-4]; 0: unspecified bytes.
   */
  readonly payloadFormatIndicator?: 0 | 1;
  /**
   * Lifetime of the message in seconds, 0..4,294,967,295 [MQTT-3.3.2-5]. A message still
   * waiting in the offline queue when it expires is not sent (it fails with a typed error);
   * one sent after waiting carries what remains [MQTT-3.3.2-6].
   */
  readonly messageExpiryIntervalSec?: number;
  /** A MIME type or any UTF-8 string describing the payload (at most 65,535 bytes). */
  readonly contentType?: string;
  /** The topic a responder should publish its answer to: a topic name, no wildcards [MQTT-3.3.2-14]. */
  readonly responseTopic?: string;
  /** Binary data relating a response to its request (at most 65,535 bytes). */
  readonly correlationData?: Uint8Array;
  /** Name/value pairs, in order; a name may repeat [MQTT-3.3.2-17], [MQTT-3.3.2-18]. */
  readonly userProperties?: UserProperties;
}

/** Options of {@link Client.subscribe}. */
export interface SubscribeOptions {
  /** QoS of the filters given as strings. @default 0 */
  readonly qos?: QoS;
  /**
   * `'auto'`: a QoS 1/2 message is acknowledged to the broker when the reader takes it from
   * the iterator. `'manual'`: when the reader calls `message.ack()` — after writing it where
   * it must survive. Either way acknowledgements go out in the order the messages arrived,
   * and the broker's in-flight window bounds how many wait. @default 'auto'
   */
  readonly ack?: 'auto' | 'manual';
  /**
   * MQTT 5.0: the broker does not send this client the messages it published itself
   * [MQTT-3.8.3-3]. Not allowed on a shared subscription [MQTT-3.8.3-4]. @default false
   */
  readonly noLocal?: boolean;
  /**
   * MQTT 5.0: messages keep the RETAIN flag they were published with (a bridge needs it);
   * otherwise the broker clears it on messages that are not sent because of the subscribe
   * [MQTT-3.3.1-12/13]. @default false
   */
  readonly retainAsPublished?: boolean;
  /**
   * MQTT 5.0: when the broker sends retained messages: 0 at every subscribe, 1 only when the
   * subscription did not exist yet, 2 never [MQTT-3.3.1-9/10/11]. @default 0
   */
  readonly retainHandling?: RetainHandling;
  /** MQTT 5.0: User Properties of the SUBSCRIBE, `[name, value]` pairs or an object. */
  readonly userProperties?: UserProperties | Readonly<Record<string, string>>;
}

/** A message the client had to give up: reported so that no loss is silent. */
export interface DroppedMessage {
  /** `'in'`: a received QoS 0 message no reader had room for. `'out'`: a publish failed
   * after its promise had resolved (`resolveOn: 'stored'`) or with nobody awaiting it (a
   * message resumed from the store after a restart). */
  readonly direction: 'in' | 'out';
  readonly topic: string;
  readonly qos: QoS;
  /** Why. */
  readonly error: MqttError;
}

/** Options of {@link Client.end}. */
export interface EndOptions {
  /** Close at once, without waiting for in-flight messages. @default false */
  readonly force?: boolean;
  /** How long to wait for in-flight messages to complete. @default 5000 */
  readonly timeoutMs?: number;
  /**
   * MQTT 5.0: the DISCONNECT's reason code. `0x00` (Normal disconnection, the default): the
   * broker discards the Will. `0x04` (Disconnect with Will Message): the broker publishes the
   * Will as if the connection had been lost, for a device that stops on purpose and wants
   * its "offline" seen. Refused on an MQTT 3.1/3.1.1 connection (its DISCONNECT has no code).
   */
  readonly reasonCode?: 0x00 | 0x04;
  /** MQTT 5.0: the DISCONNECT's properties. Refused on an MQTT 3.1/3.1.1 connection. */
  readonly properties?: EndProperties;
}

/** The properties a client's DISCONNECT may carry (MQTT 5.0 §3.14.2.2). */
export interface EndProperties {
  /**
   * 0x11 Session Expiry Interval: replaces the one of the CONNECT, e.g. 0 to end a persistent
   * session now. 0..4,294,967,295 seconds; not above 0 when the CONNECT's was 0
   * [MQTT-3.14.2-2].
   */
  readonly sessionExpiryIntervalSec?: number;
  /** 0x1F Reason String: for the broker's log. */
  readonly reasonString?: string;
  /** 0x26 User Properties, in order (a name may repeat). */
  readonly userProperties?: readonly (readonly [string, string])[];
}

/** A filter with its requested QoS. */
export interface FilterRequest {
  readonly topic: string;
  readonly qos: QoS;
}
