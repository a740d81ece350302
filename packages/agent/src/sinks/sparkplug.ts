/**
 * The agent as a Sparkplug B 3.0 edge node: the node is the agent, the I/O module is one device
 * under it, the channels are the device's metrics. Rules cited by their Sparkplug 3.0
 * conformance ids (`tck-id-…`); docs/integrations.md has the list and the limits.
 *
 * ```
 *          'connecting' (the client is about to send CONNECT)
 *   ┌──────────────► connecting: Will = NDEATH with the next bdSeq (0..255, +1 per CONNECT)
 *   │                   │ CONNACK, NCMD/DCMD/STATE subscribed
 *   │                   ▼
 *   │     primaryHostId set? ──yes──► waiting-host ──STATE {"online": true} (newest)──┐
 *   │                   │ no                                                         │
 *   │                   ▼                                                            │
 *   │                 born: NBIRTH (seq 0, bdSeq), DBIRTH ◄──────────────────────────┘
 *   │                   │  DDATA on change (report by exception, deadband)
 *   │                   │  NCMD Node Control/Rebirth = true: NBIRTH (seq 0) and DBIRTH again
 *   │                   │  DCMD: outputs written, their new values come back as DDATA
 *   │                   │ STATE {"online": false} (newest): NDEATH, DISCONNECT, reconnect
 *   └───────────────────┘ connection lost: the broker publishes the Will (NDEATH)
 * ```
 *
 * `seq` counts every NBIRTH, DBIRTH, DDATA and DDEATH of a birth (0 at the NBIRTH, 255 wraps
 * to 0) [tck-id-payloads-sequence-num-incrementing]; the NDEATH has none
 * [tck-id-topics-ndeath-seq].
 *
 * @module
 */

import type { AgentEvent } from '../agent/events.js';
import { shouldSend } from '../agent/threshold.js';
import type { AgentConfig } from '../config/schema.js';
import { deviceIdOf } from '../config/sparkplug.js';
import type { ChannelValue } from '../formats/types.js';
import { type ChannelChange, type ChannelInfo, isDigital, isOutput } from '../sources/channels.js';
import { channelMetric, commandValue, describe } from './sparkplug-metrics.js';
import {
  DataType,
  decodePayload,
  encodePayload,
  type Metric,
  type Payload,
} from './sparkplug-payload.js';

/** The Sparkplug B topic namespace [tck-id-topic-structure-namespace-a]. */
export const NAMESPACE = 'spBv1.0';
/** The node metric a host sets to `true` to ask for the births again. */
export const REBIRTH_METRIC = 'Node Control/Rebirth';
/** The node metric pairing an NBIRTH with its NDEATH. */
export const BDSEQ_METRIC = 'bdSeq';

/** The largest NCMD or DCMD payload read, in bytes: 256 metrics fit many times over. */
export const COMMAND_MAX_BYTES = 64 * 1024;
/** The most metrics one command may carry: one per channel, and the rebirth. */
export const COMMAND_MAX_METRICS = 257;
/** The largest STATE payload read, in bytes (`{"online":false,"timestamp":…}` is ~40). */
export const STATE_MAX_BYTES = 1024;

/** The topics of one edge node and its device. */
export interface SparkplugTopics {
  readonly nbirth: string;
  readonly ndeath: string;
  readonly ncmd: string;
  readonly dbirth: string;
  readonly ddata: string;
  readonly ddeath: string;
  readonly dcmd: string;
  /** `spBv1.0/STATE/<primaryHostId>`, when a primary host is configured. */
  readonly state: string | undefined;
}

/** The topics of `config`'s edge node [tck-id-topic-structure]. */
export function sparkplugTopics(config: AgentConfig): SparkplugTopics {
  const sp = config.sparkplug;
  const node = (type: string) => `${NAMESPACE}/${sp.groupId}/${type}/${sp.edgeNodeId}`;
  const device = (type: string) => `${node(type)}/${deviceIdOf(config)}`;
  return {
    nbirth: node('NBIRTH'),
    ndeath: node('NDEATH'),
    ncmd: node('NCMD'),
    dbirth: device('DBIRTH'),
    ddata: device('DDATA'),
    ddeath: device('DDEATH'),
    dcmd: device('DCMD'),
    state: sp.primaryHostId === undefined ? undefined : `${NAMESPACE}/STATE/${sp.primaryHostId}`,
  };
}

