/**
 * An emulator of Exosite Murano's device MQTT endpoint (the "Device MQTT API" guide), written
 * from that document and not from our client: what a device may do there, and what makes
 * Murano refuse or disconnect it.
 *
 * - TLS only, and the TLS handshake must name `<connector id>.m2.exosite.io` (SNI): "Exosite
 *   requires ... TLS support ... modern enough that it includes Server Name Indication".
 * - Anonymous clients (no password, no client certificate) may only publish to
 *   `$provision/<device id>` and subscribe to that reply topic; the client id must be empty
 *   while provisioning.
 * - Token connectors answer a provision request with a generated token on
 *   `$provision/<device id>`; password connectors take a password of at least 20 characters
 *   and answer nothing. An id already provisioned, off the allow-list, or a short password
 *   gets an empty answer (the guide's sample treats an answer without payload as a failure).
 * - The authentication table: token (client id empty or the device id, user name empty or
 *   the device id, password the token), password (client id empty or the device id, user name
 *   the device id, password the credential), certificate (client id, user name and password
 *   empty; the certificate's common name is the identity, provisioned at first connection).
 * - QoS 1 device→Murano is acknowledged, QoS 2 is treated as QoS 0 (no PUBREC); DUP=1 with
 *   QoS 0, and any PUBREC/PUBREL/PUBCOMP from the device, disconnect it. Retain is ignored.
 * - `$resource/<alias>`, `$resource/` (a JSON object of aliases), `$resource.batch` (an array
 *   of `{timestamp: µs, values: {...}}`), `$content` (answered with the connector's list);
 *   each resource value at most 1,048,576 bytes.
 * - Resource changes made "in the cloud" ({@link MuranoEmulator.write}) are pushed to the
 *   connected device on `$resource/<alias>/<timestamp µs>` at QoS 0, without a subscription.
 *
 * It can be stopped and started again on the same port; what was provisioned and written
 * survives, as it would in the cloud.
 *
 * @module
 */

import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readFile, writeFile } from 'node:fs/promises';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import type { TestContext } from 'node:test';
import { createServer, type Server, type TLSSocket } from 'node:tls';
import { promisify } from 'node:util';
import { encode, type Packet, Parser } from 'courier-mqtt/packet';
import { type TestCerts, testCerts } from './certs.js';
import { Changes } from './changes.js';
import { findBinary } from './process.js';
import { tempDir } from './tmp.js';

const run = promisify(execFile);

/** The largest resource value Murano accepts ("each individual resource size"). */
export const MURANO_RESOURCE_LIMIT = 1_048_576;

/** How a connector authenticates its devices (the guide's three types). */
export type MuranoAuth = 'token' | 'password' | 'certificate';

/** One entry of the `$content` list. */
export interface MuranoContent {
  readonly name: string;
  readonly length: number;
  readonly mime: string;
  readonly url: string;
}

/** Options of {@link startMuranoEmulator}. */
export interface MuranoEmulatorOptions {
  /** The connector ("product") id; the SNI name is `<id>.m2.exosite.io`. @default 'x2lmj5npsktbuik9' */
  readonly connectorId?: string;
  /** @default 'token' */
  readonly auth?: MuranoAuth;
  /** When set, only these identities may provision ("whitelisting"). */
  readonly allowList?: readonly string[];
  /** What `$content` lists. @default [] */
  readonly content?: readonly MuranoContent[];
}

/** One value written to a resource, with its timestamp in microseconds. */
export interface ResourceWrite {
  readonly value: string;
  readonly timestampUs: number;
  /** How it came: `$resource/<alias>`, `$resource/`, `$resource.batch` or the cloud. */
  readonly via: 'alias' | 'multi' | 'batch' | 'cloud';
}

/** A PUBLISH the emulator received, with who sent it. */
export interface ReceivedPublish {
  /** The device identity, or undefined for an anonymous client. */
  readonly device: string | undefined;
  readonly topic: string;
  readonly payload: string;
  readonly qos: number;
  readonly dup: boolean;
}

