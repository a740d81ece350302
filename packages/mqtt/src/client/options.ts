/**
 * Client options: documented field by field, defaults stated, validated with the field named.
 *
 * @module
 */

import { InvalidOptionError, InvalidTopicError } from '../errors.js';
import { checkKnownKeys, checkObject } from '../option-checks.js';
import type { ConnectProperties, Packet, QoS, UserProperties, Will } from '../packet/types.js';
import type { FailoverPolicy } from '../session/backoff.js';
import type { SessionStore } from '../store/types.js';
import { validateTopicName } from '../topic/index.js';
import type { PskOptions, TlsOptions } from '../transport/types.js';
import { validateClientId, validateMqttString, validatePassword } from './mqtt-strings.js';
import {
  CLIENT_HINTS,
  CLIENT_KEYS,
  OFFLINE_QUEUE_KEYS,
  RECONNECT_HINTS,
  RECONNECT_KEYS,
  WILL_HINTS,
  WILL_KEYS,
} from './option-keys.js';
import { MAX_SERVERS, PRIMARY_FIELDS, resolveServer } from './servers.js';

export type { FailoverPolicy } from '../session/backoff.js';

/** A server to connect to, with its own credentials and TLS settings. */
export interface ServerOptions {
  /**
   * `mqtt://host:1883`, `mqtts://host:8883`, `ws://host/mqtt`, `wss://host/mqtt`, `mqtt://[::1]`
   * (aliases `tcp://`, `ssl://`, `tls://`; a bare `host[:port]` means `mqtt://`). A
   * `user:password@` in the URL is used as `username` / `password` (percent-decoded).
   */
  readonly url: string;
  readonly username?: string;
  readonly password?: string | Uint8Array;
  readonly tls?: TlsOptions;
  readonly psk?: PskOptions;
  /** Address family: 4, 6 or 0 for either. @default 0 */
  readonly family?: 0 | 4 | 6;
  /** WebSocket path. @default the URL's path, else '/mqtt' */
  readonly wsPath?: string;
}

/** The Will message, published by the broker if the client disappears without DISCONNECT. */
export interface WillOptions {
  readonly topic: string;
  readonly payload: string | Uint8Array;
  /** @default 0 */
  readonly qos?: QoS;
  /** @default false */
  readonly retain?: boolean;
}

/**
 * Reconnect backoff and failover. Waits double from `minDelayMs` up to `maxDelayMs`; they
 * restart from `minDelayMs` only after a connection that stayed up `stableAfterMs`.
 */
export interface ReconnectOptions {
  /** @default 2000 */
  readonly minDelayMs?: number;
  /** @default 60000 */
  readonly maxDelayMs?: number;
  /** Fraction of each wait that is randomized (0..1). @default 0.2 */
  readonly jitter?: number;
  /**
   * When to move to the next of `servers`. `'backup'`: a primary and its backups (Mongoose
   * OS `mqtt1`): keep trying a server until the attempt after a `maxDelayMs` wait failed
   * (about 2 minutes with the defaults), and stay on a server that works. `'cluster'`: equal
   * nodes of a clustered broker (EMQX, HiveMQ, VerneMQ, NATS, RabbitMQ): move to the next
   * node at every failure, so a dead node costs one `minDelayMs` wait. @default 'backup'
   */
  readonly failover?: FailoverPolicy;
  /**
   * How long a connection must stay up before its end restarts the backoff from
   * `minDelayMs`. A CONNACK alone does not: a broker that accepts and then closes at once
   * (e.g. on a message it will not take) would otherwise be retried every `minDelayMs`
   * forever. 10 s is far longer than a broker takes to close on a message it rejects
   * (milliseconds) and shorter than a keep-alive period. 0 restarts on every CONNACK.
   * @default 10000
   */
  readonly stableAfterMs?: number;
  /**
   * After a permanent refusal (CONNACK return code 1, 2, 4 or 5: unacceptable protocol
   * version, identifier rejected, bad user name or password, not authorized) the next
   * attempt waits this long, and the backoff stays at `maxDelayMs`: a device must not
   * hammer a broker with wrong credentials, nor give up for good (they may be fixed on the
   * broker's side). `state.lastError` is the `ConnectionRefusedError` (`permanent: true`).
   * With `failover: 'backup'`, a second refusal in a row moves to the next server.
   * @default maxDelayMs
   */
  readonly refusedDelayMs?: number;
  /**
   * A QoS 1/2 message is given up with a `PoisonMessageError` (and removed from the store)
   * when the server closed the connection right after it was (re)sent, before acknowledging
   * it and before the connection proved stable (`stableAfterMs`), this many times in a row:
   * NATS, AWS IoT and others close the connection on a QoS 2 PUBLISH, which would otherwise
   * be resent forever and block every message behind it. Keep-alive time-outs, failed
   * attempts and connections that lasted count for nothing; a network that cuts every
   * connection within `stableAfterMs`, with the same message first in flight each time,
   * cannot be told apart. 0 turns detection off. @default 3
   */
  readonly poisonThreshold?: number;
}

