/**
 * The topic table: LucidIoT's up to 16 rows linking topics to I/O channels.
 *
 * Publish rows read their channel every `pubIntervalMs` (LucidIoT's PubInt) and publish the
 * value in the row's format; with `threshold` an unchanged value is not sent again. Subscribe
 * rows parse received payloads with the row's format and drive their output channel; a payload
 * the format rejects is reported with the reason and leaves the output as it was.
 *
 * The table talks to MQTT through {@link Publisher} only, so it is tested without a broker.
 *
 * @module
 */

import { topicMatches } from 'courier-mqtt';
import type { TopicRowConfig } from '../config/schema.js';
import { AgentError, AgentErrorCode } from '../errors.js';
import { createFormat } from '../formats/spec.js';
import type { ChannelValue, Format, FormatContext } from '../formats/types.js';
import { type ChannelInfo, type IoDriver, qualityFlag } from '../sources/channels.js';
import type { Publisher, QoS, RowPublishProperties } from '../sources/publisher.js';
import { type AgentEvent, clipText } from './events.js';
import { type LastSent, shouldSend } from './threshold.js';

/** The default publish period when a row sets none (LucidIoT's example: once per second). */
export const DEFAULT_PUB_INTERVAL_MS = 1000;

/**
 * A row's MQTT 5.0 properties in the library's shape, or undefined when it sets none (the
 * configuration has already refused them on a 3.1.1 connection and on subscribe rows).
 */
export function rowProperties(config: TopicRowConfig): RowPublishProperties | undefined {
  const { messageExpirySec, contentType, userProperties } = config;
  if (messageExpirySec === undefined && contentType === undefined && userProperties === undefined) {
    return undefined;
  }
  return {
    ...(messageExpirySec === undefined ? {} : { messageExpiryIntervalSec: messageExpirySec }),
    ...(contentType === undefined ? {} : { contentType }),
    ...(userProperties === undefined || userProperties.length === 0
      ? {}
      : { userProperties: userProperties.map((p) => [p.name, p.value] as const) }),
  };
}

/** Live state of one row, for the console and `snapshot()`. */
export interface RowState {
  readonly index: number;
  readonly topic: string;
  readonly direction: 'publish' | 'subscribe';
  readonly channel: number;
  readonly enabled: boolean;
  /** The last value published (publish rows) or applied (subscribe rows). */
  readonly lastValue: ChannelValue | undefined;
  readonly lastPayload: string | undefined;
  /** Unix epoch milliseconds of `lastValue`. */
  readonly lastAt: number | undefined;
  readonly published: number;
  readonly suppressed: number;
  readonly received: number;
  readonly rejected: number;
  /** Why the last payload was rejected, if the last one was. */
  readonly lastError: string | undefined;
}

interface Row {
  readonly index: number;
  readonly config: TopicRowConfig;
  readonly format: Format;
  readonly context: FormatContext;
  /** The row's MQTT 5.0 message properties, built once; undefined when it has none. */
  readonly properties: RowPublishProperties | undefined;
  last: LastSent | undefined;
  /** The quality flag of the last value sent: a change of it is always sent. */
  lastQuality: 0 | 1 | undefined;
  inFlight: boolean;
  /** Cancels the row's publish timer while it runs. */
  cancel: (() => void) | undefined;
  state: {
    lastValue: ChannelValue | undefined;
    lastPayload: string | undefined;
    lastAt: number | undefined;
    published: number;
    suppressed: number;
    received: number;
    rejected: number;
    lastError: string | undefined;
  };
}

/**
 * Runs the publish rows' periodic timers. The default uses Node's `setInterval`; a test passes
 * a manual one to check the period each row schedules and to step time without waiting for it.
 */
export interface IntervalScheduler {
  /** Calls `fn` every `periodMs` until the returned function is called. */
  every(periodMs: number, fn: () => void): () => void;
}

