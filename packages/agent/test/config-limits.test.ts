// The configuration refuses up front whatever would fail later: strings the wire cannot carry,
// options the library refuses, certificate files that are no certificates (or no files),
// loose JSON/YAML, and free text without a bound.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { testCerts } from '../../../test/helpers/certs.js';
import { Agent } from '../src/agent/agent.js';
import { resolveClientOptions } from '../src/config/client-options.js';
import { ConfigError } from '../src/config/errors.js';
import { configJsonSchema } from '../src/config/json-schema.js';
import { TLS_FILE_MAX_BYTES } from '../src/config/tls-file.js';
import {
  CONFIG_FILE_MAX_BYTES,
  loadConfig,
  parseConfig,
  parseConfigText,
} from '../src/config/validate.js';
import { checkWireString } from '../src/config/wire-string.js';
import { runCli, tempJson } from './util.js';

const LONE = 'a\ud800b';
const channels = [
  { id: 0, name: 'Valve', type: 'digital-output' },
  { id: 8, name: 'OfficeTemp', type: 'rtd-input' },
];

/** The `path: message` lines of the ConfigError `fn` throws. */
function issuesOf(fn: () => unknown): string[] {
  try {
    fn();
  } catch (error) {
    assert.ok(error instanceof ConfigError, String(error));
    return error.lines();
  }
  assert.fail('no ConfigError');
}

async function issuesOfAsync(promise: Promise<unknown>): Promise<string[]> {
  try {
    await promise;
  } catch (error) {
    assert.ok(error instanceof ConfigError, String(error));
    return error.lines();
  }
  assert.fail('no ConfigError');
}

const tmp = () => mkdtempSync(join(tmpdir(), 'courier-limits-'));

describe('config: strings that go on the wire', () => {
  it('a lone surrogate in a topic row, the Will topic, the client id or the user name is an error naming the path', () => {
    const lines = issuesOf(() =>
      parseConfig({
        connection: { server: '127.0.0.1', clientId: LONE },
        login: { username: LONE, password: `pw${LONE}` },
        lwt: { topic: LONE, message: LONE },
        device: { channels },
        topics: [
          { topic: LONE, direction: 'publish', channel: 8, format: { type: 'number' } },
          { topic: `cmd/${LONE}`, direction: 'subscribe', channel: 0, format: { type: 'boolean' } },
        ],
        redis: {
          devices: [{ deviceAlias: 'm' }],
          signals: [
            {
              deviceAlias: 'm',
              signalAlias: 's',
              sourceDeviceAlias: 'd',
              sourceSignalAlias: 'x',
              topic: LONE,
            },
          ],
        },
      }),
    );
    const paths = lines.map((l) => l.slice(0, l.indexOf(':')));
    assert.deepEqual(paths, [
      'connection.clientId',
      'login.username',
      'login.password',
      'lwt.topic',
      'lwt.message',
      'topics[0].topic',
      'topics[1].topic',
      'redis.signals[0].topic',
    ]);
    for (const line of lines) assert.match(line, /lone UTF-16 surrogate/);
    // A secret is never quoted, not even the position of the bad character.
    assert.ok(!lines.find((l) => l.startsWith('login.password'))?.includes('index'));
  });

  it('a surrogate pair (an emoji) is fine; U+0000 and more than 65,535 bytes are not', () => {
    parseConfig({
      connection: { server: '127.0.0.1', clientId: 'pump-😀' },
      lwt: { topic: 'status/😀' },
    });
    const lines = issuesOf(() =>
      parseConfig({
        connection: { server: '127.0.0.1', clientId: 'a\u0000b' },
        login: { username: '€'.repeat(30000) },
      }),
    );
    assert.deepEqual(lines, [
      'connection.clientId: the client id must not contain U+0000 (at index 1) [MQTT-1.5.3-2]',
      'login.username: the user name must be at most 65,535 bytes of UTF-8 [MQTT-1.5.3]',
    ]);
    assert.equal(checkWireString('x\u0000', 'password', 'binary'), undefined);
  });

  it('the agent refuses such a configuration in checkConfig, before it connects', async () => {
    const agent = new Agent(parseConfig({ connection: { server: '127.0.0.1' } }));
    const checked = await agent.checkConfig({
      connection: { server: '127.0.0.1' },
      lwt: { topic: LONE },
    });
    assert.equal(checked.ok, false);
    assert.deepEqual(checked.ok ? [] : checked.issues.map((i) => i.path), ['lwt.topic']);
  });

  it('courier agent exits 1 naming the field instead of retrying for ever', async () => {
    const file = tempJson('surrogate.json', {
      connection: { server: '127.0.0.1', port: 1, clientId: LONE },
    });
    const r = await runCli(['agent', '-c', file, '--no-web']);
    assert.equal(r.status, 1, r.stderr);
    assert.match(r.stderr, /connection\.clientId: the client id holds a lone UTF-16 surrogate/);
  });
});