/** A CONNECT the emulator received and what it answered. */
export interface ConnectRecord {
  readonly servername: string | false;
  readonly clientId: string;
  readonly username: string | undefined;
  /** Whether a password was sent (its value is never recorded). */
  readonly hasPassword: boolean;
  readonly certCn: string | undefined;
  readonly returnCode: number;
  readonly device: string | undefined;
}

/** The running emulator. */
export interface MuranoEmulator {
  readonly port: number;
  readonly connectorId: string;
  /** `<connector id>.m2.exosite.io`: the name the TLS handshake must carry. */
  readonly servername: string;
  readonly certs: TestCerts;
  /** Provisioned identities and their secret (token or password; '' for certificates). */
  readonly devices: Map<string, string>;
  readonly received: ReceivedPublish[];
  readonly connects: ConnectRecord[];
  /** Why connections were closed by the emulator (rule broken), in order. */
  readonly disconnects: string[];
  /** Provision requests and their outcome (`token`, `password`, `empty`). */
  readonly provisions: {
    readonly device: string;
    readonly answer: 'token' | 'password' | 'empty';
  }[];
  /** Every value written to `alias` of `device`, oldest first. */
  writes(device: string, alias: string): readonly ResourceWrite[];
  /** Devices connected now (authenticated). */
  connected(): string[];
  /** A change made in the cloud: stored and pushed to the device if it is connected. */
  write(device: string, alias: string, value: string): number;
  /** The "clear credentials" of the connector's UI: the identity may provision again. */
  reset(device: string): void;
  /** Resolves when `check` holds (checked after every packet and event). */
  until(check: () => boolean, what: string, timeoutMs?: number): Promise<void>;
  /** Closes the listener and every connection; state is kept. */
  stop(): Promise<void>;
  /** Listens again on the same port. */
  start(): Promise<void>;
}

/** Microseconds since the epoch, as Murano stamps values. */
const nowUs = (): number => Date.now() * 1000;

/** The identity format: Murano lets the connector define it; this one takes the usual ids. */
const IDENTITY = /^[A-Za-z0-9._:-]{1,128}$/;

/** A Murano-like token: 40 characters, as in the guide's examples. */
function newToken(): string {
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';
  return [...randomBytes(40)].map((b) => alphabet[b % alphabet.length]).join('');
}

/** A server certificate for `*.m2.exosite.io`, signed by the test CA. */
async function serverCert(certs: TestCerts): Promise<{ cert: string; key: string }> {
  const openssl = await findBinary('openssl', 'openssl');
  const dir = await tempDir(undefined, 'murano-');
  const f = (n: string) => join(dir, n);
  const ssl = (...args: string[]) => run(openssl, args, { cwd: dir });
  await ssl(
    'genpkey',
    '-algorithm',
    'EC',
    '-pkeyopt',
    'ec_paramgen_curve:P-256',
    '-out',
    f('m.key'),
  );
  await ssl('req', '-new', '-key', f('m.key'), '-subj', '/CN=*.m2.exosite.io', '-out', f('m.csr'));
  await writeFile(f('m.ext'), 'subjectAltName=DNS:*.m2.exosite.io\n');
  await ssl(
    ...['x509', '-req', '-in', f('m.csr'), '-CA', certs.ca.certFile, '-CAkey', certs.ca.keyFile],
    ...['-set_serial', `0x${randomBytes(8).toString('hex')}`, '-days', '30'],
    ...['-extfile', f('m.ext'), '-out', f('m.crt')],
  );
  return { cert: await readFile(f('m.crt'), 'utf8'), key: await readFile(f('m.key'), 'utf8') };
}

