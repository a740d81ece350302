/**
 * Errors of the Courier MQTT library.
 *
 * Every error the library throws or rejects with is an {@link MqttError} with a stable
 * {@link MqttErrorCode}, and each code has its one class (undici's pattern): catch by class
 * or by code. A class may be refined by a subclass that keeps its code (`StoreLockedError`
 * is a `StoreError`), never shared by two codes. Each class declares its `name` as a
 * literal, and `instanceof` works across duplicate installs of the package: each class is
 * branded with a `Symbol.for` key made of that name, instead of relying on prototype
 * identity.
 *
 * The classes of the transport (`NetworkError`, `ConnectTimeoutError`, `TlsError`,
 * `WebSocketError`) and of the stores (`StoreError` and its refinements) live in their
 * layers' `errors.ts`.
 *
 * @module
 */

/** Stable machine-readable error codes. Never renamed once released. */
export const MqttErrorCode = {
  /** A packet on the wire (or given to the encoder) breaks the MQTT specification. */
  MALFORMED_PACKET: 'MQTT_MALFORMED_PACKET',
  /** A packet is larger than the configured maximum packet size. */
  PACKET_TOO_LARGE: 'MQTT_PACKET_TOO_LARGE',
  /** A topic name or topic filter is not valid. */
  INVALID_TOPIC: 'MQTT_INVALID_TOPIC',
  /** An option passed by the caller is not valid; the message names the field. */
  INVALID_OPTION: 'MQTT_INVALID_OPTION',
  /** The broker answered CONNECT with a non-zero return code. */
  CONNECTION_REFUSED: 'MQTT_CONNECTION_REFUSED',
  /** No CONNACK (or no TCP/TLS connection) within the connect timeout. */
  CONNECT_TIMEOUT: 'MQTT_CONNECT_TIMEOUT',
  /** The connection was lost (closed, reset, or torn down after a protocol error). */
  CONNECTION_LOST: 'MQTT_CONNECTION_LOST',
  /** No PINGRESP arrived in time: the connection is considered half-open and dead. */
  KEEPALIVE_TIMEOUT: 'MQTT_KEEPALIVE_TIMEOUT',
  /** The client was ended; the operation can no longer complete. */
  CLIENT_CLOSED: 'MQTT_CLIENT_CLOSED',
  /** The offline queue is full and the chosen policy rejects new messages. */
  QUEUE_FULL: 'MQTT_QUEUE_FULL',
  /** The network layer failed: DNS, TCP connect, socket error. */
  NETWORK: 'MQTT_NETWORK',
  /** The TLS handshake failed: certificate, host name, PSK, protocol version. */
  TLS: 'MQTT_TLS',
  /** The WebSocket upgrade or framing failed. */
  WEBSOCKET: 'MQTT_WEBSOCKET',
  /** The peer broke the protocol flow (not the packet format): e.g. a second CONNACK. */
  PROTOCOL: 'MQTT_PROTOCOL',
  /** The session store failed to read or write. */
  STORE: 'MQTT_STORE',
  /** An operation was aborted by the caller's AbortSignal. */
  ABORTED: 'MQTT_ABORTED',
  /**
   * A QoS 0 message was dropped because the application did not read its subscription
   * (QoS 1/2 messages are never dropped: the client stops reading the connection instead).
   */
  MESSAGE_DROPPED: 'MQTT_MESSAGE_DROPPED',
  /**
   * An outgoing message was given up: the server closed the connection right after it was
   * (re)sent, before acknowledging it, several times in a row (e.g. QoS 2 on a broker
   * without QoS 2).
   */
  POISON_MESSAGE: 'MQTT_POISON_MESSAGE',
  /**
   * The broker acknowledged a QoS 2 message with PUBACK: it downgraded it to QoS 1
   * (delivered at least once, not exactly once).
   */
  QOS_DOWNGRADED: 'MQTT_QOS_DOWNGRADED',
  /**
   * MQTT 5.0 enhanced authentication failed on this side: the server's challenge or final
   * data is malformed or does not verify (e.g. a wrong SCRAM server signature), or the
   * server reported an authentication error in it.
   */
  AUTHENTICATION: 'MQTT_AUTHENTICATION',
  /**
   * MQTT 5.0: the broker said in its CONNACK that it does not support what an operation
   * asks for (a QoS above its Maximum QoS, retain, wildcard or shared subscriptions).
   */
  NOT_SUPPORTED_BY_SERVER: 'MQTT_NOT_SUPPORTED_BY_SERVER',
  /** MQTT 5.0: the broker answered a publish with a PUBACK or PUBREC reason code ≥ 0x80. */
  PUBLISH_REJECTED: 'MQTT_PUBLISH_REJECTED',
  /** MQTT 5.0: the broker answered an UNSUBSCRIBE with a reason code ≥ 0x80 for a filter. */
  UNSUBSCRIBE_REJECTED: 'MQTT_UNSUBSCRIBE_REJECTED',
  /** MQTT 5.0: the broker sent DISCONNECT, with a reason code saying why. */
  DISCONNECTED_BY_SERVER: 'MQTT_DISCONNECTED_BY_SERVER',
  /**
   * An option or an operation breaks a rule the chosen platform profile documents (e.g. a
   * QoS 2 publish with `profile: 'aws-iot'`): refused before anything reaches the wire.
   */
  PROFILE_VIOLATION: 'MQTT_PROFILE_VIOLATION',
  /**
   * MQTT 5.0: an outgoing message's Message Expiry Interval passed while it waited to be
   * sent (offline queue, store): it was not sent.
   */
  MESSAGE_EXPIRED: 'MQTT_MESSAGE_EXPIRED',
  /** MQTT 5.0 request/response: no response with the request's Correlation Data in time. */
  REQUEST_TIMEOUT: 'MQTT_REQUEST_TIMEOUT',
} as const;

