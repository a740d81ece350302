// The console's configuration store: atomic saves in the file's own format, the previous file
// kept for roll-back, and nothing half-written when a write fails.
import assert from 'node:assert/strict';
import { mkdir, readdir, readFile, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { parse as parseYaml } from 'yaml';
import { tempDir } from '../../../test/helpers/tmp.js';
import { loadConfig, parseConfig } from '../src/config/validate.js';
import { FileConfigStore, MemoryConfigStore, writeFileAtomic } from '../src/web/config-store.js';
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
