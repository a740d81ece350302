/**
 * Platform profiles: the limits a cloud platform documents for its MQTT endpoint, kept as
 * data and applied by the client before anything reaches the wire. A cloud that meets a
 * packet it does not support usually just closes the connection (AWS IoT on a QoS 2
 * PUBLISH, Murano on a PUBREC, IoT Hub on a QoS 2 PUBLISH), which a device would otherwise
 * see as a flaky network; with a profile the same mistake is a {@link ProfileViolationError}
 * naming the platform and the rule, at option time or when the operation is called.
 *
 * Sources (see docs/platforms.md for the table):
 * - Exosite Murano, "Device MQTT API" (Messaging Limitations).
 * - AWS IoT Core, "AWS IoT Core endpoints and quotas" (message broker limits) and
 *   "Device communication protocols" (port 443 needs ALPN `x-amzn-mqtt-ca`, SNI).
 * - Azure IoT Hub, "Communicate with an IoT hub using the MQTT protocol".
 *
 * @module
 */

import { ProfileViolationError } from '../errors.js';
import type { QoS, Will } from '../packet/types.js';
import { parseServerUrl } from '../transport/url.js';
import type { ProfileName, ServerOptions } from './option-types.js';

export { PROFILE_NAMES, type ProfileName } from './option-types.js';

/** What a platform documents about its MQTT endpoint. `undefined` means no limit. */
export interface PlatformProfile {
  readonly name: ProfileName;
  /** The platform as people call it, used in error messages. */
  readonly platform: string;
  /** Where the limits come from. */
  readonly sources: readonly string[];
  /** Every server must be `mqtts://` (or `wss://` where the platform serves WebSocket). */
  readonly tlsRequired: boolean;
  /** TLS Server Name Indication must be sent: the host is a name, or `tls.servername` is set. */
  readonly sniRequired: boolean;
  /** WebSocket (`wss://`) is an endpoint of the platform. */
  readonly webSocket: boolean;
  /** Highest QoS of a device-to-cloud PUBLISH. */
  readonly maxPublishQos: QoS;
  /** Highest QoS a SUBSCRIBE may request. */
  readonly maxSubscribeQos: QoS;
  /** A PUBLISH may carry RETAIN. */
  readonly retain: boolean;
  /** Highest Will QoS. */
  readonly maxWillQos: QoS;
  /** The Will may be retained. */
  readonly willRetain: boolean;
  /** Largest payload of a PUBLISH, in bytes. */
  readonly maxPayloadBytes: number | undefined;
  /**
   * The payload limit applies only to topics matching this (Murano's limit is per resource
   * value: one `$resource/<alias>`); undefined: to every topic.
   */
  readonly payloadLimitTopic: RegExp | undefined;
  /** Most topic filters in one SUBSCRIBE; larger subscribes are split. */
  readonly maxFiltersPerSubscribe: number | undefined;
  /** Keep-alive range in seconds. */
  readonly keepaliveSec: { readonly min: number; readonly max: number } | undefined;
  /** Longest client identifier, in UTF-8 bytes. */
  readonly maxClientIdBytes: number | undefined;
  /** Most unacknowledged outgoing publishes. */
  readonly maxInflight: number | undefined;
  /** ALPN protocol name required on port 443 (set automatically when not given). */
  readonly alpnOn443: string | undefined;
  /**
   * The Azure IoT Hub identity rules: client id = device id, user name
   * `{host}/{deviceId}/?api-version=...`, and topics under `devices/{deviceId}/`.
   */
  readonly deviceTopics: boolean;
}

const MURANO =
  'https://docs.exosite.io/connectivity/mqtt/ (Device MQTT API, Messaging Limitations)';
const AWS_QUOTAS =
  'https://docs.aws.amazon.com/general/latest/gr/iot-core.html#message-broker-limits';
const AWS_PROTOCOLS = 'https://docs.aws.amazon.com/iot/latest/developerguide/protocols.html';
const AWS_MQTT = 'https://docs.aws.amazon.com/iot/latest/developerguide/mqtt.html';
const AZURE_MQTT = 'https://learn.microsoft.com/azure/iot/iot-mqtt-connect-to-iot-hub';

