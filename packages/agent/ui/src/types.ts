/**
 * The shapes the console's JSON API sends and receives (docs/console.md). Written by hand so
 * that the page does not depend on the agent's sources.
 */

export type ModuleState = 'IDLE' | 'CONNECT_PND' | 'CONNECTED' | 'DISCONNECTING' | 'DISCONNECTED';

export type ChannelValue = number | boolean;

export type ChannelType =
  | 'digital-input'
  | 'digital-output'
  | 'analog-input'
  | 'analog-output'
  | 'rtd-input'
  | 'counter';

export interface ChannelState {
  id: number;
  name: string;
  type: ChannelType;
  unit: string;
  range: { min: number; max: number };
  value: ChannelValue | undefined | null;
  /** good, stale (the last reading failed; the value is the last good one) or bad. */
  quality?: 'good' | 'stale' | 'bad';
  /** Why the value is stale or bad. */
  reason?: string;
}

export interface RowState {
  index: number;
  topic: string;
  direction: 'publish' | 'subscribe';
  channel: number;
  enabled: boolean;
  lastValue?: ChannelValue | null;
  lastPayload?: string | null;
  lastAt?: number | null;
  published: number;
  suppressed: number;
  received: number;
  rejected: number;
  lastError?: string | null;
}

export interface Counts {
  published: number;
  received: number;
  rejected: number;
  suppressed: number;
  publishFailed: number;
}

export interface Snapshot {
  device: string;
  moduleState: ModuleState;
  server: string;
  since: number;
  lastError?: { message: string; code?: string; at: number } | null;
  counts: Counts;
  channels: ChannelState[];
  rows: RowState[];
  redis?: {
    url: string;
    connected: boolean;
    lastError?: string | null;
    signals?: unknown[];
  } | null;
  /** The cloud platform card (the server's `PlatformState`); absent for the generic profile. */
  platform?: {
    profile: 'exosite' | 'aws-iot' | 'azure-iot-hub';
    endpoint: string;
    endpointName?: string | null;
    certificates: { ca: boolean; cert: boolean; key: boolean };
    azure?: {
      hub: string;
      deviceId: string;
      deviceKeySet: boolean;
      sasTtlSec: number;
      sasExpiresAt?: number | null;
      sasRenewAt?: number | null;
    } | null;
  } | null;
  murano?: MuranoState | null;
}

/** The Exosite Murano connector's card (the server's `MuranoStatus`). */
export interface MuranoState {
  connectorId: string;
  deviceId: string;
  auth: 'token' | 'password' | 'certificate';
  endpoint: string;
  provisioning: 'unprovisioned' | 'provisioning' | 'provisioned' | 'failed';
  tokenPresent: boolean;
  connected: boolean;
  lastError?: string | null;
  history: { pending: number; dropped: number };
  content?: { name: string; length: number; mime: string; url: string }[] | null;
}

export interface Message {
  dir: 'in' | 'out';
  topic: string;
  payload: string;
  at: number;
  row?: number;
  source?: 'mqtt' | 'redis';
  status: 'ok' | 'rejected' | 'failed';
  reason?: string;
}

export type AgentEvent =
  | { type: 'state'; state: ModuleState; server: string; error?: string; at: number }
  | {
      type: 'published';
      source: 'mqtt' | 'redis';
      row?: number;
      signal?: string;
      topic: string;
      payload: string;
      at: number;
    }
  | {
      type: 'suppressed';
      source: 'mqtt' | 'redis';
      row?: number;
      signal?: string;
      topic: string;
      at: number;
    }
  | {
      type: 'received';
      row?: number;
      topic: string;
      payload: string;
      value: ChannelValue;
      at: number;
    }
  | {
      type: 'rejected';
      source: 'mqtt' | 'redis';
      row?: number;
      topic: string;
      payload: string;
      reason: string;
      at: number;
    }
  | { type: 'publish-failed'; source: 'mqtt' | 'redis'; topic: string; reason: string; at: number }
  | {
      type: 'channel';
      id: number;
      value: ChannelValue;
      at: number;
      quality?: 'stale' | 'bad';
      reason?: string;
    }
  | { type: 'redis-message'; channel: string; message: string; at: number }
  | { type: 'config-applied'; at: number }
  | { type: 'error'; message: string; code?: string; at: number };

