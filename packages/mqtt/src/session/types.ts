/**
 * The types a {@link Session} shares with its driver and between its parts: the host it
 * answers through, its options, the server's limits, and the context its outgoing, incoming
 * and keep-alive parts are given.
 *
 * @module
 */

import type { MqttError } from '../errors.js';
import type {
  ConnackPacket,
  ConnectProperties,
  Packet,
  ProtocolVersion,
  PublishPacket,
  PublishProperties,
  QoS,
  Will,
} from '../packet/types.js';
import type { SessionStore } from '../store/types.js';

/** The link state of a {@link Session}. */
export type LinkState = 'offline' | 'awaiting-connack' | 'online';

/** A pending user operation the session settles. */
export interface Settleable<T> {
  resolve(value: T): void;
  reject(error: Error): void;
}

/** What the session asks of its driver. */
export interface SessionHost {
  /** Write a packet to the connection. Only called while a connection is open. */
  send(packet: Packet): void;
  /**
   * Hand an incoming application message to the application. For QoS 1/2 the `ack` is the
   * message's place in the acknowledgement order: the driver calls
   * {@link Session.acknowledge} with it once the application has taken the message (at once
   * when nothing holds it), and only then does PUBACK / PUBREC go out.
   */
  deliver(message: PublishPacket, ack: InboundAck | undefined): void;
  /** Drop the connection, e.g. after a keep-alive expiry or a protocol violation. */
  drop(error: MqttError): void;
  /**
   * An outgoing message nobody awaits (resumed from a store after a restart) failed for
   * good, e.g. as a poison message: report it, since no promise will.
   */
  failed?(topic: string, qos: QoS, error: MqttError): void;
  /**
   * The broker accepted the connection (CONNACK return code 0, received through
   * {@link Session.receive}); what was in flight has been resent.
   */
  connected?(connack: ConnackPacket): void;
}

/** Bounds of the queue of messages accepted and not yet sent. */
export interface QueueLimits {
  readonly maxMessages: number;
  /** Payload bytes. */
  readonly maxBytes: number;
  /**
   * `reject`: a message over a bound is refused. `drop-oldest-qos0`: the oldest queued QoS 0
   * message makes room (its op rejects); refused when none is left.
   */
  readonly policy: 'reject' | 'drop-oldest-qos0';
}

/**
 * Operations the driver holds outside the session (made before the store opened, while the
 * session could not take them yet): they count against the same queue bounds.
 */
export interface QueuedOutside {
  readonly count: number;
  readonly bytes: number;
  /** Removes the oldest QoS 0 publish held outside; its op, or undefined when none is. */
  dropOldestQos0(): Settleable<void> | undefined;
}

/** Fixed parameters of a session. */
export interface SessionOptions {
  readonly protocolVersion: ProtocolVersion;
  readonly clientId: string;
  readonly clean: boolean;
  readonly keepaliveSec: number;
  /** How long to wait for PINGRESP before declaring the connection dead. */
  readonly pingTimeoutMs: number;
  readonly will?: Will;
  /** Maximum number of outgoing QoS 1/2 messages in flight at once (1..65,535). */
  readonly maxInflight: number;
  /** Bounds of the offline queue, applied by {@link Session.admit}. @default unbounded */
  readonly offlineQueue?: QueueLimits;
  /** MQTT 5.0: the CONNECT properties. */
  readonly connectProperties?: ConnectProperties;
  /**
   * MQTT 5.0: assign Topic Aliases to outgoing PUBLISH packets, within the server's Topic
   * Alias Maximum. @default true
   */
  readonly outgoingTopicAliases?: boolean;
}

/** What a publish may carry besides topic, payload, QoS and retain. */
export interface PublishExtras {
  /** MQTT 5.0 properties, already validated (no Topic Alias: the session assigns those). */
  readonly properties?: PublishProperties;
  /**
   * The wall clock at acceptance (ms since the epoch), so that a Message Expiry outlives a
   * restart in a durable store. Without it the expiry holds for this process only.
   */
  readonly epochMs?: number;
}

/**
 * What an MQTT 5.0 server's CONNACK said it accepts, defaults filled in (§3.2.2.3): the
 * limits of the current connection (or of the last one, while offline).
 */
export interface ServerLimits {
  /** QoS 1/2 publishes it takes unacknowledged at once. */
  readonly receiveMaximum: number;
  /** Largest packet it accepts, in bytes; Infinity when it set no limit. */
  readonly maximumPacketSizeBytes: number;
  readonly maximumQos: QoS;
  readonly retainAvailable: boolean;
  /** Highest Topic Alias it accepts from us; 0 = none. */
  readonly topicAliasMaximum: number;
  readonly wildcardSubscriptionAvailable: boolean;
  readonly subscriptionIdentifiersAvailable: boolean;
  readonly sharedSubscriptionAvailable: boolean;
}

/** The limits of {@link ServerLimits} a 5.0 CONNACK without properties means. */
export function limitsOf(connack: ConnackPacket): ServerLimits {
  const p = connack.properties ?? {};
  return {
    receiveMaximum: p.receiveMaximum ?? 65535,
    maximumPacketSizeBytes: p.maximumPacketSizeBytes ?? Number.POSITIVE_INFINITY,
    maximumQos: p.maximumQos ?? 2,
    retainAvailable: p.retainAvailable ?? true,
    topicAliasMaximum: p.topicAliasMaximum ?? 0,
    wildcardSubscriptionAvailable: p.wildcardSubscriptionAvailable ?? true,
    subscriptionIdentifiersAvailable: p.subscriptionIdentifiersAvailable ?? true,
    sharedSubscriptionAvailable: p.sharedSubscriptionAvailable ?? true,
  };
}

/** User name and password sent in CONNECT. */
export interface Credentials {
  readonly username?: string;
  /** Binary data [MQTT-3.1.3.5]. */
  readonly password?: Uint8Array;
}

/**
 * An incoming QoS 1/2 message's acknowledgement, waiting for the application to take the
 * message. Opaque to the driver: it only hands it back to {@link Session.acknowledge}.
 */
export interface InboundAck {
  readonly packetId: number;
  readonly qos: 1 | 2;
  /** The application has taken the message. */
  taken: boolean;
  /** Whether the acknowledgement is owed on the current connection. */
  live: boolean;
}

/**
 * What the parts of a session (outgoing flows, incoming flows) share with the
 * {@link Session} that composes them: its options, host and store, and the state only the
 * session changes (link, server, limits). Internal to `session/`.
 */
export interface SessionContext {
  readonly options: SessionOptions;
  readonly host: SessionHost;
  readonly store: SessionStore;
  /** The link is online (CONNACK accepted, not lost since). */
  readonly online: boolean;
  /** The server of the current connection, as a URL without credentials, for errors. */
  readonly server: string;
  /** MQTT 5.0: the last CONNACK's limits; undefined before the first (and for 3.1.1). */
  readonly limits: ServerLimits | undefined;
  /** Writes a packet and counts it as traffic for keep-alive. */
  send(packet: Packet, now: number): void;
}
