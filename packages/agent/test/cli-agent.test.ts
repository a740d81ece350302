// `courier agent` as a process: the LucidIoT example against Mosquitto, the Will on SIGKILL,
// a refused configuration, and the demo.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { describe, it } from 'node:test';
import mqtt from 'mqtt';
import { type Mosquitto, startMosquitto } from '../../../test/helpers/mosquitto.js';
import { verifyPassword } from '../src/web/password.js';
import { startMosquittoSub } from './mosquitto-cli.js';
import { deferrer, observe, ROOT, runCli, startCli, tempJson, waitFor } from './util.js';

/** examples/lucidiot.json pointed at `broker`, in a temporary file. */
function lucidExample(broker: Mosquitto): string {
  const example = JSON.parse(readFileSync(join(ROOT, 'examples/lucidiot.json'), 'utf8')) as Record<
    string,
    Record<string, unknown>
  >;
  example.connection = { ...example.connection, server: broker.host, port: broker.port };
  delete example.$schema;
  return tempJson('lucidiot.json', example);
}

describe('courier agent', () => {
  it('runs examples/lucidiot.json; the broker publishes its Will when the process is killed', async (t) => {
    const defer = deferrer(t);
    const broker = await startMosquitto(t);
    const file = lucidExample(broker);
    const { client: observer, seen } = await observe(
      broker.url(),
      ['OfficeTemp', 'lucidiot-1/status', 'ValveState'],
      2,
    );
    defer(() => observer.endAsync());
    const agent = startCli(['agent', '-c', file, '-m', '--no-web']);
    defer(() => {
      if (agent.child.exitCode === null) agent.child.kill('SIGKILL');
    });
    await waitFor(
      () => agent.stdout.includes('MQTT state CONNECTED'),
      `CONNECTED in -m output (stderr: ${agent.stderr})`,
    );
    await waitFor(() => seen.some((m) => m.topic === 'OfficeTemp'), 'OfficeTemp');
    assert.match(seen.find((m) => m.topic === 'OfficeTemp')?.payload ?? '', /^\d+\.\d$/);
    await waitFor(() => /MQTT > OfficeTemp \d+\.\d/.test(agent.stdout), '-m printing the publish');
    await observer.publishAsync('Valve', 'On', { qos: 1 });
    await waitFor(
      () => seen.some((m) => m.topic === 'ValveState' && m.payload === 'On'),
      'ValveState On',
    );
    assert.match(agent.stdout, /MQTT < Valve On/);
    assert.equal(
      seen.filter((m) => m.topic === 'lucidiot-1/status').length,
      0,
      'no Will while alive',
    );

    agent.child.kill('SIGKILL');
    assert.equal(await agent.exited, 'SIGKILL');
    await waitFor(() => seen.some((m) => m.topic === 'lucidiot-1/status'), 'the Will', 5000);
    const will = seen.find((m) => m.topic === 'lucidiot-1/status');
    assert.equal(will?.payload, 'offline');
    // The Will is retained (lwt.retain): a late subscriber still sees it.
    const late = await mqtt.connectAsync(broker.url());
    defer(() => late.endAsync());
    const retained = new Promise<string>((resolve) =>
      late.on('message', (_t, p) => resolve(p.toString())),
    );
    await late.subscribeAsync('lucidiot-1/status');
    assert.equal(await retained, 'offline');
  });

  it('lwt.delaySec at MQTT 5.0: the broker holds the Will that long after a SIGKILL', async (t) => {
    const defer = deferrer(t);
    const broker = await startMosquitto(t);
    const delaySec = 3;
    const file = tempJson('c.json', {
      connection: {
        ...{ server: broker.host, port: broker.port, clientId: 'held-will' },
        ...{ protocolVersion: '5', sessionExpirySec: 60 },
      },
      lwt: { topic: 'held-will/status', message: 'offline', delaySec },
    });
    const { client: observer, seen } = await observe(broker.url(), 'held-will/status');
    defer(() => observer.endAsync());
    const agent = startCli(['agent', '-c', file, '-m', '--no-web']);
    defer(() => {
      if (agent.child.exitCode === null) agent.child.kill('SIGKILL');
    });
    await waitFor(() => agent.stdout.includes('MQTT state CONNECTED'), 'CONNECTED');
    const cutAt = Date.now();
    agent.child.kill('SIGKILL');
    assert.equal(await agent.exited, 'SIGKILL');
    await waitFor(() => seen.length > 0, 'the Will', 15000);
    assert.equal(seen[0]?.payload, 'offline');
    // Mosquitto counts the delay in whole seconds, checked once a second: up to a second
    // early, never sooner. Without lwt.delaySec the Will comes within milliseconds.
    const heldMs = (seen[0]?.at ?? 0) - cutAt;
    assert.ok(heldMs >= (delaySec - 1) * 1000, `Will published after ${heldMs} ms`);
  });

  it('the Will carries its MQTT 5 properties: expiry, content type, user properties', async (t) => {
    const defer = deferrer(t);
    const broker = await startMosquitto(t);
    // mosquitto_sub at 5.0 is the independent reader of the properties.
    const sub = startMosquittoSub(t, [
      ...['-h', broker.host, '-p', String(broker.port), '-V', '5', '-t', 'props-will/status'],
      ...['-C', '1', '-F', '%t|%p|%C|%P|%E'],
    ]);
    await waitFor(() => sub.subscribed(), `mosquitto_sub's SUBACK (output: ${sub.output})`);
    const file = tempJson('c.json', {
      connection: {
        ...{ server: broker.host, port: broker.port, clientId: 'props-will' },
        protocolVersion: '5',
      },
      lwt: {
        ...{ topic: 'props-will/status', message: 'offline', messageExpirySec: 600 },
        contentType: 'text/plain',
        userProperties: [
          { name: 'site', value: 'north' },
          { name: 'reason', value: 'lost' },
        ],
      },
    });
    const agent = startCli(['agent', '-c', file, '-m', '--no-web']);
    defer(() => {
      if (agent.child.exitCode === null) agent.child.kill('SIGKILL');
    });
    await waitFor(() => agent.stdout.includes('MQTT state CONNECTED'), 'CONNECTED');
    agent.child.kill('SIGKILL');
    assert.equal(await agent.exited, 'SIGKILL');
    assert.equal(await sub.exited, 0, sub.output);
    assert.match(
      sub.messages().trim(),
      /^props-will\/status\|offline\|text\/plain\|site:north reason:lost\|(600|599)$/,
    );
  });

  it('stops cleanly on SIGTERM: no Will', async (t) => {
    const defer = deferrer(t);
    const broker = await startMosquitto(t);
    const file = tempJson('c.json', {
      connection: { server: broker.host, port: broker.port, clientId: 'clean-stop' },
      lwt: { topic: 'clean-stop/status', message: 'offline' },
    });
    const { client: observer, seen } = await observe(broker.url(), 'clean-stop/status');
    defer(() => observer.endAsync());
    const agent = startCli(['agent', '-c', file, '-m', '--no-web']);
    await waitFor(() => agent.stdout.includes('MQTT state CONNECTED'), 'CONNECTED');
    agent.child.kill('SIGTERM');
    assert.equal(await agent.exited, 0);
    await new Promise((r) => setTimeout(r, 300));
    assert.deepEqual(seen, []);
  });

  it('serves the console: a password made at first start, printed once, stored hashed', async (t) => {
    const defer = deferrer(t);
    const broker = await startMosquitto(t);
    const file = lucidExample(broker);
    const agent = startCli(['agent', '-c', file, '--web-port', '0']);
    defer(() => {
      if (agent.child.exitCode === null) agent.child.kill('SIGKILL');
    });
    await waitFor(
      () => /admin password .*: \w{16}/.test(agent.stderr),
      `the console banner (stderr: ${agent.stderr})`,
    );
    const url = /web console: (http:\/\/127\.0\.0\.1:\d+)\//.exec(agent.stderr)?.[1] as string;
    const password = /admin password .*: (\w{16})/.exec(agent.stderr)?.[1] as string;
    const hash = JSON.parse(
      readFileSync(join(dirname(file), 'courier-data', 'admin.json'), 'utf8'),
    );
    assert.match(hash.passwordHash, /^scrypt\$/);
    const login = await fetch(`${url}/api/login`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ password }),
    });
    assert.equal(login.status, 200);
    const cookie = (login.headers.get('set-cookie') ?? '').split(';')[0] as string;
    const state = await fetch(`${url}/api/state`, { headers: { cookie } });
    const snapshot = (await state.json()) as { moduleState: string; device: string };
    assert.equal(snapshot.device, 'LucidIoT 8 DO + 8 RTD');
    agent.child.kill('SIGTERM');
    assert.equal(await agent.exited, 0);
    // The password is not in the log twice, nor anywhere on disk in clear.
    assert.equal(agent.stderr.split(password).length, 2);
  });

  it('hash-password prints an scrypt hash for web.passwordHash, and refuses a short password', async () => {
    const ok = await runCli(['hash-password'], 'a long admin password\n');
    assert.equal(ok.status, 0, ok.stderr);
    const hash = ok.stdout.trim();
    assert.match(hash, /^scrypt\$32768\$8\$1\$[A-Za-z0-9+/=]+\$[A-Za-z0-9+/=]+$/);
    assert.ok(await verifyPassword('a long admin password', hash));
    assert.ok(!(await verifyPassword('another password', hash)));
    const short = await runCli(['hash-password'], 'short\n');
    assert.equal(short.status, 1);
    assert.match(short.stderr, /at least 8 characters/);
  });

  it('refuses a broken configuration with every problem and exit status 1', async () => {
    const file = tempJson('bad.json', {
      connection: { server: '127.0.0.1', port: 70000 },
      topics: [
        { topic: 'Valve', direction: 'subscribe', channel: 8, format: { type: 'boolean' }, qos: 5 },
      ],
    });
    const r = await runCli(['agent', '-c', file, '--no-web']);
    assert.equal(r.status, 1);
    assert.equal(
      r.stderr,
      [
        `invalid configuration ${file} (3 problems):`,
        '  connection.port: must be a whole number from 1 to 65535',
        '  topics[0].qos: must be 0, 1 or 2',
        '  topics[0].channel: no channel with id 8 in device.channels',
        '',
      ].join('\n'),
    );
  });

  it('prints its version and help', async () => {
    const pkg = JSON.parse(readFileSync(join(ROOT, 'packages/agent/package.json'), 'utf8')) as {
      version: string;
    };
    assert.equal((await runCli(['--version'])).stdout.trim(), pkg.version);
    assert.equal((await runCli(['agent', '-V'])).stdout.trim(), pkg.version);
    const help = await runCli(['agent', '-h']);
    assert.equal(help.status, 0);
    for (const flag of ['-c, --config', '-d, --debug', '-m, --mqtt', '-r, --redis', '--demo'])
      assert.ok(help.stdout.includes(flag), flag);
  });

  it('--demo: publishes OfficeTemp, obeys Valve, stops on Ctrl-C', async (t) => {
    const defer = deferrer(t);
    const demo = startCli(['agent', '--demo', '--web-port', '0']);
    defer(() => {
      if (demo.child.exitCode === null) demo.child.kill('SIGKILL');
    });
    await waitFor(
      () => /broker {3}mqtt:\/\/127\.0\.0\.1:\d+/.test(demo.stdout),
      `the demo banner (stderr: ${demo.stderr})`,
    );
    const port = Number(/broker {3}mqtt:\/\/127\.0\.0\.1:(\d+)/.exec(demo.stdout)?.[1]);
    assert.match(demo.stdout, new RegExp(`courier sub -p ${port} -t '#' -v`));
    assert.match(demo.stdout, new RegExp(`courier pub -p ${port} -t Valve -m On`));
    // The console is on by default; the demo prints where and with which password.
    assert.match(demo.stdout, /Web console: http:\/\/127\.0\.0\.1:\d+\/ {2}\(password: \w{16}\)/);
    const { client: observer, seen } = await observe(
      `mqtt://127.0.0.1:${port}`,
      ['OfficeTemp', 'ValveState'],
      2,
    );
    defer(() => observer.endAsync());
    await waitFor(
      () => seen.filter((m) => m.topic === 'OfficeTemp').length >= 2,
      'two OfficeTemp readings',
      5000,
    );
    assert.match(seen.find((m) => m.topic === 'OfficeTemp')?.payload ?? '', /^\d+\.\d$/);
    // The valve, switched with our own `courier pub` as the banner says.
    const pub = await runCli(['pub', '-p', String(port), '-t', 'Valve', '-m', 'On']);
    assert.equal(pub.status, 0, pub.stderr);
    await waitFor(
      () => seen.some((m) => m.topic === 'ValveState' && m.payload === 'On'),
      'ValveState On',
    );
    await waitFor(() => demo.stdout.includes('MQTT < Valve On'), 'the demo printing the switch');
    demo.child.kill('SIGINT');
    assert.equal(await demo.exited, 0);
  });
});
