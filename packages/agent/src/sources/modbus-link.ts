/**
 * One Modbus link, TCP or RTU, kept up: connect, reconnect with backoff, one request at a
 * time, every failure a {@link ModbusError}.
 *
 * The protocol work (framing, CRC, MBAP header, function codes) is `modbus-serial`'s; this
 * file owns what a device agent needs around it and the library leaves to its user:
 *
 * ```
 *   start() ──► connecting ──ok──► connected ──socket closed / 3 timeouts in a row──┐
 *                  ▲  │failed                                                      │
 *                  │  ▼                                                            │
 *                reconnect-wait ◄──────────────────────────────────────────────────┘
 *   close() from any state ──► closed
 * ```
 *
 * - Requests are serialised: RTU is half-duplex with one master, and many TCP gateways
 *   serve one request at a time. A request made while the link is down fails at once with a
 *   `link` error (the poller marks its channels stale and moves on), never waits.
 * - A request in flight when the connection drops is failed at once, not left to its timeout
 *   (modbus-serial clears the timers of pending requests on close without settling them).
 * - A TCP peer can vanish without a FIN (cable cut, gateway crash); three timeouts in a row
 *   with no answer in between mean the connection is dead: it is closed and made again. A
 *   silent unit among answering ones does not count (any answer resets the count).
 * - Every failed attempt and every recovery is logged through an {@link OutageLog}.
 *
 * @module
 */

import { Socket } from 'node:net';
import ModbusSerial from 'modbus-serial';
import type { Logger } from 'pino';
import { OutageLog } from '../agent/outage-log.js';
import { describeException, ModbusError } from './modbus-errors.js';

// A CommonJS module whose `default` is itself: typed as the namespace from ESM.
const ModbusRTU = ModbusSerial.default;
/** modbus-serial's client. */
export type ModbusClient = InstanceType<typeof ModbusRTU>;

/** A Modbus TCP server (a device or a gateway). */
export interface ModbusTcpTarget {
  readonly transport: 'tcp';
  readonly host: string;
  readonly port: number;
}

/** A Modbus RTU line on a serial port. */
export interface ModbusRtuTarget {
  readonly transport: 'rtu';
  /** Serial device, e.g. `/dev/ttyUSB0`. */
  readonly path: string;
  readonly baudRate: number;
  readonly dataBits: 7 | 8;
  readonly stopBits: 1 | 2;
  readonly parity: 'none' | 'even' | 'odd';
}

/** Where the link goes. */
export type ModbusTarget = ModbusTcpTarget | ModbusRtuTarget;

/** The link's state; see the diagram at the top of the file. */
export type ModbusLinkState = 'idle' | 'connecting' | 'connected' | 'reconnect-wait' | 'closed';

/** Options of a {@link ModbusLink}. */
export interface ModbusLinkOptions {
  readonly target: ModbusTarget;
  /** How long a request waits for its answer. */
  readonly timeoutMs: number;
  /** How long a TCP connect or a serial open may take. @default max(timeoutMs, 3000) */
  readonly connectTimeoutMs?: number;
  /** Reconnect backoff: the first delay, doubled after each failed attempt up to the most. */
  readonly reconnect: { readonly minDelayMs: number; readonly maxDelayMs: number };
  /** Timeouts in a row, with no answer between them, after which a TCP link is remade. @default 3 */
  readonly deadAfterTimeouts?: number;
  /** Where connection failures and recoveries are logged. */
  readonly logger?: Logger | undefined;
  /** Called on every state change, with the error that caused it. */
  readonly onState?: (state: ModbusLinkState, error?: ModbusError) => void;
}

/** The target as a URL-like string for logs: `tcp://10.0.0.5:502`, `rtu:///dev/ttyUSB0`. */
export function describeTarget(target: ModbusTarget): string {
  if (target.transport === 'rtu') return `rtu://${target.path}@${target.baudRate}`;
  const host = target.host.includes(':') ? `[${target.host}]` : target.host;
  return `tcp://${host}:${target.port}`;
}

/** A modbus-serial error as a {@link ModbusError}. */
function toModbusError(error: unknown, unit: number, what: string, timeoutMs: number): ModbusError {
  if (error instanceof ModbusError) return error;
  const e = (error ?? {}) as {
    message?: unknown;
    modbusCode?: unknown;
    errno?: unknown;
    name?: unknown;
  };
  if (typeof e.modbusCode === 'number') {
    return new ModbusError(
      'exception',
      `unit ${unit} answered exception ${describeException(e.modbusCode)} to ${what}`,
      { exceptionCode: e.modbusCode, cause: error },
    );
  }
  if (e.errno === 'ETIMEDOUT' || e.name === 'TransactionTimedOutError') {
    return new ModbusError(
      'timeout',
      `no answer from unit ${unit} within ${timeoutMs} ms to ${what}`,
      {
        cause: error,
      },
    );
  }
  if (e.name === 'PortNotOpenError') {
    return new ModbusError('link', `link down: ${what} not sent`, { cause: error });
  }
  const message = typeof e.message === 'string' ? e.message : String(error);
  return new ModbusError('protocol', `bad answer from unit ${unit} to ${what}: ${message}`, {
    cause: error,
  });
}

