/**
 * The embedded web console: a Fastify server with the JSON API of `docs/console.md` and the
 * page built from `packages/agent/ui` (served from `dist-ui/`).
 *
 * `GET /metrics` answers Prometheus without a session (read-only counters, no payloads, no
 * secrets; see `docs/observability.md`).
 *
 * Every `/api/` route but `GET /api/session` and `POST /api/login` needs the session cookie;
 * every change needs the session's CSRF token in `X-CSRF-Token` and no foreign `Origin`.
 * Secrets never leave: configurations are sent through {@link redactConfig}.
 *
 * @module
 */

import { createHash } from 'node:crypto';
import { constants as fsConstants } from 'node:fs';
import { access, mkdir, readFile } from 'node:fs/promises';
import type { ServerResponse } from 'node:http';
import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { isDeepStrictEqual } from 'node:util';
import fastifyCookie from '@fastify/cookie';
import Fastify, {
  type FastifyBaseLogger,
  type FastifyInstance,
  type FastifyReply,
  type FastifyRequest,
} from 'fastify';
import type { Logger } from 'pino';
import type { Agent, AgentSnapshot } from '../agent/agent.js';
import type { AgentEvent } from '../agent/events.js';
import { ConfigError } from '../config/errors.js';
import type { AgentConfig } from '../config/schema.js';
import { AgentError } from '../errors.js';
import { AdminPassword, adminFileStore, type PasswordHashStore } from './admin.js';
import type { ConfigStore } from './config-store.js';
import { MessageLog, messageOf } from './message-log.js';
import { agentMetrics } from './metrics.js';
import { adminPasswordIssue, isCheckablePassword } from './password.js';
import { maskUrlPassword, mergeSecrets, redactConfig } from './secrets.js';
import {
  LoginLimiter,
  type LoginLimits,
  type Session,
  type SessionLimits,
  SessionStore,
  sameToken,
} from './sessions.js';
import {
  describeTlsFiles,
  readTlsFile,
  storeTlsFile,
  TLS_FILE_KINDS,
  type TlsFileKind,
} from './tls-files.js';

/** Event streams one session may hold open (tabs of one browser). */
const MAX_STREAMS_PER_SESSION = 8;

/** The cookie that carries the session id. */
export const SESSION_COOKIE = 'courier_session';

/** Where the built page is, next to `src/` and `dist/`. */
export const DEFAULT_UI_DIR = fileURLToPath(new URL('../../dist-ui/', import.meta.url));

/** Options of {@link startConsole}. */
export interface ConsoleOptions {
  readonly agent: Agent;
  /** Where saved configurations go. */
  readonly store: ConfigStore;
  /** `web.dataDir`, resolved: admin.json and uploads. */
  readonly dataDir: string;
  /** Directory relative certificate paths start from (the config file's). */
  readonly baseDir: string;
  /** Address and port; default `web.host` / `web.port` of the agent's configuration. */
  readonly host?: string;
  readonly port?: number;
  /**
   * The admin password: a clear password (demo, tests), or by default the configuration's
   * `web.passwordHash`, else `<dataDir>/admin.json`, made at first start.
   */
  readonly password?: string;
  readonly logger?: Logger;
  readonly loginLimits?: LoginLimits;
  readonly sessionLimits?: SessionLimits;
  /** The built page. @default {@link DEFAULT_UI_DIR} */
  readonly uiDir?: string;
  /** Period of the snapshot in the event stream. @default 2000 */
  readonly snapshotMs?: number;
}

/** A running console. */
export interface WebConsole {
  readonly app: FastifyInstance;
  /** e.g. `http://127.0.0.1:8080` */
  readonly url: string;
  /**
   * The password made at this start, to print once, then call {@link WebConsole.passwordShown};
   * undefined otherwise.
   */
  readonly generatedPassword: string | undefined;
  /**
   * Records that {@link WebConsole.generatedPassword} was printed. Until then it counts as
   * never shown, and the next start replaces it with a fresh one that it prints.
   */
  passwordShown(): Promise<void>;
  close(): Promise<void>;
}

