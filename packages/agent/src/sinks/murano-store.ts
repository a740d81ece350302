/**
 * What the Murano connector keeps in the data directory: the provisioned token (a secret:
 * mode 0600, written atomically, never logged) and the readings taken while offline (a
 * bounded JSON-lines file that survives a restart, trimmed only once Murano acknowledged the
 * batch that carried them).
 *
 * @module
 */

import { mkdir, open, readFile, rm } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { writeFileAtomic } from '../fs-atomic.js';

/** The largest token file read: a Murano token is 40 characters. */
const TOKEN_MAX_BYTES = 4096;

/** Writes `text` to `file` atomically, mode 0600, creating the data directory if need be. */
async function writeAtomic(file: string, text: string): Promise<void> {
  await mkdir(dirname(file), { recursive: true, mode: 0o700 });
  await writeFileAtomic(file, text, { mode: 0o600, uniqueTemp: true });
}

/** The file name part shared by a device's files: connector and device, filesystem-safe. */
function stem(connectorId: string, deviceId: string): string {
  return `murano-${connectorId}-${deviceId.replace(/[^A-Za-z0-9._-]/g, '_')}`;
}

/** The token of one device of one connector, in `<dataDir>/murano-<connector>-<device>.token`. */
export class TokenFile {
  readonly path: string;

  constructor(dataDir: string, connectorId: string, deviceId: string) {
    this.path = join(dataDir, `${stem(connectorId, deviceId)}.token`);
  }

  /** The stored token, or undefined when there is none (or it is empty). */
  async read(): Promise<string | undefined> {
    let text: string;
    try {
      const handle = await open(this.path, 'r');
      try {
        const { size } = await handle.stat();
        if (size > TOKEN_MAX_BYTES) throw new Error(`${this.path} is larger than a token`);
        text = await handle.readFile('utf8');
      } finally {
        await handle.close();
      }
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw error;
    }
    const token = text.trim();
    return token === '' ? undefined : token;
  }

  /** Stores `token`: readable by the agent's user only, never half-written. */
  write(token: string): Promise<void> {
    return writeAtomic(this.path, token);
  }

  /** Forgets the token (re-provisioning). */
  async remove(): Promise<void> {
    await rm(this.path, { force: true });
  }
}

/** Where a password device notes that its password was provisioned (not a secret). */
export function markerPath(dataDir: string, connectorId: string, deviceId: string): string {
  return join(dataDir, `${stem(connectorId, deviceId)}.provisioned`);
}

/**
 * Forgets what provisioning left in the data directory (the token, or the password marker),
 * so the next start provisions again. Returns the files removed.
 */
export async function forgetCredentials(
  dataDir: string,
  connectorId: string,
  deviceId: string,
): Promise<string[]> {
  const removed: string[] = [];
  for (const file of [
    new TokenFile(dataDir, connectorId, deviceId).path,
    markerPath(dataDir, connectorId, deviceId),
  ]) {
    try {
      await rm(file);
      removed.push(file);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
    }
  }
  return removed;
}

/** One reading kept while offline: an alias, its value (JSON text) and when, in µs. */
export interface Reading {
  readonly alias: string;
  readonly value: string;
  readonly timestampUs: number;
}

/** What the history reports (each drop and unreadable line is logged by the caller). */
export type HistoryReport = (
  level: 'warn' | 'info',
  message: string,
  details?: Record<string, unknown>,
) => void;

/** One `$resource.batch` element's JSON, as Murano's guide shows it. */
export function batchEntry(r: Reading): string {
  return JSON.stringify({ timestamp: r.timestampUs, values: { [r.alias]: r.value } });
}

/**
 * The readings not yet acknowledged by Murano, oldest first, mirrored in
 * `<dataDir>/murano-<connector>-<device>.history` (one JSON reading a line). Appends go to
 * the end of the file; a commit (Murano acknowledged the first `n`) rewrites it atomically.
 * At most `max` readings are kept: the oldest is dropped, and counted, to make room.
 */
export class ReadingHistory {
  readonly path: string;
  readonly #max: number;
  readonly #report: HistoryReport;
  #readings: Reading[] = [];
  #lines = 0;
  #dropped = 0;
  /** File operations, one after another. */
  #chain: Promise<void> = Promise.resolve();

  constructor(
    dataDir: string,
    connectorId: string,
    deviceId: string,
    max: number,
    report: HistoryReport,
  ) {
    this.path = join(dataDir, `${stem(connectorId, deviceId)}.history`);
    this.#max = max;
    this.#report = report;
  }

  /** Readings waiting. */
  get size(): number {
    return this.#readings.length;
  }

