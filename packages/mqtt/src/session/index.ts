/**
 * The sans-I/O MQTT session: protocol state machine and reconnect schedule.
 *
 * @module
 */
export {
  type BackoffOptions,
  type FailoverPolicy,
  type NextAttempt,
  ReconnectSchedule,
} from './backoff.js';
export {
  type Credentials,
  type InboundAck,
  type LinkState,
  Session,
  type SessionHost,
  type SessionOptions,
  type Settleable,
} from './session.js';
