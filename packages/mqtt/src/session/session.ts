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
 * The session composes three parts that each do one job: {@link Outgoing} (publish queue,
 * in-flight window, resend, packet ids, SUBSCRIBE/UNSUBSCRIBE, poison detection),
 * {@link Incoming} (inbound PUBLISH, the acknowledgement order, QoS 2 ids until PUBREL) and
 * {@link KeepAlive}. They share the session's state through a {@link SessionContext}; only
 * the session changes the link state.
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
  type PoisonMessageError,
  ProtocolError,
  ServerDisconnectError,
} from '../errors.js';
import type {
  ConnackPacket,
  ConnectPacket,
  DisconnectProperties,
  Packet,
  QoS,
  SubscribeProperties,
  Subscription,
  Will,
} from '../packet/types.js';
import type { SessionStore, StoreSnapshot } from '../store/types.js';
import { Incoming } from './incoming.js';
import { KeepAlive } from './keepalive.js';
import { Outgoing } from './outgoing.js';
import type { OutgoingAliases } from './topic-aliases.js';
import {
  type Credentials,
  type InboundAck,
  type LinkState,
  limitsOf,
  type PublishExtras,
  type QueuedOutside,
  type ServerLimits,
  type SessionContext,
  type SessionHost,
  type SessionOptions,
  type Settleable,
} from './types.js';

export type {
  Credentials,
  InboundAck,
  LinkState,
  PublishExtras,
  QueuedOutside,
  QueueLimits,
  ServerLimits,
  SessionHost,
  SessionOptions,
  Settleable,
} from './types.js';

/**
 * The protocol state machine of one MQTT client session.
 *
 * Every method is synchronous. Methods that take `now` use it as "milliseconds on some
 * monotonic clock"; only differences matter.
 */
export class Session implements SessionContext {
  /** Replaced only by {@link setProtocolVersion}, while offline. */
  #options: SessionOptions;
  readonly #host: SessionHost;
  readonly #store: SessionStore;

  #link: LinkState = 'offline';
  /** The client id of the next CONNECT: the configured one, or the one the server assigned. */
  #clientId: string;
  /** MQTT 5.0: the last CONNACK's limits; undefined before the first (and for 3.1.1). */
  #limits: ServerLimits | undefined;
  /** The Will of the next CONNECT. */
  #will: Will | undefined;
  /** The server of the current connection, as a URL without credentials, for errors. */
  #server = 'the server';

  readonly #keepalive: KeepAlive;
  readonly #outgoing: Outgoing;
  readonly #incoming: Incoming;

  constructor(options: SessionOptions, host: SessionHost, store: SessionStore) {
    this.#options = options;
    this.#clientId = options.clientId;
    this.#will = options.will;
    this.#host = host;
    this.#store = store;
    this.#keepalive = new KeepAlive(options.keepaliveSec, options.pingTimeoutMs);
    // The session is its parts' context itself (the members below): no per-session object
    // of getters and closures, which an idle connection would carry for nothing.
    this.#outgoing = new Outgoing(this);
    this.#incoming = new Incoming(this);
  }

  /** {@link SessionContext}: the options in force. */
  get options(): SessionOptions {
    return this.#options;
  }

  /** {@link SessionContext}: what the session drives. */
  get host(): SessionHost {
    return this.#host;
  }

  /** {@link SessionContext}: the store of the session's state. */
  get store(): SessionStore {
    return this.#store;
  }

  /** {@link SessionContext}: the link is online (CONNACK accepted, not lost since). */
  get online(): boolean {
    return this.#link === 'online';
  }

  /** {@link SessionContext}: the current server, as a URL without credentials. */
  get server(): string {
    return this.#server;
  }

  /** {@link SessionContext}: the last CONNACK's limits (MQTT 5.0). */
  get limits(): ServerLimits | undefined {
    return this.#limits;
  }

  /** {@link SessionContext}: writes a packet and counts it as traffic for keep-alive. */
  send(packet: Packet, now: number): void {
    this.#send(packet, now);
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
    return this.#keepalive.sec;
  }

