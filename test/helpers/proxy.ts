/**
 * A fault-injecting TCP proxy for tests: sits between a client and a broker and cuts, stalls,
 * delays or throttles the connections on command.
 *
 * @module
 */

import { createServer, connect as netConnect, type Socket } from 'node:net';
import type { TestContext } from 'node:test';

/** Options of {@link startFaultProxy}. */
export interface ProxyOptions {
  readonly targetHost: string;
  readonly targetPort: number;
}

/** A running proxy. */
export interface FaultProxy {
  readonly host: string;
  readonly port: number;
  url(scheme?: string): string;
  /** Open client connections. */
  readonly connections: number;
  /** Connections accepted so far. */
  readonly accepted: number;
  /** Destroys every connection, both sides, at once. */
  cutAll(): void;
  /**
   * Stops forwarding bytes in both directions while the sockets stay open: from the client's
   * side the link is half-open.
   */
  stall(on: boolean): void;
  /** Adds latency to every forwarded chunk. */
  setLatency(ms: number): void;
  /** Limits forwarding to about this many bytes per second (undefined: no limit). */
  setBandwidth(bytesPerSec: number | undefined): void;
  /** Closes new connections at once while on. */
  refuse(on: boolean): void;
  /** Cuts at random moments, every `minMs`..`maxMs`, until the returned function is called. */
  cutRandomly(minMs: number, maxMs: number, random?: () => number): () => void;
  close(): Promise<void>;
}

interface Pair {
  readonly client: Socket;
  readonly upstream: Socket;
}

/** Starts a proxy on a free loopback port forwarding to the target. */
export async function startFaultProxy(
  t: TestContext | undefined,
  options: ProxyOptions,
): Promise<FaultProxy> {
  const pairs = new Set<Pair>();
  let accepted = 0;
  let stalled = false;
  let refusing = false;
  let latencyMs = 0;
  let bytesPerSec: number | undefined;
  const held: (() => void)[] = [];

  const forward = (from: Socket, to: Socket): void => {
    from.on('data', (chunk: Buffer) => {
      const send = (): void => {
        if (to.destroyed) return;
        to.write(chunk);
      };
      const deliver = (): void => {
        if (stalled) {
          held.push(deliver);
          return;
        }
        if (bytesPerSec !== undefined) {
          from.pause();
          setTimeout(
            () => {
              send();
              from.resume();
            },
            Math.ceil((chunk.length / bytesPerSec) * 1000),
          );
          return;
        }
        send();
      };
      if (latencyMs > 0) setTimeout(deliver, latencyMs);
      else deliver();
    });
  };

  const server = createServer((client) => {
    accepted++;
    if (refusing) {
      client.destroy();
      return;
    }
    const upstream = netConnect({ host: options.targetHost, port: options.targetPort });
    const pair: Pair = { client, upstream };
    pairs.add(pair);
    const teardown = (): void => {
      pairs.delete(pair);
      client.destroy();
      upstream.destroy();
    };
    client.on('error', teardown);
    upstream.on('error', teardown);
    client.on('close', teardown);
    upstream.on('close', teardown);
    client.setNoDelay(true);
    upstream.setNoDelay(true);
    forward(client, upstream);
    forward(upstream, client);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  const port = typeof address === 'object' && address !== null ? address.port : 0;
  const timers = new Set<ReturnType<typeof setTimeout>>();

  const cutAll = (): void => {
    for (const p of pairs) {
      p.client.destroy();
      p.upstream.destroy();
    }
    pairs.clear();
    held.length = 0;
  };
  const close = async (): Promise<void> => {
    for (const timer of timers) clearTimeout(timer);
    cutAll();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  };
  t?.after(close);
  return {
    host: '127.0.0.1',
    port,
    url: (scheme = 'mqtt') => `${scheme}://127.0.0.1:${port}`,
    get connections() {
      return pairs.size;
    },
    get accepted() {
      return accepted;
    },
    cutAll,
    stall(on) {
      stalled = on;
      if (!on) for (const deliver of held.splice(0)) deliver();
    },
    setLatency(ms) {
      latencyMs = ms;
    },
    setBandwidth(limit) {
      bytesPerSec = limit;
    },
    refuse(on) {
      refusing = on;
    },
    cutRandomly(minMs, maxMs, random = Math.random) {
      let stopped = false;
      const schedule = (): void => {
        if (stopped) return;
        const timer = setTimeout(
          () => {
            timers.delete(timer);
            cutAll();
            schedule();
          },
          minMs + random() * (maxMs - minMs),
        );
        timers.add(timer);
      };
      schedule();
      return () => {
        stopped = true;
        for (const timer of timers) clearTimeout(timer);
        timers.clear();
      };
    },
    close,
  };
}