describe('config: what the library would refuse is refused when checked', () => {
  it('a server with a port, scheme or path in it is refused by field', () => {
    const lines = issuesOf(() =>
      parseConfig({
        connection: { server: 'broker.local:1883' },
        backup: { connection: { server: 'mqtt://backup.local' } },
      }),
    );
    assert.deepEqual(lines, [
      'connection.server: must be a host name or an IP address alone: no scheme, port (see port) or path',
      'backup.connection.server: must be a host name or an IP address alone: no scheme, port (see port) or path',
    ]);
  });

  it("the built options go through the library's resolveOptions and URL parser", async () => {
    // isIP accepts an IPv6 zone; a URL cannot hold one: the library refuses it at connect.
    const config = parseConfig({ connection: { server: 'fe80::1%eth0' } });
    const lines = await issuesOfAsync(resolveClientOptions(config));
    assert.equal(lines.length, 1);
    assert.match(lines[0] ?? '', /^connection\.server: .*\(client option url\)$/);
  });

  it('connection.maxPacketSize defaults to 1 MiB, is bounded, and reaches the client', async () => {
    const c = parseConfig({ connection: { server: 'h' } });
    assert.equal(c.connection.maxPacketSize, 1048576);
    assert.equal((await resolveClientOptions(c)).options.maxPacketSize, 1048576);
    const set = parseConfig({ connection: { server: 'h', maxPacketSize: 4096 } });
    assert.equal((await resolveClientOptions(set)).options.maxPacketSize, 4096);
    assert.deepEqual(
      issuesOf(() => parseConfig({ connection: { server: 'h', maxPacketSize: 63 } })),
      ['connection.maxPacketSize: must be a whole number of bytes from 64 to 268435460'],
    );
    assert.deepEqual(
      issuesOf(() => parseConfig({ connection: { server: 'h', maxPacketSize: 268435461 } })),
      ['connection.maxPacketSize: must be a whole number of bytes from 64 to 268435460'],
    );
  });

  it('a PSK key of an odd number of hex digits is refused (the library cannot use it)', () => {
    assert.deepEqual(
      issuesOf(() =>
        parseConfig({
          connection: { server: 'h' },
          security: { authMode: 'psk', psk: { identity: 'id', key: 'abc' } },
        }),
      ),
      ['security.psk.key: must be an even number of hexadecimal digits'],
    );
  });
});

