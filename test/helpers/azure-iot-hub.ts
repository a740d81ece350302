/**
 * An Azure IoT Hub-like MQTT endpoint, written from Microsoft's documents (not from our
 * client), on a free loopback TLS port:
 * - "Communicate with an IoT hub using the MQTT protocol": MQTT 3.1.1 over TLS; the
 *   ClientId is the device id; the Username is `{iotHub-hostname}/{device-id}/?api-version=
 *   2021-04-12`; the Password is a SAS token. Device-to-cloud messages are published to
 *   `devices/{device-id}/messages/events/` (a property bag may follow); cloud-to-device
 *   messages come on `devices/{device-id}/messages/devicebound/#`. "IoT Hub doesn't support
 *   QoS 2 messages. If a device app publishes a message with QoS 2, IoT Hub closes the
 *   network connection." Messages are at most 256 KB.
 * - "Control access to IoT Hub with shared access signatures": the token is
 *   `SharedAccessSignature sr={URL-encoded resource URI}&sig={signature}&se={expiry}`, the
 *   signature the base64 HMAC-SHA256, keyed by the base64-decoded device key, of
 *   `{URL-encoded resource URI}\n{expiry}`, itself URL-encoded; expiry in epoch seconds.
 *   A connection whose token expires is closed ("the device is disconnected when the token
 *   expires"): here at the `se` second exactly.
 *
 * The verification is written here on its own (node:crypto), not with the library's helper.
 *
 * @module
 */

import { createHmac, timingSafeEqual } from 'node:crypto';
import type { Socket } from 'node:net';
import type { TestContext } from 'node:test';
import { createServer, type TLSSocket } from 'node:tls';
import { encode, type Packet, Parser } from 'courier-mqtt/packet';
import type { TestCerts } from './certs.js';
import { Changes } from './changes.js';

/** A device-to-cloud message the hub accepted. */
export interface AzureMessage {
  readonly deviceId: string;
  readonly topic: string;
  readonly payload: string;
  readonly qos: number;
  readonly dup: boolean;
}

/** The running emulator. */
export interface AzureIotHubEmulator {
  readonly port: number;
  /** The host name of the hub (what tokens and user names must name). */
  readonly hostName: string;
  readonly messages: AzureMessage[];
  /** Refusals and closes, with the documented rule. */
  readonly refusals: { readonly rule: string; readonly detail: string }[];
  /** Accepted CONNECTs, with the token expiry each carried (epoch seconds). */
  readonly connections: { readonly deviceId: string; readonly expirySec: number }[];
  /** Connections closed because their token expired. */
  readonly expired: () => number;
  /** Resolves once `predicate` holds (checked on every change). */
  until(predicate: () => boolean, timeoutMs?: number): Promise<void>;
  close(): Promise<void>;
}

const API_VERSION = '2021-04-12';
const MAX_MESSAGE = 256 * 1024;

/** Checks a SAS token for `resourceUri` with `key`; returns its expiry or why it fails. */
export function verifySas(
  token: string,
  resourceUri: string,
  key: string,
  nowSec: number,
): { ok: true; expirySec: number } | { ok: false; why: string } {
  const prefix = 'SharedAccessSignature ';
  if (!token.startsWith(prefix)) return { ok: false, why: 'not a SharedAccessSignature' };
  const fields = new Map<string, string>();
  for (const part of token.slice(prefix.length).split('&')) {
    const eq = part.indexOf('=');
    if (eq < 0) return { ok: false, why: `field without =: ${part}` };
    fields.set(part.slice(0, eq), part.slice(eq + 1));
  }
  const sr = fields.get('sr');
  const sig = fields.get('sig');
  const se = fields.get('se');
  if (sr === undefined || sig === undefined || se === undefined) {
    return { ok: false, why: 'sr, sig and se are required' };
  }
  if (sr !== encodeURIComponent(resourceUri))
    return { ok: false, why: `sr ${sr} is not this device` };
  const expirySec = Number(se);
  if (!Number.isInteger(expirySec)) return { ok: false, why: 'se is not epoch seconds' };
  if (expirySec <= nowSec) return { ok: false, why: 'token expired' };
  const expected = createHmac('sha256', Buffer.from(key, 'base64')).update(`${sr}\n${se}`).digest();
  const given = Buffer.from(decodeURIComponent(sig), 'base64');
  if (given.length !== expected.length || !timingSafeEqual(given, expected)) {
    return { ok: false, why: 'signature does not verify' };
  }
  return { ok: true, expirySec };
}

