/**
 * Mosquitto's own command line clients, run by the CLI tests as the peer of `courier`:
 * `mosquitto_pub`, `mosquitto_sub` and `mosquitto_rr` with their output and exit status.
 */
import { execFile, spawn } from 'node:child_process';
import type { TestContext } from 'node:test';
import { promisify } from 'node:util';

const exec = promisify(execFile);

/** Runs mosquitto_pub / mosquitto_sub and returns status and output. */
export async function mosquitto(
  tool: 'mosquitto_pub' | 'mosquitto_sub' | 'mosquitto_rr',
  args: string[],
): Promise<{ status: number; stdout: string; stderr: string }> {
  try {
    const r = await exec(tool, args, { timeout: 15000 });
    return { status: 0, stdout: r.stdout, stderr: r.stderr };
  } catch (error) {
    const e = error as { code?: number; stdout?: string; stderr?: string };
    return {
      status: typeof e.code === 'number' ? e.code : -1,
      stdout: e.stdout ?? '',
      stderr: e.stderr ?? '',
    };
  }
}

/** A running `mosquitto_sub -d`. */
export interface MosquittoSub {
  /** Everything it printed so far: messages and `-d` debug lines. */
  readonly output: string;
  /** Whether its SUBACK is in: from then on, what is published reaches it. */
  subscribed(): boolean;
  /** What it printed without the debug lines. */
  messages(): string;
  readonly exited: Promise<number | string>;
}

const DEBUG_LINE = /^(Client \S+ (sending|received) |Subscribed \(mid: \d+\))/;

/**
 * Starts `mosquitto_sub ARGS -d`. Its debug lines (on stdout) say when the SUBACK is in, the
 * moment to publish: mosquitto_sub has no other readiness signal. `stdbuf -oL` makes it write
 * each line as it comes; into a pipe, stdio would hold them until it exits.
 */
export function startMosquittoSub(t: TestContext, args: string[]): MosquittoSub {
  const child = spawn('stdbuf', ['-oL', 'mosquitto_sub', ...args, '-d'], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  const append = (d: Buffer) => {
    output += d.toString('utf8');
  };
  child.stdout.on('data', append);
  child.stderr.on('data', append);
  const exited = new Promise<number | string>((resolve) => {
    child.on('error', () => resolve(-1));
    child.on('exit', (code, signal) => resolve(code ?? signal ?? -1));
  });
  t.after(() => {
    child.kill('SIGKILL');
  });
  return {
    get output() {
      return output;
    },
    subscribed: () => output.split('\n').some((l) => /^Client \S+ received SUBACK$/.test(l)),
    messages: () =>
      output
        .split('\n')
        .filter((l) => !DEBUG_LINE.test(l))
        .join('\n'),
    exited,
  };
}
