#!/usr/bin/env node
// Builds the web console's page: ui/src/main.tsx → dist-ui/app.js, ui/src/style.css →
// dist-ui/app.css, and copies ui/index.html. Paths are resolved from this file, so it runs
// from any working directory. Exits non-zero when the build fails.
import { copyFile, mkdir } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const ui = join(root, 'ui');
const out = join(root, 'dist-ui');

try {
  await mkdir(out, { recursive: true });
  await build({
    absWorkingDir: root,
    entryPoints: [join(ui, 'src', 'main.tsx')],
    outfile: join(out, 'app.js'),
    bundle: true,
    format: 'esm',
    minify: true,
    target: 'es2020',
    jsx: 'automatic',
    jsxImportSource: 'preact',
    legalComments: 'none',
    logLevel: 'warning',
  });
  await build({
    absWorkingDir: root,
    entryPoints: [join(ui, 'src', 'style.css')],
    outfile: join(out, 'app.css'),
    bundle: true,
    minify: true,
    target: 'es2020',
    logLevel: 'warning',
  });
  await copyFile(join(ui, 'index.html'), join(out, 'index.html'));
  console.log(`web console built in ${out}`);
} catch (error) {
  // esbuild has already printed its diagnostics; name the failure and fail the process.
  console.error(`build-ui failed: ${error instanceof Error ? error.message : String(error)}`);
  process.exit(1);
}
