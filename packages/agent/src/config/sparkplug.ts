/**
 * What the `sparkplug` section implies for the rest of the configuration: the device id, and
 * the checks across sections (Sparkplug's NDEATH is the Will, its sessions are clean, its
 * metric names are unique).
 *
 * @module
 */

import type { ConfigIssue } from './errors.js';
import type { AgentConfig } from './schema.js';
import { checkTopicName } from './topic.js';

/** What a Sparkplug id must not hold: the topic separators and wildcards. */
const NOT_IN_ID = /[/+#]/g;

/** The device id: configured, else the device name's first 64 characters with `/`, `+`, `#` made `_`. */
export function deviceIdOf(config: AgentConfig): string {
  const configured = config.sparkplug.deviceId;
  if (configured !== undefined) return configured;
  const safe = config.device.name.replace(NOT_IN_ID, '_').slice(0, 64);
  return safe === '' ? 'device' : safe;
}

type Raw = Record<string, unknown>;
const obj = (v: unknown): Raw =>
  typeof v === 'object' && v !== null && !Array.isArray(v) ? (v as Raw) : {};
const str = (v: unknown): string | undefined => (typeof v === 'string' ? v : undefined);

/**
 * The Sparkplug checks across fields, on the raw input: ids required when enabled and valid
 * on the wire, no other Will (the NDEATH is the Will; Home Assistant's availability needs it
 * too), a clean session [tck-id-principles-persistence-clean-session-311], and channel names
 * unique (they are the metric names).
 */
export function sparkplugIssues(raw: Raw, issues: ConfigIssue[]): void {
  const sp = obj(raw.sparkplug);
  for (const key of ['groupId', 'edgeNodeId', 'deviceId', 'primaryHostId'] as const) {
    const id = str(sp[key]);
    if (id === undefined || /[/+#]/.test(id)) continue;
    // The schema has the token rule; the wire's (UTF-8, no U+0000) is the topic's.
    const why = checkTopicName(id);
    if (why !== undefined) issues.push({ path: `sparkplug.${key}`, message: why });
  }
  if (sp.enabled !== true) return;
  for (const key of ['groupId', 'edgeNodeId'] as const) {
    if (sp[key] === undefined)
      issues.push({ path: `sparkplug.${key}`, message: 'required when sparkplug.enabled is true' });
  }
  if (str(obj(raw.lwt).topic) !== undefined) {
    issues.push({
      path: 'lwt.topic',
      message: "Sparkplug's NDEATH is the Will: remove lwt.topic or disable sparkplug",
    });
  }
  if (obj(raw.homeassistant).discovery === true) {
    issues.push({
      path: 'homeassistant.discovery',
      message:
        "Home Assistant's availability and Sparkplug's NDEATH both need the Will: enable one of them",
    });
  }
  if (obj(raw.connection).cleanSession === false) {
    issues.push({
      path: 'connection.cleanSession',
      message: 'Sparkplug edge nodes connect with a clean session: must be true',
    });
  }
  const device = obj(raw.device);
  const seen = new Map<string, number>();
  const channels = Array.isArray(device.channels) ? device.channels : [];
  channels.forEach((c, index) => {
    const channelName = str(obj(c).name);
    if (channelName === undefined) return;
    const first = seen.get(channelName);
    if (first === undefined) seen.set(channelName, index);
    else
      issues.push({
        path: `device.channels[${index}].name`,
        message: `duplicate name "${channelName}" (also device.channels[${first}]): Sparkplug metric names must be unique`,
      });
  });
}
