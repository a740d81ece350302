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

/**
 * Parses a server URL. A bare `host` or `host:port` means `mqtt://`. Throws
 * {@link InvalidOptionError} naming `url` for anything else.
 */
export function parseServerUrl(url: string): ServerUrl {
  if (typeof url !== 'string' || url.trim() === '') {
    throw new InvalidOptionError('url', 'a server URL such as mqtt://broker:1883 is required');
  }
  const text = /^[a-z][a-z0-9+.-]*:\/\//i.test(url) ? url : `mqtt://${url}`;
  let parsed: URL;
  try {
    parsed = new URL(text);
  } catch {
    throw new InvalidOptionError('url', `${JSON.stringify(redactUrl(url))} is not a valid URL`);
  }
  const scheme = parsed.protocol.slice(0, -1).toLowerCase();
  const protocol = SCHEMES[scheme];
  if (protocol === undefined) {
    throw new InvalidOptionError(
      'url',
      `unsupported scheme ${JSON.stringify(scheme)}: use mqtt, mqtts, ws or wss`,
    );
  }
  let host = parsed.hostname;
  if (host.startsWith('[') && host.endsWith(']')) host = host.slice(1, -1);
  if (host === '') {
    throw new InvalidOptionError('url', `${JSON.stringify(redactUrl(url))} has no host`);
  }
  const port = parsed.port === '' ? DEFAULT_PORTS[protocol] : Number(parsed.port);
  const path = parsed.pathname === '' || parsed.pathname === '/' ? '/mqtt' : parsed.pathname;
  return { protocol, host, port, path: `${path}${parsed.search}` };
}

/** Hides any `user:password@` part so a secret typed into a URL never reaches an error message or a log. */
export function redactUrl(url: string): string {
  return url.replace(/^([a-z][a-z0-9+.-]*:\/\/)?[^/@]*@/i, '$1***@');
}
