/**
 * `courier rr`: publish a request and print its response, like `mosquitto_rr`.
 *
 * MQTT 5.0 request/response (§4.10): the request carries the Response Topic `-e` (and the
 * library's Correlation Data); the first message on that topic answering it is printed the
 * way `courier sub` prints (`-v`, `-F`, `-N`). Like mosquitto_rr, `-W` bounds the wait and
 * its expiry prints `Timed out` and exits with status 27.
 *
 * @module
 */

import { readFile } from 'node:fs/promises';
import { RequestTimeoutError } from 'courier-mqtt';
import { checkTopicName } from '../config/topic.js';
import {
  type ConnectFlags,
  endOptionsOf,
  resolveConnectFlags,
  UsageError,
} from './connect-options.js';
import { compileFormat, PayloadNotJsonError, type PrintedMessage } from './format.js';
import { connectForTool, type ToolIo } from './pub.js';
import { TIMEOUT_EXIT_STATUS } from './sub.js';

/** Largest request read from `-f` or stdin: the largest payload an MQTT packet can hold. */
export const MAX_REQUEST_BYTES = 268_435_455;

/** Flags of `courier rr` beyond the connection flags. */
export interface RrFlags extends ConnectFlags {
  /** `-t`: the request topic */
  readonly topic?: string | undefined;
  /** `-e`: the response topic, subscribed to before the request goes out */
  readonly responseTopic?: string | undefined;
  /** `-m` */
  readonly message?: string | undefined;
  /** `-f` */
  readonly file?: string | undefined;
  /** `-s` */
  readonly stdinFile?: boolean | undefined;
  /** `-n` */
  readonly nullMessage?: boolean | undefined;
  /** `-q` @default 0 */
  readonly qos?: number | undefined;
  /** `-W`: give up after this many seconds (status 27) @default wait for ever */
  readonly timeoutSec?: number | undefined;
  /** `-v`: print `topic payload` */
  readonly verbose?: boolean | undefined;
  /** `-F`: output format */
  readonly format?: string | undefined;
  /** `-N`: no newline after the response */
  readonly noNewline?: boolean | undefined;
  /** `-d`: print packets */
  readonly debug?: boolean | undefined;
  /** Ends the wait early (Ctrl-C): exit status 1. */
  readonly signal?: AbortSignal | undefined;
}

/** The longest wait a timer holds (2^31 - 1 ms, about 24.8 days): "no -W" waits this long. */
const FOREVER_MS = 2_147_483_647;

/**
 * Runs `courier rr`.
 * @returns 0 when a response was printed, 27 when `-W` expired first, 1 when interrupted
 * @throws {UsageError} for invalid flags (before connecting)
 */
