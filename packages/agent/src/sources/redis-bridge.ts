/**
 * The Redis-to-MQTT bridge of WCC Lite, and its way back.
 *
 * Signals of direction `in` (WCC Lite's only kind): subscribes (node-redis) to
 * `tag/<source_device_alias>/<source_signal_alias>/in` and republishes each message to MQTT as
 * `value,timestamp_ms,quality`, under the same path or the topic set on the signal. Device
 * settings (`enableThreshold`, `mqttQos`, `mqttRetain`) apply to the device's signals.
 *
 * Signals of direction `out`: the agent subscribes to their MQTT topic (default
 * `tag/<source_device_alias>/<source_signal_alias>/out`) and writes each command to Redis as
 * `PUBLISH tag/<source_device_alias>/<source_signal_alias>/out value,timestamp_ms,flags`, the
 * channel a WCC Lite protocol handler listens to for commands.
 *
 * {@link RedisMapping} and {@link RedisWriteBack} hold the mapping logic and need no Redis; the
 * {@link RedisBridge} adds the connections.
 *
 * @module
 */

import { topicMatches } from 'courier-mqtt';
import type { Logger } from 'pino';
import { createClient } from 'redis';
import { type AgentEvent, clipText } from '../agent/events.js';
import { OutageLog } from '../agent/outage-log.js';
import type { RedisConfig } from '../config/schema.js';
import { RedisMessageError } from '../errors.js';
import type { Publisher, QoS } from './publisher.js';
import {
  DEFAULT_MAX_MESSAGE_BYTES,
  parseRedisCommand,
  parseRedisMessage,
  type RedisSample,
  tagChannel,
  toMqttPayload,
  toRedisMessage,
} from './redis-message.js';

/** One mapped signal, resolved. */
export interface SignalRoute {
  /** `deviceAlias/signalAlias` of the MQTT-side signal. */
  readonly key: string;
  readonly name: string;
  /** in: Redis → MQTT; out: MQTT commands → Redis. */
  readonly direction: 'in' | 'out';
  /** The Redis channel listened to (`in`) or written to (`out`). */
  readonly redisChannel: string;
  /** The MQTT topic published (`in`) or subscribed (`out`). */
  readonly topic: string;
  readonly qos: QoS;
  readonly retain: boolean;
  readonly threshold: boolean;
}

/** Live state of one signal. */
export interface SignalState extends SignalRoute {
  readonly lastPayload: string | undefined;
  readonly lastAt: number | undefined;
  readonly published: number;
  readonly suppressed: number;
  readonly rejected: number;
}

/** Resolves the Devices and Signals tables into the routes of the enabled signals. */
export function resolveRoutes(config: RedisConfig): SignalRoute[] {
  const devices = new Map(config.devices.map((d) => [d.deviceAlias, d]));
  const routes: SignalRoute[] = [];
  for (const signal of config.signals) {
    const device = devices.get(signal.deviceAlias);
    if (device === undefined || !device.enable || !signal.enable) continue;
    const direction = signal.direction;
    const redisChannel = tagChannel(signal.sourceDeviceAlias, signal.sourceSignalAlias, direction);
    routes.push({
      key: `${signal.deviceAlias}/${signal.signalAlias}`,
      name: signal.signalName === '' ? signal.signalAlias : signal.signalName,
      direction,
      redisChannel,
      // WCC Lite keeps the Redis topic structure in MQTT unless the signal sets a topic.
      topic: signal.topic ?? redisChannel,
      qos: device.mqttQos as QoS,
      retain: device.mqttRetain,
      threshold: device.enableThreshold,
    });
  }
  return routes;
}

interface RouteState {
  readonly route: SignalRoute;
  last: string | undefined;
  lastPayload: string | undefined;
  lastAt: number | undefined;
  published: number;
  suppressed: number;
  rejected: number;
}

const newState = (route: SignalRoute): RouteState => ({
  route,
  last: undefined,
  lastPayload: undefined,
  lastAt: undefined,
  published: 0,
  suppressed: 0,
  rejected: 0,
});

const stateOf = (s: RouteState): SignalState => ({
  ...s.route,
  lastPayload: s.lastPayload,
  lastAt: s.lastAt,
  published: s.published,
  suppressed: s.suppressed,
  rejected: s.rejected,
});

/**
 * The mapping from Redis messages to MQTT publishes, without the Redis connection. Only the
 * routes of direction `in` are used.
 */
