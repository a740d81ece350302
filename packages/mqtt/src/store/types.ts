/**
 * The session store: what must outlive a connection, and with a durable store a process.
 *
 * Mutations are synchronous and buffered; {@link SessionStore.flush} is the durability barrier.
 * A durable implementation batches every mutation made before a `flush()` into one write and
 * one fsync (group commit), so many concurrent publishes share the cost of one disk sync.
 *
 * The client writes ahead: a QoS 1/2 message is recorded (and flushed) before its PUBLISH is
 * written to the socket, so whatever the broker may have seen, the store knows.
 *
 * @module
 */

import type { PublishProperties, QoS } from '../packet/types.js';

/** Where an outgoing message is in its flow. */
export type OutgoingPhase =
  /** Accepted, not yet sent (offline queue, or waiting for a free in-flight slot / packet id). */
  | 'queued'
  /** PUBLISH sent with `packetId`; waiting for PUBACK (QoS 1) or PUBREC (QoS 2). */
  | 'sent'
  /** QoS 2: PUBREC received, PUBREL sent; waiting for PUBCOMP. The payload is no longer needed. */
  | 'released';

/** An outgoing message not yet completed. */
export interface OutgoingRecord {
  /** Monotonic sequence number assigned at acceptance; defines the resend order. */
  readonly seq: number;
  /** Packet id once assigned (phase `sent` or `released`); 0 while `queued`. */
  readonly packetId: number;
  readonly phase: OutgoingPhase;
  readonly topic: string;
  readonly payload: Uint8Array;
  readonly qos: QoS;
  readonly retain: boolean;
  /** MQTT 5.0 PUBLISH properties as the publisher gave them (never a Topic Alias). */
  readonly properties?: PublishProperties;
  /**
   * MQTT 5.0 Message Expiry: when the message expires, in ms since the epoch (wall clock, so
   * that it holds across a restart).
   */
  readonly expiresAtEpochMs?: number;
}

/**
 * A subscription to restore after reconnect when the broker kept no session: its filter, QoS
 * and, for MQTT 5.0, its subscription options and Subscription Identifier (absent: the 3.1.1
 * defaults, no identifier).
 */
export interface StoredSubscription {
  readonly filter: string;
  readonly qos: QoS;
  readonly noLocal?: boolean;
  readonly retainAsPublished?: boolean;
  readonly retainHandling?: 0 | 1 | 2;
  /** 1..268,435,455. */
  readonly subscriptionIdentifier?: number;
}

/** Everything a store holds, as loaded by {@link SessionStore.open}. */
export interface StoreSnapshot {
  /** Outgoing messages, sorted by `seq`. */
  readonly outgoing: readonly OutgoingRecord[];
  /** Incoming QoS 2 packet ids whose PUBREL has not arrived yet [MQTT-4.3.3-2]. */
  readonly incomingQos2: readonly number[];
  readonly subscriptions: readonly StoredSubscription[];
}

/**
 * One interface for the memory store and the crash-safe file store.
 *
 * A store belongs to one client at a time. Mutations never throw for I/O reasons: a durable
 * store reports a write failure through the promise of the next {@link flush}.
 */
export interface SessionStore {
  /**
   * False for a store whose `flush()` makes nothing durable (the memory store): the client
   * then writes packets without waiting for it. Absent means true.
   */
  readonly durable?: boolean;

  /** Loads what the store holds. Called once, before any mutation. */
  open(): Promise<StoreSnapshot>;

  /** Inserts an outgoing message, or replaces the one with the same `seq`. */
  putOutgoing(record: OutgoingRecord): void;
  /**
   * Moves an outgoing message on: assigns its packet id and/or changes its phase.
   * Cheap: a durable store logs only the change, not the payload again.
   */
  updateOutgoing(seq: number, packetId: number, phase: OutgoingPhase): void;
  /** Forgets an outgoing message whose flow completed (or that was dropped by policy). */
  deleteOutgoing(seq: number): void;

  /** Remembers an incoming QoS 2 packet id until its PUBREL. */
  addIncomingQos2(packetId: number): void;
  /** Forgets an incoming QoS 2 packet id (PUBREL received). */
  deleteIncomingQos2(packetId: number): void;

  /** Records a subscription (replacing the QoS of an existing one with the same filter). */
  putSubscription(subscription: StoredSubscription): void;
  /** Forgets a subscription. */
  deleteSubscription(filter: string): void;

  /** Forgets everything (a clean session starts). */
  clear(): void;

  /** Resolves once every mutation made before the call is durable. */
  flush(): Promise<void>;
  /** Flushes and releases resources. The store cannot be used afterwards. */
  close(): Promise<void>;
}
