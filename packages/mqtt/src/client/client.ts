/**
 * The public MQTT client: glues the sans-I/O session to a transport and a store, and owns
 * reconnect, backoff, failover and the observable connection state.
 *
 * The connection state it reports is defined, with its diagram, in `state.ts`; the parts it
 * glues each have a file: `connection.ts` (transport, parser, CONNACK deadline),
 * `write-ahead.ts` (the store before the wire, corking, drain), `subscriptions.ts`
 * (dispatch and flow control), `before-open.ts` (operations made while the store opens),
 * `credentials.ts` (renewing an expiring password), `version-choice.ts` (`protocolVersion:
 * 'auto'`), `packet-hooks.ts` (metrics, trace and listeners per packet), `auth-exchange.ts`
 * (MQTT 5.0 enhanced authentication), `request.ts` (request/response), `session-record.ts`
 * (the session as the store recorded it).
 *
 * @module
 */

import {
  AuthenticationError,
  ClientClosedError,
  ConnectionLostError,
  ConnectionRefusedError,
  InvalidOptionError,
  type MqttError,
  QueueFullError,
  ServerDisconnectError,
} from '../errors.js';
import { encode } from '../packet/index.js';
import type {
  ConnackPacket,
  Packet,
  ProtocolVersion,
  PublishPacket,
  QoS,
} from '../packet/types.js';
import { ReconnectSchedule } from '../session/backoff.js';
import { type InboundAck, Session, type SessionHost, type Settleable } from '../session/session.js';
import type { PublishExtras } from '../session/types.js';
import { memoryStore } from '../store/memory.js';
import type { StoreSnapshot } from '../store/types.js';
import type { ByteStream } from '../transport/types.js';
import { redactUrl } from '../transport/url.js';
import { AuthExchange, unsolicitedAuth } from './auth-exchange.js';
import { BeforeOpen } from './before-open.js';
import { asMqttError, Connection, type ConnectionEvents } from './connection.js';
import { CredentialRenewal, type CredentialTimes, resolvePassword } from './credentials.js';
import { Emitter } from './events.js';
import { type ClientMetrics, MetricsCounters, snapshotMetrics, storeMetrics } from './metrics.js';
import {
  type CheckedPublish,
  checkEnd,
  checkPublish,
  checkSubscribe,
  checkUnsubscribe,
} from './operation-checks.js';
import {
  type ClientOptions,
  type ResolvedOptions,
  resolveOptions,
  resolveWill,
  type ServerOptions,
  toBytes,
  type WillOptions,
} from './options.js';
import { type PacketEvents, PacketHooks } from './packet-hooks.js';
import {
  checkPublishRules,
  checkSubscribeRules,
  forbiddenPacket,
  splitFilters,
} from './profiles.js';
import {
  type RequestOptions,
  Requests,
  type Responder,
  type ResponderFailure,
  type RespondOptions,
  type ResponseReply,
} from './request.js';
import { referencedServer } from './servers.js';
import { expiryInForce, SessionRecord, sessionMayExist } from './session-record.js';
import { type ClientState, StateCell, type StateListener } from './state.js';
import type { AckableMessage, Granted, Message, Subscription } from './subscription.js';
import { Subscriptions, type SubscriptionsHost } from './subscriptions.js';
import { startTicks, stopTicks, type Tickable } from './ticker.js';
import { TrackedStore } from './tracked-store.js';
import type {
  DroppedMessage,
  EndOptions,
  FilterRequest,
  PublishOptions,
  SubscribeOptions,
} from './types.js';
import { VersionChoice } from './version-choice.js';
import { storeFailure, WriteAhead, type WriteAheadOwner } from './write-ahead.js';

export type {
  RequestOptions,
  Responder,
  ResponderFailure,
  RespondOptions,
  ResponseReply,
} from './request.js';
export type { ClientState, ConnectionStatus } from './state.js';
export type {
  DroppedMessage,
  EndOptions,
  EndProperties,
  FilterRequest,
  OutgoingPublishProperties,
  PublishOptions,
  SubscribeOptions,
} from './types.js';

interface ClientEvents extends PacketEvents {
  message: [Message];
  dropped: [DroppedMessage];
  state: [ClientState];
  responderror: [ResponderFailure];
}

const now = (): number => performance.now();

function closedError(): ClientClosedError {
  return new ClientClosedError();
}

/** A settled promise, shared (one per client would be one more object each). */
const SETTLED: Promise<void> = Promise.resolve();

/** Everything the client's parts call back into it through. */
interface ClientHostShape
  extends SessionHost,
    SubscriptionsHost,
    ConnectionEvents,
    StateListener,
    WriteAheadOwner,
    Tickable {}

/** Defined in the class body of {@link Client} (it reaches the client's private members). */
let ClientHost: new (client: Client) => ClientHostShape;

/**
 * The resolving functions of the promise {@link captureSettlers} was last the executor of:
 * taken right after `new Promise(captureSettlers)`, so that a publish makes no executor
 * closure (and no context for it) per message.
 */
let capturedResolve: (() => void) | undefined;
let capturedReject: ((error: Error) => void) | undefined;

function captureSettlers(resolve: () => void, reject: (error: Error) => void): void {
  capturedResolve = resolve;
  capturedReject = reject;
}

/**
 * A QoS 0 publish's op: it settles once written, waiting for a full socket buffer to drain
 * (back-pressure). One object per message rather than an object and two closures.
 */
class WrittenOp implements Settleable<void> {
  readonly #writer: WriteAhead;
  readonly #metrics: MetricsCounters;
  readonly #resolve: () => void;
  readonly #reject: (error: Error) => void;

  constructor(
    writer: WriteAhead,
    metrics: MetricsCounters,
    resolve: () => void,
    reject: (error: Error) => void,
  ) {
    this.#writer = writer;
    this.#metrics = metrics;
    this.#resolve = resolve;
    this.#reject = reject;
  }

