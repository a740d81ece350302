/**
 * From the configuration to the options of the MQTT client.
 *
 * Certificate and key files are read here, bounded and parsed, before anything starts; the
 * options are then passed through the library's own `resolveOptions` and URL parser. So a
 * missing file, a CA that is no certificate or an option the library would refuse is a
 * {@link ConfigError} naming the field, not a connection that fails and retries for ever.
 *
 * @module
 */

import { isIP } from 'node:net';
import { createSecureContext } from 'node:tls';
import {
  azureIotHub,
  type ClientOptions,
  InvalidOptionError,
  ProfileViolationError,
  parseServerUrl,
  resolveOptions,
  type ServerOptions,
  type WillPropertiesOptions,
} from 'courier-mqtt';
import { ConfigError, type ConfigIssue } from './errors.js';
import { availabilityOf } from './home-assistant.js';
import { FileReadError } from './read-file.js';
import type { AgentConfig, ConnectionConfig, LoginConfig, SecurityConfig } from './schema.js';
import { readTlsFile, type TlsFileKind } from './tls-file.js';

/** The URL and options to give `createClient`. */
export interface ResolvedClientOptions {
  readonly url: string;
  readonly options: ClientOptions;
}

/** `mqtt://host:port` or `mqtts://host:port`, with IPv6 literals in brackets. */
export function serverUrl(
  connection: Pick<ConnectionConfig, 'server' | 'port'>,
  security: Pick<SecurityConfig, 'authMode'>,
): string {
  const tls = security.authMode !== 'none';
  const port = connection.port ?? (tls ? 8883 : 1883);
  const host = isIP(connection.server) === 6 ? `[${connection.server}]` : connection.server;
  return `${tls ? 'mqtts' : 'mqtt'}://${host}:${port}`;
}

/** Reads and checks one file; an issue naming `field` when it cannot be used. */
async function readPem(
  kind: TlsFileKind,
  path: string,
  field: string,
  baseDir: string,
  issues: ConfigIssue[],
): Promise<string | undefined> {
  try {
    return (await readTlsFile(kind, path, baseDir)).text;
  } catch (error) {
    const verb = error instanceof FileReadError ? 'cannot read' : 'cannot use';
    issues.push({
      path: field,
      message: `${verb} ${JSON.stringify(path)}: ${(error as Error).message}`,
    });
    return undefined;
  }
}

/** The TLS / PSK part of a server's options. */
async function securityOptions(
  security: SecurityConfig,
  endpointName: string | undefined,
  prefix: string,
  baseDir: string,
  issues: ConfigIssue[],
): Promise<Pick<ServerOptions, 'tls' | 'psk'>> {
  switch (security.authMode) {
    case 'none':
      return {};
    case 'psk':
      return security.psk === undefined
        ? {}
        : { psk: { identity: security.psk.identity, key: security.psk.key } };
    case 'server':
    case 'server+client': {
      const before = issues.length;
      const ca =
        security.ca === undefined
          ? undefined
          : await readPem('ca', security.ca, `${prefix}.ca`, baseDir, issues);
      const mutual = security.authMode === 'server+client';
      const cert =
        mutual && security.cert !== undefined
          ? await readPem('cert', security.cert, `${prefix}.cert`, baseDir, issues)
          : undefined;
      const key =
        mutual && security.key !== undefined
          ? await readPem('key', security.key, `${prefix}.key`, baseDir, issues)
          : undefined;
      if (issues.length === before) {
        // Each file parses alone; the TLS context the client will build takes them together
        // (a key that does not belong to the certificate is refused here, not at connect).
        try {
          createSecureContext({
            ...(ca === undefined ? {} : { ca }),
            ...(cert === undefined ? {} : { cert }),
            ...(key === undefined ? {} : { key }),
          });
        } catch (error) {
          issues.push({
            path: key === undefined ? `${prefix}.ca` : `${prefix}.key`,
            message: `the TLS files cannot be used together: ${(error as Error).message}`,
          });
        }
      }
      return {
        tls: {
          ...(ca === undefined ? {} : { ca }),
          ...(cert === undefined ? {} : { cert }),
          ...(key === undefined ? {} : { key }),
          // LucidIoT's "Endpoint name": sent as SNI and checked against the certificate.
          ...(endpointName === undefined || endpointName === ''
            ? {}
            : { servername: endpointName }),
        },
      };
    }
  }
}

function loginOptions(login: LoginConfig): Pick<ServerOptions, 'username' | 'password'> {
  return {
    ...(login.username === undefined ? {} : { username: login.username }),
    ...(login.password === undefined ? {} : { password: login.password }),
  };
}

/**
 * The Will's MQTT 5.0 properties, none when the configuration sets none (the configuration
 * check refuses them at 3.1.1). A delay of 0 is the wire's default and is left out.
 */
