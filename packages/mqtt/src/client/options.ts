/**
 * Client options: documented field by field, defaults stated, validated with the field named.
 *
 * @module
 */

import type { Authenticator } from '../auth/authenticator.js';
import { InvalidOptionError, InvalidTopicError } from '../errors.js';
import { checkKnownKeys, checkObject } from '../option-checks.js';
import type { ConnectProperties, QoS, UserProperties, Will } from '../packet/types.js';
import type { SessionStore } from '../store/types.js';
import { validateTopicName } from '../topic/index.js';
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
import type {
  ClientOptions,
  OfflineQueueOptions,
  PacketTrace,
  ReconnectOptions,
  ServerOptions,
  ServerOrder,
  WillOptions,
} from './option-types.js';
import {
  checkProfileOptions,
  type PlatformProfile,
  PROFILE_NAMES,
  profileNamed,
} from './profiles.js';
import { MAX_SERVERS, PRIMARY_FIELDS, resolveServer } from './servers.js';
import { resolveWillProperties } from './will-properties.js';

export type { FailoverPolicy } from '../session/backoff.js';
// The option types live in option-types.ts (so that option-keys.ts can check its key tables
// against them without importing this module); they are exported from here as before.
export type {
  ClientOptions,
  OfflineQueueOptions,
  OfflineQueuePolicy,
  PacketTrace,
  ReconnectOptions,
  ServerOptions,
  ServerOrder,
  WillOptions,
  WillPropertiesOptions,
} from './option-types.js';

