// The browser bundle pulls in no Node module: the browser entry is bundled with the build's
// own esbuild options (platform 'browser'), every import of a Node builtin (`node:*` or a bare
// builtin name such as `events`) is recorded instead of failing the build, and the list must
// be empty. The same check run on the Node entry must find Node modules, so the check itself
// is proven to see them. The output must not touch Node's globals (Buffer, process,
// setImmediate, require, a timer's unref) either: a bundler would not notice those, the
// browser would.
import assert from 'node:assert/strict';
import { builtinModules } from 'node:module';
import { join } from 'node:path';
import { test } from 'node:test';
import { build, type Plugin } from 'esbuild';
import { browserBuildOptions } from '../../scripts/build-browser.mjs';

const BUILTINS = new Set(builtinModules);

async function bundle(entry?: string): Promise<{ nodeImports: string[]; code: string }> {
  const nodeImports: string[] = [];
  const recordNode: Plugin = {
    name: 'record-node-builtins',
    setup(b) {
      b.onResolve({ filter: /.*/ }, (args) => {
        const bare = args.path.replace(/^node:/, '').split('/')[0]!;
        if (args.path.startsWith('node:') || BUILTINS.has(bare) || BUILTINS.has(args.path)) {
          nodeImports.push(
            `${args.path} (from ${args.importer.split('/src/')[1] ?? args.importer})`,
          );
          return { path: args.path, external: true };
        }
        return undefined;
      });
    },
  };
  const options = browserBuildOptions();
  const result = await build({
    ...options,
    ...(entry === undefined ? {} : { entryPoints: [join(options.absWorkingDir!, entry)] }),
    minify: false,
    write: false,
    plugins: [recordNode],
  });
  return { nodeImports, code: result.outputFiles[0]!.text };
}

test('the browser entry bundles for the browser without any Node module', async () => {
  const { nodeImports, code } = await bundle();
  assert.deepEqual(nodeImports, [], 'Node modules in the browser bundle');
  for (const global of [
    /\bBuffer\.\w/,
    /\bprocess\.\w/,
    /\bsetImmediate\(/,
    /\brequire\(/,
    /\.unref\(\)/,
  ]) {
    assert.doesNotMatch(code, global, `the browser bundle uses Node's ${global.source}`);
  }
  // It is the client: connect, createClient and the memory store are there.
  assert.match(code, /export\s*\{[^}]*\bconnect\b/);
  assert.match(code, /export\s*\{[^}]*\bmemoryStore\b/);
});

test('the same check finds the Node modules of the Node entry', async () => {
  const { nodeImports } = await bundle('src/index.ts');
  for (const module of ['node:crypto', 'node:fs', 'node:zlib']) {
    assert.ok(
      nodeImports.some((i) => i.startsWith(module)),
      `${module} not seen in ${nodeImports.join(', ')}`,
    );
  }
});
