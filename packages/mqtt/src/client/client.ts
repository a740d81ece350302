/**
 * The public MQTT client: glues the sans-I/O session to a transport and a store, and owns
 * reconnect, backoff, failover and the observable connection state.
 *
 * One connection state, not flags:
 *
 * ```
 *              createClient()
 *                    │
 *                    ▼      transport up + CONNACK 0
 *   ┌────────► connecting ─────────────────────────► connected
 *   │                │ failure (network, TLS,             │ connection lost
 *   │  wait over     │ refused, timeout)                  │ (close, error, keep-alive)
 *   │                ▼                                    │
 *   └──────── reconnect-wait ◄────────────────────────────┘
 *                    │ end() from any state; or reconnect: false after a failure
 *                    ▼
 *             disconnecting ──► closed
 * ```
 *
 * @module
 */

import { EventEmitter } from 'node:events';
import type { Duplex } from 'node:stream';
import {
  ConnectionLostError,
  MessageDroppedError,
  MqttError,
  MqttErrorCode,
  PacketTooLargeError,
} from '../errors.js';
import { encode, Parser } from '../packet/index.js';
import type { ConnackPacket, Packet, PublishPacket, QoS } from '../packet/types.js';
import { ReconnectSchedule } from '../session/backoff.js';
import { type InboundAck, Session, type Settleable } from '../session/session.js';
import { memoryStore } from '../store/memory.js';
import type { StoreSnapshot } from '../store/types.js';
import { TopicTrie, validateTopicFilter, validateTopicName } from '../topic/index.js';
import { openTransport, parseServerUrl, redactUrl, tlsError } from '../transport/index.js';
import { ConnectionRefusedError } from './errors.js';
import {
  type ClientOptions,
  type ResolvedOptions,
  resolveOptions,
  resolveWill,
  type ServerOptions,
  toBytes,
  type WillOptions,
} from './options.js';
import {
  type AckableMessage,
  type AckToken,
  AsyncQueue,
  type Granted,
  type Message,
  type Subscription,
  SubscriptionImpl,
} from './subscription.js';
import { TrackedStore } from './tracked-store.js';

/** Where the client is. */
export type ConnectionStatus =
  | 'connecting'
  | 'connected'
  | 'reconnect-wait'
  | 'disconnecting'
  | 'closed';

/** The observable connection state. */
export interface ClientState {
  readonly status: ConnectionStatus;
  /** The server in use or being tried, as a URL without credentials. */
  readonly server: string;
  /** Whether the broker resumed a stored session on the current connection. */
  readonly sessionPresent: boolean;
  /** Why the last connection or attempt failed, if one did. */
  readonly lastError?: MqttError;
  /** When this state began, epoch milliseconds. */
  readonly since: number;
  /** When in `reconnect-wait`: how long the wait is, in milliseconds. */
  readonly retryInMs?: number;
}

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
}

/** A filter with its requested QoS. */
export interface FilterRequest {
  readonly topic: string;
  readonly qos: QoS;
}

interface ClientEvents {
  message: [Message];
  dropped: [DroppedMessage];
  state: [ClientState];
  packetsend: [Packet];
  packetreceive: [Packet];
}

const MAX_REMAINING_LENGTH = 268_435_455;
const textEncoder = new TextEncoder();
const now = (): number => performance.now();

function closedError(): MqttError {
  return new MqttError(MqttErrorCode.CLIENT_CLOSED, 'the client was ended');
}

function asMqttError(error: unknown, server: string): MqttError {
  if (error instanceof MqttError) return error;
  const message = error instanceof Error ? error.message : String(error);
  return new MqttError(
    MqttErrorCode.CONNECTION_LOST,
    `connection to ${server} failed: ${message}`,
    {
      cause: error,
    },
  );
}

