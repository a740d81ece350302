/**
 * The public client API.
 *
 * @module
 */

export {
  Client,
  type ClientState,
  type ConnectionStatus,
  connect,
  createClient,
  type DroppedMessage,
  type EndOptions,
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
export {
  type ClientMetrics,
  MASK,
  type MetricsError,
  type PacketCounts,
  type PacketType,
  redactPacket,
  type StoreMetrics,
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
  type WillOptions,
} from './options.js';
export type { AckableMessage, Granted, Message, Subscription } from './subscription.js';