  resolve(): void {
    this.#writer.afterDrain(this.#resolve);
  }

  reject(error: Error): void {
    // The offline queue's drop-oldest-qos0 policy made room: count it.
    if (error instanceof QueueFullError && error.outcome === 'dropped') {
      this.#metrics.droppedQos0Out++;
    }
    this.#reject(error);
  }
}

/**
 * An MQTT client. Create one with {@link createClient} (returns at once, keeps connecting in
 * the background) or {@link connect} (waits for the first connection).
 */
export class Client {
  readonly #options: ResolvedOptions;
  readonly #store: TrackedStore;
  readonly #session: Session;
  readonly #schedule: ReconnectSchedule | undefined;
  readonly #events = new Emitter<ClientEvents>();
  readonly #writer: WriteAhead;
  readonly #subscriptions: Subscriptions;
  #requestsImpl: Requests | undefined;
  readonly #state: StateCell;
  /** MQTT 5.0: the last CONNACK's Response Information, the base of response topics. */
  #responseInformation: string | undefined;
  #link: Connection | undefined;
  #ended = false;
  /** Answers the parts' calls back into the client. */
  readonly #host: ClientHostShape;
  #wait: { timer: ReturnType<typeof setTimeout>; wake: () => void } | undefined;
  #idleWaiters: Settleable<void>[] = [];
  /** Counters bumped on the hot path; {@link metrics} snapshots them. */
  readonly #metrics = new MetricsCounters();
  /** Metrics, trace and listeners of every packet sent and received (packet-hooks.ts). */
  readonly #packets: PacketHooks;
  /** The expiring password of the current connection, and its renewal (credentials.ts). */
  readonly #renewal = new CredentialRenewal();
  /** Operations accepted before the store has opened; they run once it has. */
  readonly #beforeOpen = new BeforeOpen();
  /** MQTT 5.0 enhanced authentication, when an authenticator is configured. */
  readonly #auth: AuthExchange | undefined;
  /** Reading is held while the authenticator verifies the CONNACK. */
  #authHold = false;
  /** The MQTT version of the current (or last) connection. */
  #version: ProtocolVersion;
  /** The store's record of the session on the broker. */
  readonly #sessionRecord: SessionRecord;
  #sessionMayExist: boolean | undefined;
  /** Settles once the store closed (after the client finished). */
  #storeClosed: Promise<void> = SETTLED;
  /** The version offered each server (`protocolVersion: 'auto'`: see version-choice.ts). */
  readonly #versions: VersionChoice;

