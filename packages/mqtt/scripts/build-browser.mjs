#!/usr/bin/env node
// Builds the browser bundle: src/browser.ts → dist/browser/courier-mqtt.js (ESM, minified,
// with a source map), for pages that load the library without a bundler of their own. Paths
// are resolved from this file, so it runs from any working directory. The same options are
// used by the test that proves the bundle pulls in no Node module, and by the size report.
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');

/** Where the bundle is written. */
export const BROWSER_BUNDLE = join(root, 'dist', 'browser', 'courier-mqtt.js');

/**
 * esbuild options for the browser bundle. `platform: 'browser'` selects the `browser`
 * condition, so `#platform` is the WebSocket transport; `source` builds from TypeScript.
 */
export function browserBuildOptions() {
  return {
    absWorkingDir: root,
    entryPoints: [join(root, 'src', 'browser.ts')],
    bundle: true,
    format: 'esm',
    platform: 'browser',
    conditions: ['source'],
    target: 'es2022',
    minify: true,
    legalComments: 'none',
    logLevel: 'warning',
  };
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  try {
    await build({ ...browserBuildOptions(), outfile: BROWSER_BUNDLE, sourcemap: true });
    console.log(`browser bundle built: ${BROWSER_BUNDLE}`);
  } catch (error) {
    // esbuild has already printed its diagnostics; name the failure and fail the process.
    console.error(
      `build-browser failed: ${error instanceof Error ? error.message : String(error)}`,
    );
    process.exit(1);
  }
}
