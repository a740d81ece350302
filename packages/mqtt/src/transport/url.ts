/**
 * Server URLs: `mqtt://`, `mqtts://`, `ws://`, `wss://` (and the `tcp://`, `ssl://`, `tls://`
 * aliases), IPv6 in brackets, default ports.
 *
 * @module
 */

import { InvalidOptionError } from '../errors.js';
import type { TransportProtocol } from './types.js';

/** A parsed server URL. */
export interface ServerUrl {
  readonly protocol: TransportProtocol;
  /** Host name or address, IPv6 without brackets. */
  readonly host: string;
  readonly port: number;
  /** WebSocket path; '/mqtt' when the URL has none. */
  readonly path: string;
  /** User name given in the URL (`mqtt://user@host`), percent-decoded. */
  readonly username?: string;
  /** Password given in the URL (`mqtt://user:secret@host`), percent-decoded. Never logged. */
  readonly password?: string;
}

const SCHEMES: Readonly<Record<string, TransportProtocol>> = {
  mqtt: 'mqtt',
  tcp: 'mqtt',
  mqtts: 'mqtts',
  ssl: 'mqtts',
  tls: 'mqtts',
  ws: 'ws',
  wss: 'wss',
};

const DEFAULT_PORTS: Readonly<Record<TransportProtocol, number>> = {
  mqtt: 1883,
  mqtts: 8883,
  ws: 80,
  wss: 443,
};

/** `scheme://`, `[userinfo@]`, then the host (IPv6 in brackets) and an optional `:port`. */
const AUTHORITY = /^[a-z][a-z0-9+.-]*:\/\/(?:[^/?#]*@)?(\[[^\]/]*\]|[^/:?#]*)(?::([^/?#]*))?/i;

/**
 * Parses a server URL. A bare `host` or `host:port` means `mqtt://`. User name and password
 * in the URL (`mqtt://user:secret@host`) are returned percent-decoded.
 *
 * @param field name of the field in the error, e.g. `'servers[1].url'` @default 'url'
 * @throws {@link InvalidOptionError} naming `field`: an unsupported scheme, a missing host, a
 * port outside 1..65535, anything `URL` cannot parse. A password in the URL is never echoed.
 */
export function parseServerUrl(url: string, field = 'url'): ServerUrl {
  if (typeof url !== 'string' || url.trim() === '') {
    throw new InvalidOptionError(field, 'a server URL such as mqtt://broker:1883 is required');
  }
  const shown = JSON.stringify(redactUrl(url));
  const hasScheme = /^[a-z][a-z0-9+.-]*:\/\//i.test(url);
  // Without `scheme://`, only `host` or `host:port` (IPv6 in brackets): `mqtts:/host` or
  // `mqtt:host` would otherwise connect to a host named `mqtts` or `mqtt`.
  if (!hasScheme && !/^(?:\[[^\]/]*\]|[^/:?#@[\]\s]+)(?::\d*)?$/.test(url)) {
    throw new InvalidOptionError(
      field,
      `${shown} is neither scheme://host[:port] nor host[:port] (is a "//" missing?)`,
    );
  }
  const text = hasScheme ? url : `mqtt://${url}`;
  const scheme = text.slice(0, text.indexOf(':')).toLowerCase();
  const protocol = SCHEMES[scheme];
  if (protocol === undefined) {
    throw new InvalidOptionError(
      field,
      `unsupported scheme ${JSON.stringify(scheme)}: use mqtt, mqtts, ws or wss (or the aliases tcp, ssl, tls)`,
    );
  }
  // Look at host and port before `URL` does, which only says "Invalid URL" about either.
  const authority = AUTHORITY.exec(text);
  const hostText = authority?.[1] ?? '';
  const portText = authority?.[2];
  if (hostText === '' || hostText === '[]') {
    throw new InvalidOptionError(field, `${shown} has no host`);
  }
  if (portText !== undefined && portText !== '') {
    const port = /^\d{1,5}$/.test(portText) ? Number(portText) : Number.NaN;
    if (!(port >= 1 && port <= 65535)) {
      // The port text is not shown: with a password holding '/' unencoded, it is the password.
      throw new InvalidOptionError(
        field,
        `${shown} has an invalid port: a port is a number from 1 to 65535`,
      );
    }
  }
  let parsed: URL;
  try {
    parsed = new URL(text);
  } catch {
    throw new InvalidOptionError(field, `${shown} is not a valid URL`);
  }
  if (parsed.username === '' && /@/.test(`${parsed.pathname}${parsed.search}${parsed.hash}`)) {
    // `mqtt://user:pa/ss@host` parses as host `user`, port `pa`... : a password holding `/`,
    // `?` or `#` must be percent-encoded, or we would connect to the wrong host.
    throw new InvalidOptionError(
      field,
      `${shown} has an '@' after the host: percent-encode '/', '?' and '#' in a user name or password`,
    );
  }
  let host = parsed.hostname;
  if (host.startsWith('[') && host.endsWith(']')) host = host.slice(1, -1);
  if (host === '') {
    throw new InvalidOptionError(field, `${shown} has no host`);
  }
  const port = parsed.port === '' ? DEFAULT_PORTS[protocol] : Number(parsed.port);
  const path = parsed.pathname === '' || parsed.pathname === '/' ? '/mqtt' : parsed.pathname;
  let username: string | undefined;
  let password: string | undefined;
  try {
    if (parsed.username !== '') username = decodeURIComponent(parsed.username);
    if (parsed.password !== '') password = decodeURIComponent(parsed.password);
  } catch {
    throw new InvalidOptionError(
      field,
      `${shown} has a user name or password that is not valid percent-encoding`,
    );
  }
  return {
    protocol,
    host,
    port,
    path: `${path}${parsed.search}`,
    ...(username === undefined ? {} : { username }),
    ...(password === undefined ? {} : { password }),
  };
}

/**
 * Hides any `user:password@` part so a secret typed into a URL never reaches an error message
 * or a log. Everything up to the *last* `@` goes: a password may itself hold `@`, `/` or `#`
 * typed without percent-encoding, and then no parser agrees where it ends. An `@` further
 * right, in a path or query, hides the host too; a shown host is worth less than a secret.
 */
export function redactUrl(url: string): string {
  const at = url.lastIndexOf('@');
  if (at < 0) return url;
  const scheme = /^[a-z][a-z0-9+.-]*:\/\//i.exec(url)?.[0] ?? '';
  return `${scheme}***${url.slice(at)}`;
}
