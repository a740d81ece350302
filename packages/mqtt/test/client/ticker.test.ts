import assert from 'node:assert/strict';
import { mock, test } from 'node:test';
import { startTicks, stopTicks, type Tickable } from '../../src/client/ticker.js';

/** Registers `tick` for `periodMs`; returns its stop. */
function everyPeriod(periodMs: number, tick: () => void): () => void {
  const target: Tickable = { tick };
  startTicks(periodMs, target);
  return () => stopTicks(periodMs, target);
}

test('clients of one period share one interval; each is called every period until stopped', (t) => {
  mock.timers.enable({ apis: ['setInterval'] });
  t.after(() => mock.timers.reset());
  const calls: string[] = [];
  const stopA = everyPeriod(250, () => calls.push('a'));
  const stopB = everyPeriod(250, () => calls.push('b'));
  const stopC = everyPeriod(1000, () => calls.push('c'));
  mock.timers.tick(249);
  assert.equal(calls.length, 0);
  mock.timers.tick(1);
  assert.deepEqual(calls, ['a', 'b']);
  stopA();
  stopA(); // idempotent
  mock.timers.tick(750);
  assert.deepEqual(calls, ['a', 'b', 'b', 'b', 'b', 'c']);
  stopB();
  stopC();
  calls.length = 0;
  mock.timers.tick(5000);
  assert.equal(calls.length, 0, 'no tick after the last client stopped');
  // A period whose last client left starts afresh on the next registration.
  const stopD = everyPeriod(250, () => calls.push('d'));
  mock.timers.tick(250);
  assert.deepEqual(calls, ['d']);
  stopD();
});

test('a client stopped by another client in the same turn is not called', (t) => {
  mock.timers.enable({ apis: ['setInterval'] });
  t.after(() => mock.timers.reset());
  const calls: string[] = [];
  let stopSecond = (): void => undefined;
  const stopFirst = everyPeriod(100, () => {
    calls.push('first');
    stopSecond();
  });
  stopSecond = everyPeriod(100, () => calls.push('second'));
  mock.timers.tick(100);
  mock.timers.tick(100);
  assert.deepEqual(calls, ['first', 'first']);
  stopFirst();
});