/** What to do with a publish while disconnected when the offline queue is full. */
export type OfflineQueuePolicy = 'reject' | 'drop-oldest-qos0';

/** Bounds of the offline queue (messages accepted while not connected). */
export interface OfflineQueueOptions {
  /** @default 10000 */
  readonly maxMessages?: number;
  /** Payload bytes. @default 16 MiB */
  readonly maxBytes?: number;
  /**
   * `reject`: the new publish rejects with a `QUEUE_FULL` error. `drop-oldest-qos0`: the
   * oldest queued QoS 0 message is dropped (its publish rejects with `QUEUE_FULL`); if none
   * is queued, the new publish is rejected. @default 'reject'
   */
  readonly policy?: OfflineQueuePolicy;
}

/**
 * Options of {@link createClient} and {@link connect}. Checked by {@link resolveOptions} when
 * the client is created: an unknown key is refused (with a did-you-mean for MQTT.js names).
 */
export interface ClientOptions {
  /**
   * Client identifier. An empty id is allowed only with `clean: true` [MQTT-3.1.3-7]; the
   * broker then assigns one. @default a random `courier-` id
   */
  readonly clientId?: string;
  /** Clean session. @default true */
  readonly clean?: boolean;
  /** Keep-alive in seconds, 0 turns it off. @default 60 */
  readonly keepaliveSec?: number;
  /**
   * How long a PINGREQ may wait for its PINGRESP before the connection is declared dead.
   * @default half the keep-alive, between 1 s and 30 s
   */
  readonly pingTimeoutMs?: number;
  readonly username?: string;
  /** May be binary [MQTT-3.1.3.5]. Never logged nor put in an error. */
  readonly password?: string | Uint8Array;
  readonly will?: WillOptions;
  /** 5 = MQTT 5.0, 4 = MQTT 3.1.1, 3 = MQTT 3.1. @default 4 */
  readonly protocolVersion?: 3 | 4 | 5;
  /**
   * MQTT 5.0: Session Expiry Interval, seconds the broker keeps the session after the
   * connection ends (0 = it ends with the connection, 4294967295 = never expires). With
   * `clean: false` and 0 the broker still ends the session at disconnect: set it for a
   * persistent session. @default 0
   */
  readonly sessionExpirySec?: number;
  /**
   * MQTT 5.0: Receive Maximum announced to the broker, the QoS 1/2 messages it may send us
   * before we acknowledged them (1..65,535). A broker that sends more is disconnected with
   * reason code 0x93. @default 65535
   */
  readonly receiveMaximum?: number;
  /** MQTT 5.0: ask the broker for Response Information in its CONNACK. @default false */
  readonly requestResponseInformation?: boolean;
  /**
   * MQTT 5.0: User Properties of the CONNECT, as `[name, value]` pairs (repeats kept) or an
   * object. At most 1,000 pairs.
   */
  readonly userProperties?: UserProperties | Readonly<Record<string, string>>;
  /**
   * MQTT 5.0: the highest Topic Alias the broker may use towards us (0..65,535), announced
   * in CONNECT. Each alias holds one topic name (at most 65,535 bytes) for the connection,
   * so this bounds the memory a broker can make us spend; 0 means the broker sends full
   * topics only (as every client does by default). A broker that sends an alias above it,
   * or an empty topic with an alias it never mapped, is disconnected with 0x94.
   * @default 0
   */
  readonly topicAliasMaximum?: number;
  /**
   * MQTT 5.0: replace repeated topic names of outgoing PUBLISH packets with Topic Aliases,
   * assigned within the broker's Topic Alias Maximum (least recently used replaced). Saves
   * bandwidth on constrained links; `false` always sends the full topic. @default true
   */
  readonly outgoingTopicAliases?: boolean;
  /** Time allowed for TCP + TLS + CONNACK. @default 30000 */
  readonly connectTimeoutMs?: number;
  readonly tls?: TlsOptions;
  readonly psk?: PskOptions;
  /** @default 0 (either) */
  readonly family?: 0 | 4 | 6;
  readonly wsPath?: string;
  /**
   * Reconnect backoff, failover and poison-message policy, or `false` to never reconnect.
   * @default { minDelayMs: 2000, maxDelayMs: 60000, jitter: 0.2, failover: 'backup', stableAfterMs: 10000, refusedDelayMs: maxDelayMs, poisonThreshold: 3 }
   */
  readonly reconnect?: false | ReconnectOptions;
  /**
   * More servers: backups tried after the primary (Mongoose OS `mqtt1` semantics), or the
   * other nodes of a cluster with `reconnect.failover: 'cluster'`. @default []
   */
  readonly servers?: readonly (string | ServerOptions)[];
  /** Where the session state lives. @default memoryStore() */
  readonly store?: SessionStore;
  /** Outgoing QoS 1/2 messages in flight at once. @default 100 */
  readonly maxInflight?: number;
  readonly offlineQueue?: OfflineQueueOptions;
  /** Largest packet accepted from the broker, in bytes. @default 268435460 (the spec's) */
  readonly maxPacketSize?: number;
  /**
   * The high-water mark of each subscription's buffer of messages its reader has not taken.
   * A QoS 1/2 message reaching it makes the client stop reading the connection until the
   * reader has taken half of them (TCP back-pressure: the broker waits, nothing is lost); a
   * QoS 0 message finding the buffer full is dropped, counted and reported (`dropped`).
   * @default 10000
   */
  readonly subscriptionBufferSize?: number;
  /**
   * MQTT 5.0: requests (`client.request()`) waiting for their response at once; one more is
   * refused with `QueueFullError` until one is answered or times out. 1..65,535.
   * @default 1000
   */
  readonly maxPendingRequests?: number;
  /**
   * Called with every packet sent (`'out'`, once encoded, before it is written) and received
   * (`'in'`, once decoded), for debugging (`courier sub --trace`). Secrets are masked first:
   * the CONNECT password and MQTT 5.0 Authentication Data read `***`. Called synchronously on
   * the hot path: keep it cheap. An exception it throws becomes a process warning.
   */
  readonly trace?: PacketTrace;
}

