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
import { AgentError, AgentErrorCode, StartError } from '../errors.js';
import type { ChannelValue } from '../formats/types.js';
import { HomeAssistantLink } from '../sinks/home-assistant.js';
import { MuranoLink, type MuranoStatus, resolveMurano } from '../sinks/murano.js';
import { BdSeqCounter, SparkplugNode } from '../sinks/sparkplug.js';
import {
  type ChannelInfo,
  type ChannelQuality,
  GOOD,
  type IoDriver,
  isOutput,
} from '../sources/channels.js';
import { createModbusDriver } from '../sources/modbus.js';
import type { Publisher } from '../sources/publisher.js';
import { RedisBridge, type SignalState } from '../sources/redis-bridge.js';
import { SimulatedDriver } from '../sources/simulated.js';
import { version } from '../version.js';
import { type AgentEvent, CLIP_CHARS, clipText, EventFanout, ModuleState } from './events.js';
import { OutageLog } from './outage-log.js';
import { type IntervalScheduler, type RowState, TopicTable } from './topic-table.js';

/** Counters since the agent was created (they survive `applyConfig`). */
export interface AgentCounts {
  /** Messages handed to the MQTT client and completed (topic table and Redis). */
  readonly published: number;
  /** Valid payloads applied to outputs, and commands written to Redis. */
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
  /** Each channel with its value and the value's quality (`good`, `stale`, `bad` + reason). */
  readonly channels: readonly (ChannelInfo & {
    readonly value: ChannelValue | undefined;
  } & ChannelQuality)[];
  readonly rows: readonly RowState[];
  readonly redis:
    | {
        readonly url: string;
        readonly connected: boolean;
        readonly lastError: string | undefined;
        readonly signals: readonly SignalState[];
      }
    | undefined;
  /** The Exosite Murano connector, when `murano.enabled` is on. */
  readonly murano: MuranoStatus | undefined;
  /** The cloud platform card of the console; undefined with `connection.profile: generic`. */
  readonly platform: PlatformState | undefined;
}

/**
 * What the console shows of the platform connection: never a secret, only whether one is
 * set, and the SAS token's expiry and next renewal (epoch ms) while a token is in use.
 */
export interface PlatformState {
  readonly profile: 'exosite' | 'aws-iot' | 'azure-iot-hub';
  /** The endpoint (host:port) and the TLS name sent as SNI. */
  readonly endpoint: string;
  readonly endpointName: string | undefined;
  /** Which certificate files are configured. */
  readonly certificates: { readonly ca: boolean; readonly cert: boolean; readonly key: boolean };
  readonly azure:
    | {
        readonly hub: string;
        readonly deviceId: string;
        readonly deviceKeySet: boolean;
        readonly sasTtlSec: number;
        readonly sasExpiresAt: number | undefined;
        readonly sasRenewAt: number | undefined;
      }
    | undefined;
}

/** What {@link Agent.applyConfig} did. */
export type ApplyResult =
  | { readonly ok: true; readonly applied: 'reconnected' | 'updated' | 'unchanged' }
  | { readonly ok: false; readonly issues: readonly ConfigIssue[] };

/** Sections whose change needs a new connection or a new I/O module. */
const RESTART_SECTIONS = [
  'connection',
  'login',
  'security',
  'lwt',
  'reconnect',
  'backup',
  'azure',
  // The Will and the availability topic come from it.
  'homeassistant',
  // The Will (NDEATH), the subscriptions and the births come from it.
  'sparkplug',
  // A connection of its own, to the Murano connector.
  'murano',
] as const;

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

/** The text fields of events that carry what a peer sent: clipped before anyone sees them. */
const CLIPPED_FIELDS = ['payload', 'reason', 'message'] as const;

/**
 * `event` with its payload, reason and message cut to {@link clipText}'s length: a 20 MB Redis
 * message or MQTT payload reaches the log, `-m` / `-r` and the console as its first kilobyte.
 */
