// Console actions that change outputs or the configuration are logged with who (address and a
// handle of the session, never the cookie) and what (output and value, sections changed,
// password changed, roll-back, upload).
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { pino } from 'pino';
import { testCerts } from '../../../test/helpers/certs.js';
import { ApiClient, MQTT_PASSWORD, startConsoleFixture } from './console-util.js';

type Line = Record<string, unknown> & { level: number; msg: string };

describe('console actions in the log', () => {
  it('logs who set an output, saved or rolled back the configuration, uploaded a file, changed the password', async (t) => {
    const lines: Line[] = [];
    const logger = pino(
      { level: 'info', base: null },
      { write: (l: string) => lines.push(JSON.parse(l) as Line) },
    );
    const fx = await startConsoleFixture(t, { logger });
    const api = new ApiClient(fx.web.url);
    await api.login();
    const cookie = (api.cookie ?? '').split('=')[1] as string;
    const login = lines.find((l) => l.msg === 'console login') as Line;
    assert.equal(login.address, '127.0.0.1');
    assert.match(String(login.session), /^[0-9a-f]{8}$/);
    const who = { address: '127.0.0.1', session: login.session };
    const find = (msg: string | RegExp) => {
      const line = lines.find((l) => (typeof msg === 'string' ? l.msg === msg : msg.test(l.msg)));
      assert.ok(line, `a line ${msg} in ${JSON.stringify(lines.map((l) => l.msg))}`);
      return line;
    };

    assert.equal((await api.request('POST', '/api/channels/0', { value: true })).status, 204);
    const output = find(/^console: output 0 .* set to true$/);
    assert.deepEqual(
      [output.address, output.session, output.channel, output.value],
      [...Object.values(who), 0, true],
    );

    const config = (await api.request('GET', '/api/config')).json.config;
    config.topics[1].pubIntervalMs = 150;
    config.device.name = 'renamed';
    assert.equal((await api.request('PUT', '/api/config', { config })).status, 200);
    const saved = find(/^console: configuration saved: /);
    assert.equal(saved.msg, 'console: configuration saved: device, topics');
    assert.deepEqual(
      [saved.session, saved.sections, saved.applied],
      [who.session, ['device', 'topics'], 'updated'],
    );

    assert.equal((await api.request('POST', '/api/config/rollback', {})).status, 200);
    const rolledBack = find(/^console: configuration rolled back: /);
    assert.deepEqual(
      [rolledBack.session, rolledBack.sections],
      [who.session, ['device', 'topics']],
    );

    const certs = await testCerts();
    assert.equal((await api.request('PUT', '/api/files/ca', certs.ca.cert)).status, 200);
    const upload = find('console: ca file uploaded');
    assert.deepEqual(
      [upload.session, upload.kind, upload.bytes],
      [who.session, 'ca', Buffer.byteLength(certs.ca.cert)],
    );
    assert.equal((await api.request('PUT', '/api/files/key', 'not a key')).status, 400);
    const refused = find(/^console: key upload refused: /);
    assert.equal(refused.level, 40);

    const change = await api.request('POST', '/api/password', {
      current: 'correct horse battery',
      next: 'a brand new password',
    });
    assert.equal(change.status, 204);
    const password = find(/^console: admin password changed/);
    assert.deepEqual([password.address, password.session], Object.values(who));

    // Neither the session cookie nor a password nor the MQTT secret ever reaches the log.
    const all = JSON.stringify(lines);
    for (const secret of [cookie, 'a brand new password', 'correct horse battery', MQTT_PASSWORD])
      assert.ok(!all.includes(secret), `no ${secret.slice(0, 4)}… in the log`);
  });
});
