/**
 * The Exosite Murano connector: the agent as a device of a Murano IoT Connector, per its
 * Device MQTT API (docs/platforms.md).
 *
 * - Provisioning, per the connector's authentication type: *token* — with no token stored,
 *   connect anonymously (empty client id) over TLS with SNI, publish an empty payload to
 *   `$provision/<device id>`, take the token from the answer, store it (0600, atomically,
 *   never logged), disconnect, and connect with it; *password* — publish the ≥ 20-character
 *   password there (no answer comes) and use device id + password; *certificate* — the
 *   certificate's common name is the identity, nothing to provision. An empty answer or a
 *   refused CONNACK is a {@link MuranoProvisionError}: the id is taken or not on the
 *   allow-list, which no retry fixes; only {@link MuranoLink.reprovision} tries again.
 * - Reporting: each change of a channel of an `in` resource is a reading
 *   (`{"001": 73.16}`, ExoSense's `data_in` shape) sent to `$resource/<alias>`, or to
 *   `$resource/` when one change feeds several aliases; `config_io` once per start.
 * - History: readings taken while not connected are kept ({@link ReadingHistory}) and sent
 *   on reconnect as `$resource.batch` with their own timestamps in µs, in chunks within the
 *   size limit, each chunk forgotten only once Murano acknowledged it (QoS 1).
 * - From the cloud: Murano pushes resource changes on `$resource/<alias>/<µs>` without a
 *   subscription; a push of an `out` resource drives its output channels.
 * - `$content`: asked once per connection; the list is kept for the console and logged.
 *
 * @module
 */

import { access, mkdir, rm, writeFile } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import {
  type Client,
  type ClientOptions,
  type ClientState,
  ConnectionRefusedError,
  createClient,
  type Message,
} from 'courier-mqtt';
import type { AgentEvent } from '../agent/events.js';
import { ConfigError, type ConfigIssue } from '../config/errors.js';
import type { AgentConfig, MuranoConfig } from '../config/schema.js';
import { readTlsFile, type TlsFileKind } from '../config/tls-file.js';
import { AgentError, AgentErrorCode } from '../errors.js';
import type { ChannelValue } from '../formats/types.js';
import { type ChannelInfo, isDigital } from '../sources/channels.js';
import { configIo, type MuranoContent, parseContent, readingValues, toValue } from './exosense.js';
import { MuranoProvisionError, provisionOnce } from './murano-provision.js';
import { markerPath, ReadingHistory, TokenFile } from './murano-store.js';

/** Where provisioning stands. */
export type MuranoProvisioning = 'unprovisioned' | 'provisioning' | 'provisioned' | 'failed';

/** What the console's Murano card shows. */
export interface MuranoStatus {
  readonly connectorId: string;
  readonly deviceId: string;
  readonly auth: MuranoConfig['auth'];
  /** `<connector id>.m2.exosite.io:<port>`. */
  readonly endpoint: string;
  readonly provisioning: MuranoProvisioning;
  /** Whether a token is stored (never the token). */
  readonly tokenPresent: boolean;
  readonly connected: boolean;
  readonly lastError: string | undefined;
  /** Readings waiting for upload, and those dropped because the history was full. */
  readonly history: { readonly pending: number; readonly dropped: number };
  /** The last `$content` list (at most `CONTENT_MAX` entries, see exosense.ts). */
  readonly content: readonly MuranoContent[] | undefined;
}

/** The Murano section with its files read: what {@link MuranoLink} needs. */
export interface ResolvedMurano {
  readonly config: MuranoConfig & { connectorId: string };
  readonly deviceId: string;
  readonly tls: { ca?: string; cert?: string; key?: string };
  readonly dataDir: string;
}

/**
 * Reads and checks the Murano section's files; the identity of a certificate device is its
 * certificate's common name.
 * @throws {ConfigError} naming the field of a file that cannot be used
 */
