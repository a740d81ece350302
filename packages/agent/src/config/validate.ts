/**
 * Validation of a configuration: the schema, then the checks across fields.
 *
 * {@link parseConfig} either returns a complete, typed configuration or throws a
 * {@link ConfigError} listing every problem by path. Cross-field checks run on the raw input
 * even when the schema already failed, reading only the fields that have the right type, so
 * that one run reports everything.
 *
 * @module
 */

import { isIP } from 'node:net';
import { extname } from 'node:path';
import { type ParseErrorCode, printParseErrorCode, visit } from 'jsonc-parser';
import { parseDocument } from 'yaml';
import type { z } from 'zod';
import { parseTemplate } from '../formats/template.js';
import {
  CHANNEL_TYPES,
  type ChannelInfo,
  type ChannelType,
  isDigital,
  isOutput,
} from '../sources/channels.js';
import { ConfigError, type ConfigIssue, formatPath } from './errors.js';
import { modbusIssues } from './modbus-checks.js';
import { muranoIssues } from './murano.js';
import { platformIssues } from './platform.js';
import { readBoundedFile } from './read-file.js';
import { type AgentConfig, AgentConfigSchema, type ChannelConfig } from './schema.js';
import { sparkplugIssues } from './sparkplug.js';
import { checkTopicFilter, checkTopicName } from './topic.js';
import { checkWireString, type WireKind } from './wire-string.js';

/** The largest configuration file read: 4 MiB, far above any real one (4096 Redis signals). */
export const CONFIG_FILE_MAX_BYTES = 4 * 1024 * 1024;

type Raw = Record<string, unknown>;
/** Whether `v` is a plain object (not null, not an array). */
export const isObj = (v: unknown): v is Raw =>
  typeof v === 'object' && v !== null && !Array.isArray(v);
const arr = (v: unknown): unknown[] => (Array.isArray(v) ? v : []);
const str = (v: unknown): string | undefined => (typeof v === 'string' ? v : undefined);
const int = (v: unknown): number | undefined => (Number.isInteger(v) ? (v as number) : undefined);
const obj = (v: unknown): Raw => (isObj(v) ? v : {});

/** Turns a zod issue into plain words; schema-level messages take precedence over this. */
function describeIssue(issue: z.core.$ZodRawIssue): string {
  switch (issue.code) {
    case 'invalid_type': {
      if (issue.input === undefined) return 'is required';
      const expected = String(issue.expected);
      const article = /^[aeiou]/.test(expected) ? 'an' : 'a';
      return `must be ${article} ${expected === 'int' ? 'whole number' : expected}`;
    }
    case 'too_small':
      if (issue.origin === 'array') return `must have at least ${issue.minimum} entries`;
      if (issue.origin === 'string') return 'must not be empty';
      return `must be at least ${issue.minimum}`;
    case 'too_big':
      if (issue.origin === 'array') return `must have at most ${issue.maximum} entries`;
      if (issue.origin === 'string') return `must be at most ${issue.maximum} characters`;
      return `must be at most ${issue.maximum}`;
    case 'invalid_value':
      return `must be one of ${issue.values.map((v) => JSON.stringify(v)).join(', ')}`;
    default:
      return 'is not valid';
  }
}

function schemaIssues(raw: unknown): { config?: AgentConfig; issues: ConfigIssue[] } {
  const result = AgentConfigSchema.safeParse(raw, { error: describeIssue });
  if (result.success) return { config: result.data, issues: [] };
  const issues: ConfigIssue[] = [];
  for (const issue of result.error.issues) {
    if (issue.code === 'unrecognized_keys') {
      // One line per unknown key, at the key's own path: "device.chanels: unknown field".
      for (const key of issue.keys)
        issues.push({ path: formatPath([...issue.path, key]), message: 'unknown field' });
    } else {
      issues.push({ path: formatPath(issue.path), message: issue.message });
    }
  }
  return { issues };
}

