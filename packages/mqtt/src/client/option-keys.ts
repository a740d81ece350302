/**
 * The keys each options group accepts, and advice for the names people bring from MQTT.js
 * (`keepalive`, `reconnectPeriod`, `connectTimeout`, ...). Each list is declared with
 * `satisfies KnownKeys<...>`, so adding an option to an interface without adding it here (or
 * the other way round) fails to compile.
 *
 * @module
 */

import type { KnownKeys } from '../option-checks.js';
import type {
  AzureIotHubOptions,
  ClientOptions,
  OfflineQueueOptions,
  ReconnectOptions,
  RequestOptions,
  RespondOptions,
  ServerOptions,
  WillOptions,
  WillPropertiesOptions,
} from './option-types.js';
import type { EndOptions, EndProperties, SubscribeOptions } from './types.js';

/** Keys of {@link ClientOptions}. */
export const CLIENT_KEYS = {
  clientId: true,
  clean: true,
  keepaliveSec: true,
  pingTimeoutMs: true,
  username: true,
  password: true,
  will: true,
  protocolVersion: true,
  authenticator: true,
  sessionExpirySec: true,
  receiveMaximum: true,
  requestResponseInformation: true,
  userProperties: true,
  topicAliasMaximum: true,
  outgoingTopicAliases: true,
  connectTimeoutMs: true,
  tls: true,
  psk: true,
  family: true,
  wsPath: true,
  reconnect: true,
  servers: true,
  serverOrder: true,
  random: true,
  store: true,
  maxInflight: true,
  offlineQueue: true,
  maxPacketSize: true,
  subscriptionBufferSize: true,
  profile: true,
  maxPendingRequests: true,
  trace: true,
} as const satisfies KnownKeys<ClientOptions>;

/** Keys of {@link ServerOptions}. */
export const SERVER_KEYS = {
  url: true,
  username: true,
  password: true,
  tls: true,
  psk: true,
  family: true,
  wsPath: true,
} as const satisfies KnownKeys<ServerOptions>;

/** Keys of {@link WillOptions}. */
export const WILL_KEYS = {
  topic: true,
  payload: true,
  qos: true,
  retain: true,
  properties: true,
} as const satisfies KnownKeys<WillOptions>;

/** Keys of {@link WillPropertiesOptions} (`will.properties`). */
export const WILL_PROPERTY_KEYS = {
  willDelayIntervalSec: true,
  payloadFormatIndicator: true,
  messageExpiryIntervalSec: true,
  contentType: true,
  responseTopic: true,
  correlationData: true,
  userProperties: true,
} as const satisfies KnownKeys<WillPropertiesOptions>;

/** Keys of {@link ReconnectOptions}. */
export const RECONNECT_KEYS = {
  minDelayMs: true,
  maxDelayMs: true,
  jitter: true,
  failover: true,
  stableAfterMs: true,
  refusedDelayMs: true,
  poisonThreshold: true,
  poisonWindowMs: true,
} as const satisfies KnownKeys<ReconnectOptions>;

/** Keys of {@link OfflineQueueOptions}. */
export const OFFLINE_QUEUE_KEYS = {
  maxMessages: true,
  maxBytes: true,
  policy: true,
} as const satisfies KnownKeys<OfflineQueueOptions>;

/** Keys of {@link AzureIotHubOptions}. */
export const AZURE_IOT_HUB_KEYS = {
  hub: true,
  deviceId: true,
  key: true,
  ttlSec: true,
  renewBeforeSec: true,
  url: true,
  tls: true,
  now: true,
  minTtlSec: true,
} as const satisfies KnownKeys<AzureIotHubOptions>;
/** Keys of {@link SubscribeOptions}. */
export const SUBSCRIBE_KEYS = {
  qos: true,
  ack: true,
  noLocal: true,
  retainAsPublished: true,
  retainHandling: true,
  userProperties: true,
} as const satisfies KnownKeys<SubscribeOptions>;

/** Keys of {@link RequestOptions}. */
export const REQUEST_KEYS = {
  timeoutMs: true,
  qos: true,
  properties: true,
  responseTopic: true,
} as const satisfies KnownKeys<RequestOptions>;

/** Keys of {@link RespondOptions}. */
export const RESPOND_KEYS = {
  qos: true,
  concurrency: true,
} as const satisfies KnownKeys<RespondOptions>;

/** Names MQTT.js and mosquitto_sub give the subscription options. */
export const SUBSCRIBE_HINTS: Readonly<Record<string, string>> = {
  nl: 'did you mean noLocal?',
  rap: 'did you mean retainAsPublished?',
  rh: 'did you mean retainHandling?',
  properties:
    'did you mean userProperties? (the subscription identifier is assigned by the client)',
  subscriptionIdentifier: 'not an option: the client assigns one per subscribe() call',
};