  /** Readings dropped because the history was full, since the start. */
  get dropped(): number {
    return this.#dropped;
  }

  /** Loads what a previous run kept (the newest `max`); unreadable lines are reported. */
  async load(): Promise<void> {
    let text = '';
    try {
      text = await readFile(this.path, 'utf8');
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
    }
    const readings: Reading[] = [];
    let bad = 0;
    for (const line of text.split('\n')) {
      if (line === '') continue;
      try {
        const r = JSON.parse(line) as Partial<Reading>;
        if (
          typeof r.alias === 'string' &&
          typeof r.value === 'string' &&
          typeof r.timestampUs === 'number'
        )
          readings.push({ alias: r.alias, value: r.value, timestampUs: r.timestampUs });
        else bad++;
      } catch {
        // A line cut by a crash while it was appended.
        bad++;
      }
    }
    if (bad > 0)
      this.#report('warn', `Murano history: ${bad} unreadable line(s) skipped`, {
        file: this.path,
      });
    const over = readings.length - this.#max;
    if (over > 0) this.#drop(over);
    this.#readings = over > 0 ? readings.slice(over) : readings;
    this.#lines = readings.length + bad;
    if (this.#readings.length > 0)
      this.#report('info', `Murano history: ${this.#readings.length} reading(s) to upload`);
  }

  /** Keeps `reading` (durably once the returned promise resolves). */
  add(reading: Reading): Promise<void> {
    this.#readings.push(reading);
    if (this.#readings.length > this.#max) {
      this.#readings.shift();
      this.#drop(1);
    }
    const line = `${JSON.stringify(reading)}\n`;
    // What the file must hold once this operation ran: the readings up to this one (later
    // ones are appended by their own operations, queued after it).
    const snapshot = this.#readings.slice();
    return this.#run(async () => {
      // The file holds at most twice the bound before it is rewritten from memory.
      if (this.#lines + 1 > 2 * this.#max) {
        await this.#rewrite(snapshot);
        return;
      }
      const handle = await open(this.path, 'a', 0o600);
      try {
        await handle.appendFile(line, 'utf8');
      } finally {
        await handle.close();
      }
      this.#lines++;
    });
  }

  /**
   * The oldest readings whose `$resource.batch` payload fits in `maxBytes`, with that
   * payload; none when the history is empty. A single reading larger than the limit is
   * dropped with a warning (Murano would refuse it).
   */
  next(maxBytes: number): { payload: string; count: number } | undefined {
    for (;;) {
      const parts: string[] = [];
      let bytes = 2;
      for (const r of this.#readings) {
        const entry = batchEntry(r);
        const size = Buffer.byteLength(entry) + (parts.length > 0 ? 1 : 0);
        if (bytes + size > maxBytes) break;
        parts.push(entry);
        bytes += size;
      }
      if (parts.length > 0) return { payload: `[${parts.join(',')}]`, count: parts.length };
      const first = this.#readings[0];
      if (first === undefined) return undefined;
      this.#report(
        'warn',
        `Murano history: a reading of ${first.alias} exceeds ${maxBytes} bytes: dropped`,
      );
      this.#readings.shift();
      this.#dropped++;
    }
  }

  /** Murano acknowledged the oldest `count` readings: forget them, in memory and on disk. */
  commit(count: number): Promise<void> {
    this.#readings.splice(0, count);
    const snapshot = this.#readings.slice();
    return this.#run(() => this.#rewrite(snapshot));
  }

  /** Resolves when every file operation so far is done. */
  flushed(): Promise<void> {
    return this.#chain;
  }

  #drop(n: number): void {
    const before = this.#dropped;
    this.#dropped += n;
    // Logged at the first drop and then once per 100, not once per reading: the count is
    // also in the console's card.
    if (before === 0 || Math.floor(before / 100) !== Math.floor(this.#dropped / 100))
      this.#report(
        'warn',
        `Murano history full (${this.#max} readings): the oldest dropped, ${this.#dropped} so far`,
        { dropped: this.#dropped },
      );
  }

  async #rewrite(readings: readonly Reading[]): Promise<void> {
    const text = readings.map((r) => `${JSON.stringify(r)}\n`).join('');
    if (text === '') await rm(this.path, { force: true });
    else await writeAtomic(this.path, text);
    this.#lines = readings.length;
  }

  #run(op: () => Promise<void>): Promise<void> {
    const next = this.#chain.then(op);
    // One failure must not stop the operations after it; the caller sees its own.
    this.#chain = next.catch((error: unknown) =>
      this.#report('warn', `Murano history file: ${(error as Error).message}`, {
        file: this.path,
      }),
    );
    return next;
  }
}
