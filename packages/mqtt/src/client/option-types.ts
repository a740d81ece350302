/**
 * The option types of the client: {@link ClientOptions} and its groups, the Will properties,
 * the options of `request()` / `respond()` and of `azureIotHub()`. They live apart from the
 * code that checks them so that `option-keys.ts` (the key tables checked against these
 * interfaces) and the modules that validate each group (`options.ts`, `servers.ts`,
 * `profiles.ts`, `request.ts`, `will-properties.ts`, `azure-iot-hub.ts`) can all depend on
 * them without depending on each other: this module imports nothing from those. Each type is
 * re-exported where it was declared before, so the public API is the same. `PROFILE_NAMES`
 * is here because {@link ProfileName} is derived from it.
 *
 * @module
 */

import type { Authenticator } from '../auth/authenticator.js';
import type { Packet, QoS, UserProperties } from '../packet/types.js';
import type { FailoverPolicy } from '../session/backoff.js';
import type { SessionStore } from '../store/types.js';
import type { PskOptions, TlsOptions } from '../transport/types.js';
import type { PasswordProvider } from './credentials.js';
import type { OutgoingPublishProperties } from './types.js';

/** The profiles a client may be given. */
export const PROFILE_NAMES = ['generic', 'exosite', 'aws-iot', 'azure-iot-hub'] as const;

/** A platform profile's name; `'generic'` applies no platform rule. */
export type ProfileName = (typeof PROFILE_NAMES)[number];

