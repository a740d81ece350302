/**
 * What the client needs from the platform, in a browser: `ws://` and `wss://` over the
 * platform's own `WebSocket` (no Node module, no polyfill), option checks that refuse what a
 * browser cannot do (TCP, TLS material, TLS-PSK), and schedulers without `process`. A bundler
 * building for the browser picks this file for `#platform` (package.json `imports`, condition
 * `browser`) in place of `platform-node.ts`; both export the same names.
 *
 * @module
 */

import { InvalidOptionError } from '../errors.js';
import { ConnectTimeoutError, NetworkError, WebSocketError } from './errors.js';
import type {
  ByteStream,
  PskOptions,
  TlsOptions,
  TransportConnection,
  TransportOptions,
} from './types.js';

/** Bytes queued in the browser's send buffer (`bufferedAmount`) before `write` says "wait". */
export const WS_HIGH_WATER_BYTES = 64 * 1024;
/**
 * Bytes of incoming data kept in memory while reading is paused. A browser cannot pause a
 * WebSocket, so a reader that stays behind while the broker keeps sending (QoS 0: QoS 1/2 are
 * bounded by the in-flight window) would otherwise grow this without end.
 */
export const WS_MAX_PAUSED_BYTES = 16 * 1024 * 1024;
/** How often a full send buffer is checked: the browser has no 'drain' event. */
const DRAIN_POLL_MS = 10;
const OPEN = 1;

/** The members of the browser's `WebSocket` used here (the library is built without DOM types). */
interface BrowserWebSocket {
  binaryType: string;
  readonly bufferedAmount: number;
  readonly protocol: string;
  readonly readyState: number;
  send(data: Uint8Array): void;
  close(code?: number, reason?: string): void;
  onopen: (() => void) | null;
  onmessage: ((event: { data: unknown }) => void) | null;
  onclose: ((event: { code: number; reason: string; wasClean: boolean }) => void) | null;
  onerror: (() => void) | null;
}
type WebSocketConstructor = new (url: string, protocols: string[]) => BrowserWebSocket;

type Listeners = {
  data: ((bytes: Uint8Array) => void)[];
  error: ((error: Error) => void)[];
  close: (() => void)[];
  drain: (() => void)[];
};

/**
 * A browser `WebSocket` as a {@link ByteStream}: binary messages in and out (an MQTT packet
 * may span messages and a message may hold several [MQTT-6.0.0-2]), `bufferedAmount` for
 * back-pressure, reading paused by keeping messages in memory (bounded).
 */
export class WebSocketByteStream implements ByteStream {
  readonly #ws: BrowserWebSocket;
  readonly #display: string;
  readonly #on: Listeners = { data: [], error: [], close: [], drain: [] };
  /** Incoming bytes not yet given to 'data' (paused, or given back with `unshift`). */
  #queue: Uint8Array[] = [];
  #queuedBytes = 0;
  #paused = false;
  #flushing = false;
  #needDrain = false;
  #closed = false;

  constructor(ws: BrowserWebSocket, display: string) {
    this.#ws = ws;
    this.#display = display;
    ws.onmessage = (event) => this.#onMessage(event.data);
    ws.onerror = () =>
      this.#emitError(new WebSocketError(`the WebSocket connection to ${display} failed`));
    ws.onclose = () => this.#onClose();
  }

  get writableNeedDrain(): boolean {
    return this.#needDrain;
  }

