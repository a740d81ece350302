/**
 * The device agent: one configuration, one MQTT client, the I/O driver, the topic table and
 * the Redis bridge, with an observable state.
 *
 * Built to be driven by the command line today and by the web console later: `snapshot()`
 * gives the state at a glance, `events()` streams every change, and `applyConfig()` validates
 * a new configuration and restarts on it, or leaves the running one untouched when it is
 * invalid.
 *
 * @module
 */

import { isDeepStrictEqual } from 'node:util';
import {
  type Client,
  type ClientOptions,
  type ClientState,
  createClient,
  type Subscription,
} from 'courier-mqtt';
import type { Logger } from 'pino';
import { resolveClientOptions } from '../config/client-options.js';
import { ConfigError, type ConfigIssue } from '../config/errors.js';
import type { AgentConfig } from '../config/schema.js';
import { parseConfig, resolveChannel } from '../config/validate.js';
import { AgentError, AgentErrorCode } from '../errors.js';
import type { ChannelValue } from '../formats/types.js';
import { type ChannelInfo, type IoDriver, isOutput } from '../sources/channels.js';
import type { Publisher } from '../sources/publisher.js';
import { RedisBridge, type SignalState } from '../sources/redis-bridge.js';
import { SimulatedDriver } from '../sources/simulated.js';
import { type AgentEvent, CLIP_CHARS, clipText, EventFanout, ModuleState } from './events.js';
import { type IntervalScheduler, type RowState, TopicTable } from './topic-table.js';

/** Counters since the agent was created (they survive `applyConfig`). */
export interface AgentCounts {
  /** Messages handed to the MQTT client and completed (topic table and Redis). */
  readonly published: number;
  /** Valid payloads applied to outputs. */
  readonly received: number;
  /** Payloads or Redis messages refused. */
  readonly rejected: number;
  /** Values not sent because of a threshold. */
  readonly suppressed: number;
  /** Publishes that failed. */
  readonly publishFailed: number;
}

/** Everything the console and `courier` show about the agent. */
export interface AgentSnapshot {
  readonly device: string;
  readonly moduleState: ModuleState;
  /** URL of the server in use (or being tried). */
  readonly server: string;
  /** When `moduleState` last changed, Unix epoch ms. */
  readonly since: number;
  readonly lastError:
    | { readonly message: string; readonly code?: string; readonly at: number }
    | undefined;
  readonly counts: AgentCounts;
  readonly channels: readonly (ChannelInfo & { readonly value: ChannelValue | undefined })[];
  readonly rows: readonly RowState[];
  readonly redis:
    | {
        readonly url: string;
        readonly connected: boolean;
        readonly lastError: string | undefined;
        readonly signals: readonly SignalState[];
      }
    | undefined;
}

/** What {@link Agent.applyConfig} did. */
export type ApplyResult =
  | { readonly ok: true; readonly applied: 'reconnected' | 'updated' | 'unchanged' }
  | { readonly ok: false; readonly issues: readonly ConfigIssue[] };

/** Sections whose change needs a new connection or a new I/O module. */
const RESTART_SECTIONS = ['connection', 'login', 'security', 'lwt', 'reconnect', 'backup'] as const;

function needsRestart(a: AgentConfig, b: AgentConfig): boolean {
  if (RESTART_SECTIONS.some((key) => !isDeepStrictEqual(a[key], b[key]))) return true;
  const { name: _a, ...deviceA } = a.device;
  const { name: _b, ...deviceB } = b.device;
  return !isDeepStrictEqual(deviceA, deviceB);
}

/** Publishes through `client`: how the table and the bridge reach MQTT. */
function publisherOf(client: Client): Publisher {
  return { publish: (topic, payload, opts) => client.publish(topic, payload, opts) };
}

/** Options of an {@link Agent}. */
export interface AgentOptions {
  /** The I/O driver; default: built from `config.device` (the simulated module). */
  readonly driver?: IoDriver;
  /** Where log lines go; default: none. */
  readonly logger?: Logger;
  /** The topic table's publish timers; default Node's `setInterval`. For tests. */
  readonly scheduler?: IntervalScheduler;
  /** Creates the MQTT client; default `createClient` of courier-mqtt. For tests. */
  readonly createClient?: (url: string, options: ClientOptions) => Client;
  /** Directory certificate paths are relative to (the config file's). @default process.cwd() */
  readonly baseDir?: string;
}

