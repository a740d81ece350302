/**
 * Transport options and results. The transport layer opens byte streams and knows nothing
 * of MQTT.
 *
 * @module
 */

/** URL schemes Courier connects to. */
export type TransportProtocol = 'mqtt' | 'mqtts' | 'ws' | 'wss';

/**
 * TLS options for `mqtts://` and `wss://`. Secrets here never appear in errors or logs. Checked
 * by `createClient` before any connection (see `checkTlsOptions`): certificates are parsed, the
 * key is loaded and matched, each item is at most 1 MiB, and any other key (such as a Node
 * `tls.connect` option that is not listed here) is refused.
 */
export interface TlsOptions {
  /**
   * Trusted CA certificate(s): PEM (a bundle may hold several) or DER, or a list of them. Each
   * must parse as X.509. When absent, Node's built-in root store is used.
   */
  readonly ca?: string | Uint8Array | readonly (string | Uint8Array)[];
  /** Client certificate chain, PEM or DER (mutual TLS); needs `key`. */
  readonly cert?: string | Uint8Array;
  /** Client private key, PEM or DER (mutual TLS); must belong to the first certificate of `cert`. */
  readonly key?: string | Uint8Array;
  /** Passphrase of an encrypted private key; refused when `key` is not encrypted. */
  readonly passphrase?: string;
  /**
   * The "endpoint name": sent as SNI, and the name the server certificate must match.
   * @default the host name of the URL (no SNI is sent for an IP address unless this is set)
   */
  readonly servername?: string;
  /** ALPN protocol names, e.g. `['x-amzn-mqtt-ca']` for AWS IoT on port 443. */
  readonly alpn?: readonly string[];
  /** @default true */
  readonly rejectUnauthorized?: boolean;
  /** e.g. `'TLSv1.2'`. */
  readonly minVersion?: 'TLSv1' | 'TLSv1.1' | 'TLSv1.2' | 'TLSv1.3';
  readonly maxVersion?: 'TLSv1' | 'TLSv1.1' | 'TLSv1.2' | 'TLSv1.3';
  /** OpenSSL cipher list. */
  readonly ciphers?: string;
}

/** TLS-PSK credentials (TLS 1.2 PSK cipher suites). */
export interface PskOptions {
  /** 1 to 128 bytes of UTF-8. */
  readonly identity: string;
  /** The pre-shared key as hex digits, as in Mosquitto's `psk_file`: an even number, at most 512. */
  readonly key: string;
  /** @default 'PSK' suites the peer accepts, e.g. 'PSK-AES128-CBC-SHA256' */
  readonly ciphers?: string;
}

/** Where and how to open a byte stream. */
export interface TransportOptions {
  readonly protocol: TransportProtocol;
  /** Host name, IPv4 or IPv6 address (without brackets). */
  readonly host: string;
  readonly port: number;
  /** WebSocket path. @default '/mqtt' */
  readonly path?: string;
  /** Address family: 4, 6, or 0 for either (every resolved address is tried in order). @default 0 */
  readonly family?: 0 | 4 | 6;
  /** @default 30000 */
  readonly connectTimeoutMs?: number;
  readonly tls?: TlsOptions;
  readonly psk?: PskOptions;
  /** Extra HTTP headers for the WebSocket upgrade request. */
  readonly headers?: Readonly<Record<string, string>>;
  readonly signal?: AbortSignal;
}

/**
 * The byte stream the client reads and writes: the few members of a Node `Duplex` it uses, so
 * that a Node socket is one as it is (no wrapper, no copy on the hot path) and the browser's
 * `WebSocket` is adapted to it (see `platform-browser.ts`).
 */
export interface ByteStream {
  /** Queues bytes; false when the buffer is over its high-water mark ('drain' follows). */
  write(bytes: Uint8Array): boolean;
  /** True from a `write` that returned false until the next 'drain'. */
  readonly writableNeedDrain: boolean;
  /** Stops 'data' events; the bytes wait (in the socket or in memory) until {@link resume}. */
  pause(): unknown;
  resume(): unknown;
  /** Gives back the unread tail of a chunk: it comes first in the next 'data' event. */
  unshift(bytes: Uint8Array): void;
  /** Sends what is queued, then closes. */
  end(): unknown;
  /** Closes at once. */
  destroy(): unknown;
  on(event: 'data', listener: (bytes: Uint8Array) => void): unknown;
  on(event: 'error', listener: (error: Error) => void): unknown;
  on(event: 'close' | 'drain', listener: () => void): unknown;
}

/** Opens a byte stream: the platform's transports (`platform-node.ts`, `platform-browser.ts`). */
export type OpenTransport = (options: TransportOptions) => Promise<TransportConnection>;

/** An open byte stream and what was negotiated. */
export interface TransportConnection<S extends ByteStream = ByteStream> {
  /** Bytes in and out. Ending or destroying it closes the connection. */
  readonly stream: S;
  readonly remoteAddress: string;
  readonly remotePort: number;
  /** ALPN protocol the server selected, if any. */
  readonly alpnProtocol?: string;
  /** The PSK identity hint the server sent, if any. */
  readonly pskHint?: string;
}