function clipEvent(event: AgentEvent): AgentEvent {
  const fields = event as Partial<Record<(typeof CLIPPED_FIELDS)[number], unknown>>;
  const long = (v: unknown) => typeof v === 'string' && v.length > CLIP_CHARS;
  if (!CLIPPED_FIELDS.some((f) => long(fields[f]))) return event;
  const clipped: Record<string, unknown> = { ...event };
  for (const f of CLIPPED_FIELDS) {
    const v = clipped[f];
    if (typeof v === 'string') clipped[f] = clipText(v);
  }
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
  /** Credential renewals of the client already logged. */
  #renewalsLogged = 0;
  #table: TopicTable | undefined;
  #bridge: RedisBridge | undefined;
  /** Home Assistant discovery, when `homeassistant.discovery` is on. */
  #homeAssistant: HomeAssistantLink | undefined;
  /** The Sparkplug B edge node, when `sparkplug.enabled` is on. */
  #sparkplug: SparkplugNode | undefined;
  /** The Exosite Murano connector, when `murano.enabled` is on. */
  #murano: MuranoLink | undefined;
  /** Sparkplug's bdSeq goes on counting when a new configuration restarts the agent. */
  readonly #bdSeq = new BdSeqCounter();
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
  readonly #outage: OutageLog | undefined;
  /** The client's last status, and the server its current attempt goes to. */
  #clientStatus: ClientState['status'] | undefined;
  #attemptServer = '';
  /** Waiters of {@link Agent.whenSubscribed}. */
  readonly #onSubscribed = new Set<() => void>();

  /**
   * @param config a configuration validated by `parseConfig` / `loadConfig`
   */
  constructor(config: AgentConfig, options: AgentOptions = {}) {
    this.#config = config;
    this.#options = options;
    this.#log = options.logger;
    this.#outage =
      options.logger === undefined
        ? undefined
        : new OutageLog({ what: 'MQTT', logger: options.logger });
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
   * Starts everything, or nothing. What can be checked is checked before anything connects:
   * certificate files are read, the MQTT options resolved, the Redis clients made (node-redis
   * refuses some URLs); then the I/O module starts, the MQTT client, the Redis bridge. If a part
   * fails, the parts already started are stopped and the error is thrown.
   *
   * A server that is down is not a failure: the connection is made in the background (the
   * module state goes to CONNECT_PND, then CONNECTED), every failed attempt is logged, and
   * the agent keeps trying, as a device must.
   * @throws {ConfigError} when a certificate or key file cannot be read
   * @throws {StartError} naming the part (`mqtt`, `redis`) that could not start
   * @throws {AgentError} when already running
   */
  async start(): Promise<void> {
    if (this.#running) throw new AgentError(AgentErrorCode.STATE, 'the agent is already running');
    const config = this.#config;
    const { url, options } = await resolveClientOptions(config, this.#options.baseDir);
    const murano = await resolveMurano(config, this.#options.baseDir);
    this.#running = true;
    this.#subscribed = false;
    try {
      await this.#startParts(config, url, options);
      if (murano !== undefined) {
        this.#murano = this.#newMurano(murano);
        await this.#murano.start();
      }
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
      const channels = [...this.#channels.values()];
      this.#driver =
        config.device.driver === 'modbus'
          ? createModbusDriver(config.device, channels, this.#log)
          : new SimulatedDriver({
              channels,
              ...(config.device.seed === undefined ? {} : { seed: config.device.seed }),
              stepMs: config.device.stepMs,
            });
      this.#ownDriver = true;
    }
    // Before anything connects: node-redis refuses some URLs when its client is made.
    try {
      this.#bridge = this.#newBridge(config);
    } catch (error) {
      throw new StartError('redis', `Redis bridge not started: ${(error as Error).message}`, {
        cause: error,
      });
    }
    const driver = this.#driver;
    this.#unsubscribeDriver = driver.onChange((change) => {
      this.#values.set(change.id, change.value);
      this.#emit({
        type: 'channel',
        id: change.id,
        value: change.value,
        at: change.ts,
        ...(change.quality === undefined || change.quality === 'good'
          ? {}
          : { quality: change.quality, reason: change.reason ?? '' }),
      });
      this.#sparkplug?.channelChanged(change);
      this.#murano?.channelChanged(change);
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
    let client: Client;
    try {
      // Options the library refuses throw here, before any socket is opened.
      client = make(url, options);
    } catch (error) {
      throw new StartError('mqtt', `MQTT client not started: ${(error as Error).message}`, {
        cause: error,
      });
    }
    this.#client = client;
    this.#renewalsLogged = 0;
    this.#server = url;
    this.#clientStatus = undefined;
    const table = this.#newTable(config, driver, client);
    this.#table = table;
    client.on('state', (s: ClientState) => {
      // Every attempt says 'connecting' before its CONNECT: the NDEATH Will gets its bdSeq.
      if (s.status === 'connecting') this.#sparkplug?.connecting();
      else if (s.status !== 'connected') this.#sparkplug?.lost();
      this.#onClientState(s);
    });
    // Never silent: a message the client had to give up is an error the log and console see.
    client.on('dropped', (d) =>
      this.#emit({
        type: 'error',
        message: `MQTT ${d.direction === 'in' ? 'message received' : 'publish'} on ${d.topic} (QoS ${d.qos}) dropped: ${d.error.message}`,
        code: d.error.code,
        at: Date.now(),
      }),
    );
    this.#homeAssistant = this.#newHomeAssistant(config, client);
    this.#sparkplug = this.#newSparkplug(config, client);
    this.#onClientState(client.state);
    table.start();
    await this.#bridge?.start();
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
    const murano = this.#murano;
    this.#murano = undefined;
    await murano?.stop(timeoutMs);
    const client = this.#client;
    const homeAssistant = this.#homeAssistant;
    this.#homeAssistant = undefined;
    homeAssistant?.stop();
    const sparkplug = this.#sparkplug;
    this.#sparkplug = undefined;
    if (client !== undefined) {
      // A clean DISCONNECT discards the Will: say "offline" first; end() waits for it.
      if (homeAssistant !== undefined && client.state.status === 'connected') {
        homeAssistant.goOffline().catch(() => undefined);
      }
      if (sparkplug !== undefined && client.state.status === 'connected') {
        sparkplug.goOffline().catch(() => undefined);
      }
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
      if (!isDeepStrictEqual(old.topics, config.topics)) {
        await this.#swapTable(config);
        await this.#swapHomeAssistant(config);
      }
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
      await resolveMurano(config, this.#options.baseDir);
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

  /** The Home Assistant link of `config` when discovery is on, publishing through `client`. */
  #newHomeAssistant(config: AgentConfig, client: Client): HomeAssistantLink | undefined {
    if (!config.homeassistant.discovery) return undefined;
    return new HomeAssistantLink(config, [...this.#channels.values()], version(), {
      publish: (topic, payload, options) => client.publish(topic, payload, options),
      report: (level, message, details) => {
        if (level === 'warn') this.#log?.warn(details ?? {}, message);
        else this.#log?.info(details ?? {}, message);
      },
      setTimeout: (fn, ms) => {
        const timer = setTimeout(fn, ms);
        timer.unref();
        return () => clearTimeout(timer);
      },
      random: Math.random,
    });
  }

  /** The Sparkplug B edge node of `config` when it is enabled, publishing through `client`. */
  #newSparkplug(config: AgentConfig, client: Client): SparkplugNode | undefined {
    if (!config.sparkplug.enabled) return undefined;
    return new SparkplugNode(config, [...this.#channels.values()], this.#bdSeq, {
      publish: (topic, payload, options) => client.publish(topic, payload, options),
      setWill: (will) => client.setWill(will),
      reconnect: () => client.reconnect(),
      value: (id) => this.#values.get(id),
      write: (id, value) => this.setOutput(id, value),
      emit: (e) => this.#emit(e),
      report: (level, message, details) => {
        if (level === 'warn') this.#log?.warn(details ?? {}, message);
        else this.#log?.info(details ?? {}, message);
      },
      now: Date.now,
    });
  }

  /** The Murano connector of `resolved`, reading channels and driving outputs of this agent. */
  #newMurano(resolved: NonNullable<Awaited<ReturnType<typeof resolveMurano>>>): MuranoLink {
    return new MuranoLink(resolved, [...this.#channels.values()], {
      write: (id, value) => this.setOutput(id, value),
      emit: (e) => this.#emit(e),
      report: (level, message, details) => this.#log?.[level](details ?? {}, message),
      now: Date.now,
    });
  }

  /** The Murano connector's state (for the console), when it runs. */
  muranoStatus(): MuranoStatus | undefined {
    return this.#murano?.status();
  }

  /**
   * Forgets the Murano credential and provisions again (an explicit action: an empty answer
   * or a refused connection is never retried on its own).
   * @throws {AgentError} when Murano is not enabled or the agent is not running
   */
  async reprovisionMurano(): Promise<void> {
    const murano = this.#murano;
    if (murano === undefined)
      throw new AgentError(
        AgentErrorCode.STATE,
        'Murano is not enabled or the agent is not running',
      );
    await murano.reprovision();
  }

  /** A new topic table changes the entities: announce them again (removed ones removed). */
  async #swapHomeAssistant(config: AgentConfig): Promise<void> {
    const client = this.#client;
    if (this.#homeAssistant === undefined || client === undefined) return;
    const before = this.#homeAssistant.discovery.payload;
    this.#homeAssistant.stop();
    const next = this.#newHomeAssistant(config, client);
    this.#homeAssistant = next;
    if (next === undefined || this.#state !== ModuleState.CONNECTED) return;
    // What the old table announced and the new one lacks is removed, as after a restart.
    next.forget(before);
    await next.announce();
  }

  /**
   * The Redis bridge of `config` when it is enabled, not yet started. It publishes through the
   * MQTT client in force when a message comes.
   */
  #newBridge(config: AgentConfig): RedisBridge | undefined {
    if (!config.redis.enabled) return undefined;
    return new RedisBridge({
      config: config.redis,
      publisher: {
        publish: (topic, payload, opts) => {
          const client = this.#client;
          if (client === undefined)
            return Promise.reject(new AgentError(AgentErrorCode.STATE, 'the agent is not running'));
          return client.publish(topic, payload, opts);
        },
      },
      emit: (e) => this.#emit(e),
      logger: this.#log,
    });
  }

  /**
   * Every MQTT subscription: the subscribe rows' and the Redis `out` signals', each filter once
   * at its highest QoS.
   */
  #filters(): { topic: string; qos: 0 | 1 | 2 }[] {
    const byTopic = new Map<string, 0 | 1 | 2>();
    const all = [
      ...(this.#table?.subscriptions() ?? []),
      ...(this.#bridge?.writeBack.filters() ?? []),
      ...(this.#homeAssistant?.filters() ?? []),
      ...(this.#sparkplug?.filters() ?? []),
    ];
    for (const { topic, qos } of all)
      byTopic.set(topic, Math.max(byTopic.get(topic) ?? 0, qos) as 0 | 1 | 2);
    return [...byTopic].map(([topic, qos]) => ({ topic, qos }));
  }

  /** Replaces the topic table on the running connection, re-subscribing what changed. */
  async #swapTable(config: AgentConfig): Promise<void> {
    const old = this.#table;
    const driver = this.#driver;
    const client = this.#client;
    if (old === undefined || driver === undefined || client === undefined) return;
    const before = JSON.stringify(this.#filters());
    old.stop();
    const table = this.#newTable(config, driver, client);
    this.#table = table;
    table.start();
    await this.#resubscribe(before);
  }

  /** Subscribes again when the filters differ from `before` (their JSON). */
  async #resubscribe(before: string): Promise<void> {
    if (JSON.stringify(this.#filters()) === before) return;
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

  /** Replaces the Redis bridge; re-subscribes when its `out` signals' topics changed. */
  async #swapBridge(config: AgentConfig): Promise<void> {
    const before = JSON.stringify(this.#filters());
    await this.#bridge?.stop();
    this.#bridge = undefined;
    if (this.#client === undefined) return;
    this.#bridge = this.#newBridge(config);
    await this.#bridge?.start();
    await this.#resubscribe(before);
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

  /**
   * Resolves once the broker has acknowledged the MQTT subscriptions (subscribe rows and Redis
   * `out` signals) of the current connection; at once when there are none.
   * @throws {AgentError} after `timeoutMs`
   */
  whenSubscribed(timeoutMs = 30000): Promise<void> {
    if (this.#subscription !== undefined || (this.#running && this.#filters().length === 0))
      return Promise.resolve();
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.#onSubscribed.delete(done);
        reject(new AgentError(AgentErrorCode.STATE, `not subscribed after ${timeoutMs} ms`));
      }, timeoutMs);
      const done = () => {
        clearTimeout(timer);
        resolve();
      };
      this.#onSubscribed.add(done);
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
      channels: [...this.#channels.values()].map((c) => ({
        ...c,
        value: this.#values.get(c.id),
        ...this.#qualityOf(c.id),
      })),
      rows: this.#table?.rows() ?? [],
      redis:
        bridge === undefined
          ? undefined
          : {
              url: this.#config.redis.url,
              connected: bridge.connected,
              lastError: bridge.lastError,
              signals: bridge.signals(),
            },
      murano: this.#murano?.status(),
      platform: this.#platformState(),
    };
  }

  #platformState(): PlatformState | undefined {
    const { connection, security, azure } = this.#config;
    if (connection.profile === 'generic') return undefined;
    const times = this.#client?.credentialTimes;
    return {
      profile: connection.profile,
      endpoint: `${connection.server}:${connection.port ?? 8883}`,
      endpointName: connection.endpointName,
      certificates: {
        ca: security.ca !== undefined,
        cert: security.cert !== undefined,
        key: security.key !== undefined,
      },
      azure:
        azure === undefined
          ? undefined
          : {
              hub: azure.hub,
              deviceId: azure.deviceId,
              deviceKeySet: azure.deviceKey !== '',
              sasTtlSec: azure.sasTtlSec,
              sasExpiresAt: times?.expiresAtMs,
              sasRenewAt: times?.renewAtMs,
            },
    };
  }

  /** The quality of a channel's value as the driver reports it (good when it cannot tell). */
  #qualityOf(id: number): ChannelQuality {
    try {
      return this.#driver?.quality?.(id) ?? GOOD;
    } catch {
      return GOOD;
    }
  }

  /**
   * Logs what the connection does: every failed attempt with its reason and the wait before
   * the next one (rate-limited by the {@link OutageLog}), the recovery, and a client that
   * stops for good while the agent runs.
   */
  #logClientState(s: ClientState): void {
    const previous = this.#clientStatus;
    this.#clientStatus = s.status;
    if (previous === s.status) return;
    switch (s.status) {
      case 'connecting':
        this.#attemptServer = s.server;
        this.#log?.debug({ server: s.server }, `MQTT connecting to ${s.server}`);
        break;
      case 'connected': {
        this.#attemptServer = s.server;
        this.#outage?.connected(s.server);
        // A renewal (an expiring password replaced before it expired) reconnects on purpose:
        // say so, with the new expiry, never the token.
        const renewed = this.#client?.renewedCount ?? 0;
        const times = this.#client?.credentialTimes;
        if (renewed > this.#renewalsLogged && times !== undefined) {
          this.#renewalsLogged = renewed;
          this.#log?.info(
            {
              server: s.server,
              expiresAt: new Date(times.expiresAtMs).toISOString(),
              renewAt: new Date(times.renewAtMs).toISOString(),
            },
            `MQTT credentials renewed: the new token expires at ${new Date(times.expiresAtMs).toISOString()}`,
          );
        }
        break;
      }
      case 'reconnect-wait': {
        const error = s.lastError;
        this.#outage?.failed({
          // The state names the server of the next attempt; the failure was the last one's.
          server: this.#attemptServer || s.server,
          reason: error?.message ?? 'unknown reason',
          code: error?.code,
          permanent: (error as { permanent?: unknown } | undefined)?.permanent === true,
          retryInMs: s.retryInMs,
          lost: previous === 'connected',
        });
        break;
      }
      case 'closed':
        // Closed while the agent runs: the client gave up (its store failed, for one).
        if (this.#running && this.#state !== ModuleState.DISCONNECTING) {
          this.#log?.error(
            { server: s.server, reason: s.lastError?.message, code: s.lastError?.code },
            `MQTT client stopped: ${s.lastError?.message ?? 'closed'}; the agent no longer publishes`,
          );
        }
        break;
      default:
        break;
    }
  }

  #onClientState(s: ClientState): void {
    this.#logClientState(s);
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
    } else if (s.status === 'connected' && this.#subscription !== undefined) {
      // The client subscribed again at the CONNACK, before this: the births may go.
      this.#sparkplug?.connected();
    }
    if (s.status === 'connected') {
      // Birth and discovery on every connection (the broker may have lost retained messages).
      this.#homeAssistant
        ?.announce()
        .catch((error: unknown) =>
          this.#log?.warn({ err: error }, 'Home Assistant discovery not sent'),
        );
    }
  }

  /**
   * Subscribes the subscribe rows and the Redis `out` signals' topics, once, on the first
   * connection. Even when the server kept a
   * session the SUBSCRIBE is sent: it replaces the stored one [MQTT-3.8.4-3] and gives the
   * client the local subscription messages are delivered to. After a reconnect to a server
   * that lost the session [MQTT-3.1.2-6], the client itself subscribes again.
   */
  async #subscribe(): Promise<void> {
    const client = this.#client;
    const table = this.#table;
    if (client === undefined || table === undefined) return;
    const filters = this.#filters();
    if (filters.length === 0) return;
    try {
      // Manual acknowledgement: a QoS 1/2 command is acknowledged to the broker only once it
      // has been applied to the outputs or written to Redis, so a crash in between makes the
      // broker send it again instead of losing it.
      const sub = await client.subscribe(filters, { ack: 'manual' });
      this.#subscription = sub;
      this.#sparkplug?.connected();
      for (const done of this.#onSubscribed) done();
      this.#onSubscribed.clear();
      // Messages are applied one after another, in the order they arrived, by the table and
      // the bridge in force (a configuration change may swap them); the iterator ends when the
      // client does.
      void (async () => {
        for await (const m of sub) {
          try {
            if (await this.#homeAssistant?.handle(m.topic, m.payload)) continue;
            if (await this.#sparkplug?.handle(m.topic, m.payload)) continue;
            await (this.#table ?? table).handleMessage(m.topic, m.payload);
            await this.#bridge?.writeBack.handle(m.topic, m.payload);
          } finally {
            // Handled, or refused and reported: either way the broker may forget it (holding
            // it would stop every later acknowledgement behind it).
            m.ack();
          }
        }
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
      case 'redis-written':
        this.#counts.received++;
        this.#log?.info(
          { topic: event.topic, channel: event.channel, message: event.message },
          'Redis command written',
        );
        break;
      case 'rejected':
        this.#counts.rejected++;
        this.#log?.warn(
          {
            source: event.source,
            topic: event.topic,
            payload: event.payload,
            reason: event.reason,
          },
          event.source === 'redis' ? 'Redis message rejected' : 'payload rejected',
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
