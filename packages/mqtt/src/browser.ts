/**
 * Courier MQTT for the browser: the same client over `ws://` and `wss://` with the platform's
 * own `WebSocket`, and no Node module or polyfill. Import `courier-mqtt/browser` (a bundler
 * that sets the `browser` condition gets it from `courier-mqtt` too), or load the prebuilt
 * ESM bundle `dist/browser/courier-mqtt.js`.
 *
 * ```ts
 * import { connect } from 'courier-mqtt/browser';
 * const client = await connect('wss://broker.example/mqtt', { clientId: 'dashboard-1' });
 * await client.publish('PV/sunshine', 'yes', { qos: 1 });
 * ```
 *
 * What differs from Node: `mqtt://`, `mqtts://`, `tls` and `psk` are refused at option time
 * (the browser has no TCP socket, uses its own TLS and has no TLS-PSK); the session store is
 * the memory store or `indexedDbStore` (there is no file store); SCRAM needs Node's crypto
 * and is not exported.
 *
 * @module
 */
export * from './client/index.js';
export * from './errors.js';
export type {
  Packet,
  ProtocolVersion,
  PublishProperties,
  QoS,
  UserProperties,
} from './packet/types.js';
export { StoreError } from './store/errors.js';
export { indexedDbStore, MAX_INDEXEDDB_NAME_CHARS } from './store/indexeddb.js';
export { memoryStore } from './store/memory.js';
export type {
  OutgoingPhase,
  OutgoingRecord,
  SessionStore,
  StoredSubscription,
  StoreSnapshot,
} from './store/types.js';
export {
  isValidTopicFilter,
  isValidTopicName,
  TopicTrie,
  topicMatches,
  validateTopicFilter,
  validateTopicName,
} from './topic/index.js';
export {
  ConnectTimeoutError,
  NetworkError,
  TlsError,
  WebSocketError,
} from './transport/errors.js';
export type { TransportProtocol } from './transport/types.js';
export { parseServerUrl, redactUrl, type ServerUrl } from './transport/url.js';
