/**
 * Home Assistant MQTT discovery, device-based: one retained configuration per device on
 * `<prefix>/device/<node_id>/config` holding the device (`dev`), the origin (`o`), the shared
 * availability and QoS, and one component per channel under `cmps` (Home Assistant 2024.11 and
 * later; see docs/integrations.md for the rules and their source).
 *
 * The entities come from the agent's own topic table, so every topic announced is one the
 * agent publishes or listens to:
 *
 * | channel type     | component       | needs                                             |
 * |------------------|-----------------|---------------------------------------------------|
 * | digital output   | `switch`        | a subscribe row (command); a publish row (state)  |
 * | digital input    | `binary_sensor` | a publish row (state)                             |
 * | RTD, analog in   | `sensor`        | a publish row (state)                             |
 * | counter          | `sensor` (total increasing) | a publish row (state)                 |
 * | analog output    | `number`        | a subscribe row (command); a publish row (state)  |
 *
 * A channel without the rows its component needs, or whose rows use a format Home Assistant
 * cannot read back (a free template), is left out and the reason is reported: nothing is
 * skipped silently.
 *
 * @module
 */

import { availabilityOf, nodeIdOf } from '../config/home-assistant.js';
import type { AgentConfig, TopicRowConfig } from '../config/schema.js';
import type { ChannelInfo } from '../sources/channels.js';

/** The Home Assistant component of one channel, as published under `cmps`. */
export type Component = Record<string, unknown> & { readonly p: string };

/** The device-based discovery payload. */
export interface DiscoveryPayload {
  readonly dev: Record<string, unknown>;
  readonly o: Record<string, unknown>;
  readonly cmps: Record<string, Component>;
  readonly [shared: string]: unknown;
}

/** What {@link buildDiscovery} made of a configuration. */
export interface Discovery {
  /** `<prefix>/device/<node_id>/config`. */
  readonly topic: string;
  readonly payload: DiscoveryPayload;
  /** Channels left out, with why. */
  readonly skipped: readonly { readonly channel: number; readonly reason: string }[];
}

/** How Home Assistant reads a state payload of this row's format. */
function stateReading(
  row: TopicRowConfig,
  digital: boolean,
): Record<string, unknown> | string | undefined {
  const f = row.format;
  switch (f.type) {
    case 'boolean':
      return digital ? { on: f.on, off: f.off } : 'a boolean format on an analog channel';
    case 'number':
      if (digital) return { on: '1', off: '0' };
      return f.withUnit ? { value_template: "{{ value.split(' ')[0] }}" } : {};
    case 'json':
      return digital
        ? { value_template: "{{ 'ON' if value_json.value else 'OFF' }}", on: 'ON', off: 'OFF' }
        : { value_template: '{{ value_json.value }}' };
    case 'wcc':
      return digital
        ? { value_template: "{{ value.split(',')[0] }}", on: '1', off: '0' }
        : { value_template: "{{ value.split(',')[0] }}" };
    default:
      return `its state row ${row.topic} uses a ${f.type} format Home Assistant cannot read back`;
  }
}

/** How Home Assistant writes a command in this row's format. */
function commandWriting(row: TopicRowConfig, digital: boolean): Record<string, unknown> | string {
  const f = row.format;
  if (digital) {
    if (f.type === 'boolean') return { on: f.on, off: f.off };
    return `its command row ${row.topic} must use the boolean format (on/off words) for a switch`;
  }
  switch (f.type) {
    case 'number':
      return {};
    case 'json':
      return { command_template: '{"value": {{ value }}}' };
    default:
      return `its command row ${row.topic} must use the number or json format for a number entity`;
  }
}

/** The first enabled row of `direction` for a channel, with a plain topic (no wildcard). */
function rowFor(
  rows: readonly TopicRowConfig[],
  channel: number,
  direction: 'publish' | 'subscribe',
): TopicRowConfig | undefined {
  return rows.find(
    (r) =>
      r.enabled &&
      r.channel === channel &&
      r.direction === direction &&
      !r.topic.includes('+') &&
      !r.topic.includes('#'),
  );
}

