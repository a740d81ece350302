/**
 * The Murano section's checks across fields: what each authentication type needs (Murano's
 * Device MQTT API table), and resources that name real channels of the right direction.
 *
 * @module
 */

import { isOutput } from '../sources/channels.js';
import type { ConfigIssue } from './errors.js';

type Raw = Record<string, unknown>;
const obj = (v: unknown): Raw =>
  typeof v === 'object' && v !== null && !Array.isArray(v) ? (v as Raw) : {};
const str = (v: unknown): string | undefined => (typeof v === 'string' ? v : undefined);

/** The Murano checks, on the raw input (they run even when the schema failed elsewhere). */
export function muranoIssues(raw: Raw, issues: ConfigIssue[]): void {
  const m = obj(raw.murano);
  if (m.enabled !== true) return;
  const auth = str(m.auth) ?? 'token';
  if (m.connectorId === undefined)
    issues.push({ path: 'murano.connectorId', message: 'required when murano.enabled is true' });
  if (auth !== 'certificate' && m.deviceId === undefined)
    issues.push({ path: 'murano.deviceId', message: `required with auth "${auth}"` });
  if (auth === 'password' && m.password === undefined)
    issues.push({
      path: 'murano.password',
      message: 'required with auth "password" (at least 20 characters)',
    });
  if (auth !== 'password' && m.password !== undefined)
    issues.push({
      path: 'murano.password',
      message: `only used with auth "password", not "${auth}"`,
    });
  if (auth === 'certificate') {
    for (const key of ['cert', 'key'] as const)
      if (m[key] === undefined)
        issues.push({ path: `murano.${key}`, message: 'required with auth "certificate"' });
  } else {
    for (const key of ['cert', 'key'] as const)
      if (m[key] !== undefined)
        issues.push({
          path: `murano.${key}`,
          message: `a client certificate is only used with auth "certificate" (the table's "Empty")`,
        });
  }
  const channels = new Map<number, string>();
  const list = Array.isArray(obj(raw.device).channels)
    ? (obj(raw.device).channels as unknown[])
    : [];
  for (const c of list) {
    const id = obj(c).id;
    const type = str(obj(c).type);
    if (typeof id === 'number' && type !== undefined) channels.set(id, type);
  }
  const resources = Array.isArray(m.resources) ? m.resources : [];
  const seen = new Map<string, number>();
  resources.forEach((r, i) => {
    const alias = str(obj(r).alias);
    const direction = str(obj(r).direction) ?? 'in';
    if (alias !== undefined) {
      const first = seen.get(alias);
      if (first !== undefined)
        issues.push({
          path: `murano.resources[${i}].alias`,
          message: `duplicate alias "${alias}" (also murano.resources[${first}])`,
        });
      else seen.set(alias, i);
      if (alias === 'config_io' && m.configIo !== false)
        issues.push({
          path: `murano.resources[${i}].alias`,
          message: 'config_io is written by the agent (set murano.configIo to false to map it)',
        });
    }
    for (const [key, id] of Object.entries(obj(obj(r).channels))) {
      if (typeof id !== 'number') continue;
      const type = channels.get(id);
      const path = `murano.resources[${i}].channels.${key}`;
      if (type === undefined) issues.push({ path, message: `there is no channel ${id}` });
      else if (direction === 'out' && !isOutput(type as Parameters<typeof isOutput>[0]))
        issues.push({
          path,
          message: `channel ${id} is an input: an "out" resource drives outputs`,
        });
    }
  });
}
