// The web console's JSON API against a real agent on a real Mosquitto: every endpoint, and
// the security rules (login, rate limit, session cookie, CSRF, secrets, upload modes).
import assert from 'node:assert/strict';
import { mkdir, readdir, readFile, stat } from 'node:fs/promises';
import { request as httpRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { connect } from 'courier-mqtt';
import { pino } from 'pino';
import { testCerts } from '../../../test/helpers/certs.js';
import { tempDir } from '../../../test/helpers/tmp.js';
import { Agent } from '../src/agent/agent.js';
import { parseConfig } from '../src/config/validate.js';
import { MemoryConfigStore } from '../src/web/config-store.js';
import { hashPassword } from '../src/web/password.js';
import { startConsole } from '../src/web/server.js';
import {
  ADMIN_PASSWORD,
  ApiClient,
  lucidConfig,
  MQTT_PASSWORD,
  observeFixture,
  REDIS_PASSWORD,
  startConsoleFixture,
} from './console-util.js';
import { ManualScheduler } from './manual-scheduler.js';
import { deferrer, waitFor } from './util.js';

const PROTECTED: [string, string, unknown?][] = [
  ['GET', '/api/config'],
  ['PUT', '/api/config', { config: {} }],
  ['POST', '/api/config/validate', { config: {} }],
  ['POST', '/api/config/rollback', {}],
  ['GET', '/api/files'],
  ['PUT', '/api/files/ca', 'x'],
  ['GET', '/api/state'],
  ['GET', '/api/messages'],
  ['GET', '/api/events'],
  ['POST', '/api/channels/0', { value: true }],
  ['POST', '/api/logout', {}],
  ['POST', '/api/password', { current: ADMIN_PASSWORD, next: 'another password' }],
];

const SECRETS = [MQTT_PASSWORD, REDIS_PASSWORD];

function assertNoSecret(text: string, where: string, extra: readonly string[] = []): void {
  for (const secret of [...SECRETS, ...extra]) {
    assert.ok(!text.includes(secret), `${where} contains a secret (${secret.slice(0, 6)}…)`);
  }
}

describe('console API: authentication', () => {
  it('refuses every protected endpoint without a session, and says so in JSON', async (t) => {
    const fx = await startConsoleFixture(t);
    const api = new ApiClient(fx.web.url);
    for (const [method, path, body] of PROTECTED) {
      // The router decodes percent-escapes: the check must hold for every spelling it routes.
      for (const spelled of [
        path,
        path.replace('/api/', '/%61pi/'),
        path.replace('/api/', '/%61%70%69/'),
      ]) {
        const r = await api.request(method, spelled, body);
        assert.equal(r.status, 401, `${method} ${spelled} → ${r.status}`);
        assert.equal(r.json.code, 'UNAUTHORIZED', `${method} ${spelled}`);
      }
    }
    // A forged cookie is no session either.
    api.cookie = 'courier_session=forged';
    assert.equal((await api.request('GET', '/api/state')).status, 401);
    const s = await api.request('GET', '/api/session');
    assert.equal(s.status, 200);
    assert.equal(s.json.authenticated, false);
    assert.equal(s.json.csrfToken, undefined);
  });

  it('logs in with a session cookie that is HttpOnly and SameSite=Strict, and logs out', async (t) => {
    const fx = await startConsoleFixture(t);
    const api = new ApiClient(fx.web.url);
    const r = await api.request('POST', '/api/login', { password: ADMIN_PASSWORD });
    assert.equal(r.status, 200);
    const cookie = r.headers.get('set-cookie') ?? '';
    assert.match(cookie, /^courier_session=[\w-]{40,};/);
    assert.match(cookie, /HttpOnly/i);
    assert.match(cookie, /SameSite=Strict/i);
    assert.match(cookie, /Path=\//);
    assert.equal(typeof r.json.csrfToken, 'string');
    api.cookie = cookie.split(';')[0];
    api.csrf = r.json.csrfToken;
    const s = await api.request('GET', '/api/session');
    assert.deepEqual(s.json, {
      authenticated: true,
      csrfToken: api.csrf,
      device: 'LucidIoT test module',
    });
    assert.equal((await api.request('GET', '/api/state')).status, 200);
    assert.equal((await api.request('POST', '/api/logout', {})).status, 204);
    assert.equal((await api.request('GET', '/api/state')).status, 401);
  });

  it('rate limits wrong passwords per address: 429 with Retry-After, even for the right one', async (t) => {
    const fx = await startConsoleFixture(t, { loginLimits: { maxFailures: 3, windowMs: 60_000 } });
    const api = new ApiClient(fx.web.url);
    for (let i = 0; i < 3; i++) {
      const r = await api.request('POST', '/api/login', { password: `wrong ${i}` });
      assert.equal(r.status, 401);
      assert.equal(r.json.error, 'wrong password');
    }
    const limited = await api.request('POST', '/api/login', { password: 'wrong again' });
    assert.equal(limited.status, 429);
    assert.equal(limited.json.code, 'RATE_LIMITED');
    const after = Number(limited.headers.get('retry-after'));
    assert.ok(after > 0 && after <= 60, `Retry-After ${after}`);
    assert.equal(limited.json.retryAfterSec, after);
    // While limited the password is not even checked.
    const right = await api.request('POST', '/api/login', { password: ADMIN_PASSWORD });
    assert.equal(right.status, 429);
  });

  it('a burst of concurrent wrong passwords is limited too: attempts in flight count', async (t) => {
    const fx = await startConsoleFixture(t, { loginLimits: { maxFailures: 3, windowMs: 60_000 } });
    const api = new ApiClient(fx.web.url);
    const answers = await Promise.all(
      Array.from({ length: 12 }, (_, i) =>
        api.request('POST', '/api/login', { password: `burst ${i}` }),
      ),
    );
    const statuses = answers.map((a) => a.status).sort();
    assert.deepEqual(statuses, [401, 401, 401, ...Array(9).fill(429)]);
  });

  it('the current password of a password change is rate limited like a login', async (t) => {
    const fx = await startConsoleFixture(t, { loginLimits: { maxFailures: 2, windowMs: 60_000 } });
    const api = new ApiClient(fx.web.url);
    await api.login();
    const change = (current: string) =>
      api.request('POST', '/api/password', { current, next: 'a new admin password' });
    assert.equal((await change('wrong one')).status, 401);
    assert.equal((await change('wrong two')).status, 401);
    const limited = await change(ADMIN_PASSWORD);
    assert.equal(limited.status, 429);
    assert.equal(limited.json.code, 'RATE_LIMITED');
  });

  it('the failure window slides: an address may try again once it has passed', async (t) => {
    // The limiter's clock is the test's: the window ends when the test says, not after a sleep.
    let nowMs = 1_000_000;
    const fx = await startConsoleFixture(t, {
      loginLimits: { maxFailures: 2, windowMs: 400, now: () => nowMs },
    });
    const api = new ApiClient(fx.web.url);
    await api.request('POST', '/api/login', { password: 'a' });
    nowMs += 100;
    await api.request('POST', '/api/login', { password: 'b' });
    assert.equal(
      (await api.request('POST', '/api/login', { password: ADMIN_PASSWORD })).status,
      429,
    );
    nowMs += 299; // 399 ms after the first failure: still inside the window
    assert.equal(
      (await api.request('POST', '/api/login', { password: ADMIN_PASSWORD })).status,
      429,
    );
    nowMs += 1; // the first failure leaves the window; one remains, under the limit of 2
    await api.login();
  });

  it('requires the CSRF token on every change, and refuses a foreign Origin', async (t) => {
    const fx = await startConsoleFixture(t);
    const api = new ApiClient(fx.web.url);
    await api.login();
    const token = api.csrf as string;
    const changes = PROTECTED.filter(([m, p]) => m !== 'GET' && p !== '/api/logout');
    for (const [method, path, body] of changes) {
      const none = await api.request(method, path, body, { 'x-csrf-token': '' });
      assert.equal(none.status, 403, `${method} ${path} without token → ${none.status}`);
      assert.equal(none.json.code, 'CSRF');
      const wrong = await api.request(method, path, body, { 'x-csrf-token': `${token}x` });
      assert.equal(wrong.status, 403, `${method} ${path} with a wrong token`);
    }
    const foreign = await api.request(
      'POST',
      '/api/channels/1',
      { value: true },
      {
        origin: 'http://evil.example',
      },
    );
    assert.equal(foreign.status, 403);
    assert.match(foreign.json.error, /Origin http:\/\/evil\.example/);
    // A login from another site is refused too (login CSRF).
    const fresh = new ApiClient(fx.web.url);
    const login = await fresh.request(
      'POST',
      '/api/login',
      { password: ADMIN_PASSWORD },
      {
        origin: 'http://evil.example',
      },
    );
    assert.equal(login.status, 403);
    // Nothing of the above changed the output.
    assert.equal(fx.agent.snapshot().channels.find((c) => c.id === 1)?.value, false);
    // The same change with the token and our own origin works.
    const ok = await api.request(
      'POST',
      '/api/channels/1',
      { value: true },
      {
        origin: fx.web.url,
      },
    );
    assert.equal(ok.status, 204);
    assert.equal(fx.agent.snapshot().channels.find((c) => c.id === 1)?.value, true);
  });

  it('on loopback, answers only to loopback host names (no DNS rebinding)', async (t) => {
    const fx = await startConsoleFixture(t);
    const get = (host: string) =>
      new Promise<{ status: number; body: string }>((resolve, reject) => {
        const req = httpRequest(
          new URL('/api/session', fx.web.url),
          { headers: { host } },
          (res) => {
            let body = '';
            res.setEncoding('utf8');
            res.on('data', (d: string) => {
              body += d;
            });
            res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
          },
        );
        req.on('error', reject);
        req.end();
      });
    const port = new URL(fx.web.url).port;
    const rebound = await get(`attacker.example:${port}`);
    assert.equal(rebound.status, 421);
    assert.match(rebound.body, /not attacker\.example/);
    for (const host of [`127.0.0.1:${port}`, `localhost:${port}`, `[::1]:${port}`]) {
      assert.equal((await get(host)).status, 200, host);
    }
  });

  it('changes the admin password: the old one stops working, other sessions end', async (t) => {
    const fx = await startConsoleFixture(t);
    const a = new ApiClient(fx.web.url);
    const b = new ApiClient(fx.web.url);
    await a.login();
    await b.login();
    const wrong = await a.request('POST', '/api/password', {
      current: 'nope',
      next: 'long enough',
    });
    assert.equal(wrong.status, 401);
    const short = await a.request('POST', '/api/password', {
      current: ADMIN_PASSWORD,
      next: 'short',
    });
    assert.equal(short.status, 400);
    assert.match(short.json.error, /at least 8 characters/);
    const ok = await a.request('POST', '/api/password', {
      current: ADMIN_PASSWORD,
      next: 'a new admin password',
    });
    assert.equal(ok.status, 204);
    assert.equal((await a.request('GET', '/api/state')).status, 200, 'this browser stays in');
    assert.equal((await b.request('GET', '/api/state')).status, 401, 'the other is logged out');
    const c = new ApiClient(fx.web.url);
    assert.equal((await c.request('POST', '/api/login', { password: ADMIN_PASSWORD })).status, 401);
    await c.login('a new admin password');
  });

  it('first start: makes a password, stores only its scrypt hash (0600), and accepts it', async (t) => {
    const defer = deferrer(t);
    const dir = await tempDir(t, 'courier-first-');
    const agent = new Agent(parseConfig(lucidConfig('127.0.0.1', 1)), { baseDir: dir });
    const dataDir = join(dir, 'data');
    const web = await startConsole({
      agent,
      store: new MemoryConfigStore(agent.config),
      dataDir,
      baseDir: dir,
      port: 0,
    });
    defer(() => web.close());
    assert.match(web.generatedPassword ?? '', /^\w{16}$/);
    const file = join(dataDir, 'admin.json');
    const text = await readFile(file, 'utf8');
    assert.ok(!text.includes(web.generatedPassword as string));
    assert.match(JSON.parse(text).passwordHash, /^scrypt\$32768\$8\$1\$/);
    assert.equal((await stat(file)).mode & 0o777, 0o600);
    assert.equal((await stat(dataDir)).mode & 0o777, 0o700);
    const api = new ApiClient(web.url);
    await api.login(web.generatedPassword);
    // Binds to loopback by default.
    assert.match(web.url, /^http:\/\/127\.0\.0\.1:\d+$/);
    // The caller printed it (courier agent does, once the whole agent runs).
    await web.passwordShown();
    await web.close();
    // The second start keeps the stored password and prints nothing.
    const again = await startConsole({
      agent,
      store: new MemoryConfigStore(agent.config),
      dataDir,
      baseDir: dir,
      port: 0,
    });
    defer(() => again.close());
    assert.equal(again.generatedPassword, undefined);
    await new ApiClient(again.url).login(web.generatedPassword);
  });

  it('takes the password hash from web.passwordHash, and a change saves the file', async (t) => {
    const hash = await hashPassword('hash from config');
    const fx = await startConsoleFixture(t, {
      password: undefined,
      config: { web: { passwordHash: hash } },
    } as never);
    const api = new ApiClient(fx.web.url);
    await api.login('hash from config');
    const cfg = await api.request('GET', '/api/config');
    assert.equal(cfg.json.config.web.passwordHash, undefined, 'the hash is a secret too');
    assert.equal(cfg.json.secrets['web.passwordHash'], true);
    assert.ok(!cfg.text.includes(hash.split('$')[5] as string));
    const r = await api.request('POST', '/api/password', {
      current: 'hash from config',
      next: 'changed in console',
    });
    assert.equal(r.status, 204);
    const saved = JSON.parse(await readFile(fx.file, 'utf8'));
    assert.match(saved.web.passwordHash, /^scrypt\$/);
    assert.notEqual(saved.web.passwordHash, hash);
    await new ApiClient(fx.web.url).login('changed in console');
    // A roll-back restores the configuration, not the old admin password.
    const back = await api.request('POST', '/api/config/rollback', {});
    assert.equal(back.status, 200, back.text);
    const after = JSON.parse(await readFile(fx.file, 'utf8'));
    assert.equal(after.web.passwordHash, saved.web.passwordHash);
    await new ApiClient(fx.web.url).login('changed in console');
  });
});

describe('console API: HTTPS', () => {
  it('serves over HTTPS with web.tls, and the session cookie is then Secure', async (t) => {
    const defer = deferrer(t);
    const certs = await testCerts();
    const dir = await tempDir(t, 'courier-https-');
    const agent = new Agent(
      parseConfig(
        lucidConfig('127.0.0.1', 1, {
          web: { tls: { cert: certs.server.certFile, key: certs.server.keyFile } },
        }),
      ),
      { baseDir: dir },
    );
    const web = await startConsole({
      agent,
      store: new MemoryConfigStore(agent.config),
      dataDir: dir,
      baseDir: dir,
      port: 0,
      password: ADMIN_PASSWORD,
    });
    defer(() => web.close());
    assert.match(web.url, /^https:\/\/127\.0\.0\.1:\d+$/);
    const answer = await new Promise<{ status: number; cookie: string }>((resolve, reject) => {
      const req = httpsRequest(
        new URL('/api/login', web.url),
        { method: 'POST', ca: certs.ca.cert, headers: { 'content-type': 'application/json' } },
        (res) => {
          res.resume();
          res.on('end', () =>
            resolve({ status: res.statusCode ?? 0, cookie: String(res.headers['set-cookie']) }),
          );
        },
      );
      req.on('error', reject);
      req.end(JSON.stringify({ password: ADMIN_PASSWORD }));
    });
    assert.equal(answer.status, 200);
    assert.match(answer.cookie, /; Secure/i);
    assert.match(answer.cookie, /HttpOnly/i);
  });

  it('warns when it serves plain HTTP on a network address, not on loopback', async (t) => {
    const defer = deferrer(t);
    const dir = await tempDir(t, 'courier-plain-');
    const agent = new Agent(parseConfig(lucidConfig('127.0.0.1', 1)), { baseDir: dir });
    const warnings = async (host: string): Promise<string[]> => {
      const lines: string[] = [];
      const logger = pino({ level: 'info' }, { write: (line: string) => lines.push(line) });
      const web = await startConsole({
        agent,
        logger,
        store: new MemoryConfigStore(agent.config),
        dataDir: dir,
        baseDir: dir,
        host,
        port: 0,
        password: ADMIN_PASSWORD,
      });
      defer(() => web.close());
      return lines
        .map((l) => JSON.parse(l))
        .filter((l) => l.level === 40)
        .map((l) => l.msg);
    };
    assert.deepEqual(await warnings('127.0.0.1'), []);
    assert.deepEqual(await warnings('0.0.0.0'), [
      'web console served over plain HTTP on a network address: set web.tls (cert, key) or bind it to 127.0.0.1',
    ]);
  });

  it('refuses to start on a web.tls file it cannot use, naming the field', async (t) => {
    const dir = await tempDir(t, 'courier-https-bad-');
    const certs = await testCerts();
    const agent = new Agent(
      parseConfig(
        lucidConfig('127.0.0.1', 1, {
          web: { tls: { cert: certs.server.keyFile, key: certs.server.keyFile } },
        }),
      ),
    );
    await assert.rejects(
      startConsole({
        agent,
        store: new MemoryConfigStore(agent.config),
        dataDir: dir,
        baseDir: dir,
        port: 0,
        password: ADMIN_PASSWORD,
      }),
      (error: Error) => {
        assert.match(error.message, /web\.tls\.cert: cannot use .*not a PEM certificate/);
        return true;
      },
    );
  });
});

describe('console API: configuration', () => {
  it('GET /api/config: every default, no secret, and which secrets are set', async (t) => {
    const fx = await startConsoleFixture(t);
    const api = new ApiClient(fx.web.url);
    await api.login();
    const r = await api.request('GET', '/api/config');
    assert.equal(r.status, 200);
    assert.equal(r.headers.get('cache-control'), 'no-store');
    assertNoSecret(r.text, 'GET /api/config');
    assert.equal(r.json.config.login.username, 'device');
    assert.equal(r.json.config.login.password, undefined);
    assert.equal(r.json.config.redis.url, 'redis://:********@127.0.0.1:1');
    assert.equal(r.json.config.topics[1].pubIntervalMs, 1000);
    assert.equal(r.json.config.connection.ipv6, true, 'defaults are filled in');
    assert.deepEqual(r.json.secrets, {
      'login.password': true,
      'security.psk.key': false,
      'backup.login.password': false,
      'backup.security.psk.key': false,
      'azure.deviceKey': false,
      'murano.password': false,
      'web.passwordHash': false,
      'redis.url': true,
    });
    assert.equal(r.json.file, fx.file);
    assert.equal(r.json.previous, false);
  });

  it('PUT with an invalid QoS: 422 naming the field, nothing saved, nothing applied', async (t) => {
    const fx = await startConsoleFixture(t);
    const api = new ApiClient(fx.web.url);
    await api.login();
    const before = await readFile(fx.file, 'utf8');
    const { json } = await api.request('GET', '/api/config');
    json.config.topics[1].qos = 5;
    json.config.connection.port = 70000;
    const r = await api.request('PUT', '/api/config', { config: json.config });
    assert.equal(r.status, 422);
    assert.equal(r.json.code, 'CONFIG');
    assert.deepEqual(r.json.issues.map((i: { path: string }) => i.path).sort(), [
      'connection.port',
      'topics[1].qos',
    ]);
    assert.equal(
      r.json.issues.find((i: { path: string }) => i.path === 'topics[1].qos').message,
      'must be 0, 1 or 2',
    );
    assert.equal(await readFile(fx.file, 'utf8'), before, 'the file is untouched');
    assert.equal(fx.agent.config.topics[1]?.qos, 2, 'the running config is untouched');
    assert.equal(fx.agent.state, 'CONNECTED');
    // The validate endpoint says the same without saving.
    const v = await api.request('POST', '/api/config/validate', { config: json.config });
    assert.equal(v.json.ok, false);
    assert.equal(v.json.issues.length, 2);
    json.config.topics[1].qos = 1;
    json.config.connection.port = fx.broker.port;
    assert.deepEqual(
      (await api.request('POST', '/api/config/validate', { config: json.config })).json,
      {
        ok: true,
      },
    );
  });

  it('PUT of a new interval: saved atomically (0600, .prev kept), applied on the same connection', async (t) => {
    // The publish timers run on a manual scheduler: the period is read, and time moved on by
    // the test, so a loaded machine cannot change what the broker sees.
    const scheduler = new ManualScheduler();
    const fx = await startConsoleFixture(t, { scheduler });
    const api = new ApiClient(fx.web.url);
    await api.login();
    const before = await readFile(fx.file, 'utf8');
    const states: string[] = [];
    fx.agent.on('state', (e) => e.type === 'state' && states.push(e.state));
    const { json } = await api.request('GET', '/api/config');
    json.config.topics[1].pubIntervalMs = 150;
    assert.deepEqual(scheduler.periods(), [250, 1000], 'ValveState and OfficeTemp as configured');
    const row = () => fx.agent.snapshot().rows.find((r) => r.topic === 'OfficeTemp');
    // The first OfficeTemp has completed its flow before the observer subscribes: it sees
    // only what the new table sends.
    await waitFor(() => row()?.published === 1, 'the first OfficeTemp');
    const seen = await observeFixture(t, fx, 'OfficeTemp', 0);
    const r = await api.request('PUT', '/api/config', { config: json.config });
    assert.equal(r.status, 200, r.text);
    assert.equal(r.json.applied, 'updated');
    assert.deepEqual(r.json.restartRequired, []);
    assert.equal(r.json.previous, true);
    assertNoSecret(r.text, 'PUT answer');
    // On disk: the new file, the secret kept though the browser never had it, mode 0600.
    const saved = JSON.parse(await readFile(fx.file, 'utf8'));
    assert.equal(saved.topics[1].pubIntervalMs, 150);
    assert.equal(saved.login.password, MQTT_PASSWORD);
    assert.equal((await stat(fx.file)).mode & 0o777, 0o600);
    assert.equal(await readFile(`${fx.file}.prev`, 'utf8'), before);
    assert.deepEqual(
      (await readdir(fx.dir)).filter((f) => f.endsWith('.tmp')),
      [],
    );
    // Applied without a reconnect: the row's timer now runs every 150 ms (the 1000 ms one is
    // gone), the new table sends at once, and the broker sees one OfficeTemp per 150 ms.
    assert.deepEqual(scheduler.periods(), [150, 250]);
    const ticks = (called: number[]) => called.filter((p) => p === 150).length;
    for (let n = 1; n <= 5; n++) {
      if (n > 1) {
        assert.equal(ticks(scheduler.advance(149)), 0, 'no tick before 150 ms');
        assert.equal(ticks(scheduler.advance(1)), 1, 'one tick at 150 ms');
      }
      // Waiting for the flow to complete: a tick during the previous flow is skipped by design.
      await waitFor(
        () => row()?.published === n && seen.length === n,
        `OfficeTemp number ${n} at the new interval`,
      );
    }
    assert.deepEqual(states, [], 'no reconnect');
  });

  it('PUT of MQTT 5 row properties: refused on 3.1.1 naming the row, saved and sent at 5.0', async (t) => {
    const fx = await startConsoleFixture(t);
    const api = new ApiClient(fx.web.url);
    await api.login();
    const before = await readFile(fx.file, 'utf8');
    const { json } = await api.request('GET', '/api/config');
    // topics[1] is OfficeTemp, a publish row; the console's MQTT 5 column sets these.
    json.config.topics[1].messageExpirySec = 120;
    json.config.topics[1].contentType = 'text/plain';
    json.config.topics[1].userProperties = [
      { name: 'site', value: 'north' },
      { name: 'site', value: 'south' },
    ];
    const refused = await api.request('PUT', '/api/config', { config: json.config });
    assert.equal(refused.status, 422);
    assert.deepEqual(
      refused.json.issues.map((i: { path: string }) => i.path),
      ['topics[1].messageExpirySec', 'topics[1].contentType', 'topics[1].userProperties'],
    );
    assert.match(
      refused.json.issues[0].message,
      /protocolVersion to "5" \(topics\[1\] publishes on "OfficeTemp"\)/,
    );
    assert.equal(await readFile(fx.file, 'utf8'), before, 'nothing saved');
    // At 5.0 the same rows are saved, shown back, and every OfficeTemp carries them.
    json.config.connection.protocolVersion = '5';
    const r = await api.request('PUT', '/api/config', { config: json.config });
    assert.equal(r.status, 200, r.text);
    assert.equal(r.json.applied, 'reconnected');
    await fx.agent.whenConnected(10000);
    const saved = JSON.parse(await readFile(fx.file, 'utf8'));
    assert.deepEqual(saved.topics[1].userProperties, json.config.topics[1].userProperties);
    const back = await api.request('GET', '/api/config');
    assert.equal(back.json.config.topics[1].contentType, 'text/plain');
    assert.equal(back.json.config.topics[1].messageExpirySec, 120);
    const watcher = await connect(
      `mqtt://observer:observer-pw@${fx.broker.host}:${fx.broker.port}`,
      { protocolVersion: 5 },
    );
    t.after(() => watcher.end({ force: true }));
    const temps = await watcher.subscribe('OfficeTemp');
    const m = (await temps[Symbol.asyncIterator]().next()).value!;
    assert.equal(m.properties?.contentType, 'text/plain');
    assert.deepEqual(m.properties?.userProperties, [
      ['site', 'north'],
      ['site', 'south'],
    ]);
    assert.ok((m.properties?.messageExpiryIntervalSec ?? 0) > 0);
    // A change of the properties alone is applied on the same connection: the next
    // OfficeTemp carries the new content type.
    json.config.topics[1].contentType = 'application/x-reading';
    const update = await api.request('PUT', '/api/config', { config: json.config });
    assert.equal(update.status, 200, update.text);
    assert.equal(update.json.applied, 'updated');
    const it = temps[Symbol.asyncIterator]();
    for (;;) {
      const next = (await it.next()).value!;
      if (next.properties?.contentType === 'application/x-reading') break;
      assert.equal(next.properties?.contentType, 'text/plain', 'the old type until the change');
    }
  });

  it('PUT of a connection setting reconnects; secrets: absent keeps, string replaces, null removes', async (t) => {
    const fx = await startConsoleFixture(t);
    const api = new ApiClient(fx.web.url);
    await api.login();
    const { json } = await api.request('GET', '/api/config');
    json.config.connection.keepaliveSec = 20;
    const r = await api.request('PUT', '/api/config', { config: json.config });
    assert.equal(r.status, 200, r.text);
    assert.equal(r.json.applied, 'reconnected');
    await fx.agent.whenConnected(10000);
    assert.equal(fx.agent.config.connection.keepaliveSec, 20);
    assert.equal(fx.agent.config.login.password, MQTT_PASSWORD, 'kept though absent');

    // A wrong password replaces the right one: the broker refuses, the state says so.
    json.config.login.password = 'not the password';
    assert.equal(
      (await api.request('PUT', '/api/config', { config: json.config })).json.applied,
      'reconnected',
    );
    await waitFor(
      () =>
        /bad user name or password|not authorized/.test(
          fx.agent.snapshot().lastError?.message ?? '',
        ),
      'the refusal in lastError',
    );
    assert.equal(fx.agent.state, 'CONNECT_PND');
    // Roll back to the previous configuration: connected again with the right password.
    const back = await api.request('POST', '/api/config/rollback', {});
    assert.equal(back.status, 200, back.text);
    assert.equal(back.json.applied, 'reconnected');
    await fx.agent.whenConnected(10000);
    assert.equal(JSON.parse(await readFile(fx.file, 'utf8')).login.password, MQTT_PASSWORD);

    // null removes the secret.
    json.config.login.password = null;
    json.config.connection.keepaliveSec = 25;
    await api.request('PUT', '/api/config', { config: json.config });
    assert.equal(JSON.parse(await readFile(fx.file, 'utf8')).login.password, undefined);
    const cfg = await api.request('GET', '/api/config');
    assert.equal(cfg.json.secrets['login.password'], false);
    // Changing web settings is saved but takes effect at the next start.
    cfg.json.config.web.port = 8099;
    const web = await api.request('PUT', '/api/config', { config: cfg.json.config });
    assert.deepEqual(web.json.restartRequired, ['web']);
    assert.equal(web.json.applied, 'updated');
  });

  it('a save that cannot be written applies nothing and says why', async (t) => {
    const fx = await startConsoleFixture(t);
    const api = new ApiClient(fx.web.url);
    await api.login();
    const before = await readFile(fx.file, 'utf8');
    // The temporary file's name is taken by a directory: the write fails (even as root).
    await mkdir(`${fx.file}.tmp`);
    const { json } = await api.request('GET', '/api/config');
    json.config.topics[1].pubIntervalMs = 300;
    const r = await api.request('PUT', '/api/config', { config: json.config });
    assert.equal(r.status, 500);
    assert.equal(r.json.code, 'SAVE_FAILED');
    assert.match(r.json.error, /cannot save the configuration to .*agent\.json: EISDIR/);
    assert.equal(await readFile(fx.file, 'utf8'), before);
    assert.equal(fx.agent.config.topics[1]?.pubIntervalMs, 1000, 'not applied');
  });

  it('rollback with nothing to go back to answers 409; a body that is not JSON answers 400', async (t) => {
    const defer = deferrer(t);
    const agent = new Agent(parseConfig(lucidConfig('127.0.0.1', 1)));
    const dir = await tempDir(t, 'courier-rb-');
    const web = await startConsole({
      agent,
      store: new MemoryConfigStore(agent.config),
      dataDir: dir,
      baseDir: dir,
      port: 0,
      password: ADMIN_PASSWORD,
    });
    defer(() => web.close());
    const api = new ApiClient(web.url);
    await api.login();
    const r = await api.request('POST', '/api/config/rollback', {});
    assert.equal(r.status, 409);
    assert.equal(r.json.code, 'NO_PREVIOUS');
    const bad = await api.request('PUT', '/api/config', '{"config": ', {
      'content-type': 'application/json',
    });
    assert.equal(bad.status, 400);
    assert.equal(typeof bad.json.error, 'string');
    const noConfig = await api.request('PUT', '/api/config', { other: 1 });
    assert.equal(noConfig.status, 400);
    assert.match(noConfig.json.error, /"config"/);
    const unknown = await api.request('GET', '/api/nothing');
    assert.equal(unknown.status, 404);
    assert.equal(unknown.json.code, 'NOT_FOUND');
  });
});

describe('console API: certificates', () => {
  it('stores checked uploads with mode 0600 and never sends a key back', async (t) => {
    const fx = await startConsoleFixture(t);
    const certs = await testCerts();
    const api = new ApiClient(fx.web.url);
    await api.login();
    const keyPem = certs.client.key;
    const keyBody = keyPem.split('\n').find((l) => l.length > 40 && !l.startsWith('-')) as string;

    const garbage = await api.request('PUT', '/api/files/ca', 'hello');
    assert.equal(garbage.status, 400);
    assert.equal(garbage.json.code, 'BAD_FILE');
    assert.match(garbage.json.error, /not a PEM certificate/);
    const keyAsCert = await api.request('PUT', '/api/files/cert', keyPem);
    assert.equal(keyAsCert.status, 400);
    const certAsKey = await api.request('PUT', '/api/files/key', certs.client.cert);
    assert.equal(certAsKey.status, 400);
    assert.match(certAsKey.json.error, /not a PEM private key/);
    const badKind = await api.request('PUT', '/api/files/passwd', 'x');
    assert.equal(badKind.status, 404);

    const ca = await api.request('PUT', '/api/files/ca', certs.ca.cert);
    assert.equal(ca.status, 200, ca.text);
    assert.match(ca.json.info.subject, /CN=/);
    const key = await api.request('PUT', '/api/files/key', keyPem, {
      'content-type': 'application/x-pem-file',
    });
    assert.equal(key.status, 200, key.text);
    assert.ok(!key.text.includes(keyBody), 'the key is not echoed');
    const cert = await api.request('PUT', '/api/files/cert', certs.client.cert);
    assert.equal(cert.status, 200);
    for (const r of [ca, key, cert]) {
      assert.ok(r.json.path.startsWith(join(fx.dataDir, 'tls')), r.json.path);
      assert.equal((await stat(r.json.path)).mode & 0o777, 0o600);
    }
    assert.equal((await stat(join(fx.dataDir, 'tls'))).mode & 0o777, 0o700);
    assert.equal(await readFile(key.json.path, 'utf8'), keyPem);

    // Point the configuration at them; GET /api/files describes, never shows, the key.
    const { json } = await api.request('GET', '/api/config');
    json.config.security = {
      authMode: 'none',
      ca: ca.json.path,
      cert: cert.json.path,
      key: key.json.path,
    };
    json.config.backup = {
      enabled: false,
      connection: { server: 'backup.local' },
      security: { authMode: 'server', ca: ca.json.path },
    };
    const put = await api.request('PUT', '/api/config', { config: json.config });
    assert.equal(put.status, 200, put.text);
    const files = await api.request('GET', '/api/files');
    assert.equal(files.status, 200);
    assert.equal(files.json.key.path, key.json.path);
    assert.equal(typeof files.json.key.type, 'string');
    assert.match(files.json.cert.validTo, /^\d{4}-/);
    assert.ok(!files.text.includes(keyBody));
    assert.ok(!files.text.includes('PRIVATE KEY'));
    // The backup server's files are described on their own.
    assert.deepEqual(Object.keys(files.json.backup), ['ca']);
    assert.equal(files.json.backup.ca.path, ca.json.path);
    assert.match(files.json.backup.ca.subject, /CN=/);
  });
});

describe('console API: live state', () => {
  it('state, messages and the event stream follow the agent; outputs can be driven', async (t) => {
    const fx = await startConsoleFixture(t);
    const api = new ApiClient(fx.web.url);
    await api.login();
    const state = await api.request('GET', '/api/state');
    assert.equal(state.json.moduleState, 'CONNECTED');
    assert.equal(state.json.channels.length, 16);
    assert.equal(state.json.rows.length, 3);
    assertNoSecret(state.text, 'GET /api/state');

    // The event stream: a snapshot at once, then the agent's events.
    // biome-ignore lint/suspicious/noExplicitAny: JSON answers are read field by field
    const events: { event: string; data: any }[] = [];
    const url = new URL('/api/events', fx.web.url);
    const req = httpRequest(url, { headers: { cookie: api.cookie as string } });
    let closed = false;
    const streamed = new Promise<void>((resolve, reject) => {
      req.on('response', (res) => {
        assert.equal(res.statusCode, 200);
        assert.match(String(res.headers['content-type']), /^text\/event-stream/);
        let buffer = '';
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => {
          buffer += chunk;
          let end = buffer.indexOf('\n\n');
          while (end >= 0) {
            const block = buffer.slice(0, end);
            buffer = buffer.slice(end + 2);
            const event = /^event: (.*)$/m.exec(block)?.[1];
            const data = /^data: (.*)$/m.exec(block)?.[1];
            if (event !== undefined && data !== undefined)
              events.push({ event, data: JSON.parse(data) });
            end = buffer.indexOf('\n\n');
          }
        });
        res.on('end', () => {
          closed = true;
          resolve();
        });
      });
      req.on('error', reject);
      req.end();
    });
    await waitFor(() => events.some((e) => e.event === 'snapshot'), 'the first snapshot');
    assert.equal(events[0]?.event, 'snapshot');

    // Switch the valve from the console: the output, the event and ValveState follow.
    const on = await api.request('POST', '/api/channels/0', { value: true });
    assert.equal(on.status, 204);
    await waitFor(
      () =>
        events.some(
          (e) =>
            e.event === 'agent' &&
            e.data.type === 'channel' &&
            e.data.id === 0 &&
            e.data.value === true,
        ),
      'the channel event',
    );
    await waitFor(
      () =>
        events.some(
          (e) =>
            e.event === 'agent' &&
            e.data.type === 'published' &&
            e.data.topic === 'ValveState' &&
            e.data.payload === 'On',
        ),
      'ValveState On published',
    );
    // The same message also comes as the message log keeps it.
    await waitFor(
      () =>
        events.some(
          (e) =>
            e.event === 'message' &&
            e.data.dir === 'out' &&
            e.data.topic === 'ValveState' &&
            e.data.payload === 'On' &&
            e.data.status === 'ok',
        ),
      'the ValveState message',
    );
    const messages = await api.request('GET', '/api/messages');
    const out = messages.json.messages.find(
      (m: { topic: string; payload: string }) => m.topic === 'ValveState' && m.payload === 'On',
    );
    assert.deepEqual(
      { dir: out.dir, status: out.status, source: out.source },
      {
        dir: 'out',
        status: 'ok',
        source: 'mqtt',
      },
    );
    // An input cannot be driven, nor an output out of its type.
    const input = await api.request('POST', '/api/channels/8', { value: 20 });
    assert.equal(input.status, 400);
    assert.match(input.json.error, /is an input/);
    const text = await api.request('POST', '/api/channels/0', { value: 'On' });
    assert.equal(text.status, 400);
    const missing = await api.request('POST', '/api/channels/99', { value: true });
    assert.equal(missing.status, 400);
    assert.match(missing.json.error, /no channel 99/);

    // Logging out ends the stream.
    await api.request('POST', '/api/logout', {});
    await streamed;
    assert.ok(closed);
    assertNoSecret(JSON.stringify(events), 'the event stream');
  });

  it('limits the event streams of one session', async (t) => {
    const fx = await startConsoleFixture(t);
    const api = new ApiClient(fx.web.url);
    await api.login();
    const open = (): Promise<{ status: number; close: () => void }> =>
      new Promise((resolve, reject) => {
        const req = httpRequest(new URL('/api/events', fx.web.url), {
          headers: { cookie: api.cookie as string },
        });
        req.on('response', (res) => {
          resolve({ status: res.statusCode ?? 0, close: () => req.destroy() });
        });
        req.on('error', reject);
        req.end();
      });
    const streams = [];
    for (let i = 0; i < 8; i++) streams.push(await open());
    assert.deepEqual(
      streams.map((s) => s.status),
      Array(8).fill(200),
    );
    const ninth = await open();
    assert.equal(ninth.status, 429);
    ninth.close();
    for (const s of streams) s.close();
    // Closed streams are forgotten: a new one is accepted again once the server has seen the
    // closes (asked until it is, not after a guessed delay).
    let again = await open();
    const until = Date.now() + 10_000;
    while (again.status === 429 && Date.now() < until) {
      again.close();
      again = await open();
    }
    assert.equal(again.status, 200);
    again.close();
  });

  it('serves the built page with security headers and no inline script', async (t) => {
    const fx = await startConsoleFixture(t);
    // scripts/run-tests.mjs builds the page before the tests run.
    const r = await fetch(`${fx.web.url}/`);
    assert.equal(r.status, 200);
    assert.match(r.headers.get('content-type') ?? '', /^text\/html/);
    assert.match(r.headers.get('content-security-policy') ?? '', /default-src 'self'/);
    assert.equal(r.headers.get('x-content-type-options'), 'nosniff');
    assert.equal(r.headers.get('x-frame-options'), 'DENY');
    const html = await r.text();
    assert.match(html, /<script type="module" src="\/app\.js"/);
    assert.doesNotMatch(html, /<script(?![^>]*src=)/, 'no inline script (CSP)');
    const js = await fetch(`${fx.web.url}/app.js`);
    assert.equal(js.status, 200);
    assert.match(js.headers.get('content-type') ?? '', /javascript/);
    await js.text();
    // Revalidation by ETag; nothing but the three files of the page is served.
    const etag = js.headers.get('etag') as string;
    const again = await fetch(`${fx.web.url}/app.js`, { headers: { 'if-none-match': etag } });
    assert.equal(again.status, 304);
    for (const path of [
      '/package.json',
      '/..%2f..%2fpackage.json',
      '/dist-ui/app.js',
      '/index.html',
    ]) {
      const r = await fetch(`${fx.web.url}${path}`);
      assert.equal(r.status, 404, path);
      await r.text();
    }
  });
});
