/**
 * The Exosite Murano connector against the Murano emulator (test/helpers/murano-emulator.ts,
 * written from Murano's Device MQTT API guide): provisioning for each authentication type,
 * reporting, history kept offline and uploaded as `$resource.batch` with its own timestamps,
 * across an agent restart, a taken id, pushes driving outputs, and `$content`.
 */
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it, type TestContext } from 'node:test';
import { connect as tlsConnect } from 'node:tls';
import { encode, Parser } from 'courier-mqtt/packet';
import { pino } from 'pino';
import { startMosquitto } from '../../../test/helpers/mosquitto.js';
import {
  type MuranoAuth,
  type MuranoEmulator,
  startMuranoEmulator,
} from '../../../test/helpers/murano-emulator.js';
import { Agent } from '../src/agent/agent.js';
import type { AgentEvent } from '../src/agent/events.js';
import { parseConfig, validateConfig } from '../src/config/validate.js';
import type { ChannelValue } from '../src/formats/types.js';
import type { ChannelInfo } from '../src/sources/channels.js';
import { ApiClient, startConsoleFixture } from './console-util.js';
import { manualDriverOf } from './manual-driver.js';
import { deferrer, ROOT, runCli, startCli, waitFor } from './util.js';

const CHANNELS = [
  { id: 1, name: 'Temperature', type: 'rtd-input' },
  { id: 2, name: 'Pressure', type: 'analog-input' },
  { id: 5, name: 'Valve', type: 'digital-output' },
] as const;

/** A driver whose inputs the test sets, with the reading's own timestamp. */
function manualDriver() {
  const values = new Map<number, ChannelValue>([
    [1, 20],
    [2, 1],
    [5, false],
  ]);
  const infos = new Map<number, ChannelInfo>(
    CHANNELS.map((c) => [
      c.id,
      {
        id: c.id,
        name: c.name,
        type: c.type,
        unit: c.type === 'rtd-input' ? '°C' : '',
        range: c.type === 'rtd-input' ? { min: -200, max: 850 } : { min: 0, max: 100 },
      },
    ]),
  );
  return manualDriverOf(values, infos);
}

interface Setup {
  readonly auth?: MuranoAuth;
  readonly deviceId?: string;
  readonly murano?: Record<string, unknown>;
  readonly dataDir?: string;
}

/** A configuration whose Murano section points at the emulator (SNI kept). */
function rawConfig(brokerPort: number, emu: MuranoEmulator, dir: string, s: Setup = {}) {
  const auth = s.auth ?? 'token';
  return {
    connection: { server: '127.0.0.1', port: brokerPort },
    device: { channels: CHANNELS.map((c) => ({ id: c.id, name: c.name, type: c.type })) },
    web: { dataDir: s.dataDir ?? join(dir, 'data') },
    murano: {
      enabled: true,
      connectorId: emu.connectorId,
      ...(auth === 'certificate' ? {} : { deviceId: s.deviceId ?? 'dev-1' }),
      auth,
      ca: emu.certs.ca.certFile,
      ...(auth === 'certificate'
        ? { cert: emu.certs.client.certFile, key: emu.certs.client.keyFile }
        : {}),
      connectTo: { host: '127.0.0.1', port: emu.port },
      resources: [
        { alias: 'data_in', channels: { '001': 1, '002': 2 } },
        { alias: 'data_out', direction: 'out', channels: { '005': 5 } },
      ],
      ...s.murano,
    },
  };
}

/** Log lines as text, to check what was (and was not) logged. */
function logSink() {
  const lines: string[] = [];
  const logger = pino({ level: 'debug' }, { write: (line: string) => void lines.push(line) });
  return { logger, lines };
}

async function start(
  t: TestContext,
  emu: MuranoEmulator,
  s: Setup & { dir?: string; brokerPort?: number } = {},
) {
  const defer = deferrer(t);
  const brokerPort = s.brokerPort ?? (await startMosquitto(t)).port;
  const dir = s.dir ?? mkdtempSync(join(tmpdir(), 'courier-murano-'));
  const io = manualDriver();
  const log = logSink();
  const events: AgentEvent[] = [];
  const agent = new Agent(parseConfig(rawConfig(brokerPort, emu, dir, s)), {
    driver: io.driver,
    logger: log.logger,
  });
  agent.on('event', (e) => events.push(e));
  defer(() => agent.close());
  await agent.start();
  /** The device's connection is up on both sides (the CONNACK has been read). */
  const online = async (id = 'dev-1') => {
    await emu.until(() => emu.connected().includes(id), `${id} connected`);
    await waitFor(() => agent.muranoStatus()?.connected === true, 'Murano link up');
  };
  return {
    online,
    agent,
    io,
    log,
    events,
    dir,
    brokerPort,
  };
}

