/**
 * The Redis-to-MQTT bridge of WCC Lite.
 *
 * Subscribes (node-redis) to `tag/<source_device_alias>/<source_signal_alias>/in` for every
 * enabled signal of an enabled device and republishes each message to MQTT as
 * `value,timestamp_ms,quality`, under the same path or the topic set on the signal. Only `in`
 * signals are mapped: as in WCC Lite, the bridge only publishes. Device settings
 * (`enableThreshold`, `mqttQos`, `mqttRetain`) apply to the device's signals.
 *
 * {@link RedisMapping.handle} holds all the mapping logic and needs no Redis; the
 * {@link RedisBridge} adds the subscription.
 *
 * @module
 */

import { createClient } from 'redis';
import { type AgentEvent, clipText } from '../agent/events.js';
import type { RedisConfig } from '../config/schema.js';
import { RedisMessageError } from '../errors.js';
import type { Publisher, QoS } from './publisher.js';
import { parseRedisMessage, type RedisSample, tagChannel, toMqttPayload } from './redis-message.js';

/** One mapped signal, resolved. */
export interface SignalRoute {
  /** `deviceAlias/signalAlias` of the MQTT-side signal. */
  readonly key: string;
  readonly name: string;
  /** The Redis channel listened to. */
  readonly redisChannel: string;
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

/** Resolves the Devices and Signals tables into routes keyed by Redis channel. */
export function resolveRoutes(config: RedisConfig): SignalRoute[] {
  const devices = new Map(config.devices.map((d) => [d.deviceAlias, d]));
  const routes: SignalRoute[] = [];
  for (const signal of config.signals) {
    const device = devices.get(signal.deviceAlias);
    if (device === undefined || !device.enable || !signal.enable) continue;
    const redisChannel = tagChannel(signal.sourceDeviceAlias, signal.sourceSignalAlias, 'in');
    routes.push({
      key: `${signal.deviceAlias}/${signal.signalAlias}`,
      name: signal.signalName === '' ? signal.signalAlias : signal.signalName,
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

/** The mapping from Redis messages to MQTT publishes, without the Redis connection. */
export class RedisMapping {
  readonly #byChannel = new Map<string, RouteState[]>();
  readonly #publisher: Publisher;
  readonly #emit: (event: AgentEvent) => void;
  readonly #now: () => number;

  constructor(
    routes: readonly SignalRoute[],
    publisher: Publisher,
    emit: (event: AgentEvent) => void,
    now: () => number = Date.now,
  ) {
    for (const route of routes) {
      const list = this.#byChannel.get(route.redisChannel) ?? [];
      list.push({
        route,
        last: undefined,
        lastPayload: undefined,
        lastAt: undefined,
        published: 0,
        suppressed: 0,
        rejected: 0,
      });
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
   * Maps one Redis message to MQTT. A malformed message is reported as rejected and nothing is
   * published. Returns the number of MQTT messages published.
   */
  async handle(channel: string, message: string): Promise<number> {
    const at = this.#now();
    this.#emit({ type: 'redis-message', channel, message, at });
    const states = this.#byChannel.get(channel);
    if (states === undefined) return 0;
    let sample: RedisSample;
    try {
      sample = parseRedisMessage(channel, message);
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
    return [...this.#byChannel.values()].flat().map((s) => ({
      ...s.route,
      lastPayload: s.lastPayload,
      lastAt: s.lastAt,
      published: s.published,
      suppressed: s.suppressed,
      rejected: s.rejected,
    }));
  }
}

/** Options of a {@link RedisBridge}. */
export interface RedisBridgeOptions {
  readonly config: RedisConfig;
  readonly publisher: Publisher;
  readonly emit: (event: AgentEvent) => void;
}

/** The Redis subscription feeding a {@link RedisMapping}. */
export class RedisBridge {
  readonly #url: string;
  readonly #mapping: RedisMapping;
  readonly #emit: (event: AgentEvent) => void;
  #client: ReturnType<typeof createClient> | undefined;
  #connected = false;
  #lastError: string | undefined;
  #subscribed: Promise<void> = Promise.resolve();

  constructor(options: RedisBridgeOptions) {
    this.#url = options.config.url;
    this.#emit = options.emit;
    this.#mapping = new RedisMapping(
      resolveRoutes(options.config),
      options.publisher,
      options.emit,
    );
  }

  /** Whether the Redis connection is up. */
  get connected(): boolean {
    return this.#connected;
  }

  /** The last Redis error, if any. */
  get lastError(): string | undefined {
    return this.#lastError;
  }

  /** The mapping (routes and per-signal state). */
  get mapping(): RedisMapping {
    return this.#mapping;
  }

  /** Resolves once the SUBSCRIBE was acknowledged (never rejects). */
  whenSubscribed(): Promise<void> {
    return this.#subscribed;
  }

  /**
   * Connects and subscribes in the background: when Redis is unreachable node-redis keeps
   * retrying and the subscription is made when it comes up, so the agent does not fail to
   * start because Redis starts later than it.
   */
  async start(): Promise<void> {
    const channels = this.#mapping.channels();
    if (channels.length === 0) return;
    const client = createClient({
      url: this.#url,
      socket: { reconnectStrategy: (retries: number) => Math.min(2000 * 2 ** retries, 60000) },
    });
    this.#client = client;
    client.on('error', (error: Error) => {
      const message = `redis ${this.#url}: ${error.message}`;
      if (message !== this.#lastError)
        this.#emit({ type: 'error', message, code: 'REDIS', at: Date.now() });
      this.#lastError = message;
    });
    client.on('ready', () => {
      this.#connected = true;
      this.#lastError = undefined;
    });
    client.on('end', () => {
      this.#connected = false;
    });
    client.on('reconnecting', () => {
      this.#connected = false;
    });
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
    this.#subscribed = client.subscribe(channels, listener).catch((error: unknown) => {
      this.#emit({
        type: 'error',
        message: `redis subscribe: ${(error as Error).message}`,
        code: 'REDIS',
        at: Date.now(),
      });
    });
  }

  /** Unsubscribes and closes the connection. */
  async stop(): Promise<void> {
    const client = this.#client;
    this.#client = undefined;
    if (client === undefined) return;
    this.#connected = false;
    try {
      if (client.isReady) await client.close();
      else client.destroy();
    } catch {
      client.destroy();
    }
  }
}
