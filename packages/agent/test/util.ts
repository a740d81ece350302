// Test utilities of the agent: run the `courier` command as a child process, wait for
// conditions, and observe a broker with an independent client (MQTT.js).
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import mqtt, { type MqttClient } from 'mqtt';

/** The repository root. */
export const ROOT = fileURLToPath(new URL('../../../', import.meta.url));

/** A running `courier` child process with its output so far. */
export interface CliProcess {
  readonly child: ChildProcess;
  stdout: string;
  stderr: string;
  /** Resolves with the exit status (or the signal name). */
  readonly exited: Promise<number | string>;
}

/** Starts `courier ARGS` from source (no build needed), in the repository root. */
export function startCli(args: readonly string[], input?: string | Buffer): CliProcess {
  const child = spawn(
    process.execPath,
    ['--conditions=source', '--import', 'tsx', 'packages/agent/src/cli/main.ts', ...args],
    { cwd: ROOT, stdio: ['pipe', 'pipe', 'pipe'] },
  );
  const proc: CliProcess = {
    child,
    stdout: '',
    stderr: '',
    exited: new Promise((resolve) => {
      child.on('exit', (code, signal) => resolve(code ?? signal ?? -1));
    }),
  };
  child.stdout?.on('data', (d: Buffer) => {
    proc.stdout += d.toString('utf8');
  });
  child.stderr?.on('data', (d: Buffer) => {
    proc.stderr += d.toString('utf8');
  });
  if (input !== undefined) child.stdin?.end(input);
  else child.stdin?.end();
  return proc;
}

/** Runs `courier ARGS` to completion. */
export async function runCli(
  args: readonly string[],
  input?: string | Buffer,
  timeoutMs = 20000,
): Promise<{ status: number | string; stdout: string; stderr: string }> {
  const proc = startCli(args, input);
  const timer = setTimeout(() => proc.child.kill('SIGKILL'), timeoutMs);
  const status = await proc.exited;
  clearTimeout(timer);
  return { status, stdout: proc.stdout, stderr: proc.stderr };
}

/**
 * Polls `check` until it returns true, or fails after `timeoutMs` with `what`. The bound is
 * generous: a child `courier` started from source (tsx) on a loaded two-core machine has been
 * seen to take over 10 s to print its first line, and a bound only decides how long a failure
 * takes to show.
 */
export async function waitFor(
  check: () => boolean,
  what: string,
  timeoutMs = 30000,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** A received message, as the observer saw it. */
export interface Seen {
  readonly topic: string;
  readonly payload: string;
  readonly qos: number;
  readonly retain: boolean;
  readonly at: number;
}

/** An independent observer (MQTT.js) subscribed to `filters`. */
export async function observe(
  url: string,
  filters: string | string[],
  qos: 0 | 1 | 2 = 2,
): Promise<{ client: MqttClient; seen: Seen[] }> {
  const client = await mqtt.connectAsync(url, { reconnectPeriod: 0 });
  const seen: Seen[] = [];
  client.on('message', (topic, payload, packet) => {
    seen.push({
      topic,
      payload: payload.toString('utf8'),
      qos: packet.qos,
      retain: packet.retain,
      at: Date.now(),
    });
  });
  await client.subscribeAsync(filters, { qos });
  return { client, seen };
}

/** Writes a JSON file in a fresh temporary directory and returns its path. */
export function tempJson(name: string, value: unknown): string {
  const dir = mkdtempSync(join(tmpdir(), 'courier-agent-'));
  const file = join(dir, name);
  writeFileSync(file, JSON.stringify(value, null, 2));
  return file;
}

/**
 * Cleanups that run before the test's other `after` hooks, last registered first. Call it
 * before starting the broker: node:test runs `after` hooks in registration order, so the
 * agent and observers are closed while the broker they talk to is still up.
 */
export function deferrer(t: {
  after: (fn: () => Promise<void>) => void;
}): (fn: () => unknown) => void {
  const stack: (() => unknown)[] = [];
  t.after(async () => {
    for (const fn of stack.reverse()) {
      try {
        await fn();
      } catch {
        // A cleanup failing must not hide the test's own result.
      }
    }
  });
  return (fn) => {
    stack.push(fn);
  };
}