/** A Modbus link that keeps itself up. */
export class ModbusLink {
  readonly #options: ModbusLinkOptions;
  readonly #name: string;
  readonly #outage: OutageLog | undefined;
  #state: ModbusLinkState = 'idle';
  #client: ModbusClient | undefined;
  #socket: Socket | undefined;
  /** Fails the request in flight when the current connection drops. */
  #dropped: ((error: ModbusError) => void) | undefined;
  #tail: Promise<unknown> = Promise.resolve();
  #attempts = 0;
  #timeoutsInRow = 0;
  #retryTimer: NodeJS.Timeout | undefined;
  #lastError: ModbusError | undefined;
  /** Whether a connection was up since the last failure (a loss rather than a failed connect). */
  #wasUp = false;

  constructor(options: ModbusLinkOptions) {
    this.#options = options;
    this.#name = describeTarget(options.target);
    this.#outage =
      options.logger === undefined
        ? undefined
        : new OutageLog({ what: 'Modbus', logger: options.logger });
  }

  /** The link's state. */
  get state(): ModbusLinkState {
    return this.#state;
  }

  /** The target, as logs name it. */
  get name(): string {
    return this.#name;
  }

  /** Why the link last went down, if it did. */
  get lastError(): ModbusError | undefined {
    return this.#lastError;
  }

  /** Starts connecting in the background; failures are retried with backoff, never thrown. */
  start(): void {
    if (this.#state !== 'idle') return;
    void this.#connect();
  }

  /**
   * Runs `op` on the link for `unit`, after the requests before it.
   * @param what the request in words, for messages: `read input registers 0..7`
   * @throws {ModbusError} for an exception, a timeout, a link that is down or a bad answer
   */
  request<T>(unit: number, what: string, op: (client: ModbusClient) => Promise<T>): Promise<T> {
    const run = this.#tail.then(() => this.#run(unit, what, op));
    this.#tail = run.catch(() => undefined);
    return run;
  }

  async #run<T>(unit: number, what: string, op: (client: ModbusClient) => Promise<T>): Promise<T> {
    const client = this.#client;
    if (this.#state !== 'connected' || client === undefined) {
      const why = this.#lastError?.message ?? this.#state;
      throw new ModbusError('link', `link to ${this.#name} down (${why}): ${what} not sent`);
    }
    client.setID(unit);
    let dropped: (error: ModbusError) => void = () => undefined;
    const lost = new Promise<never>((_, reject) => {
      dropped = reject;
    });
    this.#dropped = dropped;
    try {
      const result = await Promise.race([op(client), lost]);
      this.#timeoutsInRow = 0;
      return result;
    } catch (error) {
      const failure = toModbusError(error, unit, what, this.#options.timeoutMs);
      if (failure.kind === 'exception') this.#timeoutsInRow = 0;
      if (failure.kind === 'timeout') this.#onTimeout(failure);
      if (failure.kind === 'link' && this.#client === client) this.#lost(client, failure);
      throw failure;
    } finally {
      this.#dropped = undefined;
    }
  }

  #onTimeout(failure: ModbusError): void {
    this.#timeoutsInRow++;
    const limit = this.#options.deadAfterTimeouts ?? 3;
    const client = this.#client;
    if (
      this.#options.target.transport !== 'tcp' ||
      this.#timeoutsInRow < limit ||
      client === undefined
    )
      return;
    this.#lost(
      client,
      new ModbusError(
        'link',
        `${this.#timeoutsInRow} requests in a row unanswered (last: ${failure.message}): connection presumed dead`,
      ),
    );
  }