  /** MQTT 5.0: what the last CONNACK said the server accepts; undefined before it (and in 3.1.1). */
  get serverLimits(): ServerLimits | undefined {
    return this.#limits;
  }

  /** Outgoing QoS 1/2 messages holding a packet id. */
  get inflightCount(): number {
    return this.#outgoing.inflightCount;
  }

  /** Messages accepted but not yet sent (offline queue and messages waiting for a slot). */
  get queuedCount(): number {
    return this.#outgoing.queuedCount;
  }

  /** Payload bytes of the messages counted by {@link queuedCount}. */
  get queuedBytes(): number {
    return this.#outgoing.queuedBytes;
  }

  /**
   * Acknowledgements that matched no flow: PUBACK, PUBREC or PUBCOMP for an id not in
   * flight or in the wrong phase, SUBACK or UNSUBACK for an id no SUBSCRIBE or UNSUBSCRIBE
   * awaits (a broker bug, or acks of a session lost with a restart). Counted, not acted on.
   */
  get unexpectedAcks(): number {
    return this.#outgoing.unexpectedAcks;
  }

  /** Messages given up with a {@link PoisonMessageError} (see {@link connectionKilled}). */
  get poisonedCount(): number {
    return this.#outgoing.poisonedCount;
  }

  /** MQTT 5.0: queued messages that expired before they were sent (each failed with a typed error). */
  get expiredCount(): number {
    return this.#outgoing.expiredCount;
  }

  /** MQTT 5.0: the outgoing Topic Aliases of the current connection (maximum and counters). */
  get outgoingAliases(): OutgoingAliases {
    return this.#outgoing.aliases;
  }

  /** True when nothing accepted is still waiting for its flow to complete. */
  get idle(): boolean {
    return this.#outgoing.idle;
  }