const ANALOG_DEFAULTS = {
  '0-10V': { range: { min: 0, max: 10 }, unit: 'V' },
  '0-5V': { range: { min: 0, max: 5 }, unit: 'V' },
  '±10V': { range: { min: -10, max: 10 }, unit: 'V' },
  '4-20mA': { range: { min: 4, max: 20 }, unit: 'mA' },
  '0-20mA': { range: { min: 0, max: 20 }, unit: 'mA' },
} as const;

/**
 * A channel with its defaults resolved: RTD inputs read °C over -200..850 (the Pt100 span),
 * analog channels take range and unit from their signal (0-10V by default), digital channels
 * range over 0..1 without a unit, counters count from 0 without a unit.
 */
export function resolveChannel(channel: ChannelConfig): ChannelInfo {
  let range: { min: number; max: number };
  let unit: string;
  if (isDigital(channel.type)) {
    range = { min: 0, max: 1 };
    unit = '';
  } else if (channel.type === 'rtd-input') {
    range = { min: -200, max: 850 };
    unit = '°C';
  } else if (channel.type === 'counter') {
    // A count never wraps (the driver carries the register's wrap-around into it).
    range = { min: 0, max: Number.MAX_SAFE_INTEGER };
    unit = '';
  } else {
    const d = ANALOG_DEFAULTS[channel.signal ?? '0-10V'];
    range = { ...d.range };
    unit = d.unit;
  }
  return {
    id: channel.id,
    name: channel.name,
    type: channel.type,
    unit: channel.unit ?? unit,
    range: channel.range ?? range,
  };
}

function securityIssues(security: Raw, prefix: string, issues: ConfigIssue[]): void {
  const mode = str(security.authMode) ?? 'none';
  const need = (field: 'ca' | 'cert' | 'key') => {
    if (str(security[field]) === undefined || security[field] === '') {
      issues.push({ path: `${prefix}.${field}`, message: `required when authMode is "${mode}"` });
    }
  };
  if (mode === 'server') need('ca');
  if (mode === 'server+client') {
    need('ca');
    need('cert');
    need('key');
  }
  if (mode === 'psk' && !isObj(security.psk)) {
    issues.push({ path: `${prefix}.psk`, message: 'required when authMode is "psk"' });
  }
  // OpenSSL sends at most 128 bytes of identity (PSK_MAX_IDENTITY_LEN in 1.1).
  wireIssue(
    obj(security.psk).identity,
    `${prefix}.psk.identity`,
    'PSK identity',
    issues,
    'psk-identity',
  );
  if (mode === 'server' && (str(security.cert) !== undefined || str(security.key) !== undefined)) {
    issues.push({
      path: `${prefix}.authMode`,
      message: 'cert and key are set but authMode "server" does not send them; use "server+client"',
    });
  }
}

/** An issue at `path` when the string there cannot go on the wire as `field`. */
function wireIssue(
  value: unknown,
  path: string,
  field: string,
  issues: ConfigIssue[],
  kind?: WireKind,
): void {
  const v = str(value);
  if (v === undefined) return;
  const why = checkWireString(v, field, kind);
  if (why !== undefined) issues.push({ path, message: why });
}

/** The MQTT 5.0 properties a topic row may give its messages (and the Will, its own). */
const TOPIC_PROPERTIES = ['messageExpirySec', 'contentType', 'userProperties'] as const;

/**
 * A topic row's MQTT 5.0 properties: only on publish rows, only on an MQTT 5 connection
 * (3.1.1 has no properties: a row that asks for them would lose them on every message), and
 * each string sendable [MQTT-1.5.3]; a user property is a UTF-8 string pair [MQTT-1.5.7].
 */
