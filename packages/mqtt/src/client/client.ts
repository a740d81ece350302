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
import { ConnectionLostError, MqttError, MqttErrorCode, PacketTooLargeError } from '../errors.js';
import { encode, Parser } from '../packet/index.js';
import type { ConnackPacket, Packet, PublishPacket, QoS } from '../packet/types.js';
import { ReconnectSchedule } from '../session/backoff.js';
import { Session, type Settleable } from '../session/session.js';
import { memoryStore } from '../store/memory.js';
import type { StoreSnapshot } from '../store/types.js';
import { TopicTrie, validateTopicFilter, validateTopicName } from '../topic/index.js';
import { openTransport, parseServerUrl, redactUrl, tlsError } from '../transport/index.js';
import { ConnectionRefusedError } from './errors.js';
import {
  type ClientOptions,
  type ResolvedOptions,
  resolveOptions,
  type ServerOptions,
  toBytes,
} from './options.js';
import { AsyncQueue, type Granted, type Message, type Subscription } from './subscription.js';
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
        deliver: (message) => this.#deliver(message),
        drop: (error) => this.#link?.close(error),
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
    return this.#session.queuedCount + this.#session.inflightCount;
  }

  // ─── events ─────────────────────────────────────────────────────────────────────────

  /** Every message received, before it is dispatched to matching subscriptions. */
  on(event: 'message', listener: (message: Message) => void): this;
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
      bytes = toBytes(payload);
      // A UTF-8 topic is at most 3 bytes per UTF-16 unit: measure exactly only near the limit.
      const fixed = 2 + (qos > 0 ? 2 : 0) + bytes.byteLength;
      if (fixed + 3 * topic.length > MAX_REMAINING_LENGTH) {
        const size = fixed + textEncoder.encode(topic).byteLength;
        if (size > MAX_REMAINING_LENGTH) {
          throw new PacketTooLargeError(size + 5, MAX_REMAINING_LENGTH + 5);
        }
      }
      this.#admit(bytes.byteLength);
    } catch (error) {
      return Promise.reject(error);
    }
    return new Promise<void>((resolve, reject) => {
      const op: Settleable<void> =
        qos === 0 ? { resolve: () => this.#afterDrain(resolve), reject } : { resolve, reject };
      this.#session.publish(topic, bytes, qos, retain, op, now());
    });
  }

  /**
   * Subscribes to one or more filters. Resolves with a {@link Subscription} once the broker
   * answered; `granted` tells, per filter, the QoS granted or 0x80 where it refused.
   * While disconnected the SUBSCRIBE is sent on the next connection.
   */
  async subscribe(
    filter: string | readonly string[] | readonly FilterRequest[],
    options: { readonly qos?: QoS } = {},
  ): Promise<Subscription> {
    if (this.#ended) throw closedError();
    const defaultQos = options.qos ?? 0;
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
      (s) => this.#release(s),
    );
    // Listen before the SUBACK: retained messages may follow it at once.
    for (const entry of list) this.#listen(entry.topic, subscription);
    let codes: readonly number[];
    try {
      codes = await new Promise<readonly number[]>((resolve, reject) =>
        this.#session.subscribe(list, { resolve, reject }, now()),
      );
    } catch (error) {
      this.#release(subscription);
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
      this.#session.unsubscribe(topics, { resolve, reject }, now()),
    );
  }

  /**
   * Resolves when every message accepted so far has completed its flow (and, with a durable
   * store, every state change is on disk): the moment a device may power off.
   */
  async flush(): Promise<void> {
    if (this.#ended && this.#state.status === 'closed') throw closedError();
    if (!this.#session.idle) {
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
      const onPacket = (packet: Packet): void => {
        if (this.#events.listenerCount('packetreceive') > 0) {
          this.#events.emit('packetreceive', packet);
        }
        if (accepted) {
          this.#session.receive(packet, now());
          this.#checkIdle();
          return;
        }
        if (packet.type !== 'connack') {
          link.close(
            new MqttError(
              MqttErrorCode.PROTOCOL,
              `${display} sent ${packet.type.toUpperCase()} before CONNACK [MQTT-3.2.0-1]`,
            ),
          );
          return;
        }
        clearTimeout(timer);
        if (packet.returnCode !== 0) {
          link.close(new ConnectionRefusedError(packet.returnCode, display));
          return;
        }
        accepted = true;
        this.#onConnack(packet);
        resolve(link);
      };
      stream.on('data', (chunk: Uint8Array) => {
        try {
          link.parser.push(chunk, onPacket);
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
  }

  #finish(error: MqttError | undefined): void {
    this.#ended = true;
    if (this.#ticker !== undefined) clearInterval(this.#ticker);
    const closed = closedError();
    this.#session.abandon(error ?? closed);
    for (const waiter of this.#idleWaiters) waiter.reject(error ?? closed);
    this.#idleWaiters = [];
    for (const refs of this.#filterRefs.values()) for (const s of refs) s.end();
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

  #deliver(packet: PublishPacket): void {
    // A PublishPacket is a Message (and more): no copy per message.
    const message: Message = packet;
    if (this.#events.listenerCount('message') > 0) this.#events.emit('message', message);
    for (const subscription of this.#trie.match(packet.topic)) subscription.push(message);
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

  /** Ends a subscription; unsubscribes the filters no other subscription uses. */
  async #release(subscription: SubscriptionImpl): Promise<void> {
    const orphaned: string[] = [];
    for (const topic of subscription.filters) {
      if (!this.#filterRefs.get(topic)?.has(subscription)) continue;
      this.#unlisten(topic, subscription);
      if (!this.#filterRefs.has(topic)) {
        orphaned.push(topic);
        this.#knownFilters.delete(topic);
      }
    }
    subscription.end();
    if (orphaned.length > 0 && !this.#ended) {
      await new Promise<void>((resolve, reject) =>
        this.#session.unsubscribe(orphaned, { resolve, reject }, now()),
      );
    }
  }

  // ─── state ──────────────────────────────────────────────────────────────────────────

  #admit(payloadBytes: number): void {
    if (this.#state.status === 'connected') return;
    // The offline queue is bounded; a connected client's queue is paced by its own caller,
    // who holds one promise per message.
    const q = this.#options.offlineQueue;
    const full = (): boolean =>
      this.#session.queuedCount + 1 > q.maxMessages ||
      this.#session.queuedBytes + payloadBytes > q.maxBytes;
    while (full()) {
      const dropped =
        q.policy === 'drop-oldest-qos0' ? this.#session.dropOldestQueuedQos0() : undefined;
      if (dropped === undefined) {
        throw new MqttError(
          MqttErrorCode.QUEUE_FULL,
          `offline queue full (${this.#session.queuedCount} messages, ${this.#session.queuedBytes} bytes; limits ${q.maxMessages} messages, ${q.maxBytes} bytes)`,
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

/** The {@link Subscription} of one `subscribe()` call. */
class SubscriptionImpl implements Subscription {
  readonly #queue: AsyncQueue<Message>;
  readonly #release: (s: SubscriptionImpl) => Promise<void>;
  #filters: string[];
  granted: readonly Granted[] = [];

  constructor(
    filters: string[],
    capacity: number,
    release: (s: SubscriptionImpl) => Promise<void>,
  ) {
    this.#filters = filters;
    this.#queue = new AsyncQueue(capacity);
    this.#release = release;
  }

  get filters(): readonly string[] {
    return this.#filters;
  }

  get dropped(): number {
    return this.#queue.dropped;
  }

  push(message: Message): void {
    this.#queue.push(message);
  }

  /** Forgets a filter removed by `client.unsubscribe`; ends when none is left. */
  dropFilter(topic: string): void {
    this.#filters = this.#filters.filter((f) => f !== topic);
    if (this.#filters.length === 0) this.#queue.end();
  }

  end(): void {
    this.#queue.end();
  }

  unsubscribe(): Promise<void> {
    return this.#release(this);
  }

  [Symbol.asyncIterator](): AsyncIterator<Message> {
    const queue = this.#queue;
    return {
      next: () => queue.next(),
      return: async () => {
        await this.unsubscribe().catch(() => undefined);
        return queue.return();
      },
    };
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
