/**
 * The outgoing flows of a session: accepted publishes in the FIFO queue (the offline queue,
 * or waiting for an in-flight slot or a free packet id), the in-flight window resent after a
 * reconnect, packet ids, SUBSCRIBE/UNSUBSCRIBE awaiting their acks, the filters to restore
 * when a broker lost our session, and poison-message detection.
 *
 * Outgoing QoS 1/2 messages live in one of two places: the FIFO `queue` (no packet id yet)
 * and `inflight` (sent with a packet id, awaiting PUBACK/PUBREC, or PUBREL sent awaiting
 * PUBCOMP). Both are mirrored in the session's store so a durable store can resume them
 * after a crash.
 *
 * @module
 */

import {
  MessageExpiredError,
  type MqttError,
  PacketTooLargeError,
  PoisonMessageError,
  ProtocolError,
  PublishRejectedError,
  QosDowngradedError,
  QueueFullError,
  UnsubscribeRejectedError,
  UnsupportedByServerError,
} from '../errors.js';
import { encodePublish } from '../packet/encode.js';
import type {
  PubackPacket,
  PubcompPacket,
  PublishPacket,
  PublishProperties,
  PubrecPacket,
  QoS,
  SubackPacket,
  SubscribeProperties,
  Subscription,
  UnsubackPacket,
} from '../packet/types.js';
import type { OutgoingRecord, StoredSubscription, StoreSnapshot } from '../store/types.js';
import { parseSharedFilter } from '../topic/index.js';
import { OutgoingAliases } from './topic-aliases.js';
import type { PublishExtras, QueuedOutside, SessionContext, Settleable } from './types.js';

/** An outgoing message in the session's hands. */
interface OutMessage {
  seq: number;
  packetId: number;
  phase: 'queued' | 'sent' | 'released';
  readonly topic: string;
  readonly payload: Uint8Array;
  readonly qos: QoS;
  readonly retain: boolean;
  /** MQTT 5.0 properties as the publisher gave them (no Topic Alias). */
  readonly properties?: PublishProperties;
  /**
   * MQTT 5.0 Message Expiry: when the message expires, on the session's clock. Not sent
   * after it [MQTT-3.3.2-5]; sent with what remains of the interval before it [MQTT-3.3.2-6].
   */
  readonly expiresAt?: number;
  /** The same instant on the wall clock (ms since the epoch): what the store keeps. */
  readonly expiresAtEpochMs?: number;
  /** Absent for messages resumed from a store after a restart: nobody awaits them. */
  readonly op: Settleable<void> | undefined;
}

/** A filter the broker holds for us, as it was subscribed. */
interface KnownFilter {
  readonly subscription: Subscription;
  readonly properties: SubscribeProperties | undefined;
}

/** A stored subscription as the SUBSCRIBE entry and properties it was made with. */
function fromStore(s: StoredSubscription): KnownFilter {
  return {
    subscription: {
      topic: s.filter,
      qos: s.qos,
      ...(s.noLocal === undefined ? {} : { noLocal: s.noLocal }),
      ...(s.retainAsPublished === undefined ? {} : { retainAsPublished: s.retainAsPublished }),
      ...(s.retainHandling === undefined ? {} : { retainHandling: s.retainHandling }),
    },
    properties:
      s.subscriptionIdentifier === undefined
        ? undefined
        : { subscriptionIdentifier: s.subscriptionIdentifier },
  };
}

/** What the store keeps of a subscription (not its User Properties). */
function toStore(s: Subscription, properties: SubscribeProperties | undefined): StoredSubscription {
  return {
    filter: s.topic,
    qos: s.qos,
    ...(s.noLocal === undefined ? {} : { noLocal: s.noLocal }),
    ...(s.retainAsPublished === undefined ? {} : { retainAsPublished: s.retainAsPublished }),
    ...(s.retainHandling === undefined ? {} : { retainHandling: s.retainHandling }),
    ...(properties?.subscriptionIdentifier === undefined
      ? {}
      : { subscriptionIdentifier: properties.subscriptionIdentifier }),
  };
}

/** A SUBSCRIBE or UNSUBSCRIBE awaiting its acknowledgement. */
type PendingControl =
  | {
      readonly kind: 'subscribe';
      readonly subscriptions: readonly Subscription[];
      /** MQTT 5.0: the Subscription Identifier and User Properties of the SUBSCRIBE. */
      readonly properties: SubscribeProperties | undefined;
      /** Settled with the SUBACK codes; absent for a resubscription the session made itself. */
      readonly op: Settleable<readonly number[]> | undefined;
    }
  | {
      readonly kind: 'unsubscribe';
      readonly topics: readonly string[];
      readonly op: Settleable<void>;
    };

const MAX_PACKET_ID = 0xffff;

/** An acknowledgement of an outgoing flow. */
export type OutgoingAck =
  | PubackPacket
  | PubrecPacket
  | PubcompPacket
  | SubackPacket
  | UnsubackPacket;

