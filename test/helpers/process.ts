/**
 * Shared plumbing for the real peers tests start (Mosquitto, Redis): locating binaries,
 * capturing their output, waiting for TCP readiness and stopping them cleanly.
 *
 * @module
 */

import { type ChildProcess, spawn } from 'node:child_process';
import { constants as fsConstants } from 'node:fs';
import { access } from 'node:fs/promises';
import { connect } from 'node:net';
import { delimiter, join } from 'node:path';

/**
 * Finds an executable on PATH or in `/usr/sbin` and `/usr/bin` (Debian installs mosquitto in
 * /usr/sbin, which is not on every PATH). A missing binary is an error naming the package to
 * install: tests against real peers never skip silently.
 */
export async function findBinary(name: string, aptPackages: string): Promise<string> {
  const dirs = [...(process.env.PATH ?? '').split(delimiter), '/usr/sbin', '/usr/bin', '/sbin'];
  for (const dir of dirs) {
    if (dir === '') continue;
    const candidate = join(dir, name);
    try {
      await access(candidate, fsConstants.X_OK);
      return candidate;
    } catch {
      // Not here; try the next directory.
    }
  }
  throw new Error(`${name} not found on PATH or in /usr/sbin: apt-get install ${aptPackages}`);
}

/** A spawned peer whose stdout and stderr are kept for error messages. */
export interface PeerProcess {
  readonly child: ChildProcess;
  /** Everything the process printed so far. */
  output(): string;
  /** Resolves with the exit code (or signal name) once the process has exited. */
  readonly exited: Promise<number | string>;
}

/** Spawns `command args`, capturing its output (bounded to the last 256 KiB). */
export function spawnPeer(command: string, args: readonly string[], cwd: string): PeerProcess {
  const child = spawn(command, args, { cwd, stdio: ['ignore', 'pipe', 'pipe'] });
  let text = '';
  const append = (chunk: Buffer): void => {
    text += chunk.toString('utf8');
    if (text.length > 262_144) text = text.slice(-262_144);
  };
  child.stdout?.on('data', append);
  child.stderr?.on('data', append);
  const exited = new Promise<number | string>((resolve) => {
    child.once('error', (err) => {
      append(Buffer.from(`spawn failed: ${err.message}\n`));
      resolve(-1);
    });
    child.once('exit', (code, signal) => resolve(code ?? signal ?? -1));
  });
  return { child, output: () => text, exited };
}

function probe(host: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ host, port });
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}

/**
 * Waits until every `host:port` accepts a TCP connection. Rejects at once, with the peer's
 * output, if the process exits first, and after `timeoutMs` otherwise.
 */
export async function waitForListeners(
  peer: PeerProcess,
  name: string,
  endpoints: readonly { host: string; port: number }[],
  timeoutMs = 10_000,
): Promise<void> {
  let exitedWith: number | string | undefined;
  void peer.exited.then((code) => {
    exitedWith = code;
  });
  const deadline = Date.now() + timeoutMs;
  for (const { host, port } of endpoints) {
    for (;;) {
      if (exitedWith !== undefined) {
        throw new Error(`${name} exited (${exitedWith}) before listening:\n${peer.output()}`);
      }
      if (await probe(host, port)) break;
      if (Date.now() > deadline) {
        throw new Error(
          `${name} not listening on ${host}:${port} after ${timeoutMs} ms:\n${peer.output()}`,
        );
      }
      await new Promise((r) => setTimeout(r, 20));
    }
  }
}

/** Sends SIGTERM and waits for the exit; SIGKILL after `graceMs`. Safe to call twice. */
export async function stopPeer(peer: PeerProcess, graceMs = 5_000): Promise<void> {
  const { child } = peer;
  if (child.exitCode !== null || child.signalCode !== null) return;
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
  await peer.exited;
  clearTimeout(timer);
}
