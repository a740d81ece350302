/**
 * Crash test of the client with the file store: a publisher process is killed with SIGKILL at
 * random moments and restarted with the same client id and store, many rounds, while a
 * subscriber with a persistent session at QoS 2 counts every message.
 *
 * The publisher publishes at once after `createClient` (before its file store has opened) and
 * prints `durable <n>` once `publish(..., { resolveOn: 'stored' })` of message n resolved: the
 * public signal that it is on disk (see fixtures/publisher.ts). The property checked: every
 * durable message is delivered, QoS 1 at least once and QoS 2 exactly once, after the last
 * restart has drained the store. A loss, a QoS 2 duplicate, or a publish refused because the
 * store had not opened yet fails the test.
 */

import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { connect } from 'courier-mqtt';
import { startMosquitto } from '../../../../test/helpers/mosquitto.js';

const publisher = fileURLToPath(new URL('./fixtures/publisher.ts', import.meta.url));
const ROUNDS = 12;
const PER_ROUND = 3000;
// Within Mosquitto's max_inflight_messages (20), which it enforces on incoming QoS 2 by closing
// the connection (MQTT 3.1.1 has no Receive Maximum to tell us).
const WINDOW = 20;
const CLIENT_ID = 'courier-crash-publisher';

interface RoundOutput {
  durable: Set<number>;
}

/** Runs the publisher; kills it `killAfterMs` after `ready`, or lets it finish (`final`). */
function runPublisher(
  url: string,
  storeDir: string,
  first: number,
  count: number,
  killAfterMs: number | 'final',
): Promise<RoundOutput> {
  return new Promise((resolve, reject) => {
    const args = [url, storeDir, CLIENT_ID, String(first), String(count), String(WINDOW)];
    if (killAfterMs === 'final') args.push('final');
    const child = spawn(
      process.execPath,
      ['--conditions=source', '--import', 'tsx', publisher, ...args],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    const output: RoundOutput = { durable: new Set() };
    let buffered = '';
    let stderr = '';
    let timer: NodeJS.Timeout | undefined;
    const watchdog = setTimeout(() => child.kill('SIGKILL'), 30_000);
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
      buffered += chunk;
      const lines = buffered.split('\n');
      buffered = lines.pop() ?? '';
      for (const line of lines) {
        const [word, value] = line.split(' ');
        const n = Number(value);
        if (word === 'ready' && killAfterMs !== 'final') {
          timer = setTimeout(() => child.kill('SIGKILL'), killAfterMs);
        } else if (word === 'durable') {
          output.durable.add(n);
        }
      }
    });
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => {
      stderr += chunk;
    });
    child.on('error', reject);
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      clearTimeout(watchdog);
      const expected = killAfterMs === 'final' ? code === 0 : signal === 'SIGKILL';
      if (!expected) {
        reject(new Error(`publisher ended with code ${code}, signal ${signal}: ${stderr.trim()}`));
        return;
      }
      resolve(output);
    });
  });
}

test('publisher killed with SIGKILL: QoS 1 at least once, QoS 2 exactly once', async (t) => {
  // A deep queue: the broker must never drop a message the subscriber is slow to take.
  const broker = await startMosquitto(t, { lines: ['max_queued_messages 1000000'] });
  const url = broker.url();
  const storeDir = mkdtempSync(join(tmpdir(), 'courier-crash-'));
  t.after(() => rmSync(storeDir, { recursive: true, force: true }));

  const received = new Map<number, number>();
  const decoder = new TextDecoder();
  const subscriber = await connect(url, {
    clientId: 'courier-crash-subscriber',
    clean: false,
  });
  t.after(() => subscriber.end({ force: true }));
  subscriber.on('message', (m) => {
    const n = Number(decoder.decode(m.payload));
    received.set(n, (received.get(n) ?? 0) + 1);
  });
  await subscriber.subscribe('crash/data', { qos: 2 });

  const durable = new Set<number>();
  const started = Date.now();
  for (let round = 0; round <= ROUNDS; round++) {
    const final = round === ROUNDS;
    // Random kill times, spread from "while reconnecting and resending" to "mid-stream".
    const killAfterMs = final ? 'final' : 20 + Math.floor(Math.random() * 600);
    const out = await runPublisher(
      url,
      storeDir,
      round * 100_000,
      final ? 200 : PER_ROUND,
      killAfterMs,
    );
    for (const n of out.durable) durable.add(n);
  }

  // The final publisher drained the store (client.flush() then end()); wait for delivery.
  const deadline = Date.now() + 10_000;
  while (Date.now() < deadline && [...durable].some((n) => !received.has(n))) {
    await new Promise((r) => setTimeout(r, 50));
  }
  await new Promise((r) => setTimeout(r, 300)); // let any late duplicate arrive

  const lost = [...durable].filter((n) => !received.has(n)).sort((a, b) => a - b);
  const duplicatedQos2 = [...received].filter(([n, c]) => n % 2 === 0 && c > 1).map(([n]) => n);
  const duplicatedQos1 = [...received].filter(([n, c]) => n % 2 === 1 && c > 1).length;
  const unknown = [...received.keys()].filter((n) => n % 100_000 >= PER_ROUND);
  t.diagnostic(
    `${ROUNDS} kills + 1 clean run in ${((Date.now() - started) / 1000).toFixed(1)} s: ` +
      `${durable.size} durable, ${received.size} distinct delivered, ` +
      `${lost.length} lost, ${duplicatedQos2.length} QoS 2 duplicated, ${duplicatedQos1} QoS 1 redelivered`,
  );
  assert.ok(durable.size > ROUNDS * 10, 'the publisher made progress between kills');
  assert.deepEqual(unknown, [], 'the subscriber received numbers nobody published');
  assert.deepEqual(lost.slice(0, 20), [], `${lost.length} durable messages were never delivered`);
  assert.deepEqual(
    duplicatedQos2.slice(0, 20),
    [],
    `${duplicatedQos2.length} QoS 2 messages were delivered twice`,
  );
});
