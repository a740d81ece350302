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

// `--broker <name>` (repeatable, or comma-separated) runs the interop matrix and the cluster
// tests of those brokers only: the suites read the selection from COURIER_BROKERS. Without
// it every broker runs (CI).
const BROKERS = ['mosquitto-3.1.1', 'mosquitto-5', 'nats', 'rabbitmq', 'aedes'];
const args = process.argv.slice(2);
const filter = [];
const brokers = [];
for (let i = 0; i < args.length; i++) {
  const arg = args[i];
  if (arg === '--broker' || arg.startsWith('--broker=')) {
    const value = arg === '--broker' ? args[++i] : arg.slice('--broker='.length);
    if (value === undefined || value === '') {
      console.error(`--broker needs a name: ${BROKERS.join(', ')} (a prefix selects several)`);
      process.exit(2);
    }
    for (const name of value.split(',')) {
      if (!BROKERS.some((b) => b === name || b.startsWith(name))) {
        console.error(`--broker: unknown broker "${name}"; known: ${BROKERS.join(', ')}`);
        process.exit(2);
      }
      brokers.push(name);
    }
  } else filter.push(arg);
}
if (brokers.length > 0) {
  process.env.COURIER_BROKERS = brokers.join(',');
  // The matrix, and the cluster tests of the brokers that have one.
  if (filter.length === 0) {
    filter.push('interop/matrix', ...brokers.map((b) => `interop/cluster-${b.split('-')[0]}`));
  }
}
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