/** Every profile, by name. */
export const PROFILES: Readonly<Record<ProfileName, PlatformProfile>> = {
  generic: {
    name: 'generic',
    platform: 'MQTT',
    sources: [],
    tlsRequired: false,
    sniRequired: false,
    webSocket: true,
    maxPublishQos: 2,
    maxSubscribeQos: 2,
    retain: true,
    maxWillQos: 2,
    willRetain: true,
    maxPayloadBytes: undefined,
    payloadLimitTopic: undefined,
    maxFiltersPerSubscribe: undefined,
    keepaliveSec: undefined,
    maxClientIdBytes: undefined,
    maxInflight: undefined,
    alpnOn443: undefined,
    deviceTopics: false,
  },
  exosite: {
    name: 'exosite',
    platform: 'Exosite Murano',
    sources: [MURANO],
    // "secured by TLS ... on port 8883 or on port 443"; the Device Encryption Requirements
    // ask for SNI.
    tlsRequired: true,
    sniRequired: true,
    webSocket: false,
    // "If the device sets it to QoS-2, Murano will act as if QoS-0 was specified": a silent
    // downgrade, so a QoS 2 publish is refused here instead.
    maxPublishQos: 1,
    // Murano grants QoS 0 to every subscription; QoS 2 would need PUBREC, which it answers
    // by disconnecting ("PUBREC, PUBREL and PUBCOMP ... will disconnect the device").
    maxSubscribeQos: 1,
    // "PUBLISH message Retain flag: Ignored, acting as if set to 0."
    retain: false,
    // "Only QoS-0 is supported [for the Will] ... The Will Retain flag will be ignored."
    maxWillQos: 0,
    willRetain: false,
    // "each individual resource size MUST respect the maximum size of 1048576 bytes"
    maxPayloadBytes: 1_048_576,
    payloadLimitTopic: /^\$resource\/[^/]+$/,
    maxFiltersPerSubscribe: undefined,
    keepaliveSec: undefined,
    maxClientIdBytes: undefined,
    maxInflight: undefined,
    alpnOn443: undefined,
    deviceTopics: false,
  },
  'aws-iot': {
    name: 'aws-iot',
    platform: 'AWS IoT Core',
    sources: [AWS_QUOTAS, AWS_PROTOCOLS, AWS_MQTT],
    // MQTT with X.509 client certificates on 8883, or 443 with ALPN; SigV4 over WebSocket.
    tlsRequired: true,
    sniRequired: true,
    webSocket: true,
    // "AWS IoT doesn't support ... QoS 2"; a QoS 2 PUBLISH closes the connection.
    maxPublishQos: 1,
    maxSubscribeQos: 1,
    retain: true,
    maxWillQos: 1,
    willRetain: true,
    // "The payload for every publish request can be no larger than 128 KB."
    maxPayloadBytes: 128 * 1024,
    payloadLimitTopic: undefined,
    // "A single SUBSCRIBE request has a limit of 8 subscriptions."
    maxFiltersPerSubscribe: 8,
    // Connection inactivity (keep-alive interval): 30 to 1200 seconds.
    keepaliveSec: { min: 30, max: 1200 },
    // "Client ID size: 128 bytes of UTF-8 encoded characters."
    maxClientIdBytes: 128,
    // "Maximum inbound unacknowledged messages: 100 in-flight unacknowledged messages."
    maxInflight: 100,
    alpnOn443: 'x-amzn-mqtt-ca',
    deviceTopics: false,
  },
  'azure-iot-hub': {
    name: 'azure-iot-hub',
    platform: 'Azure IoT Hub',
    sources: [AZURE_MQTT],
    // "All device communication with IoT Hub must be secured using TLS" (8883, or WebSocket
    // on 443).
    tlsRequired: true,
    sniRequired: false,
    webSocket: true,
    // "IoT Hub doesn't support QoS 2 messages. If a device app publishes a message with QoS
    // 2, IoT Hub closes the network connection."
    maxPublishQos: 1,
    maxSubscribeQos: 1,
    // IoT Hub keeps no retained messages (it only copies the flag into a property).
    retain: false,
    maxWillQos: 1,
    willRetain: false,
    // "Maximum message size is 256 KB."
    maxPayloadBytes: 256 * 1024,
    payloadLimitTopic: undefined,
    maxFiltersPerSubscribe: undefined,
    keepaliveSec: undefined,
    // Device ids are at most 128 characters.
    maxClientIdBytes: 128,
    maxInflight: undefined,
    alpnOn443: undefined,
    deviceTopics: true,
  },
};

/** The Azure IoT Hub API version the user name names. */
export const AZURE_API_VERSION = '2021-04-12';

const encoder = new TextEncoder();

function violation(
  profile: PlatformProfile,
  rule: string,
  message: string,
  field?: string,
): ProfileViolationError {
  return new ProfileViolationError(profile.name, profile.platform, rule, message, field);
}

/**
 * The profile of the `profile` option.
 * @throws {@link ProfileViolationError} is not used here: an unknown name is an invalid
 * option, reported by the caller.
 */
export function profileNamed(name: unknown): PlatformProfile | undefined {
  return typeof name === 'string' && Object.hasOwn(PROFILES, name)
    ? PROFILES[name as ProfileName]
    : undefined;
}

