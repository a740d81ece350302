/**
 * The secrets of a configuration: what the console never sends to a browser.
 *
 * {@link redactConfig} removes them and says which are set; {@link mergeSecrets} puts the
 * current values back into a configuration the browser sent, where it left them out.
 *
 * @module
 */

import type { AgentConfig } from '../config/schema.js';
import { isObj } from '../config/validate.js';

/** Paths of the secret fields, as in the file. */
export const SECRET_PATHS = [
  'login.password',
  'security.psk.key',
  'backup.login.password',
  'backup.security.psk.key',
  'azure.deviceKey',
  'murano.password',
  'web.passwordHash',
] as const;

/** One of {@link SECRET_PATHS}. */
export type SecretPath = (typeof SECRET_PATHS)[number];

type Obj = Record<string, unknown>;

/** The object holding the field at `path`, and the field's key. */
function locate(root: unknown, path: string): { parent: Obj; key: string } | undefined {
  const keys = path.split('.');
  const last = keys.pop() as string;
  let node: unknown = root;
  for (const key of keys) {
    if (!isObj(node)) return undefined;
    node = node[key];
  }
  return isObj(node) ? { parent: node, key: last } : undefined;
}

/** What stands for the password of a Redis URL sent to the browser. */
export const URL_PASSWORD_MASK = '********';

/** The password inside `redis://user:password@host`, if any. */
function urlPassword(url: unknown): string | undefined {
  if (typeof url !== 'string') return undefined;
  try {
    const password = new URL(url).password;
    return password === '' ? undefined : password;
  } catch {
    return undefined;
  }
}

function withUrlPassword(url: string, password: string): string {
  const u = new URL(url);
  u.password = password;
  return u.toString();
}

/** `url` with its password, if it has one, replaced by {@link URL_PASSWORD_MASK}. */
export function maskUrlPassword(url: string): string {
  return urlPassword(url) === undefined ? url : withUrlPassword(url, URL_PASSWORD_MASK);
}

/** The configuration without its secrets, and which secrets are set. */
export function redactConfig(config: AgentConfig): {
  config: Obj;
  secrets: Record<SecretPath | 'redis.url', boolean>;
} {
  const copy = structuredClone(config) as unknown as Obj;
  const secrets = {} as Record<SecretPath | 'redis.url', boolean>;
  for (const path of SECRET_PATHS) {
    const at = locate(copy, path);
    const set = at !== undefined && typeof at.parent[at.key] === 'string';
    secrets[path] = set;
    if (at !== undefined) delete at.parent[at.key];
  }
  // A Redis URL may carry a password: the browser sees it masked.
  const redis = copy.redis as Obj;
  secrets['redis.url'] = urlPassword(redis.url) !== undefined;
  redis.url = maskUrlPassword(redis.url as string);
  return { config: copy, secrets };
}

/**
 * Fills the secrets into a configuration from the browser: a secret field that is absent keeps
 * the current value (when its section still exists), `null` removes it, a string replaces it.
 * @returns a new object; `incoming` is not changed
 */
export function mergeSecrets(incoming: unknown, config: AgentConfig): unknown {
  if (!isObj(incoming)) return incoming;
  const out = structuredClone(incoming);
  for (const path of SECRET_PATHS) {
    const at = locate(out, path);
    if (at === undefined) continue;
    const value = at.parent[at.key];
    if (value === null) {
      delete at.parent[at.key];
    } else if (value === undefined) {
      const was = locate(config, path);
      const old = was?.parent[was.key];
      if (typeof old === 'string') at.parent[at.key] = old;
    }
  }
  const redis = out.redis;
  const current = urlPassword(config.redis.url);
  if (isObj(redis) && current !== undefined && urlPassword(redis.url) === URL_PASSWORD_MASK) {
    redis.url = withUrlPassword(redis.url as string, current);
  }
  return out;
}