const STATE_OF: Record<ClientState['status'], ModuleState> = {
  connecting: ModuleState.CONNECT_PND,
  // LucidIoT shows CONNECT_PND while the server is unreachable: waiting to retry is pending too.
  'reconnect-wait': ModuleState.CONNECT_PND,
  connected: ModuleState.CONNECTED,
  disconnecting: ModuleState.DISCONNECTING,
  closed: ModuleState.DISCONNECTED,
};

/** `event` with its payload and reason cut to {@link clipText}'s length. */
function clipEvent(event: AgentEvent): AgentEvent {
  const { payload, reason } = event as { payload?: unknown; reason?: unknown };
  const long = (v: unknown) => typeof v === 'string' && v.length > CLIP_CHARS;
  if (!long(payload) && !long(reason)) return event;
  const clipped: Record<string, unknown> = { ...event };
  if (typeof clipped.payload === 'string') clipped.payload = clipText(clipped.payload);
  if (typeof clipped.reason === 'string') clipped.reason = clipText(clipped.reason);
  return clipped as AgentEvent;
}

/** The device agent. */
export class Agent {
  #config: AgentConfig;
  readonly #options: AgentOptions;
  readonly #log: Logger | undefined;
  // Not an EventEmitter: an event of type 'error' must not throw when nobody listens.
  readonly #listeners = new Map<string, Set<(event: AgentEvent) => void>>();
  readonly #fanout = new EventFanout<AgentEvent>();
  #driver: IoDriver | undefined;
  #ownDriver = false;
  #client: Client | undefined;
  #table: TopicTable | undefined;
  #bridge: RedisBridge | undefined;
  #channels = new Map<number, ChannelInfo>();
  readonly #values = new Map<number, ChannelValue>();
  #unsubscribeDriver: (() => void) | undefined;
  #state: ModuleState = ModuleState.IDLE;
  #server = '';
  #since = Date.now();
  #lastError: AgentSnapshot['lastError'];
  #running = false;
  #subscribed = false;
  #subscription: Subscription | undefined;
  #counts = { published: 0, received: 0, rejected: 0, suppressed: 0, publishFailed: 0 };

  /**
   * @param config a configuration validated by `parseConfig` / `loadConfig`
   */
  constructor(config: AgentConfig, options: AgentOptions = {}) {
    this.#config = config;
    this.#options = options;
    this.#log = options.logger;
  }

  /** The configuration in force. */
  get config(): AgentConfig {
    return this.#config;
  }

  /** The I/O driver (after `start()`). */
  get driver(): IoDriver | undefined {
    return this.#driver;
  }

  /** The MQTT client (after `start()`), e.g. to print its packets. */
  get client(): Client | undefined {
    return this.#client;
  }

  /** The module state. */
  get state(): ModuleState {
    return this.#state;
  }

  /** Listens to every event (`'event'`) or to one type of event. */
  on(type: 'event' | AgentEvent['type'], listener: (event: AgentEvent) => void): this {
    const set = this.#listeners.get(type) ?? new Set();
    set.add(listener);
    this.#listeners.set(type, set);
    return this;
  }

  /** Removes a listener added with {@link Agent.on}. */
  off(type: 'event' | AgentEvent['type'], listener: (event: AgentEvent) => void): this {
    this.#listeners.get(type)?.delete(listener);
    return this;
  }

  /** Every event from now on, as an async iterator (ends when the agent stops for good). */
  events(): AsyncIterableIterator<AgentEvent> {
    return this.#fanout.iterate();
  }

