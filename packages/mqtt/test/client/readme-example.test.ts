/**
 * The README's MQTT 5.0 example runs as written, against a Mosquitto 2.0 started by the
 * test: only the broker URL and the package's import path are replaced.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { startMosquitto } from '../../../../test/helpers/mosquitto.js';

const root = fileURLToPath(new URL('../../../../', import.meta.url));
const MARKER = '<!-- example: mqtt5';

/** The ```ts block that follows the marker in the README. */
function example(): string {
  const readme = readFileSync(join(root, 'README.md'), 'utf8');
  const at = readme.indexOf(MARKER);
  assert.ok(at >= 0, 'the README has the MQTT 5.0 example');
  const start = readme.indexOf('```ts\n', at) + '```ts\n'.length;
  return readme.slice(start, readme.indexOf('\n```', start));
}

test('the README MQTT 5.0 example (shared responders, request, subscription options) runs', async (t) => {
  const broker = await startMosquitto(t);
  const source = example();
  assert.match(source, /'mqtt:\/\/localhost:1883'/);
  const dir = mkdtempSync(join(tmpdir(), 'courier-readme-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const file = join(dir, 'example.mts');
  const entry = pathToFileURL(join(root, 'packages/mqtt/src/index.ts')).href;
  writeFileSync(
    file,
    source
      .replace("'mqtt://localhost:1883'", JSON.stringify(broker.url()))
      .replace("from 'courier-mqtt'", `from ${JSON.stringify(entry)}`),
  );
  // The library's own imports (#platform) resolve to its sources, as in every other test.
  const child = spawn(process.execPath, ['--conditions=source', '--import', 'tsx', file], {
    cwd: root,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  let err = '';
  child.stdout.on('data', (chunk: Buffer) => {
    out += chunk.toString();
  });
  child.stderr.on('data', (chunk: Buffer) => {
    err += chunk.toString();
  });
  const timer = setTimeout(() => child.kill(), 20_000);
  const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
  clearTimeout(timer);
  assert.equal(code, 0, `exit ${code}: ${err}`);
  assert.match(out.trim(), /^worker [01]: \d{4}-\d\d-\d\dT/);
});
