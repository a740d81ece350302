/**
 * Opening byte streams: TCP (IPv4/IPv6, DNS, every resolved address in order), TLS (CA,
 * client certificate, SNI, ALPN), TLS-PSK, and WebSocket on top of either.
 *
 * @module
 */

import { lookup } from 'node:dns/promises';
import { isIP, type Socket, connect as tcpConnect } from 'node:net';
import type { Duplex } from 'node:stream';
import {
  type ConnectionOptions,
  checkServerIdentity,
  type TLSSocket,
  connect as tlsConnect,
} from 'node:tls';
import { AbortedError } from '../errors.js';
import { ConnectTimeoutError, NetworkError, networkError, TlsError, tlsError } from './errors.js';
import { pskKeyBytes } from './psk-options.js';
import type { TransportConnection, TransportOptions } from './types.js';
import { openWebSocket } from './websocket.js';

const DEFAULT_TIMEOUT_MS = 30_000;
const DEFAULT_PSK_CIPHERS =
  'PSK-AES128-GCM-SHA256:PSK-AES256-GCM-SHA384:PSK-AES128-CBC-SHA256:PSK-AES128-CBC-SHA:PSK-AES256-CBC-SHA';

function formatAddress(host: string, port: number): string {
  return isIP(host) === 6 ? `[${host}]:${port}` : `${host}:${port}`;
}

function aborted(): AbortedError {
  return new AbortedError('connect aborted');
}

/** Resolves the host to the addresses to try, in order. */
async function resolve(
  host: string,
  family: 0 | 4 | 6,
  port: number,
): Promise<{ address: string; family: number }[]> {
  const ipFamily = isIP(host);
  if (ipFamily !== 0) {
    if (family !== 0 && family !== ipFamily) {
      throw new NetworkError(
        `${host} is an IPv${ipFamily} address but family ${family} was requested`,
        formatAddress(host, port),
      );
    }
    return [{ address: host, family: ipFamily }];
  }
  try {
    return await lookup(host, { all: true, family, verbatim: true });
  } catch (error) {
    throw networkError(error, host, formatAddress(host, port));
  }
}

