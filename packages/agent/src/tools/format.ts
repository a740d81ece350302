/**
 * `courier sub -F` / `courier rr -F`: mosquitto_sub's output format strings.
 *
 * A format is compiled once, at option time, so that a sequence courier cannot print is an
 * error before connecting, not a surprise on the first message. Supported, as
 * `man mosquitto_sub` describes them:
 * - `%%`, `%t` topic, `%p` payload, `%l` payload length, `%q` QoS, `%r` retain flag,
 *   `%x` / `%X` payload in hex;
 * - MQTT 5.0 properties, empty when absent: `%C` content type, `%D` correlation data, `%E`
 *   message expiry interval, `%F` payload format indicator, `%P` user properties
 *   (`name:value`, space separated, repeats kept), `%R` response topic, `%S` subscription
 *   identifiers, `%A` topic alias (always empty: the client resolves aliases before a
 *   message is delivered);
 * - helpers: `%I` ISO-8601 time, `%U` Unix time with nanoseconds, `%j` / `%J` JSON;
 * - flags `0` and `-`, a field width and (for `%C %I %R %t`) a maximum width;
 * - `@@`, `@N` and the strftime fields `@Y @m @d @H @M @S @s @z @y @j @e`, in UTC;
 * - escapes `\\ \0 \a \e \n \r \t \v`.
 *
 * `%m` (message id) is refused: the library does not hand the packet identifier out.
 *
 * @module
 */

import type { Message } from 'courier-mqtt';
import { UsageError } from './connect-options.js';

/** A received message; `properties` holds its MQTT 5.0 properties (undefined on 3.1.1). */
export type PrintedMessage = Message;

/** Largest format string accepted: a bound on what the command line may ask to compile. */
export const MAX_FORMAT_LENGTH = 4096;

type Piece = (m: PrintedMessage, now: Date, nanos: bigint) => string | Uint8Array;

const hex = (bytes: Uint8Array, upper: boolean): string => {
  const s = Buffer.from(bytes).toString('hex');
  return upper ? s.toUpperCase() : s;
};

const pad2 = (n: number) => String(n).padStart(2, '0');

/** `2026-11-30T13:13:54+0000`: mosquitto's `%I`, in UTC. */
function isoTime(d: Date): string {
  return `${d.toISOString().slice(0, 19)}+0000`;
}

/** mosquitto's `tst` in `%j`: microseconds, then `Z+0000` as mosquitto 2.0 prints it in UTC. */
function jsonTime(d: Date, nanos: bigint): string {
  const micros = String((nanos / 1000n) % 1_000_000n).padStart(6, '0');
  return `${d.toISOString().slice(0, 19)}.${micros}Z+0000`;
}

/** The user properties the way `%P` prints them: `name:value`, space separated. */
export function userPropertiesText(m: PrintedMessage): string {
  return (m.properties?.userProperties ?? []).map(([k, v]) => `${k}:${v}`).join(' ');
}

/**
 * The `%j` / `%J` object, with mosquitto_sub's field names and order. User properties are
 * an object there as in mosquitto (a repeated name keeps its last value); `%P` keeps all.
 */
