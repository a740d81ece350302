import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { testCerts } from '../../../test/helpers/certs.js';
import { resolveClientOptions, serverUrl } from '../src/config/client-options.js';
import { ConfigError, formatPath } from '../src/config/errors.js';
import { configJsonSchemaText } from '../src/config/json-schema.js';
import {
  loadConfig,
  parseConfig,
  parseConfigText,
  resolveChannel,
  validateConfig,
} from '../src/config/validate.js';

const root = new URL('../../../', import.meta.url);
const minimal = { connection: { server: '127.0.0.1' } };
const channels = [
  { id: 0, name: 'Valve', type: 'digital-output' },
  { id: 8, name: 'OfficeTemp', type: 'rtd-input' },
  { id: 9, name: 'Setpoint', type: 'analog-output', signal: '4-20mA' },
];
const row = (extra: Record<string, unknown>) => ({
  topic: 'OfficeTemp',
  direction: 'publish',
  channel: 8,
  format: { type: 'number', precision: 1 },
  ...extra,
});

/** Every problem of a config, as `path: message` lines. */
function problems(raw: unknown): string[] {
  try {
    parseConfig(raw);
  } catch (error) {
    assert.ok(error instanceof ConfigError);
    return error.lines();
  }
  return [];
}

describe('config: valid files', () => {
  it('a configuration with every default written out validates again (as the console saves it)', async () => {
    for (const name of [
      'examples/lucidiot.json',
      'examples/wcc-lite.json',
      'examples/home-assistant.yaml',
    ]) {
      const once = await loadConfig(new URL(name, root).pathname);
      const twice = parseConfig(JSON.parse(JSON.stringify(once)));
      assert.deepEqual(twice, once, name);
    }
  });

  it('accepts a minimal file and fills every default', () => {
    const c = parseConfig(minimal);
    assert.equal(c.connection.keepaliveSec, 60);
    assert.equal(c.connection.cleanSession, true);
    assert.deepEqual(c.reconnect, { minDelaySec: 2, maxDelaySec: 60 });
    assert.equal(c.security.authMode, 'none');
    assert.deepEqual(c.limits, { channels: 16, topics: 16 });
    assert.deepEqual(c.web, {
      enabled: true,
      host: '127.0.0.1',
      port: 8080,
      dataDir: 'courier-data',
    });
    assert.equal(c.redis.enabled, false);
    assert.deepEqual(c.topics, []);
  });

  it('validates examples/lucidiot.json (LucidIoT: Valve on output 0, OfficeTemp from RTD 8 at QoS 2)', async () => {
    const c = await loadConfig(new URL('examples/lucidiot.json', root).pathname);
    assert.equal(c.device.channels.length, 16);
    const valve = c.topics.find((t) => t.topic === 'Valve');
    assert.deepEqual(
      [valve?.direction, valve?.channel, valve?.format.type],
      ['subscribe', 0, 'boolean'],
    );
    const temp = c.topics.find((t) => t.topic === 'OfficeTemp');
    assert.deepEqual(
      [temp?.direction, temp?.channel, temp?.qos, temp?.pubIntervalMs],
      ['publish', 8, 2, 1000],
    );
  });

  it('validates examples/wcc-lite.json (Redis gateway)', async () => {
    const c = await loadConfig(new URL('examples/wcc-lite.json', root).pathname);
    assert.equal(c.redis.enabled, true);
    assert.equal(c.redis.signals.length, 3);
    assert.equal(c.redis.signals[2]?.enable, false);
  });

  it('reads YAML too', () => {
    const c = parseConfigText(
      'connection:\n  server: broker.local\n  port: 1884\nlwt:\n  topic: dev/status\n',
      'a.yaml',
    );
    assert.equal(c.connection.port, 1884);
    assert.equal(c.lwt.topic, 'dev/status');
  });

  it('resolves channel defaults from type and signal', () => {
    const c = parseConfig({ ...minimal, device: { channels } });
    assert.deepEqual(
      c.device.channels.map(resolveChannel).map((ch) => [ch.unit, ch.range.min, ch.range.max]),
      [
        ['', 0, 1],
        ['°C', -200, 850],
        ['mA', 4, 20],
      ],
    );
  });
});