const connectedAs = (emu: MuranoEmulator, id: string) => () => emu.connected().includes(id);

describe('Murano connector', () => {
  it('token: provisions anonymously with SNI, stores the token 0600, reconnects with it, reports', async (t) => {
    const emu = await startMuranoEmulator(t, {
      content: [{ name: 'logo.gif', length: 16214, mime: 'image/gif', url: 'https://x/logo.gif' }],
    });
    const { agent, io, log, dir } = await start(t, emu);
    await emu.until(connectedAs(emu, 'dev-1'), 'dev-1 connected');

    // First the anonymous provisioning connection, then the device's own.
    assert.deepEqual(
      emu.connects.map((c) => [c.servername, c.clientId, c.hasPassword, c.returnCode]),
      [
        [emu.servername, '', false, 0],
        [emu.servername, 'dev-1', true, 0],
      ],
    );
    assert.deepEqual(emu.provisions, [{ device: 'dev-1', answer: 'token' }]);
    const provision = emu.received.find((r) => r.topic === '$provision/dev-1');
    assert.equal(provision?.payload, '');
    const token = emu.devices.get('dev-1') ?? '';
    assert.equal(token.length, 40);
    const file = join(dir, 'data', `murano-${emu.connectorId}-dev-1.token`);
    assert.equal(readFileSync(file, 'utf8'), token);
    assert.equal(statSync(file).mode & 0o777, 0o600);

    // config_io once, describing the in channels.
    await emu.until(() => emu.writes('dev-1', 'config_io').length === 1, 'config_io');
    const configIo = JSON.parse(emu.writes('dev-1', 'config_io')[0]!.value);
    assert.deepEqual(Object.keys(configIo.channels), ['001', '002']);
    assert.equal(configIo.channels['001'].display_name, 'Temperature');

    io.set(1, 73.16);
    await emu.until(() => emu.writes('dev-1', 'data_in').length === 1, 'data_in');
    const w = emu.writes('dev-1', 'data_in')[0]!;
    assert.deepEqual([w.via, JSON.parse(w.value)], ['alias', { '001': 73.16 }]);

    // $content listed, shown in the status and logged.
    await waitFor(() => agent.muranoStatus()?.content !== undefined, 'content list');
    assert.deepEqual(agent.muranoStatus()?.content?.[0]?.name, 'logo.gif');
    assert.ok(log.lines.some((l) => l.includes('logo.gif')));
    const status = agent.muranoStatus();
    assert.equal(status?.provisioning, 'provisioned');
    assert.equal(status?.tokenPresent, true);
    assert.equal(status?.endpoint, `${emu.servername}:8883`);
    // The token is a secret: in no log line.
    assert.ok(!log.lines.some((l) => l.includes(token)), 'token logged');
  });

  it('token: a cloud push on $resource/data_out/<µs> drives the output, without a subscription', async (t) => {
    const emu = await startMuranoEmulator(t);
    const { io, events } = await start(t, emu);
    await emu.until(connectedAs(emu, 'dev-1'), 'dev-1 connected');
    const sent = emu.write('dev-1', 'data_out', '{"005":1}');
    assert.ok(sent > 1e15, 'timestamp in µs');
    await waitFor(() => io.values.get(5) === true, 'valve driven');
    const received = events.find((e) => e.type === 'received');
    assert.equal(received?.type === 'received' && received.topic, `$resource/data_out/${sent}`);
    // A key it does not map is refused and reported, not ignored.
    emu.write('dev-1', 'data_out', '{"009":1}');
    await waitFor(() => events.some((e) => e.type === 'rejected'), 'rejected');
  });

  it('one change feeding two aliases goes to $resource/ in one message', async (t) => {
    const emu = await startMuranoEmulator(t);
    const { io, online } = await start(t, emu, {
      murano: {
        resources: [
          { alias: 'data_in', channels: { '001': 1 } },
          { alias: 'temperature', channels: { t: 1 } },
        ],
      },
    });
    await online();
    io.set(1, 21.5);
    await emu.until(() => emu.writes('dev-1', 'temperature').length === 1, 'temperature');
    const multi = emu.received.filter((r) => r.topic === '$resource/');
    assert.equal(multi.length, 1);
    assert.deepEqual(JSON.parse(multi[0]!.payload), {
      data_in: '{"001":21.5}',
      temperature: '{"t":21.5}',
    });
    assert.equal(emu.writes('dev-1', 'data_in')[0]?.via, 'multi');
  });

  it('offline readings are kept and uploaded as $resource.batch with their µs timestamps, in chunks, once', async (t) => {
    const emu = await startMuranoEmulator(t);
    const { agent, io } = await start(t, emu, { murano: { batchMaxBytes: 1024 } });
    await emu.until(connectedAs(emu, 'dev-1'), 'dev-1 connected');
    await emu.until(() => emu.writes('dev-1', 'config_io').length === 1, 'config_io');
    await emu.stop();
    await waitFor(() => agent.muranoStatus()?.connected === false, 'Murano link down');
    const base = 1_700_000_000_000;
    for (let i = 0; i < 40; i++) io.set(i % 2 === 0 ? 1 : 2, i, base + i);
    await waitFor(() => agent.muranoStatus()?.history.pending === 40, '40 kept');
    await emu.start();
    await emu.until(() => emu.writes('dev-1', 'data_in').length === 40, '40 readings uploaded');
    const batches = emu.received.filter((r) => r.topic === '$resource.batch');
    assert.ok(batches.length > 1, `chunked (${batches.length} batches)`);
    for (const b of batches) assert.ok(Buffer.byteLength(b.payload) <= 1024);
    const got = emu.writes('dev-1', 'data_in');
    assert.deepEqual(
      got.map((w) => [w.via, w.timestampUs, w.value]),
      Array.from({ length: 40 }, (_, i) => [
        'batch',
        (base + i) * 1000,
        JSON.stringify({ [i % 2 === 0 ? '001' : '002']: i }),
      ]),
    );
    await waitFor(() => agent.muranoStatus()?.history.pending === 0, 'history empty');
    // Back to live reporting, nothing sent twice.
    io.set(1, 99);
    await emu.until(() => emu.writes('dev-1', 'data_in').length === 41, 'live again');
    assert.equal(emu.writes('dev-1', 'data_in')[40]?.via, 'alias');
  });

  it('history survives an agent restart while offline', async (t) => {
    const emu = await startMuranoEmulator(t);
    const first = await start(t, emu);
    await emu.until(connectedAs(emu, 'dev-1'), 'dev-1 connected');
    await emu.stop();
    await waitFor(() => first.agent.muranoStatus()?.connected === false, 'Murano link down');
    first.io.set(1, 30, 1_700_000_000_000);
    first.io.set(1, 31, 1_700_000_001_000);
    await waitFor(() => first.agent.muranoStatus()?.history.pending === 2, 'kept');
    await first.agent.close();

    const second = await start(t, emu, { dir: first.dir, brokerPort: first.brokerPort });
    assert.equal(second.agent.muranoStatus()?.history.pending, 2);
    await emu.start();
    await emu.until(() => emu.writes('dev-1', 'data_in').length === 2, 'uploaded');
    assert.deepEqual(
      emu.writes('dev-1', 'data_in').map((w) => w.timestampUs),
      [1_700_000_000_000_000, 1_700_000_001_000_000],
    );
    // The stored token was used: one provisioning only.
    assert.equal(emu.provisions.length, 1);
  });

  it('a second device with a taken id gets a clear error, once, and re-provisioning is explicit', async (t) => {
    const emu = await startMuranoEmulator(t);
    emu.devices.set('dev-1', 'x'.repeat(40));
    const { agent, events } = await start(t, emu);
    await waitFor(() => agent.muranoStatus()?.provisioning === 'failed', 'provisioning failed');
    const error = events.find((e) => e.type === 'error' && e.code === 'AGENT_MURANO_PROVISION');
    assert.match(
      error?.type === 'error' ? error.message : '',
      /already provisioned or not on the connector's allow-list/,
    );
    assert.deepEqual(emu.provisions, [{ device: 'dev-1', answer: 'empty' }]);
    assert.equal(agent.muranoStatus()?.tokenPresent, false);
    // Reset in the connector, then the explicit action provisions again.
    emu.reset('dev-1');
    await agent.reprovisionMurano();
    await emu.until(connectedAs(emu, 'dev-1'), 'dev-1 connected');
    assert.deepEqual(
      emu.provisions.map((p) => p.answer),
      ['empty', 'token'],
    );
  });

  it('a stored token the connector no longer accepts is a clear error, not a retry loop', async (t) => {
    const emu = await startMuranoEmulator(t);
    const { agent, online, events } = await start(t, emu);
    await online();
    // "Clear credentials" in the connector: the agent's next connection is refused.
    emu.reset('dev-1');
    await waitFor(() => agent.muranoStatus()?.provisioning === 'failed', 'failed');
    const refused = emu.connects.filter((c) => c.returnCode !== 0);
    assert.equal(refused.length, 1);
    assert.ok(
      events.some((e) => e.type === 'error' && /credentials of dev-1 were refused/.test(e.message)),
    );
    assert.equal(emu.provisions.length, 1, 'not provisioned again on its own');
  });

  it('an id off the allow-list is refused the same way', async (t) => {
    const emu = await startMuranoEmulator(t, { allowList: ['other'] });
    const { agent } = await start(t, emu);
    await waitFor(() => agent.muranoStatus()?.provisioning === 'failed', 'provisioning failed');
    assert.equal(emu.devices.size, 0);
  });

  it('password: publishes the password to $provision, then connects as device id + password', async (t) => {
    const emu = await startMuranoEmulator(t, { auth: 'password' });
    const password = 'a1b2c3d4e5f6g7h8i9j0';
    const { agent, io, online } = await start(t, emu, { auth: 'password', murano: { password } });
    await online();
    assert.equal(emu.received.find((r) => r.topic === '$provision/dev-1')?.payload, password);
    assert.deepEqual(emu.provisions, [{ device: 'dev-1', answer: 'password' }]);
    const last = emu.connects.at(-1);
    assert.deepEqual([last?.clientId, last?.username, last?.returnCode], ['dev-1', 'dev-1', 0]);
    io.set(2, 4);
    await emu.until(() => emu.writes('dev-1', 'data_in').length === 1, 'data_in');
    assert.equal(agent.muranoStatus()?.tokenPresent, false);
  });

  it('password: an id taken with another password is a clear error', async (t) => {
    const emu = await startMuranoEmulator(t, { auth: 'password' });
    emu.devices.set('dev-1', 'someone-else-password-0000');
    const { agent, events } = await start(t, emu, {
      auth: 'password',
      murano: { password: 'a1b2c3d4e5f6g7h8i9j0' },
    });
    await waitFor(() => agent.muranoStatus()?.provisioning === 'failed', 'failed');
    const error = events.find((e) => e.type === 'error' && /credentials of dev-1/.test(e.message));
    assert.ok(error, 'clear error');
    assert.equal(emu.connects.filter((c) => c.username === 'dev-1').length, 1, 'no retry loop');
  });

  it('certificate: the CN is the identity, client id empty, nothing provisioned', async (t) => {
    const emu = await startMuranoEmulator(t, { auth: 'certificate' });
    const { io, online } = await start(t, emu, { auth: 'certificate' });
    await online('client1');
    assert.deepEqual(emu.provisions, []);
    const c = emu.connects.at(-1);
    assert.deepEqual(
      [c?.clientId, c?.username, c?.hasPassword, c?.certCn],
      ['', undefined, false, 'client1'],
    );
    io.set(1, 25);
    await emu.until(() => emu.writes('client1', 'data_in').length === 1, 'data_in');
  });

  it('config: what each auth type needs is checked, with the field named', () => {
    const base = { connection: { server: 'localhost' } };
    const issues = (murano: Record<string, unknown>) => {
      const r = validateConfig({
        ...base,
        murano: { enabled: true, connectorId: 'abc', ...murano },
      });
      return r.ok ? [] : r.issues.map((i) => i.path);
    };
    assert.deepEqual(issues({ auth: 'token' }), ['murano.deviceId']);
    assert.deepEqual(issues({ auth: 'password', deviceId: 'd' }), ['murano.password']);
    assert.deepEqual(issues({ auth: 'password', deviceId: 'd', password: 'short' }), [
      'murano.password',
    ]);
    assert.deepEqual(issues({ auth: 'certificate' }), ['murano.cert', 'murano.key']);
    assert.deepEqual(issues({ deviceId: 'd', port: 1883 }), ['murano.port']);
    assert.deepEqual(
      issues({
        deviceId: 'd',
        resources: [{ alias: 'data_out', direction: 'out', channels: { a: 7 } }],
      }),
      ['murano.resources[0].channels.a'],
    );
  });
});

