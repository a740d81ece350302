/**
 * The agent's logger: pino. In a file or a pipe, one JSON object per line (what log shippers
 * read); on a terminal, one human-readable line per record (time, level, message, fields).
 *
 * The terminal form is a small formatter over pino's own JSON rather than pino-pretty:
 * pino-pretty brings a dozen packages (colorette, dateformat, fast-copy, help-me, …) and, as a
 * transport, a worker thread, for what is one function here; and formatting in the same stream
 * keeps every line synchronous, so nothing logged just before an exit is lost.
 *
 * @module
 */

import { Writable } from 'node:stream';
import { type DestinationStream, type Level, type Logger, pino } from 'pino';
import { UsageError } from '../tools/connect-options.js';

const LEVELS: Level[] = ['fatal', 'error', 'warn', 'info', 'debug', 'trace'];
const NAMES: Record<number, string> = {
  10: 'TRACE',
  20: 'DEBUG',
  30: 'INFO ',
  40: 'WARN ',
  50: 'ERROR',
  60: 'FATAL',
};

/**
 * Reads a `-d` level: a pino level name, or WCC Lite style digits 0 (errors only) to 4 (trace).
 * @throws {UsageError} for anything else
 */
export function parseLevel(value: string): Level {
  if ((LEVELS as string[]).includes(value)) return value as Level;
  if (/^[0-4]$/.test(value))
    return (['error', 'warn', 'info', 'debug', 'trace'] as const)[Number(value)] as Level;
  throw new UsageError(
    `Error: invalid debug level ${JSON.stringify(value)}: use 0-4 or ${LEVELS.join(', ')}`,
  );
}

/**
 * One human line for a pino JSON record: `12:00:00.123 INFO  message key=value`. An error
 * field shows its message, not its stack: a terminal gets one line per record.
 */
export function humanLine(record: Record<string, unknown>): string {
  const { time, level, msg, pid: _pid, hostname: _host, ...rest } = record;
  const t = typeof time === 'number' ? new Date(time).toISOString().slice(11, 23) : '';
  const fields = Object.entries(rest)
    .filter(([, v]) => v !== undefined)
    .map(([k, v]): [string, unknown] => {
      const message = (v as { message?: unknown } | null)?.message;
      return k === 'err' && typeof message === 'string' ? [k, message] : [k, v];
    })
    .map(
      ([k, v]) =>
        `${k}=${typeof v === 'string' ? (/\s/.test(v) ? JSON.stringify(v) : v) : JSON.stringify(v)}`,
    )
    .join(' ');
  return `${t} ${NAMES[level as number] ?? String(level)} ${String(msg ?? '')}${fields === '' ? '' : ` ${fields}`}\n`;
}

/** Creates the logger writing to `out` (stderr by default). */
export function createLogger(
  level: Level,
  out: NodeJS.WritableStream = process.stderr,
  human = (out as { isTTY?: boolean }).isTTY === true,
): Logger {
  if (!human) return pino({ level, base: null }, out as unknown as DestinationStream);
  const stream = new Writable({
    write(chunk: Buffer, _enc, done) {
      for (const line of chunk.toString('utf8').split('\n')) {
        if (line === '') continue;
        try {
          out.write(humanLine(JSON.parse(line) as Record<string, unknown>));
        } catch {
          out.write(`${line}\n`);
        }
      }
      done();
    },
  });
  return pino({ level, base: null }, stream);
}