/** The union of all {@link MqttErrorCode} values. */
export type MqttErrorCode = (typeof MqttErrorCode)[keyof typeof MqttErrorCode];

import { reasonCodeName } from './packet/reason-codes.js';

const brandOf = (name: string): symbol => Symbol.for(`courier-mqtt.error.${name}`);

/**
 * The name a class declares with its literal `name` getter; for a subclass declared outside
 * this library without one, its constructor's name.
 */
function declaredName(proto: object): string {
  const getter = Object.getOwnPropertyDescriptor(proto, 'name')?.get;
  if (getter !== undefined) return String(getter.call(proto));
  return (proto as { constructor: { name: string } }).constructor.name;
}

/** Options common to every Courier error. */
export interface MqttErrorOptions {
  /** The underlying error, kept as the standard `cause`. */
  cause?: unknown;
}

/**
 * The base class of every error of this library.
 *
 * `code` is stable and meant for programs; `message` is meant for people (a device installer
 * reading a log) and may be reworded between versions.
 */
export class MqttError extends Error {
  /** Stable code; see {@link MqttErrorCode}. */
  readonly code: MqttErrorCode;

  constructor(code: MqttErrorCode, message: string, options?: MqttErrorOptions) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause });
    this.code = code;
    // Brand every class in the chain so `instanceof` works across duplicate installs.
    let proto: object | null = Object.getPrototypeOf(this) as object | null;
    while (proto !== null && proto !== Error.prototype) {
      Object.defineProperty(this, brandOf(declaredName(proto)), { value: true });
      proto = Object.getPrototypeOf(proto) as object | null;
    }
  }

  override get name(): string {
    return 'MqttError';
  }

  static override [Symbol.hasInstance](value: unknown): boolean {
    // `this` is the class `instanceof` was asked about (a subclass too): check its brand.
    // biome-ignore lint/complexity/noThisInStatic: the subclass is the point
    const brand = brandOf(declaredName(this.prototype as object));
    return (
      typeof value === 'object' &&
      value !== null &&
      (value as Record<symbol, unknown>)[brand] === true
    );
  }
}

/**
 * A packet breaks the MQTT specification, on decode (bytes from the peer) or on encode
 * (a packet built by the caller).
 */
export class MalformedPacketError extends MqttError {
  override get name(): string {
    return 'MalformedPacketError';
  }

  /** Byte offset of the offending byte, from the start of the packet; -1 on encode. */
  readonly offset: number;
  /** The normative statement broken, e.g. `MQTT-2.2.2-2`; undefined where none applies. */
  readonly rule: string | undefined;

  constructor(message: string, offset: number, rule?: string, options?: MqttErrorOptions) {
    super(
      MqttErrorCode.MALFORMED_PACKET,
      `${message}${rule === undefined ? '' : ` [${rule}]`}${offset >= 0 ? ` at byte ${offset}` : ''}`,
      options,
    );
    this.offset = offset;
    this.rule = rule;
  }
}