describe('Murano card in the console', () => {
  it('shows provisioning state and token presence (never the token), and re-provisions on request', async (t) => {
    const emu = await startMuranoEmulator(t);
    emu.devices.set('dev-1', 'y'.repeat(40));
    const fx = await startConsoleFixture(t, {
      config: {
        murano: {
          enabled: true,
          connectorId: emu.connectorId,
          deviceId: 'dev-1',
          ca: emu.certs.ca.certFile,
          connectTo: { host: '127.0.0.1', port: emu.port },
          resources: [{ alias: 'data_in', channels: { '008': 8 } }],
        },
      },
    });
    const api = new ApiClient(fx.web.url);
    await api.login();
    await waitFor(() => fx.agent.muranoStatus()?.provisioning === 'failed', 'failed');
    const before = await api.request('GET', '/api/state');
    assert.deepEqual(
      [
        before.json.murano.provisioning,
        before.json.murano.tokenPresent,
        before.json.murano.deviceId,
      ],
      ['failed', false, 'dev-1'],
    );
    emu.reset('dev-1');
    const r = await api.request('POST', '/api/murano/reprovision');
    assert.equal(r.status, 204);
    await emu.until(() => emu.connected().includes('dev-1'), 'dev-1 connected');
    await waitFor(() => fx.agent.muranoStatus()?.connected === true, 'link up');
    const after = await api.request('GET', '/api/state');
    assert.deepEqual(
      [after.json.murano.provisioning, after.json.murano.tokenPresent],
      ['provisioned', true],
    );
    assert.ok(!after.text.includes(emu.devices.get('dev-1') ?? '-'), 'token in the API answer');
    // The token file went into the console's data directory, 0600.
    const token = join(fx.dataDir, `murano-${emu.connectorId}-dev-1.token`);
    assert.equal(statSync(token).mode & 0o777, 0o600);
  });
});