/** The `trace` option: one call per packet, `direction` seen from the client. */
export type PacketTrace = (direction: 'in' | 'out', packet: Packet) => void;

/** Options with every default filled in. */
export interface ResolvedOptions {
  readonly servers: readonly ServerOptions[];
  readonly clientId: string;
  readonly clean: boolean;
  readonly keepaliveSec: number;
  readonly pingTimeoutMs: number;
  readonly will: Will | undefined;
  readonly protocolVersion: 3 | 4 | 5;
  /** MQTT 5.0: the CONNECT properties (undefined for 3.1.1 and 3.1). */
  readonly connectProperties: ConnectProperties | undefined;
  /** MQTT 5.0: assign Topic Aliases to outgoing PUBLISH packets (always false before 5.0). */
  readonly outgoingTopicAliases: boolean;
  readonly connectTimeoutMs: number;
  readonly reconnect: Required<ReconnectOptions> | false;
  readonly store: SessionStore | undefined;
  readonly maxInflight: number;
  readonly offlineQueue: Required<OfflineQueueOptions>;
  readonly maxPacketSize: number;
  readonly subscriptionBufferSize: number;
  readonly maxPendingRequests: number;
  readonly trace: PacketTrace | undefined;
}

/** The largest packet MQTT 3.1.1 can express: 5 header bytes + 268,435,455. */
export const MAX_PACKET_SIZE = 268_435_460;

const encoder = new TextEncoder();

/** Encodes a string payload as UTF-8; passes bytes through. */
export function toBytes(payload: string | Uint8Array): Uint8Array {
  return typeof payload === 'string' ? encoder.encode(payload) : payload;
}

function integer(field: string, value: unknown, min: number, max: number): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) {
    throw new InvalidOptionError(
      field,
      `must be an integer from ${min} to ${max}, got ${JSON.stringify(value)}`,
    );
  }
  return value;
}

