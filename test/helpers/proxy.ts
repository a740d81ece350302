/**
 * A fault-injecting TCP proxy for resilience tests: it sits between client and broker and can
 * cut every connection, stall forwarding while keeping the sockets open (a half-open link),
 * add latency, cap bandwidth and refuse new connections.
 *
 * @module
 */

import { createServer, type Server, type Socket, connect as tcpConnect } from 'node:net';
import type { TestContext } from 'node:test';

/** Where the proxy forwards to. */
export interface FaultProxyOptions {
  targetHost: string;
  targetPort: number;
}

/** A running proxy on a free 127.0.0.1 port. */
export interface FaultProxy {
  readonly host: string;
  readonly port: number;
  /** `scheme://127.0.0.1:<port>` */
  url(scheme?: string): string;
  /** Connections currently open through the proxy. */
  readonly connections: number;
  /** Connections accepted since the start (refused ones included). */
  readonly accepted: number;
  /** Resets every open connection, both sides, at once. */
  cutAll(): void;
  /** While on, nothing is forwarded in either direction; sockets stay open, bytes wait. */
  stall(on: boolean): void;
  /** Delays every chunk by `ms` in each direction. */
  setLatency(ms: number): void;
  /** Caps each direction of each connection to `bytesPerSec`; `undefined` lifts the cap. */
  setBandwidth(bytesPerSec: number | undefined): void;
  /** While on, new connections are accepted and reset at once; open ones are kept. */
  refuse(on: boolean): void;
  /**
   * Cuts every connection at random moments, each `minMs`..`maxMs` after the previous one, until
   * the returned function is called, the proxy closes, or `maxCuts` (default 1000) is reached.
   * Returns a stop function that reports how many cuts were made.
   */
  cutRandomly(options: RandomCutOptions): () => number;
  /** Cuts every connection and stops listening. Idempotent. */
  close(): Promise<void>;
}

/** Options of {@link FaultProxy.cutRandomly}. */
export interface RandomCutOptions {
  minMs: number;
  maxMs: number;
  /** A `[0, 1)` source, e.g. a seeded generator to replay a run; default `Math.random`. */
  rng?: () => number;
  /** Upper bound on the number of cuts, so a forgotten cutter cannot run forever. */
  maxCuts?: number;
}

interface Settings {
  stalled: boolean;
  latencyMs: number;
  bytesPerSec: number | undefined;
}

/** Above this many queued bytes the source is paused, so a stall backs up into TCP. */
const HIGH_WATER_BYTES = 1 << 20;

/** One direction of one connection: a queue of chunks released by the current settings. */
class Pipe {
  readonly #queue: { data: Buffer; readyAt: number }[] = [];
  readonly #from: Socket;
  readonly #to: Socket;
  readonly #settings: Settings;
  #queuedBytes = 0;
  #timer: NodeJS.Timeout | undefined;
  #ended = false;

  constructor(from: Socket, to: Socket, settings: Settings) {
    this.#from = from;
    this.#to = to;
    this.#settings = settings;
    from.on('data', (data: Buffer) => {
      this.#queue.push({ data, readyAt: Date.now() + settings.latencyMs });
      this.#queuedBytes += data.length;
      if (this.#queuedBytes > HIGH_WATER_BYTES) from.pause();
      this.pump();
    });
    from.on('end', () => {
      this.#ended = true;
      this.pump();
    });
  }

  /** Sends what the settings allow now and schedules the rest. */
  pump(): void {
    if (this.#timer !== undefined || this.#to.destroyed) return;
    while (!this.#settings.stalled) {
      const head = this.#queue[0];
      if (head === undefined) {
        if (this.#ended) this.#to.end();
        return;
      }
      const wait = head.readyAt - Date.now();
      if (wait > 0) {
        this.#schedule(wait);
        return;
      }
      let chunk = head.data;
      const rate = this.#settings.bytesPerSec;
      if (rate !== undefined) {
        // Send a slice worth ~20 ms of the budget, then wait for the time it "took".
        const slice = Math.max(1, Math.floor(rate / 50));
        if (chunk.length > slice) {
          head.data = chunk.subarray(slice);
          chunk = chunk.subarray(0, slice);
        } else {
          this.#queue.shift();
        }
        this.#send(chunk);
        this.#schedule((chunk.length / rate) * 1000);
        return;
      }
      this.#queue.shift();
      this.#send(chunk);
    }
  }

  #send(chunk: Buffer): void {
    this.#queuedBytes -= chunk.length;
    this.#to.write(chunk);
    if (this.#queuedBytes <= HIGH_WATER_BYTES && this.#from.isPaused()) this.#from.resume();
  }

  #schedule(ms: number): void {
    this.#timer = setTimeout(() => {
      this.#timer = undefined;
      this.pump();
    }, ms);
  }

