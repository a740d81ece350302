/**
 * The MQTT session state machine (3.1, 3.1.1 and 5.0), sans I/O.
 *
 * It takes events — the connection opened or was lost, a packet arrived, the user published,
 * subscribed or unsubscribed, time passed — and answers through a {@link SessionHost}: packets
 * to send, messages to deliver, operations to settle, the connection to drop. It never touches
 * a socket or a timer; time comes in as an argument, so a test is a table of inputs and
 * expected outputs with a fake clock.
 *
 * The one link state:
 *
 * ```
 *                connectionOpened()             CONNACK rc=0
 *   offline ───────────────────────► awaiting-connack ─────────────► online
 *      ▲                                   │ CONNACK rc≠0,               │
 *      │                                   │ another packet first, lost  │
 *      └───────────────────────────────────┴──────── connectionLost() ◄──┘
 *                                                  (or keep-alive expiry)
 * ```
 *
 * The handshake is the session's too: {@link Session.receive} checks the first packet of a
 * connection (CONNACK, or a protocol error [MQTT-3.2.0-1]; a non-zero return code is a
 * {@link ConnectionRefusedError}), and the session alone decides what a message may cost the
 * offline queue ({@link Session.admit}).
 *
 * Outgoing QoS 1/2 messages live in one of two places: the FIFO `queue` (accepted, no packet
 * id yet — the offline queue, or waiting for an in-flight slot or a free id) and `inflight`
 * (sent with a packet id, awaiting PUBACK/PUBREC, or PUBREL sent awaiting PUBCOMP). Both are
 * mirrored in the {@link SessionStore} so a durable store can resume them after a crash.
 *
 * MQTT 5.0: the CONNACK's limits are adopted for the connection ({@link ServerLimits}): the
 * in-flight window shrinks to the server's Receive Maximum, and a publish or subscribe the
 * server said it cannot take (too large, QoS above its maximum, retain, wildcard or shared
 * subscriptions) is refused before it reaches the wire.
 *
 * @module
 */