describe('config: every error reported by path', () => {
  // Each broken config and the exact lines it must produce.
  const table: { name: string; raw: unknown; expect: string[] }[] = [
    { name: 'not an object', raw: 42, expect: ['(root): must be an object'] },
    { name: 'no connection', raw: {}, expect: ['connection: is required'] },
    {
      name: 'bad qos in a topic row',
      raw: {
        ...minimal,
        device: { channels },
        topics: [row({}), row({ topic: 'b' }), row({ topic: 'c' }), row({ topic: 'd', qos: 3 })],
      },
      expect: ['topics[3].qos: must be 0, 1 or 2'],
    },
    {
      name: 'unknown field and wrong types',
      raw: {
        connection: { server: 'x', port: 'abc', keepalive: 5 },
        lwt: { qos: '1', topic: 't' },
      },
      expect: [
        'connection.port: must be a whole number from 1 to 65535',
        'connection.keepalive: unknown field',
        'lwt.qos: must be 0, 1 or 2',
      ],
    },
    {
      name: 'a topic row naming a channel that does not exist',
      raw: { ...minimal, device: { channels }, topics: [row({ channel: 12 })] },
      expect: ['topics[0].channel: no channel with id 12 in device.channels'],
    },
    {
      name: 'a subscribe row bound to an input channel',
      raw: {
        ...minimal,
        device: { channels },
        topics: [row({ direction: 'subscribe', format: { type: 'number' } })],
      },
      expect: [
        'topics[0].channel: channel 8 (OfficeTemp) is an rtd-input; a subscribe row needs an output channel',
      ],
    },
    {
      name: 'a Will delay at 3.1.1, without a Will, or with a session that ends with the connection',
      raw: { ...minimal, lwt: { topic: 's', delaySec: 5 } },
      expect: ['lwt.delaySec: is an MQTT 5 setting: set connection.protocolVersion to "5"'],
    },
    {
      name: 'a Will delay without a Will topic',
      raw: { connection: { server: 'x', protocolVersion: '5' }, lwt: { delaySec: 5 } },
      expect: ['lwt.delaySec: needs lwt.topic (there is no Will without it)'],
    },
    {
      name: 'a Will delay the session does not outlive',
      raw: { connection: { server: 'x', protocolVersion: '5' }, lwt: { topic: 's', delaySec: 5 } },
      expect: [
        'lwt.delaySec: has no effect: the session ends with the connection and the server then publishes the Will at once; set connection.sessionExpirySec (or cleanSession false)',
      ],
    },
    {
      name: 'a Will delay out of range',
      raw: {
        connection: { server: 'x', protocolVersion: '5', sessionExpirySec: 60 },
        lwt: { topic: 's', delaySec: 4_294_967_296 },
      },
      expect: ['lwt.delaySec: must be a whole number of seconds from 0 to 4294967295'],
    },
    {
      name: 'Will properties at 3.1.1, or without a Will topic',
      raw: {
        ...minimal,
        lwt: { topic: 's', contentType: 'text/plain', userProperties: [{ name: 'a', value: 'b' }] },
      },
      expect: [
        'lwt.contentType: is an MQTT 5 Will property: set connection.protocolVersion to "5"',
        'lwt.userProperties: is an MQTT 5 Will property: set connection.protocolVersion to "5"',
      ],
    },
    {
      name: 'Will properties without a Will topic',
      raw: { connection: { server: 'x', protocolVersion: '5' }, lwt: { messageExpirySec: 60 } },
      expect: ['lwt.messageExpirySec: needs lwt.topic (there is no Will without it)'],
    },
    {
      name: 'a Will user property that cannot be sent',
      raw: {
        connection: { server: 'x', protocolVersion: '5' },
        lwt: { topic: 's', userProperties: [{ name: 'a\ud800', value: 'b' }] },
      },
      expect: [
        'lwt.userProperties[0].name: the user property name holds a lone UTF-16 surrogate at index 1, which is not well-formed UTF-8 [MQTT-1.5.3-1]',
      ],
    },
    {
      name: 'authMode server without ca',
      raw: { ...minimal, security: { authMode: 'server' } },
      expect: ['security.ca: required when authMode is "server"'],
    },
    {
      name: 'mutual TLS without cert and key, PSK without key',
      raw: {
        ...minimal,
        security: { authMode: 'server+client', ca: 'ca.pem' },
        backup: { connection: { server: 'b' }, security: { authMode: 'psk' } },
      },
      expect: [
        'security.cert: required when authMode is "server+client"',
        'security.key: required when authMode is "server+client"',
        'backup.security.psk: required when authMode is "psk"',
      ],
    },
    {
      name: 'duplicate topic rows',
      raw: { ...minimal, device: { channels }, topics: [row({}), row({ qos: 1 })] },
      expect: ['topics[1].topic: duplicate of topics[0] (same topic and direction)'],
    },
    {
      name: 'wildcards, bad format type, publish-only settings on a subscribe row',
      raw: {
        ...minimal,
        device: { channels },
        topics: [
          row({ topic: 'a/+' }),
          { topic: 'a/#/b', direction: 'subscribe', channel: 0, format: { type: 'onoff' } },
          {
            topic: 'v',
            direction: 'subscribe',
            channel: 0,
            format: { type: 'boolean' },
            pubIntervalMs: 100,
            threshold: true,
          },
        ],
      },
      expect: [
        "topics[0].topic: wildcard '+' is not allowed in a topic name [MQTT-4.7.1-1]",
        'topics[1].format.type: must be one of number, boolean, wcc, json, template',
        "topics[1].topic: '#' must be the last character and occupy a whole level [MQTT-4.7.1-2]",
        'topics[2].pubIntervalMs: only publish rows have this setting',
        'topics[2].threshold: only publish rows have this setting',
      ],
    },
    {
      name: 'session, login, reconnect and channel checks',
      raw: {
        connection: {
          server: 'broker.local',
          cleanSession: false,
          dns: false,
          ipv4: false,
          ipv6: false,
        },
        login: { password: 'secret' },
        reconnect: { minDelaySec: 10, maxDelaySec: 5 },
        device: {
          channels: [
            { id: 1, name: 'a', type: 'analog-input', range: { min: 5, max: 5 } },
            { id: 1, name: 'b', type: 'digital-input', signal: '0-10V' },
          ],
        },
      },
      expect: [
        'connection.clientId: must be set when cleanSession is false',
        'connection.ipv6: ipv4 and ipv6 cannot both be false',
        'connection.server: must be an IP address when dns is false',
        'login.password: needs a username (MQTT 3.1.1 sends no password alone)',
        'reconnect.maxDelaySec: must be at least minDelaySec (10)',
        'device.channels[0].range.max: must be greater than range.min',
        'device.channels[1].id: duplicate id 1 (also device.channels[0])',
        'device.channels[1].signal: only analog channels have a signal',
      ],
    },
    {
      name: 'limits, deadband and templates',
      raw: {
        ...minimal,
        limits: { topics: 1 },
        device: { channels },
        topics: [
          row({ deadband: 0.5 }),
          {
            topic: 'v',
            direction: 'subscribe',
            channel: 9,
            format: { type: 'template', template: '{unit} {name' },
          },
        ],
      },
      expect: [
        'topics: at most 1 topic rows are allowed (limits.topics)',
        'topics[0].deadband: needs threshold: true',
        'topics[1].format.template: unclosed "{" at character 7',
      ],
    },
    {
      name: 'redis tables',
      raw: {
        ...minimal,
        redis: {
          enabled: true,
          url: 'http://x',
          devices: [{ deviceAlias: 'm' }, { deviceAlias: 'm', mqttQos: 5 }],
          signals: [
            {
              deviceAlias: 'nope',
              signalAlias: 's',
              sourceDeviceAlias: 'd',
              sourceSignalAlias: 's',
            },
            {
              deviceAlias: 'm',
              signalAlias: 's',
              sourceDeviceAlias: 'd/x',
              sourceSignalAlias: 's',
              topic: 'a/#',
            },
            { deviceAlias: 'm', signalAlias: 's', sourceDeviceAlias: 'd', sourceSignalAlias: 't' },
          ],
        },
      },
      expect: [
        'redis.url: must be a redis:// or rediss:// URL',
        'redis.devices[1].mqttQos: must be 0, 1 or 2',
        'redis.devices[1].deviceAlias: duplicate of redis.devices[0]',
        'redis.signals[0].deviceAlias: no device "nope" in redis.devices',
        'redis.signals[1].sourceDeviceAlias: must not contain "/"',
        "redis.signals[1].topic: wildcard '#' is not allowed in a topic name [MQTT-4.7.1-1]",
        'redis.signals[2].signalAlias: duplicate of redis.signals[1] in device "m"',
      ],
    },
  ];
  for (const { name, raw, expect } of table) {
    it(name, () => assert.deepEqual(problems(raw), expect));
  }

  it('refuses the whole file: the error lists every problem and names the file', () => {
    const dir = mkdtempSync(join(tmpdir(), 'courier-config-'));
    const file = join(dir, 'bad.json');
    writeFileSync(file, JSON.stringify({ connection: { server: '' }, lwt: { qos: 7 } }));
    return assert.rejects(loadConfig(file), (error: unknown) => {
      assert.ok(error instanceof ConfigError);
      assert.equal(error.code, 'AGENT_CONFIG');
      assert.equal(error.file, file);
      assert.equal(
        error.message,
        `invalid configuration ${file} (2 problems):\n  connection.server: must not be empty\n  lwt.qos: must be 0, 1 or 2`,
      );
      return true;
    });
  });

  it('reports syntax errors and unreadable files at the root', async () => {
    assert.throws(() => parseConfigText('{"connection":', 'x.json'), /\(root\): not valid JSON/);
    await assert.rejects(loadConfig('/nonexistent/courier.json'), /\(root\): cannot read the file/);
  });

  it('validateConfig returns the issues instead of throwing', () => {
    const r = validateConfig({ connection: {} });
    assert.deepEqual(r, {
      ok: false,
      issues: [{ path: 'connection.server', message: 'is required' }],
    });
  });

  it('formats paths like people write them', () => {
    assert.equal(formatPath(['topics', 3, 'qos']), 'topics[3].qos');
    assert.equal(formatPath([]), '(root)');
  });
});

