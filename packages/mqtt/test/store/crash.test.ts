/**
 * Kills a process writing to a file store with SIGKILL at random moments, many rounds on one
 * store directory, and checks after each kill that:
 * - the store opens without error (a stale lock is taken over, a torn tail is cut off);
 * - it holds exactly the state of a prefix [0, j) of the mutation stream, with j at least the
 *   last `ack` the child printed: nothing whose flush resolved is lost, nothing is reordered;
 * - payloads are intact;
 * - the log stayed bounded (compaction ran while being killed).
 */

import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { StoreCorruptionError } from '../../src/store/errors.js';
import { fileStore } from '../../src/store/file.js';
import { applyOp, hash, Model, payloadOf } from './fixtures/ops.js';

const writer = fileURLToPath(new URL('./fixtures/crash-writer.ts', import.meta.url));
const ROUNDS = 12;
const COMPACT_MIN_BYTES = 64 * 1024;

interface RoundResult {
  acked: number;
  output: string;
}

/** Runs the writer from `start` and kills it `killAfterMs` after it is ready. */
function runWriter(dir: string, start: number, expectedFile: string, killAfterMs: number) {
  return new Promise<RoundResult>((resolve, reject) => {
    const child = spawn(
      process.execPath,
      [
        '--conditions=source',
        '--import',
        'tsx',
        writer,
        dir,
        String(start),
        expectedFile,
        String(COMPACT_MIN_BYTES),
      ],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    let out = '';
    let err = '';
    let timer: NodeJS.Timeout | undefined;
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
      if (out === '' || !out.includes('ready\n')) {
        out += chunk;
        if (out.includes('ready\n')) timer = setTimeout(() => child.kill('SIGKILL'), killAfterMs);
      } else {
        out += chunk;
      }
    });
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => {
      err += chunk;
    });
    child.on('error', reject);
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      if (signal !== 'SIGKILL') {
        reject(new Error(`writer exited with code ${code} before it was killed: ${err}`));
        return;
      }
      let acked = start;
      for (const m of out.matchAll(/^ack (\d+)$/gm)) acked = Math.max(acked, Number(m[1]));
      resolve({ acked, output: out });
    });
  });
}

test('SIGKILL at random moments never loses a flushed mutation', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'courier-store-crash-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const expectedFile = join(dir, '..', `${dir.split('/').pop()}.expected`);
  t.after(() => rmSync(expectedFile, { force: true }));

  const model = new Model();
  let position = 0;
  let totalAcked = 0;
  let tornTails = 0;
  let maxLogBytes = 0;
  for (let round = 0; round < ROUNDS; round++) {
    writeFileSync(expectedFile, model.canonical());
    const killAfterMs = 30 + (hash(round + 1000) % 400);
    const { acked } = await runWriter(dir, position, expectedFile, killAfterMs);
    assert.ok(acked >= position);
    totalAcked += acked - position;

    const warnings: unknown[] = [];
    const store = fileStore(dir, {
      compactMinBytes: COMPACT_MIN_BYTES,
      onWarning: (w) => warnings.push(w),
    });
    const snapshot = await store.open();
    maxLogBytes = Math.max(maxLogBytes, statSync(store.path).size);
    await store.close();
    for (const w of warnings) {
      // Only a torn tail is acceptable after a kill: synced data is never damaged.
      assert.ok(w instanceof StoreCorruptionError && w.kind === 'torn-tail', String(w));
      tornTails++;
    }
    for (const r of snapshot.outgoing) {
      assert.deepEqual(r.payload, payloadOf(r.seq), `payload of seq ${r.seq} is intact`);
    }

    // Find the prefix the store holds: at least up to the last ack.
    const recovered = Model.of(snapshot).canonical();
    while (position < acked) applyOp(position++, model);
    let matched = model.canonical() === recovered;
    while (!matched && position < acked + 200_000) {
      applyOp(position++, model);
      matched = model.canonical() === recovered;
    }
    assert.ok(
      matched,
      `round ${round}: the store holds no prefix of the stream at or after ack ${acked}`,
    );
  }
  t.diagnostic(
    `${ROUNDS} kills, ${totalAcked} acknowledged mutations, ${position} recovered, ${tornTails} torn tails cut, max log ${maxLogBytes} bytes`,
  );
  assert.ok(totalAcked > 0, 'the writer acknowledged mutations');
  // Compaction kept the log bounded: a few times the threshold at most (one big batch).
  assert.ok(maxLogBytes < 16 * COMPACT_MIN_BYTES, `log grew to ${maxLogBytes} bytes`);
});