/** What {@link checkProfileOptions} looks at: the resolved options. */
export interface ProfiledOptions {
  readonly servers: readonly ServerOptions[];
  readonly clientId: string;
  readonly keepaliveSec: number;
  readonly will: Will | undefined;
  readonly maxInflight: number;
  /** The `maxInflight` option as given (undefined when defaulted). */
  readonly maxInflightGiven: number | undefined;
}

/**
 * Checks resolved options against a profile and returns the servers with what the profile
 * sets itself (ALPN `x-amzn-mqtt-ca` on AWS port 443) and the in-flight window capped.
 * @throws {@link ProfileViolationError} naming the field
 */
export function checkProfileOptions(
  profile: PlatformProfile,
  options: ProfiledOptions,
): { servers: ServerOptions[]; maxInflight: number } {
  const servers = options.servers.map((server, i) =>
    checkServer(profile, server, i === 0 ? '' : `servers[${i - 1}].`, options.clientId),
  );
  const { will, keepaliveSec, clientId } = options;
  if (will !== undefined) {
    if (will.qos > profile.maxWillQos) {
      throw violation(
        profile,
        'will-qos',
        `the Will QoS is at most ${profile.maxWillQos}, got ${will.qos}`,
        'will.qos',
      );
    }
    if (will.retain && !profile.willRetain) {
      throw violation(profile, 'will-retain', 'a retained Will is not supported', 'will.retain');
    }
    checkPublishRules(profile, will.topic, will.payload, will.qos, false, clientId, 'will.');
  }
  if (profile.keepaliveSec !== undefined) {
    const { min, max } = profile.keepaliveSec;
    if (keepaliveSec < min || keepaliveSec > max) {
      throw violation(
        profile,
        'keepalive',
        `the keep-alive must be from ${min} to ${max} seconds, got ${keepaliveSec}`,
        'keepaliveSec',
      );
    }
  }
  if (profile.maxClientIdBytes !== undefined) {
    const bytes = encoder.encode(clientId).byteLength;
    if (bytes > profile.maxClientIdBytes) {
      throw violation(
        profile,
        'client-id-size',
        `the client id is at most ${profile.maxClientIdBytes} bytes of UTF-8, got ${bytes}`,
        'clientId',
      );
    }
  }
  let maxInflight = options.maxInflight;
  if (profile.maxInflight !== undefined) {
    if (options.maxInflightGiven !== undefined && options.maxInflightGiven > profile.maxInflight) {
      throw violation(
        profile,
        'inflight',
        `at most ${profile.maxInflight} unacknowledged publishes may be in flight, got ${options.maxInflightGiven}`,
        'maxInflight',
      );
    }
    maxInflight = Math.min(maxInflight, profile.maxInflight);
  }
  if (profile.deviceTopics && clientId === '') {
    throw violation(profile, 'client-id', 'the client id must be the device id', 'clientId');
  }
  return { servers, maxInflight };
}

function checkServer(
  profile: PlatformProfile,
  server: ServerOptions,
  prefix: string,
  clientId: string,
): ServerOptions {
  const url = parseServerUrl(server.url, `${prefix}url`);
  const tls = url.protocol === 'mqtts' || url.protocol === 'wss';
  const ws = url.protocol === 'ws' || url.protocol === 'wss';
  if (profile.tlsRequired && !tls) {
    throw violation(
      profile,
      'tls',
      `the endpoint takes TLS only: use mqtts://${profile.webSocket ? ' or wss://' : ''}`,
      `${prefix}url`,
    );
  }
  if (ws && !profile.webSocket) {
    throw violation(profile, 'websocket', 'the endpoint has no WebSocket', `${prefix}url`);
  }
  if (server.psk !== undefined && profile.tlsRequired) {
    throw violation(profile, 'tls-psk', 'the endpoint does not offer TLS-PSK', `${prefix}psk`);
  }
  // Node sends no SNI for an IP address: the name must then be given.
  const isIp = /^[\d.]+$/.test(url.host) || url.host.includes(':');
  const servername = server.tls?.servername ?? (isIp ? undefined : url.host);
  if (profile.sniRequired && servername === undefined) {
    throw violation(
      profile,
      'sni',
      `TLS Server Name Indication is required and ${url.host} is an address: set tls.servername to the endpoint's name`,
      `${prefix}tls.servername`,
    );
  }
  if (profile.deviceTopics) {
    const host = servername ?? url.host;
    const expected = `${host}/${clientId}/?api-version=`;
    if (server.username === undefined || !server.username.startsWith(expected)) {
      throw violation(
        profile,
        'username',
        `the user name must be "${expected}${AZURE_API_VERSION}" (host / device id / api-version)`,
        `${prefix}username`,
      );
    }
  }
  if (profile.alpnOn443 !== undefined && url.protocol === 'mqtts' && url.port === 443) {
    // "Clients that connect on port 443 with X.509 client certificate authentication must
    // implement ALPN and use the ALPN protocol name x-amzn-mqtt-ca."
    if (server.tls?.alpn === undefined) {
      return { ...server, tls: { ...server.tls, alpn: [profile.alpnOn443] } };
    }
  }
  return server;
}