/** Outgoing flows of one session. */
export class Outgoing {
  readonly #ctx: SessionContext;
  #nextSeq = 1;
  #nextPacketId = 1;
  /** Accepted QoS 1/2 (and, while offline, QoS 0) messages without a packet id, FIFO. */
  #queue: OutMessage[] = [];
  #queueHead = 0;
  #queuedBytes = 0;
  /**
   * Outgoing messages holding a packet id, in the order they were first sent. This map and
   * the two below are created on first use: an empty Map costs ~180 bytes, and a gateway's
   * idle clients have nothing in flight.
   */
  get #inflight(): Map<number, OutMessage> {
    this.#inflightMap ??= new Map();
    return this.#inflightMap;
  }
  #inflightMap: Map<number, OutMessage> | undefined;
  /** SUBSCRIBE/UNSUBSCRIBE awaiting SUBACK/UNSUBACK, by packet id. */
  get #controls(): Map<number, PendingControl> {
    this.#controlsMap ??= new Map();
    return this.#controlsMap;
  }
  #controlsMap: Map<number, PendingControl> | undefined;

  /** A SUBACK/UNSUBACK answered its control: the map goes with the last one. */
  #forgetControl(packetId: number): void {
    const controls = this.#controlsMap;
    if (controls === undefined) return;
    controls.delete(packetId);
    if (controls.size === 0) this.#controlsMap = undefined;
  }
  /** SUBSCRIBE/UNSUBSCRIBE accepted while offline, sent on the next connection. */
  #deferredControls: PendingControl[] = [];
  /**
   * Filter → the subscription the broker must know about (QoS, 5.0 options, identifier and
   * User Properties): acknowledged by a SUBACK (or restored from the store), not
   * unsubscribed since. Subscribed again, as it was, when a broker lost our session.
   */
  get #knownFilters(): Map<string, KnownFilter> {
    this.#knownFiltersMap ??= new Map();
    return this.#knownFiltersMap;
  }
  #knownFiltersMap: Map<string, KnownFilter> | undefined;
  #unexpectedAcks = 0;
  #poisonedCount = 0;
  /** The message first in flight at the last early close by the server, and how many in a row. */
  #suspect: { seq: number; closes: number; since: number } | undefined;
  /** The suspect, sent alone on this connection, awaiting any answer from the server. */
  #probe: OutMessage | undefined;
  /** Queued messages with a Message Expiry: while 0, nothing is scanned for expiry. */
  #expiringQueued = 0;
  #expiredCount = 0;
  /** MQTT 5.0 Topic Aliases of this connection (reset on each). */
  readonly #aliases = new OutgoingAliases();

  /** @param ctx - the composing session's shared state. */
  constructor(ctx: SessionContext) {
    this.#ctx = ctx;
  }

  /** Outgoing QoS 1/2 messages holding a packet id. */
  get inflightCount(): number {
    return this.#inflightMap?.size ?? 0;
  }

  /** Messages accepted but not yet sent (offline queue and messages waiting for a slot). */
  get queuedCount(): number {
    return this.#queue.length - this.#queueHead;
  }

  /** Payload bytes of the messages counted by {@link queuedCount}. */
  get queuedBytes(): number {
    return this.#queuedBytes;
  }

  /**
   * Acknowledgements that matched no flow: PUBACK, PUBREC or PUBCOMP for an id not in
   * flight or in the wrong phase, SUBACK or UNSUBACK for an id no SUBSCRIBE or UNSUBSCRIBE
   * awaits (a broker bug, or acks of a session lost with a restart). Counted, not acted on.
   */
  get unexpectedAcks(): number {
    return this.#unexpectedAcks;
  }

  /** Messages given up with a {@link PoisonMessageError} (see {@link connectionKilled}). */
  get poisonedCount(): number {
    return this.#poisonedCount;
  }

  /** Messages failed with a {@link MessageExpiredError}: they expired before they were sent. */
  get expiredCount(): number {
    return this.#expiredCount;
  }

  /** The outgoing Topic Aliases of the current connection. */
  get aliases(): OutgoingAliases {
    return this.#aliases;
  }

  /** True when nothing accepted is still waiting for its flow to complete. */
  get idle(): boolean {
    return (
      (this.#inflightMap?.size ?? 0) === 0 &&
      this.queuedCount === 0 &&
      (this.#controlsMap?.size ?? 0) === 0
    );
  }

  /** Loads the outgoing messages (in their original order, with their ids) and filters a store kept. */
  restore(snapshot: StoreSnapshot, now: number, epochMs: number | undefined): void {
    for (const record of snapshot.outgoing) {
      const { expiresAtEpochMs, ...rest } = record;
      // The wall clock carries the deadline across the restart; the session's clock is
      // monotonic from here on.
      const expiry =
        expiresAtEpochMs === undefined
          ? {}
          : epochMs === undefined
            ? { expiresAtEpochMs }
            : { expiresAtEpochMs, expiresAt: now + (expiresAtEpochMs - epochMs) };
      const message: OutMessage = { ...rest, ...expiry, op: undefined };
      if (record.phase === 'queued' || record.packetId === 0) {
        message.phase = 'queued';
        message.packetId = 0;
        this.#enqueue(message);
      } else {
        this.#inflight.set(record.packetId, message);
      }
      this.#nextSeq = Math.max(this.#nextSeq, record.seq + 1);
    }
    for (const s of snapshot.subscriptions) this.#knownFilters.set(s.filter, fromStore(s));
  }

  /**
   * The connection was accepted: resends what is in flight, in its original order, then the
   * deferred SUBSCRIBE/UNSUBSCRIBE, then the queue; or first only a suspected poison message
   * (see {@link connectionKilled}).
   */
  resume(sessionPresent: boolean, now: number): void {
    // [MQTT-3.3.2-7] Aliases live for one connection; [MQTT-3.3.2-9] within the server's
    // Topic Alias Maximum (absent: 0, none).
    const aliasMaximum =
      this.#ctx.options.outgoingTopicAliases === false
        ? 0
        : (this.#ctx.limits?.topicAliasMaximum ?? 0);
    this.#aliases.reset(aliasMaximum);
    if (!sessionPresent && (this.#knownFiltersMap?.size ?? 0) > 0) {
      // The broker holds no subscriptions for us: restore them (ours, and a restored
      // store's), after the SUBSCRIBE/UNSUBSCRIBE made while offline.
      // One SUBSCRIBE per Subscription Identifier: a SUBSCRIBE carries at most one, and a
      // restored filter keeps the one its messages are routed by [MQTT-3.8.2.1.2].
      const groups = new Map<number | undefined, KnownFilter[]>();
      for (const known of this.#knownFilters.values()) {
        const id = known.properties?.subscriptionIdentifier;
        const group = groups.get(id);
        if (group === undefined) groups.set(id, [known]);
        else group.push(known);
      }
      // A platform limit of filters per SUBSCRIBE (AWS IoT: 8) splits each group further;
      // every packet of a group keeps the group's identifier.
      const max = this.#ctx.options.maxFiltersPerSubscribe;
      for (const group of groups.values()) {
        const size = max === undefined ? group.length : max;
        for (let i = 0; i < group.length; i += size) {
          const part = group.slice(i, i + size);
          this.#deferredControls.push({
            kind: 'subscribe',
            subscriptions: part.map((k) => k.subscription),
            properties: part[0]!.properties,
            op: undefined,
          });
        }
      }
    }
    // Controls lost with the previous connection are sent again, with new ids, by #pump.
    this.#deferredControls = [...(this.#controlsMap?.values() ?? []), ...this.#deferredControls];
    this.#controlsMap = undefined;
    this.#probe = undefined;
    const suspect =
      this.#suspect === undefined ? undefined : this.#inflightBySeq(this.#suspect.seq);
    if (suspect?.phase === 'sent') {
      // The server closed the last connection right after this message: send it alone,
      // followed by a PINGREQ, and hold everything else (keeping the order) until the
      // server answers either. A broker handles a connection's packets in order, so an
      // answer clears the message; a close before any answer convicts it, and not a message
      // behind it that merely shared the connection (e.g. QoS 1 acked late by JetStream).
      this.#probe = suspect;
      this.#ctx.send(this.#publishPacket(suspect, true, now, false), now);
      this.#ctx.send({ type: 'pingreq' }, now);
      return;
    }
    this.#resendInflight(now);
    this.#pump(now);
  }

  /**
   * The outgoing window: our `maxInflight`, and in 5.0 no more than the server's Receive
   * Maximum [MQTT-3.3.4-7] (brokers disconnect a client that overruns it).
   */
  #window(): number {
    const receiveMaximum = this.#ctx.limits?.receiveMaximum ?? 65535;
    return Math.min(this.#ctx.options.maxInflight, receiveMaximum);
  }

  /**
   * MQTT 5.0: why the server cannot take this publish, as its CONNACK said; undefined when it
   * can (and always in 3.1.1).
   */
  #publishRefusal(message: OutMessage): MqttError | undefined {
    const { topic, qos } = message;
    if (message.properties !== undefined && this.#ctx.options.protocolVersion !== 5) {
      // Accepted while 5.0 was expected (`protocolVersion: 'auto'`), and the server turned out
      // to speak 3.1.1: sending it without its properties would hand the subscriber a message
      // it cannot interpret.
      return new UnsupportedByServerError(
        'mqtt-5',
        `publish to ${JSON.stringify(topic)} refused: it has MQTT 5.0 properties and the server speaks MQTT 3.1.1`,
      );
    }
    const limits = this.#ctx.limits;
    if (limits === undefined) return undefined;
    if (qos > limits.maximumQos) {
      // [MQTT-3.2.2-11] Refused, not downgraded: the caller asked for a delivery guarantee.
      return new UnsupportedByServerError(
        'maximum-qos',
        `publish to ${JSON.stringify(topic)} with QoS ${qos} refused: the server's Maximum QoS is ${limits.maximumQos}`,
      );
    }
    if (message.retain && !limits.retainAvailable) {
      // [MQTT-3.2.2-14]
      return new UnsupportedByServerError(
        'retain',
        `retained publish to ${JSON.stringify(topic)} refused: the server does not support retained messages`,
      );
    }
    const max = limits.maximumPacketSizeBytes;
    // A PUBLISH without properties is at most 5 + 2 + 3 bytes per topic unit + 2 + 5 (an
    // alias and the property length) + payload: encode to measure only when that bound does
    // not fit, or when the publisher's properties count too.
    if (
      max !== Number.POSITIVE_INFINITY &&
      (message.properties !== undefined || message.payload.byteLength + 3 * topic.length + 14 > max)
    ) {
      // Any id measures the same: two bytes. A queued message has none yet.
      // Measured with the full topic and an alias: the largest form it may take.
      const packet = this.#publishPacket(message, false, undefined, false);
      const withAlias =
        this.#aliases.maximum > 0
          ? { ...packet, properties: { ...packet.properties, topicAlias: 1 } }
          : packet;
      const measured = qos === 0 ? withAlias : { ...withAlias, packetId: 1 };
      const size = encodePublish(measured, 5).byteLength;
      // [MQTT-3.1.2-24] The server would disconnect us for it.
      if (size > max) return new PacketTooLargeError(size, max);
    }
    return undefined;
  }

  /**
   * MQTT 5.0: why the server cannot take these subscriptions, as its CONNACK said; undefined
   * when it can.
   */
  #subscribeRefusal(subscriptions: readonly { topic: string }[]): MqttError | undefined {
    const limits = this.#ctx.limits;
    if (limits === undefined) return undefined;
    for (const { topic } of subscriptions) {
      if (parseSharedFilter(topic) !== undefined) {
        if (!limits.sharedSubscriptionAvailable) {
          return new UnsupportedByServerError(
            'shared-subscriptions',
            `subscribe to ${JSON.stringify(topic)} refused: the server does not support shared subscriptions`,
          );
        }
      } else if (
        !limits.wildcardSubscriptionAvailable &&
        (topic.includes('+') || topic.includes('#'))
      ) {
        return new UnsupportedByServerError(
          'wildcard-subscriptions',
          `subscribe to ${JSON.stringify(topic)} refused: the server does not support wildcard subscriptions`,
        );
      }
    }
    return undefined;
  }

  /**
   * [MQTT-4.4.0-1] Resends unacknowledged PUBLISH (DUP=1, same packet id) and PUBREL, in
   * the original order (a Map iterates in insertion order: the order of first sending).
   * Sent even when the broker lost the session: the message is then simply new to it, and
   * at-least-once delivery is kept.
   */
  #resendInflight(now: number, except?: OutMessage): void {
    if (this.#inflightMap === undefined) return;
    for (const message of this.#inflightMap.values()) {
      if (message === except) continue;
      if (message.phase === 'released') {
        this.#ctx.send({ type: 'pubrel', packetId: message.packetId }, now);
      } else {
        this.#ctx.send(this.#publishPacket(message, true, now, false), now);
      }
    }
  }

  /** The server answered after the probe: the message did not kill it. Send the rest. */
  probePassed(now: number): void {
    const probe = this.#probe;
    if (probe === undefined) return;
    this.#probe = undefined;
    this.#suspect = undefined;
    this.#resendInflight(now, probe);
    this.#pump(now);
  }

  #inflightBySeq(seq: number): OutMessage | undefined {
    for (const message of this.#inflight.values()) if (message.seq === seq) return message;
    return undefined;
  }

  /**
   * Poison-message detection, called by the driver each time an accepted connection is lost,
   * after {@link connectionLost}. `early`: the server closed or reset it before it proved
   * stable. A broker handles packets in order and closes at the one it will not take, so the
   * suspect is the first PUBLISH in flight (every PUBLISH in flight was (re)sent on the
   * connection just lost). On the next connection the suspect is sent alone, followed by a
   * PINGREQ ({@link connectionAccepted}): any answer clears it; a close before any answer
   * counts against it. The same suspect `threshold` times in a row, over at least
   * `windowMs` since its first close, is given up: rejected with a {@link PoisonMessageError},
   * removed from the session and the store. The window keeps a good message from being
   * condemned by a broker that closes on every PUBLISH for a while (a NATS cluster electing
   * new stream leaders after a node died closes on each QoS 1 publish for seconds). Any other
   * loss (keep-alive expiry, our own drop, a connection that lasted) ends the streak. A
   * network cut lands in the probe's one round trip `threshold` times in a row only by a
   * rare coincidence; that is the residual risk of a false conviction.
   *
   * @param threshold - closes in a row that condemn a message; 0 turns detection off.
   * @param windowMs - the shortest time from the suspect's first close to its conviction.
   * @returns the error the message was rejected with, or undefined.
   */
  connectionKilled(
    early: boolean,
    threshold: number,
    now: number,
    windowMs = 0,
  ): PoisonMessageError | undefined {
    let suspect: OutMessage | undefined = this.#probe;
    this.#probe = undefined;
    if (suspect === undefined && early && threshold > 0 && this.#inflightMap !== undefined) {
      for (const message of this.#inflightMap.values()) {
        if (message.phase === 'sent') {
          suspect = message;
          break;
        }
      }
    }
    if (!early || threshold <= 0) suspect = undefined;
    if (suspect === undefined || suspect.qos === 0) {
      this.#suspect = undefined;
      return undefined;
    }
    const streak = this.#suspect?.seq === suspect.seq ? this.#suspect : undefined;
    const closes = (streak?.closes ?? 0) + 1;
    const since = streak?.since ?? now;
    if (closes < threshold || now - since < windowMs) {
      this.#suspect = { seq: suspect.seq, closes, since };
      return undefined;
    }
    this.#suspect = undefined;
    this.#poisonedCount++;
    const error = new PoisonMessageError(suspect.topic, suspect.qos, closes);
    this.#fail(suspect, error, now);
    return error;
  }

  // ─── user operations ────────────────────────────────────────────────────────────────

  /**
   * Accepts a message for publishing. The topic, QoS and size must already be validated.
   * QoS 0 is written at once when online (the op settles when written) and queued when
   * offline; QoS 1/2 is recorded in the store, then sent when a slot and an id are free.
   */
  publish(
    topic: string,
    payload: Uint8Array,
    qos: QoS,
    retain: boolean,
    op: Settleable<void>,
    now: number,
    extras: PublishExtras = {},
  ): void {
    const { properties, epochMs } = extras;
    // Built without object spreads: this runs once per message, and a spread of a
    // conditional `{}` allocates and copies on the hot path.
    const message: Mutable<OutMessage> = {
      seq: this.#nextSeq++,
      packetId: 0,
      phase: 'queued',
      topic,
      payload,
      qos,
      retain,
      op,
    };
    if (properties !== undefined) {
      message.properties = properties;
      const expirySec = properties.messageExpiryIntervalSec;
      if (expirySec !== undefined) {
        message.expiresAt = now + expirySec * 1000;
        if (epochMs !== undefined) message.expiresAtEpochMs = epochMs + expirySec * 1000;
      }
    }
    const refusal = this.#publishRefusal(message);
    if (refusal !== undefined) {
      op.reject(refusal);
      return;
    }
    if (qos > 0) this.#ctx.store.putOutgoing(toRecord(message));
    if (qos === 0 && this.#ctx.online && this.queuedCount === 0) {
      this.#ctx.send(this.#publishPacket(message, false, now, true), now);
      op.resolve();
      return;
    }
    this.#enqueue(message);
    this.#pump(now);
  }

  /**
   * Removes the oldest queued QoS 0 message (offline-queue policy `drop-oldest-qos0`).
   * @returns the dropped message's op, or undefined when no QoS 0 message is queued.
   */
  dropOldestQueuedQos0(): Settleable<void> | undefined {
    for (let i = this.#queueHead; i < this.#queue.length; i++) {
      const message = this.#queue[i]!;
      if (message.qos === 0) {
        this.#queue.splice(i, 1);
        this.#dequeued(message);
        return message.op;
      }
    }
    return undefined;
  }

  /**
   * Checks that a publish of `payloadBytes` fits the offline queue, making room by the
   * policy; throws a {@link QueueFullError} when it does not fit. Online, a message is admitted
   * unless `always`: a connected caller is paced by its own promises (one per message),
   * except one that resolves on "stored" and so may run ahead of the broker.
   */
  admit(payloadBytes: number, always: boolean, outside?: QueuedOutside): void {
    if (this.#ctx.online && !always) return;
    const q = this.#ctx.options.offlineQueue;
    if (q === undefined) return;
    const count = (): number => this.queuedCount + (outside?.count ?? 0);
    const bytes = (): number => this.#queuedBytes + (outside?.bytes ?? 0);
    while (count() + 1 > q.maxMessages || bytes() + payloadBytes > q.maxBytes) {
      const dropped =
        q.policy === 'drop-oldest-qos0'
          ? (this.dropOldestQueuedQos0() ?? outside?.dropOldestQos0())
          : undefined;
      if (dropped === undefined) {
        throw new QueueFullError(
          'refused',
          `offline queue full (${count()} messages, ${bytes()} bytes; limits ${q.maxMessages} messages, ${q.maxBytes} bytes)`,
        );
      }
      dropped.reject(
        new QueueFullError(
          'dropped',
          'dropped from the full offline queue to make room (policy drop-oldest-qos0)',
        ),
      );
    }
  }

  /** Sends SUBSCRIBE now, or on the next connection when offline. */
  subscribe(
    subscriptions: readonly Subscription[],
    op: Settleable<readonly number[]>,
    now: number,
    properties?: SubscribeProperties,
  ): void {
    const refusal = this.#subscribeRefusal(subscriptions);
    if (refusal !== undefined) {
      op.reject(refusal);
      return;
    }
    for (const s of subscriptions) this.#ctx.store.putSubscription(toStore(s, properties));
    this.#control({ kind: 'subscribe', subscriptions, properties, op }, now);
  }

  /** Sends UNSUBSCRIBE now, or on the next connection when offline. */
  unsubscribe(topics: readonly string[], op: Settleable<void>, now: number): void {
    for (const t of topics) {
      this.#ctx.store.deleteSubscription(t);
      this.#knownFilters.delete(t);
    }
    this.#control({ kind: 'unsubscribe', topics, op }, now);
  }

  /**
   * Fails every operation still pending (the client is ending): queued and in-flight
   * publishes, subscribes, unsubscribes. The store keeps the QoS 1/2 messages, so a durable
   * store still resends them on the next start.
   */
  abandon(error: MqttError): void {
    for (const message of this.#inflightMap?.values() ?? []) message.op?.reject(error);
    for (let i = this.#queueHead; i < this.#queue.length; i++) this.#queue[i]!.op?.reject(error);
    for (const control of this.#controls.values()) control.op?.reject(error);
    for (const control of this.#deferredControls) control.op?.reject(error);
    this.#inflightMap?.clear();
    this.#queue = [];
    this.#queueHead = 0;
    this.#queuedBytes = 0;
    this.#expiringQueued = 0;
    this.#controlsMap = undefined;
    this.#deferredControls = [];
  }

  /**
   * An acknowledgement of an outgoing flow: PUBACK, PUBREC, PUBCOMP, SUBACK or UNSUBACK. One
   * that matches no flow is counted ({@link unexpectedAcks}), not acted on.
   */
  receiveAck(packet: OutgoingAck, now: number): void {
    switch (packet.type) {
      case 'puback': {
        const message = this.#inflight.get(packet.packetId);
        if (message !== undefined && message === this.#probe) this.probePassed(now);
        if (this.#rejected(message, packet, now)) return;
        if (message?.qos === 2 && message.phase === 'sent') {
          // RabbitMQ answers a QoS 2 PUBLISH with PUBACK: it took the message as QoS 1. The
          // flow is over (no PUBREC will come): settle, and say it was not exactly once.
          this.#fail(message, new QosDowngradedError(message.topic), now);
          return;
        }
        // An unknown id, or PUBACK for a QoS 2 message past PUBREC: counted, not acted on.
        if (message === undefined || message.qos !== 1) {
          this.#unexpectedAcks++;
          return;
        }
        this.#complete(message, now);
        return;
      }
      case 'pubrec': {
        const message = this.#inflight.get(packet.packetId);
        if (message === undefined || message.qos !== 2) {
          this.#unexpectedAcks++;
          return;
        }
        if (this.#rejected(message, packet, now)) {
          if (message === this.#probe) this.probePassed(now);
          return;
        }
        if (message.phase === 'sent') {
          // [MQTT-4.3.3-1] From here on the payload is no longer needed: only PUBREL.
          message.phase = 'released';
          this.#ctx.store.updateOutgoing(message.seq, message.packetId, 'released');
        }
        this.#ctx.send({ type: 'pubrel', packetId: packet.packetId }, now);
        if (message === this.#probe) this.probePassed(now);
        return;
      }
      case 'pubcomp': {
        const message = this.#inflight.get(packet.packetId);
        if (message === undefined || message.phase !== 'released') {
          this.#unexpectedAcks++;
          return;
        }
        this.#complete(message, now);
        return;
      }
      case 'suback': {
        const control = this.#controls.get(packet.packetId);
        if (control?.kind !== 'subscribe') {
          this.#unexpectedAcks++;
          return;
        }
        this.#forgetControl(packet.packetId);
        if (packet.returnCodes.length !== control.subscriptions.length) {
          control.op?.reject(
            new ProtocolError(
              `SUBACK has ${packet.returnCodes.length} return codes for ${control.subscriptions.length} filters`,
              'MQTT-3.8.4-5',
            ),
          );
        } else {
          packet.returnCodes.forEach((code, i) => {
            const subscription = control.subscriptions[i]!;
            const { topic } = subscription;
            // 0x80 in 3.1.1; in 5.0 every reason code from 0x80 on refuses the filter.
            if (code >= 0x80) {
              this.#ctx.store.deleteSubscription(topic);
              // A restored filter the broker now refuses is not tried again.
              if (control.op === undefined) this.#knownFilters.delete(topic);
            } else if (control.op !== undefined) {
              // Only acknowledged filters are restored after a reconnect; a SUBSCRIBE still
              // pending when the link drops is sent again as it is.
              this.#knownFilters.set(topic, { subscription, properties: control.properties });
            }
          });
          control.op?.resolve(packet.returnCodes);
        }
        this.#pump(now);
        return;
      }
      case 'unsuback': {
        const control = this.#controls.get(packet.packetId);
        if (control?.kind !== 'unsubscribe') {
          this.#unexpectedAcks++;
          return;
        }
        this.#forgetControl(packet.packetId);
        // MQTT 5.0: one reason code per filter; 0x11 (No subscription existed) is a success.
        const codes = packet.reasonCodes ?? [];
        if (codes.some((code) => code >= 0x80)) {
          const reason = packet.properties?.reasonString;
          control.op.reject(new UnsubscribeRejectedError(control.topics, codes, reason));
        } else {
          control.op.resolve();
        }
        this.#pump(now);
        return;
      }
    }
  }

  /**
   * MQTT 5.0: a PUBACK or PUBREC with a reason code ≥ 0x80 ends the flow [MQTT-4.3.3]: no
   * PUBREL follows, and the message is not sent again (the server has judged it). Returns
   * whether it did.
   */
  #rejected(
    message: OutMessage | undefined,
    ack: { readonly reasonCode?: number; readonly properties?: { reasonString?: string } },
    now: number,
  ): boolean {
    const code = ack.reasonCode ?? 0;
    if (code < 0x80 || message === undefined || message.phase !== 'sent') return false;
    this.#fail(
      message,
      new PublishRejectedError(message.topic, code, ack.properties?.reasonString),
      now,
    );
    return true;
  }

  #enqueue(message: OutMessage): void {
    this.#queue.push(message);
    this.#queuedBytes += message.payload.byteLength;
    if (message.expiresAt !== undefined) this.#expiringQueued++;
  }

  /** Bookkeeping of a message leaving the queue (sent, refused, expired or dropped). */
  #dequeued(message: OutMessage): void {
    this.#queuedBytes -= message.payload.byteLength;
    if (message.expiresAt !== undefined) this.#expiringQueued--;
  }

  /**
   * A queued message expired [MQTT-3.3.2-5]: it is not sent. Its store record goes, it is
   * counted, and it fails with a {@link MessageExpiredError} (reported through the host
   * when nobody awaits it).
   */
  #expired(message: OutMessage, now: number): void {
    if (message.qos > 0) this.#ctx.store.deleteOutgoing(message.seq);
    this.#expiredCount++;
    const interval = message.properties?.messageExpiryIntervalSec ?? 0;
    const error = new MessageExpiredError(
      message.topic,
      interval,
      Math.max(0, now - (message.expiresAt ?? now) + interval * 1000),
    );
    if (message.op === undefined) this.#ctx.host.failed?.(message.topic, message.qos, error);
    else message.op.reject(error);
  }

  /**
   * Fails the queued messages whose Message Expiry has passed, wherever they wait in the
   * queue (called as time passes, online or not). Cheap while none has an expiry.
   */
  expire(now: number): void {
    if (this.#expiringQueued === 0) return;
    const kept: OutMessage[] = [];
    const expired: OutMessage[] = [];
    for (let i = this.#queueHead; i < this.#queue.length; i++) {
      const message = this.#queue[i]!;
      if (message.expiresAt !== undefined && now >= message.expiresAt) expired.push(message);
      else kept.push(message);
    }
    if (expired.length === 0) return;
    this.#queue = kept;
    this.#queueHead = 0;
    for (const message of expired) this.#dequeued(message);
    for (const message of expired) this.#expired(message, now);
  }

  /**
   * The PUBLISH of a message at `now`. MQTT 5.0: a message that waited carries what remains
   * of its Message Expiry Interval [MQTT-3.3.2-6] (at least 1 s: an in-flight message resent
   * after its expiry completes its flow, the broker may hold it already); with `alias`, the
   * topic goes as a Topic Alias when the server takes them. A DUP resend never uses one: its
   * alias, if any, was of an earlier connection [MQTT-3.3.2-7].
   */
  #publishPacket(
    message: OutMessage,
    dup: boolean,
    now: number | undefined,
    alias: boolean,
  ): PublishPacket {
    let properties = message.properties;
    let topic = message.topic;
    if (now !== undefined && message.expiresAt !== undefined && properties !== undefined) {
      const remainingSec = Math.max(1, Math.ceil((message.expiresAt - now) / 1000));
      properties = { ...properties, messageExpiryIntervalSec: remainingSec };
    }
    if (alias && !dup) {
      const use = this.#aliases.use(topic);
      if (use !== undefined) {
        properties = { ...properties, topicAlias: use.alias };
        // [MQTT-3.3.2-12] A known mapping lets the topic name go empty.
        if (use.known) topic = '';
      }
    }
    // One object per PUBLISH, no spreads (this runs for every message sent).
    const packet: Mutable<PublishPacket> =
      message.qos === 0
        ? {
            type: 'publish',
            topic,
            payload: message.payload,
            qos: 0,
            retain: message.retain,
            dup: false,
          }
        : {
            type: 'publish',
            topic,
            payload: message.payload,
            qos: message.qos,
            retain: message.retain,
            dup,
            packetId: message.packetId,
          };
    if (properties !== undefined) packet.properties = properties;
    return packet;
  }

  #complete(message: OutMessage, now: number): void {
    this.#inflight.delete(message.packetId);
    this.#ctx.store.deleteOutgoing(message.seq);
    message.op?.resolve();
    this.#pump(now);
  }

  /** Ends an in-flight message's flow with an error: frees its slot, id and store record. */
  #fail(message: OutMessage, error: MqttError, now: number): void {
    this.#inflight.delete(message.packetId);
    this.#ctx.store.deleteOutgoing(message.seq);
    // A message resumed from the store after a restart has nobody awaiting it: say so.
    if (message.op === undefined) this.#ctx.host.failed?.(message.topic, message.qos, error);
    else message.op.reject(error);
    this.#pump(now);
  }

  /** Sends queued messages while online, in order, as far as the window and ids allow. */
  #pump(now: number): void {
    // While a suspect message is probed alone, nothing else goes out (order is kept).
    if (!this.#ctx.online || this.#probe !== undefined) return;
    if (this.#deferredControls.length > 0) {
      const controls = this.#deferredControls;
      this.#deferredControls = [];
      for (const control of controls) this.#sendControl(control, now);
    }
    const queue = this.#queue;
    while (this.#queueHead < queue.length) {
      const message = queue[this.#queueHead]!;
      if (message.expiresAt !== undefined && now >= message.expiresAt) {
        queue[this.#queueHead] = undefined as unknown as OutMessage;
        this.#queueHead++;
        this.#dequeued(message);
        this.#expired(message, now);
        continue;
      }
      // Accepted under another connection's limits (or offline): this server may not take it.
      const refusal = this.#publishRefusal(message);
      if (refusal !== undefined) {
        queue[this.#queueHead] = undefined as unknown as OutMessage;
        this.#queueHead++;
        this.#dequeued(message);
        if (message.qos > 0) this.#ctx.store.deleteOutgoing(message.seq);
        if (message.op === undefined) this.#ctx.host.failed?.(message.topic, message.qos, refusal);
        else message.op.reject(refusal);
        continue;
      }
      if (message.qos > 0) {
        if ((this.#inflightMap?.size ?? 0) >= this.#window()) break;
        const id = this.#allocatePacketId();
        if (id === 0) break;
        message.packetId = id;
        message.phase = 'sent';
        this.#inflight.set(id, message);
        // Write-ahead: the id is in the store before the PUBLISH can reach the wire (the
        // driver holds the bytes until the store's flush when the store is durable).
        this.#ctx.store.updateOutgoing(message.seq, id, 'sent');
      }
      queue[this.#queueHead] = undefined as unknown as OutMessage;
      this.#queueHead++;
      this.#dequeued(message);
      this.#ctx.send(this.#publishPacket(message, false, now, true), now);
      if (message.qos === 0) message.op?.resolve();
    }
    // Compact the array once the consumed head dominates it.
    if (this.#queueHead > 1024 && this.#queueHead * 2 > queue.length) {
      this.#queue = queue.slice(this.#queueHead);
      this.#queueHead = 0;
    }
  }

  /**
   * The MQTT 5.0 options a SUBSCRIBE asks for that this connection cannot carry (it speaks
   * 3.1.1), named; undefined when there are none. A Subscription Identifier is not among them:
   * without it, messages are routed by matching their topic, as at 3.1.1.
   */
  #v5OnlyOptions(control: PendingControl & { kind: 'subscribe' }): string | undefined {
    if (this.#ctx.options.protocolVersion === 5) return undefined;
    const names = new Set<string>();
    for (const s of control.subscriptions) {
      if (s.noLocal === true) names.add('noLocal');
      if (s.retainAsPublished === true) names.add('retainAsPublished');
      if ((s.retainHandling ?? 0) !== 0) names.add('retainHandling');
    }
    if ((control.properties?.userProperties?.length ?? 0) > 0) names.add('userProperties');
    return names.size === 0 ? undefined : [...names].join(', ');
  }

  #control(control: PendingControl, now: number): void {
    this.#deferredControls.push(control);
    this.#pump(now);
  }

  #sendControl(control: PendingControl, now: number): void {
    if (control.kind === 'subscribe' && control.op !== undefined) {
      const lost = this.#v5OnlyOptions(control);
      if (lost !== undefined) {
        // Accepted while 5.0 was expected (`protocolVersion: 'auto'`), and the server turned
        // out to speak 3.1.1: subscribed without them, the reader would get what it asked
        // not to (its own messages, retained ones), so the call fails instead.
        for (const { topic } of control.subscriptions) this.#ctx.store.deleteSubscription(topic);
        control.op.reject(
          new UnsupportedByServerError(
            'mqtt-5',
            `subscribe to ${control.subscriptions.map((s) => JSON.stringify(s.topic)).join(', ')} refused: it asks for MQTT 5.0 ${lost} and the server speaks MQTT 3.1.1`,
          ),
        );
        return;
      }
    }
    const packetId = this.#allocatePacketId();
    if (packetId === 0) {
      // Every id is in use by in-flight publishes: try again when one completes.
      this.#deferredControls.push(control);
      return;
    }
    this.#controls.set(packetId, control);
    if (control.kind === 'subscribe' && this.#ctx.options.protocolVersion !== 5) {
      // A store written by a 5.0 client, resumed at 3.1.1: the filters without 5.0 options.
      const subscriptions = control.subscriptions.map(({ topic, qos }) => ({ topic, qos }));
      this.#ctx.send({ type: 'subscribe', packetId, subscriptions }, now);
    } else if (control.kind === 'subscribe') {
      let properties = control.properties;
      if (
        properties?.subscriptionIdentifier !== undefined &&
        this.#ctx.limits?.subscriptionIdentifiersAvailable === false
      ) {
        // The broker said it has none [MQTT-3.2.2-3.12]: routing falls back to topic matching.
        const { subscriptionIdentifier: _unsupported, ...rest } = properties;
        properties = rest;
      }
      this.#ctx.send(
        {
          type: 'subscribe',
          packetId,
          subscriptions: control.subscriptions,
          ...(properties === undefined || Object.keys(properties).length === 0
            ? {}
            : { properties }),
        },
        now,
      );
    } else {
      this.#ctx.send({ type: 'unsubscribe', packetId, topics: control.topics }, now);
    }
  }

  /**
   * [MQTT-2.3.1-2] A packet id is never reused while in use. Returns 0 when all 65,535 are
   * taken (the caller waits for a completion).
   */
  #allocatePacketId(): number {
    const inflight = this.#inflightMap;
    const controls = this.#controlsMap;
    const inUse = (inflight?.size ?? 0) + (controls?.size ?? 0);
    if (inUse >= MAX_PACKET_ID) return 0;
    for (;;) {
      const id = this.#nextPacketId;
      this.#nextPacketId = id === MAX_PACKET_ID ? 1 : id + 1;
      if (inflight?.has(id) !== true && controls?.has(id) !== true) return id;
    }
  }
}

function toRecord(message: OutMessage): OutgoingRecord {
  const record: Mutable<OutgoingRecord> = {
    seq: message.seq,
    packetId: message.packetId,
    phase: message.phase,
    topic: message.topic,
    payload: message.payload,
    qos: message.qos,
    retain: message.retain,
  };
  if (message.properties !== undefined) record.properties = message.properties;
  if (message.expiresAtEpochMs !== undefined) record.expiresAtEpochMs = message.expiresAtEpochMs;
  return record;
}

/** `T` with its properties writable: hot-path objects are built, then completed, in place. */
type Mutable<T> = { -readonly [K in keyof T]: T[K] };