/**
 * The birth-death sequence number, 0..255 and up by one at every CONNECT
 * [tck-id-topics-nbirth-bdseq-increment]. Held by the agent so that it keeps counting when a
 * new configuration restarts the edge node.
 */
export class BdSeqCounter {
  #next = 0;

  /** The value for the CONNECT about to be sent. */
  take(): number {
    const value = this.#next;
    this.#next = (value + 1) % 256;
    return value;
  }
}

/** What {@link SparkplugNode} needs from the agent. */
export interface SparkplugHost {
  publish(
    topic: string,
    payload: Uint8Array,
    options: { qos: 0 | 1; retain: false },
  ): Promise<void>;
  /** The Will of the next CONNECT. */
  setWill(will: { topic: string; payload: Uint8Array; qos: 1; retain: false }): void;
  /** DISCONNECT and connect again (a new CONNECT, so a new bdSeq). */
  reconnect(): void;
  /** The channel's current value, if one was read. */
  value(id: number): ChannelValue | undefined;
  /** Drives an output. @throws when the channel is no output or the value does not fit it */
  write(id: number, value: ChannelValue): Promise<void>;
  emit(event: AgentEvent): void;
  /** A line for the log. */
  report(level: 'info' | 'warn', message: string, details?: Record<string, unknown>): void;
  /** Unix epoch milliseconds (UTC) [tck-id-payloads-timestamp-in-UTC]. */
  now(): number;
}

/** Where the edge node is in its session (see the diagram at the top of the file). */
export type SparkplugPhase = 'offline' | 'connecting' | 'waiting-host' | 'born';

/**
 * One edge node with one device. The agent tells it where the connection is
 * ({@link connecting}, {@link connected}, {@link lost}), hands it the messages of
 * {@link filters} ({@link handle}) and the channel changes ({@link channelChanged}).
 */
export class SparkplugNode {
  readonly #host: SparkplugHost;
  readonly #channels: readonly ChannelInfo[];
  readonly #byName: ReadonlyMap<string, ChannelInfo>;
  readonly #byId: ReadonlyMap<number, ChannelInfo>;
  readonly #names: ReadonlyMap<number, string>;
  readonly #bdSeqCounter: BdSeqCounter;
  readonly #topics: SparkplugTopics;
  readonly #aliases: boolean;
  readonly #analogType: DataType;
  readonly #deadband: number;
  #phase: SparkplugPhase = 'offline';
  /** The bdSeq of the current connection's Will. */
  #bdSeq = -1;
  /** The seq of the next message; 0 for an NBIRTH. */
  #seq = 0;
  /** The values last reported, by channel id (the report-by-exception reference). */
  readonly #reported = new Map<number, ChannelValue | undefined>();
  /** Changes not yet sent: sent together at the end of the current turn. */
  readonly #pending = new Map<number, ChannelChange>();
  #flushQueued = false;
  /** The newest STATE timestamp of the primary host seen [tck-id-operational-behavior-edge-node-termination-host-offline-timestamp]. */
  #hostTimestamp = Number.NEGATIVE_INFINITY;
  #hostOnline = false;

  constructor(
    config: AgentConfig,
    channels: readonly ChannelInfo[],
    bdSeq: BdSeqCounter,
    host: SparkplugHost,
  ) {
    this.#host = host;
    this.#channels = channels;
    this.#byName = new Map(channels.map((c) => [c.name, c]));
    this.#byId = new Map(channels.map((c) => [c.id, c]));
    this.#names = new Map(channels.map((c) => [c.id, c.name]));
    this.#bdSeqCounter = bdSeq;
    this.#topics = sparkplugTopics(config);
    this.#aliases = config.sparkplug.aliases;
    this.#analogType = config.sparkplug.analogType === 'Float' ? DataType.Float : DataType.Double;
    this.#deadband = config.sparkplug.deadband;
  }

  /** The topics in force. */
  get topics(): SparkplugTopics {
    return this.#topics;
  }

  /** Where the node is in its session. */
  get phase(): SparkplugPhase {
    return this.#phase;
  }

