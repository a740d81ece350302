#!/usr/bin/env node
// Runs Biome's native binary. The npm mirror this project installs from serves Biome's
// Linux x64 build only (not the other platforms the `@biomejs/biome` wrapper lists, which
// breaks `npm ci`), so the platform package is an optional dependency and this shim runs it.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';

const require = createRequire(import.meta.url);
let binary;
try {
  binary = join(dirname(require.resolve('@biomejs/cli-linux-x64/package.json')), 'biome');
} catch {
  binary = undefined;
}
if (binary === undefined || !existsSync(binary)) {
  console.error(
    'Biome is not installed for this platform (only @biomejs/cli-linux-x64 is); lint skipped.',
  );
  process.exit(process.env.CI ? 1 : 0);
}
const result = spawnSync(binary, process.argv.slice(2), { stdio: 'inherit' });
process.exit(result.status ?? 1);
