/**
 * The connection flags `mosquitto_pub` and `mosquitto_sub` users know, turned into a URL and
 * client options. Shared by `courier pub`, `courier sub` and `courier bench`.
 *
 * @module
 */

import { readFile } from 'node:fs/promises';
import { isIP } from 'node:net';
import type { ClientOptions, EndOptions } from 'courier-mqtt';
import { AgentError, AgentErrorCode } from '../errors.js';
import {
  type CliProperties,
  type PropertyCommand,
  parseProperties,
  parseSessionExpiry,
  SESSION_NEVER_EXPIRES,
} from './properties.js';

/** The connection flags, as the command line parsed them. */
export interface ConnectFlags {
  /** `-h` @default 'localhost' */
  readonly host?: string | undefined;
  /** `-p` @default 1883, or 8883 with TLS */
  readonly port?: number | undefined;
  /** `-L mqtt(s)://[user[:password]@]host[:port]/topic` */
  readonly url?: string | undefined;
  /** `-i` */
  readonly id?: string | undefined;
  /** `-u` */
  readonly username?: string | undefined;
  /** `-P` */
  readonly password?: string | undefined;
  /** `-k` @default 60 */
  readonly keepalive?: number | undefined;
  /** `-V`: `mqttv5`, `5`, `mqttv311`, `311`, `mqttv31`, `31` (mosquitto_pub's words) @default mqttv311 */
  readonly protocolVersion?: string | undefined;
  /** `-c`: disable clean session */
  readonly persistent?: boolean | undefined;
  readonly cafile?: string | undefined;
  readonly cert?: string | undefined;
  readonly key?: string | undefined;
  /** `--insecure`: do not check the server host name */
  readonly insecure?: boolean | undefined;
  readonly psk?: string | undefined;
  readonly pskIdentity?: string | undefined;
  readonly willTopic?: string | undefined;
  readonly willPayload?: string | undefined;
  readonly willQos?: number | undefined;
  readonly willRetain?: boolean | undefined;
  /** `-D`: the words of every `-D command property value`, in order (see {@link parseProperties}) */
  readonly properties?: readonly string[] | undefined;
  /** `-x`: session expiry interval, seconds, `-1` or `∞` (MQTT 5.0 only) */
  readonly sessionExpiry?: string | undefined;
}

/** A usage error of a command line tool (exit status 1, message printed as is). */
export class UsageError extends AgentError {
  constructor(message: string) {
    super(AgentErrorCode.CONFIG, message);
  }
}

/** The result of {@link resolveConnectFlags}. */
export interface ResolvedConnect {
  readonly url: string;
  readonly options: ClientOptions;
  /** The topic of an `-L` URL, if it has one. */
  readonly urlTopic: string | undefined;
  /** What `-D` asked for (the CONNECT's are already in {@link options}). */
  readonly properties: CliProperties;
}

/**
 * Builds the client's URL and options from the flags.
 * @throws {UsageError} naming the flag that is wrong
 */