describe('config: client options', () => {
  it('maps the file to the client options (Will, backoff, family, backup server)', async () => {
    const c = parseConfig({
      connection: { server: '::1', port: 1884, clientId: 'dev', keepaliveSec: 30, ipv4: false },
      login: { username: 'u', password: 'p' },
      lwt: { topic: 'dev/status', message: 'offline', qos: 1, retain: true },
      reconnect: { minDelaySec: 1, maxDelaySec: 8 },
      backup: {
        connection: { server: 'backup.local' },
        security: { authMode: 'psk', psk: { identity: 'id', key: '0a1b' } },
      },
    });
    const { url, options } = await resolveClientOptions(c);
    assert.equal(url, 'mqtt://[::1]:1884');
    assert.equal(options.clientId, 'dev');
    assert.equal(options.keepaliveSec, 30);
    assert.equal(options.family, 6);
    assert.equal(options.username, 'u');
    assert.deepEqual(options.will, {
      topic: 'dev/status',
      payload: 'offline',
      qos: 1,
      retain: true,
    });
    assert.deepEqual(options.reconnect, { minDelayMs: 1000, maxDelayMs: 8000 });
    assert.deepEqual(options.servers, [
      { url: 'mqtts://backup.local:8883', psk: { identity: 'id', key: '0a1b' }, family: 6 },
    ]);
  });

  it('lwt.delaySec at 5.0 becomes the Will Delay Interval', async () => {
    const c = parseConfig({
      connection: { server: 'h', protocolVersion: '5', sessionExpirySec: 60 },
      lwt: { topic: 'dev/status', message: 'offline', delaySec: 30 },
    });
    const { options } = await resolveClientOptions(c);
    assert.deepEqual(options.will, {
      topic: 'dev/status',
      payload: 'offline',
      qos: 0,
      retain: false,
      properties: { willDelayIntervalSec: 30 },
    });
  });

  it("the Will properties at 5.0 become the Will's properties, in order", async () => {
    const c = parseConfig({
      connection: { server: 'h', protocolVersion: '5', sessionExpirySec: 60 },
      lwt: {
        ...{ topic: 'dev/status', message: 'offline', delaySec: 5, messageExpirySec: 600 },
        contentType: 'text/plain',
        userProperties: [
          { name: 'site', value: 'north' },
          { name: 'site', value: 'hall' },
        ],
      },
    });
    const { options } = await resolveClientOptions(c);
    assert.deepEqual(options.will?.properties, {
      willDelayIntervalSec: 5,
      messageExpiryIntervalSec: 600,
      contentType: 'text/plain',
      userProperties: [
        ['site', 'north'],
        ['site', 'hall'],
      ],
    });
  });

  it('reads certificate files, and refuses a missing one by field', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'courier-tls-'));
    const certs = await testCerts();
    writeFileSync(join(dir, 'ca.pem'), certs.ca.cert);
    const ok = parseConfig({
      connection: { server: 'h', endpointName: 'iot.example' },
      security: { authMode: 'server', ca: 'ca.pem' },
    });
    const { url, options } = await resolveClientOptions(ok, dir);
    assert.equal(url, 'mqtts://h:8883');
    assert.deepEqual(options.tls, { ca: certs.ca.cert, servername: 'iot.example' });
    const bad = parseConfig({
      connection: { server: 'h' },
      security: { authMode: 'server+client', ca: 'ca.pem', cert: 'c.pem', key: 'k.pem' },
    });
    await assert.rejects(resolveClientOptions(bad, dir), (error: unknown) => {
      assert.ok(error instanceof ConfigError);
      assert.deepEqual(error.lines(), [
        'security.cert: cannot read "c.pem": ENOENT',
        'security.key: cannot read "k.pem": ENOENT',
      ]);
      return true;
    });
    assert.equal(
      serverUrl({ server: 'h', port: undefined }, { authMode: 'none' }),
      'mqtt://h:1883',
    );
  });
});

describe('config: JSON Schema', () => {
  it('schema/config.schema.json is up to date (npm run schema -w courier-agent)', () => {
    // Compared as JSON, not text: the formatter may lay the file out differently.
    const onDisk = JSON.parse(
      readFileSync(new URL('../schema/config.schema.json', import.meta.url), 'utf8'),
    ) as unknown;
    assert.deepEqual(onDisk, JSON.parse(configJsonSchemaText()));
  });
});