function qos(field: string, value: unknown): QoS {
  if (value !== 0 && value !== 1 && value !== 2) {
    throw new InvalidOptionError(field, `must be 0, 1 or 2, got ${JSON.stringify(value)}`);
  }
  return value;
}

function boolean(field: string, value: unknown): boolean {
  if (typeof value !== 'boolean') {
    throw new InvalidOptionError(field, `must be true or false, got ${JSON.stringify(value)}`);
  }
  return value;
}

function randomClientId(): string {
  const hex = Array.from({ length: 8 }, () => Math.floor(Math.random() * 16).toString(16));
  return `courier-${hex.join('')}`;
}

/**
 * Validates a Will and fills its defaults (QoS 0, not retained). Pure; used for the `will`
 * option and by {@link Client.setWill}.
 * @throws {@link InvalidOptionError} naming `will.topic`, `will.payload`, ...
 */
export function resolveWill(w: unknown): Will {
  checkObject(w, 'will');
  checkKnownKeys(w, WILL_KEYS, 'will.', WILL_HINTS);
  const { topic, payload, qos: willQos, retain } = w as WillOptions;
  if (typeof topic !== 'string') {
    throw new InvalidOptionError('will.topic', 'must be a topic name');
  }
  try {
    // [MQTT-3.1.3-10] The Will topic is a topic name: the same rules as a PUBLISH topic.
    validateTopicName(topic);
  } catch (error) {
    if (error instanceof InvalidTopicError)
      throw new InvalidOptionError('will.topic', error.message);
    throw error;
  }
  if (typeof payload !== 'string' && !(payload instanceof Uint8Array)) {
    throw new InvalidOptionError('will.payload', 'must be a string or bytes');
  }
  // The Will message has a two-byte length in CONNECT [MQTT-3.1.3-4]; like a password it is
  // binary, so a string must encode as it reads.
  validatePassword(payload, 'will.payload');
  return {
    topic,
    payload: toBytes(payload),
    qos: qos('will.qos', willQos ?? 0),
    retain: boolean('will.retain', retain ?? false),
  };
}

/** Options that only MQTT 5.0 has. */
const V5_ONLY = [
  'sessionExpirySec',
  'receiveMaximum',
  'requestResponseInformation',
  'userProperties',
  'topicAliasMaximum',
  'outgoingTopicAliases',
] as const;

/** Most User Properties a CONNECT may carry: a bound on what we send. */
const MAX_USER_PROPERTIES = 1000;

/**
 * Validates User Properties given as pairs or an object.
 * @throws {@link InvalidOptionError} naming the field
 */
export function resolveUserProperties(value: unknown, field: string): UserProperties {
  const pairs: unknown[] = Array.isArray(value)
    ? value
    : typeof value === 'object' && value !== null
      ? Object.entries(value)
      : [];
  if (!Array.isArray(value) && (typeof value !== 'object' || value === null)) {
    throw new InvalidOptionError(field, 'must be [name, value] pairs or an object of strings');
  }
  if (pairs.length > MAX_USER_PROPERTIES) {
    throw new InvalidOptionError(
      field,
      `at most ${MAX_USER_PROPERTIES} pairs, got ${pairs.length}`,
    );
  }
  return pairs.map((pair, i): readonly [string, string] => {
    if (!Array.isArray(pair) || pair.length !== 2) {
      throw new InvalidOptionError(`${field}[${i}]`, 'must be a [name, value] pair of strings');
    }
    const [name, text] = pair as unknown[];
    validateMqttString(name, `${field}[${i}] name`);
    validateMqttString(text, `${field}[${i}] value`);
    return [name, text];
  });
}

