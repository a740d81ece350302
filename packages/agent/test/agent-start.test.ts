// `courier agent` starts whole or not at all: a console that cannot start (port taken, web.tls
// unusable, data directory not writable) stops the start before any MQTT connection, with one
// line saying why; a generated admin password never shown is replaced and printed at the next
// start that succeeds, and never printed again once shown.
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { dirname, join } from 'node:path';
import { describe, it } from 'node:test';
import { type Mosquitto, startMosquitto } from '../../../test/helpers/mosquitto.js';
import { deferrer, runCli, startCli, tempJson, waitFor } from './util.js';

/** A TCP port held by another listener for the test's duration. */
async function takenPort(defer: (fn: () => unknown) => void): Promise<number> {
  const server: Server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  defer(() => new Promise((resolve) => server.close(resolve)));
  const address = server.address();
  assert.ok(address !== null && typeof address === 'object');
  return address.port;
}

function agentConfig(broker: Mosquitto, web: Record<string, unknown>): Record<string, unknown> {
  return {
    connection: { server: broker.host, port: broker.port, clientId: 'all-or-nothing' },
    lwt: { topic: 'all-or-nothing/status', message: 'offline' },
    web,
  };
}

/**
 * What Mosquitto logs for a CONNECT: none must appear. (Not "New connection from": the
 * helper's readiness probe opens a TCP connection that sends nothing.)
 */
const NO_CONNECTION = /New client connected/;

/** Runs a start that must fail: status 1, one line on stderr, no stack, no connection. */
async function failedStart(file: string, broker: Mosquitto, reason: RegExp): Promise<string> {
  const r = await runCli(['agent', '-c', file]);
  assert.equal(r.status, 1, `exit status (stderr: ${r.stderr})`);
  const lines = r.stderr.split('\n').filter((l) => l !== '');
  assert.equal(lines.length, 1, `one line on stderr, got:\n${r.stderr}`);
  assert.match(lines[0] as string, reason);
  assert.doesNotMatch(r.stderr, /^\s+at /m, 'no stack trace');
  assert.doesNotMatch(broker.log(), NO_CONNECTION, 'the broker saw no CONNECT');
  assert.equal(r.stdout, '');
  return lines[0] as string;
}

describe('courier agent: all or nothing at start', () => {
  it('console port taken: exits 1 before connecting; the password is printed at the next start, once', async (t) => {
    const defer = deferrer(t);
    const broker = await startMosquitto(t);
    const port = await takenPort(defer);
    const file = tempJson('agent.json', agentConfig(broker, { port }));
    const line = await failedStart(file, broker, /^Error: web console not started: .*EADDRINUSE/);
    assert.match(line, new RegExp(`127\\.0\\.0\\.1:${port}`));
    // The failed start stored no password anybody was shown.
    const admin = join(dirname(file), 'courier-data', 'admin.json');
    const record = JSON.parse(readFileSync(admin, 'utf8')) as Record<string, unknown>;
    assert.equal(record.shown, false);

    // The port is free now (the file says 0: any port): the next start prints a password.
    writeFileSync(file, JSON.stringify(agentConfig(broker, { port: 0 })));
    const agent = startCli(['agent', '-c', file]);
    defer(() => {
      if (agent.child.exitCode === null) agent.child.kill('SIGKILL');
    });
    await waitFor(
      () => /admin password .*: \w{16}\n/.test(agent.stderr),
      `the password (stderr: ${agent.stderr})`,
    );
    const password = /admin password .*: (\w{16})\n/.exec(agent.stderr)?.[1] as string;
    const url = /web console: (http:\/\/127\.0\.0\.1:\d+)\//.exec(agent.stderr)?.[1] as string;
    await waitFor(() => /New client connected .* as all-or-nothing/.test(broker.log()), 'CONNECT');
    const login = await fetch(`${url}/api/login`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ password }),
    });
    assert.equal(login.status, 200);
    assert.equal((JSON.parse(readFileSync(admin, 'utf8')) as Record<string, unknown>).shown, true);
    agent.child.kill('SIGTERM');
    assert.equal(await agent.exited, 0);

    // Shown once: a third start prints no password, and the one shown still works.
    const third = startCli(['agent', '-c', file]);
    defer(() => {
      if (third.child.exitCode === null) third.child.kill('SIGKILL');
    });
    await waitFor(() => /web console: http/.test(third.stderr), `the console (${third.stderr})`);
    const url3 = /web console: (http:\/\/127\.0\.0\.1:\d+)\//.exec(third.stderr)?.[1] as string;
    const again = await fetch(`${url3}/api/login`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ password }),
    });
    assert.equal(again.status, 200);
    third.child.kill('SIGTERM');
    assert.equal(await third.exited, 0);
    assert.doesNotMatch(third.stderr, /admin password/);
  });

  it('web.tls file missing, or not a certificate: exits 1 naming the field, no connection', async (t) => {
    const broker = await startMosquitto(t);
    const missing = tempJson(
      'agent.json',
      agentConfig(broker, { port: 0, tls: { cert: 'nope.pem', key: 'nope.key' } }),
    );
    await failedStart(
      missing,
      broker,
      /^Error: web console not started: web\.tls\.cert: .*nope\.pem/,
    );
    const garbage = tempJson(
      'agent.json',
      agentConfig(broker, { port: 0, tls: { cert: 'cert.pem', key: 'key.pem' } }),
    );
    writeFileSync(join(dirname(garbage), 'cert.pem'), 'not a certificate\n');
    writeFileSync(join(dirname(garbage), 'key.pem'), 'not a key\n');
    await failedStart(garbage, broker, /^Error: web console not started: web\.tls\.cert: /);
  });

  it('web.dataDir that cannot be written: exits 1 naming it, no connection', async (t) => {
    const broker = await startMosquitto(t);
    const file = tempJson('agent.json', agentConfig(broker, { port: 0 }));
    // A directory below a regular file cannot be made (even by root).
    writeFileSync(join(dirname(file), 'plain-file'), '');
    writeFileSync(
      file,
      JSON.stringify(agentConfig(broker, { port: 0, dataDir: 'plain-file/data' })),
    );
    await failedStart(
      file,
      broker,
      /^Error: web console not started: web\.dataDir .*plain-file\/data cannot be written/,
    );
  });
});