/** The top-level sections that differ between two configurations, in file order. */
function changedSections(before: AgentConfig, after: AgentConfig): string[] {
  const keys = new Set([...Object.keys(before), ...Object.keys(after)]);
  return [...keys].filter(
    (k) =>
      !isDeepStrictEqual(
        (before as Record<string, unknown>)[k],
        (after as Record<string, unknown>)[k],
      ),
  );
}

/**
 * A short handle of a session for the log: lines of one browser can be told apart and
 * matched to its login, and the cookie value (a secret) never reaches the log.
 */
function sessionTag(id: string): string {
  return createHash('sha256').update(id).digest('hex').slice(0, 8);
}

/**
 * Makes `dir` if needed and checks that it can be written: the admin password and uploads go
 * there, and a console that cannot store them must not start.
 * @throws naming the directory
 */
async function checkDataDir(dir: string): Promise<void> {
  try {
    await mkdir(dir, { recursive: true, mode: 0o700 });
    await access(dir, fsConstants.W_OK);
  } catch (error) {
    throw new Error(`web.dataDir ${dir} cannot be written: ${(error as Error).message}`, {
      cause: error,
    });
  }
}

const SECURITY_HEADERS = {
  'content-security-policy':
    "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; " +
    "connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'",
  'x-content-type-options': 'nosniff',
  'x-frame-options': 'DENY',
  'referrer-policy': 'no-referrer',
} as const;

type Body = Record<string, unknown>;

/** An API error in the shape of `docs/console.md`. */
class HttpError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly extra: Record<string, unknown> = {},
  ) {
    super(message);
  }
}

/** The snapshot as the browser may see it (a Redis password masked). */
function publicSnapshot(s: AgentSnapshot): AgentSnapshot {
  return s.redis === undefined
    ? s
    : { ...s, redis: { ...s.redis, url: maskUrlPassword(s.redis.url) } };
}

/**
 * Whether `request` was routed to an API route. Decided by the route it matched, never by the
 * URL as sent: the router decodes percent-escapes, so `/%61pi/state` reaches `/api/state`.
 */
function isApi(request: FastifyRequest): boolean {
  return request.routeOptions.url?.startsWith('/api/') === true;
}

/** Whether a host is loopback: 127.0.0.0/8, ::1 or localhost. */
function isLoopback(host: string): boolean {
  return host === '::1' || /^127\.\d+\.\d+\.\d+$/.test(host) || host === 'localhost';
}

/** The name part of a Host header: `127.0.0.1:8080` → `127.0.0.1`, `[::1]:80` → `::1`. */
function hostName(header: string): string {
  const bracket = /^\[([^\]]+)\]/.exec(header);
  if (bracket !== null) return (bracket[1] as string).toLowerCase();
  return (header.split(':')[0] ?? '').toLowerCase();
}

/** Which sections take effect only at the next start. */
function restartRequired(running: AgentConfig, next: AgentConfig): string[] {
  const listening = (c: AgentConfig) => {
    const { passwordHash: _, ...rest } = c.web;
    return rest;
  };
  return isDeepStrictEqual(listening(running), listening(next)) ? [] : ['web'];
}

/** The hash kept in `web.passwordHash`: changing it saves the configuration. */
function configHashStore(agent: Agent, store: ConfigStore): PasswordHashStore {
  return {
    async read() {
      return agent.config.web.passwordHash;
    },
    async write(hash) {
      const next = { ...agent.config, web: { ...agent.config.web, passwordHash: hash } };
      await store.save(next);
      await agent.applyChecked(next);
    },
  };
}

/**
 * Starts the console and listens.
 * @throws when the address is taken or the admin password cannot be stored
 */