export class RedisMapping {
  readonly #byChannel = new Map<string, RouteState[]>();
  readonly #publisher: Publisher;
  readonly #emit: (event: AgentEvent) => void;
  readonly #now: () => number;
  readonly #maxBytes: number;

  constructor(
    routes: readonly SignalRoute[],
    publisher: Publisher,
    emit: (event: AgentEvent) => void,
    now: () => number = Date.now,
    maxMessageBytes: number = DEFAULT_MAX_MESSAGE_BYTES,
  ) {
    this.#maxBytes = maxMessageBytes;
    for (const route of routes) {
      if (route.direction !== 'in') continue;
      const list = this.#byChannel.get(route.redisChannel) ?? [];
      list.push(newState(route));
      this.#byChannel.set(route.redisChannel, list);
    }
    this.#publisher = publisher;
    this.#emit = emit;
    this.#now = now;
  }

  /** The Redis channels to subscribe to. */
  channels(): string[] {
    return [...this.#byChannel.keys()];
  }

  /**
   * Maps one Redis message to MQTT. A malformed or oversized message is reported as rejected
   * and nothing is published. Returns the number of MQTT messages published.
   */
  async handle(channel: string, message: string): Promise<number> {
    const at = this.#now();
    this.#emit({ type: 'redis-message', channel, message, at });
    const states = this.#byChannel.get(channel);
    if (states === undefined) return 0;
    let sample: RedisSample;
    try {
      sample = parseRedisMessage(channel, message, this.#maxBytes);
    } catch (error) {
      const reason = error instanceof RedisMessageError ? error.message : String(error);
      for (const s of states) s.rejected++;
      this.#emit({
        type: 'rejected',
        source: 'redis',
        topic: channel,
        payload: message,
        reason,
        at,
      });
      return 0;
    }
    const payload = toMqttPayload(sample);
    // The threshold compares value and quality, not the timestamp, which changes every time.
    const key = `${sample.valueText},${sample.quality}`;
    let sent = 0;
    for (const s of states) {
      const { route } = s;
      if (route.threshold && s.last === key) {
        s.suppressed++;
        this.#emit({
          type: 'suppressed',
          source: 'redis',
          signal: route.key,
          topic: route.topic,
          at,
        });
        continue;
      }
      const previous = s.last;
      s.last = key;
      try {
        await this.#publisher.publish(route.topic, payload, {
          qos: route.qos,
          retain: route.retain,
        });
      } catch (error) {
        s.last = previous;
        this.#emit({
          type: 'publish-failed',
          source: 'redis',
          topic: route.topic,
          reason: (error as Error).message,
          at: this.#now(),
        });
        continue;
      }
      s.published++;
      s.lastPayload = clipText(payload);
      s.lastAt = at;
      sent++;
      this.#emit({
        type: 'published',
        source: 'redis',
        signal: route.key,
        topic: route.topic,
        payload,
        at,
      });
    }
    return sent;
  }

  /** The live state of every signal. */
  signals(): SignalState[] {
    return [...this.#byChannel.values()].flat().map(stateOf);
  }
}

/** Writes one message to a Redis channel; resolves with the number of receivers. */
export interface RedisWriter {
  publish(channel: string, message: string): Promise<number>;
}

const utf8 = new TextDecoder('utf-8', { fatal: true });

/**
 * The way back: MQTT commands on the topics of `out` signals, written to Redis. Only the routes
 * of direction `out` are used; `published` counts the messages written to Redis.
 */
export class RedisWriteBack {
  readonly #states: RouteState[];
  readonly #writer: RedisWriter;
  readonly #emit: (event: AgentEvent) => void;
  readonly #now: () => number;
  readonly #maxBytes: number;

  constructor(
    routes: readonly SignalRoute[],
    writer: RedisWriter,
    emit: (event: AgentEvent) => void,
    now: () => number = Date.now,
    maxMessageBytes: number = DEFAULT_MAX_MESSAGE_BYTES,
  ) {
    this.#states = routes.filter((r) => r.direction === 'out').map(newState);
    this.#writer = writer;
    this.#emit = emit;
    this.#now = now;
    this.#maxBytes = maxMessageBytes;
  }

  /** The MQTT subscriptions the commands need: each topic once, at its highest QoS. */
  filters(): { topic: string; qos: QoS }[] {
    const byTopic = new Map<string, QoS>();
    for (const { route } of this.#states) {
      byTopic.set(route.topic, Math.max(byTopic.get(route.topic) ?? 0, route.qos) as QoS);
    }
    return [...byTopic].map(([topic, qos]) => ({ topic, qos }));
  }

