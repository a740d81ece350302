/**
 * Courier MQTT: a secure MQTT 5.0, 3.1.1 and 3.1 client for devices and gateways.
 *
 * ```ts
 * import { connect } from 'courier-mqtt';
 * const client = await connect('mqtt://broker:1883', { clientId: 'pv-plant-1', clean: false });
 * await client.publish('PV/sunshine', 'yes', { qos: 1, retain: true });
 * const sub = await client.subscribe('myhome/+/+/temperature', { qos: 1 });
 * for await (const msg of sub) console.log(msg.topic, new TextDecoder().decode(msg.payload));
 * ```
 *
 * @module
 */
export * from './auth/index.js';
// Node only (HMAC from node:crypto): not in the browser entry.
export {
  type AzureIotHubConnection,
  type AzureIotHubOptions,
  type AzureSasOptions,
  azureIotHub,
  azureIotHubSas,
} from './client/azure-iot-hub.js';
export * from './client/index.js';
export {
  AbortedError,
  AuthenticationError,
  ClientClosedError,
  ConnectionLostError,
  ConnectionRefusedError,
  InvalidOptionError,
  InvalidTopicError,
  KeepaliveTimeoutError,
  MalformedPacketError,
  MessageDroppedError,
  MessageExpiredError,
  MqttError,
  MqttErrorCode,
  type MqttErrorOptions,
  PacketTooLargeError,
  PoisonMessageError,
  ProfileViolationError,
  ProtocolError,
  PublishRejectedError,
  QosDowngradedError,
  QueueFullError,
  type RefusalDetails,
  RequestTimeoutError,
  ServerDisconnectError,
  type ServerFeature,
  UnsubscribeRejectedError,
  UnsupportedByServerError,
} from './errors.js';
export type {
  Packet,
  ProtocolVersion,
  PublishProperties,
  QoS,
  UserProperties,
} from './packet/types.js';
export * from './store/index.js';
export {
  isValidTopicFilter,
  isValidTopicName,
  matchingFilter,
  parseSharedFilter,
  type SharedFilter,
  TopicTrie,
  topicMatches,
  validateTopicFilter,
  validateTopicName,
} from './topic/index.js';
export * from './transport/index.js';