  dispose(): void {
    clearTimeout(this.#timer);
    this.#timer = undefined;
  }
}

function reset(socket: Socket): void {
  if (!socket.destroyed) socket.resetAndDestroy();
}

/** Starts a proxy to `targetHost:targetPort`; closed after the test when a context is given. */
export async function startFaultProxy(
  t: TestContext | undefined,
  options: FaultProxyOptions,
): Promise<FaultProxy> {
  const settings: Settings = { stalled: false, latencyMs: 0, bytesPerSec: undefined };
  const open = new Set<{ client: Socket; upstream: Socket; pipes: Pipe[] }>();
  let accepted = 0;
  let refusing = false;
  const server: Server = createServer((client) => {
    accepted += 1;
    if (refusing) {
      reset(client);
      return;
    }
    client.setNoDelay(true);
    const upstream = tcpConnect({ host: options.targetHost, port: options.targetPort });
    upstream.setNoDelay(true);
    const entry = {
      client,
      upstream,
      pipes: [new Pipe(client, upstream, settings), new Pipe(upstream, client, settings)],
    };
    open.add(entry);
    const teardown = (): void => {
      if (!open.delete(entry)) return;
      for (const pipe of entry.pipes) pipe.dispose();
      // A reset on one side is passed on as a reset; a clean close as a close.
      client.destroy();
      upstream.destroy();
    };
    client.on('error', teardown).on('close', teardown);
    upstream.on('error', teardown).on('close', teardown);
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen({ port: 0, host: '127.0.0.1' }, resolve);
  });
  const address = server.address();
  if (address === null || typeof address === 'string') throw new Error('proxy has no port');
  const { port } = address;

  const cutAll = (): void => {
    for (const entry of [...open]) {
      reset(entry.client);
      reset(entry.upstream);
    }
  };
  let closed: Promise<void> | undefined;
  const proxy: FaultProxy = {
    host: '127.0.0.1',
    port,
    url: (scheme = 'mqtt') => `${scheme}://127.0.0.1:${port}`,
    get connections() {
      return open.size;
    },
    get accepted() {
      return accepted;
    },
    cutAll,
    stall(on) {
      settings.stalled = on;
      if (!on) for (const entry of open) for (const pipe of entry.pipes) pipe.pump();
    },
    setLatency(ms) {
      settings.latencyMs = ms;
    },
    setBandwidth(bytesPerSec) {
      if (bytesPerSec !== undefined && !(bytesPerSec > 0)) {
        throw new RangeError('bandwidth must be a positive number of bytes per second');
      }
      settings.bytesPerSec = bytesPerSec;
    },
    refuse(on) {
      refusing = on;
    },
    cutRandomly({ minMs, maxMs, rng = Math.random, maxCuts = 1000 }) {
      if (!(minMs >= 0 && maxMs >= minMs)) {
        throw new RangeError('cutRandomly needs 0 <= minMs <= maxMs');
      }
      let cuts = 0;
      let timer: ReturnType<typeof setTimeout> | undefined;
      const schedule = (): void => {
        if (closed !== undefined || cuts >= maxCuts) return;
        timer = setTimeout(
          () => {
            cuts += 1;
            cutAll();
            schedule();
          },
          minMs + rng() * (maxMs - minMs),
        );
      };
      schedule();
      const stop = (): number => {
        clearTimeout(timer);
        timer = undefined;
        return cuts;
      };
      t?.after(stop);
      return stop;
    },
    close() {
      closed ??= new Promise<void>((resolve) => {
        server.close(() => resolve());
        cutAll();
      });
      return closed;
    },
  };
  t?.after(() => proxy.close());
  return proxy;
}