/** Options with every default filled in. */
export interface ResolvedOptions {
  /** Every server, in the order they are tried (`serverOrder` applied). */
  readonly servers: readonly ServerOptions[];
  readonly serverOrder: ServerOrder;
  /**
   * The source of numbers in [0, 1) for the jitter (and the shuffle, already done); throws
   * an `InvalidOptionError` naming `random` for a value outside [0, 1).
   */
  readonly random: () => number;
  readonly clientId: string;
  readonly clean: boolean;
  readonly keepaliveSec: number;
  readonly pingTimeoutMs: number;
  readonly will: Will | undefined;
  /** The version of the first attempt; see {@link ResolvedOptions.autoVersion}. */
  readonly protocolVersion: 3 | 4 | 5;
  /** `protocolVersion: 'auto'`: start with 5.0, fall back to 3.1.1 per server. */
  readonly autoVersion: boolean;
  /** MQTT 5.0: the enhanced authentication method, if any. */
  readonly authenticator: Authenticator | undefined;
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
  /** The platform profile applied before the wire. */
  readonly profile: PlatformProfile;
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

/**
 * Wraps a caller's random source so a value outside [0, 1) is a typed error naming the
 * option, not an index out of range or a negative wait.
 */
function checkedRandom(random: () => number): () => number {
  return () => {
    const value = random();
    if (typeof value !== 'number' || !(value >= 0 && value < 1)) {
      throw new InvalidOptionError(
        'random',
        `must return numbers in [0, 1), returned ${JSON.stringify(value)}`,
      );
    }
    return value;
  };
}

/**
 * The servers in the order they are tried: as given, or shuffled (Fisher-Yates, each order
 * equally likely given a uniform `random`).
 */
function orderServers(
  servers: readonly ServerOptions[],
  order: ServerOrder,
  random: () => number,
): ServerOptions[] {
  const out = [...servers];
  if (order === 'in-order') return out;
  for (let i = out.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    [out[i], out[j]] = [out[j]!, out[i]!];
  }
  return out;
}

function randomClientId(): string {
  const hex = Array.from({ length: 8 }, () => Math.floor(Math.random() * 16).toString(16));
  return `courier-${hex.join('')}`;
}

/**
 * Validates a Will and fills its defaults (QoS 0, not retained). Pure; used for the `will`
 * option and by {@link Client.setWill}.
 * @param protocolVersion - the client's; Will properties are refused for 3.1.1 and 3.1
 * @throws {@link InvalidOptionError} naming `will.topic`, `will.payload`, ...
 */
export function resolveWill(w: unknown, protocolVersion: 3 | 4 | 5 | 'auto' = 5): Will {
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
  const bytes = toBytes(payload);
  const given = (w as WillOptions).properties;
  if (given !== undefined && protocolVersion !== 5 && protocolVersion !== 'auto') {
    throw new InvalidOptionError(
      'will.properties',
      'are MQTT 5.0 (3.1.1 has no Will properties): set protocolVersion: 5',
    );
  }
  const properties =
    given === undefined ? undefined : resolveWillProperties(given, bytes, resolveUserProperties);
  return {
    topic,
    payload: bytes,
    qos: qos('will.qos', willQos ?? 0),
    retain: boolean('will.retain', retain ?? false),
    ...(properties === undefined || Object.keys(properties).length === 0 ? {} : { properties }),
  };
}

/**
 * Checks that `value` has the shape of an {@link Authenticator}: a method name that is an
 * MQTT string, and the four steps as functions.
 * @throws {@link InvalidOptionError} naming `authenticator` or `authenticator.<member>`
 */
function resolveAuthenticator(value: unknown, protocolVersion: 3 | 4 | 5 | 'auto'): Authenticator {
  if (protocolVersion === 'auto') {
    // A fallback to 3.1.1 would connect without the method: anyone able to close our 5.0
    // connections could downgrade us to an unauthenticated (or password-only) login.
    throw new InvalidOptionError(
      'authenticator',
      "needs protocolVersion: 5; 'auto' could fall back to 3.1.1, which has no enhanced authentication",
    );
  }
  checkObject(value, 'authenticator');
  const a = value as Partial<Record<keyof Authenticator, unknown>>;
  validateMqttString(a.method, 'authenticator.method');
  if (a.method === '') throw new InvalidOptionError('authenticator.method', 'must not be empty');
  for (const step of ['start', 'challenge', 'success', 'reauthenticate'] as const) {
    if (typeof a[step] !== 'function') {
      throw new InvalidOptionError(
        `authenticator.${step}`,
        'must be a function (see Authenticator)',
      );
    }
  }
  return value as Authenticator;
}

/** Options that only MQTT 5.0 has. */
const V5_ONLY = [
  'authenticator',
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
  protocolVersion: 3 | 4 | 5 | 'auto',
  maxPacketSize: number,
): ConnectProperties | undefined {
  if (protocolVersion !== 5 && protocolVersion !== 'auto') {
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

  const serverOrder = options.serverOrder ?? 'in-order';
  if (serverOrder !== 'in-order' && serverOrder !== 'random') {
    throw new InvalidOptionError(
      'serverOrder',
      `must be 'in-order' or 'random', got ${JSON.stringify(serverOrder)}`,
    );
  }
  if (options.random !== undefined && typeof options.random !== 'function') {
    throw new InvalidOptionError('random', 'must be a function returning numbers in [0, 1)');
  }
  // Math.random needs no check (and no wrapper per client).
  const random = options.random === undefined ? Math.random : checkedRandom(options.random);

  const clean = boolean('clean', options.clean ?? true);
  const protocolVersion = options.protocolVersion ?? 4;
  if (
    protocolVersion !== 3 &&
    protocolVersion !== 4 &&
    protocolVersion !== 5 &&
    protocolVersion !== 'auto'
  ) {
    throw new InvalidOptionError(
      'protocolVersion',
      `must be 5 (MQTT 5.0), 4 (MQTT 3.1.1), 3 (MQTT 3.1) or 'auto' (5.0, else 3.1.1), got ${JSON.stringify(protocolVersion)}`,
    );
  }
  const clientId = options.clientId ?? randomClientId();
  // [MQTT-3.1.3-6] In 5.0 the server assigns an id to an empty one whatever Clean Start says
  // (the client adopts it and uses it from then on). 'auto' may end up speaking 3.1.1.
  validateClientId(clientId, { clean: clean || protocolVersion === 5 });
  const authenticator =
    options.authenticator === undefined
      ? undefined
      : resolveAuthenticator(options.authenticator, protocolVersion);
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

  const will = options.will === undefined ? undefined : resolveWill(options.will, protocolVersion);

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
      poisonWindowMs: integer(
        'reconnect.poisonWindowMs',
        r.poisonWindowMs ?? 30_000,
        0,
        86_400_000,
      ),
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

  const profile = profileNamed(options.profile ?? 'generic');
  if (profile === undefined) {
    throw new InvalidOptionError(
      'profile',
      `must be one of ${PROFILE_NAMES.map((n) => `'${n}'`).join(', ')}, got ${JSON.stringify(options.profile)}`,
    );
  }
  const profiled = checkProfileOptions(profile, {
    servers: [primary, ...backups],
    clientId,
    keepaliveSec,
    will,
    maxInflight,
    maxInflightGiven: options.maxInflight,
  });
  // The profile checks (and completes, e.g. ALPN on 443) every server; then they are ordered.
  const ordered = orderServers(profiled.servers, serverOrder, random);
  // A source that returns no number in [0, 1) is refused when the client is created, not
  // found out in the middle of a reconnect: called once here unless the shuffle called it.
  if (serverOrder === 'in-order' || ordered.length < 2) random();

  return {
    profile,
    servers: ordered,
    serverOrder,
    random,
    clientId,
    clean,
    keepaliveSec,
    pingTimeoutMs,
    will,
    protocolVersion: protocolVersion === 'auto' ? 5 : protocolVersion,
    autoVersion: protocolVersion === 'auto',
    authenticator,
    connectProperties,
    outgoingTopicAliases,
    connectTimeoutMs,
    reconnect,
    store: options.store,
    maxInflight: profiled.maxInflight,
    offlineQueue,
    maxPacketSize,
    subscriptionBufferSize,
    maxPendingRequests,
    trace: options.trace,
  };
}
