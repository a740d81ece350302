// The check `npm test` runs first: which system packages are missing, on a fake PATH and a
// temporary directory standing in for `/` (no apt-get is ever run here).
import assert from 'node:assert/strict';
import { chmod, mkdir, rm, writeFile } from 'node:fs/promises';
import { delimiter, dirname, join } from 'node:path';
import { test } from 'node:test';
import {
  canInstall,
  findMissing,
  installCommand,
  packagesOf,
  REQUIREMENTS,
  report,
} from '../../scripts/system-deps.mjs';
import { tempDir } from '../helpers/tmp.js';

const ALL = [
  'mosquitto',
  'mosquitto-clients',
  'coreutils',
  'redis-server',
  'openssl',
  'socat',
  'nats-server',
  'rabbitmq-server',
  'erlang-base',
  'chromium',
  'fonts-dejavu-core',
  'fonts-liberation',
];

/** Creates `path` under `root`, executable unless `mode` says otherwise. */
async function put(root: string, path: string, mode = 0o755): Promise<void> {
  const full = join(root, path);
  await mkdir(dirname(full), { recursive: true });
  await writeFile(full, '#!/bin/sh\n');
  await chmod(full, mode);
}

/** A fake machine with everything the tests need: commands in `bin/`, files under the root. */
async function fullMachine(root: string): Promise<void> {
  for (const r of REQUIREMENTS) {
    await put(root, r.command === undefined ? r.file : join('bin', r.command));
  }
}

test('a bare machine misses every package, and the report names each with the apt-get command', async (t) => {
  const root = await tempDir(t, 'deps-');
  const missing = findMissing({ path: join(root, 'bin'), root });
  assert.deepEqual(packagesOf(missing), ALL);
  const text = report(missing);
  for (const r of REQUIREMENTS) assert.ok(text.includes(r.command ?? r.file), text);
  assert.ok(
    text.includes(`apt-get update && apt-get install -y --no-install-recommends ${ALL.join(' ')}`),
    text,
  );
});

test('a machine with everything misses nothing', async (t) => {
  const root = await tempDir(t, 'deps-');
  await fullMachine(root);
  assert.deepEqual(findMissing({ path: join(root, 'bin'), root }), []);
});

test('each program and file is checked on its own: one missing names its package once', async (t) => {
  const root = await tempDir(t, 'deps-');
  await fullMachine(root);
  const path = join(root, 'bin');
  await rm(join(root, 'bin', 'mosquitto_sub'));
  await rm(join(root, 'usr/bin/chromium'));
  await rm(join(root, 'usr/share/fonts/truetype/liberation/LiberationSans-Regular.ttf'));
  const missing = findMissing({ path, root });
  assert.deepEqual(
    missing.map((r) => r.command ?? r.file),
    [
      'mosquitto_sub',
      '/usr/bin/chromium',
      '/usr/share/fonts/truetype/liberation/LiberationSans-Regular.ttf',
    ],
  );
  assert.equal(
    installCommand(packagesOf(missing)),
    'apt-get install -y --no-install-recommends mosquitto-clients chromium fonts-liberation',
  );
});

test('a program is found in /usr/sbin off PATH, but not when it is not executable', async (t) => {
  const root = await tempDir(t, 'deps-');
  await fullMachine(root);
  // Debian's mosquitto lives in /usr/sbin, which a user's PATH often lacks.
  await rm(join(root, 'bin', 'mosquitto'));
  await put(root, 'usr/sbin/mosquitto');
  // A redis-server that cannot be run is no redis-server; a directory is no chromium.
  await put(root, 'bin/redis-server', 0o644);
  await rm(join(root, 'usr/bin/chromium'));
  await mkdir(join(root, 'usr/bin/chromium'));
  const missing = findMissing({
    path: `${join(root, 'none')}${delimiter}${join(root, 'bin')}`,
    root,
  });
  assert.deepEqual(packagesOf(missing), ['redis-server', 'chromium']);
});

test('installs only as root with apt-get present', async (t) => {
  const root = await tempDir(t, 'deps-');
  const path = join(root, 'bin');
  assert.equal(canInstall({ uid: 0, path, root }), false, 'no apt-get');
  await put(root, 'usr/bin/apt-get');
  assert.equal(canInstall({ uid: 0, path, root }), true);
  assert.equal(canInstall({ uid: 1000, path, root }), false, 'not root');
});
