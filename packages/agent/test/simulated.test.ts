import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ChannelError } from '../src/errors.js';
import type { ChannelInfo } from '../src/sources/channels.js';
import { mulberry32, SimulatedDriver } from '../src/sources/simulated.js';
import { waitFor } from './util.js';

const channels: ChannelInfo[] = [
  { id: 0, name: 'Valve', type: 'digital-output', unit: '', range: { min: 0, max: 1 } },
  { id: 1, name: 'Door', type: 'digital-input', unit: '', range: { min: 0, max: 1 } },
  { id: 2, name: 'Level', type: 'analog-input', unit: 'mA', range: { min: 4, max: 20 } },
  { id: 3, name: 'Pump speed', type: 'analog-output', unit: 'V', range: { min: 0, max: 10 } },
  { id: 8, name: 'OfficeTemp', type: 'rtd-input', unit: '°C', range: { min: -200, max: 850 } },
];

function run(seed: number, steps: number): (number | boolean)[] {
  const d = new SimulatedDriver({ channels, seed });
  for (let i = 0; i < steps; i++) d.step();
  return channels.map((c) => d.peek(c.id));
}

describe('simulated I/O module', () => {
  it('is reproducible from its seed', () => {
    assert.deepEqual(run(42, 200), run(42, 200));
    assert.notDeepEqual(run(42, 200), run(43, 200));
    const r = mulberry32(7);
    const x = r();
    assert.ok(x >= 0 && x < 1);
  });

  it('drifts temperatures slowly around 20 °C and keeps analog inputs in range', () => {
    const d = new SimulatedDriver({ channels, seed: 3 });
    assert.equal(d.peek(8), 20);
    const temps: number[] = [];
    for (let i = 0; i < 500; i++) {
      d.step();
      temps.push(d.peek(8) as number);
      const level = d.peek(2) as number;
      assert.ok(level >= 4 && level <= 20);
    }
    assert.ok(new Set(temps).size > 100, 'the temperature moves');
    assert.ok(
      temps.every((t) => Math.abs(t - 20) < 5),
      'and stays near its base',
    );
  });

  it('toggles digital inputs now and then, never outputs', () => {
    const d = new SimulatedDriver({ channels, seed: 5, toggleProbability: 0.5 });
    const seen = new Set<number | boolean>();
    for (let i = 0; i < 50; i++) {
      d.step();
      seen.add(d.peek(1));
      assert.equal(d.peek(0), false);
      assert.equal(d.peek(3), 0);
    }
    assert.deepEqual(seen, new Set([true, false]));
  });

  it('remembers outputs and reports changes once', async () => {
    const d = new SimulatedDriver({ channels, seed: 1, now: () => 123 });
    const changes: unknown[] = [];
    const off = d.onChange((c) => changes.push(c));
    await d.write(0, true);
    await d.write(0, true);
    await d.write(3, 7.5);
    assert.equal(await d.read(0), true);
    assert.equal(await d.read(3), 7.5);
    assert.deepEqual(changes, [
      { id: 0, value: true, ts: 123 },
      { id: 3, value: 7.5, ts: 123 },
    ]);
    off();
    await d.write(0, false);
    assert.equal(changes.length, 2);
  });

  it('refuses writes to inputs, unknown channels, wrong types and out-of-range values', async () => {
    const d = new SimulatedDriver({ channels, seed: 1 });
    const refused = async (id: number, value: number | boolean, message: string) =>
      assert.rejects(
        d.write(id, value),
        (e: unknown) => e instanceof ChannelError && e.message === message,
      );
    await refused(8, 21, 'channel 8: OfficeTemp is an rtd-input, it cannot be written');
    await refused(99, 1, 'channel 99: no such channel in the simulated module');
    await refused(0, 2, 'channel 0: Valve is digital: expected on/off or 1/0, got 2');
    await refused(3, 11, 'channel 3: Pump speed: 11 is outside the range 0..10 V');
    await d.write(0, 1);
    assert.equal(d.peek(0), true);
  });

  it('steps on its own once started, and stops on close', async () => {
    const d = new SimulatedDriver({ channels, seed: 9, stepMs: 10 });
    let changes = 0;
    d.onChange(() => changes++);
    await d.start();
    await waitFor(() => changes > 0, 'a step of its own');
    await d.close();
    const after = changes;
    await new Promise((r) => setTimeout(r, 40));
    assert.equal(changes, after);
  });
});