export async function startConsole(options: ConsoleOptions): Promise<WebConsole> {
  const { agent, store, logger } = options;
  const startedWith = agent.config;
  let admin: AdminPassword;
  let generatedPassword: string | undefined;
  await checkDataDir(options.dataDir);
  if (options.password !== undefined) {
    admin = await AdminPassword.fromPassword(options.password);
  } else {
    const hashStore =
      agent.config.web.passwordHash !== undefined
        ? configHashStore(agent, store)
        : adminFileStore(options.dataDir);
    ({ admin, generated: generatedPassword } = await AdminPassword.open(hashStore));
  }
  const sessions = new SessionStore(options.sessionLimits);
  const limiter = new LoginLimiter(options.loginLimits);
  const messages = new MessageLog(100);
  const onEvent = (e: AgentEvent) => messages.add(e);
  agent.on('event', onEvent);
  const streams = new Map<ServerResponse, string>();
  // Configuration changes are applied one at a time, in the order they came.
  let queue: Promise<unknown> = Promise.resolve();
  const serialized = <T>(task: () => Promise<T>): Promise<T> => {
    const run = queue.then(task, task);
    queue = run.catch(() => undefined);
    return run;
  };

  // Requests are not logged one by one (Fastify logs them at info): its logger says warnings
  // and errors only; logins and changes are logged by the routes themselves.
  const tls = await readConsoleTls(agent.config, options.baseDir);
  const common = { bodyLimit: 1024 * 1024, ...(tls === undefined ? {} : { https: tls }) } as const;
  const app: FastifyInstance =
    logger === undefined
      ? (Fastify({ ...common, logger: false }) as unknown as FastifyInstance)
      : (Fastify({
          ...common,
          loggerInstance: logger.child(
            { part: 'web' },
            // 40 is pino's warn: never louder than the agent's own level.
            { level: logger.levelVal > 40 ? logger.level : 'warn' },
          ) as FastifyBaseLogger,
        }) as unknown as FastifyInstance);
  await app.register(fastifyCookie);
  app.addContentTypeParser(
    ['application/x-pem-file', 'application/octet-stream'],
    { parseAs: 'string' },
    (_req, body, done) => done(null, body),
  );

  app.addHook('onSend', async (request, reply, payload) => {
    for (const [k, v] of Object.entries(SECURITY_HEADERS)) reply.header(k, v);
    if (isApi(request)) reply.header('cache-control', 'no-store');
    return payload;
  });

  app.setErrorHandler((error: unknown, _request, reply) => {
    if (error instanceof HttpError) {
      return reply
        .code(error.status)
        .send({ error: error.message, code: error.code, ...error.extra });
    }
    const e = error as { statusCode?: number; message?: string; code?: string };
    if (typeof e.statusCode === 'number' && e.statusCode >= 400 && e.statusCode < 500) {
      // Fastify's own: a body that is not JSON, too large, a wrong content type.
      return reply
        .code(e.statusCode)
        .send({ error: e.message ?? 'bad request', code: e.code ?? 'BAD_REQUEST' });
    }
    logger?.error({ err: error }, 'console request failed');
    return reply.code(500).send({ error: 'internal error', code: 'INTERNAL' });
  });

  const sessionOf = (request: FastifyRequest): Session | undefined =>
    sessions.get(request.cookies[SESSION_COOKIE]);

  /** Refuses a request whose Origin names another site. */
  const checkOrigin = (request: FastifyRequest): void => {
    const origin = request.headers.origin;
    if (origin === undefined) return;
    let host: string;
    try {
      host = new URL(origin).host;
    } catch {
      throw new HttpError(403, 'CSRF', `Origin ${origin} is not this console`);
    }
    if (host !== request.headers.host)
      throw new HttpError(403, 'CSRF', `Origin ${origin} is not this console`);
  };

  // On loopback, only loopback names are accepted in Host: a web page whose own name resolves
  // to 127.0.0.1 (DNS rebinding) cannot talk to the console through the visitor's browser.
  const listenHost = options.host ?? agent.config.web.host;
  const loopbackOnly = isLoopback(listenHost);
  app.addHook('onRequest', async (request, reply) => {
    if (!loopbackOnly) return;
    const name = hostName(request.headers.host ?? '');
    if (!isLoopback(name)) {
      return reply
        .code(421)
        .type('text/plain')
        .send(`The console answers to 127.0.0.1, [::1] or localhost, not ${name}.\n`);
    }
  });

  const OPEN = new Set(['GET /api/session', 'POST /api/login']);
  const CHANGES = new Set(['POST', 'PUT', 'DELETE', 'PATCH']);
  app.decorateRequest('session', undefined);
  app.addHook('onRequest', async (request) => {
    if (!isApi(request)) return;
    const path = request.routeOptions.url;
    const isChange = CHANGES.has(request.method);
    if (isChange) checkOrigin(request);
    if (OPEN.has(`${request.method} ${path}`)) return;
    const session = sessionOf(request);
    if (session === undefined) throw new HttpError(401, 'UNAUTHORIZED', 'not logged in');
    if (isChange) {
      const token = request.headers['x-csrf-token'];
      if (typeof token !== 'string' || !sameToken(token, session.csrfToken))
        throw new HttpError(403, 'CSRF', 'missing or wrong CSRF token (X-CSRF-Token)');
    }
    (request as FastifyRequest & { session: Session }).session = session;
  });
  const session = (request: FastifyRequest) =>
    (request as FastifyRequest & { session: Session }).session;
  /** Who made a change, for the log: the address and the session's handle. */
  const who = (request: FastifyRequest) => ({
    address: request.ip,
    session: sessionTag(session(request).id),
  });

  const configAnswer = async (extra: Record<string, unknown> = {}) => {
    const { config, secrets } = redactConfig(agent.config);
    return {
      config,
      secrets,
      file: store.file ?? null,
      previous: (await store.previous()) !== undefined,
      ...extra,
    };
  };

  const bodyObject = (request: FastifyRequest): Body => {
    const body = request.body;
    if (typeof body !== 'object' || body === null || Array.isArray(body))
      throw new HttpError(400, 'BAD_REQUEST', 'the body must be a JSON object');
    return body as Body;
  };

  /**
   * Validates, saves atomically, then applies; nothing is saved or applied when invalid. The
   * change is logged with who made it and which sections changed (never their values: they
   * may hold secrets).
   */
  const saveAndApply = (raw: unknown, request: FastifyRequest, action: 'saved' | 'rolled back') =>
    serialized(async () => {
      const checked = await agent.checkConfig(raw);
      if (!checked.ok)
        throw new HttpError(422, 'CONFIG', 'invalid configuration', { issues: checked.issues });
      try {
        await store.save(checked.config);
      } catch (error) {
        // Nothing is applied that is not on disk: a read-only or full disk leaves all as it was.
        throw new HttpError(
          500,
          'SAVE_FAILED',
          `cannot save the configuration${store.file === undefined ? '' : ` to ${store.file}`}: ${(error as Error).message}`,
        );
      }
      const sections = changedSections(agent.config, checked.config);
      const applied = await agent.applyChecked(checked.config);
      logger?.info(
        { ...who(request), sections, applied, file: store.file },
        `console: configuration ${action}${sections.length === 0 ? ' (no change)' : `: ${sections.join(', ')}`}`,
      );
      return configAnswer({
        applied,
        restartRequired: restartRequired(startedWith, checked.config),
      });
    });

  // --- session -----------------------------------------------------------------------------

  // Open to anyone who reaches the port: signed out, it says only that. The device name is
  // part of the configuration and is shown once signed in.
  app.get('/api/session', async (request) => {
    const s = sessionOf(request);
    if (s === undefined) return { authenticated: false };
    return { authenticated: true, csrfToken: s.csrfToken, device: agent.config.device.name };
  });

  /**
   * Checks the admin password sent from `request`'s address. Refused without a check (429)
   * while the address is limited, or (503) while too many checks are queued. An attempt counts
   * as wrong from the moment it is accepted until it proves right, so concurrent requests
   * cannot try more passwords than the limit allows.
   */
  async function checkAdmin(
    request: FastifyRequest,
    reply: FastifyReply,
    password: unknown,
  ): Promise<boolean> {
    const address = request.ip;
    const wait = limiter.retryAfterMs(address);
    if (wait > 0) {
      const retryAfterSec = Math.ceil(wait / 1000);
      reply.header('retry-after', String(retryAfterSec));
      throw new HttpError(
        429,
        'RATE_LIMITED',
        `too many wrong passwords; try again in ${retryAfterSec} s`,
        { retryAfterSec },
      );
    }
    // A megabyte of "password" would only cost scrypt time: anything longer than a password
    // may be (the same bound as setting one) is wrong without a check.
    const check = isCheckablePassword(password) ? admin.verify(password) : Promise.resolve(false);
    if (check === undefined) {
      reply.header('retry-after', '1');
      throw new HttpError(503, 'BUSY', 'too many password checks at once; try again in a second');
    }
    limiter.fail(address);
    if (!(await check)) {
      logger?.warn({ address }, 'console password refused: wrong password');
      return false;
    }
    limiter.succeed(address);
    return true;
  }

  app.post('/api/login', async (request, reply) => {
    if (!(await checkAdmin(request, reply, bodyObject(request).password)))
      throw new HttpError(401, 'UNAUTHORIZED', 'wrong password');
    const s = sessions.create();
    logger?.info({ address: request.ip, session: sessionTag(s.id) }, 'console login');
    reply.setCookie(SESSION_COOKIE, s.id, {
      httpOnly: true,
      sameSite: 'strict',
      path: '/',
      secure: request.protocol === 'https',
    });
    return { csrfToken: s.csrfToken };
  });

  app.post('/api/logout', async (request, reply) => {
    const s = session(request);
    logger?.info(who(request), 'console logout');
    sessions.delete(s.id);
    endStreams((id) => id === s.id);
    reply.clearCookie(SESSION_COOKIE, { path: '/' });
    return reply.code(204).send();
  });

  app.post('/api/password', async (request, reply) => {
    const body = bodyObject(request);
    const { current, next } = body;
    if (!(await checkAdmin(request, reply, current)))
      throw new HttpError(401, 'UNAUTHORIZED', 'the current password is wrong');
    if (typeof next !== 'string')
      throw new HttpError(400, 'BAD_PASSWORD', 'the new password must be a string');
    const refused = adminPasswordIssue(next);
    if (refused !== undefined)
      throw new HttpError(400, 'BAD_PASSWORD', `the new password ${refused}`);
    await serialized(() => admin.change(next));
    // Everybody else is logged out; this browser stays in.
    const keep = session(request).id;
    sessions.clearExcept(keep);
    endStreams((id) => id !== keep);
    logger?.info(who(request), 'console: admin password changed (every other session logged out)');
    return reply.code(204).send();
  });

  // --- configuration -----------------------------------------------------------------------

  app.get('/api/config', async () => configAnswer());

  app.put('/api/config', async (request) => {
    const body = bodyObject(request);
    if (!('config' in body)) throw new HttpError(400, 'BAD_REQUEST', 'the body needs "config"');
    return saveAndApply(mergeSecrets(body.config, agent.config), request, 'saved');
  });

  app.post('/api/config/validate', async (request) => {
    const body = bodyObject(request);
    const checked = await agent.checkConfig(mergeSecrets(body.config, agent.config));
    return checked.ok ? { ok: true } : { ok: false, issues: checked.issues };
  });

  app.post('/api/config/rollback', async (request) => {
    const previous = await store.previous();
    if (previous === undefined)
      throw new HttpError(409, 'NO_PREVIOUS', 'there is no previous configuration to roll back to');
    // The admin password is not part of a roll-back: the one in force stays.
    const { passwordHash: _, ...web } = previous.web;
    const hash = agent.config.web.passwordHash;
    return saveAndApply(
      { ...previous, web: hash === undefined ? web : { ...web, passwordHash: hash } },
      request,
      'rolled back',
    );
  });

  // --- certificates ------------------------------------------------------------------------

  app.get('/api/files', async () => {
    const { security, backup } = agent.config;
    const main = await describeTlsFiles(security, options.baseDir);
    if (backup === undefined) return main;
    return { ...main, backup: await describeTlsFiles(backup.security, options.baseDir) };
  });

  app.put<{ Params: { kind: string } }>('/api/files/:kind', async (request) => {
    const kind = request.params.kind;
    if (!TLS_FILE_KINDS.includes(kind as TlsFileKind))
      throw new HttpError(404, 'NOT_FOUND', `no file kind "${kind}" (ca, cert or key)`);
    if (typeof request.body !== 'string' || request.body === '')
      throw new HttpError(
        400,
        'BAD_FILE',
        'send the PEM file as the body (Content-Type: text/plain)',
      );
    let stored: Awaited<ReturnType<typeof storeTlsFile>>;
    try {
      stored = await storeTlsFile(options.dataDir, kind as TlsFileKind, request.body);
    } catch (error) {
      if (error instanceof AgentError) {
        logger?.warn(
          { ...who(request), kind, reason: error.message },
          `console: ${kind} upload refused: ${error.message}`,
        );
        throw new HttpError(400, 'BAD_FILE', error.message);
      }
      throw error;
    }
    logger?.info(
      { ...who(request), kind, bytes: Buffer.byteLength(request.body) },
      `console: ${kind} file uploaded`,
    );
    return stored;
  });

  // --- live --------------------------------------------------------------------------------

  app.get('/api/state', async () => publicSnapshot(agent.snapshot()));
  // Prometheus scrapes without a browser session: what it reads is counters and names.
  const metrics = agentMetrics(agent);
  app.get('/metrics', async (_request, reply) =>
    reply.type(metrics.contentType).send(await metrics.render()),
  );
  app.get('/api/messages', async () => ({ messages: messages.list() }));

  app.post<{ Params: { id: string } }>('/api/channels/:id', async (request, reply) => {
    const id = Number(request.params.id);
    const value = bodyObject(request).value;
    if (!Number.isInteger(id))
      throw new HttpError(404, 'NOT_FOUND', `no channel ${request.params.id}`);
    if (typeof value !== 'boolean' && typeof value !== 'number')
      throw new HttpError(400, 'BAD_VALUE', '"value" must be true, false or a number');
    try {
      await agent.setOutput(id, value);
    } catch (error) {
      if (error instanceof AgentError) throw new HttpError(400, error.code, error.message);
      throw error;
    }
    const name = agent.config.device.channels.find((c) => c.id === id)?.name;
    logger?.info(
      { ...who(request), channel: id, name, value },
      `console: output ${id}${name === undefined ? '' : ` (${name})`} set to ${String(value)}`,
    );
    return reply.code(204).send();
  });

  const snapshotMs = options.snapshotMs ?? 2000;
  function endStreams(which: (sessionId: string) => boolean): void {
    for (const [res, id] of streams) if (which(id)) res.end();
  }

  app.get('/api/events', (request, reply: FastifyReply) => {
    const id = session(request).id;
    const open = [...streams.values()].filter((s) => s === id).length;
    if (open >= MAX_STREAMS_PER_SESSION) {
      throw new HttpError(
        429,
        'TOO_MANY_STREAMS',
        `at most ${MAX_STREAMS_PER_SESSION} event streams per session: close a tab`,
      );
    }
    reply.hijack();
    const res = reply.raw;
    res.writeHead(200, {
      ...SECURITY_HEADERS,
      'content-type': 'text/event-stream; charset=utf-8',
      'cache-control': 'no-store',
      connection: 'keep-alive',
      'x-accel-buffering': 'no',
    });
    const send = (event: string, data: unknown) => {
      // A browser that stopped reading must not make the agent buffer without bound.
      if (res.writableLength > 1024 * 1024) {
        res.end();
        return;
      }
      res.write(`event: ${event}\ndata: ${JSON.stringify(data)}\n\n`);
    };
    const listener = (e: AgentEvent) => {
      send('agent', e);
      // A message in or out also goes as the log keeps it: the page adds it to its list as is.
      const message = messageOf(e);
      if (message !== undefined) send('message', message);
    };
    const timer = setInterval(() => {
      if (!sessions.has(id)) res.end();
      else send('snapshot', publicSnapshot(agent.snapshot()));
    }, snapshotMs);
    timer.unref();
    streams.set(res, id);
    agent.on('event', listener);
    res.on('close', () => {
      clearInterval(timer);
      agent.off('event', listener);
      streams.delete(res);
    });
    res.write('retry: 2000\n\n');
    send('snapshot', publicSnapshot(agent.snapshot()));
  });

  // --- the page ----------------------------------------------------------------------------

  const uiDir = options.uiDir ?? DEFAULT_UI_DIR;
  const page = await loadPage(uiDir);
  if (page !== undefined) {
    // The build is three files; they are served from memory by name, so no path a request
    // names can reach anything else on the device.
    for (const [name, file] of page) {
      app.get(name === 'index.html' ? '/' : `/${name}`, async (request, reply) => {
        reply.header('cache-control', 'no-cache').header('etag', file.etag).type(file.type);
        if (request.headers['if-none-match'] === file.etag) return reply.code(304).send();
        return reply.send(file.body);
      });
    }
  } else {
    app.get('/', async (_request, reply) =>
      reply
        .code(503)
        .type('text/plain')
        .send(`The console page is not built (${uiDir}): run npm run build.\n`),
    );
  }
  // Browsers ask for it whatever the page says; the page's icon is inline.
  app.get('/favicon.ico', async (_request, reply) => reply.code(204).send());
  app.setNotFoundHandler(async (request, reply) => {
    if (request.url.startsWith('/api/'))
      return reply
        .code(404)
        .send({ error: `no ${request.method} ${request.url}`, code: 'NOT_FOUND' });
    return reply.code(404).type('text/plain').send('not found\n');
  });

  const host = listenHost;
  const port = options.port ?? agent.config.web.port;
  await app.listen({ host, port });
  const address = app.server.address();
  const boundPort = typeof address === 'object' && address !== null ? address.port : port;
  const urlHost = host.includes(':') ? `[${host}]` : host;
  const url = `${tls === undefined ? 'http' : 'https'}://${urlHost}:${boundPort}`;
  logger?.info({ url }, 'web console listening');
  if (tls === undefined && !loopbackOnly) {
    // Reachable from the network in clear text: the admin password and the session cookie
    // cross it readable by anyone on the path.
    logger?.warn(
      { url },
      'web console served over plain HTTP on a network address: set web.tls (cert, key) or bind it to 127.0.0.1',
    );
  }

  return {
    app,
    url,
    generatedPassword,
    passwordShown: () => admin.markShown(),
    async close() {
      agent.off('event', onEvent);
      metrics.close();
      endStreams(() => true);
      await app.close();
    },
  };
}

