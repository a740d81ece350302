/**
 * Starts a real `redis-server` for a test on a free loopback port, in a temp dir, stopped
 * when the test ends.
 *
 * @module
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { connect } from 'node:net';
import { join } from 'node:path';
import type { TestContext } from 'node:test';
import { freePort } from './ports.js';
import { tempDir } from './tmp.js';

/** A running Redis. */
export interface Redis {
  readonly host: string;
  readonly port: number;
  /** `redis://127.0.0.1:<port>` */
  readonly url: string;
  stop(): Promise<void>;
}

function findRedis(): string {
  for (const dir of (process.env.PATH ?? '').split(':').concat(['/usr/bin', '/usr/sbin'])) {
    const path = join(dir, 'redis-server');
    if (dir !== '' && existsSync(path)) return path;
  }
  throw new Error("redis-server not found: install it with 'apt-get install redis-server'");
}

/** Starts `redis-server` with no persistence on a free port. */
export async function startRedis(t: TestContext | undefined): Promise<Redis> {
  const binary = findRedis();
  const dir = await tempDir(t, 'redis');
  const port = await freePort();
  const child: ChildProcess = spawn(
    binary,
    [
      '--port',
      String(port),
      '--bind',
      '127.0.0.1',
      '--save',
      '',
      '--appendonly',
      'no',
      '--dir',
      dir,
    ],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let output = '';
  child.stdout?.on('data', (c: Buffer) => {
    output += c.toString();
  });
  child.stderr?.on('data', (c: Buffer) => {
    output += c.toString();
  });
  const deadline = Date.now() + 10_000;
  await new Promise<void>((resolve, reject) => {
    const onExit = (code: number | null): void =>
      reject(new Error(`redis-server exited (${code}):\n${output}`));
    child.once('exit', onExit);
    const attempt = (): void => {
      const socket = connect({ host: '127.0.0.1', port });
      socket.once('connect', () => {
        socket.destroy();
        child.off('exit', onExit);
        resolve();
      });
      socket.once('error', () => {
        socket.destroy();
        if (Date.now() > deadline) reject(new Error(`redis-server did not listen:\n${output}`));
        else setTimeout(attempt, 25);
      });
    };
    attempt();
  });
  const stop = async (): Promise<void> => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    const gone = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    child.kill('SIGTERM');
    await gone;
  };
  t?.after(stop);
  return { host: '127.0.0.1', port, url: `redis://127.0.0.1:${port}`, stop };
}
