/**
 * `courier pub`: publish one message, a file, or stdin line by line, like `mosquitto_pub`.
 *
 * @module
 */

import { readFile } from 'node:fs/promises';
import { createInterface } from 'node:readline';
import type { Readable, Writable } from 'node:stream';
import {
  type Client,
  type ClientOptions,
  createClient,
  type Packet,
  type PublishOptions,
} from 'courier-mqtt';
import { checkTopicName } from '../config/topic.js';
import {
  type ConnectFlags,
  endOptionsOf,
  resolveConnectFlags,
  UsageError,
} from './connect-options.js';
import { describePacket, tracePacket } from './describe-packet.js';

/** Flags of `courier pub` beyond the connection flags. */
export interface PubFlags extends ConnectFlags {
  /** `-t` */
  readonly topic?: string | undefined;
  /** `-m` */
  readonly message?: string | undefined;
  /** `-f`: send the contents of a file as the message */
  readonly file?: string | undefined;
  /** `-l`: send each line of stdin as a message (blank lines are not sent) */
  readonly stdinLines?: boolean | undefined;
  /** `-s`: send all of stdin as one message */
  readonly stdinFile?: boolean | undefined;
  /** `-n`: send an empty (null) message */
  readonly nullMessage?: boolean | undefined;
  /** `-q` @default 0 */
  readonly qos?: number | undefined;
  /** `-r` */
  readonly retain?: boolean | undefined;
  /** `-d`: print packets */
  readonly debug?: boolean | undefined;
  /** `--trace`: print every packet decoded, secrets masked */
  readonly trace?: boolean | undefined;
}

/** Where a tool reads and writes. */
export interface ToolIo {
  readonly stdin: Readable;
  readonly stdout: Writable;
  readonly stderr: Writable;
}

/**
 * Connects like `connect()` (resolves after CONNACK, rejects with the first attempt's typed
 * error), but hands the client to `prepare` before CONNECT goes out: `-d` attaches its packet
 * printers there, and `sub` its message listener, so that what a resumed session (`-c`)
 * delivers right after the CONNACK is printed, as mosquitto_sub prints it.
 *
 * With `trace`, every packet is printed through the library's `trace` hook, decoded with all
 * its fields and with its secrets masked (see `tracePacket`); it takes the place of `debug`.
 */
export async function connectForTool(
  url: string,
  options: ClientOptions,
  debug: boolean,
  io: ToolIo,
  extra: { readonly trace?: boolean; readonly prepare?: (client: Client) => void } = {},
): Promise<Client> {
  const id = options.clientId ?? '';
  const client = createClient(url, {
    ...options,
    reconnect: false,
    ...(extra.trace === true
      ? {
          trace: (direction: 'in' | 'out', p: Packet) => {
            io.stderr.write(`${tracePacket(id, direction, p)}\n`);
          },
        }
      : {}),
  });
  if (debug && extra.trace !== true) {
    const print = (dir: 'sending' | 'received') => (p: Packet) => {
      io.stderr.write(`${describePacket(id, dir, p)}\n`);
    };
    client.on('packetsend', print('sending'));
    client.on('packetreceive', print('received'));
  }
  extra.prepare?.(client);
  for await (const state of client.states()) {
    if (state.status === 'connected') return client;
    if (state.status === 'closed') {
      throw state.lastError ?? new UsageError(`Error: could not connect to ${url}`);
    }
  }
  throw client.state.lastError ?? new UsageError(`Error: could not connect to ${url}`);
}

/**
 * Runs `courier pub`.
 * @returns the exit status (0 on success)
 * @throws {UsageError} for invalid flags (before connecting)
 */
export async function runPub(flags: PubFlags, io: ToolIo): Promise<number> {
  const resolved = await resolveConnectFlags(flags, ['connect', 'publish', 'will', 'disconnect']);
  const topic = flags.topic ?? resolved.urlTopic;
  const sources = [
    flags.message !== undefined,
    flags.file !== undefined,
    flags.stdinLines === true,
    flags.stdinFile === true,
    flags.nullMessage === true,
  ].filter(Boolean).length;
  if (topic === undefined || sources === 0) {
    throw new UsageError('Error: Both topic and message must be supplied.');
  }
  if (sources > 1) throw new UsageError('Error: Only one type of message can be sent at once.');
  const why = checkTopicName(topic);
  if (why !== undefined)
    throw new UsageError(
      `Error: Invalid publish topic '${topic}', does it contain '+' or '#'? (${why})`,
    );
  const qos = flags.qos ?? 0;
  if (qos !== 0 && qos !== 1 && qos !== 2)
    throw new UsageError('Error: Invalid QoS given, it must be 0, 1 or 2.');
  let single: Uint8Array | string | undefined;
  if (flags.message !== undefined) single = flags.message;
  else if (flags.nullMessage === true) single = '';
  else if (flags.file !== undefined) {
    try {
      single = await readFile(flags.file);
    } catch (error) {
      throw new UsageError(
        `Error: Unable to read file "${flags.file}": ${(error as NodeJS.ErrnoException).code ?? ''}`,
      );
    }
  } else if (flags.stdinFile === true) {
    const chunks: Buffer[] = [];
    for await (const chunk of io.stdin) chunks.push(Buffer.from(chunk as Buffer));
    single = Buffer.concat(chunks);
  }
  const client = await connectForTool(resolved.url, resolved.options, flags.debug === true, io, {
    trace: flags.trace === true,
  });
  const properties = resolved.properties.publish;
  const opts: PublishOptions = {
    qos: qos as 0 | 1 | 2,
    retain: flags.retain === true,
    ...(Object.keys(properties).length === 0 ? {} : { properties }),
  };
  try {
    if (single !== undefined) {
      await client.publish(topic, single, opts);
    } else {
      // -l: one message per line, in order; the last ones complete before DISCONNECT.
      const pending: Promise<void>[] = [];
      for await (const line of createInterface({
        input: io.stdin,
        crlfDelay: Number.POSITIVE_INFINITY,
      })) {
        if (line === '') continue;
        pending.push(client.publish(topic, line, opts));
        if (pending.length >= 100) await pending.shift();
      }
      await Promise.all(pending);
    }
  } finally {
    await client.end({ timeoutMs: 10000, ...endOptionsOf(resolved.properties) });
  }
  return 0;
}