/** A packet is larger than the maximum packet size allowed. Detected before its body is buffered. */
export class PacketTooLargeError extends MqttError {
  override get name(): string {
    return 'PacketTooLargeError';
  }

  /** Size the packet announced, in bytes (fixed header included). */
  readonly sizeBytes: number;
  /** The limit in force, in bytes. */
  readonly maxBytes: number;

  constructor(sizeBytes: number, maxBytes: number) {
    super(
      MqttErrorCode.PACKET_TOO_LARGE,
      `packet of ${sizeBytes} bytes exceeds the maximum packet size of ${maxBytes} bytes`,
    );
    this.sizeBytes = sizeBytes;
    this.maxBytes = maxBytes;
  }
}

/** A topic name or filter is invalid. */
export class InvalidTopicError extends MqttError {
  override get name(): string {
    return 'InvalidTopicError';
  }

  /** The offending topic or filter. */
  readonly topic: string;
  /** The normative statement broken, where one applies. */
  readonly rule: string | undefined;

  constructor(topic: string, reason: string, rule?: string) {
    super(
      MqttErrorCode.INVALID_TOPIC,
      `invalid topic ${JSON.stringify(topic)}: ${reason}${rule === undefined ? '' : ` [${rule}]`}`,
    );
    this.topic = topic;
    this.rule = rule;
  }
}

/** An option is invalid. The message names the field and what is allowed. */
export class InvalidOptionError extends MqttError {
  override get name(): string {
    return 'InvalidOptionError';
  }

  /** Dotted path of the field, e.g. `reconnect.maxDelayMs`. */
  readonly field: string;

  constructor(field: string, message: string) {
    super(MqttErrorCode.INVALID_OPTION, `${field}: ${message}`);
    this.field = field;
  }
}

/**
 * The connection was closed or reset by the server (or by something between us and it),
 * as opposed to dropped by the client itself (keep-alive expiry, protocol error).
 */
export class ConnectionLostError extends MqttError {
  override get name(): string {
    return 'ConnectionLostError';
  }

  /** The server, as a URL without credentials. */
  readonly server: string;
  /** True when the connection ended before the broker answered CONNECT. */
  readonly beforeConnack: boolean;
  /** True for a TCP reset (`ECONNRESET`, `EPIPE`), false for an orderly close. */
  readonly reset: boolean;
  /**
   * True when the server (or something between us and it) closed or reset the connection;
   * false when it was torn down on this side after a failure (see {@link failed}).
   */
  readonly byServer: boolean;

  constructor(server: string, beforeConnack: boolean, reset: boolean, cause?: unknown) {
    const how = reset ? 'reset' : 'closed';
    // A broker that dislikes a CONNECT (protocol level, client id, Will QoS) may close
    // without a CONNACK return code: say where in the handshake it happened.
    const when = beforeConnack
      ? ' before CONNACK (the broker may not accept this CONNECT: protocol version, client id, Will or credentials)'
      : '';
    super(
      MqttErrorCode.CONNECTION_LOST,
      `connection to ${server} ${how} by the server${when}`,
      cause === undefined ? undefined : { cause },
    );
    this.server = server;
    this.beforeConnack = beforeConnack;
    this.reset = reset;
    this.byServer = true;
  }

  /**
   * The connection was torn down here because of a failure that is not an {@link MqttError}
   * (a socket error other than a reset, an exception while reading it): `cause` is kept.
   */
  static failed(server: string, beforeConnack: boolean, cause: unknown): ConnectionLostError {
    const error = new ConnectionLostError(server, beforeConnack, false, cause);
    const detail = cause instanceof Error ? cause.message : String(cause);
    error.message = `connection to ${server} failed: ${detail}`;
    Object.defineProperty(error, 'byServer', { value: false });
    return error;
  }
}

/**
 * An outgoing QoS 1/2 message the server would not take: it closed the connection right
 * after the message was (re)sent, before acknowledging it, `closes` times in a row. The
 * message is removed from the session and the store, so the messages behind it can flow.
 */
export class PoisonMessageError extends MqttError {
  override get name(): string {
    return 'PoisonMessageError';
  }

