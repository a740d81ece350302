/**
 * Transports: byte streams to a server over TCP, TLS, TLS-PSK and WebSocket. Knows nothing of
 * MQTT.
 *
 * @module
 */
export {
  ConnectTimeoutError,
  NetworkError,
  TlsError,
  tlsError,
  WebSocketError,
} from './errors.js';
export { openTransport } from './open.js';
export {
  checkPskOptions,
  MAX_PSK_IDENTITY_BYTES,
  MAX_PSK_KEY_BYTES,
  pskKeyBytes,
  validatePskIdentity,
  validatePskKey,
} from './psk-options.js';
export { checkTlsOptions, MAX_TLS_MATERIAL_BYTES } from './tls-options.js';
export type {
  PskOptions,
  TlsOptions,
  TransportConnection,
  TransportOptions,
  TransportProtocol,
} from './types.js';
export { parseServerUrl, redactUrl, type ServerUrl } from './url.js';
export { WebSocketFrameError } from './ws-frame-reader.js';
