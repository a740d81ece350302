// The console's limits against a real agent: one admin password rule for change, login and
// `courier hash-password`; a signed-out /api/session that tells nothing of the device; the
// console's own TLS files read with the same bound as the client's.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { tempDir } from '../../../test/helpers/tmp.js';
import { Agent } from '../src/agent/agent.js';
import { parseConfig } from '../src/config/validate.js';
import { MemoryConfigStore } from '../src/web/config-store.js';
import { ADMIN_PASSWORD_MAX, verifyPassword } from '../src/web/password.js';
import { startConsole } from '../src/web/server.js';
import { ADMIN_PASSWORD, ApiClient, lucidConfig, startConsoleFixture } from './console-util.js';
import { runCli } from './util.js';

const LONGEST = 'p'.repeat(ADMIN_PASSWORD_MAX);
const TOO_LONG = 'p'.repeat(ADMIN_PASSWORD_MAX + 1);

describe('console limits: one admin password rule', () => {
  it('POST /api/password refuses 1,025 characters (login would refuse them), accepts 1,024', async (t) => {
    const fx = await startConsoleFixture(t);
    const api = new ApiClient(fx.web.url);
    await api.login();
    const long = await api.request('POST', '/api/password', {
      current: ADMIN_PASSWORD,
      next: TOO_LONG,
    });
    assert.equal(long.status, 400);
    assert.equal(long.json.code, 'BAD_PASSWORD');
    assert.equal(
      long.json.error,
      'the new password must have at least 8 characters and at most 1024',
    );
    // The password did not change.
    assert.equal(
      (
        await new ApiClient(fx.web.url).request('POST', '/api/login', {
          password: ADMIN_PASSWORD,
        })
      ).status,
      200,
    );

    const ok = await api.request('POST', '/api/password', {
      current: ADMIN_PASSWORD,
      next: LONGEST,
    });
    assert.equal(ok.status, 204);
    // Whatever could be set can be used to log in.
    const again = new ApiClient(fx.web.url);
    await again.login(LONGEST);
    const refused = await again.request('POST', '/api/login', { password: TOO_LONG });
    assert.equal(refused.status, 401);
  });

  it('courier hash-password applies the same rule', async () => {
    const long = await runCli(['hash-password'], `${TOO_LONG}\n`);
    assert.equal(long.status, 1);
    assert.equal(
      long.stderr,
      'Error: the password must have at least 8 characters and at most 1024.\n',
    );
    const ok = await runCli(['hash-password'], `${LONGEST}\n`);
    assert.equal(ok.status, 0, ok.stderr);
    assert.ok(await verifyPassword(LONGEST, ok.stdout.trim()));
  });
});

describe('console limits: what a signed-out page is told', () => {
  it('GET /api/session signed out answers only that; the device name comes with the session', async (t) => {
    const fx = await startConsoleFixture(t);
    const api = new ApiClient(fx.web.url);
    const out = await api.request('GET', '/api/session');
    assert.equal(out.status, 200);
    assert.deepEqual(out.json, { authenticated: false });
    await api.login();
    const inside = await api.request('GET', '/api/session');
    assert.deepEqual(inside.json, {
      authenticated: true,
      csrfToken: api.csrf,
      device: 'LucidIoT test module',
    });
  });

  it('a device name longer than 128 characters is refused by PUT /api/config', async (t) => {
    const fx = await startConsoleFixture(t);
    const api = new ApiClient(fx.web.url);
    await api.login();
    const config = (await api.request('GET', '/api/config')).json.config;
    config.device.name = 'n'.repeat(129);
    const r = await api.request('PUT', '/api/config', { config });
    assert.equal(r.status, 422);
    assert.equal(r.json.code, 'CONFIG');
    assert.deepEqual(r.json.issues, [
      { path: 'device.name', message: 'must be at most 128 characters' },
    ]);
  });
});

describe('console limits: web.tls files', () => {
  it('/dev/zero as the console certificate is refused unread, naming the field', async (t) => {
    const dir = await tempDir(t, 'courier-https-zero-');
    const agent = new Agent(
      parseConfig(
        lucidConfig('127.0.0.1', 1, { web: { tls: { cert: '/dev/zero', key: '/dev/zero' } } }),
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
      /web\.tls\.cert: cannot use "\/dev\/zero": not a regular file/,
    );
  });
});