  /** @internal Use {@link createClient} or {@link connect}. */
  constructor(options: ResolvedOptions) {
    this.#options = options;
    // One object answers every part's calls back into the client (see ClientHost below):
    // closures and callback objects per part would weigh on each of a gateway's thousands
    // of idle clients.
    const host = new ClientHost(this);
    this.#host = host;
    this.#version = options.protocolVersion;
    this.#versions = new VersionChoice(options.autoVersion, options.protocolVersion);
    this.#packets = new PacketHooks(this.#metrics, options.trace, this.#events);
    this.#store = new TrackedStore(options.store ?? memoryStore());
    this.#sessionRecord = new SessionRecord(this.#store);
    this.#writer = new WriteAhead(this.#store, host);
    this.#session = new Session(
      {
        protocolVersion: options.protocolVersion,
        clientId: options.clientId,
        clean: options.clean,
        keepaliveSec: options.keepaliveSec,
        pingTimeoutMs: options.pingTimeoutMs,
        maxInflight: options.maxInflight,
        offlineQueue: options.offlineQueue,
        outgoingTopicAliases: options.outgoingTopicAliases,
        ...(options.profile.maxFiltersPerSubscribe === undefined
          ? {}
          : { maxFiltersPerSubscribe: options.profile.maxFiltersPerSubscribe }),
        ...(options.will === undefined ? {} : { will: options.will }),
        ...(options.connectProperties === undefined
          ? {}
          : { connectProperties: options.connectProperties }),
      },
      host,
      this.#store,
    );
    if (options.authenticator !== undefined) {
      this.#auth = new AuthExchange(
        options.authenticator,
        {
          send: (packet) => this.#send(packet),
          fail: (error) => {
            // The DISCONNECT just written goes out before the connection closes.
            this.#writer.uncork();
            this.#link?.close(error);
          },
          pauseReading: (paused) => {
            this.#authHold = paused;
            const stream = this.#link?.stream;
            if (paused) stream?.pause();
            else if (!this.#subscriptions.readPaused) stream?.resume();
          },
          accepted: (connack) => {
            this.#session.receive(connack, now());
            this.#checkIdle();
          },
          server: () => this.#link?.display ?? 'the server',
        },
        options.connectTimeoutMs,
      );
    }
    this.#subscriptions = new Subscriptions(host);
    if (options.reconnect !== false) {
      const { minDelayMs, maxDelayMs, jitter, failover, stableAfterMs, refusedDelayMs } =
        options.reconnect;
      this.#schedule = new ReconnectSchedule(
        {
          minDelayMs,
          maxDelayMs,
          jitter,
          failover,
          stableAfterMs,
          refusedDelayMs,
          serverCount: options.servers.length,
        },
        options.random,
      );
    }
    this.#state = new StateCell(
      {
        status: 'connecting',
        server: redactUrl(options.servers[0]!.url),
        sessionPresent: false,
        since: Date.now(),
      },
      host,
    );
    void this.#run();
  }

  /**
   * MQTT 5.0 request/response, created by the first `request()` or `respond()`: most clients
   * never use it, and an idle gateway client should not carry its maps and callbacks.
   */
  get #requests(): Requests {
    this.#requestsImpl ??= new Requests({
      protocolVersion: this.#options.protocolVersion,
      maxPendingRequests: this.#options.maxPendingRequests,
      publish: (topic, payload, publishOptions) => this.publish(topic, payload, publishOptions),
      subscribe: (filter, subscribeOptions) => this.subscribe(filter, subscribeOptions),
      connected: async () => {
        if (this.#state.current.status !== 'connected') {
          await Promise.race([
            this.#state.waitFor('connected'),
            this.#state.waitFor('closed').then(() => Promise.reject(closedError())),
          ]);
        }
        return {
          clientId: this.clientId,
          ...(this.#responseInformation === undefined
            ? {}
            : { responseInformation: this.#responseInformation }),
        };
      },
      responderFailed: (failure) => this.#events.emit('responderror', failure),
    });
    return this.#requestsImpl;
  }

  /** The current connection state. */
  get state(): ClientState {
    return this.#state.current;
  }

  /**
   * The client identifier sent in CONNECT: the configured one or, once an MQTT 5.0 broker
   * assigned one to an empty id, that one (used by every later CONNECT).
   */
  get clientId(): string {
    return this.#session.clientId;
  }

  /**
   * The MQTT version of the current (or last) connection: 5, 4 (3.1.1) or 3 (3.1). With
   * `protocolVersion: 'auto'` it is what the server in use accepted: 5 until a server refused
   * it, 4 from then on for that server.
   */
  get protocolVersion(): ProtocolVersion {
    return this.#version;
  }

  /**
   * Whether the broker may still hold this client's session from an earlier run, as judged
   * from the store when it opened (undefined until then): the client id (a 5.0 broker's
   * Assigned Client Identifier is kept in the store and resumed), the Session Expiry
   * Interval and when the last connection ended, as recorded. False with `clean: true`, or
   * once the interval has passed; true while it has not, when the session never expires,
   * and whenever it cannot be ruled out (nothing recorded, or the process died while
   * connected). Only the CONNACK's Session Present (`state.sessionPresent`) is certain: the
   * client resends and resubscribes by it. This tells the application beforehand, e.g.
   * whether messages published to it while it was down may still arrive.
   */
  get sessionMayExist(): boolean | undefined {
    return this.#sessionMayExist;
  }

  /** Outgoing messages accepted and not yet completed (queued or in flight). */
  get pendingCount(): number {
    return this.#session.queuedCount + this.#session.inflightCount + this.#beforeOpen.count;
  }

  /** MQTT 5.0: requests (`request()`) waiting for their response. */
  get pendingRequestCount(): number {
    return this.#requestsImpl?.pendingCount ?? 0;
  }

  /**
   * MQTT 5.0: responses that arrived on a response topic with no request waiting for their
   * Correlation Data (late after a timeout, duplicated, or another client's); never taken for an answer.
   */
  get unmatchedResponseCount(): number {
    return this.#requestsImpl?.unmatchedCount ?? 0;
  }

  /**
   * MQTT 5.0: outgoing messages whose Message Expiry Interval passed before they could be
   * sent (each failed with a `MessageExpiredError`: its promise rejected, or `dropped`
   * reported it).
   */
  get expiredCount(): number {
    return this.#session.expiredCount;
  }

  /** Messages given up so far (each also reported by the `dropped` event). */
  get droppedCount(): number {
    return this.#metrics.dropped;
  }

  /**
   * A snapshot of the client's counters (packets and bytes by type and direction, connection
   * attempts, drops, PINGREQ round trip, the store's syncs) and gauges (in flight, queued).
   * Counters only grow; take two snapshots and subtract for a rate.
   */
  metrics(): ClientMetrics {
    return snapshotMetrics(
      this.#metrics,
      {
        inflight: this.#session.inflightCount,
        queued: this.#session.queuedCount + this.#beforeOpen.count,
        queuedBytes: this.#session.queuedBytes,
      },
      storeMetrics(this.#options.store),
    );
  }

  /**
   * When the password of the current connection expires and when the client will reconnect
   * with a fresh one (epoch milliseconds); undefined unless the password provider returned
   * an expiring password. An agent console shows them.
   */
  get credentialTimes(): CredentialTimes | undefined {
    return this.#renewal.times;
  }

  /** Connections ended on purpose to renew an expiring password, so far. */
  get renewedCount(): number {
    return this.#renewal.count;
  }

  // ─── events ─────────────────────────────────────────────────────────────────────────

  /**
   * Every message received, before it is dispatched to matching subscriptions. A listener
   * takes the message at once: it does not hold back the acknowledgement. With a listener
   * attached, a subscription whose iterator was never asked for (the callback style) leaves
   * its messages to the listener instead of keeping them.
   */
  on(event: 'message', listener: (message: Message) => void): this;
  /** A message the client had to give up, with why (never silent). */
  on(event: 'dropped', listener: (dropped: DroppedMessage) => void): this;
  /** Every state change. */
  on(event: 'state', listener: (state: ClientState) => void): this;
  /**
   * Every packet written or read, for debugging tools: without the CONNECT password and
   * without Authentication Data (CONNECT, CONNACK, AUTH).
   */
  on(event: 'packetsend' | 'packetreceive', listener: (packet: Packet) => void): this;
  /**
   * MQTT 5.0: a request a {@link respond} handler did not answer: the handler threw (nothing
   * was sent) or its response could not be published. The responder goes on with the next.
   */
  on(event: 'responderror', listener: (failure: ResponderFailure) => void): this;
  on(event: keyof ClientEvents, listener: (arg: never) => void): this {
    this.#events.on(event, listener as (...args: unknown[]) => void);
    return this;
  }

  /** Removes a listener added with {@link on}. */
  off(event: keyof ClientEvents, listener: (arg: never) => void): this {
    this.#events.off(event, listener as (...args: unknown[]) => void);
    return this;
  }

  /** Every state change from now on (starting with the current state), as an async iterator. */
  states(): AsyncIterableIterator<ClientState> {
    return this.#state.stream();
  }

  // ─── operations ─────────────────────────────────────────────────────────────────────

  /**
   * Publishes a message. Resolves when the QoS flow completes: QoS 0 when written to the
   * connection, QoS 1 on PUBACK, QoS 2 on PUBCOMP. While disconnected the message waits in
   * the offline queue (bounded; see `offlineQueue`). Rejects with a typed error, and sends
   * nothing, for an invalid topic, QoS or size.
   */
  publish(
    topic: string,
    payload: string | Uint8Array,
    options: PublishOptions = {},
  ): Promise<void> {
    let checked: CheckedPublish;
    try {
      if (this.#ended) throw closedError();
      checked = checkPublish(topic, payload, options, this.#version);
      checkPublishRules(
        this.#options.profile,
        topic,
        checked.payload,
        checked.qos,
        checked.retain,
        this.#session.clientId,
      );
      // Resolving on "stored" lets a caller run ahead of the broker: bound it like the
      // offline queue, connected or not.
      this.#session.admit(
        checked.payload.byteLength,
        checked.resolveOn === 'stored',
        this.#beforeOpen,
      );
    } catch (error) {
      return Promise.reject(error);
    }
    const { payload: bytes, qos, retain, resolveOn, properties } = checked;
    // The wall clock at acceptance carries a Message Expiry across a restart (file store).
    const extras = properties === undefined ? undefined : { properties, epochMs: Date.now() };
    if (qos > 0 && resolveOn === 'stored') {
      return this.#publishStored(topic, bytes, qos, retain, extras);
    }
    // The path of every message: no executor closure, one op object.
    const promise = new Promise<void>(captureSettlers);
    const resolve = capturedResolve!;
    const reject = capturedReject!;
    capturedResolve = undefined;
    capturedReject = undefined;
    const op: Settleable<void> =
      qos === 0 ? new WrittenOp(this.#writer, this.#metrics, resolve, reject) : { resolve, reject };
    try {
      // Once the store is open (nearly always) no closure is made per message: the closures
      // of the rare paths live in methods of their own, so this one needs no context.
      if (this.#beforeOpen.open) {
        this.#session.publish(topic, bytes, qos, retain, op, now(), extras);
      } else {
        this.#publishBeforeOpen(topic, bytes, qos, retain, op, reject, extras);
      }
    } catch (error) {
      // As a promise executor would: what throws rejects.
      reject(error as Error);
    }
    return promise;
  }

  /** A publish accepted before the store has opened: it runs once the store has. */
  #publishBeforeOpen(
    topic: string,
    bytes: Uint8Array,
    qos: QoS,
    retain: boolean,
    op: Settleable<void>,
    reject: (error: Error) => void,
    extras: PublishExtras | undefined,
  ): void {
    this.#beforeOpen.run(
      () => this.#session.publish(topic, bytes, qos, retain, op, now(), extras),
      reject,
      bytes.byteLength,
      qos === 0,
    );
  }

  /**
   * A QoS 1/2 publish that resolves once the store has it (`resolveOn: 'stored'`): settled by
   * the store flush; what happens after is reported as a drop.
   */
  #publishStored(
    topic: string,
    bytes: Uint8Array,
    qos: QoS,
    retain: boolean,
    extras: PublishExtras | undefined,
  ): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      let stored = false;
      const op: Settleable<void> = {
        resolve: () => undefined,
        reject: (error) => {
          if (!stored) reject(error);
          else if (!(error instanceof ClientClosedError && this.#store.durable)) {
            this.#reportDropped('out', topic, qos, error);
          }
        },
      };
      const run = (): void => {
        this.#session.publish(topic, bytes, qos, retain, op, now(), extras);
        this.#store.flush().then(
          () => {
            stored = true;
            resolve();
          },
          (error: unknown) => reject(storeFailure('flush', error)),
        );
      };
      this.#beforeOpen.run(run, reject, bytes.byteLength);
    });
  }

  /**
   * Subscribes to one or more filters. Resolves with a {@link Subscription} once the broker
   * answered; `granted` tells, per filter, the QoS granted or, where it refused, 0x80 (3.1.1)
   * or the 5.0 reason code (≥ 0x80).
   * While disconnected the SUBSCRIBE is sent on the next connection.
   *
   * Delivery is flow-controlled: a QoS 1/2 message is acknowledged to the broker only when
   * the reader has taken it (`ack: 'auto'`) or acked it (`ack: 'manual'`), and a reader that
   * falls `subscriptionBufferSize` messages behind pauses reading from the connection. No
   * QoS 1/2 message is ever dropped; a QoS 0 message that finds the buffer full is, and each
   * drop is reported through the `dropped` event and counted.
   *
   * MQTT 5.0: `noLocal`, `retainAsPublished`, `retainHandling` and `userProperties` are sent
   * with the filters (refused on 3.1/3.1.1). Each call gets a Subscription Identifier, and a
   * message goes to the subscriptions whose identifiers it carries [MQTT-3.3.4-4/5], not to
   * every subscription whose filter matches its topic.
   */
  subscribe(
    filter: string | readonly string[] | readonly FilterRequest[],
    options: SubscribeOptions & { readonly ack: 'manual' },
  ): Promise<Subscription<AckableMessage>>;
  subscribe(
    filter: string | readonly string[] | readonly FilterRequest[],
    options?: SubscribeOptions,
  ): Promise<Subscription>;
  async subscribe(
    filter: string | readonly string[] | readonly FilterRequest[],
    options: SubscribeOptions = {},
  ): Promise<Subscription<Message | AckableMessage>> {
    if (this.#ended) throw closedError();
    const {
      filters: list,
      manual,
      userProperties,
    } = checkSubscribe(filter, options, this.#version);
    checkSubscribeRules(this.#options.profile, list, this.#session.clientId);
    // MQTT 5.0: one Subscription Identifier per call routes each message to exactly the
    // subscriptions the broker matched (see subscriptions.ts).
    const subscriptionIdentifier = this.#version === 5 ? this.#subscriptions.nextId() : undefined;
    // Listen before the SUBACK: retained messages may follow it at once.
    const subscription = this.#subscriptions.create(
      list.map((e) => e.topic),
      manual,
      subscriptionIdentifier,
    );
    let codes: readonly number[];
    try {
      // A platform with a limit of filters per SUBSCRIBE (AWS IoT: 8) gets several packets,
      // sent in order; their SUBACK codes are joined in the same order. All of them carry
      // this call's Subscription Identifier, so its messages route to this subscription.
      const properties = {
        ...(subscriptionIdentifier === undefined ? {} : { subscriptionIdentifier }),
        ...(userProperties === undefined ? {} : { userProperties }),
      };
      const parts = await Promise.all(
        splitFilters(this.#options.profile, list).map(
          (part) =>
            new Promise<readonly number[]>((resolve, reject) =>
              this.#beforeOpen.run(
                () => this.#session.subscribe(part, { resolve, reject }, now(), properties),
                reject,
                0,
              ),
            ),
        ),
      );
      codes = parts.flat();
    } catch (error) {
      void this.#subscriptions.failed(subscription).catch(() => undefined);
      throw error;
    }
    subscription.granted = codes.map((code) => code as Granted);
    codes.forEach((code, i) => {
      if (code >= 0x80) this.#subscriptions.refused(list[i]!.topic, subscription);
    });
    return subscription;
  }

  /**
   * Unsubscribes filters; every subscription left with no filter ends. Resolves on UNSUBACK.
   */
  async unsubscribe(filter: string | readonly string[]): Promise<void> {
    if (this.#ended) throw closedError();
    const topics = checkUnsubscribe(filter);
    this.#subscriptions.forget(topics);
    await new Promise<void>((resolve, reject) =>
      this.#beforeOpen.run(
        () => this.#session.unsubscribe(topics, { resolve, reject }, now()),
        reject,
        0,
      ),
    );
  }

  /**
   * MQTT 5.0 request/response: publishes `payload` to `topic` with a Response Topic and a
   * Correlation Data of its own, and resolves with the response carrying that Correlation
   * Data. The client subscribes once to its response topic (before the first request goes
   * out): `options.responseTopic`, or one built from the CONNACK's Response Information
   * (`requestResponseInformation: true`), or `<clientId>/responses`.
   *
   * @throws {@link InvalidOptionError} on MQTT 3.1/3.1.1 (no properties to carry it), or for
   * a bad option; {@link QueueFullError} with `maxPendingRequests` requests waiting
   * @returns rejects with {@link RequestTimeoutError} after `timeoutMs` (default 30 s)
   */
  request(topic: string, payload: string | Uint8Array, options?: RequestOptions): Promise<Message> {
    if (this.#ended) return Promise.reject(closedError());
    try {
      return this.#requests.request(topic, payload, options);
    } catch (error) {
      return Promise.reject(error);
    }
  }

  /**
   * MQTT 5.0 request/response, the answering side: subscribes to `filter` and answers each
   * request with what `handler` returns, published to the request's Response Topic with its
   * Correlation Data. Requests are handled one at a time, in order, unless
   * `options.concurrency` allows more at once. A handler that throws
   * sends nothing; the failure is reported by the `responderror` event and counted
   * (`Responder.failed`), and the responder goes on. A message without a Response Topic is
   * counted (`Responder.skipped`). Resolves once the subscription is acknowledged.
   *
   * @throws {@link InvalidOptionError} on MQTT 3.1/3.1.1, or for a bad option
   */
  respond(
    filter: string,
    handler: (request: Message) => ResponseReply | Promise<ResponseReply>,
    options?: RespondOptions,
  ): Promise<Responder> {
    if (this.#ended) return Promise.reject(closedError());
    return this.#requests.respond(filter, handler, options);
  }

  /**
   * Replaces the Will from the next connection attempt on (the broker keeps the current
   * connection's). Validated as the `will` option is; `undefined` removes it. For protocols
   * whose Will changes with each connection, e.g. Sparkplug B's NDEATH with its `bdSeq`: call
   * it when `state` turns `connecting`, which comes before the CONNECT is written.
   * @throws {@link InvalidOptionError} naming the field
   */
  setWill(will: WillOptions | undefined): void {
    const version = this.#options.autoVersion ? 'auto' : this.#options.protocolVersion;
    this.#session.setWill(will === undefined ? undefined : resolveWill(will, version));
  }

  /**
   * MQTT 5.0 re-authentication (§4.12.1): sends AUTH 0x19 with the authenticator's
   * `reauthenticate()` data on the open connection, answers each AUTH 0x18 through its
   * `challenge()`, and resolves once the server's AUTH 0x00 verified (`success()`). Publishing
   * and receiving go on meanwhile. A call while one is in progress returns the same promise.
   *
   * Rejects with an {@link AuthenticationError} when the exchange fails (a step throws, the
   * server's data does not verify, the server refuses with DISCONNECT 0x87/0x8C, it asks for
   * more than `MAX_AUTH_ROUNDS` rounds, or it does not finish within `connectTimeoutMs`);
   * the connection is then closed [MQTT-4.12.1-2] and the client reconnects, authenticating
   * afresh, after `reconnect.refusedDelayMs`.
   *
   * @throws {@link InvalidOptionError} (`authenticator`) when no authenticator is configured:
   *   a client whose CONNECT carried no Authentication Method must not send AUTH
   *   [MQTT-4.12.0-7]
   * @throws {@link AuthenticationError} when not connected
   */
  reauthenticate(): Promise<void> {
    const auth = this.#auth;
    if (auth === undefined) {
      return Promise.reject(
        new InvalidOptionError(
          'authenticator',
          'is not set: re-authentication needs the method the CONNECT used [MQTT-4.12.0-7]',
        ),
      );
    }
    if (this.#ended) return Promise.reject(closedError());
    if (this.#state.current.status !== 'connected' || this.#link === undefined) {
      return Promise.reject(
        new AuthenticationError(
          auth.method,
          `cannot re-authenticate while ${this.#state.current.status}: it needs an accepted connection [MQTT-4.12.1-1]`,
        ),
      );
    }
    const done = auth.reauthenticate();
    this.#writer.uncork();
    return done;
  }

  /**
   * Ends the current connection with a DISCONNECT (the broker discards its Will) and connects
   * again as after a lost connection: the same backoff and failover, a new CONNECT with the
   * Will of {@link setWill}. For protocols above MQTT that must start a new session on a
   * signal of their own: a Sparkplug B edge node whose primary host application went offline
   * disconnects and connects again. Does nothing unless connected; `reconnect: false` makes
   * the client close instead, as on any lost connection.
   */
  reconnect(): void {
    const link = this.#link;
    if (this.#ended || link === undefined || this.#state.current.status !== 'connected') return;
    this.#session.disconnect(now());
    this.#writer.uncork();
    link.stream.end();
    // Torn down on this side (byServer false): our own drop says nothing about a poison
    // message.
    link.close(ConnectionLostError.failed(link.display, false, new Error('reconnect requested')));
  }

  /**
   * Resolves when every message accepted so far has completed its flow (and, with a durable
   * store, every state change is on disk): the moment a device may power off.
   */
  async flush(): Promise<void> {
    if (this.#ended && this.#state.current.status === 'closed') throw closedError();
    if (!this.#session.idle || !this.#beforeOpen.open) {
      await new Promise<void>((resolve, reject) => this.#idleWaiters.push({ resolve, reject }));
    }
    await this.#store.flush();
  }

  /**
   * Ends the client: waits (up to `timeoutMs`) for in-flight messages, sends DISCONNECT
   * (so the broker discards the Will, unless MQTT 5.0's `reasonCode: 0x04` asks for it),
   * closes the connection and the store. Operations still
   * pending reject with `CLIENT_CLOSED`; QoS 1/2 messages stay in a durable store and are
   * resent by the next client with the same store and `clean: false`.
   */
  async end(options: EndOptions = {}): Promise<void> {
    // Checked first: a bad option leaves the client running.
    const checked = checkEnd(
      options,
      this.#version,
      this.#options.connectProperties?.sessionExpiryIntervalSec ?? 0,
    );
    if (this.#ended) {
      if (this.#state.current.status !== 'closed') await this.#state.waitFor('closed');
      await this.#storeClosed;
      return;
    }
    this.#ended = true;
    this.#wait?.wake();
    const link = this.#link;
    if (link !== undefined && this.#state.current.status === 'connected') {
      this.#state.set({ status: 'disconnecting' });
      if (!checked.force && !this.#session.idle) {
        const timeoutMs = checked.timeoutMs;
        let timer: ReturnType<typeof setTimeout> | undefined;
        await Promise.race([
          new Promise<void>((resolve, reject) => this.#idleWaiters.push({ resolve, reject })).catch(
            () => undefined,
          ),
          new Promise<void>((resolve) => {
            timer = setTimeout(resolve, timeoutMs);
          }),
          link.closed,
        ]);
        clearTimeout(timer);
      }
      if (this.#link === link) {
        this.#session.disconnect(now(), checked.disconnect);
        await this.#writer.release();
        this.#writer.uncork();
        link.stream.end();
        link.close(closedError());
      }
    } else {
      this.#state.set({ status: 'disconnecting' });
      link?.close(closedError());
    }
    await this.#state.waitFor('closed');
    // The store is released too: a new client (or process) may open the same directory.
    await this.#storeClosed;
  }

  // ─── connection loop ────────────────────────────────────────────────────────────────

  async #run(): Promise<void> {
    let snapshot: StoreSnapshot;
    try {
      snapshot = await this.#store.open();
    } catch (error) {
      this.#finish(storeFailure('open', error));
      return;
    }
    this.#sessionMayExist = sessionMayExist(
      snapshot.session,
      this.#options.clientId,
      this.#options.clean,
      Date.now(),
    );
    if (this.#options.clean) {
      // [MQTT-3.1.2-6] A clean session starts from nothing, on our side too.
      this.#store.clear();
    } else {
      this.#session.restore(snapshot, now(), Date.now());
      // New Subscription Identifiers must not reuse those the broker may still hold.
      this.#subscriptions.restoreIds(
        snapshot.subscriptions.map((s) => ({
          filter: s.filter,
          ...(s.subscriptionIdentifier === undefined ? {} : { id: s.subscriptionIdentifier }),
        })),
      );
    }
    // Operations made while the store opened, in the order they were made, after the
    // restored state: their sequence numbers follow the restored messages'.
    this.#beforeOpen.release();
    startTicks(this.#tickPeriodMs, this.#host);

    let serverIndex = 0;
    /** MQTT 5.0: the server the last one sent us to (0x9C / 0x9D), for one attempt. */
    let referred: ServerOptions | undefined;
    while (!this.#ended) {
      const server = referred ?? this.#options.servers[serverIndex]!;
      referred = undefined;
      // 'auto': 5.0 unless this server refused it before (remembered for the client's life).
      this.#version = this.#versions.versionFor(server.url);
      this.#session.setProtocolVersion(this.#version);
      this.#state.set({
        status: 'connecting',
        server: redactUrl(server.url),
        sessionPresent: false,
      });
      let error: MqttError;
      let acceptedAt: number | undefined;
      this.#metrics.connectAttempts++;
      try {
        const link = await this.#open(server);
        // Accepted is not yet stable: the backoff restarts only if the link lasts.
        acceptedAt = now();
        this.#schedule?.connected(acceptedAt);
        error = await link.closed;
      } catch (e) {
        error = asMqttError(e, redactUrl(server.url), acceptedAt === undefined);
      }
      const lostAt = now();
      const renewing = this.#renewal.connectionLost();
      // Renewing credentials is no failure: the last error stays the last real one.
      if (!renewing) {
        this.#metrics.lastError = { name: error.name, message: error.message, at: Date.now() };
      }
      this.#metrics.pingSentAt = -1;
      this.#link = undefined;
      this.#authHold = false;
      this.#auth?.connectionLost(error);
      this.#subscriptions.connectionLost();
      this.#session.connectionLost();
      this.#writer.detach();
      // The broker's Session Expiry Interval counts from now [MQTT-3.1.2-23].
      if (acceptedAt !== undefined) this.#sessionRecord.ended(Date.now());
      if (acceptedAt !== undefined && !renewing) this.#trackPoison(error, lostAt - acceptedAt);
      if (this.#ended) break;
      // Ended on purpose for fresh credentials: no failure, no wait, the same server.
      if (renewing) continue;
      // 'auto': a server that refused 5.0 told us which version it speaks. Try 3.1.1 at once.
      if (acceptedAt === undefined && this.#versions.refused(server.url, this.#version, error)) {
        continue;
      }
      if (this.#schedule === undefined) {
        this.#finish(error);
        return;
      }
      // Bad credentials are not fixed by reconnecting fast: a refused or failed
      // authentication waits refusedDelayMs and keeps the backoff at its maximum.
      const next = this.#schedule.failed(
        lostAt,
        (error instanceof ConnectionRefusedError && error.permanent) ||
          error instanceof AuthenticationError,
      );
      serverIndex = next.serverIndex;
      if (error instanceof ConnectionRefusedError || error instanceof ServerDisconnectError) {
        referred = referencedServer(
          error instanceof ConnectionRefusedError ? error.returnCode : error.reasonCode,
          error.serverReference,
          server,
        );
      }
      this.#state.set({
        status: 'reconnect-wait',
        lastError: error,
        retryInMs: next.delayMs,
        server: redactUrl((referred ?? this.#options.servers[serverIndex]!).url),
      });
      await new Promise<void>((wake) => {
        const timer = setTimeout(wake, next.delayMs);
        this.#wait = { timer, wake };
      });
      if (this.#wait !== undefined) clearTimeout(this.#wait.timer);
      this.#wait = undefined;
    }
    this.#finish(undefined);
  }

  /** Opens the transport, sends CONNECT, and resolves once CONNACK accepted the session. */
  async #open(server: ServerOptions): Promise<Connection> {
    // Evaluated at each attempt: a token provider gives a fresh token every time.
    const credential =
      server.password === undefined
        ? undefined
        : await resolvePassword(server.password, 'password', Date.now());
    const link = await Connection.open(
      server,
      { ...this.#options, protocolVersion: this.#version },
      this.#host,
    );
    if (this.#ended) {
      link.close(closedError());
      throw closedError();
    }
    this.#link = link;
    this.#writer.attach(link.stream);
    // MQTT 5.0 enhanced authentication: the method and first data go in the CONNECT.
    const authentication = this.#version === 5 ? this.#auth?.start() : undefined;
    this.#session.connectionOpened(
      now(),
      {
        ...(server.username === undefined ? {} : { username: server.username }),
        ...(credential === undefined ? {} : { password: toBytes(credential.password) }),
        ...authentication,
      },
      link.display,
    );
    await link.handshake;
    this.#renewal.start(credential?.times, {
      current: () =>
        !this.#ended && this.#link === link && this.#state.current.status === 'connected',
      // A DISCONNECT (the broker discards the Will), then at once a CONNECT with the
      // provider's new password. The session goes on: what is in flight is resent
      // [MQTT-4.4.0-1] (with `clean: false` the broker keeps its side too), what is queued
      // waits in the offline queue for the new connection.
      end: () => {
        this.#session.disconnect(now());
        this.#writer.uncork();
        link.stream.end();
        link.close(
          ConnectionLostError.failed(link.display, false, new Error('renewing credentials')),
        );
      },
    });
    return link;
  }

  /** A packet from the broker; returns false to stop reading (a reader is behind). */
  #receive(packet: Packet, bytes: number): boolean {
    // One clock read per packet: it is on the path of every message.
    const at = now();
    this.#packets.received(packet, bytes, at);
    // AUTH packets, and a CONNACK to verify first, are the authentication's (auth-exchange.ts).
    const unsolicited =
      this.#auth === undefined && this.#link !== undefined
        ? unsolicitedAuth(packet, this.#link.display)
        : undefined;
    if (unsolicited !== undefined) {
      this.#send({ type: 'disconnect', reasonCode: 0x82 });
      this.#writer.uncork();
      this.#link?.close(unsolicited);
      return false;
    }
    if (this.#auth?.receive(packet) !== true) {
      // The session checks the handshake too: CONNACK first, return code 0 (#onConnected).
      this.#session.receive(packet, at);
      this.#checkIdle();
    }
    return !this.#subscriptions.readPaused && !this.#authHold;
  }

  /** The session accepted the CONNACK and resent what was in flight. */
  #onConnected(connack: ConnackPacket): void {
    this.#responseInformation = connack.properties?.responseInformation;
    this.#link?.accepted();
    this.#metrics.connects++;
    const o = this.#options;
    this.#sessionRecord.connected(
      this.#session.clientId,
      expiryInForce(this.#version, o.clean, o.connectProperties?.sessionExpiryIntervalSec, connack),
    );
    this.#state.set({ status: 'connected', sessionPresent: connack.sessionPresent });
    this.#checkIdle();
    // Readers still behind from the last connection: do not read this one either.
    this.#subscriptions.applyBackpressure();
  }

  #finish(error: MqttError | undefined): void {
    this.#renewal.stop();
    this.#ended = true;
    stopTicks(this.#tickPeriodMs, this.#host);
    const closed = closedError();
    this.#beforeOpen.rejectAll(error ?? closed);
    this.#session.abandon(error ?? closed);
    for (const waiter of this.#idleWaiters) waiter.reject(error ?? closed);
    this.#idleWaiters = [];
    this.#requestsImpl?.rejectAll(error ?? closed);
    this.#subscriptions.endAll();
    this.#storeClosed = this.#store.close().catch(() => undefined);
    this.#state.set({ status: 'closed', ...(error === undefined ? {} : { lastError: error }) });
    this.#writer.drained();
  }

  /**
   * Feeds the session's poison-message detection when an accepted connection is lost: it
   * counts only when the server closed it before it proved stable.
   */
  #trackPoison(error: MqttError, upMs: number): void {
    const reconnect = this.#options.reconnect;
    if (reconnect === false) return;
    const early =
      error instanceof ConnectionLostError && error.byServer && upMs < reconnect.stableAfterMs;
    const { poisonThreshold, poisonWindowMs } = reconnect;
    if (
      this.#session.connectionKilled(early, poisonThreshold, now(), poisonWindowMs) !== undefined
    ) {
      this.#checkIdle();
    }
  }

  /** The period of this client's ticks on the shared interval (see ticker.ts). */
  get #tickPeriodMs(): number {
    return Math.min(1000, Math.max(50, this.#options.keepaliveSec * 250));
  }

  static {
    // Inside the class body, so its methods reach the client's private members.
    ClientHost = class implements ClientHostShape {
      readonly #client: Client;
      constructor(client: Client) {
        this.#client = client;
      }
      // SessionHost
      send(packet: Packet): void {
        this.#client.#send(packet);
      }
      deliver(message: PublishPacket, ack: InboundAck | undefined): void {
        this.#client.#subscriptions.deliver(message, ack);
      }
      drop(error: MqttError): void {
        // What the session wrote last (a 5.0 DISCONNECT with its reason) goes out first.
        this.#client.#writer.uncork();
        this.#client.#link?.close(error);
      }
      failed(topic: string, qos: QoS, error: MqttError): void {
        this.#client.#reportDropped('out', topic, qos, error);
      }
      connected(connack: ConnackPacket): void {
        this.#client.#onConnected(connack);
      }
      // SubscriptionsHost
      get session(): Session {
        return this.#client.#session;
      }
      get bufferSize(): number {
        return this.#client.#options.subscriptionBufferSize;
      }
      stream(): ByteStream | undefined {
        return this.#client.#link?.stream;
      }
      ended(): boolean {
        return this.#client.#ended;
      }
      listening(): boolean {
        return this.#client.#events.listenerCount('message') > 0;
      }
      emitMessage(message: Message): void {
        this.#client.#events.emit('message', message);
      }
      dropped(topic: string, qos: QoS, error: MqttError): void {
        this.#client.#reportDropped('in', topic, qos, error);
      }
      // ConnectionEvents
      packet(packet: Packet, bytes: number): boolean {
        return this.#client.#receive(packet, bytes);
      }
      drain(): void {
        this.#client.#writer.drained();
      }
      // StateListener
      stateChanged(state: ClientState): void {
        const events = this.#client.#events;
        if (events.listenerCount('state') > 0) events.emit('state', state);
      }
      // WriteAheadOwner
      storeFailed(error: MqttError): void {
        this.#client.#link?.close(error);
      }
      // Tickable
      tick(): void {
        this.#client.#session.tick(now());
      }
    };
  }

  // ─── output and reports ─────────────────────────────────────────────────────────────────────────

  #send(packet: Packet): void {
    if (this.#link === undefined) return;
    const forbidden = forbiddenPacket(this.#options.profile, packet);
    if (forbidden !== undefined) {
      // The platform disconnects on this packet: end the connection ourselves, with why.
      this.#link.close(forbidden);
      return;
    }
    this.#packets.sending(packet);
    const bytes = encode(packet, this.#version);
    this.#packets.sent(packet, bytes.byteLength);
    this.#writer.send(bytes);
  }

  #reportDropped(direction: 'in' | 'out', topic: string, qos: QoS, error: Error): void {
    this.#metrics.dropped++;
    if (qos === 0 && direction === 'in') this.#metrics.droppedQos0In++;
    if (this.#events.listenerCount('dropped') === 0) return;
    const reason = asMqttError(error, 'the client');
    this.#events.emit('dropped', { direction, topic, qos, error: reason });
  }

  #checkIdle(): void {
    if (this.#idleWaiters.length === 0 || !this.#session.idle) return;
    const waiters = this.#idleWaiters;
    this.#idleWaiters = [];
    for (const waiter of waiters) waiter.resolve();
  }
}

/**
 * Creates a client and starts connecting in the background. It keeps retrying with backoff
 * (unless `reconnect: false`); publishes made meanwhile wait in the offline queue.
 */
export function createClient(server: string | ServerOptions, options?: ClientOptions): Client {
  return new Client(resolveOptions(server, options));
}

/**
 * Creates a client and waits for its first connection. Rejects with the typed error of the
 * first failed attempt (and ends the client), e.g. a `ConnectionRefusedError` or a TLS error.
 */
export async function connect(
  server: string | ServerOptions,
  options?: ClientOptions,
): Promise<Client> {
  const client = createClient(server, options);
  for await (const state of client.states()) {
    if (state.status === 'connected') return client;
    if (state.status === 'reconnect-wait' || state.status === 'closed') {
      await client.end({ force: true });
      throw state.lastError ?? closedError();
    }
  }
  throw closedError();
}