export async function runRr(flags: RrFlags, io: ToolIo): Promise<number> {
  // mosquitto_rr speaks MQTT 5.0 unless told otherwise.
  const resolved = await resolveConnectFlags(
    flags,
    ['connect', 'publish', 'will', 'disconnect'],
    5,
  );
  if (resolved.options.protocolVersion !== 5) {
    throw new UsageError(
      'Error: courier rr needs MQTT 5.0 (-V 5): a 3.1.1 request cannot carry its response topic.',
    );
  }
  const topic = flags.topic ?? resolved.urlTopic;
  if (topic === undefined) throw new UsageError('Error: A topic must be supplied with -t.');
  const responseTopic = flags.responseTopic;
  if (responseTopic === undefined) {
    throw new UsageError('Error: A response topic must be supplied with -e.');
  }
  for (const [flag, t] of [
    ['-t', topic],
    ['-e', responseTopic],
  ] as const) {
    const why = checkTopicName(t);
    if (why !== undefined) {
      throw new UsageError(
        `Error: Invalid ${flag} topic '${t}', does it contain '+' or '#'? (${why})`,
      );
    }
  }
  const properties = resolved.properties.publish;
  if (properties.responseTopic !== undefined) {
    throw new UsageError('Error: give the response topic with -e, not -D publish response-topic.');
  }
  if (properties.correlationData !== undefined) {
    // The library gives each request its own, to pair the response with it [MQTT-4.10].
    throw new UsageError(
      'Error: courier rr sets the correlation-data of each request itself; -D publish correlation-data is not used.',
    );
  }
  const sources = [
    flags.message !== undefined,
    flags.file !== undefined,
    flags.stdinFile === true,
    flags.nullMessage === true,
  ].filter(Boolean).length;
  if (sources === 0)
    throw new UsageError('Error: A request message must be given (-m, -f, -s or -n).');
  if (sources > 1) throw new UsageError('Error: Only one type of message can be sent at once.');
  const qos = flags.qos ?? 0;
  if (qos !== 0 && qos !== 1 && qos !== 2) {
    throw new UsageError('Error: Invalid QoS given, it must be 0, 1 or 2.');
  }
  if (
    flags.timeoutSec !== undefined &&
    (!Number.isInteger(flags.timeoutSec) || flags.timeoutSec < 1 || flags.timeoutSec > 3600)
  ) {
    throw new UsageError(
      'Error: Invalid timeout specified with -W. It must be between 1 and 3600.',
    );
  }
  const print = flags.format === undefined ? undefined : compileFormat(flags.format);
  const payload = await requestPayload(flags, io);
  const client = await connectForTool(resolved.url, resolved.options, flags.debug === true, io);
  let onAbort: (() => void) | undefined;
  try {
    const reply = client.request(topic, payload, {
      qos,
      responseTopic,
      ...(Object.keys(properties).length === 0 ? {} : { properties }),
      // The library's own timer ends the wait and forgets the request; mosquitto_rr without
      // -W waits for ever.
      timeoutMs: flags.timeoutSec === undefined ? FOREVER_MS : flags.timeoutSec * 1000,
    });
    const outcome = await Promise.race([
      reply.then(
        (m) => ({ m }),
        (error: unknown) => ({ error }),
      ),
      new Promise<{ aborted: true }>((resolve) => {
        onAbort = () => resolve({ aborted: true });
        if (flags.signal?.aborted === true) onAbort();
        flags.signal?.addEventListener('abort', onAbort);
      }),
    ]);
    if ('aborted' in outcome) return 1;
    if ('error' in outcome) {
      if (outcome.error instanceof RequestTimeoutError) {
        io.stderr.write('Timed out\n');
        return TIMEOUT_EXIT_STATUS;
      }
      throw outcome.error;
    }
    const m = outcome.m as PrintedMessage;
    if (print !== undefined) {
      try {
        io.stdout.write(print(m));
      } catch (error) {
        if (!(error instanceof PayloadNotJsonError)) throw error;
        io.stderr.write(`${error.message}\n`);
        return 1;
      }
    } else {
      if (flags.verbose === true) io.stdout.write(`${m.topic} `);
      io.stdout.write(m.payload);
    }
    if (flags.noNewline !== true) io.stdout.write('\n');
    return 0;
  } finally {
    if (onAbort !== undefined) flags.signal?.removeEventListener('abort', onAbort);
    await client.end({ timeoutMs: 5000, ...endOptionsOf(resolved.properties) });
  }
}

async function requestPayload(flags: RrFlags, io: ToolIo): Promise<string | Uint8Array> {
  if (flags.message !== undefined) return flags.message;
  if (flags.nullMessage === true) return '';
  if (flags.file !== undefined) {
    try {
      return await readFile(flags.file);
    } catch (error) {
      throw new UsageError(
        `Error: Unable to read file "${flags.file}": ${(error as NodeJS.ErrnoException).code ?? ''}`,
      );
    }
  }
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of io.stdin) {
    const b = Buffer.from(chunk as Buffer);
    size += b.length;
    if (size > MAX_REQUEST_BYTES) {
      throw new UsageError(`Error: stdin holds more than ${MAX_REQUEST_BYTES} bytes.`);
    }
    chunks.push(b);
  }
  return Buffer.concat(chunks);
}
