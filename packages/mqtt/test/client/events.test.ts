// The client's event emitter keeps the semantics of Node's EventEmitter that listeners rely
// on: each case runs on both, and the calls they make must be the same.
import assert from 'node:assert/strict';
import { EventEmitter } from 'node:events';
import { test } from 'node:test';
import { Emitter } from '../../src/client/events.js';

interface Events {
  x: [number];
}
interface Like {
  on(event: 'x', listener: (n: number) => void): unknown;
  off(event: 'x', listener: (n: number) => void): unknown;
  emit(event: 'x', n: number): boolean;
  listenerCount(event: 'x'): number;
}

/** Runs `scenario` on Node's emitter and ours; returns both call logs. */
function both(scenario: (e: Like, log: string[]) => void): [string[], string[]] {
  const logs: [string[], string[]] = [[], []];
  scenario(new EventEmitter<Events>() as unknown as Like, logs[0]);
  scenario(new Emitter<Events>(), logs[1]);
  return logs;
}

test('listeners run in order; one added twice runs twice; off removes the latest instance', () => {
  const [node, ours] = both((e, log) => {
    const a = (n: number): void => void log.push(`a${n}`);
    const b = (n: number): void => void log.push(`b${n}`);
    e.on('x', a);
    e.on('x', b);
    e.on('x', a);
    log.push(String(e.emit('x', 1)), String(e.listenerCount('x')));
    e.off('x', a);
    e.emit('x', 2);
    e.off('x', a);
    e.off('x', b);
    log.push(String(e.emit('x', 3)), String(e.listenerCount('x')));
  });
  assert.deepEqual(ours, node);
  assert.deepEqual(ours, ['a1', 'b1', 'a1', 'true', '3', 'a2', 'b2', 'false', '0']);
});

test('a listener added or removed during an emit does not change that emit', () => {
  const [node, ours] = both((e, log) => {
    const late = (n: number): void => void log.push(`late${n}`);
    const second = (n: number): void => void log.push(`second${n}`);
    e.on('x', (n) => {
      log.push(`first${n}`);
      if (n === 1) {
        e.on('x', late);
        e.off('x', second);
      }
    });
    e.on('x', second);
    e.emit('x', 1);
    e.emit('x', 2);
  });
  assert.deepEqual(ours, node);
  assert.deepEqual(ours, ['first1', 'second1', 'first2', 'late2']);
});

test('an exception from a listener leaves emit, and the listeners after it do not run', () => {
  const [node, ours] = both((e, log) => {
    e.on('x', () => {
      throw new Error('boom');
    });
    e.on('x', () => void log.push('after'));
    try {
      e.emit('x', 1);
    } catch (error) {
      log.push((error as Error).message);
    }
  });
  assert.deepEqual(ours, node);
  assert.deepEqual(ours, ['boom']);
});
