/**
 * `npm run bench:bundle`: the size of Courier's browser bundle beside MQTT.js's, measured in
 * the same run: minified bytes and gzipped bytes (zlib level 9, the same for both).
 *
 * - Courier: `src/browser.ts` bundled with the build's own options (`packages/mqtt/scripts/
 *   build-browser.mjs`: esbuild, platform browser, ESM, minified), the whole entry.
 * - MQTT.js: its own browser bundle as it ships (`mqtt/dist/mqtt.esm.js`, ESM, minified, with
 *   the Node polyfills it needs inside).
 * - Both again as an application that imports only `connect`, bundled the same way with
 *   esbuild (platform browser, minified): what tree-shaking leaves of each (nothing to leave
 *   out for MQTT.js: its `browser` condition is the prebuilt bundle, one default export).
 *
 * Nothing here is a test: it prints a table.
 */

import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';
import { build } from 'esbuild';
import { browserBuildOptions } from '../packages/mqtt/scripts/build-browser.mjs';

const here = dirname(fileURLToPath(import.meta.url));
const require = createRequire(import.meta.url);
const mqttJsDir = dirname(require.resolve('mqtt/package.json'));
const mqttJsVersion = (
  JSON.parse(readFileSync(join(mqttJsDir, 'package.json'), 'utf8')) as {
    version: string;
  }
).version;

/** Bundles `contents` (an ES module importing `connect`) for the browser, minified. */
async function appBundle(contents: string): Promise<Uint8Array> {
  // The library's own browser build, with the application as its entry instead.
  const { entryPoints: _library, ...shared } = browserBuildOptions();
  const result = await build({
    ...shared,
    stdin: { contents, resolveDir: here, loader: 'js' },
    write: false,
    logLevel: 'error',
  });
  return result.outputFiles[0]!.contents;
}

const ours = await build({ ...browserBuildOptions(), write: false });
const rows: [string, Uint8Array][] = [
  ['courier-mqtt/browser (whole entry)', ours.outputFiles![0]!.contents],
  [
    `mqtt ${mqttJsVersion} dist/mqtt.esm.js (as shipped)`,
    readFileSync(join(mqttJsDir, 'dist', 'mqtt.esm.js')),
  ],
  [
    'courier-mqtt/browser, connect only',
    await appBundle(
      "import { connect } from 'courier-mqtt/browser'; globalThis.connect = connect;",
    ),
  ],
  [
    `mqtt ${mqttJsVersion}, connect only`,
    // Its `browser` condition is the prebuilt bundle, whose one export is the default.
    await appBundle("import mqtt from 'mqtt'; globalThis.connect = mqtt.connect;"),
  ],
];

const kib = (n: number): string => `${(n / 1024).toFixed(1)} KiB`;
const width = Math.max(...rows.map(([name]) => name.length));
console.log(`${'bundle'.padEnd(width)}  ${'minified'.padStart(10)}  ${'gzip -9'.padStart(10)}`);
for (const [name, bytes] of rows) {
  const gzipped = gzipSync(bytes, { level: 9 }).length;
  console.log(
    `${name.padEnd(width)}  ${kib(bytes.length).padStart(10)}  ${kib(gzipped).padStart(10)}`,
  );
}