/** Connects a TCP socket to one address, within `timeoutMs`. */
function connectOne(
  address: string,
  port: number,
  timeoutMs: number,
  signal: AbortSignal | undefined,
): Promise<Socket> {
  return new Promise((resolveSocket, reject) => {
    const socket = tcpConnect({ host: address, port });
    const display = formatAddress(address, port);
    const cleanup = (): void => {
      clearTimeout(timer);
      socket.off('connect', onConnect);
      socket.off('error', onError);
      signal?.removeEventListener('abort', onAbort);
    };
    const onConnect = (): void => {
      cleanup();
      socket.setNoDelay(true);
      resolveSocket(socket);
    };
    const onError = (error: Error): void => {
      cleanup();
      socket.destroy();
      reject(networkError(error, address, display));
    };
    const onAbort = (): void => {
      cleanup();
      socket.destroy();
      reject(aborted());
    };
    const timer = setTimeout(() => {
      cleanup();
      socket.destroy();
      reject(
        new ConnectTimeoutError(
          `timed out after ${timeoutMs} ms connecting to ${display}`,
          display,
        ),
      );
    }, timeoutMs);
    socket.once('connect', onConnect);
    socket.once('error', onError);
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

/** Runs the TLS handshake over a connected socket. */
function startTls(
  socket: Socket,
  options: TransportOptions,
  display: string,
  timeoutMs: number,
): Promise<{ stream: TLSSocket; pskHint?: string }> {
  const tls = options.tls ?? {};
  const explicitName = tls.servername;
  const hostIsName = isIP(options.host) === 0;
  // RFC 6066: SNI carries a host name, never an address.
  const servername = explicitName ?? (hostIsName ? options.host : undefined);
  let pskHint: string | undefined;
  const connectOptions: ConnectionOptions = {
    socket,
    rejectUnauthorized: tls.rejectUnauthorized ?? true,
    ...(servername === undefined ? {} : { servername }),
    ...(tls.ca === undefined ? {} : { ca: tls.ca as ConnectionOptions['ca'] }),
    ...(tls.cert === undefined ? {} : { cert: tls.cert as ConnectionOptions['cert'] }),
    ...(tls.key === undefined ? {} : { key: tls.key as ConnectionOptions['key'] }),
    ...(tls.passphrase === undefined ? {} : { passphrase: tls.passphrase }),
    ...(tls.alpn === undefined ? {} : { ALPNProtocols: [...tls.alpn] }),
    ...(tls.minVersion === undefined ? {} : { minVersion: tls.minVersion }),
    ...(tls.maxVersion === undefined ? {} : { maxVersion: tls.maxVersion }),
    ...(tls.ciphers === undefined ? {} : { ciphers: tls.ciphers }),
  };
  if (servername === undefined) {
    // Verify the certificate against the address we connected to.
    connectOptions.checkServerIdentity = (_name, cert) => checkServerIdentity(options.host, cert);
  }
  const psk = options.psk;
  if (psk !== undefined) {
    const key = pskKeyBytes(psk.key);
    connectOptions.pskCallback = (hint) => {
      pskHint = hint ?? undefined;
      return { psk: key, identity: psk.identity };
    };
    connectOptions.ciphers = psk.ciphers ?? tls.ciphers ?? DEFAULT_PSK_CIPHERS;
    // TLS 1.3 PSK works differently (no hint, session-ticket based): MQTT brokers use 1.2.
    connectOptions.maxVersion = tls.maxVersion ?? 'TLSv1.2';
    connectOptions.checkServerIdentity = () => undefined;
  }
  const name = explicitName ?? options.host;
  const signal = options.signal;
  return new Promise((resolveTls, reject) => {
    let stream: TLSSocket;
    try {
      stream = tlsConnect(connectOptions);
    } catch (error) {
      // Building the secure context failed: a key that does not decrypt or parse, a bad
      // certificate PEM. Say which option, never its value.
      socket.destroy();
      const text = String((error as Error).message ?? error);
      reject(
        new TlsError(
          /bad decrypt|bad password|maybe wrong password/i.test(text)
            ? 'cannot load tls.key: wrong tls.passphrase, or the key is not encrypted with it'
            : /PEM|no start line|ASN1|unsupported/i.test(text)
              ? 'cannot load the TLS certificate or key: not a valid PEM (check tls.cert, tls.key, tls.ca)'
              : `cannot set up TLS: ${text}`,
          (error as { code?: string }).code,
          error,
        ),
      );
      return;
    }
    const timer = setTimeout(() => {
      stream.destroy();
      reject(
        new ConnectTimeoutError(
          `timed out after ${timeoutMs} ms in the TLS handshake with ${display}`,
          display,
        ),
      );
    }, timeoutMs);
    const cleanup = (): void => {
      clearTimeout(timer);
      stream.off('error', onError);
      stream.off('close', onClose);
      signal?.removeEventListener('abort', onAbort);
    };
    stream.once('secureConnect', () => {
      cleanup();
      resolveTls(pskHint === undefined ? { stream } : { stream, pskHint });
    });
    const onError = (error: Error): void => {
      cleanup();
      stream.destroy();
      reject(tlsError(error, display, name));
    };
    // A server that closes without an alert (Mosquitto on a rejected PSK or certificate).
    const onClose = (): void =>
      onError(
        Object.assign(
          new Error('ECONNRESET: disconnected before secure TLS connection was established'),
          { code: 'ECONNRESET' },
        ),
      );
    const onAbort = (): void => {
      cleanup();
      stream.destroy();
      reject(aborted());
    };
    stream.once('error', onError);
    stream.once('close', onClose);
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

/**
 * Opens a byte stream to a server: resolves the host, tries each address in order, runs TLS
 * or PSK for `mqtts`/`wss`, and the WebSocket upgrade for `ws`/`wss`.
 */
export async function openTransport(
  options: TransportOptions,
): Promise<TransportConnection<Duplex>> {
  const timeoutMs = options.connectTimeoutMs ?? DEFAULT_TIMEOUT_MS;
  const deadline = Date.now() + timeoutMs;
  const display = formatAddress(options.host, options.port);
  if (options.signal?.aborted === true) throw aborted();
  // Validate the PSK before any network traffic, so a typo fails the same way offline.
  if (options.psk !== undefined) pskKeyBytes(options.psk.key);
  const addresses = await resolve(options.host, options.family ?? 0, options.port);
  let socket: Socket | undefined;
  let lastError: unknown;
  for (const { address } of addresses) {
    const left = deadline - Date.now();
    if (left <= 0) break;
    try {
      socket = await connectOne(address, options.port, left, options.signal);
      break;
    } catch (error) {
      if (error instanceof AbortedError) throw error;
      lastError = error;
    }
  }
  if (socket === undefined) {
    if (lastError !== undefined && addresses.length === 1) throw lastError;
    const message = `cannot connect to ${display}: ${addresses.length} address(es) tried${lastError instanceof Error ? `, last: ${lastError.message}` : ''}`;
    // The last address timing out makes the whole attempt a time-out.
    if (lastError instanceof ConnectTimeoutError) {
      throw new ConnectTimeoutError(message, display, lastError);
    }
    throw new NetworkError(
      message,
      display,
      (lastError as { syscallCode?: string } | undefined)?.syscallCode,
      lastError,
    );
  }
  const remoteAddress = socket.remoteAddress ?? options.host;
  const remotePort = socket.remotePort ?? options.port;
  let stream: Duplex = socket;
  let alpnProtocol: string | undefined;
  let pskHint: string | undefined;
  if (options.protocol === 'mqtts' || options.protocol === 'wss') {
    const secured = await startTls(socket, options, display, Math.max(1, deadline - Date.now()));
    stream = secured.stream;
    if (typeof secured.stream.alpnProtocol === 'string') alpnProtocol = secured.stream.alpnProtocol;
    pskHint = secured.pskHint;
  }
  if (options.protocol === 'ws' || options.protocol === 'wss') {
    stream = await openWebSocket(stream, {
      host: options.host,
      port: options.port,
      path: options.path ?? '/mqtt',
      secure: options.protocol === 'wss',
      headers: options.headers ?? {},
      timeoutMs: Math.max(1, deadline - Date.now()),
    });
  }
  return {
    stream,
    remoteAddress,
    remotePort,
    ...(alpnProtocol === undefined ? {} : { alpnProtocol }),
    ...(pskHint === undefined ? {} : { pskHint }),
  };
}