/** The component of one channel, or why there is none. */
function componentOf(
  channel: ChannelInfo,
  rows: readonly TopicRowConfig[],
  uniqueId: string,
): Component | string {
  const state = rowFor(rows, channel.id, 'publish');
  const command = rowFor(rows, channel.id, 'subscribe');
  const base = { name: channel.name, unique_id: uniqueId };
  const digital = channel.type === 'digital-input' || channel.type === 'digital-output';
  const stateRead = state === undefined ? undefined : stateReading(state, digital);
  if (typeof stateRead === 'string') return stateRead;
  switch (channel.type) {
    case 'digital-output': {
      if (command === undefined) return 'a switch needs a subscribe row for its command topic';
      const write = commandWriting(command, true);
      if (typeof write === 'string') return write;
      return {
        p: 'switch',
        ...base,
        command_topic: command.topic,
        payload_on: write.on,
        payload_off: write.off,
        ...(state === undefined || stateRead === undefined
          ? { optimistic: true }
          : {
              state_topic: state.topic,
              state_on: stateRead.on,
              state_off: stateRead.off,
              ...(stateRead.value_template === undefined
                ? {}
                : { value_template: stateRead.value_template }),
            }),
      };
    }
    case 'digital-input':
      if (state === undefined || stateRead === undefined)
        return 'a binary sensor needs a publish row for its state topic';
      return {
        p: 'binary_sensor',
        ...base,
        state_topic: state.topic,
        payload_on: stateRead.on,
        payload_off: stateRead.off,
        ...(stateRead.value_template === undefined
          ? {}
          : { value_template: stateRead.value_template }),
      };
    case 'rtd-input':
    case 'analog-input': {
      if (state === undefined || stateRead === undefined)
        return 'a sensor needs a publish row for its state topic';
      const deviceClass = deviceClassOf(channel);
      return {
        p: 'sensor',
        ...base,
        state_topic: state.topic,
        ...(deviceClass === undefined ? {} : { device_class: deviceClass }),
        ...(channel.unit === '' ? {} : { unit_of_measurement: channel.unit }),
        state_class: 'measurement',
        ...stateRead,
      };
    }
    case 'counter':
      if (state === undefined || stateRead === undefined)
        return 'a sensor needs a publish row for its state topic';
      // A pulse count only grows (the driver carries it over the register's wrap-around).
      return {
        p: 'sensor',
        ...base,
        state_topic: state.topic,
        ...(channel.unit === '' ? {} : { unit_of_measurement: channel.unit }),
        state_class: 'total_increasing',
        ...stateRead,
      };
    case 'analog-output': {
      if (command === undefined) return 'a number needs a subscribe row for its command topic';
      const write = commandWriting(command, false);
      if (typeof write === 'string') return write;
      return {
        p: 'number',
        ...base,
        command_topic: command.topic,
        ...write,
        min: channel.range.min,
        max: channel.range.max,
        step: stepOf(channel.range.max - channel.range.min),
        mode: 'box',
        ...(channel.unit === '' ? {} : { unit_of_measurement: channel.unit }),
        ...(state === undefined || stateRead === undefined
          ? { optimistic: true }
          : { state_topic: state.topic, ...stateRead }),
      };
    }
  }
}

/** Home Assistant's sensor device class for a channel's unit. */
function deviceClassOf(channel: ChannelInfo): string | undefined {
  if (channel.type === 'rtd-input') return 'temperature';
  switch (channel.unit) {
    case '°C':
    case '°F':
    case 'K':
      return 'temperature';
    case 'V':
    case 'mV':
      return 'voltage';
    case 'A':
    case 'mA':
      return 'current';
    default:
      return undefined;
  }
}

/** A step that gives about a thousand positions over the range, as a power of ten. */
function stepOf(span: number): number {
  if (!(span > 0)) return 1;
  return 10 ** Math.floor(Math.log10(span / 1000) + 1e-9);
}

/**
 * The device-based discovery of the agent's channels.
 * @param removed component ids announced before and gone now: each is sent with only its
 *   platform, which is how Home Assistant removes a component of a device
 */
export function buildDiscovery(
  config: AgentConfig,
  channels: readonly ChannelInfo[],
  version: string,
  removed: ReadonlyMap<string, string> = new Map(),
): Discovery {
  const nodeId = nodeIdOf(config);
  const availability = availabilityOf(config);
  const cmps: Record<string, Component> = {};
  const skipped: { channel: number; reason: string }[] = [];
  for (const channel of channels) {
    const id = `ch${channel.id}`;
    const component = componentOf(channel, config.topics, `${nodeId}_${id}`);
    if (typeof component === 'string') skipped.push({ channel: channel.id, reason: component });
    else cmps[id] = component;
  }
  for (const [id, platform] of removed) if (cmps[id] === undefined) cmps[id] = { p: platform };
  return {
    topic: `${config.homeassistant.prefix}/device/${nodeId}/config`,
    payload: {
      dev: {
        ids: [nodeId],
        name: config.device.name,
        mf: 'Courier',
        mdl: `${config.device.driver} I/O module`,
        sw: version,
      },
      o: { name: 'courier', sw: version },
      availability_topic: availability.topic,
      payload_available: availability.online,
      payload_not_available: availability.offline,
      qos: config.homeassistant.qos,
      cmps,
    },
    skipped,
  };
}

/**
 * The components a retained discovery payload of ours announced that `current` no longer has
 * (component id → platform). Components already sent with only their platform are gone.
 */
export function removedComponents(
  previous: unknown,
  current: DiscoveryPayload,
): Map<string, string> {
  const gone = new Map<string, string>();
  if (typeof previous !== 'object' || previous === null) return gone;
  const cmps = (previous as { cmps?: unknown }).cmps;
  if (typeof cmps !== 'object' || cmps === null) return gone;
  for (const [id, component] of Object.entries(cmps)) {
    if (typeof component !== 'object' || component === null) continue;
    const { p, ...rest } = component as { p?: unknown };
    if (typeof p !== 'string' || Object.keys(rest).length === 0) continue;
    if (current.cmps[id] === undefined) gone.set(id, p);
  }
  return gone;
}