  /** Topic of the message given up. */
  readonly topic: string;
  /** Its QoS. */
  readonly qos: 1 | 2;
  /** How many connections in a row the server closed right after it was (re)sent. */
  readonly closes: number;

  constructor(topic: string, qos: 1 | 2, closes: number) {
    super(
      MqttErrorCode.POISON_MESSAGE,
      `message to ${JSON.stringify(topic)} (QoS ${qos}) given up: the server closed the connection right after it was sent, ${closes} times in a row${qos === 2 ? ' (does the broker support QoS 2?)' : ''}`,
    );
    this.topic = topic;
    this.qos = qos;
    this.closes = closes;
  }
}

/**
 * MQTT 5.0: an outgoing message expired before it could be sent: its Message Expiry Interval
 * passed while it waited in the offline queue or the store [MQTT-3.3.2-5]. It was not sent;
 * its store record is gone. Rejects the publish's promise, or, when nobody awaits it (a
 * message resumed after a restart, or `resolveOn: 'stored'`), is reported by `dropped`.
 */
export class MessageExpiredError extends MqttError {
  override get name(): string {
    return 'MessageExpiredError';
  }

  /** Topic of the message. */
  readonly topic: string;
  /** Its Message Expiry Interval, in seconds. */
  readonly messageExpiryIntervalSec: number;
  /** How long it had waited, in milliseconds. */
  readonly waitedMs: number;

  constructor(topic: string, messageExpiryIntervalSec: number, waitedMs: number) {
    super(
      MqttErrorCode.MESSAGE_EXPIRED,
      `message to ${JSON.stringify(topic)} expired unsent: its Message Expiry Interval of ${messageExpiryIntervalSec} s passed after waiting ${Math.round(waitedMs)} ms`,
    );
    this.topic = topic;
    this.messageExpiryIntervalSec = messageExpiryIntervalSec;
    this.waitedMs = waitedMs;
  }
}

/**
 * The broker answered a QoS 2 PUBLISH with PUBACK, i.e. handled it as QoS 1 (RabbitMQ does):
 * the message was delivered at least once, not exactly once. The publish is settled with
 * this error and its in-flight slot and store record are freed.
 */
export class QosDowngradedError extends MqttError {
  override get name(): string {
    return 'QosDowngradedError';
  }

  /** Topic of the message. */
  readonly topic: string;
  /** The QoS requested. */
  readonly requestedQos: 2;
  /** The QoS the broker's acknowledgement implies. */
  readonly grantedQos: 1;

  constructor(topic: string) {
    super(
      MqttErrorCode.QOS_DOWNGRADED,
      `message to ${JSON.stringify(topic)} sent with QoS 2 was acknowledged with PUBACK: the broker downgraded it to QoS 1 (delivered at least once, not exactly once)`,
    );
    this.topic = topic;
    this.requestedQos = 2;
    this.grantedQos = 1;
  }
}

/** A received QoS 0 message was dropped: the subscription reading it was full. */
export class MessageDroppedError extends MqttError {
  override get name(): string {
    return 'MessageDroppedError';
  }

  /** The message's topic. */
  readonly topic: string;

  constructor(topic: string, reason: string) {
    super(
      MqttErrorCode.MESSAGE_DROPPED,
      `QoS 0 message on ${JSON.stringify(topic)} dropped: ${reason}`,
    );
    this.topic = topic;
  }
}

const REFUSAL_REASONS: Readonly<Record<number, string>> = {
  1: 'unacceptable protocol version',
  2: 'identifier rejected',
  3: 'server unavailable',
  4: 'bad user name or password',
  5: 'not authorized',
};

/**
 * MQTT 5.0 Connect Reason Codes that a retry may cure without a change on our side: the
 * server is busy, unavailable, over a quota or rate, or sends us elsewhere. Every other
 * refusal (credentials, client id, protocol, banned, a Will the server will not take) needs
 * a fix first.
 */
const TRANSIENT_V5_REFUSALS: ReadonlySet<number> = new Set([
  0x80, 0x83, 0x88, 0x89, 0x97, 0x9c, 0x9d, 0x9f,
]);

/** Details of a refusal beyond its code (MQTT 5.0 CONNACK properties). */
export interface RefusalDetails {
  /** The server's Reason String, for people. */
  readonly reasonString?: string;
  /** The server's Server Reference (with 0x9C / 0x9D): where to connect instead. */
  readonly serverReference?: string;
}