function willProperties(lwt: AgentConfig['lwt']): { properties?: WillPropertiesOptions } {
  const { delaySec, messageExpirySec, contentType, userProperties } = lwt;
  const properties: WillPropertiesOptions = {
    ...(delaySec === undefined || delaySec === 0 ? {} : { willDelayIntervalSec: delaySec }),
    ...(messageExpirySec === undefined ? {} : { messageExpiryIntervalSec: messageExpirySec }),
    ...(contentType === undefined ? {} : { contentType }),
    ...(userProperties === undefined || userProperties.length === 0
      ? {}
      : { userProperties: userProperties.map((p) => [p.name, p.value] as const) }),
  };
  return Object.keys(properties).length === 0 ? {} : { properties };
}

/**
 * The Will: the configured one (`lwt`), or, when Home Assistant discovery is on and no Will is
 * configured, the availability topic's "offline", retained, so that Home Assistant shows the
 * device unavailable when the agent disappears.
 */
function willOf(config: AgentConfig): Pick<ClientOptions, 'will'> {
  const lwt = config.lwt;
  if (lwt.topic !== undefined) {
    return {
      will: {
        topic: lwt.topic,
        payload: lwt.message,
        qos: lwt.qos as 0 | 1 | 2,
        retain: lwt.retain,
        ...willProperties(lwt),
      },
    };
  }
  if (!config.homeassistant.discovery) return {};
  const availability = availabilityOf(config);
  return {
    will: {
      topic: availability.topic,
      payload: availability.offline,
      qos: availability.qos,
      retain: availability.retain,
    },
  };
}

/** The protocol level of each MQTT version a configuration may name. */
const PROTOCOL_LEVEL = { '3.1': 3, '3.1.1': 4, '5': 5 } as const;

/**
 * MQTT 5's Session Expiry Interval: as configured; without it, a persistent session
 * (`cleanSession: false`) never expires, as in 3.1.1, and a clean one ends with the connection.
 * Nothing for 3.1.1 and 3.1, which have no such property.
 */
function sessionExpiryOf(connection: ConnectionConfig): Pick<ClientOptions, 'sessionExpirySec'> {
  if (connection.protocolVersion !== '5') return {};
  const sec = connection.sessionExpirySec ?? (connection.cleanSession ? 0 : 0xffff_ffff);
  return sec === 0 ? {} : { sessionExpirySec: sec };
}

/**
 * Builds the client's URL and options, reading certificate files relative to `baseDir`.
 * @throws {ConfigError} when a certificate or key file cannot be read
 */
export async function resolveClientOptions(
  config: AgentConfig,
  baseDir = process.cwd(),
): Promise<ResolvedClientOptions> {
  const issues: ConfigIssue[] = [];
  const { connection } = config;
  const family: 0 | 4 | 6 = connection.ipv4 && connection.ipv6 ? 0 : connection.ipv4 ? 4 : 6;
  const security = await securityOptions(
    config.security,
    connection.endpointName,
    'security',
    baseDir,
    issues,
  );
  let servers: ServerOptions[] | undefined;
  const backup = config.backup;
  if (backup?.enabled === true) {
    const backupSecurity = await securityOptions(
      backup.security,
      backup.connection.endpointName,
      'backup.security',
      baseDir,
      issues,
    );
    servers = [
      {
        url: serverUrl(backup.connection, backup.security),
        ...loginOptions(backup.login),
        ...backupSecurity,
        family,
      },
    ];
  }
  if (issues.length > 0) throw new ConfigError(issues);
  const options: ClientOptions = {
    // An empty id lets the library generate a recognisable `courier-` id.
    ...(connection.clientId === '' ? {} : { clientId: connection.clientId }),
    clean: connection.cleanSession,
    protocolVersion: PROTOCOL_LEVEL[connection.protocolVersion],
    ...sessionExpiryOf(connection),
    keepaliveSec: connection.keepaliveSec,
    connectTimeoutMs: Math.round(connection.connectTimeoutSec * 1000),
    family,
    ...loginOptions(config.login),
    ...security,
    ...willOf(config),
    reconnect: {
      minDelayMs: Math.round(config.reconnect.minDelaySec * 1000),
      maxDelayMs: Math.round(config.reconnect.maxDelaySec * 1000),
    },
    ...(servers === undefined ? {} : { servers }),
    maxPacketSize: connection.maxPacketSize,
    profile: connection.profile,
    ...azureOptions(config, security.tls),
  };
  const url = serverUrl(connection, config.security);
  const refused = libraryIssue(url, options);
  if (refused !== undefined) throw new ConfigError([refused]);
  return { url, options };
}

