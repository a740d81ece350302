/**
 * The public client API.
 *
 * @module
 */

export { MAX_AUTH_ROUNDS } from './auth-exchange.js';
export {
  Client,
  type ClientState,
  type ConnectionStatus,
  connect,
  createClient,
  type DroppedMessage,
  type EndOptions,
  type EndProperties,
  type FilterRequest,
  type OutgoingPublishProperties,
  type PublishOptions,
  type RequestOptions,
  type Responder,
  type ResponderFailure,
  type RespondOptions,
  type ResponseReply,
  type SubscribeOptions,
} from './client.js';
export type {
  CredentialTimes,
  ExpiringPassword,
  PasswordProvider,
} from './credentials.js';
export type {
  ClientMetrics,
  MetricsError,
  PacketCounts,
  PacketType,
  StoreMetrics,
} from './metrics.js';
export {
  MAX_MQTT_STRING_BYTES,
  validateClientId,
  validateMqttString,
  validatePassword,
  validateUsername,
} from './mqtt-strings.js';
export {
  type ClientOptions,
  type FailoverPolicy,
  type OfflineQueueOptions,
  type OfflineQueuePolicy,
  type PacketTrace,
  type ReconnectOptions,
  type ResolvedOptions,
  resolveOptions,
  type ServerOptions,
  type ServerOrder,
  type WillOptions,
  type WillPropertiesOptions,
} from './options.js';
export {
  AZURE_API_VERSION,
  type PlatformProfile,
  PROFILE_NAMES,
  PROFILES,
  type ProfileName,
} from './profiles.js';
export { MASK, redactPacket } from './redact.js';
export type { AckableMessage, Granted, Message, Subscription } from './subscription.js';
