// Test fixture of the web console: a real Mosquitto (with a password file), the agent on the
// LucidIoT example's layout with its configuration in a file, and the console on a free port.

import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { TestContext } from 'node:test';
import {
  type Mosquitto,
  type MosquittoOptions,
  startMosquitto,
} from '../../../test/helpers/mosquitto.js';
import { tempDir } from '../../../test/helpers/tmp.js';
import { Agent } from '../src/agent/agent.js';
import { lucidChannels, lucidTopics } from '../src/agent/demo.js';
import type { IntervalScheduler } from '../src/agent/topic-table.js';
import { parseConfig } from '../src/config/validate.js';
import { FileConfigStore } from '../src/web/config-store.js';
import { type ConsoleOptions, startConsole, type WebConsole } from '../src/web/server.js';
import { deferrer, observe, type Seen } from './util.js';

/** The admin password of the fixture. */
export const ADMIN_PASSWORD = 'correct horse battery';
/** The MQTT password of the fixture: a secret that must never reach a browser. */
export const MQTT_PASSWORD = 'mqtt-Secret-Pw-4711';
/** A Redis password inside `redis.url`: also a secret. */
export const REDIS_PASSWORD = 'redis-Secret-Pw-0815';

/** The LucidIoT example: 8 digital outputs, 8 RTD inputs, Valve / OfficeTemp / ValveState. */
export function lucidConfig(host: string, port: number, extra: Record<string, unknown> = {}) {
  return {
    connection: { server: host, port, clientId: 'courier-console-test', keepaliveSec: 30 },
    login: { username: 'device', password: MQTT_PASSWORD },
    lwt: { topic: 'courier/status', message: 'offline', qos: 1, retain: true },
    reconnect: { minDelaySec: 0.2, maxDelaySec: 1 },
    device: {
      name: 'LucidIoT test module',
      seed: 3,
      stepMs: 50,
      channels: lucidChannels(),
    },
    topics: lucidTopics(),
    redis: { url: `redis://:${REDIS_PASSWORD}@127.0.0.1:1` },
    ...extra,
  };
}

/** A running fixture. */
export interface ConsoleFixture {
  readonly broker: Mosquitto;
  readonly agent: Agent;
  readonly web: WebConsole;
  /** The configuration file. */
  readonly file: string;
  readonly dir: string;
  readonly dataDir: string;
}

/** Starts broker, agent and console; everything stops after the test. */
export async function startConsoleFixture(
  t: TestContext,
  options: Partial<ConsoleOptions> & {
    config?: Record<string, unknown>;
    broker?: MosquittoOptions;
    /** The agent's publish timers, e.g. a ManualScheduler; default real ones. */
    scheduler?: IntervalScheduler;
  } = {},
): Promise<ConsoleFixture> {
  const defer = deferrer(t);
  const { broker: brokerOptions, config: extraConfig, scheduler, ...consoleOptions } = options;
  const broker = await startMosquitto(t, {
    allowAnonymous: false,
    users: { device: MQTT_PASSWORD, observer: 'observer-pw' },
    ...brokerOptions,
  });
  const dir = await tempDir(t, 'courier-console-');
  const file = join(dir, 'agent.json');
  const raw = lucidConfig(broker.host, broker.port, extraConfig);
  await writeFile(file, `${JSON.stringify(raw, null, 2)}\n`);
  const agent = new Agent(parseConfig(raw), {
    baseDir: dir,
    ...(scheduler === undefined ? {} : { scheduler }),
  });
  defer(() => agent.close());
  await agent.start();
  await agent.whenConnected(10000);
  const dataDir = join(dir, 'courier-data');
  const web = await startConsole({
    agent,
    store: new FileConfigStore(file),
    dataDir,
    baseDir: dir,
    port: 0,
    password: ADMIN_PASSWORD,
    snapshotMs: 200,
    ...consoleOptions,
  });
  defer(() => web.close());
  return { broker, agent, web, file, dir, dataDir };
}

/** A browser-like API client: keeps the cookie, sends the CSRF token. */
export class ApiClient {
  cookie: string | undefined;
  csrf: string | undefined;
  readonly base: string;

  constructor(base: string) {
    this.base = base;
  }

  async request(
    method: string,
    path: string,
    body?: unknown,
    headers: Record<string, string> = {},
    // biome-ignore lint/suspicious/noExplicitAny: JSON answers are read field by field
  ): Promise<{ status: number; headers: Headers; text: string; json: any }> {
    const h: Record<string, string> = { ...headers };
    if (this.cookie !== undefined) h.cookie = this.cookie;
    if (this.csrf !== undefined && method !== 'GET' && !('x-csrf-token' in h))
      h['x-csrf-token'] = this.csrf;
    let payload: string | undefined;
    if (typeof body === 'string') {
      payload = body;
      h['content-type'] ??= 'text/plain';
    } else if (body !== undefined) {
      payload = JSON.stringify(body);
      h['content-type'] = 'application/json';
    }
    const res = await fetch(`${this.base}${path}`, {
      method,
      headers: h,
      ...(payload === undefined ? {} : { body: payload }),
      redirect: 'manual',
    });
    const text = await res.text();
    let json: unknown;
    try {
      json = text === '' ? undefined : JSON.parse(text);
    } catch {
      json = undefined;
    }
    return { status: res.status, headers: res.headers, text, json };
  }

  /** Logs in; throws unless it worked. */
  async login(password = ADMIN_PASSWORD): Promise<void> {
    const r = await this.request('POST', '/api/login', { password });
    if (r.status !== 200) throw new Error(`login failed: ${r.status} ${r.text}`);
    const set = r.headers.get('set-cookie') ?? '';
    this.cookie = set.split(';')[0];
    this.csrf = r.json.csrfToken;
  }
}

/** Subscribes an independent MQTT.js client (user `observer`) to the fixture's broker. */
export async function observeFixture(
  t: TestContext,
  fx: ConsoleFixture,
  filters: string | string[],
  qos: 0 | 1 | 2,
): Promise<Seen[]> {
  const { client, seen } = await observe(
    `mqtt://observer:observer-pw@${fx.broker.host}:${fx.broker.port}`,
    filters,
    qos,
  );
  t.after(() => client.endAsync());
  return seen;
}
