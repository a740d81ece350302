/**
 * Starts a private Mosquitto for the benchmark on a free loopback port, with limits set so the
 * broker never drops or throttles a contender's messages: unlimited queue, a wide in-flight
 * window towards the subscriber, Nagle off. Every contender meets the same broker.
 */

import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { connect, createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** A running broker. */
export interface BenchBroker {
  readonly port: number;
  stop(): Promise<void>;
}

/** A port free at the time of the call (the broker binds it right after). */
function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => {
        if (typeof address === 'object' && address !== null) resolve(address.port);
        else reject(new Error('no port'));
      });
    });
  });
}

function canConnect(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect(port, '127.0.0.1');
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}

/**
 * Starts `/usr/sbin/mosquitto` (or `$MOSQUITTO`) with a generated configuration.
 *
 * @param maxInflight the broker's outgoing window per subscriber (`max_inflight_messages`).
 */
export async function startBroker(maxInflight: number): Promise<BenchBroker> {
  const dir = mkdtempSync(join(tmpdir(), 'courier-bench-'));
  const port = await freePort();
  const config = join(dir, 'mosquitto.conf');
  writeFileSync(
    config,
    [
      `listener ${port} 127.0.0.1`,
      'allow_anonymous true',
      'persistence false',
      `max_inflight_messages ${maxInflight}`,
      'max_queued_messages 0',
      'set_tcp_nodelay true',
      'log_dest stderr',
      'log_type error',
      '',
    ].join('\n'),
  );
  const child: ChildProcess = spawn(
    process.env.MOSQUITTO ?? '/usr/sbin/mosquitto',
    ['-c', config],
    {
      stdio: ['ignore', 'ignore', 'pipe'],
    },
  );
  let stderr = '';
  child.stderr?.setEncoding('utf8').on('data', (chunk: string) => {
    stderr += chunk;
  });
  const deadline = Date.now() + 10_000;
  while (!(await canConnect(port))) {
    if (child.exitCode !== null || Date.now() > deadline) {
      child.kill('SIGKILL');
      rmSync(dir, { recursive: true, force: true });
      throw new Error(`mosquitto did not start on port ${port}: ${stderr}`);
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  return {
    port,
    async stop() {
      if (child.exitCode === null) {
        const exited = new Promise((r) => child.once('exit', r));
        child.kill('SIGTERM');
        await exited;
      }
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
