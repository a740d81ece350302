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
  type EndOptions,
  type FilterRequest,
  type PublishOptions,
} from './client.js';
export { ConnectionRefusedError } from './errors.js';
export {
  type ClientOptions,
  type FailoverPolicy,
  type OfflineQueueOptions,
  type OfflineQueuePolicy,
  type ReconnectOptions,
  type ResolvedOptions,
  resolveOptions,
  type ServerOptions,
  type WillOptions,
} from './options.js';
export type { Granted, Message, Subscription } from './subscription.js';