  /**
   * Writes an MQTT command to the Redis channel of every `out` signal whose topic matches. A
   * payload that is not a command, or a write Redis refuses, is reported as rejected.
   * @returns the number of Redis messages written
   */
  async handle(topic: string, bytes: Uint8Array): Promise<number> {
    const states = this.#states.filter((s) => topicMatches(s.route.topic, topic));
    if (states.length === 0) return 0;
    const at = this.#now();
    const reject = (s: RouteState, payload: string, reason: string) => {
      s.rejected++;
      this.#emit({ type: 'rejected', source: 'mqtt', topic, payload, reason, at });
    };
    if (bytes.length > this.#maxBytes) {
      const reason = `command of ${bytes.length} bytes is larger than the limit of ${this.#maxBytes} (redis.maxMessageBytes)`;
      const start = Buffer.from(bytes.subarray(0, 64)).toString('utf8');
      for (const s of states) reject(s, start, reason);
      return 0;
    }
    let text: string;
    try {
      text = utf8.decode(bytes);
    } catch {
      const hex = Buffer.from(bytes.subarray(0, 32)).toString('hex');
      for (const s of states) reject(s, hex, `the command is not UTF-8 text (hex ${hex})`);
      return 0;
    }
    let message: string;
    try {
      message = toRedisMessage(parseRedisCommand(topic, text, at, this.#maxBytes));
    } catch (error) {
      for (const s of states) reject(s, text, (error as Error).message);
      return 0;
    }
    let written = 0;
    for (const s of states) {
      const channel = s.route.redisChannel;
      try {
        await this.#writer.publish(channel, message);
      } catch (error) {
        reject(s, text, `Redis PUBLISH ${channel} failed: ${(error as Error).message}`);
        continue;
      }
      s.published++;
      s.lastPayload = message;
      s.lastAt = at;
      written++;
      this.#emit({
        type: 'redis-written',
        signal: s.route.key,
        topic,
        channel,
        payload: text,
        message,
        at,
      });
    }
    return written;
  }

  /** The live state of every `out` signal. */
  signals(): SignalState[] {
    return this.#states.map(stateOf);
  }
}

/** A Redis URL as logs may show it: without its password. */
export function redactRedisUrl(url: string): string {
  try {
    const parsed = new URL(url);
    if (parsed.password === '') return url;
    parsed.password = '****';
    return parsed.toString();
  } catch {
    return '(invalid URL)';
  }
}

/** Reconnect delays of the Redis connections: 2 s doubling to 60 s. */
const redisRetryMs = (retries: number) => Math.min(2000 * 2 ** Math.min(retries, 10), 60_000);

/** Options of a {@link RedisBridge}. */
export interface RedisBridgeOptions {
  readonly config: RedisConfig;
  readonly publisher: Publisher;
  readonly emit: (event: AgentEvent) => void;
  /** Where connection failures and recoveries are logged; default: nowhere. */
  readonly logger?: Logger | undefined;
}

type RedisClient = ReturnType<typeof createClient>;

/**
 * The Redis connections feeding a {@link RedisMapping} (a subscriber) and carrying the
 * {@link RedisWriteBack}'s commands (a second connection: a subscribed connection cannot
 * PUBLISH).
 */
export class RedisBridge {
  readonly #url: string;
  readonly #mapping: RedisMapping;
  readonly #writeBack: RedisWriteBack;
  readonly #emit: (event: AgentEvent) => void;
  readonly #outage: OutageLog | undefined;
  readonly #log: Logger | undefined;
  #client: RedisClient | undefined;
  #writer: RedisClient | undefined;
  #connected = false;
  #lastError: string | undefined;
  #subscribed: Promise<void> = Promise.resolve();