/** The CONNECT properties of a 5.0 client; refuses a 5.0-only option given for 3.1.1. */
function resolveConnectProperties(
  options: ClientOptions,
  protocolVersion: 3 | 4 | 5,
  maxPacketSize: number,
): ConnectProperties | undefined {
  if (protocolVersion !== 5) {
    const given = V5_ONLY.find((f) => options[f] !== undefined);
    if (given !== undefined) {
      throw new InvalidOptionError(given, 'is an MQTT 5.0 option: set protocolVersion: 5');
    }
    return undefined;
  }
  const sessionExpirySec = integer(
    'sessionExpirySec',
    options.sessionExpirySec ?? 0,
    0,
    0xffff_ffff,
  );
  const receiveMaximum = integer('receiveMaximum', options.receiveMaximum ?? 65535, 1, 65535);
  const requestResponseInformation = boolean(
    'requestResponseInformation',
    options.requestResponseInformation ?? false,
  );
  const topicAliasMaximum = integer('topicAliasMaximum', options.topicAliasMaximum ?? 0, 0, 65535);
  const userProperties =
    options.userProperties === undefined
      ? undefined
      : resolveUserProperties(options.userProperties, 'userProperties');
  // Absent means the default on the wire: leave out what equals it.
  return {
    ...(sessionExpirySec === 0 ? {} : { sessionExpiryIntervalSec: sessionExpirySec }),
    ...(receiveMaximum === 65535 ? {} : { receiveMaximum }),
    // Ours, never the broker's: MQTT.js copies the broker's limit into its CONNECT.
    ...(maxPacketSize === MAX_PACKET_SIZE ? {} : { maximumPacketSizeBytes: maxPacketSize }),
    ...(requestResponseInformation ? { requestResponseInformation } : {}),
    ...(topicAliasMaximum === 0 ? {} : { topicAliasMaximum }),
    ...(userProperties === undefined || userProperties.length === 0 ? {} : { userProperties }),
  };
}

/**
 * Fills defaults and validates. Pure: throws {@link InvalidOptionError} naming the field and
 * the allowed range; never touches the network.
 *
 * Everything a connection attempt would otherwise find out (and then find out again on every
 * retry) is checked here: each server URL (scheme, host, port), credentials, TLS material
 * parsed (CA and certificates as X.509, the key loaded with its passphrase and matched to the
 * certificate, each at most 1 MiB), the PSK, the Will, strings that
 * must be well-formed UTF-8, and unknown keys at every level (with a did-you-mean for MQTT.js
 * names and near-miss spellings). The returned servers carry the TLS material normalized to
 * PEM.
 */