  /**
   * Starts everything. Certificate files are read first: if one is missing nothing starts and
   * a {@link ConfigError} is thrown. The connection itself is made in the background (the
   * module state goes to CONNECT_PND, then CONNECTED).
   * @throws {ConfigError} when a certificate or key file cannot be read
   * @throws {AgentError} when already running
   */
  async start(): Promise<void> {
    if (this.#running) throw new AgentError(AgentErrorCode.STATE, 'the agent is already running');
    const config = this.#config;
    const { url, options } = await resolveClientOptions(config, this.#options.baseDir);
    this.#running = true;
    this.#subscribed = false;
    try {
      await this.#startParts(config, url, options);
    } catch (error) {
      // Nothing half-starts: undo whatever did start, then report.
      await this.stop();
      throw error;
    }
  }

  async #startParts(config: AgentConfig, url: string, options: ClientOptions): Promise<void> {
    this.#channels = new Map(config.device.channels.map((c) => [c.id, resolveChannel(c)]));
    if (this.#options.driver !== undefined) {
      this.#driver = this.#options.driver;
      this.#ownDriver = false;
    } else {
      this.#driver = new SimulatedDriver({
        channels: [...this.#channels.values()],
        ...(config.device.seed === undefined ? {} : { seed: config.device.seed }),
        stepMs: config.device.stepMs,
      });
      this.#ownDriver = true;
    }
    const driver = this.#driver;
    this.#unsubscribeDriver = driver.onChange((change) => {
      this.#values.set(change.id, change.value);
      this.#emit({ type: 'channel', id: change.id, value: change.value, at: change.ts });
    });
    for (const id of this.#channels.keys()) {
      try {
        this.#values.set(id, await driver.read(id));
      } catch (error) {
        this.#emit({ type: 'error', message: (error as Error).message, at: Date.now() });
      }
    }
    await driver.start();

    const make = this.#options.createClient ?? createClient;
    const client = make(url, options);
    this.#client = client;
    this.#server = url;
    const table = this.#newTable(config, driver, client);
    this.#table = table;
    client.on('state', (s: ClientState) => this.#onClientState(s));
    this.#setState(STATE_OF[client.state.status], client.state.server || url);
    table.start();
    await this.#startBridge(config, client);
    this.#log?.info(
      { server: url, rows: config.topics.length, channels: this.#channels.size },
      'agent started',
    );
  }

  /**
   * Stops everything: timers, Redis, then a clean DISCONNECT after in-flight messages complete
   * (bounded by `timeoutMs`), then the driver.
   */
  async stop(timeoutMs = 5000): Promise<void> {
    if (!this.#running) return;
    this.#running = false;
    this.#table?.stop();
    this.#subscription = undefined;
    await this.#bridge?.stop();
    this.#bridge = undefined;
    const client = this.#client;
    if (client !== undefined) {
      this.#setState(ModuleState.DISCONNECTING, this.#server);
      try {
        await client.end({ timeoutMs });
      } catch (error) {
        this.#log?.warn({ err: error }, 'MQTT client did not close cleanly');
      }
    }
    this.#unsubscribeDriver?.();
    if (this.#ownDriver) await this.#driver?.close();
    this.#setState(ModuleState.DISCONNECTED, this.#server);
    this.#log?.info('agent stopped');
  }

  /** Stops for good and ends every `events()` iterator. */
  async close(timeoutMs = 5000): Promise<void> {
    await this.stop(timeoutMs);
    this.#fanout.close();
  }

  /**
   * Validates `raw` and, if it is valid, applies it without restarting the process: a change
   * of the topic table, the limits or the Redis bridge is swapped in on the same MQTT
   * connection (`'updated'`); a change of what the connection or the I/O module is made of
   * (`connection`, `login`, `security`, `lwt`, `reconnect`, `backup`, `device` but its name)
   * restarts the agent, which reconnects (`'reconnected'`). An invalid configuration changes
   * nothing: the running agent keeps its configuration.
   */
  async applyConfig(raw: unknown): Promise<ApplyResult> {
    const checked = await this.checkConfig(raw);
    if (!checked.ok) return checked;
    return { ok: true, applied: await this.applyChecked(checked.config) };
  }

  /**
   * Applies a configuration that {@link Agent.checkConfig} accepted, as
   * {@link Agent.applyConfig} does, without checking it again: for a caller that must do
   * something between the check and the change (the console saves the file first).
   */
  async applyChecked(config: AgentConfig): Promise<'reconnected' | 'updated' | 'unchanged'> {
    const old = this.#config;
    if (isDeepStrictEqual(old, config)) return 'unchanged';
    const wasRunning = this.#running;
    let applied: 'reconnected' | 'updated' = 'updated';
    if (!wasRunning) {
      this.#config = config;
    } else if (needsRestart(old, config)) {
      await this.stop();
      this.#config = config;
      await this.start();
      applied = 'reconnected';
    } else {
      this.#config = config;
      if (!isDeepStrictEqual(old.topics, config.topics)) await this.#swapTable(config);
      if (!isDeepStrictEqual(old.redis, config.redis)) await this.#swapBridge(config);
    }
    this.#log?.info({ applied }, 'configuration applied');
    this.#emit({ type: 'config-applied', at: Date.now() });
    return applied;
  }

  /**
   * Validates `raw` as {@link Agent.applyConfig} does (schema, cross-field checks, certificate
   * files readable) without applying it.
   */
  async checkConfig(
    raw: unknown,
  ): Promise<{ ok: true; config: AgentConfig } | { ok: false; issues: readonly ConfigIssue[] }> {
    try {
      const config = parseConfig(raw);
      await resolveClientOptions(config, this.#options.baseDir);
      return { ok: true, config };
    } catch (error) {
      if (error instanceof ConfigError) return { ok: false, issues: error.issues };
      throw error;
    }
  }

  /** The topic table of `config`, publishing through `client`. */
  #newTable(config: AgentConfig, driver: IoDriver, client: Client): TopicTable {
    return new TopicTable({
      rows: config.topics,
      channels: this.#channels,
      driver,
      publisher: publisherOf(client),
      emit: (e) => this.#emit(e),
      ...(this.#options.scheduler === undefined ? {} : { scheduler: this.#options.scheduler }),
    });
  }

  /** Starts the Redis bridge of `config` when it is enabled. */
  async #startBridge(config: AgentConfig, client: Client): Promise<void> {
    if (!config.redis.enabled) return;
    this.#bridge = new RedisBridge({
      config: config.redis,
      publisher: publisherOf(client),
      emit: (e) => this.#emit(e),
    });
    await this.#bridge.start();
  }

  /** Replaces the topic table on the running connection, re-subscribing what changed. */
  async #swapTable(config: AgentConfig): Promise<void> {
    const old = this.#table;
    const driver = this.#driver;
    const client = this.#client;
    if (old === undefined || driver === undefined || client === undefined) return;
    const before = JSON.stringify(old.subscriptions());
    old.stop();
    const table = this.#newTable(config, driver, client);
    this.#table = table;
    table.start();
    if (JSON.stringify(table.subscriptions()) === before) return;
    const sub = this.#subscription;
    this.#subscription = undefined;
    if (sub !== undefined) {
      try {
        await sub.unsubscribe();
      } catch (error) {
        this.#emit({
          type: 'error',
          message: `unsubscribe failed: ${(error as Error).message}`,
          at: Date.now(),
        });
      }
    }
    if (this.#state === ModuleState.CONNECTED) {
      this.#subscribed = true;
      await this.#subscribe();
    } else {
      // Subscribed on the next CONNACK.
      this.#subscribed = false;
    }
  }

  async #swapBridge(config: AgentConfig): Promise<void> {
    await this.#bridge?.stop();
    this.#bridge = undefined;
    if (this.#client !== undefined) await this.#startBridge(config, this.#client);
  }

  /** Writes an output channel, as a subscribe row would. */
  async setOutput(id: number, value: ChannelValue): Promise<void> {
    const channel = this.#channels.get(id);
    const driver = this.#driver;
    if (channel === undefined)
      throw new AgentError(AgentErrorCode.CHANNEL, `there is no channel ${id}`);
    if (!isOutput(channel.type))
      throw new AgentError(AgentErrorCode.CHANNEL, `channel ${id} (${channel.name}) is an input`);
    if (driver === undefined || !this.#running)
      throw new AgentError(AgentErrorCode.STATE, 'the agent is not running');
    await driver.write(id, value);
  }

  /**
   * Resolves when the module state is CONNECTED.
   * @throws {AgentError} after `timeoutMs`
   */
  whenConnected(timeoutMs = 30000): Promise<void> {
    if (this.#state === ModuleState.CONNECTED) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.off('state', onState);
        reject(
          new AgentError(
            AgentErrorCode.STATE,
            `not connected after ${timeoutMs} ms (${this.#state})`,
          ),
        );
      }, timeoutMs);
      const onState = (e: AgentEvent) => {
        if (e.type === 'state' && e.state === ModuleState.CONNECTED) {
          clearTimeout(timer);
          this.off('state', onState);
          resolve();
        }
      };
      this.on('state', onState);
    });
  }

  /** Resolves when the Redis subscription is made (at once when there is no bridge). */
  async whenRedisSubscribed(): Promise<void> {
    await this.#bridge?.whenSubscribed();
  }

  /** The state at a glance. */
  snapshot(): AgentSnapshot {
    const bridge = this.#bridge;
    return {
      device: this.#config.device.name,
      moduleState: this.#state,
      server: this.#server,
      since: this.#since,
      lastError: this.#lastError,
      counts: { ...this.#counts },
      channels: [...this.#channels.values()].map((c) => ({ ...c, value: this.#values.get(c.id) })),
      rows: this.#table?.rows() ?? [],
      redis:
        bridge === undefined
          ? undefined
          : {
              url: this.#config.redis.url,
              connected: bridge.connected,
              lastError: bridge.lastError,
              signals: bridge.mapping.signals(),
            },
    };
  }

  #onClientState(s: ClientState): void {
    const state = STATE_OF[s.status];
    if (s.lastError !== undefined && s.status !== 'connected') {
      this.#lastError = { message: s.lastError.message, code: s.lastError.code, at: s.since };
    }
    if (state === this.#state && s.server === this.#server) return;
    this.#setState(
      state,
      s.server || this.#server,
      s.status === 'connected' ? undefined : s.lastError?.message,
    );
    if (s.status === 'connected' && !this.#subscribed) {
      this.#subscribed = true;
      void this.#subscribe();
    }
  }

  /**
   * Subscribes the subscribe rows, once, on the first connection. Even when the server kept a
   * session the SUBSCRIBE is sent: it replaces the stored one [MQTT-3.8.4-3] and gives the
   * client the local subscription messages are delivered to. After a reconnect to a server
   * that lost the session [MQTT-3.1.2-6], the client itself subscribes again.
   */
  async #subscribe(): Promise<void> {
    const client = this.#client;
    const table = this.#table;
    if (client === undefined || table === undefined) return;
    const filters = table.subscriptions();
    if (filters.length === 0) return;
    try {
      const sub = await client.subscribe(filters);
      this.#subscription = sub;
      // Messages are applied one after another, in the order they arrived, by the table in
      // force (a configuration change may swap it); the iterator ends when the client does.
      void (async () => {
        for await (const m of sub) await (this.#table ?? table).handleMessage(m.topic, m.payload);
      })().catch((error: unknown) => {
        this.#emit({
          type: 'error',
          message: `subscription ended: ${(error as Error).message}`,
          at: Date.now(),
        });
      });
      sub.granted.forEach((granted, i) => {
        if (granted === 0x80) {
          this.#emit({
            type: 'error',
            message: `the server refused the subscription to ${filters[i]?.topic}`,
            code: 'SUBSCRIBE_FAILED',
            at: Date.now(),
          });
        }
      });
    } catch (error) {
      // E.g. the connection dropped before the SUBACK: try again on the next connection.
      this.#subscribed = false;
      this.#emit({
        type: 'error',
        message: `subscribe failed: ${(error as Error).message}`,
        at: Date.now(),
      });
    }
  }

  #setState(state: ModuleState, server: string, error?: string): void {
    if (state === this.#state && server === this.#server) return;
    this.#state = state;
    this.#server = server;
    this.#since = Date.now();
    this.#emit({
      type: 'state',
      state,
      server,
      ...(error === undefined ? {} : { error }),
      at: this.#since,
    });
  }

  #emit(full: AgentEvent): void {
    const event = clipEvent(full);
    switch (event.type) {
      case 'published':
        this.#counts.published++;
        this.#log?.debug({ topic: event.topic, payload: event.payload }, 'published');
        break;
      case 'received':
        this.#counts.received++;
        this.#log?.info(
          { topic: event.topic, payload: event.payload, row: event.row },
          'output set',
        );
        break;
      case 'rejected':
        this.#counts.rejected++;
        this.#log?.warn(
          { topic: event.topic, payload: event.payload, reason: event.reason },
          'payload rejected',
        );
        break;
      case 'suppressed':
        this.#counts.suppressed++;
        break;
      case 'publish-failed':
        this.#counts.publishFailed++;
        this.#lastError = { message: event.reason, at: event.at };
        this.#log?.warn({ topic: event.topic, reason: event.reason }, 'publish failed');
        break;
      case 'error':
        this.#lastError = {
          message: event.message,
          ...(event.code === undefined ? {} : { code: event.code }),
          at: event.at,
        };
        this.#log?.warn({ code: event.code }, event.message);
        break;
      case 'state':
        this.#log?.info(
          { server: event.server, error: event.error },
          `module state ${event.state}`,
        );
        break;
      default:
        break;
    }
    this.#fanout.push(event);
    for (const type of [event.type, 'event']) {
      for (const listener of this.#listeners.get(type) ?? []) {
        try {
          listener(event);
        } catch (error) {
          this.#log?.error({ err: error }, 'agent event listener threw');
        }
      }
    }
  }
}