/**
 * The console's certificate and key (`web.tls`), read and checked before anything listens.
 * @throws {ConfigError} naming the field when a file cannot be read or is not PEM
 */
async function readConsoleTls(
  config: AgentConfig,
  baseDir: string,
): Promise<{ cert: string; key: string } | undefined> {
  const tls = config.web.tls;
  if (tls === undefined) return undefined;
  const read = async (field: 'cert' | 'key'): Promise<string> => {
    const path = tls[field];
    try {
      // Bounded and parsed by the same function as the MQTT client's files.
      return (await readTlsFile(field, path, baseDir)).text;
    } catch (error) {
      throw new ConfigError([
        {
          path: `web.tls.${field}`,
          message: `cannot use ${JSON.stringify(path)}: ${(error as Error).message}`,
        },
      ]);
    }
  };
  return { cert: await read('cert'), key: await read('key') };
}

/** One file of the built page. */
interface PageFile {
  readonly body: Buffer;
  readonly type: string;
  readonly etag: string;
}

const PAGE_FILES: Record<string, string> = {
  'index.html': 'text/html; charset=utf-8',
  'app.js': 'text/javascript; charset=utf-8',
  'app.css': 'text/css; charset=utf-8',
};

/** The built page (`dist-ui/`), or undefined when it has not been built. */
async function loadPage(dir: string): Promise<Map<string, PageFile> | undefined> {
  const files = new Map<string, PageFile>();
  for (const [name, type] of Object.entries(PAGE_FILES)) {
    let body: Buffer;
    try {
      body = await readFile(resolve(dir, name));
    } catch {
      return undefined;
    }
    const etag = `"${createHash('sha256').update(body).digest('base64url').slice(0, 22)}"`;
    files.set(name, { body, type, etag });
  }
  return files;
}

/** `web.dataDir` resolved against the configuration file's directory. */
export function resolveDataDir(config: AgentConfig, baseDir: string): string {
  return resolve(baseDir, config.web.dataDir);
}
