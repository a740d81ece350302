/**
 * MQTT 5.0 enhanced authentication: the {@link Authenticator} hook and the ready
 * SCRAM-SHA-256 authenticator.
 *
 * @module
 */
export type { Authenticator } from './authenticator.js';
export { saslprep } from './saslprep.js';
export {
  SCRAM_MAX_ATTRIBUTE_CHARS,
  SCRAM_MAX_CREDENTIAL_BYTES,
  SCRAM_MAX_MESSAGE_BYTES,
  SCRAM_SHA_256,
  type ScramOptions,
  ScramSha256Authenticator,
} from './scram.js';
