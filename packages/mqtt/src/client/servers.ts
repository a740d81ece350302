/**
 * The servers of a client, each checked when the options are given: URL (scheme, host, port),
 * credentials (from the options or the URL), TLS material and PSK, with the field named by its
 * path (`url`, `servers[1].tls.ca`).
 *
 * @module
 */

import { checkFamily, checkProtocol, checkPskOptions, checkTlsOptions } from '#platform';
import { InvalidOptionError } from '../errors.js';
import { checkKnownKeys, checkObject } from '../option-checks.js';
import { parseServerUrl, redactUrl } from '../transport/url.js';
import { validatePassword, validateUsername } from './mqtt-strings.js';
import { SERVER_HINTS, SERVER_KEYS } from './option-keys.js';
import type { ServerOptions } from './option-types.js';

/** Most servers a client may fail over between. */
export const MAX_SERVERS = 100;

/** The server fields that {@link ClientOptions} also carries, for the primary server. */
export const PRIMARY_FIELDS = ['username', 'password', 'tls', 'psk', 'family', 'wsPath'] as const;

/**
 * Checks one server: URL, credentials (from the options or the URL), TLS material, PSK.
 * `prefix` is the dotted path of the server's fields: `''` for the primary, `'servers[1].'`.
 */
export function resolveServer(entry: unknown, prefix: string): ServerOptions {
  checkObject(entry, prefix === '' ? 'server' : prefix.slice(0, -1));
  checkKnownKeys(entry, SERVER_KEYS, prefix, SERVER_HINTS);
  const s = entry as ServerOptions;
  const url = parseServerUrl(s.url, `${prefix}url`);
  checkProtocol(url.protocol, `${prefix}url`);
  const tlsScheme = url.protocol === 'mqtts' || url.protocol === 'wss';
  const wsScheme = url.protocol === 'ws' || url.protocol === 'wss';
  const shown = JSON.stringify(redactUrl(s.url));

  const out: { -readonly [K in keyof ServerOptions]: ServerOptions[K] } = { url: s.url };
  for (const [field, fromUrl] of [
    ['username', url.username],
    ['password', url.password],
  ] as const) {
    if (s[field] !== undefined && fromUrl !== undefined) {
      throw new InvalidOptionError(
        `${prefix}${field}`,
        `is given twice: in the URL and as an option`,
      );
    }
  }
  const username = s.username ?? url.username;
  const password = s.password ?? url.password;
  if (username !== undefined) {
    validateUsername(username, `${prefix}username`);
    out.username = username;
  }
  if (password !== undefined) {
    // A provider is checked each time it is called (credentials.ts).
    if (typeof password !== 'function') validatePassword(password, `${prefix}password`);
    if (username === undefined) {
      throw new InvalidOptionError(
        `${prefix}password`,
        'MQTT 3.1.1 sends a password only with a user name [MQTT-3.1.2-22]',
      );
    }
    out.password = password;
  }
  if (s.tls !== undefined) {
    if (!tlsScheme) {
      throw new InvalidOptionError(
        `${prefix}tls`,
        `is set but ${shown} does not use TLS: use mqtts:// or wss://`,
      );
    }
    out.tls = checkTlsOptions(s.tls, `${prefix}tls`);
  }
  if (s.psk !== undefined) {
    if (!tlsScheme) {
      throw new InvalidOptionError(
        `${prefix}psk`,
        `is set but ${shown} does not use TLS: TLS-PSK needs mqtts://`,
      );
    }
    out.psk = checkPskOptions(s.psk, `${prefix}psk`);
  }
  if (s.family !== undefined) {
    if (s.family !== 0 && s.family !== 4 && s.family !== 6) {
      throw new InvalidOptionError(
        `${prefix}family`,
        `must be 4, 6 or 0 (either), got ${JSON.stringify(s.family)}`,
      );
    }
    checkFamily(s.family, `${prefix}family`);
    out.family = s.family;
  }
  if (s.wsPath !== undefined) {
    if (typeof s.wsPath !== 'string' || !s.wsPath.startsWith('/') || s.wsPath.length > 2048) {
      throw new InvalidOptionError(
        `${prefix}wsPath`,
        'must be a path starting with /, at most 2048 characters',
      );
    }
    if (!wsScheme) {
      throw new InvalidOptionError(
        `${prefix}wsPath`,
        `is set but ${shown} is not a WebSocket URL (ws:// or wss://)`,
      );
    }
    out.wsPath = s.wsPath;
  }
  return out;
}

/**
 * MQTT 5.0 (§4.11): the server a CONNACK or DISCONNECT with reason code 0x9C (Use another
 * server) or 0x9D (Server moved) points to, for the next attempt; undefined when there is
 * none or it cannot be parsed. The reference is a space-separated list of `host[:port]`: the
 * first entry is used, with the current server's scheme (a server may not talk us out of
 * TLS), path, credentials and TLS settings.
 */
export function referencedServer(
  reasonCode: number,
  reference: string | undefined,
  current: ServerOptions,
): ServerOptions | undefined {
  if ((reasonCode !== 0x9c && reasonCode !== 0x9d) || reference === undefined) return undefined;
  const first = reference.trim().split(/\s+/)[0] ?? '';
  // Only host[:port]: a scheme, path or user info in the reference is not followed.
  if (!/^(?:\[[0-9a-fA-F:.]+\]|[A-Za-z0-9.-]+)(?::\d{1,5})?$/.test(first)) return undefined;
  try {
    const url = parseServerUrl(current.url);
    const ws = url.protocol === 'ws' || url.protocol === 'wss';
    const next = `${url.protocol}://${first}${ws ? url.path : ''}`;
    parseServerUrl(next);
    return { ...current, url: next };
  } catch {
    return undefined;
  }
}
