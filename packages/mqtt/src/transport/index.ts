/**
 * Transports: byte streams to a server over TCP, TLS, TLS-PSK and WebSocket. Knows nothing of
 * MQTT.
 *
 * @module
 */
export { NetworkError, TlsError, tlsError, WebSocketError } from './errors.js';
export { openTransport } from './open.js';
export {
  checkPskOptions,
  checkTlsOptions,
  MAX_PSK_IDENTITY_BYTES,
  MAX_PSK_KEY_BYTES,
  MAX_TLS_MATERIAL_BYTES,
  pskKeyBytes,
  validatePskIdentity,
  validatePskKey,
} from './tls-options.js';
export type {
  PskOptions,
  TlsOptions,
  TransportConnection,
  TransportOptions,
  TransportProtocol,
} from './types.js';
export { parseServerUrl, redactUrl, type ServerUrl } from './url.js';