function jsonOf(m: PrintedMessage, d: Date, nanos: bigint, rawPayload: boolean): string {
  const p = m.properties;
  const props: Record<string, unknown> = {};
  if (p !== undefined) {
    if (p.userProperties !== undefined && p.userProperties.length > 0) {
      props['user-properties'] = Object.fromEntries(p.userProperties);
    }
    if (p.contentType !== undefined) props['content-type'] = p.contentType;
    if (p.payloadFormatIndicator !== undefined) {
      props['payload-format-indicator'] = p.payloadFormatIndicator;
    }
    if (p.responseTopic !== undefined) props['response-topic'] = p.responseTopic;
    if (p.correlationData !== undefined) {
      props['correlation-data'] = Buffer.from(p.correlationData).toString('utf8');
    }
    if (p.messageExpiryIntervalSec !== undefined) {
      props['message-expiry-interval'] = p.messageExpiryIntervalSec;
    }
    if (p.subscriptionIdentifiers !== undefined && p.subscriptionIdentifiers.length > 0) {
      props['subscription-identifier'] = p.subscriptionIdentifiers[0];
    }
  }
  const head = JSON.stringify({
    tst: jsonTime(d, nanos),
    topic: m.topic,
    qos: m.qos,
    retain: m.retain ? 1 : 0,
    payloadlen: m.payload.length,
    ...(Object.keys(props).length === 0 ? {} : { properties: props }),
  }).slice(0, -1);
  const text = Buffer.from(m.payload).toString('utf8');
  if (rawPayload) {
    try {
      JSON.parse(text);
    } catch {
      throw new PayloadNotJsonError(m.topic);
    }
    return `${head},"payload":${text}}`;
  }
  return `${head},"payload":${JSON.stringify(text)}}`;
}

/** `%J` met a payload that is not JSON: mosquitto_sub prints this and skips the message. */
export class PayloadNotJsonError extends UsageError {
  constructor(topic: string) {
    super(`Error: Message payload is not valid JSON on topic ${topic}`);
  }
}

const STRFTIME: Readonly<Record<string, (d: Date, nanos: bigint) => string>> = {
  Y: (d) => String(d.getUTCFullYear()),
  y: (d) => pad2(d.getUTCFullYear() % 100),
  m: (d) => pad2(d.getUTCMonth() + 1),
  d: (d) => pad2(d.getUTCDate()),
  e: (d) => String(d.getUTCDate()).padStart(2, ' '),
  j: (d) =>
    String(
      Math.floor((d.getTime() - Date.UTC(d.getUTCFullYear(), 0, 1)) / 86_400_000) + 1,
    ).padStart(3, '0'),
  H: (d) => pad2(d.getUTCHours()),
  M: (d) => pad2(d.getUTCMinutes()),
  S: (d) => pad2(d.getUTCSeconds()),
  s: (d) => String(Math.floor(d.getTime() / 1000)),
  z: () => '+0000',
  N: (_d, nanos) => String(nanos % 1_000_000_000n).padStart(9, '0'),
  '@': () => '@',
};

const ESCAPES: Readonly<Record<string, string>> = {
  '\\': '\\',
  '0': '\0',
  a: '\x07',
  e: '\x1b',
  n: '\n',
  r: '\r',
  t: '\t',
  v: '\v',
};

/** Parameters that take a width, and those that also take a maximum width. */
const WIDTH = new Set('ACEFIlpRStxX');
const MAX_WIDTH = new Set('CIRt');
/** Numbers: the `0` flag pads them with zeros. */
const ZERO = new Set('AEFlSxX');

/**
 * Compiles a `-F` format.
 * @returns a function printing one message (bytes where the payload is raw)
 * @throws {UsageError} naming the sequence courier does not support
 */