export async function resolveConnectFlags(
  flags: ConnectFlags,
  propertyCommands: readonly PropertyCommand[] = ['connect'],
  defaultVersion: 3 | 4 | 5 = 4,
): Promise<ResolvedConnect> {
  const tls = flags.cafile !== undefined || flags.cert !== undefined;
  const psk = flags.psk !== undefined;
  if (psk !== (flags.pskIdentity !== undefined)) {
    throw new UsageError('Error: --psk and --psk-identity must be given together.');
  }
  if (psk && flags.psk !== undefined && !/^[0-9a-fA-F]+$/.test(flags.psk)) {
    throw new UsageError('Error: --psk must be hexadecimal digits.');
  }
  if ((flags.cert === undefined) !== (flags.key === undefined)) {
    throw new UsageError(
      'Error: Both certfile and keyfile must be provided if one of them is set.',
    );
  }
  let host = flags.host ?? 'localhost';
  let port = flags.port;
  let username = flags.username;
  let password = flags.password;
  let urlTopic: string | undefined;
  let scheme = tls || psk ? 'mqtts' : 'mqtt';
  if (flags.url !== undefined) {
    let u: URL;
    try {
      u = new URL(flags.url);
    } catch {
      throw new UsageError(`Error: -L ${JSON.stringify(flags.url)} is not a URL.`);
    }
    if (u.protocol !== 'mqtt:' && u.protocol !== 'mqtts:') {
      throw new UsageError('Error: -L URL must start with mqtt:// or mqtts://.');
    }
    scheme = u.protocol.slice(0, -1);
    host = u.hostname.replace(/^\[(.*)\]$/, '$1');
    if (u.port !== '') port = Number(u.port);
    if (u.username !== '') username = decodeURIComponent(u.username);
    if (u.password !== '') password = decodeURIComponent(u.password);
    const topic = decodeURIComponent(u.pathname.replace(/^\//, ''));
    if (topic !== '') urlTopic = topic;
  }
  if (port !== undefined && (!Number.isInteger(port) || port < 1 || port > 65535)) {
    throw new UsageError('Error: Invalid port given.');
  }
  if (password !== undefined && username === undefined) {
    throw new UsageError('Error: -P needs -u (MQTT 3.1.1 sends no password without a user name).');
  }
  const keepalive = flags.keepalive ?? 60;
  if (!Number.isInteger(keepalive) || keepalive < 0 || keepalive > 65535) {
    throw new UsageError(
      'Error: Invalid keepalive given, it must be between 5 and 65535 inclusive.',
    );
  }
  let protocolVersion: 3 | 4 | 5 = defaultVersion;
  const v = flags.protocolVersion;
  if (v === 'mqttv31' || v === '31') protocolVersion = 3;
  else if (v === 'mqttv311' || v === '311') protocolVersion = 4;
  else if (v === 'mqttv5' || v === '5') protocolVersion = 5;
  else if (v !== undefined) {
    throw new UsageError(
      `Error: Invalid protocol version argument given (${v}); courier speaks 5, 311 and 31 (mqttv5, mqttv311, mqttv31).`,
    );
  }
  const properties = parseProperties(flags.properties ?? [], propertyCommands);
  let sessionExpirySec =
    flags.sessionExpiry === undefined ? undefined : parseSessionExpiry(flags.sessionExpiry);
  if (protocolVersion !== 5 && (properties.any || sessionExpirySec !== undefined)) {
    // mosquitto_pub ignores them on 3.1.1; a property asked for and not sent is a silent loss.
    throw new UsageError(
      `Error: ${properties.any ? '-D' : '-x'} sets MQTT 5.0 properties: use -V 5 (or mqttv5).`,
    );
  }
  const connect = properties.connect;
  if (sessionExpirySec !== undefined && connect.sessionExpirySec !== undefined) {
    throw new UsageError('Error: give the session expiry interval with -x or with -D, not both.');
  }
  sessionExpirySec ??= connect.sessionExpirySec;
  // mosquitto_pub: with -c and no -x, an MQTT 5.0 session never expires (-1); without -c, 0.
  if (protocolVersion === 5 && flags.persistent === true) {
    sessionExpirySec ??= SESSION_NEVER_EXPIRES;
  }
  if (flags.persistent === true && (flags.id === undefined || flags.id === '')) {
    throw new UsageError('Error: You must provide a client id if you are using the -c option.');
  }
  const read = async (file: string, flag: string): Promise<string> => {
    try {
      return await readFile(file, 'utf8');
    } catch (error) {
      throw new UsageError(
        `Error: cannot read ${flag} ${file}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`,
      );
    }
  };
  const hostInUrl = isIP(host) === 6 ? `[${host}]` : host;
  const options: ClientOptions = {
    ...(flags.id === undefined ? {} : { clientId: flags.id }),
    clean: flags.persistent !== true,
    keepaliveSec: keepalive,
    protocolVersion,
    ...(username === undefined ? {} : { username }),
    ...(password === undefined ? {} : { password }),
    reconnect: false,
    ...(sessionExpirySec === undefined || sessionExpirySec === 0 ? {} : { sessionExpirySec }),
    ...(connect.receiveMaximum === undefined ? {} : { receiveMaximum: connect.receiveMaximum }),
    ...(connect.maxPacketSize === undefined ? {} : { maxPacketSize: connect.maxPacketSize }),
    ...(connect.topicAliasMaximum === undefined
      ? {}
      : { topicAliasMaximum: connect.topicAliasMaximum }),
    ...(connect.requestResponseInformation === true ? { requestResponseInformation: true } : {}),
    ...(connect.userProperties === undefined ? {} : { userProperties: connect.userProperties }),
    ...(flags.willTopic === undefined
      ? {}
      : {
          will: {
            topic: flags.willTopic,
            payload: flags.willPayload ?? '',
            qos: (flags.willQos ?? 0) as 0 | 1 | 2,
            retain: flags.willRetain === true,
            ...(Object.keys(properties.will).length === 0 ? {} : { properties: properties.will }),
          },
        }),
    ...(scheme === 'mqtts' && !psk
      ? {
          tls: {
            ...(flags.cafile === undefined ? {} : { ca: await read(flags.cafile, '--cafile') }),
            ...(flags.cert === undefined ? {} : { cert: await read(flags.cert, '--cert') }),
            ...(flags.key === undefined ? {} : { key: await read(flags.key, '--key') }),
            ...(flags.insecure === true ? { rejectUnauthorized: false } : {}),
          },
        }
      : {}),
    ...(psk && flags.psk !== undefined && flags.pskIdentity !== undefined
      ? { psk: { identity: flags.pskIdentity, key: flags.psk } }
      : {}),
  };
  if (
    flags.willTopic === undefined &&
    (flags.willPayload !== undefined || flags.willQos !== undefined || flags.willRetain === true)
  ) {
    throw new UsageError('Error: Will payload, QoS or retain given without --will-topic.');
  }
  const disconnectExpiry = properties.disconnect.sessionExpiryIntervalSec;
  if (disconnectExpiry !== undefined && disconnectExpiry > 0 && (sessionExpirySec ?? 0) === 0) {
    // The broker would close on it as a protocol error [MQTT-3.14.2-2]: say so before connecting.
    throw new UsageError(
      'Error: -D disconnect session-expiry-interval above 0 needs a session expiry interval in the CONNECT (-x or -D connect session-expiry-interval) [MQTT-3.14.2-2].',
    );
  }
  if (flags.willTopic === undefined && Object.keys(properties.will).length > 0) {
    // mosquitto_pub drops them silently; without a Will they would go nowhere.
    throw new UsageError('Error: Will properties (-D will ...) given without --will-topic.');
  }
  const defaultPort = scheme === 'mqtts' ? 8883 : 1883;
  return {
    url: `${scheme}://${hostInUrl}:${port ?? defaultPort}`,
    options,
    urlTopic,
    properties,
  };
}

/** The `end()` options that send what `-D disconnect ...` asked for (none when nothing). */
export function endOptionsOf(properties: CliProperties): Pick<EndOptions, 'properties'> {
  const d = properties.disconnect;
  return Object.keys(d).length === 0 ? {} : { properties: d };
}