/** One open transport connection and its parser. */
interface Link {
  readonly stream: Duplex;
  readonly parser: Parser;
  readonly server: ServerOptions;
  /** Settles once: the link is gone, with why. */
  readonly closed: Promise<MqttError>;
  close(error: MqttError): void;
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
  readonly #events = new EventEmitter<ClientEvents>();
  readonly #stateQueues = new Set<AsyncQueue<ClientState>>();
  readonly #trie = new TopicTrie<SubscriptionImpl>();
  /** Filter → the subscriptions listening on it. */
  readonly #filterRefs = new Map<string, Set<SubscriptionImpl>>();
  /** Filter → QoS the broker must know about (re-subscribed when it lost our session). */
  readonly #knownFilters = new Map<string, QoS>();
  #state: ClientState;
  #link: Link | undefined;
  #ended = false;
  #ticker: ReturnType<typeof setInterval> | undefined;
  #wait: { timer: ReturnType<typeof setTimeout>; wake: () => void } | undefined;
  #idleWaiters: Settleable<void>[] = [];
  /** Encoded packets held back until the store's pending mutations are durable. */
  #held: Uint8Array[] | undefined;
  #flushing = false;
  #corked = false;
  #drainWaiters: (() => void)[] = [];
  /** Subscriptions at their high-water mark: while any is, the connection is not read. */
  readonly #full = new Set<SubscriptionImpl>();
  #readPaused = false;
  #droppedCount = 0;
  /**
   * Operations accepted before the store has opened (a file store opens asynchronously):
   * they run, in order, once the store's state is restored.
   */
  #beforeOpen:
    | { run: () => void; reject: (error: Error) => void; bytes: number; qos0: boolean }[]
    | undefined = [];
  #beforeOpenBytes = 0;