/**
 * The broker answered CONNECT with a non-zero CONNACK return code: 1..5 in MQTT 3.1.1 (and
 * from a 3.1.1 broker refusing a 5.0 CONNECT), a Connect Reason Code ≥ 0x80 in 5.0.
 */
export class ConnectionRefusedError extends MqttError {
  override get name(): string {
    return 'ConnectionRefusedError';
  }

  /** The CONNACK return code (3.1.1) or Connect Reason Code (5.0). */
  readonly returnCode: number;
  /** The server that refused, as a URL without credentials. */
  readonly server: string;
  /** MQTT 5.0: the server's Reason String, if it sent one. */
  readonly reasonString: string | undefined;
  /** MQTT 5.0: the server's Server Reference, if it sent one. */
  readonly serverReference: string | undefined;

  constructor(returnCode: number, server: string, details: RefusalDetails = {}) {
    const reason =
      (returnCode >= 0x80 ? reasonCodeName(returnCode, 'connack') : REFUSAL_REASONS[returnCode]) ??
      `unknown return code ${returnCode}`;
    const code =
      returnCode >= 0x80
        ? `CONNACK reason code 0x${returnCode.toString(16)}`
        : `CONNACK return code ${returnCode}`;
    const said = details.reasonString === undefined ? '' : `: ${details.reasonString}`;
    super(
      MqttErrorCode.CONNECTION_REFUSED,
      `connection refused by ${server}: ${reason} (${code})${said}`,
    );
    this.returnCode = returnCode;
    this.server = server;
    this.reasonString = details.reasonString;
    this.serverReference = details.serverReference;
  }

  /**
   * True for refusals that retrying with the same settings cannot fix: in 3.1.1 every code
   * but 3 (server unavailable); in 5.0 every code but unspecified and implementation-specific
   * errors, server unavailable or busy, quota or connection rate exceeded, and the server
   * references 0x9C / 0x9D.
   */
  get permanent(): boolean {
    if (this.returnCode >= 0x80) return !TRANSIENT_V5_REFUSALS.has(this.returnCode);
    return this.returnCode !== 3;
  }
}

/** What the broker said it does not support, in its MQTT 5.0 CONNACK. */
export type ServerFeature =
  /** The server speaks 3.1.1 (`protocolVersion: 'auto'` fell back), and the operation needs 5.0. */
  'mqtt-5' | 'maximum-qos' | 'retain' | 'wildcard-subscriptions' | 'shared-subscriptions';

/**
 * MQTT 5.0: an operation asks for something the broker's CONNACK said it does not support.
 * Refused before anything is sent (the broker would disconnect us for it), never silently
 * downgraded.
 */
export class UnsupportedByServerError extends MqttError {
  override get name(): string {
    return 'UnsupportedByServerError';
  }

  /** What is not supported. */
  readonly feature: ServerFeature;

  constructor(feature: ServerFeature, message: string) {
    super(MqttErrorCode.NOT_SUPPORTED_BY_SERVER, message);
    this.feature = feature;
  }
}

/**
 * MQTT 5.0: the broker answered a QoS 1/2 publish with a PUBACK or PUBREC reason code
 * ≥ 0x80 (e.g. 0x87 Not authorized, 0x97 Quota exceeded). The flow is over: the message is
 * not retried and is removed from the store.
 */
export class PublishRejectedError extends MqttError {
  override get name(): string {
    return 'PublishRejectedError';
  }

  /** Topic of the message. */
  readonly topic: string;
  /** The PUBACK / PUBREC reason code. */
  readonly reasonCode: number;
  /** The server's Reason String, if it sent one. */
  readonly reasonString: string | undefined;

  constructor(topic: string, reasonCode: number, reasonString?: string) {
    const name = reasonCodeName(reasonCode, 'puback') ?? 'unknown reason code';
    super(
      MqttErrorCode.PUBLISH_REJECTED,
      `message to ${JSON.stringify(topic)} rejected by the server: ${name} (reason code 0x${reasonCode.toString(16)})${reasonString === undefined ? '' : `: ${reasonString}`}`,
    );
    this.topic = topic;
    this.reasonCode = reasonCode;
    this.reasonString = reasonString;
  }
}