/** Node's `setInterval`. */
export const realScheduler: IntervalScheduler = {
  every(periodMs, fn) {
    const timer = setInterval(fn, periodMs);
    return () => clearInterval(timer);
  },
};

/** Options of a {@link TopicTable}. */
export interface TopicTableOptions {
  readonly rows: readonly TopicRowConfig[];
  readonly channels: ReadonlyMap<number, ChannelInfo>;
  readonly driver: IoDriver;
  readonly publisher: Publisher;
  /** Receives every event of the table. */
  readonly emit: (event: AgentEvent) => void;
  /** Clock. @default Date.now */
  readonly now?: () => number;
  /** The publish timers. @default {@link realScheduler} */
  readonly scheduler?: IntervalScheduler;
}

/** What one publish tick did. */
export type TickResult = 'sent' | 'suppressed' | 'busy' | 'failed';

const utf8 = new TextDecoder('utf-8', { fatal: true });

/** The topic table engine. */
export class TopicTable {
  readonly #rows: Row[];
  readonly #driver: IoDriver;
  readonly #publisher: Publisher;
  readonly #emit: (event: AgentEvent) => void;
  readonly #now: () => number;
  readonly #scheduler: IntervalScheduler;
  #running = false;

  constructor(options: TopicTableOptions) {
    this.#driver = options.driver;
    this.#publisher = options.publisher;
    this.#emit = options.emit;
    this.#now = options.now ?? Date.now;
    this.#scheduler = options.scheduler ?? realScheduler;
    this.#rows = options.rows.map((config, index) => {
      const channel = options.channels.get(config.channel);
      if (channel === undefined) {
        // parseConfig refuses such a table; reaching this is a programming error.
        throw new AgentError(
          AgentErrorCode.STATE,
          `topics[${index}]: no channel ${config.channel}`,
        );
      }
      return {
        index,
        config,
        format: createFormat(config.format),
        context: { unit: channel.unit, name: channel.name, channel: channel.id },
        properties: rowProperties(config),
        last: undefined,
        lastQuality: undefined,
        inFlight: false,
        cancel: undefined,
        state: {
          lastValue: undefined,
          lastPayload: undefined,
          lastAt: undefined,
          published: 0,
          suppressed: 0,
          received: 0,
          rejected: 0,
          lastError: undefined,
        },
      };
    });
  }

  /** The subscriptions the table needs: every enabled subscribe row's filter and QoS. */
  subscriptions(): { topic: string; qos: QoS }[] {
    return this.#rows
      .filter((r) => r.config.enabled && r.config.direction === 'subscribe')
      .map((r) => ({ topic: r.config.topic, qos: r.config.qos as QoS }));
  }

  /** Starts the publish timers; each publish row sends its first value at once. */
  start(): void {
    if (this.#running) return;
    this.#running = true;
    for (const row of this.#rows) {
      if (!row.config.enabled || row.config.direction !== 'publish') continue;
      const period = row.config.pubIntervalMs ?? DEFAULT_PUB_INTERVAL_MS;
      void this.tick(row.index);
      row.cancel = this.#scheduler.every(period, () => void this.tick(row.index));
    }
  }

  /** Stops the publish timers. Messages already handed to the client are not recalled. */
  stop(): void {
    this.#running = false;
    for (const row of this.#rows) {
      row.cancel?.();
      row.cancel = undefined;
    }
  }

  /**
   * One period of a publish row: read the channel, render, apply the threshold, publish.
   *
   * A tick is skipped ("busy") while the row's previous message is still in flight: a periodic
   * reading is only worth its latest value, and stacking up one message per period while the
   * broker is unreachable would grow without bound.
   */
  async tick(index: number): Promise<TickResult> {
    const row = this.#rows[index];
    if (row === undefined || row.config.direction !== 'publish') {
      throw new AgentError(AgentErrorCode.STATE, `topics[${index}] is not a publish row`);
    }
    if (row.inFlight) return 'busy';
    const { config, format, context, state } = row;
    const at = this.#now();
    let value: ChannelValue;
    try {
      value = await this.#driver.read(config.channel);
    } catch (error) {
      this.#emit({ type: 'error', message: `topics[${index}]: ${(error as Error).message}`, at });
      return 'failed';
    }
    const key = format.key(value);
    // The source's quality flag (WCC Lite: 1 valid, 0 invalid): a value turning stale or bad
    // is news even when the number is the same, so it passes the threshold.
    const quality = qualityFlag(this.#driver.quality?.(config.channel).quality);
    if (
      quality === row.lastQuality &&
      !shouldSend({ enabled: config.threshold, deadband: config.deadband }, row.last, key, value)
    ) {
      state.suppressed++;
      this.#emit({ type: 'suppressed', source: 'mqtt', row: index, topic: config.topic, at });
      return 'suppressed';
    }
    // A good value renders as before (no flag where a format shows none by default).
    const payload = format.render(
      { value, ts: at, ...(quality === 0 ? { quality } : {}) },
      context,
    );
    // Remember before awaiting so that a slow QoS 2 flow is not doubled by the next tick.
    const previous = row.last;
    const previousQuality = row.lastQuality;
    row.last = { key, value };
    row.lastQuality = quality;
    row.inFlight = true;
    try {
      await this.#publisher.publish(config.topic, payload, {
        qos: config.qos as QoS,
        retain: config.retain,
        ...(row.properties === undefined ? {} : { properties: row.properties }),
      });
    } catch (error) {
      row.last = previous; // not sent: the threshold must let the next tick try again
      row.lastQuality = previousQuality;
      this.#emit({
        type: 'publish-failed',
        source: 'mqtt',
        topic: config.topic,
        reason: (error as Error).message,
        at: this.#now(),
      });
      return 'failed';
    } finally {
      row.inFlight = false;
    }
    state.published++;
    state.lastValue = value;
    state.lastPayload = clipText(payload);
    state.lastAt = at;
    this.#emit({ type: 'published', source: 'mqtt', row: index, topic: config.topic, payload, at });
    return 'sent';
  }

  /**
   * Handles a received message: every enabled subscribe row whose filter matches parses the
   * payload and drives its output. Returns how many rows applied it.
   */
  async handleMessage(topic: string, payload: Uint8Array): Promise<number> {
    let applied = 0;
    for (const row of this.#rows) {
      const { config } = row;
      if (!config.enabled || config.direction !== 'subscribe') continue;
      if (!topicMatches(config.topic, topic)) continue;
      if (await this.#apply(row, topic, payload)) applied++;
    }
    return applied;
  }

  async #apply(row: Row, topic: string, bytes: Uint8Array): Promise<boolean> {
    const at = this.#now();
    let text: string;
    let value: ChannelValue;
    try {
      try {
        text = utf8.decode(bytes);
      } catch {
        text = Buffer.from(bytes).toString('hex');
        throw new AgentError(
          'AGENT_FORMAT',
          `payload is not UTF-8 text (hex ${text.slice(0, 32)})`,
        );
      }
      value = row.format.parse(text, row.context).value;
      await this.#driver.write(row.config.channel, value);
    } catch (error) {
      const reason = (error as Error).message;
      row.state.rejected++;
      row.state.lastError = clipText(reason);
      this.#emit({
        type: 'rejected',
        source: 'mqtt',
        row: row.index,
        topic,
        payload: Buffer.from(bytes).toString('utf8'),
        reason,
        at,
      });
      return false;
    }
    row.state.received++;
    row.state.lastValue = value;
    row.state.lastPayload = clipText(text);
    row.state.lastAt = at;
    row.state.lastError = undefined;
    this.#emit({ type: 'received', row: row.index, topic, payload: text, value, at });
    return true;
  }

  /** The live state of every row. */
  rows(): RowState[] {
    return this.#rows.map((r) => ({
      index: r.index,
      topic: r.config.topic,
      direction: r.config.direction,
      channel: r.config.channel,
      enabled: r.config.enabled,
      ...r.state,
    }));
  }
}