import {
  ConnectionRefusedError,
  KeepaliveTimeoutError,
  type MqttError,
  PacketTooLargeError,
  PoisonMessageError,
  ProtocolError,
  PublishRejectedError,
  QosDowngradedError,
  QueueFullError,
  ServerDisconnectError,
  UnsupportedByServerError,
} from '../errors.js';
import { encodePublish } from '../packet/encode.js';
import type {
  ConnackPacket,
  ConnectPacket,
  ConnectProperties,
  Packet,
  ProtocolVersion,
  PublishPacket,
  QoS,
  Will,
} from '../packet/types.js';
import type { OutgoingRecord, SessionStore, StoreSnapshot } from '../store/types.js';

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
   * Most filters in one SUBSCRIBE (a platform limit, e.g. AWS IoT's 8): the subscriptions
   * restored after a lost session are sent in packets of at most this many. @default no limit
   */
  readonly maxFiltersPerSubscribe?: number;
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
function limitsOf(connack: ConnackPacket): ServerLimits {
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

/** An outgoing message in the session's hands. */
interface OutMessage {
  seq: number;
  packetId: number;
  phase: 'queued' | 'sent' | 'released';
  readonly topic: string;
  readonly payload: Uint8Array;
  readonly qos: QoS;
  readonly retain: boolean;
  /** Absent for messages resumed from a store after a restart: nobody awaits them. */
  readonly op: Settleable<void> | undefined;
}

/** A SUBSCRIBE or UNSUBSCRIBE awaiting its acknowledgement. */
type PendingControl =
  | {
      readonly kind: 'subscribe';
      readonly subscriptions: readonly { topic: string; qos: QoS }[];
      /** Settled with the SUBACK codes; absent for a resubscription the session made itself. */
      readonly op: Settleable<readonly number[]> | undefined;
    }
  | {
      readonly kind: 'unsubscribe';
      readonly topics: readonly string[];
      readonly op: Settleable<void>;
    };

const MAX_PACKET_ID = 0xffff;
/** How many completed incoming QoS 2 messages are remembered to recognise late redeliveries. */
const RECENTLY_RELEASED_MAX = 4096;

/** Topic, length and FNV-1a hash of the payload: enough to recognise a redelivery. */
function fingerprintOf(packet: PublishPacket): string {
  let hash = 0x811c9dc5;
  const payload = packet.payload;
  for (let i = 0; i < payload.length; i++) {
    hash ^= payload[i]!;
    hash = Math.imul(hash, 0x01000193);
  }
  return `${packet.topic}\u0000${payload.length}:${hash >>> 0}`;
}

/**
 * The protocol state machine of one MQTT client session.
 *
 * Every method is synchronous. Methods that take `now` use it as "milliseconds on some
 * monotonic clock"; only differences matter.
 */
export class Session {
  readonly #options: SessionOptions;
  readonly #host: SessionHost;
  readonly #store: SessionStore;

  #link: LinkState = 'offline';
  /** The client id of the next CONNECT: the configured one, or the one the server assigned. */
  #clientId: string;
  /** The keep-alive in force: ours, or the server's (MQTT 5.0 Server Keep Alive). */
  #keepaliveSec: number;
  /** MQTT 5.0: the last CONNACK's limits; undefined before the first (and for 3.1.1). */
  #limits: ServerLimits | undefined;
  /** The Will of the next CONNECT. */
  #will: Will | undefined;
  #nextSeq = 1;
  #nextPacketId = 1;

  /** Accepted QoS 1/2 (and, while offline, QoS 0) messages without a packet id, FIFO. */
  #queue: OutMessage[] = [];
  #queueHead = 0;
  #queuedBytes = 0;
  /** Outgoing messages holding a packet id, in the order they were first sent. */
  readonly #inflight = new Map<number, OutMessage>();
  /** SUBSCRIBE/UNSUBSCRIBE awaiting SUBACK/UNSUBACK, by packet id. */
  readonly #controls = new Map<number, PendingControl>();
  /** SUBSCRIBE/UNSUBSCRIBE accepted while offline, sent on the next connection. */
  #deferredControls: PendingControl[] = [];
  /**
   * [MQTT-4.3.3-2] Incoming QoS 2 packet ids received, PUBREL not yet, with a fingerprint of
   * the message (empty for ids restored from a store).
   */
  readonly #incomingQos2 = new Map<number, string>();
  /** Fingerprints of recently completed incoming QoS 2 messages, by packet id; bounded. */
  readonly #recentlyReleased = new Map<number, string>();
  /**
   * Acknowledgements of incoming QoS 1/2 messages in the order the PUBLISH packets arrived:
   * [MQTT-4.6.0-2] PUBACK and [MQTT-4.6.0-3] PUBREC go out in that order, so a message the
   * application has taken waits behind an earlier one it has not.
   */
  #acks: InboundAck[] = [];
  #acksHead = 0;
  /** Incoming QoS 2 acknowledgements not yet sent, by packet id (to recognise a DUP resend). */
  readonly #pendingQos2 = new Map<number, InboundAck>();
  /**
   * Incoming QoS 1 messages of this connection whose PUBACK has not gone out: with the QoS 2
   * ids awaiting PUBREL, what the server has in flight towards us (MQTT 5.0 Receive Maximum).
   */
  #inboundQos1 = 0;
  /** Reading is paused by the driver: the broker's packets wait unread in the socket. */
  #receivePaused = false;
  /**
   * Filter → QoS the broker must know about: acknowledged by a SUBACK (or restored from the
   * store), not unsubscribed since. Subscribed again when a broker lost our session.
   */
  readonly #knownFilters = new Map<string, QoS>();
  /** The server of the current connection, as a URL without credentials, for errors. */
  #server = 'the server';

  #unexpectedAcks = 0;
  #poisonedCount = 0;
  /** The message first in flight at the last early close by the server, and how many in a row. */
  #suspect: { seq: number; closes: number } | undefined;
  /** The suspect, sent alone on this connection, awaiting any answer from the server. */
  #probe: OutMessage | undefined;

  #lastSentAt = 0;
  #lastReceivedAt = 0;
  /** When the outstanding PINGREQ was sent; -1 when none is outstanding. */
  #pingSentAt = -1;

  constructor(options: SessionOptions, host: SessionHost, store: SessionStore) {
    this.#options = options;
    this.#clientId = options.clientId;
    this.#keepaliveSec = options.keepaliveSec;
    this.#will = options.will;
    this.#host = host;
    this.#store = store;
  }

  /** The link state. */
  get link(): LinkState {
    return this.#link;
  }

  /**
   * The client id: the configured one, or, once an MQTT 5.0 server assigned one to an empty
   * id (Assigned Client Identifier), that one, used by every later CONNECT.
   */
  get clientId(): string {
    return this.#clientId;
  }

  /** The keep-alive in force, in seconds: ours, or the MQTT 5.0 server's Server Keep Alive. */
  get keepaliveSec(): number {
    return this.#keepaliveSec;
  }

  /** MQTT 5.0: what the last CONNACK said the server accepts; undefined before it (and in 3.1.1). */
  get serverLimits(): ServerLimits | undefined {
    return this.#limits;
  }

  /** Outgoing QoS 1/2 messages holding a packet id. */
  get inflightCount(): number {
    return this.#inflight.size;
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

  /** True when nothing accepted is still waiting for its flow to complete. */
  get idle(): boolean {
    return this.#inflight.size === 0 && this.queuedCount === 0 && this.#controls.size === 0;
  }

  /**
   * Loads what a store kept: outgoing messages in their original order, with their packet
   * ids, and the incoming QoS 2 ids. Call before the first connection.
   */
  restore(snapshot: StoreSnapshot): void {
    for (const record of snapshot.outgoing) {
      const message: OutMessage = { ...record, op: undefined };
      if (record.phase === 'queued' || record.packetId === 0) {
        message.phase = 'queued';
        message.packetId = 0;
        this.#enqueue(message);
      } else {
        this.#inflight.set(record.packetId, message);
      }
      this.#nextSeq = Math.max(this.#nextSeq, record.seq + 1);
    }
    for (const id of snapshot.incomingQos2) this.#incomingQos2.set(id, '');
    for (const s of snapshot.subscriptions) this.#knownFilters.set(s.filter, s.qos);
  }

  // ─── connection events ──────────────────────────────────────────────────────────────

  /**
   * A transport connection is open: sends CONNECT with the credentials of the server in use
   * (each server of a failover list may have its own). `server` (a URL without credentials)
   * names the server in the errors of the handshake.
   */
  connectionOpened(now: number, credentials: Credentials = {}, server = 'the server'): void {
    this.#link = 'awaiting-connack';
    this.#server = server;
    this.#lastReceivedAt = now;
    this.#pingSentAt = -1;
    const o = this.#options;
    this.#keepaliveSec = o.keepaliveSec;
    const properties = o.protocolVersion === 5 ? o.connectProperties : undefined;
    const connect: ConnectPacket = {
      type: 'connect',
      protocolVersion: o.protocolVersion,
      clientId: this.#clientId,
      clean: o.clean,
      keepaliveSec: o.keepaliveSec,
      ...(properties === undefined || Object.keys(properties).length === 0 ? {} : { properties }),
      ...(credentials.username === undefined ? {} : { username: credentials.username }),
      ...(credentials.password === undefined ? {} : { password: credentials.password }),
      ...(this.#will === undefined ? {} : { will: this.#will }),
    };
    this.#send(connect, now);
  }

  /**
   * Replaces the Will sent in the next CONNECT (the current connection's Will stays with the
   * broker). Sparkplug B needs this: its NDEATH carries a sequence number that changes with
   * every connection.
   */
  setWill(will: Will | undefined): void {
    this.#will = will;
  }

  /**
   * The connection was accepted (CONNACK return code 0). Resends what is in flight, in its
   * original order, then the deferred SUBSCRIBE/UNSUBSCRIBE, then the queue; or first only a
   * suspected poison message (see {@link connectionKilled}).
   *
   * @returns whether the broker kept a session for us (session present).
   */
  connectionAccepted(connack: ConnackPacket, now: number): boolean {
    this.#link = 'online';
    this.#lastReceivedAt = now;
    if (this.#options.protocolVersion === 5) this.#adopt(connack);
    if (!connack.sessionPresent && this.#knownFilters.size > 0) {
      // The broker holds no subscriptions for us: restore them (ours, and a restored
      // store's), after the SUBSCRIBE/UNSUBSCRIBE made while offline.
      const subscriptions = [...this.#knownFilters].map(([topic, qos]) => ({ topic, qos }));
      const size = this.#options.maxFiltersPerSubscribe ?? subscriptions.length;
      for (let i = 0; i < subscriptions.length; i += size) {
        const part = subscriptions.slice(i, i + size);
        this.#deferredControls.push({ kind: 'subscribe', subscriptions: part, op: undefined });
      }
    }
    if (!connack.sessionPresent) {
      // The broker has no session: it will send no PUBREL for QoS 2 messages it had sent us.
      for (const id of this.#incomingQos2.keys()) this.#store.deleteIncomingQos2(id);
      this.#incomingQos2.clear();
      // Their acknowledgements are owed to nobody now; the messages stay with the application.
      this.#keepAcks(() => false);
    }
    // Controls lost with the previous connection are sent again, with new ids, by #pump.
    this.#deferredControls = [...this.#controls.values(), ...this.#deferredControls];
    this.#controls.clear();
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
      this.#send(this.#publishPacket(suspect, true), now);
      this.#send({ type: 'pingreq' }, now);
      return connack.sessionPresent;
    }
    this.#resendInflight(now);
    this.#pump(now);
    return connack.sessionPresent;
  }

  /** MQTT 5.0: what the CONNACK tells the client to use for this connection. */
  #adopt(connack: ConnackPacket): void {
    this.#limits = limitsOf(connack);
    const p = connack.properties;
    // [MQTT-3.2.2-16] Kept for every later CONNECT, so a persistent session can be resumed.
    if (p?.assignedClientIdentifier !== undefined) this.#clientId = p.assignedClientIdentifier;
    // [MQTT-3.2.2-21] The server's keep-alive replaces ours.
    if (p?.serverKeepAliveSec !== undefined) this.#keepaliveSec = p.serverKeepAliveSec;
  }

  /**
   * The outgoing window: our `maxInflight`, and in 5.0 no more than the server's Receive
   * Maximum [MQTT-3.3.4-7] (brokers disconnect a client that overruns it).
   */
  #window(): number {
    const receiveMaximum = this.#limits?.receiveMaximum ?? 65535;
    return Math.min(this.#options.maxInflight, receiveMaximum);
  }

  /**
   * MQTT 5.0: why the server cannot take this publish, as its CONNACK said; undefined when it
   * can (and always in 3.1.1).
   */
  #publishRefusal(message: OutMessage): MqttError | undefined {
    const limits = this.#limits;
    if (limits === undefined) return undefined;
    const { topic, qos } = message;
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
    // A PUBLISH is at most 5 + 2 + 3 bytes per topic unit + 2 + 5 + properties + payload:
    // encode to measure only when that bound does not fit.
    if (
      max !== Number.POSITIVE_INFINITY &&
      message.payload.byteLength + 3 * topic.length + 14 > max
    ) {
      // Any id measures the same: two bytes. A queued message has none yet.
      const packet = this.#publishPacket(message, false);
      const measured = qos === 0 ? packet : { ...packet, packetId: 1 };
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
    const limits = this.#limits;
    if (limits === undefined) return undefined;
    for (const { topic } of subscriptions) {
      if (topic.startsWith('$share/')) {
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
    for (const message of this.#inflight.values()) {
      if (message === except) continue;
      if (message.phase === 'released') {
        this.#send({ type: 'pubrel', packetId: message.packetId }, now);
      } else {
        this.#send(this.#publishPacket(message, true), now);
      }
    }
  }

  /** The server answered after the probe: the message did not kill it. Send the rest. */
  #probePassed(now: number): void {
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
   * The connection is gone (closed, reset, refused, or dropped by the session itself).
   * Outgoing QoS 1/2 messages stay, to be resent; QoS 0 messages already written are gone,
   * as QoS 0 promises.
   */
  connectionLost(): void {
    this.#link = 'offline';
    this.#inboundQos1 = 0;
    this.#pingSentAt = -1;
    this.#receivePaused = false;
    // A QoS 1 acknowledgement belongs to the connection the PUBLISH came on: the broker sends
    // the message again on the next one (with a session) and that copy is acknowledged. An
    // untaken QoS 2 message keeps its place: the broker resends it with DUP and the same id,
    // which is not delivered twice, and PUBREC goes out once the application took the first.
    this.#keepAcks((ack) => ack.qos === 2 && !ack.taken);
  }

  /**
   * Poison-message detection, called by the driver each time an accepted connection is lost,
   * after {@link connectionLost}. `early`: the server closed or reset it before it proved
   * stable. A broker handles packets in order and closes at the one it will not take, so the
   * suspect is the first PUBLISH in flight (every PUBLISH in flight was (re)sent on the
   * connection just lost). On the next connection the suspect is sent alone, followed by a
   * PINGREQ ({@link connectionAccepted}): any answer clears it; a close before any answer
   * counts against it. The same suspect `threshold` times in a row is given up: rejected
   * with a {@link PoisonMessageError}, removed from the session and the store. Any other
   * loss (keep-alive expiry, our own drop, a connection that lasted) ends the streak. A
   * network cut lands in the probe's one round trip `threshold` times in a row only by a
   * rare coincidence; that is the residual risk of a false conviction.
   *
   * @param threshold - closes in a row that condemn a message; 0 turns detection off.
   * @returns the error the message was rejected with, or undefined.
   */
  connectionKilled(early: boolean, threshold: number, now: number): PoisonMessageError | undefined {
    let suspect: OutMessage | undefined = this.#probe;
    this.#probe = undefined;
    if (suspect === undefined && early && threshold > 0) {
      for (const message of this.#inflight.values()) {
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
    const closes = this.#suspect?.seq === suspect.seq ? this.#suspect.closes + 1 : 1;
    if (closes < threshold) {
      this.#suspect = { seq: suspect.seq, closes };
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
  ): void {
    const message: OutMessage = {
      seq: this.#nextSeq++,
      packetId: 0,
      phase: 'queued',
      topic,
      payload,
      qos,
      retain,
      op,
    };
    const refusal = this.#publishRefusal(message);
    if (refusal !== undefined) {
      op.reject(refusal);
      return;
    }
    if (qos > 0) this.#store.putOutgoing(toRecord(message));
    if (qos === 0 && this.#link === 'online' && this.queuedCount === 0) {
      this.#send({ type: 'publish', topic, payload, qos: 0, retain, dup: false }, now);
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
        this.#queuedBytes -= message.payload.byteLength;
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
    if (this.#link === 'online' && !always) return;
    const q = this.#options.offlineQueue;
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
    subscriptions: readonly { topic: string; qos: QoS }[],
    op: Settleable<readonly number[]>,
    now: number,
  ): void {
    const refusal = this.#subscribeRefusal(subscriptions);
    if (refusal !== undefined) {
      op.reject(refusal);
      return;
    }
    for (const s of subscriptions) this.#store.putSubscription({ filter: s.topic, qos: s.qos });
    this.#control({ kind: 'subscribe', subscriptions, op }, now);
  }

  /** Sends UNSUBSCRIBE now, or on the next connection when offline. */
  unsubscribe(topics: readonly string[], op: Settleable<void>, now: number): void {
    for (const t of topics) {
      this.#store.deleteSubscription(t);
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
    for (const message of this.#inflight.values()) message.op?.reject(error);
    for (let i = this.#queueHead; i < this.#queue.length; i++) this.#queue[i]!.op?.reject(error);
    for (const control of this.#controls.values()) control.op?.reject(error);
    for (const control of this.#deferredControls) control.op?.reject(error);
    this.#inflight.clear();
    this.#queue = [];
    this.#queueHead = 0;
    this.#queuedBytes = 0;
    this.#controls.clear();
    this.#deferredControls = [];
  }

  /** Sends DISCONNECT (a clean end: the broker discards the Will). */
  disconnect(now: number): void {
    if (this.#link === 'online') this.#send({ type: 'disconnect' }, now);
    this.#link = 'offline';
  }

  // ─── incoming flow control ───────────────────────────────────────────────────────────

  /**
   * The application has taken an incoming message (or nothing held it): its PUBACK / PUBREC
   * may go out, after those of every message received before it. Idempotent.
   */
  acknowledge(ack: InboundAck, now: number): void {
    if (ack.taken) return;
    ack.taken = true;
    const acks = this.#acks;
    while (this.#acksHead < acks.length && acks[this.#acksHead]!.taken) {
      const head = acks[this.#acksHead]!;
      acks[this.#acksHead] = undefined as unknown as InboundAck;
      this.#acksHead++;
      if (head.qos === 2) this.#pendingQos2.delete(head.packetId);
      if (head.live && head.qos === 1) this.#inboundQos1--;
      if (head.live && this.#link === 'online') {
        this.#send({ type: head.qos === 1 ? 'puback' : 'pubrec', packetId: head.packetId }, now);
      }
    }
    if (this.#acksHead === acks.length) {
      this.#acks = [];
      this.#acksHead = 0;
    } else if (this.#acksHead > 1024 && this.#acksHead * 2 > acks.length) {
      this.#acks = acks.slice(this.#acksHead);
      this.#acksHead = 0;
    }
  }

  /** Incoming QoS 1/2 messages whose acknowledgement waits for the application. */
  get unacknowledgedCount(): number {
    return this.#acks.length - this.#acksHead;
  }

  /**
   * The driver stopped (or resumed) reading the connection because the application is slow.
   * While paused the broker's packets, PINGRESP among them, wait unread: keep-alive keeps
   * the broker's side satisfied with PINGREQ but does not judge the link dead. Resuming
   * counts as hearing from the broker, since the bytes were there all along.
   */
  pauseReceive(paused: boolean, now: number): void {
    if (this.#receivePaused === paused) return;
    this.#receivePaused = paused;
    if (!paused) {
      this.#lastReceivedAt = now;
      this.#pingSentAt = -1;
    }
  }

  /** Keeps the unsent acknowledgements that `keep` accepts, no longer owed on any link. */
  #keepAcks(keep: (ack: InboundAck) => boolean): void {
    const kept: InboundAck[] = [];
    for (let i = this.#acksHead; i < this.#acks.length; i++) {
      const ack = this.#acks[i]!;
      ack.live = false;
      if (keep(ack)) kept.push(ack);
      // Dropped from the order: taking it later sends nothing.
      else ack.taken = true;
    }
    this.#acks = kept;
    this.#acksHead = 0;
    this.#pendingQos2.clear();
    for (const ack of kept) this.#pendingQos2.set(ack.packetId, ack);
  }

  // ─── time ───────────────────────────────────────────────────────────────────────────

  /**
   * Lets time pass: sends PINGREQ when the link has been quiet for the keep-alive period,
   * and drops the connection when a PINGREQ went unanswered for `pingTimeoutMs`.
   *
   * "Quiet" counts both directions: a client that keeps publishing into a half-open TCP
   * connection receives nothing back, so it pings and detects the dead link even though it
   * never stopped sending.
   */
  tick(now: number): void {
    if (this.#link !== 'online' || this.#keepaliveSec === 0) return;
    if (this.#receivePaused) {
      if (now - this.#lastSentAt >= this.#keepaliveSec * 1000) {
        this.#send({ type: 'pingreq' }, now);
      }
      return;
    }
    if (this.#pingSentAt >= 0) {
      if (now - this.#pingSentAt >= this.#options.pingTimeoutMs) {
        this.#pingSentAt = -1;
        this.#host.drop(new KeepaliveTimeoutError(this.#options.pingTimeoutMs));
      }
      return;
    }
    const keepaliveMs = this.#keepaliveSec * 1000;
    if (now - Math.min(this.#lastSentAt, this.#lastReceivedAt) >= keepaliveMs) {
      this.#pingSentAt = now;
      this.#send({ type: 'pingreq' }, now);
    }
  }

  // ─── incoming packets ───────────────────────────────────────────────────────────────

  /**
   * Handles a packet from the broker. The first one of a connection must be CONNACK: a
   * return code 0 calls {@link connectionAccepted} and then the host's `connected`; anything
   * else drops the connection with a typed error.
   */
  receive(packet: Packet, now: number): void {
    this.#lastReceivedAt = now;
    if (this.#link === 'awaiting-connack') {
      this.#receiveConnack(packet, now);
      return;
    }
    switch (packet.type) {
      case 'publish':
        this.#receivePublish(packet, now);
        return;
      case 'puback': {
        const message = this.#inflight.get(packet.packetId);
        if (message !== undefined && message === this.#probe) this.#probePassed(now);
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
          if (message === this.#probe) this.#probePassed(now);
          return;
        }
        if (message.phase === 'sent') {
          // [MQTT-4.3.3-1] From here on the payload is no longer needed: only PUBREL.
          message.phase = 'released';
          this.#store.updateOutgoing(message.seq, message.packetId, 'released');
        }
        this.#send({ type: 'pubrel', packetId: packet.packetId }, now);
        if (message === this.#probe) this.#probePassed(now);
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
      case 'pubrel':
        // [MQTT-4.3.3-2] Release the id; answer PUBCOMP even for an id we do not know, so a
        // broker that resends PUBREL after our restart can complete its flow.
        {
          const fingerprint = this.#incomingQos2.get(packet.packetId);
          if (fingerprint !== undefined) {
            this.#incomingQos2.delete(packet.packetId);
            this.#store.deleteIncomingQos2(packet.packetId);
            this.#remember(packet.packetId, fingerprint);
          }
        }
        this.#send({ type: 'pubcomp', packetId: packet.packetId }, now);
        return;
      case 'suback': {
        const control = this.#controls.get(packet.packetId);
        if (control?.kind !== 'subscribe') {
          this.#unexpectedAcks++;
          return;
        }
        this.#controls.delete(packet.packetId);
        if (packet.returnCodes.length !== control.subscriptions.length) {
          control.op?.reject(
            new ProtocolError(
              `SUBACK has ${packet.returnCodes.length} return codes for ${control.subscriptions.length} filters`,
              'MQTT-3.8.4-5',
            ),
          );
        } else {
          packet.returnCodes.forEach((code, i) => {
            const { topic, qos } = control.subscriptions[i]!;
            // 0x80 in 3.1.1; in 5.0 every reason code from 0x80 on refuses the filter.
            if (code >= 0x80) {
              this.#store.deleteSubscription(topic);
              // A restored filter the broker now refuses is not tried again.
              if (control.op === undefined) this.#knownFilters.delete(topic);
            } else if (control.op !== undefined) {
              // Only acknowledged filters are restored after a reconnect; a SUBSCRIBE still
              // pending when the link drops is sent again as it is.
              this.#knownFilters.set(topic, qos);
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
        this.#controls.delete(packet.packetId);
        control.op.resolve();
        this.#pump(now);
        return;
      }
      case 'pingresp':
        this.#pingSentAt = -1;
        this.#probePassed(now);
        return;
      case 'disconnect':
        // [MQTT-3.14.0-1] Only a 5.0 server may send DISCONNECT, saying why it closes.
        if (this.#options.protocolVersion === 5) {
          const p = packet.properties;
          this.#host.drop(
            new ServerDisconnectError(this.#server, packet.reasonCode ?? 0, {
              ...(p?.reasonString === undefined ? {} : { reasonString: p.reasonString }),
              ...(p?.serverReference === undefined ? {} : { serverReference: p.serverReference }),
            }),
          );
          return;
        }
        this.#host.drop(new ProtocolError('unexpected DISCONNECT from the server'));
        return;
      default:
        // CONNACK outside the handshake, or a client-only packet from the server.
        this.#host.drop(
          new ProtocolError(`unexpected ${packet.type.toUpperCase()} from the server`),
        );
    }
  }

  /** The first packet of a connection. */
  #receiveConnack(packet: Packet, now: number): void {
    if (packet.type !== 'connack') {
      this.#link = 'offline';
      this.#host.drop(
        new ProtocolError(
          `${this.#server} sent ${packet.type.toUpperCase()} before CONNACK`,
          'MQTT-3.2.0-1',
        ),
      );
      return;
    }
    if (packet.returnCode !== 0) {
      this.#link = 'offline';
      const p = packet.properties;
      this.#host.drop(
        new ConnectionRefusedError(packet.returnCode, this.#server, {
          ...(p?.reasonString === undefined ? {} : { reasonString: p.reasonString }),
          ...(p?.serverReference === undefined ? {} : { serverReference: p.serverReference }),
        }),
      );
      return;
    }
    this.connectionAccepted(packet, now);
    this.#host.connected?.(packet);
  }

  #receivePublish(packet: PublishPacket, now: number): void {
    // [MQTT-3.3.2-10] We announce no Topic Alias Maximum (0): any alias from the server is
    // invalid, and a PUBLISH with an empty topic must not reach the application.
    if (packet.properties?.topicAlias !== undefined) {
      this.#host.send({ type: 'disconnect', reasonCode: 0x94 });
      this.#host.drop(
        new ProtocolError(
          `${this.#server} sent Topic Alias ${packet.properties.topicAlias}, over our Topic Alias Maximum of 0 (DISCONNECT 0x94 Topic Alias invalid)`,
          'MQTT-3.3.2-10',
        ),
      );
      return;
    }
    if (packet.qos > 0 && this.#overReceiveMaximum(packet)) return;
    switch (packet.qos) {
      case 0:
        this.#host.deliver(packet, undefined);
        return;
      case 1:
        // Acknowledged once the application has taken the message (flow control).
        this.#inboundQos1++;
        this.#host.deliver(packet, this.#expectAck(packet.packetId!, 1));
        return;
      case 2: {
        const id = packet.packetId!;
        // [MQTT-4.3.3-2] Method B: deliver once, keep the id until PUBREL; a redelivery
        // with DUP before PUBREL is acknowledged again but not delivered twice.
        // DUP=0 with an id we still hold: the broker reuses an id only after our PUBCOMP,
        // so our record is stale (its delete had not reached the disk before a crash).
        if (this.#incomingQos2.has(id) && packet.dup) {
          const pending = this.#pendingQos2.get(id);
          // Still with the application: PUBREC goes out on this connection once it is taken.
          if (pending !== undefined) pending.live = true;
          else this.acknowledge(this.#expectAck(id, 2), now);
          return;
        }
        const fingerprint = fingerprintOf(packet);
        this.#incomingQos2.set(id, fingerprint);
        this.#store.addIncomingQos2(id);
        // A DUP redelivery of a message whose flow we already completed: some brokers
        // (Mosquitto restored from its persistence file) resend the PUBLISH after PUBREL,
        // against [MQTT-4.3.3-1]. DUP=1 says "an earlier attempt"; same id, topic and
        // payload as the message just released means it is that attempt: acknowledge,
        // do not deliver twice.
        if (packet.dup && this.#recentlyReleased.get(id) === fingerprint) {
          this.acknowledge(this.#expectAck(id, 2), now);
          return;
        }
        const ack = this.#expectAck(id, 2);
        this.#pendingQos2.set(id, ack);
        this.#host.deliver(packet, ack);
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

  /**
   * MQTT 5.0 [MQTT-3.3.4-9]: a server may not have more QoS 1/2 messages unacknowledged
   * towards us than the Receive Maximum we announced. One more is answered with DISCONNECT
   * 0x93 and the connection dropped with a typed error: it would grow what we hold without
   * bound. A QoS 2 redelivery of an id we hold is not a new one.
   */
  #overReceiveMaximum(packet: PublishPacket): boolean {
    if (this.#options.protocolVersion !== 5) return false;
    if (packet.qos === 2 && this.#incomingQos2.has(packet.packetId!)) return false;
    const receiveMaximum = this.#options.connectProperties?.receiveMaximum ?? 65535;
    if (this.#inboundQos1 + this.#incomingQos2.size < receiveMaximum) return false;
    this.#host.send({ type: 'disconnect', reasonCode: 0x93 });
    this.#host.drop(
      new ProtocolError(
        `${this.#server} sent more than our Receive Maximum of ${receiveMaximum} unacknowledged QoS 1/2 messages (DISCONNECT 0x93 Receive Maximum exceeded)`,
        'MQTT-3.3.4-9',
      ),
    );
    return true;
  }

  #expectAck(packetId: number, qos: 1 | 2): InboundAck {
    const ack: InboundAck = { packetId, qos, taken: false, live: true };
    this.#acks.push(ack);
    return ack;
  }

  // ─── internals ──────────────────────────────────────────────────────────────────────

  #remember(id: number, fingerprint: string): void {
    if (fingerprint === '') return;
    this.#recentlyReleased.delete(id);
    this.#recentlyReleased.set(id, fingerprint);
    if (this.#recentlyReleased.size > RECENTLY_RELEASED_MAX) {
      const oldest = this.#recentlyReleased.keys().next().value;
      if (oldest !== undefined) this.#recentlyReleased.delete(oldest);
    }
  }

  #send(packet: Packet, now: number): void {
    this.#lastSentAt = now;
    this.#host.send(packet);
  }

  #enqueue(message: OutMessage): void {
    this.#queue.push(message);
    this.#queuedBytes += message.payload.byteLength;
  }

  #publishPacket(message: OutMessage, dup: boolean): PublishPacket {
    if (message.qos === 0) {
      return {
        type: 'publish',
        topic: message.topic,
        payload: message.payload,
        qos: 0,
        retain: message.retain,
        dup: false,
      };
    }
    return {
      type: 'publish',
      topic: message.topic,
      payload: message.payload,
      qos: message.qos,
      retain: message.retain,
      dup,
      packetId: message.packetId,
    };
  }

  #complete(message: OutMessage, now: number): void {
    this.#inflight.delete(message.packetId);
    this.#store.deleteOutgoing(message.seq);
    message.op?.resolve();
    this.#pump(now);
  }

  /** Ends an in-flight message's flow with an error: frees its slot, id and store record. */
  #fail(message: OutMessage, error: MqttError, now: number): void {
    this.#inflight.delete(message.packetId);
    this.#store.deleteOutgoing(message.seq);
    // A message resumed from the store after a restart has nobody awaiting it: say so.
    if (message.op === undefined) this.#host.failed?.(message.topic, message.qos, error);
    else message.op.reject(error);
    this.#pump(now);
  }

  /** Sends queued messages while online, in order, as far as the window and ids allow. */
  #pump(now: number): void {
    // While a suspect message is probed alone, nothing else goes out (order is kept).
    if (this.#link !== 'online' || this.#probe !== undefined) return;
    if (this.#deferredControls.length > 0) {
      const controls = this.#deferredControls;
      this.#deferredControls = [];
      for (const control of controls) this.#sendControl(control, now);
    }
    const queue = this.#queue;
    while (this.#queueHead < queue.length) {
      const message = queue[this.#queueHead]!;
      // Accepted under another connection's limits (or offline): this server may not take it.
      const refusal = this.#publishRefusal(message);
      if (refusal !== undefined) {
        queue[this.#queueHead] = undefined as unknown as OutMessage;
        this.#queueHead++;
        this.#queuedBytes -= message.payload.byteLength;
        if (message.qos > 0) this.#store.deleteOutgoing(message.seq);
        if (message.op === undefined) this.#host.failed?.(message.topic, message.qos, refusal);
        else message.op.reject(refusal);
        continue;
      }
      if (message.qos > 0) {
        if (this.#inflight.size >= this.#window()) break;
        const id = this.#allocatePacketId();
        if (id === 0) break;
        message.packetId = id;
        message.phase = 'sent';
        this.#inflight.set(id, message);
        // Write-ahead: the id is in the store before the PUBLISH can reach the wire (the
        // driver holds the bytes until the store's flush when the store is durable).
        this.#store.updateOutgoing(message.seq, id, 'sent');
      }
      queue[this.#queueHead] = undefined as unknown as OutMessage;
      this.#queueHead++;
      this.#queuedBytes -= message.payload.byteLength;
      this.#send(this.#publishPacket(message, false), now);
      if (message.qos === 0) message.op?.resolve();
    }
    // Compact the array once the consumed head dominates it.
    if (this.#queueHead > 1024 && this.#queueHead * 2 > queue.length) {
      this.#queue = queue.slice(this.#queueHead);
      this.#queueHead = 0;
    }
  }

  #control(control: PendingControl, now: number): void {
    this.#deferredControls.push(control);
    this.#pump(now);
  }

  #sendControl(control: PendingControl, now: number): void {
    const packetId = this.#allocatePacketId();
    if (packetId === 0) {
      // Every id is in use by in-flight publishes: try again when one completes.
      this.#deferredControls.push(control);
      return;
    }
    this.#controls.set(packetId, control);
    if (control.kind === 'subscribe') {
      this.#send({ type: 'subscribe', packetId, subscriptions: control.subscriptions }, now);
    } else {
      this.#send({ type: 'unsubscribe', packetId, topics: control.topics }, now);
    }
  }

  /**
   * [MQTT-2.3.1-2] A packet id is never reused while in use. Returns 0 when all 65,535 are
   * taken (the caller waits for a completion).
   */
  #allocatePacketId(): number {
    const inUse = this.#inflight.size + this.#controls.size;
    if (inUse >= MAX_PACKET_ID) return 0;
    for (;;) {
      const id = this.#nextPacketId;
      this.#nextPacketId = id === MAX_PACKET_ID ? 1 : id + 1;
      if (!this.#inflight.has(id) && !this.#controls.has(id)) return id;
    }
  }
}

function toRecord(message: OutMessage): OutgoingRecord {
  return {
    seq: message.seq,
    packetId: message.packetId,
    phase: message.phase,
    topic: message.topic,
    payload: message.payload,
    qos: message.qos,
    retain: message.retain,
  };
}