export async function resolveMurano(
  config: AgentConfig,
  baseDir = process.cwd(),
): Promise<ResolvedMurano | undefined> {
  const m = config.murano;
  if (!m.enabled || m.connectorId === undefined) return undefined;
  const issues: ConfigIssue[] = [];
  const tls: { ca?: string; cert?: string; key?: string } = {};
  let cn: string | undefined;
  for (const kind of ['ca', 'cert', 'key'] as const satisfies readonly TlsFileKind[]) {
    const path = m[kind];
    if (path === undefined) continue;
    try {
      const { text, info } = await readTlsFile(kind, path, baseDir);
      tls[kind] = text;
      if (kind === 'cert' && 'subject' in info) cn = /CN=([^\n,]+)/.exec(info.subject)?.[1];
    } catch (error) {
      issues.push({
        path: `murano.${kind}`,
        message: `cannot use ${JSON.stringify(path)}: ${(error as Error).message}`,
      });
    }
  }
  const deviceId = m.auth === 'certificate' ? (cn ?? m.deviceId ?? '') : (m.deviceId ?? '');
  if (m.auth === 'certificate' && tls.cert !== undefined && cn === undefined)
    issues.push({ path: 'murano.cert', message: 'has no common name (CN): it is the identity' });
  if (issues.length > 0) throw new ConfigError(issues);
  return {
    config: { ...m, connectorId: m.connectorId },
    deviceId,
    tls,
    dataDir: resolve(baseDir, config.web.dataDir),
  };
}

/** What the link needs from the agent. */
export interface MuranoDeps {
  /** Drives an output channel, as a subscribe row does. */
  write(id: number, value: ChannelValue): Promise<void>;
  emit(event: AgentEvent): void;
  report(
    level: 'info' | 'warn' | 'error',
    message: string,
    details?: Record<string, unknown>,
  ): void;
  /** Creates the MQTT client; default courier-mqtt's. For tests. */
  readonly createClient?: (url: string, options: ClientOptions) => Client;
  /** Unix epoch ms. */
  now(): number;
}

const PUSH = /^\$resource\/([^/]+)\/(\d+)$/;
/** Waits between provisioning attempts that failed on the network (not on Murano's answer). */
const RETRY_MIN_MS = 2000;
const RETRY_MAX_MS = 60_000;

/** What the device's own connection authenticates with (Murano's table, per auth type). */
interface Credentials {
  readonly clientId: string;
  readonly username?: string;
  readonly password?: string;
}

/** The Murano connector of one agent run. */
export class MuranoLink {
  readonly #r: ResolvedMurano;
  readonly #deps: MuranoDeps;
  readonly #channels: Map<number, ChannelInfo>;
  readonly #token: TokenFile;
  readonly #history: ReadingHistory;
  #client: Client | undefined;
  #provisioning: MuranoProvisioning = 'unprovisioned';
  #tokenPresent = false;
  #lastError: string | undefined;
  #content: MuranoContent[] | undefined;
  #configIoSent = false;
  #uploading = false;
  #running = false;
  /** Bumped by stop / reprovision: a run of an older generation gives up. */
  #generation = 0;
  #retryTimer: NodeJS.Timeout | undefined;