  /** @internal Use {@link createClient} or {@link connect}. */
  constructor(options: ResolvedOptions) {
    this.#options = options;
    this.#store = new TrackedStore(options.store ?? memoryStore());
    this.#session = new Session(
      {
        protocolVersion: options.protocolVersion,
        clientId: options.clientId,
        clean: options.clean,
        keepaliveSec: options.keepaliveSec,
        pingTimeoutMs: options.pingTimeoutMs,
        maxInflight: options.maxInflight,
        ...(options.will === undefined ? {} : { will: options.will }),
      },
      {
        send: (packet) => this.#send(packet),
        deliver: (message, ack) => this.#deliver(message, ack),
        drop: (error) => this.#link?.close(error),
        failed: (topic, qos, error) => this.#reportDropped('out', topic, qos, error),
      },
      this.#store,
    );
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
        Math.random,
      );
    }
    this.#state = {
      status: 'connecting',
      server: redactUrl(options.servers[0]!.url),
      sessionPresent: false,
      since: Date.now(),
    };
    void this.#run();
  }

  /** The current connection state. */
  get state(): ClientState {
    return this.#state;
  }

  /** The client identifier sent in CONNECT. */
  get clientId(): string {
    return this.#options.clientId;
  }

  /** Outgoing messages accepted and not yet completed (queued or in flight). */
  get pendingCount(): number {
    return (
      this.#session.queuedCount + this.#session.inflightCount + (this.#beforeOpen?.length ?? 0)
    );
  }

  /** Messages given up so far (each also reported by the `dropped` event). */
  get droppedCount(): number {
    return this.#droppedCount;
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
  /** Every packet written (CONNECT without its password), for debugging tools. */
  on(event: 'packetsend' | 'packetreceive', listener: (packet: Packet) => void): this;
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
    const queue = new AsyncQueue<ClientState>(1000);
    queue.push(this.#state);
    if (this.#state.status === 'closed') queue.end();
    else this.#stateQueues.add(queue);
    return queue;
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
    const qos = options.qos ?? 0;
    const retain = options.retain ?? false;
    const resolveOn = options.resolveOn ?? 'completed';
    let bytes: Uint8Array;
    try {
      if (this.#ended) throw closedError();
      validateTopicName(topic);
      if (qos !== 0 && qos !== 1 && qos !== 2) {
        throw new MqttError(
          MqttErrorCode.INVALID_OPTION,
          `qos: must be 0, 1 or 2, got ${JSON.stringify(qos)}`,
        );
      }
      if (resolveOn !== 'completed' && resolveOn !== 'stored') {
        throw new MqttError(
          MqttErrorCode.INVALID_OPTION,
          `resolveOn: must be 'completed' or 'stored', got ${JSON.stringify(resolveOn)}`,
        );
      }
      bytes = toBytes(payload);
      // A UTF-8 topic is at most 3 bytes per UTF-16 unit: measure exactly only near the limit.
      const fixed = 2 + (qos > 0 ? 2 : 0) + bytes.byteLength;
      if (fixed + 3 * topic.length > MAX_REMAINING_LENGTH) {
        const size = fixed + textEncoder.encode(topic).byteLength;
        if (size > MAX_REMAINING_LENGTH) {
          throw new PacketTooLargeError(size + 5, MAX_REMAINING_LENGTH + 5);
        }
      }
      // Resolving on "stored" lets a caller run ahead of the broker: bound it like the
      // offline queue, connected or not.
      this.#admit(bytes.byteLength, resolveOn === 'stored');
    } catch (error) {
      return Promise.reject(error);
    }
    return new Promise<void>((resolve, reject) => {
      let op: Settleable<void>;
      if (qos === 0) op = { resolve: () => this.#afterDrain(resolve), reject };
      else if (resolveOn === 'completed') op = { resolve, reject };
      else {
        // Settled by the store flush below; what happens after is reported as a drop.
        let stored = false;
        op = {
          resolve: () => undefined,
          reject: (error) => {
            if (!stored) reject(error);
            else if (
              !(
                error instanceof MqttError &&
                error.code === MqttErrorCode.CLIENT_CLOSED &&
                this.#store.durable
              )
            ) {
              this.#reportDropped('out', topic, qos, error);
            }
          },
        };
        const run = (): void => {
          this.#session.publish(topic, bytes, qos, retain, op, now());
          this.#store.flush().then(
            () => {
              stored = true;
              resolve();
            },
            (error: unknown) => reject(asMqttError(error, 'the session store')),
          );
        };
        this.#whenOpen(run, reject, bytes.byteLength);
        return;
      }
      this.#whenOpen(
        () => this.#session.publish(topic, bytes, qos, retain, op, now()),
        reject,
        bytes.byteLength,
        qos === 0,
      );
    });
  }

  /**
   * Subscribes to one or more filters. Resolves with a {@link Subscription} once the broker
   * answered; `granted` tells, per filter, the QoS granted or 0x80 where it refused.
   * While disconnected the SUBSCRIBE is sent on the next connection.
   *
   * Delivery is flow-controlled: a QoS 1/2 message is acknowledged to the broker only when
   * the reader has taken it (`ack: 'auto'`) or acked it (`ack: 'manual'`), and a reader that
   * falls `subscriptionBufferSize` messages behind pauses reading from the connection. No
   * QoS 1/2 message is ever dropped; a QoS 0 message that finds the buffer full is, and each
   * drop is reported through the `dropped` event and counted.
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
    const defaultQos = options.qos ?? 0;
    const ack = options.ack ?? 'auto';
    if (ack !== 'auto' && ack !== 'manual') {
      throw new MqttError(
        MqttErrorCode.INVALID_OPTION,
        `ack: must be 'auto' or 'manual', got ${JSON.stringify(ack)}`,
      );
    }
    const list: FilterRequest[] = (typeof filter === 'string' ? [filter] : [...filter]).map(
      (f): FilterRequest => (typeof f === 'string' ? { topic: f, qos: defaultQos } : f),
    );
    if (list.length === 0) {
      throw new MqttError(
        MqttErrorCode.INVALID_OPTION,
        'filter: at least one topic filter is required [MQTT-3.8.3-3]',
      );
    }
    for (const entry of list) {
      validateTopicFilter(entry.topic);
      if (entry.qos !== 0 && entry.qos !== 1 && entry.qos !== 2) {
        throw new MqttError(
          MqttErrorCode.INVALID_OPTION,
          `qos: must be 0, 1 or 2, got ${JSON.stringify(entry.qos)} for ${JSON.stringify(entry.topic)}`,
        );
      }
    }
    const subscription = new SubscriptionImpl(
      list.map((e) => e.topic),
      this.#options.subscriptionBufferSize,
      ack === 'manual',
      this.#subscriptionHost,
    );
    // Listen before the SUBACK: retained messages may follow it at once.
    for (const entry of list) this.#listen(entry.topic, subscription);
    let codes: readonly number[];
    try {
      codes = await new Promise<readonly number[]>((resolve, reject) =>
        this.#whenOpen(() => this.#session.subscribe(list, { resolve, reject }, now()), reject, 0),
      );
    } catch (error) {
      void this.#unsubscribeOf(subscription).catch(() => undefined);
      throw error;
    }
    subscription.granted = codes.map((code) => code as Granted);
    codes.forEach((code, i) => {
      const entry = list[i]!;
      // Only acknowledged filters are restored after a reconnect; a SUBSCRIBE still pending
      // when the link drops is sent again by the session itself.
      if (code !== 0x80) this.#knownFilters.set(entry.topic, entry.qos);
      else this.#unlisten(entry.topic, subscription);
    });
    return subscription;
  }

  /**
   * Unsubscribes filters; every subscription left with no filter ends. Resolves on UNSUBACK.
   */
  async unsubscribe(filter: string | readonly string[]): Promise<void> {
    if (this.#ended) throw closedError();
    const topics = typeof filter === 'string' ? [filter] : [...filter];
    for (const topic of topics) validateTopicFilter(topic);
    for (const topic of topics) {
      for (const subscription of [...(this.#filterRefs.get(topic) ?? [])]) {
        this.#unlisten(topic, subscription);
        subscription.dropFilter(topic);
      }
      this.#knownFilters.delete(topic);
    }
    await new Promise<void>((resolve, reject) =>
      this.#whenOpen(
        () => this.#session.unsubscribe(topics, { resolve, reject }, now()),
        reject,
        0,
      ),
    );
  }

  /**
   * Replaces the Will from the next connection attempt on (the broker keeps the current
   * connection's). Validated as the `will` option is; `undefined` removes it. For protocols
   * whose Will changes with each connection, e.g. Sparkplug B's NDEATH with its `bdSeq`: call
   * it when `state` turns `connecting`, which comes before the CONNECT is written.
   * @throws {@link InvalidOptionError} naming the field
   */
  setWill(will: WillOptions | undefined): void {
    this.#session.setWill(will === undefined ? undefined : resolveWill(will));
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
    if (this.#ended || link === undefined || this.#state.status !== 'connected') return;
    this.#session.disconnect(now());
    this.#uncork();
    link.stream.end();
    // Not a ConnectionLostError: our own drop says nothing about a poison message.
    link.close(new MqttError(MqttErrorCode.CONNECTION_LOST, 'reconnect requested'));
  }

  /**
   * Resolves when every message accepted so far has completed its flow (and, with a durable
   * store, every state change is on disk): the moment a device may power off.
   */
  async flush(): Promise<void> {
    if (this.#ended && this.#state.status === 'closed') throw closedError();
    if (!this.#session.idle || this.#beforeOpen !== undefined) {
      await new Promise<void>((resolve, reject) => this.#idleWaiters.push({ resolve, reject }));
    }
    await this.#store.flush();
  }

  /**
   * Ends the client: waits (up to `timeoutMs`) for in-flight messages, sends DISCONNECT
   * (so the broker discards the Will), closes the connection and the store. Operations still
   * pending reject with `CLIENT_CLOSED`; QoS 1/2 messages stay in a durable store and are
   * resent by the next client with the same store and `clean: false`.
   */
  async end(options: EndOptions = {}): Promise<void> {
    if (this.#ended) {
      if (this.#state.status !== 'closed') await this.#waitFor('closed');
      return;
    }
    this.#ended = true;
    this.#wait?.wake();
    const link = this.#link;
    if (link !== undefined && this.#state.status === 'connected') {
      this.#setState({ status: 'disconnecting' });
      if (options.force !== true && !this.#session.idle) {
        const timeoutMs = options.timeoutMs ?? 5000;
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
        this.#session.disconnect(now());
        await this.#releaseHeld();
        this.#uncork();
        link.stream.end();
        link.close(closedError());
      }
    } else {
      this.#setState({ status: 'disconnecting' });
      link?.close(closedError());
    }
    await this.#waitFor('closed');
  }

  // ─── connection loop ────────────────────────────────────────────────────────────────

  async #run(): Promise<void> {
    let snapshot: StoreSnapshot;
    try {
      snapshot = await this.#store.open();
    } catch (error) {
      this.#finish(asMqttError(error, 'the session store'));
      return;
    }
    if (this.#options.clean) {
      // [MQTT-3.1.2-6] A clean session starts from nothing, on our side too.
      this.#store.clear();
    } else {
      this.#session.restore(snapshot);
      for (const s of snapshot.subscriptions) this.#knownFilters.set(s.filter, s.qos);
    }
    // Operations made while the store opened, in the order they were made, after the
    // restored state: their sequence numbers follow the restored messages'.
    const early = this.#beforeOpen ?? [];
    this.#beforeOpen = undefined;
    this.#beforeOpenBytes = 0;
    for (const operation of early) operation.run();
    this.#ticker = setInterval(
      () => this.#session.tick(now()),
      Math.min(1000, Math.max(50, this.#options.keepaliveSec * 250)),
    );
    this.#ticker.unref();

    let serverIndex = 0;
    while (!this.#ended) {
      const server = this.#options.servers[serverIndex]!;
      this.#setState({
        status: 'connecting',
        server: redactUrl(server.url),
        sessionPresent: false,
      });
      let error: MqttError;
      let acceptedAt: number | undefined;
      try {
        const link = await this.#open(server);
        // Accepted is not yet stable: the backoff restarts only if the link lasts.
        acceptedAt = now();
        this.#schedule?.connected(acceptedAt);
        error = await link.closed;
      } catch (e) {
        error = asMqttError(e, redactUrl(server.url));
      }
      const lostAt = now();
      this.#link = undefined;
      this.#readPaused = false;
      this.#session.connectionLost();
      this.#dropHeld();
      if (acceptedAt !== undefined) this.#trackPoison(error, lostAt - acceptedAt);
      if (this.#ended) break;
      if (this.#schedule === undefined) {
        this.#finish(error);
        return;
      }
      const next = this.#schedule.failed(
        lostAt,
        error instanceof ConnectionRefusedError && error.permanent,
      );
      serverIndex = next.serverIndex;
      this.#setState({
        status: 'reconnect-wait',
        lastError: error,
        retryInMs: next.delayMs,
        server: redactUrl(this.#options.servers[serverIndex]!.url),
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
  async #open(server: ServerOptions): Promise<Link> {
    const url = parseServerUrl(server.url);
    const timeoutMs = this.#options.connectTimeoutMs;
    const started = now();
    const connection = await openTransport({
      protocol: url.protocol,
      host: url.host,
      port: url.port,
      path: server.wsPath ?? url.path,
      connectTimeoutMs: timeoutMs,
      ...(server.family === undefined ? {} : { family: server.family }),
      ...(server.tls === undefined ? {} : { tls: server.tls }),
      ...(server.psk === undefined ? {} : { psk: server.psk }),
    });
    const stream = connection.stream;
    const display = redactUrl(server.url);
    if (this.#ended) {
      stream.destroy();
      throw closedError();
    }
    let settleClosed!: (error: MqttError) => void;
    const closed = new Promise<MqttError>((resolve) => {
      settleClosed = resolve;
    });
    let isClosed = false;
    const link: Link = {
      stream,
      parser: new Parser({
        protocolVersion: this.#options.protocolVersion,
        maxPacketSize: this.#options.maxPacketSize,
      }),
      server,
      closed,
      close: (error) => {
        if (isClosed) return;
        isClosed = true;
        stream.destroy();
        settleClosed(error);
      },
    };
    this.#link = link;

    return new Promise<Link>((resolve, reject) => {
      let accepted = false;
      const timer = setTimeout(
        () =>
          link.close(
            new MqttError(
              MqttErrorCode.CONNECT_TIMEOUT,
              `no CONNACK from ${display} within ${timeoutMs} ms`,
            ),
          ),
        Math.max(1, timeoutMs - (now() - started)),
      );
      void closed.then((error) => {
        clearTimeout(timer);
        if (!accepted) reject(error);
      });
      // Returns false to stop parsing: a reader fell behind and reading is paused.
      const onPacket = (packet: Packet): boolean => {
        if (this.#events.listenerCount('packetreceive') > 0) {
          this.#events.emit('packetreceive', packet);
        }
        if (accepted) {
          this.#session.receive(packet, now());
          this.#checkIdle();
          return !this.#readPaused;
        }
        if (packet.type !== 'connack') {
          link.close(
            new MqttError(
              MqttErrorCode.PROTOCOL,
              `${display} sent ${packet.type.toUpperCase()} before CONNACK [MQTT-3.2.0-1]`,
            ),
          );
          return false;
        }
        clearTimeout(timer);
        if (packet.returnCode !== 0) {
          link.close(new ConnectionRefusedError(packet.returnCode, display));
          return false;
        }
        accepted = true;
        this.#onConnack(packet);
        resolve(link);
        return !this.#readPaused;
      };
      stream.on('data', (chunk: Buffer) => {
        try {
          const used = link.parser.push(chunk, onPacket);
          // Paused between two packets: the rest waits in the stream, read on resume.
          if (used < chunk.length && !isClosed) stream.unshift(chunk.subarray(used));
        } catch (error) {
          link.close(asMqttError(error, display));
        }
      });
      stream.on('error', (error: Error) => {
        // With TLS 1.3 the server judges our certificate after the handshake: its alert
        // arrives as a stream error, before CONNACK. Word it like a handshake failure.
        const code = (error as { code?: string }).code ?? '';
        link.close(
          code.startsWith('ERR_SSL')
            ? tlsError(error, display, server.tls?.servername ?? url.host)
            : code === 'ECONNRESET' || code === 'EPIPE'
              ? new ConnectionLostError(display, !accepted, true, error)
              : asMqttError(error, display),
        );
      });
      // Our own close() settles the link first, so a close seen here came from the other end.
      stream.on('close', () => link.close(new ConnectionLostError(display, !accepted, false)));
      stream.on('drain', () => this.#onDrain());
      this.#session.connectionOpened(now(), {
        ...(server.username === undefined ? {} : { username: server.username }),
        ...(server.password === undefined ? {} : { password: toBytes(server.password) }),
      });
    });
  }

  #onConnack(connack: ConnackPacket): void {
    if (!connack.sessionPresent && this.#knownFilters.size > 0) {
      // The broker holds no subscriptions for us: restore them (ours, and a restored store's).
      const list = [...this.#knownFilters].map(([topic, qos]) => ({ topic, qos }));
      this.#session.resubscribe(
        list,
        {
          resolve: (codes) =>
            codes.forEach((code, i) => {
              if (code === 0x80) this.#knownFilters.delete(list[i]!.topic);
            }),
          reject: () => undefined,
        },
        now(),
      );
    }
    this.#session.connectionAccepted(connack, now());
    this.#setState({ status: 'connected', sessionPresent: connack.sessionPresent });
    this.#checkIdle();
    // Readers still behind from the last connection: do not read this one either.
    this.#applyBackpressure();
  }

  #finish(error: MqttError | undefined): void {
    this.#ended = true;
    if (this.#ticker !== undefined) clearInterval(this.#ticker);
    const closed = closedError();
    const early = this.#beforeOpen ?? [];
    this.#beforeOpen = undefined;
    this.#beforeOpenBytes = 0;
    for (const operation of early) operation.reject(error ?? closed);
    this.#session.abandon(error ?? closed);
    for (const waiter of this.#idleWaiters) waiter.reject(error ?? closed);
    this.#idleWaiters = [];
    for (const refs of this.#filterRefs.values()) for (const s of refs) s.end();
    this.#full.clear();
    this.#filterRefs.clear();
    this.#trie.clear();
    void this.#store.close().catch(() => undefined);
    this.#setState({ status: 'closed', ...(error === undefined ? {} : { lastError: error }) });
    for (const queue of this.#stateQueues) queue.end();
    this.#stateQueues.clear();
    const drains = this.#drainWaiters;
    this.#drainWaiters = [];
    for (const wake of drains) wake();
  }

  /**
   * Feeds the session's poison-message detection when an accepted connection is lost: it
   * counts only when the server closed it before it proved stable.
   */
  #trackPoison(error: MqttError, upMs: number): void {
    const reconnect = this.#options.reconnect;
    if (reconnect === false) return;
    const early = error instanceof ConnectionLostError && upMs < reconnect.stableAfterMs;
    if (this.#session.connectionKilled(early, reconnect.poisonThreshold, now()) !== undefined) {
      this.#checkIdle();
    }
  }

  // ─── output ─────────────────────────────────────────────────────────────────────────

  #send(packet: Packet): void {
    const link = this.#link;
    if (link === undefined) return;
    if (this.#events.listenerCount('packetsend') > 0) {
      if (packet.type === 'connect' && packet.password !== undefined) {
        const { password: _secret, ...redacted } = packet;
        this.#events.emit('packetsend', redacted);
      } else {
        this.#events.emit('packetsend', packet);
      }
    }
    const bytes = encode(packet, this.#options.protocolVersion);
    // Write-ahead: when a durable store has mutations not yet on disk, the packet (and every
    // packet after it, to keep the order) waits for the flush that makes them durable. One
    // flush covers every packet held meanwhile: group commit.
    if (this.#held !== undefined || (this.#store.durable && this.#store.dirty)) {
      if (this.#held === undefined) this.#held = [bytes];
      else this.#held.push(bytes);
      this.#flushHeld();
      return;
    }
    this.#write(link.stream, bytes);
  }

  #write(stream: Duplex, bytes: Uint8Array): void {
    // Coalesce the writes of one tick into one writev.
    if (!this.#corked) {
      this.#corked = true;
      stream.cork();
      process.nextTick(() => this.#uncork());
    }
    stream.write(bytes);
  }

  #uncork(): void {
    if (!this.#corked) return;
    this.#corked = false;
    this.#link?.stream.uncork();
  }

  #flushHeld(): void {
    if (this.#flushing) return;
    this.#flushing = true;
    const count = this.#held?.length ?? 0;
    this.#store.dirty = false;
    this.#store.flush().then(
      () => {
        this.#flushing = false;
        const held = this.#held;
        const link = this.#link;
        if (held === undefined) return;
        const ready = held.splice(0, count);
        if (link !== undefined) for (const bytes of ready) this.#write(link.stream, bytes);
        if (held.length === 0) this.#held = undefined;
        else if (this.#store.dirty) this.#flushHeld();
        else {
          this.#held = undefined;
          if (link !== undefined) for (const bytes of held) this.#write(link.stream, bytes);
        }
      },
      (error: unknown) => {
        this.#flushing = false;
        // Durability cannot be promised: drop the connection; what was held is resent from
        // the session's state on the next connection.
        this.#held = undefined;
        this.#link?.close(asMqttError(error, 'the session store'));
      },
    );
  }

  /** Sends what is held at once (used by end(): DISCONNECT must follow the held packets). */
  async #releaseHeld(): Promise<void> {
    while (this.#held !== undefined && this.#link !== undefined) {
      await this.#store.flush().catch(() => undefined);
      await new Promise((resolve) => setImmediate(resolve));
    }
  }

  #dropHeld(): void {
    this.#held = undefined;
    this.#corked = false;
  }

  #afterDrain(resolve: () => void): void {
    // QoS 0 resolves when written; with a full socket buffer, when it drains (backpressure).
    const stream = this.#link?.stream;
    if (stream?.writableNeedDrain === true) this.#drainWaiters.push(resolve);
    else resolve();
  }

  #onDrain(): void {
    const waiters = this.#drainWaiters;
    this.#drainWaiters = [];
    for (const wake of waiters) wake();
  }

  // ─── input ──────────────────────────────────────────────────────────────────────────

  #deliver(packet: PublishPacket, ack: InboundAck | undefined): void {
    // A PublishPacket is a Message (and more): no copy per message.
    const message: Message = packet;
    const listening = this.#events.listenerCount('message') > 0;
    if (listening) this.#events.emit('message', message);
    let subscriptions = this.#trie.match(packet.topic);
    if (listening) subscriptions = subscriptions.filter((s) => s.wants(true));
    if (ack === undefined) {
      for (const subscription of subscriptions) subscription.push(message, undefined);
      return;
    }
    // QoS 1/2: PUBACK / PUBREC waits until every subscription the message went to let it go.
    if (subscriptions.length === 0) this.#session.acknowledge(ack, now());
    else if (subscriptions.length === 1) subscriptions[0]!.push(message, ack);
    else {
      const shared = { ack, holders: subscriptions.length };
      for (const subscription of subscriptions) subscription.push(message, shared);
    }
  }

  /** How subscriptions reach back into the client. */
  readonly #subscriptionHost = {
    release: (token: AckToken): void => {
      if ('holders' in token) {
        if (--token.holders > 0) return;
        this.#session.acknowledge(token.ack, now());
      } else {
        this.#session.acknowledge(token, now());
      }
    },
    pressure: (subscription: SubscriptionImpl, full: boolean): void => {
      if (full) this.#full.add(subscription);
      else this.#full.delete(subscription);
      this.#applyBackpressure();
    },
    dropped: (_subscription: SubscriptionImpl, message: Message): void => {
      this.#reportDropped(
        'in',
        message.topic,
        message.qos,
        new MessageDroppedError(
          message.topic,
          `a subscription's reader is ${this.#options.subscriptionBufferSize} messages behind (subscriptionBufferSize)`,
        ),
      );
    },
    unsubscribe: (subscription: SubscriptionImpl): Promise<void> =>
      this.#unsubscribeOf(subscription),
  };

  /**
   * Stops reading the connection while a subscription's reader is behind, and resumes when
   * every reader caught up: TCP back-pressure slows the broker instead of a buffer growing
   * or a message being dropped. The session is told, so that keep-alive does not take the
   * unread PINGRESP for a dead link.
   */
  #applyBackpressure(): void {
    const pause = this.#full.size > 0;
    const link = this.#link;
    if (pause === this.#readPaused || link === undefined) return;
    this.#readPaused = pause;
    this.#session.pauseReceive(pause, now());
    if (pause) link.stream.pause();
    else link.stream.resume();
  }

  #reportDropped(direction: 'in' | 'out', topic: string, qos: QoS, error: Error): void {
    this.#droppedCount++;
    if (this.#events.listenerCount('dropped') === 0) return;
    const reason = error instanceof MqttError ? error : asMqttError(error, 'the client');
    this.#events.emit('dropped', { direction, topic, qos, error: reason });
  }

  #checkIdle(): void {
    if (this.#idleWaiters.length === 0 || !this.#session.idle) return;
    const waiters = this.#idleWaiters;
    this.#idleWaiters = [];
    for (const waiter of waiters) waiter.resolve();
  }

  // ─── subscriptions ──────────────────────────────────────────────────────────────────

  #listen(topic: string, subscription: SubscriptionImpl): void {
    let refs = this.#filterRefs.get(topic);
    if (refs === undefined) {
      refs = new Set();
      this.#filterRefs.set(topic, refs);
    }
    refs.add(subscription);
    this.#trie.add(topic, subscription);
  }

  #unlisten(topic: string, subscription: SubscriptionImpl): void {
    this.#trie.remove(topic, subscription);
    const refs = this.#filterRefs.get(topic);
    refs?.delete(subscription);
    if (refs?.size === 0) this.#filterRefs.delete(topic);
  }

  /**
   * Ends a subscription, letting go of what it buffered or held; unsubscribes the filters no
   * other subscription uses.
   */
  async #unsubscribeOf(subscription: SubscriptionImpl): Promise<void> {
    const orphaned: string[] = [];
    for (const topic of subscription.filters) {
      if (!this.#filterRefs.get(topic)?.has(subscription)) continue;
      this.#unlisten(topic, subscription);
      if (!this.#filterRefs.has(topic)) {
        orphaned.push(topic);
        this.#knownFilters.delete(topic);
      }
    }
    subscription.discard();
    if (orphaned.length > 0 && !this.#ended) {
      await new Promise<void>((resolve, reject) =>
        this.#session.unsubscribe(orphaned, { resolve, reject }, now()),
      );
    }
  }

  // ─── state ──────────────────────────────────────────────────────────────────────────

  /**
   * Runs an operation now, or once the store has opened and restored the session (a file
   * store opens asynchronously; an operation made meanwhile must not reach it first).
   */
  #whenOpen(run: () => void, reject: (error: Error) => void, bytes: number, qos0 = false): void {
    if (this.#beforeOpen === undefined) run();
    else {
      this.#beforeOpen.push({ run, reject, bytes, qos0 });
      this.#beforeOpenBytes += bytes;
    }
  }

  /** Removes the oldest QoS 0 publish made before the store opened; its reject, if any. */
  #dropOldestEarlyQos0(): Settleable<void> | undefined {
    const early = this.#beforeOpen ?? [];
    const index = early.findIndex((e) => e.qos0);
    if (index < 0) return undefined;
    const [entry] = early.splice(index, 1);
    this.#beforeOpenBytes -= entry!.bytes;
    return { resolve: () => undefined, reject: entry!.reject };
  }

  #admit(payloadBytes: number, always: boolean): void {
    if (this.#state.status === 'connected' && !always) return;
    // The offline queue is bounded; a connected client's queue is paced by its own caller,
    // who holds one promise per message (unless it resolves on "stored").
    const q = this.#options.offlineQueue;
    const count = (): number => this.#session.queuedCount + (this.#beforeOpen?.length ?? 0);
    const bytes = (): number => this.#session.queuedBytes + this.#beforeOpenBytes;
    while (count() + 1 > q.maxMessages || bytes() + payloadBytes > q.maxBytes) {
      const dropped =
        q.policy === 'drop-oldest-qos0'
          ? (this.#session.dropOldestQueuedQos0() ?? this.#dropOldestEarlyQos0())
          : undefined;
      if (dropped === undefined) {
        throw new MqttError(
          MqttErrorCode.QUEUE_FULL,
          `offline queue full (${count()} messages, ${bytes()} bytes; limits ${q.maxMessages} messages, ${q.maxBytes} bytes)`,
        );
      }
      dropped.reject(
        new MqttError(
          MqttErrorCode.QUEUE_FULL,
          'dropped from the full offline queue to make room (policy drop-oldest-qos0)',
        ),
      );
    }
  }

  #setState(change: Partial<ClientState>): void {
    const previous = this.#state;
    const status = change.status ?? previous.status;
    const next: ClientState = {
      status,
      server: change.server ?? previous.server,
      sessionPresent:
        change.sessionPresent ?? (status === 'connected' ? previous.sessionPresent : false),
      since: Date.now(),
      ...((change.lastError ?? previous.lastError) === undefined
        ? {}
        : { lastError: (change.lastError ?? previous.lastError) as MqttError }),
      ...(change.retryInMs === undefined ? {} : { retryInMs: change.retryInMs }),
    };
    this.#state = next;
    for (const queue of this.#stateQueues) {
      if (queue.ended) this.#stateQueues.delete(queue);
      else queue.push(next);
    }
    if (this.#events.listenerCount('state') > 0) this.#events.emit('state', next);
  }

  #waitFor(status: ConnectionStatus): Promise<void> {
    if (this.#state.status === status) return Promise.resolve();
    return new Promise((resolve) => {
      const listener = (state: ClientState): void => {
        if (state.status !== status) return;
        this.#events.off('state', listener);
        resolve();
      };
      this.#events.on('state', listener);
    });
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