describe('courier agent -c examples/exosite.json', () => {
  it('provisions, reports, keeps readings while Murano is away and uploads them; murano-reprovision forgets the token', async (t) => {
    const emu = await startMuranoEmulator(t);
    const broker = await startMosquitto(t);
    const dir = mkdtempSync(join(tmpdir(), 'courier-exosite-'));
    // The documented override: the socket goes to the emulator, SNI and the certificate
    // check stay those of <connectorId>.m2.exosite.io; the CA is the emulator's.
    const example = JSON.parse(readFileSync(join(ROOT, 'examples/exosite.json'), 'utf8'));
    example.$schema = undefined;
    example.connection.port = broker.port;
    example.device.stepMs = 100;
    example.murano.ca = emu.certs.ca.certFile;
    example.murano.connectTo = { host: '127.0.0.1', port: emu.port };
    example.web.dataDir = join(dir, 'data');
    const file = join(dir, 'exosite.json');
    writeFileSync(file, JSON.stringify(example));
    assert.equal(example.murano.connectorId, emu.connectorId);

    const proc = startCli(['agent', '-c', file, '--no-web']);
    t.after(async () => {
      proc.child.kill('SIGKILL');
      await proc.exited;
    });
    await emu.until(() => emu.writes('boiler-12', 'data_in').length > 0, 'live data_in', 30000);
    assert.deepEqual(emu.provisions, [{ device: 'boiler-12', answer: 'token' }]);
    await emu.until(() => emu.writes('boiler-12', 'config_io').length === 1, 'config_io');

    await emu.stop();
    const downAt = Date.now();
    await waitFor(() => proc.stderr.includes('readings are kept for upload'), 'loss logged', 20000);
    await emu.start();
    await emu.until(
      () => emu.writes('boiler-12', 'data_in').some((w) => w.via === 'batch'),
      'history uploaded',
      30000,
    );
    const writes = emu.writes('boiler-12', 'data_in');
    const batch = writes.filter((w) => w.via === 'batch');
    // Readings taken while Murano was away, with their own timestamps (µs), none twice.
    assert.ok(batch.every((w) => w.timestampUs >= (downAt - 1000) * 1000));
    const keys = writes.map((w) => `${w.timestampUs}:${w.value}`);
    assert.equal(new Set(keys).size, keys.length, 'a reading sent twice');
    assert.ok(!proc.stderr.includes(emu.devices.get('boiler-12') ?? '-'), 'token logged');
    proc.child.kill('SIGTERM');
    await proc.exited;

    const token = join(dir, 'data', `murano-${emu.connectorId}-boiler-12.token`);
    assert.ok(existsSync(token));
    const r = await runCli(['murano-reprovision', '-c', file]);
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, /forgot the token credential of boiler-12/);
    assert.ok(!existsSync(token));
  });
});

