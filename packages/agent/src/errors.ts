/**
 * Errors of the Courier device agent.
 *
 * Every error the agent throws is an {@link AgentError} with a stable {@link AgentErrorCode},
 * so the command line and the web console can react to the kind of failure without parsing
 * messages. Messages are written for the person installing the device.
 *
 * @module
 */

/** Stable machine-readable codes of agent errors. Never renamed once released. */
export const AgentErrorCode = {
  /** The configuration file is unreadable, not JSON/YAML, or breaks the schema. */
  CONFIG: 'AGENT_CONFIG',
  /** A payload does not match the format of its topic row. */
  FORMAT: 'AGENT_FORMAT',
  /** A channel does not exist, or a value cannot be written to it. */
  CHANNEL: 'AGENT_CHANNEL',
  /** A Redis message is not `value,timestamp_ms,flags`. */
  REDIS_MESSAGE: 'AGENT_REDIS_MESSAGE',
  /** The agent was asked to do something its state does not allow (e.g. start twice). */
  STATE: 'AGENT_STATE',
  /** A part the configuration enables (MQTT, Redis, console) could not start. */
  START: 'AGENT_START',
  /** A Modbus request failed: exception, no answer, link down (`ModbusError`). */
  MODBUS: 'AGENT_MODBUS',
} as const;

/** The union of all {@link AgentErrorCode} values. */
export type AgentErrorCode = (typeof AgentErrorCode)[keyof typeof AgentErrorCode];

/** Base class of every agent error. */
export class AgentError extends Error {
  /** Stable code; see {@link AgentErrorCode}. */
  readonly code: AgentErrorCode;

  constructor(code: AgentErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause });
    this.code = code;
  }

  override get name(): string {
    return this.constructor.name;
  }
}

/** A payload was rejected by a format: `reason` says what is wrong with it. */
export class FormatError extends AgentError {
  /** The format that rejected the payload, e.g. `boolean`. */
  readonly format: string;
  /** The offending payload, as text (truncated to 64 characters in the message). */
  readonly payload: string;
  /** What is wrong, in plain words. */
  readonly reason: string;

  constructor(format: string, payload: string, reason: string) {
    const shown = payload.length > 64 ? `${payload.slice(0, 61)}...` : payload;
    super(AgentErrorCode.FORMAT, `${format} format: ${reason} (payload ${JSON.stringify(shown)})`);
    this.format = format;
    this.payload = payload;
    this.reason = reason;
  }
}

/** A channel is unknown, read-only, or a value is out of its range. */
export class ChannelError extends AgentError {
  /** The channel id concerned. */
  readonly channelId: number;

  constructor(channelId: number, message: string) {
    super(AgentErrorCode.CHANNEL, `channel ${channelId}: ${message}`);
    this.channelId = channelId;
  }
}

/** A Redis message is not `value,timestamp_ms,flags`. */
export class RedisMessageError extends AgentError {
  /** The Redis channel the message came from. */
  readonly channel: string;
  /** The raw message. */
  readonly raw: string;

  constructor(channel: string, raw: string, reason: string) {
    super(
      AgentErrorCode.REDIS_MESSAGE,
      `redis ${channel}: ${reason} (message ${JSON.stringify(raw)})`,
    );
    this.channel = channel;
    this.raw = raw;
  }
}

/** The parts of the agent that start: a {@link StartError} names the one that did not. */
export type AgentPart = 'mqtt' | 'redis' | 'web' | 'metrics';

/**
 * A part the configuration enables could not start, so nothing was started (or what was, was
 * stopped again). The message is one line, for the person at the terminal.
 */
export class StartError extends AgentError {
  /** The part that failed. */
  readonly part: AgentPart;

  constructor(part: AgentPart, message: string, options?: { cause?: unknown }) {
    super(AgentErrorCode.START, message, options);
    this.part = part;
  }
}