  on(event: 'data', listener: (bytes: Uint8Array) => void): this;
  on(event: 'error', listener: (error: Error) => void): this;
  on(event: 'close' | 'drain', listener: () => void): this;
  on(event: keyof Listeners, listener: (arg: never) => void): this {
    (this.#on[event] as unknown[]).push(listener);
    // What came before the first reader listened, from a later task (not inside `on`).
    if (event === 'data' && this.#queue.length > 0) setTimeout(() => this.#flush(), 0);
    return this;
  }

  write(bytes: Uint8Array): boolean {
    if (this.#closed || this.#ws.readyState !== OPEN) return false;
    this.#ws.send(bytes);
    return this.#checkBuffered();
  }

  pause(): this {
    this.#paused = true;
    return this;
  }

  resume(): this {
    this.#paused = false;
    // As with Node streams, data flows again from a later task, not inside resume().
    if (this.#queue.length > 0) setTimeout(() => this.#flush(), 0);
    return this;
  }

  unshift(bytes: Uint8Array): void {
    this.#queue.unshift(bytes);
    this.#queuedBytes += bytes.length;
  }

  /** Closes normally (1000): messages already sent go out first. */
  end(): this {
    this.#closeSocket();
    return this;
  }

  destroy(): this {
    this.#closeSocket();
    return this;
  }

  #closeSocket(): void {
    if (this.#closed) return;
    this.#closed = true;
    try {
      this.#ws.close(1000);
    } catch {
      // Already closing.
    }
    // The browser reports the close later (onclose): 'close' then, as a Node socket does.
  }

  #onMessage(data: unknown): void {
    if (!(data instanceof ArrayBuffer)) {
      // [MQTT-6.0.0-1]: MQTT travels in binary frames; any other frame closes the connection.
      this.#emitError(
        new WebSocketError(`${this.#display} sent a text WebSocket message [MQTT-6.0.0-1]`),
      );
      this.destroy();
      return;
    }
    const bytes = new Uint8Array(data);
    if (this.#paused || this.#queue.length > 0 || this.#on.data.length === 0) {
      this.#queue.push(bytes);
      this.#queuedBytes += bytes.length;
      if (this.#queuedBytes > WS_MAX_PAUSED_BYTES) {
        this.#emitError(
          new WebSocketError(
            `more than ${WS_MAX_PAUSED_BYTES} bytes from ${this.#display} arrived while reading was paused (a subscription's reader is behind, and a browser cannot pause a WebSocket)`,
          ),
        );
        this.destroy();
      }
      return;
    }
    for (const listener of this.#on.data) listener(bytes);
  }

  /** Gives queued bytes to 'data' until paused again. */
  #flush(): void {
    if (this.#flushing) return;
    this.#flushing = true;
    try {
      while (!this.#paused && this.#queue.length > 0 && this.#on.data.length > 0) {
        const bytes = this.#queue.shift()!;
        this.#queuedBytes -= bytes.length;
        for (const listener of this.#on.data) listener(bytes);
      }
    } finally {
      this.#flushing = false;
    }
  }

  #checkBuffered(): boolean {
    if (this.#ws.bufferedAmount <= WS_HIGH_WATER_BYTES) return true;
    if (!this.#needDrain) {
      this.#needDrain = true;
      const poll = (): void => {
        if (this.#closed) return;
        if (this.#ws.bufferedAmount > WS_HIGH_WATER_BYTES / 2) {
          setTimeout(poll, DRAIN_POLL_MS);
          return;
        }
        this.#needDrain = false;
        for (const listener of this.#on.drain) listener();
      };
      setTimeout(poll, DRAIN_POLL_MS);
    }
    return false;
  }

  #emitError(error: Error): void {
    for (const listener of this.#on.error) listener(error);
  }

  #onClose(): void {
    this.#closed = true;
    this.#needDrain = false;
    for (const listener of this.#on.close) listener();
  }
}

function hostForUrl(host: string): string {
  return host.includes(':') ? `[${host}]` : host;
}

/**
 * Opens `ws://` or `wss://` with the browser's `WebSocket`, offering the subprotocol `mqtt`
 * [MQTT-6.0.0-3]. A browser gives no reason for a failed connection: the error says so.
 */
export function openTransport(options: TransportOptions): Promise<TransportConnection> {
  const display = `${hostForUrl(options.host)}:${options.port}`;
  const timeoutMs = options.connectTimeoutMs ?? 30_000;
  return new Promise((resolve, reject) => {
    const Socket = (globalThis as { WebSocket?: WebSocketConstructor }).WebSocket;
    if (Socket === undefined) {
      reject(new WebSocketError('this platform has no WebSocket'));
      return;
    }
    if (options.protocol !== 'ws' && options.protocol !== 'wss') {
      reject(new NetworkError(`${options.protocol}:// cannot be opened in a browser`, display));
      return;
    }
    if (options.signal?.aborted === true) {
      reject(new NetworkError(`connecting to ${display} was aborted`, display));
      return;
    }
    const url = `${options.protocol}://${display}${options.path ?? '/mqtt'}`;
    let ws: BrowserWebSocket;
    try {
      ws = new Socket(url, ['mqtt']);
    } catch (error) {
      reject(new WebSocketError(`cannot open a WebSocket to ${url}: ${String(error)}`, error));
      return;
    }
    ws.binaryType = 'arraybuffer';
    let done = false;
    const finish = (error: Error | undefined): void => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      options.signal?.removeEventListener('abort', onAbort);
      if (error === undefined) return;
      ws.onopen = ws.onerror = ws.onclose = null;
      try {
        ws.close();
      } catch {
        // Not open yet: nothing to close.
      }
      reject(error);
    };
    const onAbort = (): void =>
      finish(new NetworkError(`connecting to ${display} was aborted`, display));
    options.signal?.addEventListener('abort', onAbort, { once: true });
    const timer = setTimeout(
      () =>
        finish(
          new ConnectTimeoutError(
            `no WebSocket connection to ${url} within ${timeoutMs} ms`,
            display,
          ),
        ),
      timeoutMs,
    );
    ws.onerror = () =>
      finish(
        new NetworkError(
          `the WebSocket connection to ${url} failed (a browser does not say why: refused, unreachable, TLS or HTTP)`,
          display,
        ),
      );
    ws.onclose = (event) =>
      finish(
        new NetworkError(
          `the WebSocket connection to ${url} closed while opening (code ${event.code})`,
          display,
        ),
      );
    ws.onopen = () => {
      // [MQTT-6.0.0-4]: the server selects `mqtt`; none at all is accepted, as over Node.
      if (ws.protocol !== '' && ws.protocol !== 'mqtt') {
        finish(
          new WebSocketError(
            `the server chose subprotocol ${JSON.stringify(ws.protocol)}, not mqtt`,
          ),
        );
        return;
      }
      finish(undefined);
      resolve({
        stream: new WebSocketByteStream(ws, display),
        remoteAddress: options.host,
        remotePort: options.port,
      });
    };
  });
}

/** Refuses `mqtt://` and `mqtts://`: a browser has no TCP socket. */
export function checkProtocol(protocol: string, field: string): void {
  if (protocol === 'mqtt' || protocol === 'mqtts') {
    throw new InvalidOptionError(
      field,
      `${protocol}:// needs a TCP socket, which a browser does not have: use ws:// or wss://`,
    );
  }
}

/** Refuses an address family other than 0 (either): a browser resolves names itself. */
export function checkFamily(family: number, field: string): void {
  if (family !== 0) {
    throw new InvalidOptionError(
      field,
      `cannot be ${family} in a browser: it resolves the host and picks the address itself`,
    );
  }
}

/** Refuses TLS options: `wss://` uses the browser's own TLS and trust store. */
export function checkTlsOptions(_value: unknown, field: string): TlsOptions {
  throw new InvalidOptionError(
    field,
    "cannot be set in a browser: wss:// uses the browser's own TLS and certificate store",
  );
}

/** Refuses PSK options: a browser has no TLS-PSK. */
export function checkPskOptions(_value: unknown, field: string): PskOptions {
  throw new InvalidOptionError(field, 'cannot be set in a browser: it has no TLS-PSK');
}

/** Runs `callback` after the current task, before the next (used to uncork once per tick). */
export const nextTick: (callback: () => void) => void = (callback) => queueMicrotask(callback);

/** Runs `callback` in a later task, after pending I/O events. */
export function afterIo(callback: () => void): void {
  setTimeout(callback, 0);
}

/** A page has no process to keep alive: timers need no unref. */
export function unref(_timer: ReturnType<typeof setTimeout>): void {}

/** Reports a problem that is not the client's to throw (e.g. a throwing trace function). */
export function warn(message: string): void {
  console.warn(message);
}