/**
 * Azure IoT Hub: client id, user name and a SAS token provider from the azure section; the
 * library signs a fresh token at each connection attempt and reconnects with a new one a
 * fifth of its lifetime before it expires.
 */
function azureOptions(
  config: AgentConfig,
  tls: ServerOptions['tls'],
): Pick<ClientOptions, 'clientId' | 'username' | 'password' | 'tls'> {
  const azure = config.azure;
  if (config.connection.profile !== 'azure-iot-hub' || azure === undefined) return {};
  const { options } = azureIotHub({
    hub: azure.hub,
    deviceId: azure.deviceId,
    key: azure.deviceKey,
    ttlSec: azure.sasTtlSec,
    ...(tls === undefined ? {} : { tls }),
  });
  return {
    clientId: azure.deviceId,
    ...(options.username === undefined ? {} : { username: options.username }),
    ...(options.password === undefined ? {} : { password: options.password }),
    ...(options.tls === undefined ? {} : { tls: options.tls }),
  };
}

/** Where a library option comes from in the configuration (seconds became milliseconds). */
const FIELD_OF: Readonly<Record<string, string>> = {
  url: 'connection.server',
  clientId: 'connection.clientId',
  clean: 'connection.cleanSession',
  protocolVersion: 'connection.protocolVersion',
  sessionExpirySec: 'connection.sessionExpirySec',
  keepaliveSec: 'connection.keepaliveSec',
  pingTimeoutMs: 'connection.keepaliveSec',
  connectTimeoutMs: 'connection.connectTimeoutSec',
  maxPacketSize: 'connection.maxPacketSize',
  profile: 'connection.profile',
  maxInflight: 'connection.profile',
  family: 'connection.ipv6',
  username: 'login.username',
  password: 'login.password',
  will: 'lwt',
  'will.topic': 'lwt.topic',
  'will.payload': 'lwt.message',
  'will.qos': 'lwt.qos',
  'will.retain': 'lwt.retain',
  'will.properties': 'lwt',
  'will.properties.willDelayIntervalSec': 'lwt.delaySec',
  'will.properties.messageExpiryIntervalSec': 'lwt.messageExpirySec',
  'will.properties.contentType': 'lwt.contentType',
  'will.properties.userProperties': 'lwt.userProperties',
  reconnect: 'reconnect',
  'reconnect.minDelayMs': 'reconnect.minDelaySec',
  'reconnect.maxDelayMs': 'reconnect.maxDelaySec',
  tls: 'security',
  'tls.ca': 'security.ca',
  'tls.cert': 'security.cert',
  'tls.key': 'security.key',
  'tls.servername': 'connection.endpointName',
  psk: 'security.psk',
  'psk.identity': 'security.psk.identity',
  'psk.key': 'security.psk.key',
};

/** The configuration path of a library option path; `servers[i].x` is the backup's `x`. */
function configPath(field: string): string {
  const backup = /^servers\[\d+\]\.?(.*)$/.exec(field);
  if (backup !== null) {
    const inner = FIELD_OF[backup[1] || 'url'];
    return inner === undefined ? 'backup' : `backup.${inner}`;
  }
  return FIELD_OF[field] ?? '(root)';
}

/**
 * What the library would refuse when the client is created or connects: its option checks
 * (`resolveOptions`) and its URL parser, on exactly what the agent will hand it.
 */
function libraryIssue(url: string, options: ClientOptions): ConfigIssue | undefined {
  const servers = [url, ...(options.servers ?? [])];
  try {
    resolveOptions(url, options);
  } catch (error) {
    return issueOf(error, (field) => field);
  }
  for (const [i, server] of servers.entries()) {
    try {
      parseServerUrl(typeof server === 'string' ? server : server.url);
    } catch (error) {
      // The URL parser names `url` whichever server it was given.
      return issueOf(error, () => (i === 0 ? 'url' : `servers[${i - 1}].url`));
    }
  }
  return undefined;
}

/** A library {@link InvalidOptionError} as an issue at the configuration's path. */
function issueOf(error: unknown, fieldOf: (field: string) => string): ConfigIssue {
  if (error instanceof ProfileViolationError) {
    const field = fieldOf(error.field ?? 'profile');
    const reason = error.message.startsWith(`${error.field}: `)
      ? error.message.slice(`${error.field}: `.length)
      : error.message;
    return { path: configPath(field), message: `${reason} (client option ${field})` };
  }
  if (!(error instanceof InvalidOptionError)) throw error;
  const field = fieldOf(error.field);
  const prefix = `${error.field}: `;
  const reason = error.message.startsWith(prefix)
    ? error.message.slice(prefix.length)
    : error.message;
  return { path: configPath(field), message: `${reason} (client option ${field})` };
}
