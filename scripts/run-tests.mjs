#!/usr/bin/env node
// Runs every *.test.ts under packages/*/test and test/ with Node's own test runner.
// Node 20's --test takes no globs, so the files are listed here.
//
// Before anything is built or run, the system programs the tests need (Mosquitto, Redis,
// openssl, Chromium and fonts) are checked, and installed when that can be done unattended:
// a missing program must stop the run with its package named, not cancel tests half-way.
import { spawnSync } from 'node:child_process';
import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { ensureSystemDeps } from './system-deps.mjs';

function find(dir, out) {
  let names;
  try {
    names = readdirSync(dir);
  } catch {
    return out;
  }
  for (const name of names.sort()) {
    if (name === 'node_modules' || name === 'dist') continue;
    const path = join(dir, name);
    if (statSync(path).isDirectory()) find(path, out);
    else if (name.endsWith('.test.ts')) out.push(path);
  }
  return out;
}

const filter = process.argv.slice(2);
const roots = ['packages/mqtt/test', 'packages/agent/test', 'test'];
let files = roots.flatMap((root) => find(root, []));
if (filter.length > 0) files = files.filter((f) => filter.some((s) => f.includes(s)));
if (files.length === 0) {
  console.error('no test files found');
  process.exit(1);
}
if (!ensureSystemDeps()) process.exit(1);
// The console's browser tests and page test need the built page.
const ui = spawnSync(process.execPath, ['packages/agent/scripts/build-ui.mjs'], {
  stdio: 'inherit',
});
if (ui.status !== 0) process.exit(ui.status ?? 1);

const result = spawnSync(
  process.execPath,
  [
    '--conditions=source',
    '--import',
    'tsx',
    '--test',
    '--test-reporter=spec',
    '--test-timeout=300000',
    ...files,
  ],
  { stdio: 'inherit' },
);
process.exit(result.status ?? 1);