export function resolveOptions(
  server: string | ServerOptions,
  options: ClientOptions = {},
): ResolvedOptions {
  checkObject(options, 'options');
  checkKnownKeys(options, CLIENT_KEYS, '', CLIENT_HINTS);
  let primary: ServerOptions;
  if (typeof server === 'string') {
    primary = resolveServer(
      {
        url: server,
        ...Object.fromEntries(
          PRIMARY_FIELDS.filter((f) => options[f] !== undefined).map((f) => [f, options[f]]),
        ),
      },
      '',
    );
  } else {
    const given = PRIMARY_FIELDS.find((f) => options[f] !== undefined);
    if (given !== undefined) {
      throw new InvalidOptionError(
        given,
        'the server is given as an object, which holds its own url, credentials and TLS settings: put it there',
      );
    }
    primary = resolveServer(server, '');
  }
  const servers = options.servers ?? [];
  if (!Array.isArray(servers) || servers.length > MAX_SERVERS) {
    throw new InvalidOptionError('servers', `must be a list of at most ${MAX_SERVERS} servers`);
  }
  const backups = servers.map(
    (s: unknown, i): ServerOptions =>
      resolveServer(typeof s === 'string' ? { url: s } : s, `servers[${i}].`),
  );

  const clean = boolean('clean', options.clean ?? true);
  const protocolVersion = options.protocolVersion ?? 4;
  if (protocolVersion !== 3 && protocolVersion !== 4 && protocolVersion !== 5) {
    throw new InvalidOptionError(
      'protocolVersion',
      `must be 5 (MQTT 5.0), 4 (MQTT 3.1.1) or 3 (MQTT 3.1), got ${JSON.stringify(protocolVersion)}`,
    );
  }
  const clientId = options.clientId ?? randomClientId();
  // [MQTT-3.1.3-6] In 5.0 the server assigns an id to an empty one whatever Clean Start says
  // (the client adopts it and uses it from then on).
  validateClientId(clientId, { clean: clean || protocolVersion === 5 });
  const keepaliveSec = integer('keepaliveSec', options.keepaliveSec ?? 60, 0, 65535);
  const pingTimeoutMs = integer(
    'pingTimeoutMs',
    options.pingTimeoutMs ?? Math.min(30_000, Math.max(1000, (keepaliveSec * 1000) / 2)),
    1,
    3_600_000,
  );
  const connectTimeoutMs = integer(
    'connectTimeoutMs',
    options.connectTimeoutMs ?? 30_000,
    1,
    3_600_000,
  );

  const will = options.will === undefined ? undefined : resolveWill(options.will);

  let reconnect: Required<ReconnectOptions> | false = false;
  if (options.reconnect !== false) {
    const r = options.reconnect ?? {};
    checkObject(r, 'reconnect');
    checkKnownKeys(r, RECONNECT_KEYS, 'reconnect.', RECONNECT_HINTS);
    const minDelayMs = integer('reconnect.minDelayMs', r.minDelayMs ?? 2000, 0, 86_400_000);
    const maxDelayMs = integer(
      'reconnect.maxDelayMs',
      r.maxDelayMs ?? Math.max(60_000, minDelayMs),
      minDelayMs,
      86_400_000,
    );
    const jitter = r.jitter ?? 0.2;
    if (typeof jitter !== 'number' || !(jitter >= 0 && jitter <= 1)) {
      throw new InvalidOptionError('reconnect.jitter', 'must be a number from 0 to 1');
    }
    const failover = r.failover ?? 'backup';
    if (failover !== 'backup' && failover !== 'cluster') {
      throw new InvalidOptionError(
        'reconnect.failover',
        `must be 'backup' or 'cluster', got ${JSON.stringify(failover)}`,
      );
    }
    reconnect = {
      minDelayMs,
      maxDelayMs,
      jitter,
      failover,
      stableAfterMs: integer('reconnect.stableAfterMs', r.stableAfterMs ?? 10_000, 0, 86_400_000),
      refusedDelayMs: integer(
        'reconnect.refusedDelayMs',
        r.refusedDelayMs ?? maxDelayMs,
        0,
        86_400_000,
      ),
      poisonThreshold: integer('reconnect.poisonThreshold', r.poisonThreshold ?? 3, 0, 1000),
    };
  }

  const maxInflight = integer('maxInflight', options.maxInflight ?? 100, 1, 65535);
  const q = options.offlineQueue ?? {};
  checkObject(q, 'offlineQueue');
  checkKnownKeys(q, OFFLINE_QUEUE_KEYS, 'offlineQueue.');
  const policy = q.policy ?? 'reject';
  if (policy !== 'reject' && policy !== 'drop-oldest-qos0') {
    throw new InvalidOptionError(
      'offlineQueue.policy',
      `must be 'reject' or 'drop-oldest-qos0', got ${JSON.stringify(policy)}`,
    );
  }
  const offlineQueue = {
    maxMessages: integer('offlineQueue.maxMessages', q.maxMessages ?? 10_000, 0, 100_000_000),
    maxBytes: integer('offlineQueue.maxBytes', q.maxBytes ?? 16 * 1024 * 1024, 0, 2 ** 40),
    policy,
  };
  if (options.store !== undefined) checkObject(options.store, 'store');
  const maxPacketSize = integer(
    'maxPacketSize',
    options.maxPacketSize ?? MAX_PACKET_SIZE,
    2,
    MAX_PACKET_SIZE,
  );
  const subscriptionBufferSize = integer(
    'subscriptionBufferSize',
    options.subscriptionBufferSize ?? 10_000,
    1,
    100_000_000,
  );
  const maxPendingRequests = integer(
    'maxPendingRequests',
    options.maxPendingRequests ?? 1000,
    1,
    65_535,
  );

  const connectProperties = resolveConnectProperties(options, protocolVersion, maxPacketSize);
  const outgoingTopicAliases =
    protocolVersion === 5 && boolean('outgoingTopicAliases', options.outgoingTopicAliases ?? true);
  if (options.trace !== undefined && typeof options.trace !== 'function') {
    throw new InvalidOptionError(
      'trace',
      `must be a function (direction, packet) => void, got ${typeof options.trace}`,
    );
  }

  return {
    servers: [primary, ...backups],
    clientId,
    clean,
    keepaliveSec,
    pingTimeoutMs,
    will,
    protocolVersion,
    connectProperties,
    outgoingTopicAliases,
    connectTimeoutMs,
    reconnect,
    store: options.store,
    maxInflight,
    offlineQueue,
    maxPacketSize,
    subscriptionBufferSize,
    maxPendingRequests,
    trace: options.trace,
  };
}
