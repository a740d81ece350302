/**
 * The configuration checked against the platform profile (`connection.profile`), with the
 * library's own profile data: a topic row the platform would refuse (a QoS 2 row on AWS IoT,
 * a retained row on Murano or IoT Hub, an IoT Hub row outside the device's topics) is a
 * configuration error naming the row, not a connection that fails at the first publish.
 *
 * @module
 */

import { PROFILES, type ProfileName } from 'courier-mqtt';
import type { ConfigIssue } from './errors.js';

type Raw = Record<string, unknown>;
const isObj = (v: unknown): v is Raw => typeof v === 'object' && v !== null && !Array.isArray(v);
const obj = (v: unknown): Raw => (isObj(v) ? v : {});
const str = (v: unknown): string | undefined => (typeof v === 'string' ? v : undefined);

/** The issues of a raw configuration against its profile (none for `generic`). */
export function platformIssues(raw: unknown): ConfigIssue[] {
  const issues: ConfigIssue[] = [];
  if (!isObj(raw)) return issues;
  const name = str(obj(raw.connection).profile) ?? 'generic';
  if (!Object.hasOwn(PROFILES, name) || name === 'generic') {
    if (raw.azure !== undefined && name === 'generic') {
      issues.push({ path: 'azure', message: 'needs connection.profile "azure-iot-hub"' });
    }
    return issues;
  }
  const profile = PROFILES[name as ProfileName];
  const who = `${profile.platform} (profile ${name})`;
  const authMode = str(obj(raw.security).authMode) ?? 'none';
  if (name === 'aws-iot' && authMode !== 'server+client') {
    issues.push({
      path: 'security.authMode',
      message: `${who} authenticates MQTT devices with an X.509 client certificate: use "server+client" with ca, cert and key`,
    });
  }
  if (profile.tlsRequired && authMode === 'none') {
    issues.push({ path: 'security.authMode', message: `${who} takes TLS connections only` });
  }
  if (authMode === 'psk' && profile.tlsRequired) {
    issues.push({ path: 'security.authMode', message: `${who} does not offer TLS-PSK` });
  }
  const azure = obj(raw.azure);
  const deviceId = str(azure.deviceId);
  if (name === 'azure-iot-hub') {
    if (raw.azure === undefined) {
      issues.push({ path: 'azure', message: `${who} needs hub, deviceId and deviceKey` });
    }
    const login = obj(raw.login);
    for (const field of ['username', 'password'] as const) {
      if (login[field] !== undefined) {
        issues.push({
          path: `login.${field}`,
          message: `${who}: computed from the azure section (user name and SAS token); leave it out`,
        });
      }
    }
    const clientId = str(obj(raw.connection).clientId) ?? '';
    if (clientId !== '' && deviceId !== undefined && clientId !== deviceId) {
      issues.push({
        path: 'connection.clientId',
        message: `${who}: the client id is the device id (${JSON.stringify(deviceId)}); leave it empty`,
      });
    }
  } else if (raw.azure !== undefined) {
    issues.push({ path: 'azure', message: 'needs connection.profile "azure-iot-hub"' });
  }

  const lwt = obj(raw.lwt);
  if (typeof lwt.qos === 'number' && lwt.qos > profile.maxWillQos) {
    issues.push({
      path: 'lwt.qos',
      message: `${who}: the Will QoS is at most ${profile.maxWillQos}`,
    });
  }
  if (lwt.retain === true && !profile.willRetain) {
    issues.push({ path: 'lwt.retain', message: `${who}: a retained Will is not supported` });
  }

  const topics = Array.isArray(raw.topics) ? raw.topics : [];
  topics.forEach((t, index) => {
    const row = obj(t);
    const at = `topics[${index}]`;
    const publish = row.direction === 'publish';
    const subscribe = row.direction === 'subscribe';
    const max = publish ? profile.maxPublishQos : profile.maxSubscribeQos;
    if ((publish || subscribe) && typeof row.qos === 'number' && row.qos > max) {
      issues.push({
        path: `${at}.qos`,
        message: `${who} takes QoS ${max} at most on a ${String(row.direction)} row, got ${row.qos}`,
      });
    }
    if (publish && row.retain === true && !profile.retain) {
      issues.push({ path: `${at}.retain`, message: `${who} does not support retained messages` });
    }
    const topic = str(row.topic);
    if (profile.deviceTopics && deviceId !== undefined && topic !== undefined) {
      const events = `devices/${deviceId}/messages/events/`;
      const bound = `devices/${deviceId}/messages/devicebound/#`;
      if (publish && !topic.startsWith(events) && !topic.startsWith('$iothub/')) {
        issues.push({ path: `${at}.topic`, message: `${who}: a device publishes to "${events}"` });
      }
      if (subscribe && topic !== bound && !topic.startsWith('$iothub/')) {
        issues.push({ path: `${at}.topic`, message: `${who}: a device subscribes to "${bound}"` });
      }
    }
  });
  return issues;
}
