/**
 * courier-agent: the device agent of Courier, for programs (the web console, tests, custom
 * drivers). The `courier` command is built on the same exports.
 *
 * @module
 */

export { Agent, type AgentCounts, type AgentOptions, type AgentSnapshot } from './agent/agent.js';
export { type Demo, type DemoOptions, demoConfig, lucidChannels, startDemo } from './agent/demo.js';
export {
  type AgentEvent,
  type AgentEventType,
  EventFanout,
  type EventSource,
  ModuleState,
} from './agent/events.js';
export { type LastSent, shouldSend, type ThresholdOptions } from './agent/threshold.js';
export {
  DEFAULT_PUB_INTERVAL_MS,
  type IntervalScheduler,
  type RowState,
  type TickResult,
  TopicTable,
  type TopicTableOptions,
} from './agent/topic-table.js';
export {
  type ResolvedClientOptions,
  resolveClientOptions,
  serverUrl,
} from './config/client-options.js';
export { ConfigError, type ConfigIssue, formatPath } from './config/errors.js';
export { CONFIG_SCHEMA_ID, configJsonSchema, configJsonSchemaText } from './config/json-schema.js';
export {
  type AgentConfig,
  type AgentConfigInput,
  AgentConfigSchema,
  type ChannelConfig,
  type ConnectionConfig,
  type RedisConfig,
  type TopicRowConfig,
} from './config/schema.js';
export { checkTopicFilter, checkTopicName } from './config/topic.js';
export {
  loadConfig,
  parseConfig,
  parseConfigText,
  resolveChannel,
  validateConfig,
} from './config/validate.js';
export { checkWireString, WIRE_STRING_MAX_BYTES } from './config/wire-string.js';
export {
  AgentError,
  AgentErrorCode,
  type AgentPart,
  ChannelError,
  FormatError,
  RedisMessageError,
  StartError,
} from './errors.js';
export * from './formats/index.js';
export type { MuranoContent } from './sinks/exosense.js';
export type {
  MuranoProvisioning,
  MuranoStatus,
} from './sinks/murano.js';
export {
  MuranoProvisionError,
  type MuranoProvisionReason,
} from './sinks/murano-provision.js';
export {
  CHANNEL_TYPES,
  type ChannelChange,
  type ChannelInfo,
  type ChannelQuality,
  type ChannelType,
  checkWrite,
  GOOD,
  type IoDriver,
  isDigital,
  isOutput,
  QUALITIES,
  type Quality,
  qualityFlag,
} from './sources/channels.js';
export {
  createModbusDriver,
  type ModbusChannel,
  ModbusDriver,
  type ModbusDriverOptions,
  type ModbusPoint,
} from './sources/modbus.js';
export {
  MODBUS_DATA_TYPES,
  MODBUS_FUNCTIONS,
  type ModbusDataType,
  type ModbusFunction,
  WORD_ORDERS,
  type WordOrder,
} from './sources/modbus-codec.js';
export { MODBUS_EXCEPTIONS, ModbusError, type ModbusFailure } from './sources/modbus-errors.js';
export { describeTarget, type ModbusLinkState, type ModbusTarget } from './sources/modbus-link.js';
export type { Publisher, QoS } from './sources/publisher.js';
export {
  RedisBridge,
  type RedisBridgeOptions,
  RedisMapping,
  RedisWriteBack,
  type RedisWriter,
  resolveRoutes,
  type SignalRoute,
  type SignalState,
} from './sources/redis-bridge.js';
export {
  DEFAULT_MAX_MESSAGE_BYTES,
  INVALID_FLAGS,
  parseFlags,
  parseRedisCommand,
  parseRedisMessage,
  parseTagChannel,
  qualityOf,
  type RedisCommand,
  type RedisSample,
  TAG_DIRECTIONS,
  type TagChannel,
  type TagDirection,
  tagChannel,
  toMqttPayload,
  toRedisMessage,
} from './sources/redis-message.js';
export { mulberry32, SimulatedDriver, type SimulatedDriverOptions } from './sources/simulated.js';
