/**
 * The reconnect schedule's policies beyond the seed's: a connection must prove stable before
 * it restarts the backoff, clusters move to the next node at the first failure, and
 * permanent refusals wait `refusedDelayMs`. Pure: fixed random, times passed in.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { type BackoffOptions, ReconnectSchedule } from '../../src/session/backoff.js';

function schedule(options: Partial<BackoffOptions> = {}): ReconnectSchedule {
  return new ReconnectSchedule(
    {
      minDelayMs: 2000,
      maxDelayMs: 60_000,
      jitter: 0,
      serverCount: 1,
      failover: 'backup',
      stableAfterMs: 10_000,
      refusedDelayMs: 60_000,
      ...options,
    },
    () => 0,
  );
}

test('a connection closed right after CONNACK does not restart the backoff', () => {
  const s = schedule();
  let t = 0;
  const waits: number[] = [];
  for (let i = 0; i < 7; i++) {
    s.connected(t);
    t += 200; // the broker closes 200 ms after CONNACK (NATS on a QoS 2 PUBLISH)
    const next = s.failed(t);
    waits.push(next.delayMs);
    t += next.delayMs;
  }
  assert.deepEqual(waits, [2000, 4000, 8000, 16000, 32000, 60000, 60000]);
});

test('a connection that stayed up stableAfterMs restarts the backoff; one just shorter does not', () => {
  const s = schedule({ stableAfterMs: 10_000 });
  s.failed(0);
  s.failed(0);
  s.failed(0); // waits 2, 4, 8 s so far
  s.connected(100_000);
  assert.equal(s.failed(109_999).delayMs, 16_000, 'up 9.999 s: not stable');
  s.connected(200_000);
  assert.equal(s.failed(210_000).delayMs, 2000, 'up 10 s: stable');
  assert.equal(s.failed(212_000).delayMs, 4000, 'a failed attempt after it doubles again');
});

test('stableAfterMs 0 restarts the backoff on every CONNACK (the old behaviour)', () => {
  const s = schedule({ stableAfterMs: 0 });
  s.failed(0);
  s.failed(0);
  s.connected(10);
  assert.equal(s.failed(10).delayMs, 2000);
});

test('backup (default): a flapping primary is left only after a maximum-length wait, as a dead one', () => {
  const s = schedule({ serverCount: 2, minDelayMs: 1000, maxDelayMs: 4000 });
  const steps: [number, number][] = [];
  let t = 0;
  for (let i = 0; i < 5; i++) {
    s.connected(t);
    const next = s.failed(t + 50);
    steps.push([next.delayMs, next.serverIndex]);
    t += 50 + next.delayMs;
  }
  assert.deepEqual(steps, [
    [1000, 0],
    [2000, 0],
    [4000, 0],
    [1000, 1],
    [2000, 1],
  ]);
});

test('cluster: the next node at the first failure, round robin, waits growing while all fail', () => {
  const s = schedule({ serverCount: 3, failover: 'cluster' });
  const steps = Array.from({ length: 7 }, () => s.failed(0));
  assert.deepEqual(
    steps.map((x) => [x.delayMs, x.serverIndex, x.switched]),
    [
      [2000, 1, true],
      [4000, 2, true],
      [8000, 0, true],
      [16000, 1, true],
      [32000, 2, true],
      [60000, 0, true],
      [60000, 1, true],
    ],
  );
});

test('cluster: a stable node that drops sends the client to the next node after minDelayMs', () => {
  const s = schedule({ serverCount: 3, failover: 'cluster' });
  s.failed(0); // node 0 down: node 1 next
  s.failed(0); // node 1 down: node 2 next
  s.connected(10_000); // node 2 works
  assert.deepEqual(s.failed(100_000), { delayMs: 2000, serverIndex: 0, switched: true });
});

test('cluster with one server behaves as a single server', () => {
  const s = schedule({ serverCount: 1, failover: 'cluster' });
  assert.deepEqual(s.failed(0), { delayMs: 2000, serverIndex: 0, switched: false });
  assert.deepEqual(s.failed(0), { delayMs: 4000, serverIndex: 0, switched: false });
});

test('backup: the default takes the seed rule, 2 + 4 + 8 + 16 + 32 + 60 s before the backup', () => {
  const s = schedule({ serverCount: 2 });
  let waited = 0;
  for (;;) {
    const next = s.failed(0);
    if (next.serverIndex === 1) break;
    waited += next.delayMs;
  }
  assert.equal(waited, 122_000);
});

test('a permanent refusal waits refusedDelayMs and keeps the backoff at its maximum', () => {
  const s = schedule({ minDelayMs: 1000, maxDelayMs: 8000, refusedDelayMs: 30_000 });
  assert.equal(s.failed(0).delayMs, 1000, 'an ordinary failure first');
  assert.equal(s.failed(0, true).delayMs, 30_000, 'refused');
  assert.equal(s.failed(0, true).delayMs, 30_000, 'refused again: same wait, no growth');
  assert.equal(s.failed(0).delayMs, 8000, 'then a network failure: still at the maximum');
  s.connected(100_000);
  assert.equal(s.failed(200_000).delayMs, 1000, 'a stable connection restarts the backoff');
});

test('backup: a second refusal in a row moves to the backup, tried after minDelayMs', () => {
  const s = schedule({
    serverCount: 2,
    minDelayMs: 1000,
    maxDelayMs: 8000,
    refusedDelayMs: 20_000,
  });
  assert.deepEqual(s.failed(0, true), { delayMs: 20_000, serverIndex: 0, switched: false });
  assert.deepEqual(s.failed(0, true), { delayMs: 1000, serverIndex: 1, switched: true });
  assert.deepEqual(s.failed(0), { delayMs: 2000, serverIndex: 1, switched: false });
});

test('cluster: a refusal moves to the next node but waits refusedDelayMs first', () => {
  const s = schedule({ serverCount: 2, failover: 'cluster', refusedDelayMs: 20_000 });
  assert.deepEqual(s.failed(0, true), { delayMs: 20_000, serverIndex: 1, switched: true });
});