/** A server to connect to, with its own credentials and TLS settings. */
export interface ServerOptions {
  /**
   * `mqtt://host:1883`, `mqtts://host:8883`, `ws://host/mqtt`, `wss://host/mqtt`, `mqtt://[::1]`
   * (aliases `tcp://`, `ssl://`, `tls://`; a bare `host[:port]` means `mqtt://`). A
   * `user:password@` in the URL is used as `username` / `password` (percent-decoded).
   */
  readonly url: string;
  readonly username?: string;
  /**
   * May be binary [MQTT-3.1.3.5], or a provider called before each connection attempt
   * (a token that expires and is renewed, see {@link PasswordProvider}). Never logged.
   */
  readonly password?: string | Uint8Array | PasswordProvider;
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
  /** MQTT 5.0 only: the Will properties (will delay, expiry, content type, ...). */
  readonly properties?: WillPropertiesOptions;
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
  /**
   * The shortest time, from the first of those closes, before a message is given up as
   * poison: `poisonThreshold` closes alone do not condemn it sooner. A broker may close on
   * every PUBLISH for a while for reasons of its own (a NATS cluster electing new stream
   * leaders after a node died closes on each QoS 1 publish for seconds); a message that
   * still kills the connection after this long is poison. 0: the count alone decides.
   * @default 30000
   */
  readonly poisonWindowMs?: number;
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
  /**
   * May be binary [MQTT-3.1.3.5]. Never logged nor put in an error. A function is called
   * before each connection attempt; an answer with `expiresAtMs` is renewed before it
   * expires (a clean DISCONNECT, then a CONNECT with the fresh one; nothing queued or in
   * flight is lost). See {@link PasswordProvider}.
   */
  readonly password?: string | Uint8Array | PasswordProvider;
  readonly will?: WillOptions;
  /**
   * 5 = MQTT 5.0, 4 = MQTT 3.1.1, 3 = MQTT 3.1. `'auto'`: MQTT 5.0, falling back to 3.1.1
   * with a server that refuses 5.0 (CONNACK return code 1 in a 3.1.1-style answer, reason
   * code 0x84, or the connection closed on the CONNECT, as NATS does); what each server
   * speaks is remembered for the life of the client, and `client.protocolVersion` tells
   * what the current connection negotiated. The 5.0-only options are sent to 5.0 servers
   * and left out for 3.1.1 ones. @default 4
   */
  readonly protocolVersion?: 3 | 4 | 5 | 'auto';
  /**
   * MQTT 5.0 enhanced authentication (§4.12): the client's side of an authentication method,
   * e.g. `new ScramSha256Authenticator({ username, password })`. Its method and first data
   * go in CONNECT, each AUTH challenge of the server is answered, and the server's final
   * data is verified before the connection is used; `client.reauthenticate()` runs the
   * exchange again on the open connection. A failure is an `AuthenticationError` in
   * `state.lastError`, retried after `reconnect.refusedDelayMs` as a refused CONNACK is.
   * Requires `protocolVersion: 5`. One authenticator serves one client.
   */
  readonly authenticator?: Authenticator;
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
   * @default { minDelayMs: 2000, maxDelayMs: 60000, jitter: 0.2, failover: 'backup', stableAfterMs: 10000, refusedDelayMs: maxDelayMs, poisonThreshold: 3, poisonWindowMs: 30000 }
   */
  readonly reconnect?: false | ReconnectOptions;
  /**
   * More servers: backups tried after the primary (Mongoose OS `mqtt1` semantics), or the
   * other nodes of a cluster with `reconnect.failover: 'cluster'`. @default []
   */
  readonly servers?: readonly (string | ServerOptions)[];
  /**
   * The order in which the server given first and `servers` are tried. `'in-order'`: as
   * given, the first one first (a primary and its backups). `'random'`: shuffled once, when
   * the client is created, with `random` (a fleet pointed at the nodes of a cluster then
   * spreads across them, instead of every device going to the first node after a restart).
   * The order then stays for the client's life, so `failover` moves through it as through a
   * list given in that order. @default 'in-order'
   */
  readonly serverOrder?: ServerOrder;
  /**
   * The source of randomness for the `serverOrder: 'random'` shuffle and the reconnect
   * jitter: a function returning numbers in [0, 1), as `Math.random` does. Tests pass a
   * seeded or scripted one for a known order. A value outside [0, 1) is an
   * `InvalidOptionError` naming `random`. @default Math.random
   */
  readonly random?: () => number;
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
   * The platform whose documented limits the client applies before the wire: `'exosite'`
   * (Exosite Murano), `'aws-iot'` (AWS IoT Core), `'azure-iot-hub'` (Azure IoT Hub), or
   * `'generic'` (no platform rule). Options that break the platform's rules are refused
   * here, operations that do when called, each with a `ProfileViolationError` naming the
   * platform and the rule; AWS IoT subscribes of more than 8 filters are split. See
   * docs/platforms.md. @default 'generic'
   */
  readonly profile?: ProfileName;
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

/**
 * The order `servers` are tried in: `'in-order'` as given, `'random'` shuffled once per
 * client (see {@link ClientOptions.serverOrder}).
 */
export type ServerOrder = 'in-order' | 'random';

/** The Will properties as a user gives them (the same names as on the wire). */
export interface WillPropertiesOptions {
  /**
   * 0x18 Will Delay Interval: seconds the broker waits after the connection is lost before
   * publishing the Will; a reconnect within it cancels the Will [MQTT-3.1.3-9]. The broker
   * also publishes it when the session ends first. 0..4,294,967,295. @default 0
   */
  readonly willDelayIntervalSec?: number;
  /**
   * 0x01 Payload Format Indicator: 1 says the payload is UTF-8 text, which is then checked
   * here: a broker may refuse a CONNECT whose Will is not (CONNACK 0x99 Payload format
   * invalid, §3.1.3.2.3), and would do so on every reconnect. @default 0
   */
  readonly payloadFormatIndicator?: 0 | 1;
  /** 0x02 Message Expiry Interval: seconds the Will lives once published. 0..4,294,967,295. */
  readonly messageExpiryIntervalSec?: number;
  /** 0x03 Content Type: a UTF-8 string, e.g. a MIME type. */
  readonly contentType?: string;
  /** 0x08 Response Topic: a topic name, no wildcards. */
  readonly responseTopic?: string;
  /** 0x09 Correlation Data: bytes (or a string sent as UTF-8), at most 65,535. */
  readonly correlationData?: string | Uint8Array;
  /** 0x26 User Properties, as `[name, value]` pairs (repeats kept) or an object. */
  readonly userProperties?: UserProperties | Readonly<Record<string, string>>;
}

/** Options of {@link Client.request}. */
export interface RequestOptions {
  /** How long to wait for the response, in milliseconds (1..2^31-1). @default 30000 */
  readonly timeoutMs?: number;
  /** QoS of the request (and of the response subscription). @default 1 */
  readonly qos?: QoS;
  /**
   * Properties of the request, without `responseTopic` and `correlationData`: the client
   * sets those itself.
   */
  readonly properties?: OutgoingPublishProperties;
  /**
   * The topic responses come back on. At most 64 different ones per client, the default
   * included: each is subscribed once and kept. @default derived from the CONNACK's
   * Response Information when `requestResponseInformation` was asked and the broker gave it
   * (`<responseInformation>/responses`), otherwise `<clientId>/responses`
   */
  readonly responseTopic?: string;
}

/** Options of {@link Client.respond}. */
export interface RespondOptions {
  /** QoS of the subscription to requests. @default 1 */
  readonly qos?: QoS;
  /**
   * Requests handled at once, 1 to 1,000. With 1, requests are answered one at a time in
   * arrival order. With more, a slow request does not hold back the others; requests past
   * the bound wait unread, so the broker's flow control bounds what waits. @default 1
   */
  readonly concurrency?: number;
}

/** What a device needs to connect to Azure IoT Hub with a SAS token. */
export interface AzureIotHubOptions {
  /** The hub's host name, e.g. `myhub.azure-devices.net`. */
  readonly hub: string;
  /** The device id registered in the hub; also the MQTT client id. */
  readonly deviceId: string;
  /** The device's symmetric key (primary or secondary), base64. A secret: never logged. */
  readonly key: string;
  /** Lifetime of each token, seconds (60 s to 365 days). @default 3600 */
  readonly ttlSec?: number;
  /**
   * How long before its expiry a token is replaced: the client reconnects with a fresh one
   * then. @default a fifth of `ttlSec`, at least 1 s
   */
  readonly renewBeforeSec?: number;
  /**
   * Where to connect, when not `mqtts://{hub}:8883` (a gateway, a test emulator). The hub
   * name still goes in the user name, the token and SNI.
   */
  readonly url?: string;
  /** TLS settings (e.g. a CA); `servername` defaults to the hub. */
  readonly tls?: TlsOptions;
  /** The clock, epoch milliseconds (tests). @default Date.now */
  readonly now?: () => number;
  /** Shortest `ttlSec` accepted. @default 60 (tests may lower it to see renewals) */
  readonly minTtlSec?: number;
}