describe('config: certificate and key files', () => {
  const tlsConfig = (security: Record<string, unknown>) =>
    parseConfig({ connection: { server: 'h' }, security });

  it('/dev/zero as a CA is refused without reading it (not a regular file)', async () => {
    const before = process.memoryUsage().rss;
    const lines = await issuesOfAsync(
      resolveClientOptions(tlsConfig({ authMode: 'server', ca: '/dev/zero' })),
    );
    assert.deepEqual(lines, ['security.ca: cannot read "/dev/zero": not a regular file']);
    // Nothing was read: the process did not grow by anything like a buffer of zeros.
    assert.ok(process.memoryUsage().rss - before < 64 * 1024 * 1024);
  });

  it('a file larger than the bound is refused by its size', async () => {
    const dir = tmp();
    writeFileSync(join(dir, 'big.pem'), Buffer.alloc(TLS_FILE_MAX_BYTES + 1, 0x41));
    const lines = await issuesOfAsync(
      resolveClientOptions(tlsConfig({ authMode: 'server', ca: 'big.pem' }), dir),
    );
    assert.deepEqual(lines, [
      `security.ca: cannot read "big.pem": ${TLS_FILE_MAX_BYTES + 1} bytes is larger than the limit of ${TLS_FILE_MAX_BYTES} bytes`,
    ]);
  });

  it('/etc/passwd as a CA, a certificate as a key, a key of another certificate: refused by field', async () => {
    const certs = await testCerts();
    const lines = await issuesOfAsync(
      resolveClientOptions(
        tlsConfig({
          authMode: 'server+client',
          ca: '/etc/passwd',
          cert: certs.client.certFile,
          key: certs.client.certFile,
        }),
      ),
    );
    assert.deepEqual(lines, [
      'security.ca: cannot use "/etc/passwd": not a PEM certificate: no "-----BEGIN CERTIFICATE-----" block',
      `security.key: cannot use ${JSON.stringify(certs.client.certFile)}: not a PEM private key: no "-----BEGIN ... PRIVATE KEY-----" block`,
    ]);
    const mismatch = await issuesOfAsync(
      resolveClientOptions(
        tlsConfig({
          authMode: 'server+client',
          ca: certs.ca.certFile,
          cert: certs.client.certFile,
          key: certs.server.keyFile,
        }),
      ),
    );
    assert.equal(mismatch.length, 1);
    assert.match(
      mismatch[0] ?? '',
      /^security\.key: the TLS files cannot be used together: .*key values mismatch/,
    );
  });

  it('a CA bundle of several certificates and a matching pair are accepted', async () => {
    const certs = await testCerts();
    const dir = tmp();
    writeFileSync(join(dir, 'bundle.pem'), `${certs.ca.cert}\n${certs.otherCa.cert}`);
    const { options } = await resolveClientOptions(
      tlsConfig({
        authMode: 'server+client',
        ca: 'bundle.pem',
        cert: certs.client.certFile,
        key: certs.client.keyFile,
      }),
      dir,
    );
    assert.equal(options.tls?.key, certs.client.key);
  });

  it('the backup server and the console read their files the same way', async () => {
    const lines = await issuesOfAsync(
      resolveClientOptions(
        parseConfig({
          connection: { server: 'h' },
          backup: {
            connection: { server: 'b' },
            security: { authMode: 'server', ca: '/dev/zero' },
          },
        }),
      ),
    );
    assert.deepEqual(lines, ['backup.security.ca: cannot read "/dev/zero": not a regular file']);
  });
});

