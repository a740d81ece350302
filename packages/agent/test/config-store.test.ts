// The console's configuration store: atomic saves in the file's own format, the previous file
// kept for roll-back, and nothing half-written when a write fails.
import assert from 'node:assert/strict';
import { mkdir, readdir, readFile, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { parse as parseYaml } from 'yaml';
import { tempDir } from '../../../test/helpers/tmp.js';
import { loadConfig, parseConfig, parseConfigText } from '../src/config/validate.js';
import { writeFileAtomic } from '../src/fs-atomic.js';
import { editConfigText } from '../src/web/config-edit.js';
import { FileConfigStore, MemoryConfigStore } from '../src/web/config-store.js';
import { mergeSecrets, redactConfig } from '../src/web/secrets.js';
import { lucidConfig } from './console-util.js';

const yamlText = `# the device's configuration
connection:
  server: 127.0.0.1
  port: 1883
topics: []
`;

describe('FileConfigStore', () => {
  it('saves a YAML file as YAML, keeps the previous text, and the result loads again', async (t) => {
    const dir = await tempDir(t, 'courier-store-');
    const file = join(dir, 'agent.yaml');
    await writeFile(file, yamlText);
    const store = new FileConfigStore(file);
    assert.equal(await store.previous(), undefined);
    const next = parseConfig({ connection: { server: 'broker.local', port: 8883 } });
    await store.save(next);
    const text = await readFile(file, 'utf8');
    assert.equal(parseYaml(text).connection.server, 'broker.local');
    assert.deepEqual(await loadConfig(file), next);
    assert.equal(await readFile(`${file}.prev`, 'utf8'), yamlText);
    assert.equal((await store.previous())?.connection.server, '127.0.0.1');
    assert.equal((await stat(file)).mode & 0o777, 0o600);
    assert.deepEqual((await readdir(dir)).sort(), ['agent.yaml', 'agent.yaml.prev']);
  });

  it('a failed write leaves the file as it was and no temporary file behind', async (t) => {
    const dir = await tempDir(t, 'courier-store-fail-');
    const file = join(dir, 'agent.json');
    await writeFile(file, '{"connection":{"server":"a"}}');
    // The rename target is a non-empty directory: the rename fails after the temp file is written.
    const blocked = join(dir, 'blocked');
    await mkdir(join(blocked, 'inside'), { recursive: true });
    await assert.rejects(writeFileAtomic(blocked, 'new text'));
    assert.deepEqual((await readdir(dir)).sort(), ['agent.json', 'blocked']);
    assert.equal(await readFile(file, 'utf8'), '{"connection":{"server":"a"}}');
  });

  it('the memory store keeps one previous configuration', async () => {
    const a = parseConfig({ connection: { server: 'a' } });
    const b = parseConfig({ connection: { server: 'b' } });
    const store = new MemoryConfigStore(a);
    assert.equal(await store.previous(), undefined);
    await store.save(b);
    assert.equal((await store.previous())?.connection.server, 'a');
  });
});

describe('secrets', () => {
  it('removes every secret, including the backup PSK and a Redis password, and merges them back', () => {
    const config = parseConfig({
      ...lucidConfig('127.0.0.1', 1883),
      backup: {
        connection: { server: 'backup.local' },
        login: { username: 'b', password: 'backup-pw-123' },
        security: { authMode: 'psk', psk: { identity: 'dev', key: 'a1b2c3d4' } },
      },
    });
    const { config: shown, secrets } = redactConfig(config);
    const text = JSON.stringify(shown);
    for (const secret of [
      'backup-pw-123',
      'a1b2c3d4',
      'mqtt-Secret-Pw-4711',
      'redis-Secret-Pw-0815',
    ])
      assert.ok(!text.includes(secret), secret);
    assert.equal(secrets['backup.security.psk.key'], true);
    assert.equal(secrets['backup.login.password'], true);
    // What the browser sends back unchanged is the configuration as it was.
    assert.deepEqual(parseConfig(mergeSecrets(shown, config)), config);
    // null removes; a string replaces.
    const edited = structuredClone(shown) as { login: Record<string, unknown> };
    edited.login.password = null;
    assert.equal(parseConfig(mergeSecrets(edited, config)).login.password, undefined);
    edited.login.password = 'new-one';
    assert.equal(parseConfig(mergeSecrets(edited, config)).login.password, 'new-one');
  });
});

/** A hand-written file, as an installer keeps it: comments, defaults left out. */
const handWritten = `# LucidIoT office module
connection:
  server: broker.local # the site's broker
  port: 1883
device:
  channels:
    - { id: 0, name: Valve, type: digital-output }
    - { id: 8, name: OfficeTemp, type: rtd-input }
topics:
  # the valve, switched by the building system
  - topic: Valve
    direction: subscribe
    channel: 0
    format: { type: boolean, on: "On", off: "Off" }
  # the office temperature, every second
  - topic: OfficeTemp
    direction: publish
    channel: 8
    format: { type: number, precision: 1 }
    pubIntervalMs: 1000
`;

describe('editConfigText: the file is edited, not rewritten', () => {
  const file = 'agent.yaml';
  const before = () => parseConfigText(handWritten, file);

  it('a changed value keeps every comment and leaves the defaults out of the file', () => {
    const next = before();
    next.connection.port = 1884;
    const text = editConfigText(handWritten, next, file);
    assert.equal(text, handWritten.replace('port: 1883', 'port: 1884'));
    assert.deepEqual(parseConfigText(text, file), next);
  });

  it('rows added, moved and removed: each unchanged row keeps its comment', () => {
    const next = before();
    const [valve, temp] = next.topics;
    const added = parseConfig({
      connection: { server: 'x' },
      device: { channels: [{ id: 0, name: 'Valve', type: 'digital-output' }] },
      topics: [
        { topic: 'ValveState', direction: 'publish', channel: 0, format: { type: 'boolean' } },
      ],
    }).topics[0]!;
    next.topics = [temp!, added, valve!];
    const text = editConfigText(handWritten, next, file);
    assert.deepEqual(parseConfigText(text, file), next);
    assert.ok(text.startsWith('# LucidIoT office module\n'), text);
    assert.ok(text.includes("server: broker.local # the site's broker"), text);
    // Each comment is still just above its own row.
    assert.match(text, /# the office temperature, every second\n\s+- topic: OfficeTemp/);
    assert.match(text, /# the valve, switched by the building system\n\s+- topic: Valve/);
    assert.ok(text.indexOf('topic: OfficeTemp') < text.indexOf('topic: ValveState'));
    assert.ok(text.indexOf('topic: ValveState') < text.indexOf('topic: Valve\n'));
    // Defaults of the untouched sections are not spelled out.
    assert.ok(!text.includes('keepaliveSec'), text);
    assert.ok(!text.includes('web:'), text);
    // The Valve row removed: its comment goes with it.
    next.topics = [temp!];
    const without = editConfigText(handWritten, next, file);
    assert.deepEqual(parseConfigText(without, file), next);
    assert.ok(!without.includes('building system'), without);
    assert.match(without, /# the office temperature, every second\n\s+- topic: OfficeTemp/);
  });

  it('a changed row is edited in place: its comment stays, only the changed key differs', () => {
    const next = before();
    (next.topics[1] as { pubIntervalMs: number }).pubIntervalMs = 200;
    const text = editConfigText(handWritten, next, file);
    assert.equal(text, handWritten.replace('pubIntervalMs: 1000', 'pubIntervalMs: 200'));
  });

  it('a setting removed (a password cleared) is deleted from the file', () => {
    const withLogin = `${handWritten}login:\n  username: device\n  password: old-secret # rotate yearly\n`;
    const next = parseConfigText(withLogin, file);
    delete (next.login as { password?: string }).password;
    const text = editConfigText(withLogin, next, file);
    assert.ok(!text.includes('old-secret'), text);
    assert.ok(text.includes('username: device'), text);
    assert.deepEqual(parseConfigText(text, file), next);
  });

  it('a JSON file stays JSON and keeps only the keys it had, plus the changed ones', () => {
    const json = '{"connection":{"server":"a.local"},"topics":[]}';
    const next = parseConfigText(json, 'agent.json');
    next.connection.server = 'b.local';
    next.lwt = { topic: 'dev/status', message: 'offline', qos: 1, retain: true };
    const text = editConfigText(json, next, 'agent.json');
    assert.deepEqual(JSON.parse(text), {
      connection: { server: 'b.local' },
      topics: [],
      lwt: { topic: 'dev/status', message: 'offline', qos: 1, retain: true },
    });
    assert.deepEqual(parseConfigText(text, 'agent.json'), next);
  });

  it('a file that is not a valid configuration now is written whole', () => {
    const broken = 'connection:\n  port: not-a-number\n';
    const next = parseConfig({ connection: { server: 'a.local' } });
    const text = editConfigText(broken, next, file);
    assert.deepEqual(parseConfigText(text, file), next);
    assert.ok(text.includes('keepaliveSec'), 'every setting is written out');
  });
});