  /**
   * Loads what a store kept: outgoing messages in their original order, with their packet
   * ids, and the incoming QoS 2 ids. Call before the first connection. `now` and `epochMs`
   * (the wall clock, ms since the epoch) place stored Message Expiry deadlines on the
   * session's clock; without `epochMs` they are not enforced on our side.
   */
  restore(snapshot: StoreSnapshot, now = 0, epochMs?: number): void {
    // [MQTT-3.2.2-16] An id the server assigned to our empty one names the session we resume.
    const assigned = snapshot.session?.clientId;
    if (this.#options.clientId === '' && assigned !== undefined) this.#clientId = assigned;
    this.#outgoing.restore(snapshot, now, epochMs);
    this.#incoming.restore(snapshot.incomingQos2);
  }

  // ─── connection events ──────────────────────────────────────────────────────────────

  /**
   * The protocol version of the next connection, for a client that negotiates it
   * (`protocolVersion: 'auto'` falls back from 5 to 3.1.1 per server). Call while offline.
   * A 3.1.1 connection has no server limits: those of an earlier 5.0 one are forgotten.
   */
  setProtocolVersion(version: SessionOptions['protocolVersion']): void {
    if (version === this.#options.protocolVersion || this.#link !== 'offline') return;
    this.#options = { ...this.#options, protocolVersion: version };
    if (version !== 5) this.#limits = undefined;
  }

  /**
   * A transport connection is open: sends CONNECT with the credentials of the server in use
   * (each server of a failover list may have its own). `server` (a URL without credentials)
   * names the server in the errors of the handshake.
   */
  connectionOpened(now: number, credentials: Credentials = {}, server = 'the server'): void {
    this.#link = 'awaiting-connack';
    this.#server = server;
    this.#keepalive.opened(now);
    const o = this.#options;
    const { authenticationMethod: method, authenticationData: data } = credentials;
    const properties =
      o.protocolVersion !== 5
        ? undefined
        : method === undefined
          ? o.connectProperties
          : {
              ...o.connectProperties,
              // MQTT 5.0 enhanced authentication (§4.12): this attempt's first step.
              authenticationMethod: method,
              ...(data === undefined ? {} : { authenticationData: data }),
            };
    const connect: ConnectPacket = {
      type: 'connect',
      protocolVersion: o.protocolVersion,
      clientId: this.#clientId,
      clean: o.clean,
      keepaliveSec: o.keepaliveSec,
      ...(properties === undefined || Object.keys(properties).length === 0 ? {} : { properties }),
      ...(credentials.username === undefined ? {} : { username: credentials.username }),
      ...(credentials.password === undefined ? {} : { password: credentials.password }),
      ...(this.#will === undefined ? {} : { will: this.#willFor(o.protocolVersion) }),
    };
    this.#send(connect, now);
  }

  /**
   * The Will as this connection's version carries it: a 3.1.1 CONNECT has no Will properties
   * (`protocolVersion: 'auto'` that fell back leaves them out).
   */
  #willFor(version: SessionOptions['protocolVersion']): Will {
    const will = this.#will!;
    if (version === 5 || will.properties === undefined) return will;
    const { properties: _v5only, ...rest } = will;
    return rest;
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
    this.#keepalive.received(now);
    if (this.#options.protocolVersion === 5) this.#adopt(connack);
    // The broker has no session: it will send no PUBREL for QoS 2 messages it had sent us.
    if (!connack.sessionPresent) this.#incoming.sessionLost();
    this.#outgoing.resume(connack.sessionPresent, now);
    return connack.sessionPresent;
  }

  /** MQTT 5.0: what the CONNACK tells the client to use for this connection. */
  #adopt(connack: ConnackPacket): void {
    this.#limits = limitsOf(connack);
    const p = connack.properties;
    // [MQTT-3.2.2-16] Kept for every later CONNECT, so a persistent session can be resumed.
    if (p?.assignedClientIdentifier !== undefined) this.#clientId = p.assignedClientIdentifier;
    // [MQTT-3.2.2-21] The server's keep-alive replaces ours.
    if (p?.serverKeepAliveSec !== undefined) this.#keepalive.adopt(p.serverKeepAliveSec);
  }

  /**
   * The connection is gone (closed, reset, refused, or dropped by the session itself).
   * Outgoing QoS 1/2 messages stay, to be resent; QoS 0 messages already written are gone,
   * as QoS 0 promises.
   */
  connectionLost(): void {
    this.#link = 'offline';
    this.#keepalive.lost();
    this.#incoming.connectionLost();
  }

  /**
   * Poison-message detection, called by the driver each time an accepted connection is lost,
   * after {@link connectionLost}. `early`: the server closed or reset it before it proved
   * stable. See {@link Outgoing.connectionKilled}.
   *
   * @param threshold - closes in a row that condemn a message; 0 turns detection off.
   * @returns the error the message was rejected with, or undefined.
   */
  connectionKilled(
    early: boolean,
    threshold: number,
    now: number,
    windowMs = 0,
  ): PoisonMessageError | undefined {
    return this.#outgoing.connectionKilled(early, threshold, now, windowMs);
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
    extras?: PublishExtras,
  ): void {
    this.#outgoing.publish(topic, payload, qos, retain, op, now, extras);
  }

  /**
   * Removes the oldest queued QoS 0 message (offline-queue policy `drop-oldest-qos0`).
   * @returns the dropped message's op, or undefined when no QoS 0 message is queued.
   */
  dropOldestQueuedQos0(): Settleable<void> | undefined {
    return this.#outgoing.dropOldestQueuedQos0();
  }

  /**
   * Checks that a publish of `payloadBytes` fits the offline queue, making room by the
   * policy; throws a {@link QueueFullError} when it does not fit. Online, a message is admitted
   * unless `always`: a connected caller is paced by its own promises (one per message),
   * except one that resolves on "stored" and so may run ahead of the broker.
   */
  admit(payloadBytes: number, always: boolean, outside?: QueuedOutside): void {
    this.#outgoing.admit(payloadBytes, always, outside);
  }

  /** Sends SUBSCRIBE now, or on the next connection when offline. */
  subscribe(
    subscriptions: readonly Subscription[],
    op: Settleable<readonly number[]>,
    now: number,
    properties?: SubscribeProperties,
  ): void {
    this.#outgoing.subscribe(subscriptions, op, now, properties);
  }

  /** Sends UNSUBSCRIBE now, or on the next connection when offline. */
  unsubscribe(topics: readonly string[], op: Settleable<void>, now: number): void {
    this.#outgoing.unsubscribe(topics, op, now);
  }

  /**
   * Fails every operation still pending (the client is ending): queued and in-flight
   * publishes, subscribes, unsubscribes. The store keeps the QoS 1/2 messages, so a durable
   * store still resends them on the next start.
   */
  abandon(error: MqttError): void {
    this.#outgoing.abandon(error);
  }

  /**
   * Sends DISCONNECT: a clean end, the broker discards the Will; MQTT 5.0 may give a reason
   * code (0x04: publish the Will all the same) and properties.
   */
  disconnect(
    now: number,
    reason: { readonly reasonCode?: number; readonly properties?: DisconnectProperties } = {},
  ): void {
    if (this.#link === 'online') this.#send({ type: 'disconnect', ...reason }, now);
    this.#link = 'offline';
  }

  // ─── incoming flow control ───────────────────────────────────────────────────────────

  /**
   * The application has taken an incoming message (or nothing held it): its PUBACK / PUBREC
   * may go out, after those of every message received before it. Idempotent.
   */
  acknowledge(ack: InboundAck, now: number): void {
    this.#incoming.acknowledge(ack, now);
  }

  /** Incoming QoS 1/2 messages whose acknowledgement waits for the application. */
  get unacknowledgedCount(): number {
    return this.#incoming.unacknowledgedCount;
  }

  /**
   * The driver stopped (or resumed) reading the connection because the application is slow.
   * While paused the broker's packets, PINGRESP among them, wait unread: keep-alive keeps
   * the broker's side satisfied with PINGREQ but does not judge the link dead. Resuming
   * counts as hearing from the broker, since the bytes were there all along.
   */
  pauseReceive(paused: boolean, now: number): void {
    this.#keepalive.pause(paused, now);
  }

  // ─── time ───────────────────────────────────────────────────────────────────────────

  /**
   * Lets time pass: fails queued messages whose MQTT 5.0 Message Expiry passed, sends
   * PINGREQ when the link has been quiet for the keep-alive period, and drops the
   * connection when a PINGREQ went unanswered for `pingTimeoutMs`.
   */
  tick(now: number): void {
    // Queued messages expire whether or not a connection is up.
    this.#outgoing.expire(now);
    if (this.#link !== 'online') return;
    const action = this.#keepalive.due(now);
    if (action === 'ping') this.#send({ type: 'pingreq' }, now);
    else if (action === 'timeout') {
      this.#host.drop(new KeepaliveTimeoutError(this.#keepalive.pingTimeoutMs));
    }
  }

  // ─── incoming packets ───────────────────────────────────────────────────────────────

  /**
   * Handles a packet from the broker. The first one of a connection must be CONNACK: a
   * return code 0 calls {@link connectionAccepted} and then the host's `connected`; anything
   * else drops the connection with a typed error.
   */
  receive(packet: Packet, now: number): void {
    this.#keepalive.received(now);
    if (this.#link === 'awaiting-connack') {
      this.#receiveConnack(packet, now);
      return;
    }
    switch (packet.type) {
      case 'publish':
        this.#incoming.receivePublish(packet, now);
        return;
      case 'pubrel':
        this.#incoming.receivePubrel(packet, now);
        return;
      case 'puback':
      case 'pubrec':
      case 'pubcomp':
      case 'suback':
      case 'unsuback':
        this.#outgoing.receiveAck(packet, now);
        return;
      case 'pingresp':
        this.#keepalive.pong();
        this.#outgoing.probePassed(now);
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

  #send(packet: Packet, now: number): void {
    this.#keepalive.sent(now);
    this.#host.send(packet);
  }
}