const IN_URL = 'put it in the server URL, e.g. "mqtts://broker.example:8883"';
const MQTT5_PROPERTIES =
  'with protocolVersion: 5 the CONNECT properties are options of their own: sessionExpirySec, receiveMaximum, maxPacketSize, requestResponseInformation, userProperties, topicAliasMaximum';

/**
 * MQTT.js `IClientOptions` names (and Node TLS names given at the top level) that are not
 * ours, with what to use instead. Names MQTT.js shares with us (`clientId`, `clean`,
 * `username`, `password`, `will`, `protocolVersion`, `servers`) need no entry.
 */
export const CLIENT_HINTS: Readonly<Record<string, string>> = {
  keepalive: 'did you mean keepaliveSec (seconds)?',
  reconnectPeriod:
    'did you mean reconnect.minDelayMs? (waits then double up to reconnect.maxDelayMs; reconnect: false turns reconnecting off)',
  connectTimeout: 'did you mean connectTimeoutMs?',
  protocolId: 'did you mean protocolVersion? (4 sends "MQTT", 3 sends "MQIsdp")',
  resubscribe: 'not needed: subscriptions are restored after every reconnect without a session',
  queueQoSZero:
    'did you mean offlineQueue? (publishes of every QoS wait in it while offline; offlineQueue.policy says what a full queue does)',
  incomingStore: 'did you mean store? (one store keeps the whole session, e.g. fileStore(dir))',
  outgoingStore: 'did you mean store? (one store keeps the whole session, e.g. fileStore(dir))',
  properties: MQTT5_PROPERTIES,
  rejectUnauthorized: 'did you mean tls.rejectUnauthorized?',
  ca: 'did you mean tls.ca?',
  cert: 'did you mean tls.cert?',
  key: 'did you mean tls.key?',
  passphrase: 'did you mean tls.passphrase?',
  servername: 'did you mean tls.servername?',
  ALPNProtocols: 'did you mean tls.alpn?',
  minVersion: 'did you mean tls.minVersion?',
  maxVersion: 'did you mean tls.maxVersion?',
  ciphers: 'did you mean tls.ciphers (or psk.ciphers)?',
  caPaths: 'give the CA itself: tls.ca: readFileSync(path)',
  certPath: 'give the certificate itself: tls.cert: readFileSync(path)',
  keyPath: 'give the key itself: tls.key: readFileSync(path)',
  host: IN_URL,
  hostname: IN_URL,
  port: IN_URL,
  protocol: IN_URL,
  path: 'did you mean wsPath?',
  auth: 'did you mean username and password?',
  wsOptions: 'not supported; wsPath sets the WebSocket path',
  log: 'not supported: watch client.on("state", ...) instead',
  manualConnect: 'not supported: createClient connects at once; call it when you want to connect',
};

/** Names of the MQTT.js `servers` entries (`{ host, port, protocol }`) and misplaced ones. */
export const SERVER_HINTS: Readonly<Record<string, string>> = {
  host: 'give a url, e.g. { url: "mqtt://backup.example:1883" }',
  hostname: 'give a url, e.g. { url: "mqtt://backup.example:1883" }',
  port: 'the port is part of the url, e.g. { url: "mqtt://backup.example:1883" }',
  protocol: 'the scheme is part of the url, e.g. { url: "mqtts://backup.example:8883" }',
  path: 'did you mean wsPath?',
  ca: 'did you mean tls.ca?',
  cert: 'did you mean tls.cert?',
  key: 'did you mean tls.key?',
  rejectUnauthorized: 'did you mean tls.rejectUnauthorized?',
};

/** Names of the will in MQTT.js, the agent's configuration and other clients. */
export const WILL_HINTS: Readonly<Record<string, string>> = {
  message: 'did you mean will.payload?',
  delayInterval: 'did you mean will.properties.willDelayIntervalSec (seconds)?',
  willDelayIntervalSec: 'did you mean will.properties.willDelayIntervalSec?',
};

/** Names of other clients' backoff settings. */
export const RECONNECT_HINTS: Readonly<Record<string, string>> = {
  period: 'did you mean reconnect.minDelayMs?',
  reconnectPeriod: 'did you mean reconnect.minDelayMs?',
};

/** Keys of {@link EndOptions}. */
export const END_KEYS = {
  force: true,
  timeoutMs: true,
  reasonCode: true,
  properties: true,
} as const satisfies KnownKeys<EndOptions>;

/** Keys of {@link EndProperties}. */
export const END_PROPERTY_KEYS = {
  sessionExpiryIntervalSec: true,
  reasonString: true,
  userProperties: true,
} as const satisfies KnownKeys<EndProperties>;
