import assert from 'node:assert/strict';
import { test } from 'node:test';
import { resolveOptions } from '../../src/client/options.js';
import { InvalidOptionError } from '../../src/errors.js';

test('an invalid Will topic is refused by field, with the topic rule broken', () => {
  const cases: [string, RegExp][] = [
    ['', /MQTT-4\.7\.3-1/],
    ['a/#', /MQTT-4\.7\.1-1/],
    ['a/+/b', /MQTT-4\.7\.1-1/],
    ['a\u0000b', /MQTT-4\.7\.3-2/],
  ];
  for (const [topic, rule] of cases) {
    assert.throws(
      () => resolveOptions('mqtt://127.0.0.1:1', { will: { topic, payload: 'x' } }),
      (e: unknown) =>
        e instanceof InvalidOptionError && e.field === 'will.topic' && rule.test(e.message),
      JSON.stringify(topic),
    );
  }
});

test('defaults are filled and out-of-range values name the field', () => {
  const o = resolveOptions('mqtt://127.0.0.1:1');
  assert.equal(o.keepaliveSec, 60);
  assert.equal(o.clean, true);
  assert.deepEqual(o.reconnect, {
    minDelayMs: 2000,
    maxDelayMs: 60000,
    jitter: 0.2,
    failover: 'backup',
    stableAfterMs: 10000,
    refusedDelayMs: 60000,
    poisonThreshold: 3,
  });
  assert.throws(
    () => resolveOptions('mqtt://127.0.0.1:1', { keepaliveSec: 70000 }),
    (e: unknown) => e instanceof InvalidOptionError && e.field === 'keepaliveSec',
  );
  assert.throws(
    () =>
      resolveOptions('mqtt://127.0.0.1:1', { reconnect: { minDelayMs: 5000, maxDelayMs: 100 } }),
    (e: unknown) => e instanceof InvalidOptionError && e.field === 'reconnect.maxDelayMs',
  );
});