function topicPropertyIssues(
  row: Record<string, unknown>,
  at: string,
  direction: 'publish' | 'subscribe' | undefined,
  v5: boolean,
  issues: ConfigIssue[],
): void {
  for (const field of TOPIC_PROPERTIES) {
    if (row[field] === undefined) continue;
    if (direction === 'subscribe') {
      issues.push({ path: `${at}.${field}`, message: 'only publish rows have this setting' });
    } else if (!v5) {
      issues.push({
        path: `${at}.${field}`,
        message: `is an MQTT 5 message property: set connection.protocolVersion to "5" (${at} publishes on ${JSON.stringify(str(row.topic) ?? '')})`,
      });
    }
  }
  wireIssue(row.contentType, `${at}.contentType`, 'content type', issues);
  arr(row.userProperties).forEach((p, i) => {
    const pair = obj(p);
    wireIssue(pair.name, `${at}.userProperties[${i}].name`, 'user property name', issues);
    wireIssue(pair.value, `${at}.userProperties[${i}].value`, 'user property value', issues);
  });
}

/**
 * Why `server` cannot be the host of a URL, or undefined. A scheme, a port or a path typed into
 * it would otherwise make a different URL than meant (`broker/x` connects to `broker`).
 */
function hostIssue(server: string): string | undefined {
  if (server === '' || isIP(server) !== 0) return undefined;
  if (/[\s/?#@\\[\]:%]/.test(server))
    return 'must be a host name or an IP address alone: no scheme, port (see port) or path';
  return undefined;
}

function loginIssues(login: Raw, prefix: string, issues: ConfigIssue[]): void {
  wireIssue(login.username, `${prefix}.username`, 'user name', issues);
  // A password is binary data [MQTT-3.1.3.5]: U+0000 is allowed, a lone surrogate is not
  // (it would be sent as U+FFFD, a password nobody set). The message never shows it.
  const password = str(login.password);
  if (password !== undefined) {
    const why = checkWireString(password, 'password', 'binary');
    if (why !== undefined) issues.push({ path: `${prefix}.password`, message: why });
  }
  if (str(login.password) !== undefined && str(login.username) === undefined) {
    // [MQTT-3.1.2-22] no password without a user name in MQTT 3.1.1.
    issues.push({
      path: `${prefix}.password`,
      message: 'needs a username (MQTT 3.1.1 sends no password alone)',
    });
  }
}

/**
 * Home Assistant discovery: the availability topic is a topic name; with a Will configured,
 * the Will is the availability topic and its message must say "offline" in words.
 */
function homeAssistantIssues(raw: Raw, issues: ConfigIssue[]): void {
  const ha = obj(raw.homeassistant);
  const lwt = obj(raw.lwt);
  const availability = str(ha.availabilityTopic);
  if (availability !== undefined) {
    const why = checkTopicName(availability);
    if (why !== undefined) issues.push({ path: 'homeassistant.availabilityTopic', message: why });
  }
  const prefix = str(ha.prefix);
  if (prefix !== undefined) {
    const why = checkTopicName(`${prefix}/status`);
    if (why !== undefined) issues.push({ path: 'homeassistant.prefix', message: why });
  }
  if (ha.discovery !== true || str(lwt.topic) === undefined) return;
  if (availability !== undefined) {
    issues.push({
      path: 'homeassistant.availabilityTopic',
      message: 'the Will topic (lwt.topic) is the availability topic when set: remove one of them',
    });
  }
  if (str(lwt.message) === undefined || lwt.message === '') {
    issues.push({
      path: 'lwt.message',
      message:
        'Home Assistant discovery uses the Will as availability: give it a message such as "offline"',
    });
  }
}

/**
 * `lwt.delaySec` is the MQTT 5.0 Will Delay Interval; the server publishes the Will when the
 * session ends if that comes first [MQTT-3.1.3-9], so a delay with a session that ends with
 * the connection would be silently void.
 */
function willDelayIssues(
  connection: Record<string, unknown>,
  lwt: Record<string, unknown>,
  issues: ConfigIssue[],
): void {
  const delay = lwt.delaySec;
  if (delay === undefined) return;
  if (connection.protocolVersion !== '5') {
    issues.push({
      path: 'lwt.delaySec',
      message: 'is an MQTT 5 setting: set connection.protocolVersion to "5"',
    });
    return;
  }
  if (str(lwt.topic) === undefined) {
    issues.push({ path: 'lwt.delaySec', message: 'needs lwt.topic (there is no Will without it)' });
    return;
  }
  const sessionEnds =
    connection.sessionExpirySec === 0 ||
    (connection.sessionExpirySec === undefined && connection.cleanSession !== false);
  if (typeof delay === 'number' && delay > 0 && sessionEnds) {
    issues.push({
      path: 'lwt.delaySec',
      message:
        'has no effect: the session ends with the connection and the server then publishes the Will at once; set connection.sessionExpirySec (or cleanSession false)',
    });
  }
}

/**
 * The Will's MQTT 5.0 message properties: only on an MQTT 5 connection (a 3.1.1 CONNECT has no
 * Will properties: they would be lost), only with a Will, each string sendable.
 */
function willPropertyIssues(
  connection: Record<string, unknown>,
  lwt: Record<string, unknown>,
  issues: ConfigIssue[],
): void {
  for (const field of TOPIC_PROPERTIES) {
    if (lwt[field] === undefined) continue;
    if (connection.protocolVersion !== '5') {
      issues.push({
        path: `lwt.${field}`,
        message: 'is an MQTT 5 Will property: set connection.protocolVersion to "5"',
      });
    } else if (str(lwt.topic) === undefined) {
      issues.push({
        path: `lwt.${field}`,
        message: 'needs lwt.topic (there is no Will without it)',
      });
    }
  }
  wireIssue(lwt.contentType, 'lwt.contentType', 'content type', issues);
  arr(lwt.userProperties).forEach((p, i) => {
    const pair = obj(p);
    wireIssue(pair.name, `lwt.userProperties[${i}].name`, 'user property name', issues);
    wireIssue(pair.value, `lwt.userProperties[${i}].value`, 'user property value', issues);
  });
}

/** The checks across fields, on the raw input. */
function crossIssues(raw: unknown): ConfigIssue[] {
  const issues: ConfigIssue[] = platformIssues(raw);
  if (!isObj(raw)) return issues;
  const connection = obj(raw.connection);
  if (connection.cleanSession === false && (str(connection.clientId) ?? '') === '') {
    issues.push({ path: 'connection.clientId', message: 'must be set when cleanSession is false' });
  }
  if (connection.ipv4 === false && connection.ipv6 === false) {
    issues.push({ path: 'connection.ipv6', message: 'ipv4 and ipv6 cannot both be false' });
  }
  const server = str(connection.server);
  const badHost = server === undefined ? undefined : hostIssue(server);
  if (badHost !== undefined) issues.push({ path: 'connection.server', message: badHost });
  wireIssue(connection.clientId, 'connection.clientId', 'client id', issues);
  if (connection.dns === false && server !== undefined && server !== '' && isIP(server) === 0) {
    issues.push({ path: 'connection.server', message: 'must be an IP address when dns is false' });
  }
  loginIssues(obj(raw.login), 'login', issues);
  securityIssues(obj(raw.security), 'security', issues);

  const lwt = obj(raw.lwt);
  const lwtTopic = str(lwt.topic);
  if (lwtTopic !== undefined) {
    const why = checkTopicName(lwtTopic);
    if (why !== undefined) issues.push({ path: 'lwt.topic', message: why });
  } else if (str(lwt.message) !== undefined && lwt.message !== '') {
    issues.push({ path: 'lwt.topic', message: 'required when lwt.message is set' });
  }
  // The Will payload is binary data with a two-byte length [MQTT-3.1.3.4].
  wireIssue(lwt.message, 'lwt.message', 'Will message', issues, 'binary');
  homeAssistantIssues(raw, issues);
  if (connection.sessionExpirySec !== undefined && connection.protocolVersion !== '5') {
    issues.push({
      path: 'connection.sessionExpirySec',
      message: 'is an MQTT 5 setting: set connection.protocolVersion to "5"',
    });
  }
  willDelayIssues(connection, lwt, issues);
  willPropertyIssues(connection, lwt, issues);
  sparkplugIssues(raw, issues);
  muranoIssues(raw, issues);

  const reconnect = obj(raw.reconnect);
  const min = typeof reconnect.minDelaySec === 'number' ? reconnect.minDelaySec : 2;
  const max = typeof reconnect.maxDelaySec === 'number' ? reconnect.maxDelaySec : 60;
  if (min > max) {
    issues.push({
      path: 'reconnect.maxDelaySec',
      message: `must be at least minDelaySec (${min})`,
    });
  }

  if (isObj(raw.backup)) {
    const backupServer = str(obj(raw.backup.connection).server);
    const badBackup = backupServer === undefined ? undefined : hostIssue(backupServer);
    if (badBackup !== undefined)
      issues.push({ path: 'backup.connection.server', message: badBackup });
    loginIssues(obj(raw.backup.login), 'backup.login', issues);
    securityIssues(obj(raw.backup.security), 'backup.security', issues);
  }

  const limits = obj(raw.limits);
  const maxChannels = int(limits.channels) ?? 16;
  const maxTopics = int(limits.topics) ?? 16;

  // Channels: unique ids, sane ranges, within the limit.
  const device = obj(raw.device);
  const channels = arr(device.channels);
  if (channels.length > maxChannels) {
    issues.push({
      path: 'device.channels',
      message: `at most ${maxChannels} channels are allowed (limits.channels)`,
    });
  }
  const byId = new Map<number, { index: number; type: ChannelType | undefined; name: string }>();
  channels.forEach((c, index) => {
    const ch = obj(c);
    const id = int(ch.id);
    const type = CHANNEL_TYPES.find((t) => t === ch.type);
    if (id !== undefined) {
      const first = byId.get(id);
      if (first !== undefined) {
        issues.push({
          path: `device.channels[${index}].id`,
          message: `duplicate id ${id} (also device.channels[${first.index}])`,
        });
      } else byId.set(id, { index, type, name: str(ch.name) ?? '' });
    }
    const range = obj(ch.range);
    if (typeof range.min === 'number' && typeof range.max === 'number' && range.min >= range.max) {
      issues.push({
        path: `device.channels[${index}].range.max`,
        message: 'must be greater than range.min',
      });
    }
    if (
      ch.signal !== undefined &&
      type !== undefined &&
      type !== 'analog-input' &&
      type !== 'analog-output'
    ) {
      issues.push({
        path: `device.channels[${index}].signal`,
        message: 'only analog channels have a signal',
      });
    }
  });

  modbusIssues(device, issues);

  // The topic table.
  const topics = arr(raw.topics);
  if (topics.length > maxTopics) {
    issues.push({
      path: 'topics',
      message: `at most ${maxTopics} topic rows are allowed (limits.topics)`,
    });
  }
  const seen = new Map<string, number>();
  topics.forEach((t, index) => {
    const row = obj(t);
    const at = `topics[${index}]`;
    const direction =
      row.direction === 'publish' || row.direction === 'subscribe' ? row.direction : undefined;
    const topic = str(row.topic);
    if (topic !== undefined && topic !== '' && direction !== undefined) {
      const why = direction === 'publish' ? checkTopicName(topic) : checkTopicFilter(topic);
      if (why !== undefined) issues.push({ path: `${at}.topic`, message: why });
      const key = `${direction}\u0000${topic}`;
      const first = seen.get(key);
      if (first !== undefined) {
        issues.push({
          path: `${at}.topic`,
          message: `duplicate of topics[${first}] (same topic and direction)`,
        });
      } else seen.set(key, index);
    }
    const id = int(row.channel);
    const channel = id === undefined ? undefined : byId.get(id);
    if (id !== undefined && id >= 0 && channel === undefined) {
      issues.push({
        path: `${at}.channel`,
        message: `no channel with id ${id} in device.channels`,
      });
    }
    if (direction === 'subscribe') {
      if (channel?.type !== undefined && !isOutput(channel.type)) {
        issues.push({
          path: `${at}.channel`,
          message: `channel ${id} (${channel.name}) is an ${channel.type}; a subscribe row needs an output channel`,
        });
      }
      // The defaults (threshold false, deadband 0) are no setting: a configuration with every
      // default written out, as the console saves it, must validate again.
      const set = {
        pubIntervalMs: row.pubIntervalMs !== undefined,
        threshold: row.threshold !== undefined && row.threshold !== false,
        deadband: row.deadband !== undefined && row.deadband !== 0,
      };
      for (const field of ['pubIntervalMs', 'threshold', 'deadband'] as const) {
        if (set[field])
          issues.push({ path: `${at}.${field}`, message: 'only publish rows have this setting' });
      }
      const format = obj(row.format);
      if (format.type === 'template' && typeof format.template === 'string') {
        const parts = parseTemplate(format.template);
        const values =
          typeof parts === 'string'
            ? 1
            : parts.filter((p) => 'placeholder' in p && p.placeholder === 'value').length;
        if (values !== 1) {
          issues.push({
            path: `${at}.format.template`,
            message: 'a subscribe row needs exactly one {value} to read',
          });
        }
      }
    }
    topicPropertyIssues(row, at, direction, connection.protocolVersion === '5', issues);
    if (direction === 'publish' && typeof row.deadband === 'number' && row.deadband > 0) {
      if (row.threshold !== true)
        issues.push({ path: `${at}.deadband`, message: 'needs threshold: true' });
      if (channel?.type !== undefined && isDigital(channel.type)) {
        issues.push({ path: `${at}.deadband`, message: 'digital channels have no deadband' });
      }
    }
  });

  // The Redis bridge.
  const redis = obj(raw.redis);
  const aliases = new Map<string, number>();
  arr(redis.devices).forEach((d, index) => {
    const alias = str(obj(d).deviceAlias);
    if (alias === undefined) return;
    const first = aliases.get(alias);
    if (first !== undefined) {
      issues.push({
        path: `redis.devices[${index}].deviceAlias`,
        message: `duplicate of redis.devices[${first}]`,
      });
    } else aliases.set(alias, index);
  });
  const signals = new Map<string, number>();
  arr(redis.signals).forEach((s, index) => {
    const signal = obj(s);
    const device = str(signal.deviceAlias);
    if (device !== undefined && device !== '' && !aliases.has(device)) {
      issues.push({
        path: `redis.signals[${index}].deviceAlias`,
        message: `no device "${device}" in redis.devices`,
      });
    }
    const alias = str(signal.signalAlias);
    if (device !== undefined && alias !== undefined) {
      const key = `${device}/${alias}`;
      const first = signals.get(key);
      if (first !== undefined) {
        issues.push({
          path: `redis.signals[${index}].signalAlias`,
          message: `duplicate of redis.signals[${first}] in device "${device}"`,
        });
      } else signals.set(key, index);
    }
    for (const field of ['sourceDeviceAlias', 'sourceSignalAlias'] as const) {
      const v = str(signal[field]);
      if (v?.includes('/'))
        issues.push({ path: `redis.signals[${index}].${field}`, message: 'must not contain "/"' });
    }
    const topic = str(signal.topic);
    if (topic !== undefined) {
      const why = checkTopicName(topic);
      if (why !== undefined) issues.push({ path: `redis.signals[${index}].topic`, message: why });
    }
  });
  return issues;
}

const SECTION_ORDER = Object.keys(AgentConfigSchema.shape);

/**
 * Orders issues as the file is: by section, then by table (`redis.devices` before
 * `redis.signals`), then by row index; stable otherwise, which keeps the schema's own order.
 */
function sortIssues(issues: ConfigIssue[]): ConfigIssue[] {
  const rank = (path: string): [number, string, number] => {
    const section = /^[^.[]+/.exec(path)?.[0] ?? '';
    const bracket = path.indexOf('[');
    const index = /\[(\d+)\]/.exec(path)?.[1];
    const s = SECTION_ORDER.indexOf(section);
    return [
      s < 0 ? -1 : s,
      bracket < 0 ? '' : path.slice(0, bracket),
      index === undefined ? -1 : Number(index),
    ];
  };
  return issues
    .map((issue, order) => ({ issue, order, rank: rank(issue.path) }))
    .sort(
      (a, b) =>
        a.rank[0] - b.rank[0] ||
        (a.rank[1] < b.rank[1] ? -1 : a.rank[1] > b.rank[1] ? 1 : 0) ||
        a.rank[2] - b.rank[2] ||
        a.order - b.order,
    )
    .map((x) => x.issue);
}

/**
 * Validates a configuration object (parsed JSON or YAML).
 * @param file the file it came from, named in the error
 * @returns the configuration with every default filled in
 * @throws {ConfigError} listing every problem by path
 */
export function parseConfig(raw: unknown, file?: string): AgentConfig {
  const { config, issues } = schemaIssues(raw);
  const seen = new Set(issues.map((i) => `${i.path}\u0000${i.message}`));
  for (const issue of crossIssues(raw)) {
    // A path the schema already rejected needs no second opinion.
    if (issues.some((i) => i.path === issue.path)) continue;
    const key = `${issue.path}\u0000${issue.message}`;
    if (!seen.has(key)) issues.push(issue);
    seen.add(key);
  }
  if (issues.length > 0 || config === undefined) throw new ConfigError(sortIssues(issues), file);
  return config;
}

/**
 * Checks a configuration without throwing, for the console's "validate" button.
 * @returns the configuration, or the issues
 */
export function validateConfig(
  raw: unknown,
): { ok: true; config: AgentConfig } | { ok: false; issues: readonly ConfigIssue[] } {
  try {
    return { ok: true, config: parseConfig(raw) };
  } catch (error) {
    if (error instanceof ConfigError) return { ok: false, issues: error.issues };
    throw error;
  }
}

/** Whether a configuration file is YAML (`.yaml`/`.yml`); any other is JSON. */
export function isYamlFile(file: string): boolean {
  const ext = extname(file).toLowerCase();
  return ext === '.yaml' || ext === '.yml';
}

/** Plain words for the syntax errors of `jsonc-parser`. */
const JSON_ERRORS: Partial<Record<string, string>> = {
  InvalidSymbol: 'unexpected character',
  InvalidNumberFormat: 'malformed number',
  PropertyNameExpected: 'expected a property name in double quotes',
  ValueExpected: 'expected a value',
  ColonExpected: 'expected ":"',
  CommaExpected: 'expected ","',
  CloseBraceExpected: 'expected "," or "}"',
  CloseBracketExpected: 'expected "," or "]"',
  EndOfFileExpected: 'unexpected text after the end',
  InvalidCommentToken: 'comments are not allowed in JSON',
  UnexpectedEndOfComment: 'unterminated comment',
  UnexpectedEndOfString: 'unterminated string',
  UnexpectedEndOfNumber: 'malformed number',
  InvalidUnicode: 'malformed \\u escape',
  InvalidEscapeCharacter: 'invalid escape in a string',
  InvalidCharacter: 'control character in a string (escape it)',
};

const at = (line: number, column: number) => `line ${line + 1}, column ${column + 1}`;

/**
 * Parses JSON strictly: the first syntax error and every duplicate key, each with line and
 * column. `jsonc-parser` (strict mode: no comments, no trailing commas) finds where; `JSON.parse`
 * stays the authority on the value, so nothing it would refuse is accepted.
 */
function parseJson(text: string): { raw?: unknown; issues: ConfigIssue[] } {
  const issues: ConfigIssue[] = [];
  let syntax: ConfigIssue | undefined;
  // One map of keys per open object: [line, column] where each key was first seen.
  const objects: Map<string, [number, number]>[] = [];
  visit(
    text,
    {
      onObjectBegin: () => {
        objects.push(new Map());
      },
      onObjectEnd: () => {
        objects.pop();
      },
      onObjectProperty: (key, _offset, _length, line, column, pathOf) => {
        const keys = objects.at(-1);
        const first = keys?.get(key);
        if (first === undefined) keys?.set(key, [line, column]);
        else
          issues.push({
            path: formatPath([...pathOf(), key]),
            message: `duplicate key at ${at(line, column)} (first at ${at(...first)})`,
          });
      },
      onError: (code: ParseErrorCode, _offset, _length, line, column) => {
        // After the first error the parser recovers and reports what follows from it.
        const name = printParseErrorCode(code);
        syntax ??= {
          path: '(root)',
          message: `not valid JSON at ${at(line, column)}: ${JSON_ERRORS[name] ?? name}`,
        };
      },
    },
    { disallowComments: true, allowTrailingComma: false, allowEmptyContent: false },
  );
  if (syntax !== undefined) return { issues: [syntax] };
  if (issues.length > 0) return { issues };
  try {
    return { raw: JSON.parse(text), issues };
  } catch (error) {
    return {
      issues: [{ path: '(root)', message: `not valid JSON: ${(error as Error).message}` }],
    };
  }
}

/** Parses YAML; errors (a duplicate key among them) carry line and column. */
function parseYamlText(text: string): { raw?: unknown; issues: ConfigIssue[] } {
  const doc = parseDocument(text, { uniqueKeys: true });
  const error = doc.errors[0];
  if (error === undefined) return { raw: doc.toJS({ maxAliasCount: 100 }), issues: [] };
  const pos = error.linePos?.[0];
  // The message ends with "at line L, column C:" and a snippet of the file: keep the words.
  const words = (error.message.split('\n')[0] ?? '').replace(/ at line \d+, column \d+:?$/, '');
  const where = pos === undefined ? '' : ` at ${at(pos.line - 1, pos.col - 1)}`;
  return { issues: [{ path: '(root)', message: `not valid YAML${where}: ${words}` }] };
}

/**
 * Parses configuration text: YAML when `file` ends in `.yaml`/`.yml`, otherwise JSON. A UTF-8
 * byte order mark at the start is skipped (editors on Windows write one).
 * @throws {ConfigError} for syntax errors and duplicate keys (with line and column) and every
 *   schema problem
 */
export function parseConfigText(text: string, file?: string): AgentConfig {
  const body = text.charCodeAt(0) === 0xfeff ? text.slice(1) : text;
  const { raw, issues } =
    file !== undefined && isYamlFile(file) ? parseYamlText(body) : parseJson(body);
  if (issues.length > 0) throw new ConfigError(issues, file);
  return parseConfig(raw, file);
}

/**
 * Reads and validates a configuration file (a regular file of at most
 * {@link CONFIG_FILE_MAX_BYTES}).
 * @throws {ConfigError} when the file cannot be read or is not valid
 */
export async function loadConfig(file: string): Promise<AgentConfig> {
  let text: string;
  try {
    text = await readBoundedFile(file, CONFIG_FILE_MAX_BYTES);
  } catch (error) {
    throw new ConfigError(
      [{ path: '(root)', message: `cannot read the file: ${(error as Error).message}` }],
      file,
    );
  }
  return parseConfigText(text, file);
}