/** Checks a device-to-cloud publish (or the Will) against the profile. */
export function checkPublishRules(
  profile: PlatformProfile,
  topic: string,
  payload: Uint8Array,
  qos: QoS,
  retain: boolean,
  clientId: string,
  prefix = '',
): void {
  if (profile.name === 'generic') return;
  if (qos > profile.maxPublishQos) {
    throw violation(
      profile,
      'publish-qos',
      `device-to-cloud QoS is at most ${profile.maxPublishQos}: a QoS ${qos} publish to ${JSON.stringify(topic)} is refused, not downgraded`,
      `${prefix}qos`,
    );
  }
  if (retain && !profile.retain) {
    throw violation(
      profile,
      'retain',
      `retained messages are not supported (publish to ${JSON.stringify(topic)})`,
      `${prefix}retain`,
    );
  }
  if (
    profile.maxPayloadBytes !== undefined &&
    payload.byteLength > profile.maxPayloadBytes &&
    (profile.payloadLimitTopic === undefined || profile.payloadLimitTopic.test(topic))
  ) {
    throw violation(
      profile,
      'payload-size',
      `a payload is at most ${profile.maxPayloadBytes} bytes, got ${payload.byteLength} for ${JSON.stringify(topic)}`,
      `${prefix}payload`,
    );
  }
  if (profile.deviceTopics) {
    // Device-to-cloud messages go to devices/{device id}/messages/events/ (a property bag
    // may follow); $iothub/ holds twins and direct methods.
    const events = `devices/${clientId}/messages/events/`;
    if (!topic.startsWith(events) && !topic.startsWith('$iothub/')) {
      throw violation(
        profile,
        'topic',
        `a device publishes to "${events}" (or $iothub/...), not ${JSON.stringify(topic)}`,
        `${prefix}topic`,
      );
    }
  }
}

/** Checks the filters of a subscribe against the profile. */
export function checkSubscribeRules(
  profile: PlatformProfile,
  filters: readonly { readonly topic: string; readonly qos: QoS }[],
  clientId: string,
): void {
  if (profile.name === 'generic') return;
  for (const { topic, qos } of filters) {
    if (qos > profile.maxSubscribeQos) {
      throw violation(
        profile,
        'subscribe-qos',
        `a subscription requests QoS ${profile.maxSubscribeQos} at most, got ${qos} for ${JSON.stringify(topic)}`,
        'qos',
      );
    }
    if (profile.deviceTopics) {
      const bound = `devices/${clientId}/messages/devicebound/#`;
      if (topic !== bound && !topic.startsWith('$iothub/')) {
        throw violation(
          profile,
          'topic',
          `a device subscribes to "${bound}" (or $iothub/...), not ${JSON.stringify(topic)}`,
          'filter',
        );
      }
    }
  }
}

/**
 * Splits the filters of one subscribe into the SUBSCRIBE packets the profile allows, in
 * order; the SUBACK codes of the parts are merged back in the same order by the caller.
 */
export function splitFilters<T>(profile: PlatformProfile, filters: readonly T[]): T[][] {
  const size = profile.maxFiltersPerSubscribe;
  if (size === undefined || filters.length <= size) return [[...filters]];
  const parts: T[][] = [];
  for (let i = 0; i < filters.length; i += size) parts.push(filters.slice(i, i + size));
  return parts;
}

/**
 * Packets the profile's platform disconnects on, checked as they are written: a last guard
 * behind the publish and subscribe rules (Murano: "If a device sends one of [PUBREC, PUBREL,
 * PUBCOMP] to Murano, it will disconnect the device immediately", and it disconnects on DUP
 * with QoS 0). Returns the violation, or undefined.
 */
export function forbiddenPacket(
  profile: PlatformProfile,
  packet: { readonly type: string; readonly qos?: QoS; readonly dup?: boolean },
): ProfileViolationError | undefined {
  if (profile.maxPublishQos === 2 || profile.maxSubscribeQos === 2) return undefined;
  if (packet.type === 'pubrec' || packet.type === 'pubrel' || packet.type === 'pubcomp') {
    return violation(
      profile,
      'qos2-flow',
      `a ${packet.type.toUpperCase()} would make the platform disconnect: QoS 2 is not supported (the server sent a QoS 2 message)`,
    );
  }
  if (packet.type === 'publish' && packet.qos === 0 && packet.dup === true) {
    return violation(profile, 'dup', 'DUP is never set on a QoS 0 publish [MQTT-3.3.1-2]');
  }
  return undefined;
}