  /**
   * NCMD and the device's DCMD, QoS 1 [tck-id-message-flow-edge-node-ncmd-subscribe]
   * [tck-id-message-flow-device-dcmd-subscribe], and the primary host's STATE.
   */
  filters(): { topic: string; qos: 0 | 1 | 2 }[] {
    const t = this.#topics;
    return [
      { topic: t.ncmd, qos: 1 },
      { topic: t.dcmd, qos: 1 },
      ...(t.state === undefined ? [] : [{ topic: t.state, qos: 1 as const }]),
    ];
  }

  /**
   * The client is about to send a CONNECT: its Will is the NDEATH with the next bdSeq
   * [tck-id-message-flow-edge-node-birth-publish-will-message-qos] (QoS 1, not retained).
   */
  connecting(): void {
    this.#leave();
    this.#phase = 'connecting';
    this.#hostOnline = false;
    this.#bdSeq = this.#bdSeqCounter.take();
    this.#host.setWill({
      topic: this.#topics.ndeath,
      payload: encodePayload(this.#ndeath()),
      qos: 1,
      retain: false,
    });
  }

  /**
   * Connected, and NCMD/DCMD/STATE subscribed: the births, or the wait for the primary host
   * [tck-id-message-flow-edge-node-birth-publish-phid-wait]. Once per connection.
   */
  connected(): void {
    if (this.#phase !== 'connecting') return;
    if (this.#topics.state !== undefined && !this.#hostOnline) {
      this.#phase = 'waiting-host';
      this.#host.report('info', `Sparkplug: waiting for ${this.#topics.state} to say online`);
      return;
    }
    this.#birth();
  }

  /** The connection is gone (or going): nothing more is sent on it. */
  lost(): void {
    this.#leave();
    this.#phase = 'offline';
  }

  /** A channel changed: reported in a DDATA at the end of this turn, if it changed enough. */
  channelChanged(change: ChannelChange): void {
    if (this.#phase !== 'born' || !this.#byId.has(change.id)) return;
    this.#pending.set(change.id, change);
    if (this.#flushQueued) return;
    this.#flushQueued = true;
    // Changes the driver reports in one turn (a simulation step, one poll) go in one DDATA.
    queueMicrotask(() => {
      this.#flushQueued = false;
      this.#flush();
    });
  }

  /** A message on one of {@link filters}. @returns whether it was ours to handle */
  async handle(topic: string, payload: Uint8Array): Promise<boolean> {
    const t = this.#topics;
    if (topic === t.state) this.#onState(payload);
    else if (topic === t.ncmd) await this.#onCommand(topic, payload, 'node');
    else if (topic === t.dcmd) await this.#onCommand(topic, payload, 'device');
    else return false;
    return true;
  }

  /**
   * Before a clean stop: DDEATH and NDEATH, since the DISCONNECT discards the Will
   * [tck-id-operational-behavior-edge-node-intentional-disconnect-ndeath].
   */
  async goOffline(): Promise<void> {
    const wasBorn = this.#phase === 'born';
    const connected = this.#phase !== 'offline' && this.#phase !== 'connecting';
    this.#leave();
    this.#phase = 'offline';
    if (!connected) return;
    const sent: Promise<void>[] = [];
    if (wasBorn) {
      sent.push(
        this.#send(this.#topics.ddeath, { timestamp: this.#host.now(), seq: this.#nextSeq() }),
      );
    }
    sent.push(this.#send(this.#topics.ndeath, this.#ndeath(), 1));
    await Promise.all(sent);
  }

  /** Stops what is pending. */
  stop(): void {
    this.#leave();
    this.#phase = 'offline';
  }

  #leave(): void {
    this.#pending.clear();
  }

  #nextSeq(): number {
    const seq = this.#seq;
    this.#seq = (seq + 1) % 256;
    return seq;
  }

  /** The NDEATH: the bdSeq only, Int64, no seq [tck-id-topics-ndeath-payload]. */
  #ndeath(): Payload {
    return {
      timestamp: this.#host.now(),
      metrics: [{ name: BDSEQ_METRIC, datatype: DataType.Int64, longValue: this.#bdSeq }],
    };
  }

  /**
   * NBIRTH then DBIRTH, both sent in this turn so that a change that comes after the
   * values read here is a DDATA behind them [tck-id-payloads-dbirth-order].
   */
  #birth(): void {
    this.#pending.clear();
    const now = this.#host.now();
    this.#seq = 0;
    const nbirth: Payload = {
      timestamp: now,
      seq: this.#nextSeq(),
      metrics: [
        // [tck-id-payloads-nbirth-bdseq-repeat] the Will's bdSeq, as Int64.
        { name: BDSEQ_METRIC, timestamp: now, datatype: DataType.Int64, longValue: this.#bdSeq },
        // [tck-id-operational-behavior-data-commands-rebirth-name-aliases] no alias.
        { name: REBIRTH_METRIC, timestamp: now, datatype: DataType.Boolean, booleanValue: false },
      ],
    };
    const metrics: Metric[] = [];
    this.#reported.clear();
    for (const channel of this.#channels) {
      const value = this.#host.value(channel.id);
      this.#reported.set(channel.id, value);
      metrics.push(
        channelMetric(channel, value, now, {
          aliases: this.#aliases,
          analogType: this.#analogType,
          birth: true,
        }),
      );
    }
    const dbirth: Payload = { timestamp: now, seq: this.#nextSeq(), metrics };
    this.#phase = 'born';
    const sent = [this.#send(this.#topics.nbirth, nbirth), this.#send(this.#topics.dbirth, dbirth)];
    this.#host.report(
      'info',
      `Sparkplug: born (bdSeq ${this.#bdSeq}) as ${this.#topics.nbirth}, device ${this.#topics.dbirth}`,
    );
    void Promise.all(sent);
  }

  /** One DDATA with the channels that changed beyond the deadband since last reported. */
  #flush(): void {
    if (this.#phase !== 'born' || this.#pending.size === 0) return;
    const metrics: Metric[] = [];
    for (const change of this.#pending.values()) {
      const channel = this.#byId.get(change.id);
      if (channel === undefined) continue;
      const last = this.#reported.get(change.id);
      const changed = shouldSend(
        { enabled: true, deadband: isDigital(channel.type) ? 0 : this.#deadband },
        last === undefined ? undefined : { key: String(last), value: last },
        String(change.value),
        change.value,
      );
      if (!changed) continue;
      this.#reported.set(change.id, change.value);
      metrics.push(
        channelMetric(channel, change.value, change.ts, {
          aliases: this.#aliases,
          analogType: this.#analogType,
          birth: false,
        }),
      );
    }
    this.#pending.clear();
    if (metrics.length === 0) return;
    void this.#send(this.#topics.ddata, {
      timestamp: this.#host.now(),
      seq: this.#nextSeq(),
      metrics,
    });
  }

  /**
   * Publishes, reports it (`published`, or `publish-failed`: a QoS 0 message cannot be sent
   * while the connection is down, and the next birth carries the values anyway).
   */
  async #send(topic: string, payload: Payload, qos: 0 | 1 = 0): Promise<void> {
    const text = describe(payload, this.#names);
    try {
      // Births, data and deaths are QoS 0 and not retained [tck-id-topics-nbirth-mqtt]
      // [tck-id-topics-dbirth-mqtt] [tck-id-topics-ddata-mqtt] [tck-id-topics-ddeath-mqtt].
      await this.#host.publish(topic, encodePayload(payload), { qos, retain: false });
    } catch (error) {
      this.#host.emit({
        type: 'publish-failed',
        source: 'mqtt',
        topic,
        reason: (error as Error).message,
        at: this.#host.now(),
      });
      return;
    }
    this.#host.emit({
      type: 'published',
      source: 'mqtt',
      topic,
      payload: text,
      at: this.#host.now(),
    });
  }

  /**
   * The primary host's STATE, `{"online": boolean, "timestamp": ms}` (Sparkplug 3.0). One older
   * than the newest seen is ignored [tck-id-operational-behavior-edge-node-termination-host-offline-timestamp].
   * Offline while born: NDEATH, DISCONNECT and a new connection
   * [tck-id-operational-behavior-edge-node-termination-host-offline] (which then waits for
   * the host again).
   */
  #onState(bytes: Uint8Array): void {
    const topic = this.#topics.state ?? '';
    const reject = (reason: string, text: string) =>
      this.#host.emit({
        type: 'rejected',
        source: 'mqtt',
        topic,
        payload: text,
        reason,
        at: this.#host.now(),
      });
    if (bytes.length > STATE_MAX_BYTES) {
      reject(`a STATE payload is at most ${STATE_MAX_BYTES} bytes`, `(${bytes.length} bytes)`);
      return;
    }
    const text = Buffer.from(bytes).toString('utf8');
    let state: unknown;
    try {
      state = JSON.parse(text);
    } catch {
      state = undefined;
    }
    const { online, timestamp } = (typeof state === 'object' && state !== null ? state : {}) as {
      online?: unknown;
      timestamp?: unknown;
    };
    if (
      typeof online !== 'boolean' ||
      typeof timestamp !== 'number' ||
      !Number.isFinite(timestamp)
    ) {
      reject('a STATE payload is JSON {"online": true|false, "timestamp": <ms>}', text);
      return;
    }
    if (timestamp < this.#hostTimestamp) {
      this.#host.report('info', `Sparkplug: older STATE ignored (${text})`);
      return;
    }
    this.#hostTimestamp = timestamp;
    this.#hostOnline = online;
    if (online) {
      if (this.#phase === 'waiting-host') this.#birth();
      return;
    }
    if (this.#phase !== 'born') return;
    this.#host.report('warn', 'Sparkplug: the primary host went offline: NDEATH and reconnect');
    this.#phase = 'offline';
    this.#pending.clear();
    void this.#send(this.#topics.ndeath, this.#ndeath(), 1).then(() => this.#host.reconnect());
  }

  /**
   * An NCMD (only `Node Control/Rebirth` = true is known) or a DCMD (outputs by metric name or
   * alias). Every metric is applied or refused with its reason; the command is done (and
   * acknowledged) once the outputs are written.
   */
  async #onCommand(topic: string, bytes: Uint8Array, to: 'node' | 'device'): Promise<void> {
    const at = this.#host.now();
    const reject = (reason: string, text: string) =>
      this.#host.emit({ type: 'rejected', source: 'mqtt', topic, payload: text, reason, at });
    if (bytes.length > COMMAND_MAX_BYTES) {
      reject(`a command payload is at most ${COMMAND_MAX_BYTES} bytes`, `(${bytes.length} bytes)`);
      return;
    }
    let payload: Payload;
    try {
      payload = decodePayload(bytes);
    } catch (error) {
      reject(
        `not a Sparkplug B payload: ${(error as Error).message}`,
        `hex ${Buffer.from(bytes.subarray(0, 32)).toString('hex')}`,
      );
      return;
    }
    const metrics = payload.metrics ?? [];
    if (metrics.length > COMMAND_MAX_METRICS) {
      reject(
        `a command carries at most ${COMMAND_MAX_METRICS} metrics`,
        `(${metrics.length} metrics)`,
      );
      return;
    }
    for (const metric of metrics) {
      const text = describe({ metrics: [metric] }, this.#names);
      if (to === 'node') {
        if (metric.name === REBIRTH_METRIC && metric.booleanValue === true) {
          if (this.#phase !== 'born') {
            reject(`a rebirth needs the node born (it is ${this.#phase})`, text);
            continue;
          }
          this.#host.report('info', 'Sparkplug: rebirth requested');
          this.#host.emit({ type: 'received', topic, payload: text, value: true, at });
          this.#birth();
        } else reject(`unknown node command (only ${REBIRTH_METRIC} = true is)`, text);
        continue;
      }
      const channel =
        metric.name !== undefined
          ? this.#byName.get(metric.name)
          : this.#aliases && metric.alias !== undefined
            ? this.#byId.get(metric.alias)
            : undefined;
      if (channel === undefined) {
        reject('no metric of this device has this name or alias', text);
        continue;
      }
      if (!isOutput(channel.type)) {
        reject(`${channel.name} is an ${channel.type}, it cannot be written`, text);
        continue;
      }
      const value = commandValue(metric);
      if (value === undefined) {
        reject(`${channel.name}: the metric carries no value`, text);
        continue;
      }
      try {
        await this.#host.write(channel.id, value);
      } catch (error) {
        reject((error as Error).message, text);
        continue;
      }
      this.#host.emit({ type: 'received', topic, payload: text, value, at });
    }
  }
}