export function compileFormat(
  format: string,
): (m: PrintedMessage, now?: Date, nanos?: bigint) => Uint8Array {
  if (format.length > MAX_FORMAT_LENGTH) {
    throw new UsageError(`Error: -F format longer than ${MAX_FORMAT_LENGTH} characters.`);
  }
  const pieces: Piece[] = [];
  let literal = '';
  const flush = () => {
    if (literal === '') return;
    const text = literal;
    pieces.push(() => text);
    literal = '';
  };
  for (let i = 0; i < format.length; i++) {
    const c = format[i] as string;
    if (c === '\\' && i + 1 < format.length) {
      const e = ESCAPES[format[i + 1] as string];
      if (e === undefined) {
        throw new UsageError(`Error: -F: unknown escape \\${format[i + 1]}.`);
      }
      literal += e;
      i++;
    } else if (c === '@' && i + 1 < format.length) {
      const f = STRFTIME[format[i + 1] as string];
      if (f === undefined) {
        throw new UsageError(`Error: -F: @${format[i + 1]} is not a time field courier prints.`);
      }
      flush();
      pieces.push((_m, d, n) => f(d, n));
      i++;
    } else if (c === '%' && i + 1 < format.length) {
      const spec = /^%([-0]*)(\d*)(?:\.(\d+))?([%ACDEFIjJlmpPqrRStUxX])/.exec(format.slice(i));
      if (spec === null) {
        throw new UsageError(`Error: -F: unknown sequence ${format.slice(i, i + 2)}.`);
      }
      const [whole, flags = '', width = '', precision, letter = ''] = spec;
      i += whole.length - 1;
      if (letter === '%') {
        literal += '%';
        continue;
      }
      if (letter === 'm') {
        throw new UsageError(
          'Error: -F: %m (message id) is not available: courier does not hand out packet identifiers.',
        );
      }
      flush();
      const value = parameter(letter);
      const w = WIDTH.has(letter) && width !== '' ? Number(width) : 0;
      const max = MAX_WIDTH.has(letter) && precision !== undefined ? Number(precision) : undefined;
      const left = flags.includes('-');
      const zero = !left && flags.includes('0') && ZERO.has(letter);
      if (w === 0 && max === undefined) {
        pieces.push(value);
      } else {
        pieces.push((m, d, n) => {
          const v = value(m, d, n);
          let s = typeof v === 'string' ? v : Buffer.from(v).toString('latin1');
          if (max !== undefined) s = s.slice(0, max);
          if (s.length < w) s = left ? s.padEnd(w, ' ') : s.padStart(w, zero ? '0' : ' ');
          return typeof v === 'string' ? s : Buffer.from(s, 'latin1');
        });
      }
    } else {
      literal += c;
    }
  }
  flush();
  // `nanos`: wall-clock nanoseconds since the epoch (millisecond resolution from `Date`).
  return (m, now = new Date(), nanos = BigInt(now.getTime()) * 1_000_000n) => {
    const parts = pieces.map((p) => p(m, now, nanos));
    return Buffer.concat(parts.map((p) => (typeof p === 'string' ? Buffer.from(p, 'utf8') : p)));
  };
}

function parameter(letter: string): Piece {
  const props = (m: PrintedMessage) => m.properties;
  const num = (n: number | undefined) => (n === undefined ? '' : String(n));
  switch (letter) {
    case 'A':
      return (m) => num(props(m)?.topicAlias);
    case 'C':
      return (m) => props(m)?.contentType ?? '';
    case 'D':
      return (m) => props(m)?.correlationData ?? '';
    case 'E':
      return (m) => num(props(m)?.messageExpiryIntervalSec);
    case 'F':
      return (m) => num(props(m)?.payloadFormatIndicator);
    case 'I':
      return (_m, d) => isoTime(d);
    case 'j':
      return (m, d, n) => jsonOf(m, d, n, false);
    case 'J':
      return (m, d, n) => jsonOf(m, d, n, true);
    case 'l':
      return (m) => String(m.payload.length);
    case 'p':
      return (m) => m.payload;
    case 'P':
      return userPropertiesText;
    case 'q':
      return (m) => String(m.qos);
    case 'r':
      return (m) => (m.retain ? '1' : '0');
    case 'R':
      return (m) => props(m)?.responseTopic ?? '';
    case 'S':
      return (m) => (props(m)?.subscriptionIdentifiers ?? []).join(',');
    case 't':
      return (m) => m.topic;
    case 'U':
      return (_m, d, n) =>
        `${Math.floor(d.getTime() / 1000)}.${String(n % 1_000_000_000n).padStart(9, '0')}`;
    case 'x':
      return (m) => hex(m.payload, false);
    default:
      return (m) => hex(m.payload, true);
  }
}
