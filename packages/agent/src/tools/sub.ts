/**
 * `courier sub`: subscribe and print messages, like `mosquitto_sub`.
 *
 * Output matches mosquitto_sub: the payload alone, or `topic payload` with `-v`, one per line
 * (`-N` drops the newline). `-C n` exits after n messages; `-W sec` exits with status 27 and
 * prints `Timed out` when no message ended it in time, as mosquitto_sub does.
 *
 * @module
 */

import type { Granted, SubscribeOptions } from 'courier-mqtt';
import { reasonCodeName } from 'courier-mqtt/packet';
import { checkTopicFilter } from '../config/topic.js';
import {
  type ConnectFlags,
  endOptionsOf,
  resolveConnectFlags,
  UsageError,
} from './connect-options.js';
import { compileFormat, PayloadNotJsonError, type PrintedMessage } from './format.js';
import { connectForTool, type ToolIo } from './pub.js';

/** mosquitto_sub's exit status when `-W` expires. */
export const TIMEOUT_EXIT_STATUS = 27;

/** Flags of `courier sub` beyond the connection flags. */
export interface SubFlags extends ConnectFlags {
  /** `-t`, repeatable */
  readonly topics?: readonly string[] | undefined;
  /** `-q` @default 0 */
  readonly qos?: number | undefined;
  /** `-v`: print `topic payload` */
  readonly verbose?: boolean | undefined;
  /** `-C`: exit after this many messages */
  readonly count?: number | undefined;
  /** `-W`: exit with status 27 after this many seconds */
  readonly timeoutSec?: number | undefined;
  /** `-N`: no newline after each message */
  readonly noNewline?: boolean | undefined;
  /** `-R`: do not print retained (stale) messages */
  readonly noRetained?: boolean | undefined;
  /** `-E`: exit once subscribed */
  readonly exitAfterSubscribe?: boolean | undefined;
  /** `-d`: print packets */
  readonly debug?: boolean | undefined;
  /** `--trace`: print every packet decoded, secrets masked */
  readonly trace?: boolean | undefined;
  /** `-F`: output format (see {@link compileFormat}); overrides `-v` */
  readonly format?: string | undefined;
  /** Ends the subscription early (Ctrl-C). */
  readonly signal?: AbortSignal | undefined;
}

/**
 * One line per filter the broker refused: its SUBACK reason code and the specification's
 * name for it (`Subscription to 'a/#' refused: 0x87 Not authorized`). MQTT 3.1.1 has only
 * 0x80, "Failure".
 */
export function refusals(topics: readonly string[], granted: readonly Granted[]): string[] {
  return granted.flatMap((g, i) => {
    if (g < 0x80) return [];
    const name = reasonCodeName(g, 'suback') ?? 'Failure';
    const code = `0x${g.toString(16).padStart(2, '0')}`;
    return [`Subscription to '${topics[i]}' refused: ${code} ${name}`];
  });
}

/**
 * Runs `courier sub`.
 * @returns the exit status: 0, or 27 when `-W` expired
 * @throws {UsageError} for invalid flags (before connecting)
 */
export async function runSub(flags: SubFlags, io: ToolIo): Promise<number> {
  const resolved = await resolveConnectFlags(flags, ['connect', 'subscribe', 'will', 'disconnect']);
  const print = flags.format === undefined ? undefined : compileFormat(flags.format);
  const topics = [...(flags.topics ?? [])];
  if (resolved.urlTopic !== undefined) topics.push(resolved.urlTopic);
  if (topics.length === 0) throw new UsageError('Error: You must specify a topic to subscribe to.');
  for (const t of topics) {
    const why = checkTopicFilter(t);
    if (why !== undefined)
      throw new UsageError(
        `Error: Invalid subscription topic '${t}', are all '+' and '#' wildcards correct? (${why})`,
      );
  }
  const qos = flags.qos ?? 0;
  if (qos !== 0 && qos !== 1 && qos !== 2)
    throw new UsageError('Error: Invalid QoS given, it must be 0, 1 or 2.');
  if (flags.count !== undefined && (!Number.isInteger(flags.count) || flags.count < 1)) {
    throw new UsageError('Error: -C argument given but no count specified.');
  }
  if (
    flags.timeoutSec !== undefined &&
    (!Number.isInteger(flags.timeoutSec) || flags.timeoutSec < 1 || flags.timeoutSec > 3600)
  ) {
    throw new UsageError(
      'Error: Invalid timeout specified with -W. It must be between 1 and 3600.',
    );
  }
  let received = 0;
  let status = 0;
  let finish: () => void = () => undefined;
  const finished = new Promise<void>((resolve) => {
    finish = resolve;
  });
  const onMessage = (m: PrintedMessage) => {
    if (flags.count !== undefined && received >= flags.count) return;
    if (flags.noRetained === true && m.retain) return;
    received++;
    const end = flags.noNewline === true ? '' : '\n';
    if (print !== undefined) {
      let line: Uint8Array;
      try {
        line = print(m);
      } catch (error) {
        // %J with a payload that is not JSON: said, and the message is not printed.
        if (!(error instanceof PayloadNotJsonError)) throw error;
        io.stderr.write(`${error.message}\n`);
        return;
      }
      io.stdout.write(line);
    } else {
      if (flags.verbose === true) io.stdout.write(`${m.topic} `);
      io.stdout.write(m.payload);
    }
    io.stdout.write(end);
    if (flags.count !== undefined && received >= flags.count) finish();
  };
  const client = await connectForTool(resolved.url, resolved.options, flags.debug === true, io, {
    trace: flags.trace === true,
    prepare: (c) => c.on('message', onMessage),
  });
  const onAbort = () => finish();
  flags.signal?.addEventListener('abort', onAbort);
  let timer: NodeJS.Timeout | undefined;
  try {
    const userProperties = resolved.properties.subscribe.userProperties;
    const options: SubscribeOptions = userProperties === undefined ? {} : { userProperties };
    const sub = await client.subscribe(
      topics.map((topic) => ({ topic, qos: qos as 0 | 1 | 2 })),
      options,
    );
    if (flags.debug === true) io.stderr.write(`Subscribed: ${sub.granted.join(', ')}\n`);
    for (const line of refusals(topics, sub.granted)) io.stderr.write(`${line}\n`);
    if (sub.granted.every((g) => g >= 0x80)) {
      io.stderr.write('All subscription requests were denied.\n');
      status = 1;
      finish();
    }
    if (flags.exitAfterSubscribe === true) finish();
    // [mosquitto_sub -W] the timeout starts once connected (and here: subscribed).
    if (flags.timeoutSec !== undefined) {
      timer = setTimeout(() => {
        io.stderr.write('Timed out\n');
        status = TIMEOUT_EXIT_STATUS;
        finish();
      }, flags.timeoutSec * 1000);
    }
    if (flags.signal?.aborted === true) finish();
    await finished;
  } finally {
    if (timer !== undefined) clearTimeout(timer);
    flags.signal?.removeEventListener('abort', onAbort);
    client.off('message', onMessage);
    await client.end({ timeoutMs: 5000, ...endOptionsOf(resolved.properties) });
  }
  return status;
}