describe('config files: strict JSON, BOM, line and column', () => {
  it('a duplicate key in JSON is an error with its path, line and column', () => {
    const text = '{\n  "connection": {\n    "server": "a",\n    "server": "b"\n  }\n}\n';
    assert.deepEqual(
      issuesOf(() => parseConfigText(text, 'agent.json')),
      ['connection.server: duplicate key at line 4, column 5 (first at line 3, column 5)'],
    );
    const top = '{"connection": {"server": "a"},\n"device": {},\n"device": {}}';
    assert.deepEqual(
      issuesOf(() => parseConfigText(top, 'agent.json')),
      ['device: duplicate key at line 3, column 1 (first at line 2, column 1)'],
    );
  });

  it('a duplicate key in YAML is an error with line and column', () => {
    const text = 'connection:\n  server: a\n  server: b\n';
    assert.deepEqual(
      issuesOf(() => parseConfigText(text, 'agent.yaml')),
      ['(root): not valid YAML at line 3, column 3: Map keys must be unique'],
    );
  });

  it('a UTF-8 byte order mark is accepted in JSON and YAML', () => {
    assert.equal(
      parseConfigText('\ufeff{"connection": {"server": "h"}}', 'agent.json').connection.server,
      'h',
    );
    assert.equal(
      parseConfigText('\ufeffconnection:\n  server: h\n', 'agent.yml').connection.server,
      'h',
    );
  });

  it('JSON syntax errors carry line and column, not a character offset', () => {
    const cases: [string, string][] = [
      [
        '{\n  "connection": {\n    "server": tru\n  }\n}',
        'line 3, column 15: unexpected character',
      ],
      [
        '{\n  "connection": {"server": "h"},\n}',
        'line 3, column 1: expected a property name in double quotes',
      ],
      ['// note\n{}', 'line 1, column 1: comments are not allowed in JSON'],
      ['{"connection": {"server": "h"}', 'line 1, column 31: expected "," or "}"'],
      ['', 'line 1, column 1: expected a value'],
    ];
    for (const [text, where] of cases) {
      assert.deepEqual(
        issuesOf(() => parseConfigText(text, 'agent.json')),
        [`(root): not valid JSON at ${where}`],
      );
    }
  });

  it('a configuration file that is no regular file or is too large is refused unread', async () => {
    assert.deepEqual(await issuesOfAsync(loadConfig('/dev/zero')), [
      '(root): cannot read the file: not a regular file',
    ]);
    const dir = tmp();
    const big = join(dir, 'big.json');
    writeFileSync(big, Buffer.alloc(CONFIG_FILE_MAX_BYTES + 1, 0x20));
    assert.deepEqual(await issuesOfAsync(loadConfig(big)), [
      `(root): cannot read the file: ${CONFIG_FILE_MAX_BYTES + 1} bytes is larger than the limit of ${CONFIG_FILE_MAX_BYTES} bytes`,
    ]);
  });

  it('a FIFO is refused without blocking on it', async () => {
    const fifo = join(tmp(), 'fifo.json');
    execFileSync('mkfifo', [fifo]);
    assert.deepEqual(await issuesOfAsync(loadConfig(fifo)), [
      '(root): cannot read the file: not a regular file',
    ]);
  });
});

describe('config: every free-text field has a length bound', () => {
  it('every string of the JSON Schema has a maxLength', () => {
    const unbounded: string[] = [];
    const walk = (node: unknown, path: string) => {
      if (typeof node !== 'object' || node === null) return;
      const n = node as Record<string, unknown>;
      if (
        n.type === 'string' &&
        n.maxLength === undefined &&
        n.const === undefined &&
        n.enum === undefined
      )
        unbounded.push(path);
      for (const key of ['anyOf', 'oneOf', 'allOf'] as const)
        if (Array.isArray(n[key])) for (const sub of n[key] as unknown[]) walk(sub, path);
      if (n.items !== undefined) walk(n.items, `${path}[]`);
      if (typeof n.properties === 'object' && n.properties !== null)
        for (const [k, v] of Object.entries(n.properties))
          walk(v, path === '' ? k : `${path}.${k}`);
    };
    walk(configJsonSchema(), '');
    assert.deepEqual(unbounded, []);
  });

  it('device.name, a channel name, a unit, a boolean word, a template: too long is refused by path', () => {
    const long = (n: number) => 'x'.repeat(n + 1);
    const lines = issuesOf(() =>
      parseConfig({
        connection: { server: 'h' },
        device: {
          name: long(128),
          channels: [
            { id: 0, name: long(128), type: 'digital-output' },
            { id: 8, name: 'T', type: 'rtd-input', unit: long(32) },
          ],
        },
        topics: [
          {
            topic: 'a',
            direction: 'subscribe',
            channel: 0,
            format: { type: 'boolean', on: long(64) },
          },
          {
            topic: 'b',
            direction: 'publish',
            channel: 8,
            format: { type: 'template', template: `{value}${long(1024)}` },
          },
        ],
        web: { host: long(253) },
      }),
    );
    assert.deepEqual(lines, [
      'device.name: must be at most 128 characters',
      'device.channels[0].name: must be at most 128 characters',
      'device.channels[1].unit: must be at most 32 characters',
      'topics[0].format.on: must be at most 64 characters',
      'topics[1].format.template: must be at most 1024 characters',
      'web.host: must be at most 253 characters',
    ]);
  });
});