/**
 * MQTT 5.0: the broker refused to remove one or more filters of an UNSUBSCRIBE (UNSUBACK
 * reason code ≥ 0x80, e.g. 0x87 Not authorized, 0x8F Topic Filter invalid). The client has
 * forgotten the filters all the same: messages the broker still sends for a refused one go
 * to the `message` event only.
 */
export class UnsubscribeRejectedError extends MqttError {
  override get name(): string {
    return 'UnsubscribeRejectedError';
  }

  /** The filters of the UNSUBSCRIBE, in order. */
  readonly filters: readonly string[];
  /** The UNSUBACK reason code of each filter, in the same order. */
  readonly reasonCodes: readonly number[];
  /** The server's Reason String, if it sent one. */
  readonly reasonString: string | undefined;

  constructor(filters: readonly string[], reasonCodes: readonly number[], reasonString?: string) {
    const refused = filters
      .map((filter, i) => [filter, reasonCodes[i] ?? 0] as const)
      .filter(([, code]) => code >= 0x80)
      .map(
        ([filter, code]) =>
          `${JSON.stringify(filter)}: ${reasonCodeName(code, 'unsuback') ?? 'unknown reason code'} (0x${code.toString(16)})`,
      );
    super(
      MqttErrorCode.UNSUBSCRIBE_REJECTED,
      `unsubscribe refused by the server for ${refused.join(', ')}${reasonString === undefined ? '' : `: ${reasonString}`}`,
    );
    this.filters = filters;
    this.reasonCodes = reasonCodes;
    this.reasonString = reasonString;
  }
}

/**
 * MQTT 5.0: the broker ended the connection with a DISCONNECT packet, saying why (e.g.
 * 0x8B Server shutting down, 0x8E Session taken over, 0x9C Use another server).
 */
export class ServerDisconnectError extends MqttError {
  override get name(): string {
    return 'ServerDisconnectError';
  }

  /** The server, as a URL without credentials. */
  readonly server: string;
  /** The Disconnect Reason Code. */
  readonly reasonCode: number;
  /** The server's Reason String, if it sent one. */
  readonly reasonString: string | undefined;
  /** The server's Server Reference (with 0x9C / 0x9D): where to connect instead. */
  readonly serverReference: string | undefined;

  constructor(server: string, reasonCode: number, details: RefusalDetails = {}) {
    const name = reasonCodeName(reasonCode, 'disconnect') ?? 'unknown reason code';
    super(
      MqttErrorCode.DISCONNECTED_BY_SERVER,
      `${server} disconnected: ${name} (reason code 0x${reasonCode.toString(16)})${details.reasonString === undefined ? '' : `: ${details.reasonString}`}${details.serverReference === undefined ? '' : `; server reference ${JSON.stringify(details.serverReference)}`}`,
    );
    this.server = server;
    this.reasonCode = reasonCode;
    this.reasonString = details.reasonString;
    this.serverReference = details.serverReference;
  }
}

/**
 * MQTT 5.0 request/response (`client.request()`): no response carrying the request's
 * Correlation Data arrived on its Response Topic within `timeoutMs`. A response arriving
 * later is counted as unmatched (`unmatchedResponseCount`), never taken for an answer.
 */
export class RequestTimeoutError extends MqttError {
  override get name(): string {
    return 'RequestTimeoutError';
  }

  /** The topic the request was published to. */
  readonly topic: string;
  /** How long the response was waited for, in milliseconds. */
  readonly timeoutMs: number;

  constructor(topic: string, timeoutMs: number) {
    super(
      MqttErrorCode.REQUEST_TIMEOUT,
      `no response to the request on ${JSON.stringify(topic)} within ${timeoutMs} ms`,
    );
    this.topic = topic;
    this.timeoutMs = timeoutMs;
  }
}

/** The client was ended: the operation can no longer complete. */
export class ClientClosedError extends MqttError {
  override get name(): string {
    return 'ClientClosedError';
  }

  constructor(message = 'the client was ended') {
    super(MqttErrorCode.CLIENT_CLOSED, message);
  }
}

/** No PINGRESP within `pingTimeoutMs` of a PINGREQ: the link is taken for half-open and dead. */
export class KeepaliveTimeoutError extends MqttError {
  override get name(): string {
    return 'KeepaliveTimeoutError';
  }

  /** How long the PINGRESP was waited for, in milliseconds. */
  readonly pingTimeoutMs: number;