  async #connect(): Promise<void> {
    if (this.#state === 'closed') return;
    this.#retryTimer = undefined;
    this.#setState('connecting');
    const { target } = this.#options;
    const client = new ModbusRTU();
    // modbus-serial re-emits serial port errors as 'error': unheard, it would throw.
    client.on('error', (error: unknown) => {
      this.#lastError = toModbusError(error, 0, 'the link', this.#options.timeoutMs);
    });
    let socket: Socket | undefined;
    const connectTimeoutMs =
      this.#options.connectTimeoutMs ?? Math.max(this.#options.timeoutMs, 3000);
    let timer: NodeJS.Timeout | undefined;
    try {
      const opened = (async () => {
        if (target.transport === 'tcp') {
          socket = await this.#openSocket(target);
          await client.linkTCP(socket, { port: target.port });
        } else {
          await client.connectRTUBuffered(target.path, {
            baudRate: target.baudRate,
            dataBits: target.dataBits,
            stopBits: target.stopBits,
            parity: target.parity,
          });
        }
      })();
      await Promise.race([
        opened,
        new Promise<never>((_, reject) => {
          timer = setTimeout(
            () => reject(new Error(`no connection within ${connectTimeoutMs} ms`)),
            connectTimeoutMs,
          );
        }),
      ]);
    } catch (error) {
      clearTimeout(timer);
      socket?.destroy();
      this.#discard(client);
      const failure = new ModbusError('link', (error as Error).message || String(error), {
        cause: error,
      });
      this.#failed(failure, false);
      return;
    }
    clearTimeout(timer);
    if ((this.#state as ModbusLinkState) === 'closed') {
      socket?.destroy();
      this.#discard(client);
      return;
    }
    client.setTimeout(this.#options.timeoutMs);
    this.#client = client;
    this.#socket = socket;
    this.#timeoutsInRow = 0;
    // TCP: the socket's own 'close' (modbus-serial stays quiet when an error came first).
    const onClose = () => {
      if (this.#client === client)
        this.#lost(client, new ModbusError('link', 'connection closed by the peer'));
    };
    if (socket !== undefined) socket.once('close', onClose);
    else client.on('close', onClose);
    this.#attempts = 0;
    this.#wasUp = true;
    this.#outage?.connected(this.#name);
    this.#setState('connected');
  }

  /** A TCP socket, connected. */
  #openSocket(target: ModbusTcpTarget): Promise<Socket> {
    return new Promise((resolve, reject) => {
      const socket = new Socket();
      socket.once('error', reject);
      socket.connect({ host: target.host, port: target.port }, () => {
        socket.off('error', reject);
        // Errors after the connect end in 'close', which is what the link listens to.
        socket.on('error', (error) => {
          this.#lastError = new ModbusError('link', error.message, { cause: error });
        });
        socket.setNoDelay(true);
        // A peer gone without a FIN is found by the keep-alive probes when nothing is polled.
        socket.setKeepAlive(true, 10_000);
        resolve(socket);
      });
    });
  }

  /** The connection `client` is gone: fail what is in flight, reconnect after a delay. */
  #lost(client: ModbusClient, error: ModbusError): void {
    if (this.#client !== client) return;
    const socketError = this.#lastError;
    this.#client = undefined;
    this.#socket?.destroy();
    this.#socket = undefined;
    this.#discard(client);
    const reason =
      socketError !== undefined &&
      error.message === 'connection closed by the peer' &&
      socketError.kind === 'link'
        ? new ModbusError('link', `connection lost: ${socketError.message}`, { cause: socketError })
        : error;
    this.#dropped?.(reason);
    this.#failed(reason, true);
  }

  #failed(error: ModbusError, lost: boolean): void {
    this.#lastError = error;
    if (this.#state === 'closed') return;
    this.#attempts++;
    const { minDelayMs, maxDelayMs } = this.#options.reconnect;
    const delayMs = Math.min(maxDelayMs, minDelayMs * 2 ** Math.min(this.#attempts - 1, 30));
    this.#outage?.failed({
      server: this.#name,
      reason: error.message,
      code: error.code,
      retryInMs: delayMs,
      lost: lost && this.#wasUp,
    });
    this.#wasUp = false;
    this.#setState('reconnect-wait', error);
    this.#retryTimer = setTimeout(() => void this.#connect(), delayMs);
    this.#retryTimer.unref();
  }

  #discard(client: ModbusClient): void {
    try {
      // RTU: closes the serial port. TCP: the socket is ours and already destroyed.
      if (this.#options.target.transport === 'rtu') client.close(() => undefined);
    } catch {
      // Closing a port that never opened: nothing to release.
    }
  }

  #setState(state: ModbusLinkState, error?: ModbusError): void {
    if (this.#state === state) return;
    this.#state = state;
    this.#options.onState?.(state, error);
  }

  /** Closes the link for good; a request in flight fails with a `link` error. */
  async close(): Promise<void> {
    if (this.#state === 'closed') return;
    this.#setState('closed');
    clearTimeout(this.#retryTimer);
    this.#retryTimer = undefined;
    const client = this.#client;
    this.#client = undefined;
    this.#dropped?.(new ModbusError('link', 'link closed'));
    this.#socket?.destroy();
    this.#socket = undefined;
    if (client !== undefined && this.#options.target.transport === 'rtu') {
      await new Promise<void>((resolve) => {
        try {
          client.close(() => resolve());
        } catch {
          resolve();
        }
      });
    }
  }
}