  constructor(resolved: ResolvedMurano, channels: readonly ChannelInfo[], deps: MuranoDeps) {
    this.#r = resolved;
    this.#deps = deps;
    this.#channels = new Map(channels.map((c) => [c.id, c]));
    const { connectorId } = resolved.config;
    this.#token = new TokenFile(resolved.dataDir, connectorId, resolved.deviceId);
    this.#history = new ReadingHistory(
      resolved.dataDir,
      connectorId,
      resolved.deviceId,
      resolved.config.historyMax,
      (level, message, details) => deps.report(level, message, details),
    );
  }

  /** The TLS server name and host of the connector. */
  get servername(): string {
    return `${this.#r.config.connectorId}.m2.exosite.io`;
  }

  /** The history (for tests and the console). */
  get history(): ReadingHistory {
    return this.#history;
  }

  /** Loads the history and starts connecting in the background. */
  async start(): Promise<void> {
    await this.#history.load();
    this.#running = true;
    void this.#run(this.#generation);
  }

  /** Stops: the client ends cleanly (bounded by `timeoutMs`); the history stays on disk. */
  async stop(timeoutMs = 5000): Promise<void> {
    this.#running = false;
    this.#generation++;
    clearTimeout(this.#retryTimer);
    const client = this.#client;
    this.#client = undefined;
    await client?.end({ timeoutMs }).catch(() => undefined);
    await this.#history.flushed();
  }

  /**
   * Forgets the credential and provisions again (the console's button, `POST
   * /api/murano/reprovision`). With a real connector, the identity must first be reset there,
   * or the answer is empty again.
   */
  async reprovision(): Promise<void> {
    if (!this.#running) throw new AgentError(AgentErrorCode.STATE, 'Murano is not running');
    this.#generation++;
    clearTimeout(this.#retryTimer);
    const client = this.#client;
    this.#client = undefined;
    await client?.end({ timeoutMs: 2000 }).catch(() => undefined);
    await this.#token.remove();
    await rm(this.#markerPath(), { force: true });
    this.#tokenPresent = false;
    this.#provisioning = 'unprovisioned';
    this.#lastError = undefined;
    this.#deps.report('info', 'Murano: re-provisioning requested');
    void this.#run(this.#generation);
  }

  /** The card's content. */
  status(): MuranoStatus {
    const c = this.#r.config;
    return {
      connectorId: c.connectorId,
      deviceId: this.#r.deviceId,
      auth: c.auth,
      endpoint: `${this.servername}:${c.port}`,
      provisioning: this.#provisioning,
      tokenPresent: this.#tokenPresent,
      connected: this.#client?.state.status === 'connected',
      lastError: this.#lastError,
      history: { pending: this.#history.size, dropped: this.#history.dropped },
      content: this.#content,
    };
  }

  /** A channel changed: a reading for every `in` resource that maps it. */
  channelChanged(change: { id: number; value: ChannelValue; ts: number }): void {
    if (!this.#running) return;
    const values = readingValues(this.#r.config.resources, change.id, change.value);
    const aliases = Object.keys(values);
    if (aliases.length === 0) return;
    const timestampUs = change.ts * 1000;
    const client = this.#client;
    const live =
      client !== undefined &&
      client.state.status === 'connected' &&
      !this.#uploading &&
      this.#history.size === 0;
    if (!live) {
      for (const alias of aliases) this.#keep({ alias, value: values[alias] ?? '', timestampUs });
      // Connected with a history (an upload stopped by an error): send it behind the others.
      if (client !== undefined && client.state.status === 'connected' && !this.#uploading)
        this.#upload(client).catch((error: unknown) => {
          this.#lastError = `Murano: ${(error as Error).message}`;
        });
      return;
    }
    const [topic, payload] =
      aliases.length === 1
        ? [`$resource/${aliases[0]}`, values[aliases[0] ?? ''] ?? '']
        : ['$resource/', JSON.stringify(values)];
    client.publish(topic, payload, { qos: 1 }).then(
      () =>
        this.#deps.emit({
          type: 'published',
          source: 'mqtt',
          topic,
          payload,
          at: this.#deps.now(),
        }),
      (error: unknown) => {
        // Not acknowledged: kept with its own timestamp for the next batch.
        this.#deps.emit({
          type: 'publish-failed',
          source: 'mqtt',
          topic,
          reason: (error as Error).message,
          at: this.#deps.now(),
        });
        for (const alias of aliases) this.#keep({ alias, value: values[alias] ?? '', timestampUs });
      },
    );
  }

  #keep(reading: { alias: string; value: string; timestampUs: number }): void {
    this.#history.add(reading).catch(() => undefined);
  }

  #markerPath(): string {
    return markerPath(this.#r.dataDir, this.#r.config.connectorId, this.#r.deviceId);
  }

  /** The URL and TLS options every connection uses: SNI is the connector's name. */
  #endpoint(): { url: string; tls: NonNullable<ClientOptions['tls']> } {
    const c = this.#r.config;
    const host = c.connectTo?.host ?? this.servername;
    const port = c.connectTo?.port ?? c.port;
    return {
      url: `mqtts://${host.includes(':') ? `[${host}]` : host}:${port}`,
      tls: { ...this.#r.tls, servername: this.servername },
    };
  }

  async #run(generation: number): Promise<void> {
    let delay = RETRY_MIN_MS;
    for (;;) {
      if (generation !== this.#generation) return;
      let credentials: Credentials | undefined;
      try {
        credentials = await this.#credentials(generation);
      } catch (error) {
        if (generation !== this.#generation) return;
        if (error instanceof MuranoProvisionError) {
          this.#provisioning = 'failed';
          this.#fail(error.message, error.code);
          return;
        }
        // The network, not Murano's answer: try again later, and say so.
        this.#provisioning = 'unprovisioned';
        this.#fail(
          `Murano provisioning failed: ${(error as Error).message}; retrying in ${delay / 1000} s`,
          (error as { code?: string }).code,
        );
        await new Promise<void>((done) => {
          this.#retryTimer = setTimeout(done, delay);
          this.#retryTimer.unref();
        });
        delay = Math.min(delay * 2, RETRY_MAX_MS);
        continue;
      }
      if (credentials === undefined || generation !== this.#generation) return;
      try {
        this.#connect(credentials);
      } catch (error) {
        // Options the library refuses: no retry changes them.
        this.#provisioning = 'failed';
        this.#fail(
          `Murano client not started: ${(error as Error).message}`,
          (error as { code?: string }).code,
        );
      }
      return;
    }
  }

  #fail(message: string, code: string | undefined): void {
    this.#lastError = message;
    this.#deps.emit({
      type: 'error',
      message,
      ...(code === undefined ? {} : { code }),
      at: this.#deps.now(),
    });
  }

  /** The user name and password of the device, provisioning first when needed. */
  async #credentials(generation: number): Promise<Credentials | undefined> {
    const c = this.#r.config;
    const deviceId = this.#r.deviceId;
    if (c.auth === 'certificate') {
      // The certificate is the credential; "The ClientID must always be set as empty."
      this.#provisioning = 'provisioned';
      return { clientId: '' };
    }
    if (c.auth === 'token') {
      let token = await this.#token.read();
      if (token === undefined) {
        token = await this.#provision('');
        if (generation !== this.#generation) return undefined;
        await this.#token.write(token);
        this.#deps.report('info', `Murano: device ${deviceId} provisioned; token stored`, {
          file: this.#token.path,
        });
      }
      this.#tokenPresent = true;
      this.#provisioning = 'provisioned';
      // The table allows an empty or device-id user name; MQTT 3.1.1 sends a password only
      // with a user name [MQTT-3.1.2-22], so it is the device id.
      return { clientId: deviceId, username: deviceId, password: token };
    }
    const password = c.password ?? '';
    const marker = this.#markerPath();
    const provisioned = await access(marker).then(
      () => true,
      () => false,
    );
    if (!provisioned) {
      await this.#provision(password);
      if (generation !== this.#generation) return undefined;
      await mkdir(dirname(marker), { recursive: true, mode: 0o700 });
      await writeFile(marker, `${new Date(this.#deps.now()).toISOString()}\n`, { mode: 0o600 });
      this.#deps.report('info', `Murano: device ${deviceId} provisioned with its password`);
    }
    this.#provisioning = 'provisioned';
    return { clientId: deviceId, username: deviceId, password };
  }

  /** The device's own connection, kept up with the library's reconnect. */
  #connect(credentials: Credentials): void {
    const make = this.#deps.createClient ?? createClient;
    const { url, tls } = this.#endpoint();
    const client = make(url, {
      profile: 'exosite',
      clientId: credentials.clientId,
      clean: true,
      tls,
      ...(credentials.username === undefined ? {} : { username: credentials.username }),
      ...(credentials.password === undefined ? {} : { password: credentials.password }),
      reconnect: { minDelayMs: RETRY_MIN_MS, maxDelayMs: RETRY_MAX_MS },
    });
    this.#client = client;
    client.on('message', (m: Message) => this.#onMessage(m));
    client.on('state', (s: ClientState) => this.#onState(client, s));
  }

  #onState(client: Client, s: ClientState): void {
    if (client !== this.#client) return;
    if (s.status === 'connected') {
      this.#lastError = undefined;
      this.#deps.report('info', `Murano: connected to ${this.servername} as ${this.#r.deviceId}`);
      void this.#onConnected(client);
      return;
    }
    const error = s.lastError;
    if (
      (s.status === 'reconnect-wait' || s.status === 'closed') &&
      error instanceof ConnectionRefusedError
    ) {
      // Bad credentials are not cured by retrying: the identity was reset in the connector,
      // or the certificate is not (or no longer) allowed.
      this.#client = undefined;
      this.#provisioning = 'failed';
      void client.end({ force: true }).catch(() => undefined);
      const what =
        this.#r.config.auth === 'certificate'
          ? `the certificate of ${this.#r.deviceId} is not allowed on the connector`
          : `the credentials of ${this.#r.deviceId} were refused: the id is taken, or it was reset in the connector (re-provision)`;
      this.#fail(`Murano: ${what} (${error.message})`, error.code);
      return;
    }
    if (s.status === 'reconnect-wait' && error !== undefined) {
      if (this.#lastError === undefined)
        this.#deps.report(
          'warn',
          `Murano: connection lost (${error.message}); readings are kept for upload`,
        );
      this.#lastError = `Murano: ${error.message}`;
    }
  }

  async #onConnected(client: Client): Promise<void> {
    try {
      if (!this.#configIoSent && this.#r.config.configIo) {
        const description = configIo(this.#r.config.resources, this.#channels);
        if (description !== undefined) {
          await client.publish('$resource/config_io', description, { qos: 1 });
          this.#configIoSent = true;
          this.#deps.emit({
            type: 'published',
            source: 'mqtt',
            topic: '$resource/config_io',
            payload: description,
            at: this.#deps.now(),
          });
        }
      }
      await client.publish('$content', '', { qos: 1 });
      await this.#upload(client);
    } catch (error) {
      this.#lastError = `Murano: ${(error as Error).message}`;
    }
  }

  /** Sends the history as `$resource.batch` chunks, each forgotten once acknowledged. */
  async #upload(client: Client): Promise<void> {
    if (this.#uploading) return;
    this.#uploading = true;
    try {
      for (;;) {
        if (client !== this.#client || client.state.status !== 'connected') return;
        const chunk = this.#history.next(this.#r.config.batchMaxBytes);
        if (chunk === undefined) return;
        await client.publish('$resource.batch', chunk.payload, { qos: 1 });
        await this.#history.commit(chunk.count);
        this.#deps.report('info', `Murano: ${chunk.count} reading(s) uploaded as $resource.batch`, {
          bytes: Buffer.byteLength(chunk.payload),
          pending: this.#history.size,
        });
        this.#deps.emit({
          type: 'published',
          source: 'mqtt',
          topic: '$resource.batch',
          payload: chunk.payload,
          at: this.#deps.now(),
        });
      }
    } finally {
      this.#uploading = false;
    }
  }

  #onMessage(m: Message): void {
    const text = Buffer.from(m.payload).toString('utf8');
    if (m.topic === '$content') {
      this.#onContent(text);
      return;
    }
    const push = PUSH.exec(m.topic);
    if (push === null) return;
    const alias = push[1] ?? '';
    const resource = this.#r.config.resources.find(
      (r) => r.direction === 'out' && r.alias === alias,
    );
    if (resource === undefined) {
      this.#deps.report('info', `Murano: ${alias} changed in the cloud (not mapped)`);
      return;
    }
    void this.#drive(m.topic, text, resource.channels);
  }

  /** A push of an `out` resource: `{"003": 1}` sets the output mapped to "003". */
  async #drive(topic: string, text: string, map: Record<string, number>): Promise<void> {
    const reject = (reason: string) =>
      this.#deps.emit({
        type: 'rejected',
        source: 'mqtt',
        topic,
        payload: text,
        reason,
        at: this.#deps.now(),
      });
    let obj: unknown;
    try {
      obj = JSON.parse(text);
    } catch {
      reject('not JSON (expected an object of channel keys)');
      return;
    }
    if (typeof obj !== 'object' || obj === null || Array.isArray(obj)) {
      reject('not a JSON object of channel keys');
      return;
    }
    for (const [key, raw] of Object.entries(obj)) {
      const id = map[key];
      const channel = id === undefined ? undefined : this.#channels.get(id);
      if (id === undefined || channel === undefined) {
        reject(`key "${key}" is not mapped to a channel`);
        continue;
      }
      const value = toValue(raw, isDigital(channel.type));
      if (value === undefined) {
        reject(`value of "${key}" is not a ${isDigital(channel.type) ? 'boolean' : 'number'}`);
        continue;
      }
      try {
        await this.#deps.write(id, value);
        this.#deps.emit({ type: 'received', topic, payload: text, value, at: this.#deps.now() });
      } catch (error) {
        reject((error as Error).message);
      }
    }
  }

  /**
   * One anonymous provisioning exchange ({@link provisionOnce}) at this connector's endpoint.
   */
  async #provision(payload: string): Promise<string> {
    const c = this.#r.config;
    this.#provisioning = 'provisioning';
    return provisionOnce({
      ...this.#endpoint(),
      deviceId: this.#r.deviceId,
      auth: c.auth,
      payload,
      timeoutSec: c.provisionTimeoutSec,
    });
  }

  #onContent(text: string): void {
    const list = parseContent(text);
    if (typeof list === 'string') {
      this.#deps.report('warn', `Murano: $content answer ${list}`);
      return;
    }
    this.#content = list.items;
    this.#deps.report('info', `Murano: content list has ${list.total} item(s)`, {
      content: list.items.map((e) => `${e.name} (${e.mime}, ${e.length} bytes)`),
    });
  }
}