export const FORMAT_TYPES = ['number', 'boolean', 'wcc', 'json', 'template'] as const;
export type FormatType = (typeof FORMAT_TYPES)[number];

export interface FormatSpec {
  type: FormatType | string;
  precision?: number | string;
  withUnit?: boolean;
  unit?: string;
  on?: string;
  off?: string;
  caseSensitive?: boolean;
  template?: string;
}

export interface TopicRow {
  topic: string;
  direction: 'publish' | 'subscribe' | string;
  channel: number | string;
  format: FormatSpec;
  qos?: number | string;
  retain?: boolean;
  pubIntervalMs?: number | string;
  threshold?: boolean;
  deadband?: number | string;
  /** MQTT 5 message properties of publish rows. */
  messageExpirySec?: number | string;
  contentType?: string;
  userProperties?: { name: string; value: string }[];
  enabled?: boolean;
}

export interface ChannelConfig {
  id: number;
  name: string;
  type: ChannelType;
  signal?: string;
  unit?: string;
  range?: { min: number; max: number };
}

export const AUTH_MODES = ['none', 'server', 'server+client', 'psk'] as const;

/** The configuration as the API sends it (defaults filled in, secrets left out). */
export interface AgentConfig {
  $schema?: string;
  connection: {
    server: string;
    port?: number | string;
    clientId?: string;
    cleanSession?: boolean;
    keepaliveSec?: number | string;
    ipv4?: boolean;
    ipv6?: boolean;
    dns?: boolean;
    endpointName?: string;
    connectTimeoutSec?: number | string;
    protocolVersion?: string;
    sessionExpirySec?: number | string;
  };
  login: { username?: string; password?: string | null };
  security: {
    authMode: string;
    ca?: string;
    cert?: string;
    key?: string;
    psk?: { identity?: string; key?: string | null };
  };
  lwt: { topic?: string; message?: string; qos?: number | string; retain?: boolean };
  reconnect: { minDelaySec?: number | string; maxDelaySec?: number | string };
  backup?: unknown;
  limits?: unknown;
  device: {
    name?: string;
    driver?: string;
    seed?: number;
    stepMs?: number;
    channels: ChannelConfig[];
  };
  topics: TopicRow[];
  redis?: unknown;
  web?: unknown;
  murano?: MuranoConfig;
}

/** The `murano` section as the console edits it (docs/config.md). */
export interface MuranoConfig {
  enabled?: boolean;
  connectorId?: string;
  deviceId?: string;
  auth?: string;
  port?: number | string;
  ca?: string;
  cert?: string;
  key?: string;
  resources?: MuranoResourceConfig[];
  configIo?: boolean;
  historyMax?: number | string;
  batchMaxBytes?: number | string;
  provisionTimeoutSec?: number | string;
  connectTo?: unknown;
}

/** One Murano resource: its alias, direction and ExoSense channel keys → channel ids. */
export interface MuranoResourceConfig {
  alias: string;
  direction?: 'in' | 'out';
  channels: Record<string, number | string>;
}

export interface ConfigIssue {
  path: string;
  message: string;
}

export interface ConfigAnswer {
  config: AgentConfig;
  secrets: Record<string, boolean>;
  file?: string | null;
  previous: boolean;
  applied?: 'reconnected' | 'updated' | 'unchanged';
  restartRequired?: string[];
}

export interface CertInfo {
  path: string;
  subject?: string;
  issuer?: string;
  validFrom?: string;
  validTo?: string;
  fingerprint256?: string;
  type?: string;
}

export interface TlsFiles {
  ca?: CertInfo;
  cert?: CertInfo;
  key?: CertInfo;
}

/** `GET /api/files`: the primary server's files, and the backup server's when there is one. */
export interface FilesAnswer extends TlsFiles {
  backup?: TlsFiles;
}

export interface SessionAnswer {
  authenticated: boolean;
  csrfToken?: string;
  device?: string | { name?: string } | null;
}
