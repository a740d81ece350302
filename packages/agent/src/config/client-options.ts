/**
 * From the configuration to the options of the MQTT client.
 *
 * Certificate and key files are read here, before anything starts, so that a missing file is
 * a {@link ConfigError} naming the field, not a TLS failure minutes later.
 *
 * @module
 */

import { readFile } from 'node:fs/promises';
import { isIP } from 'node:net';
import { resolve } from 'node:path';
import type { ClientOptions, ServerOptions } from 'courier-mqtt';
import { ConfigError, type ConfigIssue } from './errors.js';
import type { AgentConfig, ConnectionConfig, LoginConfig, SecurityConfig } from './schema.js';

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

async function readPem(
  path: string,
  field: string,
  baseDir: string,
  issues: ConfigIssue[],
): Promise<string | undefined> {
  try {
    return await readFile(resolve(baseDir, path), 'utf8');
  } catch (error) {
    issues.push({
      path: field,
      message: `cannot read ${JSON.stringify(path)}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`,
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
      const ca =
        security.ca === undefined
          ? undefined
          : await readPem(security.ca, `${prefix}.ca`, baseDir, issues);
      const mutual = security.authMode === 'server+client';
      const cert =
        mutual && security.cert !== undefined
          ? await readPem(security.cert, `${prefix}.cert`, baseDir, issues)
          : undefined;
      const key =
        mutual && security.key !== undefined
          ? await readPem(security.key, `${prefix}.key`, baseDir, issues)
          : undefined;
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
  const lwt = config.lwt;
  const options: ClientOptions = {
    // An empty id lets the library generate a recognisable `courier-` id.
    ...(connection.clientId === '' ? {} : { clientId: connection.clientId }),
    clean: connection.cleanSession,
    keepaliveSec: connection.keepaliveSec,
    connectTimeoutMs: Math.round(connection.connectTimeoutSec * 1000),
    family,
    ...loginOptions(config.login),
    ...security,
    ...(lwt.topic === undefined
      ? {}
      : {
          will: {
            topic: lwt.topic,
            payload: lwt.message,
            qos: lwt.qos as 0 | 1 | 2,
            retain: lwt.retain,
          },
        }),
    reconnect: {
      minDelayMs: Math.round(config.reconnect.minDelaySec * 1000),
      maxDelayMs: Math.round(config.reconnect.maxDelaySec * 1000),
    },
    ...(servers === undefined ? {} : { servers }),
  };
  return { url: serverUrl(connection, config.security), options };
}