/** Starts the emulator for `devices` (device id → base64 key). */
export async function startAzureIotHubEmulator(
  t: TestContext | undefined,
  certs: TestCerts,
  devices: Readonly<Record<string, string>>,
  hostName = 'localhost',
): Promise<AzureIotHubEmulator> {
  const messages: AzureMessage[] = [];
  const refusals: { rule: string; detail: string }[] = [];
  const connections: { deviceId: string; expirySec: number }[] = [];
  const sessions = new Map<string, Set<string>>();
  const sockets = new Set<Socket>();
  const changes = new Changes('IoT Hub emulator');
  let expired = 0;

  const changed = (): void => changes.changed();
  const refuse = (socket: Socket, rule: string, detail: string): void => {
    refusals.push({ rule, detail });
    socket.destroy();
    changed();
  };

  const server = createServer({ key: certs.server.key, cert: certs.server.cert }, (socket) => {
    handle(socket);
  });

  const handle = (socket: TLSSocket): void => {
    sockets.add(socket);
    let expiryTimer: ReturnType<typeof setTimeout> | undefined;
    socket.on('close', () => {
      sockets.delete(socket);
      if (expiryTimer !== undefined) clearTimeout(expiryTimer);
    });
    socket.on('error', () => undefined);
    const parser = new Parser({ protocolVersion: 4 });
    const send = (packet: Packet): void => {
      if (!socket.destroyed) socket.write(encode(packet, 4));
    };
    let deviceId: string | undefined;
    socket.on('data', (chunk: Uint8Array) => {
      try {
        parser.push(chunk, (packet) => {
          if (socket.destroyed) return;
          if (deviceId === undefined) {
            if (packet.type !== 'connect') {
              refuse(socket, 'connect-first', packet.type);
              return;
            }
            const id = packet.clientId;
            const key = devices[id];
            if (key === undefined) {
              send({ type: 'connack', sessionPresent: false, returnCode: 2 });
              refuse(socket, 'client-id', `unknown device ${JSON.stringify(id)}`);
              return;
            }
            const expected = `${hostName}/${id}/?api-version=${API_VERSION}`;
            if (packet.username !== expected) {
              send({ type: 'connack', sessionPresent: false, returnCode: 4 });
              refuse(socket, 'username', `${String(packet.username)} is not ${expected}`);
              return;
            }
            const token = new TextDecoder().decode(packet.password ?? new Uint8Array());
            const check = verifySas(
              token,
              `${hostName}/devices/${id}`,
              key,
              Math.floor(Date.now() / 1000),
            );
            if (!check.ok) {
              send({ type: 'connack', sessionPresent: false, returnCode: 5 });
              refuse(socket, 'sas', check.why);
              return;
            }
            deviceId = id;
            const present = !packet.clean && sessions.has(id);
            if (!present) sessions.set(id, new Set());
            connections.push({ deviceId: id, expirySec: check.expirySec });
            send({ type: 'connack', sessionPresent: present, returnCode: 0 });
            expiryTimer = setTimeout(
              () => {
                expired++;
                refuse(socket, 'token-expired', `${id}: token expired at ${check.expirySec}`);
              },
              check.expirySec * 1000 - Date.now(),
            );
            changed();
            return;
          }
          switch (packet.type) {
            case 'publish': {
              if (packet.qos === 2) {
                refuse(socket, 'qos2', `QoS 2 PUBLISH to ${packet.topic}`);
                return;
              }
              if (!packet.topic.startsWith(`devices/${deviceId}/messages/events/`)) {
                refuse(socket, 'topic', packet.topic);
                return;
              }
              if (packet.payload.byteLength > MAX_MESSAGE) {
                refuse(socket, 'size', `${packet.payload.byteLength} bytes`);
                return;
              }
              messages.push({
                deviceId,
                topic: packet.topic,
                payload: new TextDecoder().decode(packet.payload),
                qos: packet.qos,
                dup: packet.dup,
              });
              if (packet.qos === 1 && packet.packetId !== undefined) {
                send({ type: 'puback', packetId: packet.packetId });
              }
              changed();
              return;
            }
            case 'subscribe': {
              const bound = `devices/${deviceId}/messages/devicebound/#`;
              const codes = packet.subscriptions.map((s) =>
                s.topic === bound ? Math.min(s.qos, 1) : 0x80,
              );
              for (const s of packet.subscriptions) {
                if (s.topic === bound) sessions.get(deviceId)?.add(s.topic);
              }
              send({ type: 'suback', packetId: packet.packetId, returnCodes: codes });
              return;
            }
            case 'pingreq':
              send({ type: 'pingresp' });
              return;
            case 'disconnect':
              socket.end();
              return;
            case 'pubrec':
            case 'pubrel':
            case 'pubcomp':
              refuse(socket, 'qos2', packet.type);
              return;
            default:
              return;
          }
        });
      } catch (error) {
        refuse(socket, 'malformed', String(error));
      }
    });
  };

  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  const port = typeof address === 'object' && address !== null ? address.port : 0;
  const close = async (): Promise<void> => {
    for (const s of sockets) s.destroy();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  };
  t?.after(close);
  return {
    port,
    hostName,
    messages,
    refusals,
    connections,
    expired: () => expired,
    until: (predicate, timeoutMs = 20_000) => changes.until(predicate, 'the condition', timeoutMs),
    close,
  };
}