  constructor(pingTimeoutMs: number) {
    super(
      MqttErrorCode.KEEPALIVE_TIMEOUT,
      `no PINGRESP within ${pingTimeoutMs} ms: connection considered dead`,
    );
    this.pingTimeoutMs = pingTimeoutMs;
  }
}

/**
 * The offline queue is full (`offlineQueue`): a new publish is refused, or, with policy
 * `drop-oldest-qos0`, a queued QoS 0 publish is dropped to make room.
 */
export class QueueFullError extends MqttError {
  override get name(): string {
    return 'QueueFullError';
  }

  /** `'refused'`: this publish was not accepted. `'dropped'`: it was queued, then dropped. */
  readonly outcome: 'refused' | 'dropped';

  constructor(outcome: 'refused' | 'dropped', message: string) {
    super(MqttErrorCode.QUEUE_FULL, message);
    this.outcome = outcome;
  }
}

/**
 * The peer broke the protocol flow, not the packet format: a packet before CONNACK, a second
 * CONNACK, a client-only packet from the server, a SUBACK with the wrong number of codes.
 */
export class ProtocolError extends MqttError {
  override get name(): string {
    return 'ProtocolError';
  }

  /** The normative statement broken, e.g. `MQTT-3.2.0-1`; undefined where none applies. */
  readonly rule: string | undefined;

  constructor(message: string, rule?: string) {
    super(MqttErrorCode.PROTOCOL, `${message}${rule === undefined ? '' : ` [${rule}]`}`);
    this.rule = rule;
  }
}

/** An operation was aborted by the caller's `AbortSignal`. */
export class AbortedError extends MqttError {
  override get name(): string {
    return 'AbortedError';
  }

  constructor(message: string, cause?: unknown) {
    super(MqttErrorCode.ABORTED, message, cause === undefined ? undefined : { cause });
  }
}

/**
 * MQTT 5.0 enhanced authentication (§4.12) failed on the client's side: the server's
 * Authentication Data is malformed, out of order or out of bounds, or it does not verify
 * (a SCRAM server signature that does not match proves the server does not know the
 * password: the connection must not be used), or the server reported an error in it.
 */
export class AuthenticationError extends MqttError {
  override get name(): string {
    return 'AuthenticationError';
  }

  /** The Authentication Method, e.g. `SCRAM-SHA-256`. */
  readonly method: string;
  /**
   * What is wrong, as a dotted path: the message and its attribute, e.g.
   * `server-first-message.i`; undefined when no single field is at fault.
   */
  readonly field: string | undefined;
  /** The error the server reported in its data (SCRAM's `e=` value), when it reported one. */
  readonly serverError: string | undefined;

  constructor(
    method: string,
    message: string,
    details?: { field?: string; serverError?: string; cause?: unknown },
  ) {
    const where = details?.field === undefined ? '' : `${details.field}: `;
    super(
      MqttErrorCode.AUTHENTICATION,
      `${method} authentication: ${where}${message}`,
      details?.cause === undefined ? undefined : { cause: details.cause },
    );
    this.method = method;
    this.field = details?.field;
    this.serverError = details?.serverError;
  }
}

/**
 * An option or an operation breaks a rule of the platform profile in use (`profile:
 * 'exosite' | 'aws-iot' | 'azure-iot-hub'`), such as a QoS the platform does not support or
 * a payload above its documented size. Refused before anything reaches the wire, so a cloud
 * never sees (and never disconnects on) what it documents it refuses.
 */
export class ProfileViolationError extends MqttError {
  override get name(): string {
    return 'ProfileViolationError';
  }

  /** The profile, e.g. `'aws-iot'`. */
  readonly profile: string;
  /** The platform's name, e.g. `'AWS IoT Core'`. */
  readonly platform: string;
  /** The rule broken, a stable short id, e.g. `'publish-qos'`, `'filters-per-subscribe'`. */
  readonly rule: string;
  /** The option at fault when refused at option time (dotted path), else undefined. */
  readonly field: string | undefined;

  constructor(profile: string, platform: string, rule: string, message: string, field?: string) {
    super(
      MqttErrorCode.PROFILE_VIOLATION,
      `${field === undefined ? '' : `${field}: `}${platform} (profile '${profile}', rule ${rule}): ${message}`,
    );
    this.profile = profile;
    this.platform = platform;
    this.rule = rule;
    this.field = field;
  }
}
