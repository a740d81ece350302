import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ReconnectSchedule } from '../../src/session/backoff.js';

/** The policies these tests do not exercise, at their defaults. */
const noJitter = {
  jitter: 0,
  failover: 'backup',
  stableAfterMs: 10_000,
  refusedDelayMs: 60_000,
} as const;

test('waits double from min to max on one server (Mongoose OS: 2, 4, 8, 16, 32, 60 s)', () => {
  const s = new ReconnectSchedule(
    { minDelayMs: 2000, maxDelayMs: 60000, serverCount: 1, ...noJitter },
    () => 0,
  );
  const waits = Array.from({ length: 8 }, () => s.failed(0).delayMs);
  assert.deepEqual(waits, [2000, 4000, 8000, 16000, 32000, 60000, 60000, 60000]);
  assert.equal(s.serverIndex, 0);
});

test('a stable connection resets the backoff and keeps the server', () => {
  const s = new ReconnectSchedule(
    { minDelayMs: 100, maxDelayMs: 1000, serverCount: 2, ...noJitter },
    () => 0,
  );
  s.failed(0);
  s.failed(0);
  s.connected(1_000);
  assert.deepEqual(s.failed(11_000), { delayMs: 100, serverIndex: 0, switched: false });
});

test('switches to the backup after the attempt that followed the maximum wait, and back', () => {
  const s = new ReconnectSchedule(
    { minDelayMs: 2000, maxDelayMs: 16000, serverCount: 2, ...noJitter },
    () => 0,
  );
  const steps = Array.from({ length: 12 }, () => s.failed(0));
  assert.deepEqual(
    steps.map((x) => [x.delayMs, x.serverIndex]),
    [
      [2000, 0],
      [4000, 0],
      [8000, 0],
      [16000, 0],
      [2000, 1], // the attempt after the 16 s wait failed: switch, reset
      [4000, 1],
      [8000, 1],
      [16000, 1],
      [2000, 0], // the backup failed the same way: back to the primary
      [4000, 0],
      [8000, 0],
      [16000, 0],
    ],
  );
  assert.deepEqual(
    steps.map((x) => x.switched),
    [false, false, false, false, true, false, false, false, true, false, false, false],
  );
});

test('a server that works is kept when it drops later', () => {
  const s = new ReconnectSchedule(
    { minDelayMs: 1, maxDelayMs: 2, serverCount: 3, ...noJitter },
    () => 0,
  );
  s.failed(0); // 1 on server 0
  s.failed(0); // 2 on server 0
  assert.equal(s.failed(0).serverIndex, 1); // switched to server 1
  s.connected(0); // server 1 works
  assert.equal(s.failed(20_000).serverIndex, 1); // it dropped: retry server 1 first
});

test('jitter spreads a wait over [d·(1−j), d] and never above the cap', () => {
  const low = new ReconnectSchedule(
    { minDelayMs: 1000, maxDelayMs: 4000, serverCount: 1, ...noJitter, jitter: 0.5 },
    () => 0.999999,
  );
  const high = new ReconnectSchedule(
    { minDelayMs: 1000, maxDelayMs: 4000, serverCount: 1, ...noJitter, jitter: 0.5 },
    () => 0,
  );
  const lows = Array.from({ length: 4 }, () => low.failed(0).delayMs);
  const highs = Array.from({ length: 4 }, () => high.failed(0).delayMs);
  assert.deepEqual(highs, [1000, 2000, 4000, 4000]);
  assert.deepEqual(lows, [500, 1000, 2000, 2000]);
});

test('a fleet with random jitter does not reconnect in lockstep', () => {
  let seed = 42;
  const rng = (): number => {
    seed = (seed * 1103515245 + 12345) % 2 ** 31;
    return seed / 2 ** 31;
  };
  const firstWaits = new Set(
    Array.from(
      { length: 50 },
      () =>
        new ReconnectSchedule(
          { minDelayMs: 2000, maxDelayMs: 60000, serverCount: 1, ...noJitter, jitter: 0.2 },
          rng,
        ).failed(0).delayMs,
    ),
  );
  assert.ok(firstWaits.size > 25, `only ${firstWaits.size} distinct waits among 50 devices`);
  for (const w of firstWaits) assert.ok(w >= 1600 && w <= 2000, `wait ${w} out of range`);
});