/** What {@link HomeAssistantLink} needs from the agent. */
export interface HomeAssistantHost {
  publish(
    topic: string,
    payload: string,
    options: { qos: 0 | 1 | 2; retain: boolean },
  ): Promise<void>;
  /** A line for the log: what was announced, what was left out and why. */
  report(level: 'info' | 'warn', message: string, details?: Record<string, unknown>): void;
  /** Timers, so that tests can step them. */
  setTimeout(fn: () => void, ms: number): () => void;
  random(): number;
}

/**
 * The agent's side of Home Assistant: the birth message and the discovery on every
 * connection, the discovery again when Home Assistant announces itself online (after a random
 * delay, so that a fleet does not answer at once), "offline" before a clean stop (a clean
 * DISCONNECT discards the Will), and the removal of components a previous configuration had.
 */
export class HomeAssistantLink {
  readonly #config: AgentConfig;
  readonly #channels: readonly ChannelInfo[];
  readonly #version: string;
  readonly #host: HomeAssistantHost;
  readonly #availability: ReturnType<typeof availabilityOf>;
  readonly #statusTopic: string;
  #discovery: Discovery;
  #cancelRediscover: (() => void) | undefined;

  constructor(
    config: AgentConfig,
    channels: readonly ChannelInfo[],
    version: string,
    host: HomeAssistantHost,
  ) {
    this.#config = config;
    this.#channels = channels;
    this.#version = version;
    this.#host = host;
    this.#availability = availabilityOf(config);
    this.#statusTopic = `${config.homeassistant.prefix}/status`;
    this.#discovery = buildDiscovery(config, channels, version);
    for (const { channel, reason } of this.#discovery.skipped) {
      host.report('warn', `Home Assistant: channel ${channel} not announced: ${reason}`, {
        channel,
      });
    }
  }

  /** The discovery topic and payload in force. */
  get discovery(): Discovery {
    return this.#discovery;
  }

  /** Home Assistant's status topic, and our own discovery topic (to see what it holds). */
  filters(): { topic: string; qos: 0 | 1 | 2 }[] {
    return [
      { topic: this.#statusTopic, qos: 1 },
      { topic: this.#discovery.topic, qos: 1 },
    ];
  }

  /** On every connection: online, then the discovery (both retained). */
  async announce(): Promise<void> {
    const a = this.#availability;
    await this.#host.publish(a.topic, a.online, { qos: a.qos, retain: a.retain });
    await this.#publishDiscovery();
  }

  /** A message on one of {@link filters}. @returns whether it was ours to handle */
  async handle(topic: string, payload: Uint8Array): Promise<boolean> {
    if (topic === this.#statusTopic) {
      if (new TextDecoder().decode(payload) === 'online') this.#scheduleRediscover();
      return true;
    }
    if (topic !== this.#discovery.topic) return false;
    // Our own retained configuration (a previous run's, or the echo of ours).
    let previous: unknown;
    try {
      previous = JSON.parse(new TextDecoder().decode(payload));
    } catch {
      previous = undefined;
    }
    if (this.forget(previous)) await this.#publishDiscovery();
    return true;
  }

  /**
   * Components that `previous` (a discovery payload of ours) announced and we no longer have
   * are removed by the next discovery sent: each goes with only its platform.
   * @returns whether the discovery changed (and should be sent)
   */
  forget(previous: unknown): boolean {
    const removed = removedComponents(previous, this.#discovery.payload);
    if (removed.size === 0) return false;
    this.#discovery = buildDiscovery(this.#config, this.#channels, this.#version, removed);
    this.#host.report('info', `Home Assistant: removing ${[...removed.keys()].join(', ')}`);
    return true;
  }

  /** Before a clean stop: say offline (the Will is discarded by DISCONNECT). */
  async goOffline(): Promise<void> {
    this.#cancelRediscover?.();
    this.#cancelRediscover = undefined;
    const a = this.#availability;
    await this.#host.publish(a.topic, a.offline, { qos: a.qos, retain: a.retain });
  }

  /** Stops the pending re-announcement. */
  stop(): void {
    this.#cancelRediscover?.();
    this.#cancelRediscover = undefined;
  }

  #scheduleRediscover(): void {
    if (this.#cancelRediscover !== undefined) return;
    const delay = Math.floor(this.#host.random() * this.#config.homeassistant.rediscoverMaxDelayMs);
    this.#cancelRediscover = this.#host.setTimeout(() => {
      this.#cancelRediscover = undefined;
      this.announce().catch((error: unknown) =>
        this.#host.report(
          'warn',
          `Home Assistant: discovery not sent: ${(error as Error).message}`,
        ),
      );
    }, delay);
  }

  async #publishDiscovery(): Promise<void> {
    const d = this.#discovery;
    await this.#host.publish(d.topic, JSON.stringify(d.payload), {
      qos: this.#config.homeassistant.qos as 0 | 1 | 2,
      retain: true,
    });
    this.#host.report(
      'info',
      `Home Assistant: ${Object.keys(d.payload.cmps).length} components announced on ${d.topic}`,
    );
  }
}