  /**
   * Resolves the routes and makes the node-redis clients, without connecting: a URL node-redis
   * refuses throws here, before the agent starts anything else.
   * @throws when node-redis refuses `config.url`
   */
  constructor(options: RedisBridgeOptions) {
    const { config } = options;
    this.#url = redactRedisUrl(config.url);
    this.#emit = options.emit;
    this.#log = options.logger;
    this.#outage =
      options.logger === undefined
        ? undefined
        : new OutageLog({ what: 'Redis', logger: options.logger });
    const routes = resolveRoutes(config);
    this.#mapping = new RedisMapping(
      routes,
      options.publisher,
      options.emit,
      Date.now,
      config.maxMessageBytes,
    );
    this.#writeBack = new RedisWriteBack(
      routes,
      {
        publish: (channel, message) => {
          const writer = this.#writer;
          if (writer === undefined || !writer.isReady)
            return Promise.reject(new Error(`not connected to ${this.#url}`));
          return writer.publish(channel, message);
        },
      },
      options.emit,
      Date.now,
      config.maxMessageBytes,
    );
    if (this.#mapping.channels().length === 0 && this.#writeBack.filters().length === 0) return;
    this.#client = createClient({
      url: config.url,
      socket: { reconnectStrategy: (retries: number, cause: Error) => this.#retry(retries, cause) },
    });
    if (this.#writeBack.filters().length > 0) {
      // Its failures are the subscriber's too: only the subscriber's are logged.
      this.#writer = this.#client.duplicate({
        socket: { reconnectStrategy: redisRetryMs },
        // A command while Redis is down is refused at once, not queued for later.
        disableOfflineQueue: true,
      });
    }
  }

  /** Whether the Redis connection is up. */
  get connected(): boolean {
    return this.#connected;
  }

  /** The last Redis error, if any. */
  get lastError(): string | undefined {
    return this.#lastError;
  }

  /** The mapping of `in` signals (routes and per-signal state). */
  get mapping(): RedisMapping {
    return this.#mapping;
  }

  /** The write-back of `out` signals. */
  get writeBack(): RedisWriteBack {
    return this.#writeBack;
  }

  /** Every signal's live state, `in` then `out`. */
  signals(): SignalState[] {
    return [...this.#mapping.signals(), ...this.#writeBack.signals()];
  }

  /** Resolves once the SUBSCRIBE was acknowledged (never rejects). */
  whenSubscribed(): Promise<void> {
    return this.#subscribed;
  }

  /**
   * node-redis asks this after every failed attempt and when a connection is lost: the
   * answer is the wait before the next attempt, and the moment to log the failure.
   */
  #retry(retries: number, cause: Error): number {
    this.#lastError = `redis ${this.#url}: ${cause.message}`;
    if (this.#connected) {
      // Lost: node-redis reconnects at once, then waits after each failure.
      this.#connected = false;
      this.#outage?.failed({ server: this.#url, reason: cause.message, retryInMs: 0, lost: true });
      return 0;
    }
    const delay = redisRetryMs(retries);
    this.#outage?.failed({ server: this.#url, reason: cause.message, retryInMs: delay });
    return delay;
  }

  /**
   * Connects and subscribes in the background: when Redis is unreachable node-redis keeps
   * retrying and the subscription is made when it comes up, so the agent does not fail to
   * start because Redis starts later than it. Every failure and recovery is logged.
   */
  async start(): Promise<void> {
    const client = this.#client;
    if (client === undefined) return;
    client.on('error', (error: Error) => {
      this.#lastError = `redis ${this.#url}: ${error.message}`;
    });
    client.on('ready', () => {
      this.#connected = true;
      this.#lastError = undefined;
      this.#outage?.connected(this.#url);
    });
    client.on('end', () => {
      this.#connected = false;
    });
    this.#writer?.on('error', () => undefined);
    if (this.#writer !== undefined) void this.#writer.connect().catch(() => undefined);
    const channels = this.#mapping.channels();
    if (channels.length === 0) {
      void client.connect().catch(() => undefined);
      return;
    }
    // Messages are handled one after another so that a threshold sees them in order.
    let chain = Promise.resolve();
    const listener = (message: string, channel: string) => {
      chain = chain
        .then(() => this.#mapping.handle(channel, message))
        .then(
          () => undefined,
          () => undefined,
        );
    };
    // node-redis queues the SUBSCRIBE until the connection is ready, and re-subscribes after
    // every reconnect.
    void client.connect().catch(() => undefined);
    this.#subscribed = client.subscribe(channels, listener).then(
      () => {
        this.#log?.info({ server: this.#url, channels: channels.length }, 'Redis subscribed');
      },
      (error: unknown) => {
        this.#emit({
          type: 'error',
          message: `redis subscribe: ${(error as Error).message}`,
          code: 'REDIS',
          at: Date.now(),
        });
      },
    );
  }

  /** Unsubscribes and closes the connections. */
  async stop(): Promise<void> {
    const clients = [this.#client, this.#writer];
    this.#client = undefined;
    this.#writer = undefined;
    this.#connected = false;
    for (const client of clients) {
      // Made but never connected (the agent's start failed before): nothing to close.
      if (client === undefined || !client.isOpen) continue;
      try {
        if (client.isReady) await client.close();
        else client.destroy();
      } catch {
        client.destroy();
      }
    }
  }
}