/** Starts the emulator on a free loopback port; it is closed after the test. */
export async function startMuranoEmulator(
  t: TestContext,
  options: MuranoEmulatorOptions = {},
): Promise<MuranoEmulator> {
  const connectorId = options.connectorId ?? 'x2lmj5npsktbuik9';
  const auth = options.auth ?? 'token';
  const servername = `${connectorId}.m2.exosite.io`;
  const certs = await testCerts();
  const { cert, key } = await serverCert(certs);
  const devices = new Map<string, string>();
  const resources = new Map<string, Map<string, ResourceWrite[]>>();
  const received: ReceivedPublish[] = [];
  const connects: ConnectRecord[] = [];
  const disconnects: string[] = [];
  const provisions: MuranoEmulator['provisions'] = [];
  const live = new Map<string, TLSSocket>();
  const sockets = new Set<TLSSocket>();
  const changes = new Changes('Murano emulator');
  const changed = (): void => changes.changed();

  const store = (device: string, alias: string, w: ResourceWrite): void => {
    const byAlias = resources.get(device) ?? new Map<string, ResourceWrite[]>();
    resources.set(device, byAlias);
    const list = byAlias.get(alias) ?? [];
    byAlias.set(alias, list);
    list.push(w);
  };

  const handle = (socket: TLSSocket): void => {
    sockets.add(socket);
    socket.on('close', () => {
      sockets.delete(socket);
      changed();
    });
    socket.on('error', () => undefined);
    const send = (p: Packet): void => {
      if (!socket.destroyed) socket.write(encode(p, 4));
    };
    const drop = (why: string): void => {
      disconnects.push(why);
      socket.destroy();
      changed();
    };
    // SNI is required: without it (or with another connector's name) there is no endpoint.
    const sni = socket.servername;
    if (sni !== servername) {
      drop(`TLS without SNI ${servername} (got ${sni === false ? 'none' : sni})`);
      return;
    }
    const parser = new Parser({ protocolVersion: 4 });
    let connected = false;
    let device: string | undefined;
    let anonymous = false;

    const onConnect = (p: Extract<Packet, { type: 'connect' }>): void => {
      const peer = socket.getPeerCertificate();
      const certCn =
        socket.authorized && peer !== null && typeof peer.subject?.CN === 'string'
          ? peer.subject.CN
          : undefined;
      const password = p.password === undefined ? undefined : Buffer.from(p.password).toString();
      const username = p.username ?? '';
      let rc = 0;
      if (p.protocolVersion !== 4) rc = 1;
      else if (auth === 'certificate') {
        // "The ClientID must always be set as empty"; the certificate is the credential.
        if (p.clientId !== '') rc = 2;
        else if (certCn === undefined || username !== '' || password !== undefined) rc = 5;
        else if (options.allowList !== undefined && !options.allowList.includes(certCn)) rc = 5;
        else {
          const held = devices.get(certCn);
          if (held === undefined) devices.set(certCn, '');
          device = certCn;
        }
      } else if (password === undefined || password === '') {
        // Anonymous: only for provisioning, and the client id must be empty.
        if (p.clientId !== '' || username !== '') rc = 2;
        else anonymous = true;
      } else if (auth === 'token') {
        const id = [...devices].find(([, secret]) => secret === password)?.[0];
        if (id === undefined) rc = 4;
        else if (username !== '' && username !== id) rc = 4;
        else if (p.clientId !== '' && p.clientId !== id) rc = 2;
        else device = id;
      } else {
        // Password: the user name is the device id, the client id empty or the device id.
        if (username === '' || devices.get(username) !== password) rc = 4;
        else if (p.clientId !== '' && p.clientId !== username) rc = 2;
        else device = username;
      }
      connects.push({
        servername: sni,
        clientId: p.clientId,
        username: p.username,
        hasPassword: password !== undefined,
        certCn,
        returnCode: rc,
        device,
      });
      send({ type: 'connack', sessionPresent: false, returnCode: rc });
      if (rc !== 0) {
        disconnects.push(`CONNACK ${rc}`);
        socket.end();
        return;
      }
      connected = true;
      if (device !== undefined) {
        live.get(device)?.destroy();
        live.set(device, socket);
        socket.on('close', () => {
          if (live.get(device ?? '') === socket) live.delete(device ?? '');
        });
      }
    };

    const provision = (id: string, payload: string): void => {
      const taken = devices.has(id);
      const allowed = options.allowList === undefined || options.allowList.includes(id);
      const reply = (text: string) =>
        send({
          type: 'publish',
          topic: `$provision/${id}`,
          payload: Buffer.from(text),
          qos: 0,
          retain: false,
          dup: false,
        });
      if (taken || !allowed || !IDENTITY.test(id) || auth === 'certificate') {
        provisions.push({ device: id, answer: 'empty' });
        reply('');
        return;
      }
      if (auth === 'token') {
        const token = newToken();
        devices.set(id, token);
        provisions.push({ device: id, answer: 'token' });
        reply(token);
        return;
      }
      // "Send the password (at least 20 characters) ... No token will be returned."
      if (payload.length < 20) {
        provisions.push({ device: id, answer: 'empty' });
        reply('');
        return;
      }
      devices.set(id, payload);
      provisions.push({ device: id, answer: 'password' });
    };

    const tooBig = (value: string) => Buffer.byteLength(value) > MURANO_RESOURCE_LIMIT;
    const asText = (v: unknown): string => (typeof v === 'string' ? v : JSON.stringify(v));

    const onPublish = (p: Extract<Packet, { type: 'publish' }>): void => {
      const payload = Buffer.from(p.payload).toString('utf8');
      received.push({ device, topic: p.topic, payload, qos: p.qos, dup: p.dup });
      // "Murano will disconnect a device if it ... [sets DUP] to 1 while specifying QoS-0."
      if (p.dup && p.qos === 0) {
        drop('DUP=1 on a QoS 0 PUBLISH');
        return;
      }
      if (anonymous) {
        // "Anonymous clients ... can only publish to the $provision endpoint."
        const m = /^\$provision\/(.+)$/.exec(p.topic);
        if (m === null) {
          drop(`anonymous PUBLISH to ${p.topic}`);
          return;
        }
        if (p.qos === 1 && p.packetId !== undefined) send({ type: 'puback', packetId: p.packetId });
        provision(m[1] ?? '', payload);
        return;
      }
      const id = device ?? '';
      // QoS 1 is acknowledged; QoS 2 "as if QoS-0 was specified": no PUBREC.
      if (p.qos === 1 && p.packetId !== undefined) send({ type: 'puback', packetId: p.packetId });
      if (p.topic === '$resource/') {
        let obj: unknown;
        try {
          obj = JSON.parse(payload);
        } catch {
          disconnects.push('$resource/ payload is not JSON');
          return;
        }
        if (typeof obj !== 'object' || obj === null || Array.isArray(obj)) return;
        const at = nowUs();
        for (const [alias, v] of Object.entries(obj)) {
          const value = asText(v);
          if (!tooBig(value)) store(id, alias, { value, timestampUs: at, via: 'multi' });
        }
      } else if (p.topic === '$resource.batch') {
        let list: unknown;
        try {
          list = JSON.parse(payload);
        } catch {
          disconnects.push('$resource.batch payload is not JSON');
          return;
        }
        if (!Array.isArray(list)) return;
        for (const entry of list as { timestamp?: unknown; values?: unknown }[]) {
          if (typeof entry?.timestamp !== 'number' || typeof entry.values !== 'object') continue;
          for (const [alias, v] of Object.entries(entry.values ?? {})) {
            const value = asText(v);
            if (!tooBig(value))
              store(id, alias, { value, timestampUs: entry.timestamp, via: 'batch' });
          }
        }
      } else if (p.topic.startsWith('$resource/')) {
        const alias = p.topic.slice('$resource/'.length);
        if (!tooBig(payload))
          store(id, alias, { value: payload, timestampUs: nowUs(), via: 'alias' });
      } else if (p.topic === '$content') {
        send({
          type: 'publish',
          topic: '$content',
          payload: Buffer.from(JSON.stringify(options.content ?? [])),
          qos: 0,
          retain: false,
          dup: false,
        });
      }
    };

    const entitled = (filter: string): boolean => {
      if (anonymous) return /^\$provision\/[^/+#]+$/.test(filter);
      const own = `$provision/${device ?? ''}`;
      if (filter.startsWith('$provision/')) return filter === own;
      return true;
    };

    socket.on('data', (chunk: Uint8Array) => {
      try {
        parser.push(chunk, (p) => {
          if (socket.destroyed) return;
          if (!connected) {
            if (p.type !== 'connect') drop(`${p.type} before CONNECT`);
            else onConnect(p);
            return;
          }
          switch (p.type) {
            case 'publish':
              onPublish(p);
              break;
            case 'pubrec':
            case 'pubrel':
            case 'pubcomp':
              // "If a device sends one of these messages to Murano, it will disconnect".
              drop(`${p.type.toUpperCase()} from the device`);
              break;
            case 'subscribe':
              send({
                type: 'suback',
                packetId: p.packetId,
                // Granted QoS 0 "even if the device requests a higher QoS level".
                returnCodes: p.subscriptions.map((s) => (entitled(s.topic) ? 0 : 0x80)),
              });
              break;
            case 'unsubscribe':
              send({ type: 'unsuback', packetId: p.packetId });
              break;
            case 'pingreq':
              send({ type: 'pingresp' });
              break;
            case 'disconnect':
              socket.end();
              break;
            case 'puback':
              // Murano never sends QoS 1 to the device: nothing to acknowledge.
              drop('PUBACK with nothing in flight');
              break;
            default:
              drop(`unexpected ${p.type}`);
          }
        });
      } catch (error) {
        // The codec itself refuses DUP=1 on QoS 0 [MQTT-3.3.1-2]: the rule Murano names.
        if ((error as { rule?: string }).rule === 'MQTT-3.3.1-2') drop('DUP=1 on a QoS 0 PUBLISH');
        else drop(`malformed packet: ${(error as Error).message}`);
      }
      changed();
    });
  };

  let server: Server | undefined;
  let port = 0;
  const listen = async (): Promise<void> => {
    const s = createServer(
      { cert, key, ca: certs.ca.cert, requestCert: true, rejectUnauthorized: false },
      handle,
    );
    s.on('tlsClientError', (e) => {
      disconnects.push(`TLS: ${e.message}`);
      changed();
    });
    await new Promise<void>((resolve, reject) => {
      s.once('error', reject);
      s.listen(port, '127.0.0.1', () => resolve());
    });
    port = (s.address() as AddressInfo).port;
    server = s;
  };
  const stop = async (): Promise<void> => {
    const s = server;
    server = undefined;
    if (s === undefined) return;
    for (const socket of sockets) socket.destroy();
    await new Promise<void>((resolve) => s.close(() => resolve()));
    changed();
  };
  await listen();
  t.after(stop);

  return {
    get port() {
      return port;
    },
    connectorId,
    servername,
    certs,
    devices,
    received,
    connects,
    disconnects,
    provisions,
    writes: (d, alias) => resources.get(d)?.get(alias) ?? [],
    connected: () => [...live.keys()],
    write: (d, alias, value) => {
      const at = nowUs();
      store(d, alias, { value, timestampUs: at, via: 'cloud' });
      // Pushed without a subscription, at QoS 0, on $resource/<alias>/<timestamp µs>.
      const socket = live.get(d);
      if (socket !== undefined && !socket.destroyed) {
        socket.write(
          encode(
            {
              type: 'publish',
              topic: `$resource/${alias}/${at}`,
              payload: Buffer.from(value),
              qos: 0,
              retain: false,
              dup: false,
            },
            4,
          ),
        );
      }
      return at;
    },
    reset: (d) => {
      devices.delete(d);
      live.get(d)?.destroy();
    },
    until: (check, what, timeoutMs = 10000) => changes.until(check, what, timeoutMs),
    stop,
    start: listen,
  };
}