describe('Murano emulator rules (raw TLS client)', () => {
  /** A raw MQTT 3.1.1 client over TLS, to break the rules on purpose. */
  async function raw(emu: MuranoEmulator, servername?: string) {
    const socket = tlsConnect({
      host: '127.0.0.1',
      port: emu.port,
      ca: emu.certs.ca.cert,
      ...(servername === undefined ? { checkServerIdentity: () => undefined } : { servername }),
    });
    const parser = new Parser({ protocolVersion: 4 });
    const got: string[] = [];
    socket.on('data', (c: Uint8Array) => parser.push(c, (p) => got.push(p.type)));
    socket.on('error', () => undefined);
    const closed = new Promise<void>((r) => socket.on('close', () => r()));
    await new Promise<void>((r) => socket.once('secureConnect', () => r()));
    return {
      socket,
      got,
      closed,
      send: (p: Parameters<typeof encode>[0]) => socket.write(encode(p, 4)),
    };
  }

  it('refuses a connection without SNI', async (t) => {
    const emu = await startMuranoEmulator(t);
    const c = await raw(emu);
    await c.closed;
    assert.match(emu.disconnects.at(-1) ?? '', /without SNI/);
  });

  // Our encoder refuses DUP=1 on QoS 0 [MQTT-3.3.1-2]: those bytes are written by hand
  // (PUBLISH, DUP=1, QoS 0; topic "$provision/x"; no payload).
  const topic = Buffer.from('$provision/x');
  const dupQos0 = Buffer.concat([Buffer.from([0x38, 2 + topic.length, 0, topic.length]), topic]);
  for (const [what, bytes] of [
    ['DUP=1 on QoS 0', dupQos0],
    ['PUBREC', encode({ type: 'pubrec', packetId: 1 }, 4)],
  ] as const) {
    it(`disconnects on ${what}`, async (t) => {
      const emu = await startMuranoEmulator(t);
      const c = await raw(emu, emu.servername);
      c.send({ type: 'connect', protocolVersion: 4, clientId: '', clean: true, keepaliveSec: 0 });
      await emu.until(() => emu.connects.length === 1, 'CONNECT');
      c.socket.write(bytes);
      await c.closed;
      assert.ok(emu.disconnects.some((d) => d.includes(what === 'PUBREC' ? 'PUBREC' : 'DUP=1')));
    });
  }

  it('an anonymous client may not publish to a resource', async (t) => {
    const emu = await startMuranoEmulator(t);
    const c = await raw(emu, emu.servername);
    c.send({ type: 'connect', protocolVersion: 4, clientId: '', clean: true, keepaliveSec: 0 });
    await emu.until(() => emu.connects.length === 1, 'CONNECT');
    c.send({
      type: 'publish',
      topic: '$resource/data_in',
      payload: new Uint8Array(),
      qos: 0,
      retain: false,
      dup: false,
    });
    await c.closed;
    assert.match(emu.disconnects.at(-1) ?? '', /anonymous PUBLISH/);
  });
});
