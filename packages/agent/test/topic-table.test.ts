import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { AgentEvent } from '../src/agent/events.js';
import { EventFanout } from '../src/agent/events.js';
import { shouldSend } from '../src/agent/threshold.js';
import { TopicTable } from '../src/agent/topic-table.js';
import { parseConfig, resolveChannel } from '../src/config/validate.js';
import type { ChannelInfo } from '../src/sources/channels.js';
import type { Publisher, QoS } from '../src/sources/publisher.js';
import { SimulatedDriver } from '../src/sources/simulated.js';

interface Sent {
  topic: string;
  payload: string;
  qos: QoS;
  retain: boolean;
}

/** A publisher that records, and fails on demand. */
function recorder(): Publisher & { sent: Sent[]; fail: boolean } {
  const rec = {
    sent: [] as Sent[],
    fail: false,
    async publish(topic: string, payload: string, o: { qos: QoS; retain: boolean }) {
      if (rec.fail) throw new Error('offline queue full');
      rec.sent.push({ topic, payload, qos: o.qos, retain: o.retain });
    },
  };
  return rec;
}

function setup(topics: unknown[]) {
  const config = parseConfig({
    connection: { server: '127.0.0.1' },
    device: {
      channels: [
        { id: 0, name: 'Valve', type: 'digital-output' },
        { id: 8, name: 'OfficeTemp', type: 'rtd-input' },
        { id: 9, name: 'Setpoint', type: 'analog-output', signal: '0-10V' },
      ],
    },
    topics,
  });
  const channels = new Map<number, ChannelInfo>(
    config.device.channels.map((c) => [c.id, resolveChannel(c)]),
  );
  const driver = new SimulatedDriver({
    channels: [...channels.values()],
    seed: 1,
    now: () => 1_700_000_000_000,
  });
  const publisher = recorder();
  const events: AgentEvent[] = [];
  const table = new TopicTable({
    rows: config.topics,
    channels,
    driver,
    publisher,
    emit: (e) => events.push(e),
    now: () => 1_700_000_000_000,
  });
  return { table, driver, publisher, events };
}

const enc = (s: string) => new TextEncoder().encode(s);

describe('threshold', () => {
  const off = { enabled: false, deadband: 0 };
  const exact = { enabled: true, deadband: 0 };
  const band = { enabled: true, deadband: 0.5 };
  it('always sends without threshold or without a previous value', () => {
    assert.equal(shouldSend(off, { key: '1', value: 1 }, '1', 1), true);
    assert.equal(shouldSend(exact, undefined, '1', 1), true);
  });
  it('suppresses an identical key', () => {
    assert.equal(shouldSend(exact, { key: '20.1', value: 20.11 }, '20.1', 20.12), false);
    assert.equal(shouldSend(exact, { key: '20.1', value: 20.1 }, '20.2', 20.2), true);
    assert.equal(shouldSend(exact, { key: 'on', value: true }, 'on', true), false);
  });
  it('applies the deadband against the last value sent, so a slow drift adds up', () => {
    assert.equal(shouldSend(band, { key: '20', value: 20 }, '20.4', 20.4), false);
    assert.equal(shouldSend(band, { key: '20', value: 20 }, '20.5', 20.5), false);
    assert.equal(shouldSend(band, { key: '20', value: 20 }, '20.6', 20.6), true);
    assert.equal(shouldSend(band, { key: '20', value: 20 }, 'nan', Number.NaN), true);
    assert.equal(shouldSend(band, { key: 'nan', value: Number.NaN }, 'nan', Number.NaN), false);
  });
});

describe('topic table', () => {
  it('publishes a row in its format, QoS and retain', async () => {
    const { table, publisher, driver } = setup([
      {
        topic: 'OfficeTemp',
        direction: 'publish',
        channel: 8,
        format: { type: 'number', precision: 1 },
        qos: 2,
        retain: true,
      },
    ]);
    driver.inject(8, 20.1);
    assert.equal(await table.tick(0), 'sent');
    assert.deepEqual(publisher.sent, [
      { topic: 'OfficeTemp', payload: '20.1', qos: 2, retain: true },
    ]);
    const [row] = table.rows();
    assert.equal(row?.published, 1);
    assert.equal(row?.lastPayload, '20.1');
  });

  it('with threshold, does not send an unchanged value again', async () => {
    const { table, publisher, driver } = setup([
      {
        topic: 'T',
        direction: 'publish',
        channel: 8,
        format: { type: 'number', precision: 1 },
        threshold: true,
      },
    ]);
    driver.inject(8, 20.11);
    assert.equal(await table.tick(0), 'sent');
    driver.inject(8, 20.12); // same at precision 1
    assert.equal(await table.tick(0), 'suppressed');
    driver.inject(8, 20.3);
    assert.equal(await table.tick(0), 'sent');
    assert.deepEqual(
      publisher.sent.map((s) => s.payload),
      ['20.1', '20.3'],
    );
    assert.equal(table.rows()[0]?.suppressed, 1);
  });

  it('with a deadband, ignores small analog changes', async () => {
    const { table, publisher, driver } = setup([
      {
        topic: 'T',
        direction: 'publish',
        channel: 8,
        format: { type: 'number', precision: 2 },
        threshold: true,
        deadband: 0.5,
      },
    ]);
    for (const v of [20, 20.3, 20.45, 20.6, 20.9, 21.2]) {
      driver.inject(8, v);
      await table.tick(0);
    }
    assert.deepEqual(
      publisher.sent.map((s) => s.payload),
      ['20.00', '20.60', '21.20'],
    );
  });

  it('after a failed publish, the threshold lets the next tick retry', async () => {
    const { table, publisher, events } = setup([
      {
        topic: 'T',
        direction: 'publish',
        channel: 0,
        format: { type: 'boolean' },
        threshold: true,
      },
    ]);
    publisher.fail = true;
    assert.equal(await table.tick(0), 'failed');
    assert.ok(events.some((e) => e.type === 'publish-failed' && e.reason === 'offline queue full'));
    publisher.fail = false;
    assert.equal(await table.tick(0), 'sent');
    assert.deepEqual(
      publisher.sent.map((s) => s.payload),
      ['Off'],
    );
  });

  it('On/Off on a subscribe row switches the output; a bad payload is rejected and changes nothing', async () => {
    const { table, driver, events } = setup([
      { topic: 'Valve', direction: 'subscribe', channel: 0, format: { type: 'boolean' }, qos: 1 },
    ]);
    assert.deepEqual(table.subscriptions(), [{ topic: 'Valve', qos: 1 }]);
    assert.equal(await table.handleMessage('Valve', enc('On')), 1);
    assert.equal(driver.peek(0), true);
    assert.equal(await table.handleMessage('Valve', enc('Open')), 0);
    assert.equal(driver.peek(0), true, 'a rejected payload leaves the output unchanged');
    assert.equal(await table.handleMessage('Valve', enc('Off')), 1);
    assert.equal(driver.peek(0), false);
    assert.equal(await table.handleMessage('Other', enc('On')), 0);
    const [row] = table.rows();
    assert.deepEqual([row?.received, row?.rejected], [2, 1]);
    const rejected = events.find((e) => e.type === 'rejected');
    assert.equal(
      rejected?.type === 'rejected' && rejected.reason,
      'boolean format: expected "On" or "Off" (payload "Open")',
    );
  });

  it('rejects values outside an analog output range and bytes that are not UTF-8', async () => {
    const { table, driver, events } = setup([
      { topic: 'sp/+', direction: 'subscribe', channel: 9, format: { type: 'number' } },
    ]);
    assert.equal(await table.handleMessage('sp/1', enc('7.5')), 1);
    assert.equal(driver.peek(9), 7.5);
    assert.equal(await table.handleMessage('sp/1', enc('12')), 0);
    assert.equal(await table.handleMessage('sp/1', new Uint8Array([0xff, 0xfe])), 0);
    assert.equal(driver.peek(9), 7.5);
    const reasons = events.flatMap((e) => (e.type === 'rejected' ? [e.reason] : []));
    assert.deepEqual(reasons, [
      'channel 9: Setpoint: 12 is outside the range 0..10 V',
      'payload is not UTF-8 text (hex fffe)',
    ]);
  });

  it('publishes at the configured interval once started, and stops', async (t) => {
    // A mocked clock: the interval is exact and the test does not depend on machine load.
    t.mock.timers.enable({ apis: ['setInterval'] });
    const { table, publisher } = setup([
      {
        topic: 'T',
        direction: 'publish',
        channel: 8,
        format: { type: 'number' },
        pubIntervalMs: 50,
      },
      {
        topic: 'S',
        direction: 'publish',
        channel: 8,
        format: { type: 'number' },
        pubIntervalMs: 120,
      },
    ]);
    const settle = () => new Promise((r) => setImmediate(r));
    table.start();
    await settle();
    assert.deepEqual(
      publisher.sent.map((m) => m.topic),
      ['T', 'S'],
      'each row publishes at once',
    );
    for (let ms = 0; ms < 250; ms += 10) {
      t.mock.timers.tick(10);
      await settle();
    }
    const count = (topic: string) => publisher.sent.filter((m) => m.topic === topic).length;
    assert.equal(count('T'), 1 + 5, 'T: at 0, 50, 100, 150, 200, 250 ms');
    assert.equal(count('S'), 1 + 2, 'S: at 0, 120, 240 ms');
    table.stop();
    t.mock.timers.tick(500);
    await settle();
    assert.equal(publisher.sent.length, 9, 'nothing is published after stop()');
  });
});

describe('event fan-out', () => {
  it('delivers to every iterator and bounds an unread one', async () => {
    const fan = new EventFanout<number>(3);
    const a = fan.iterate();
    const b = fan.iterate();
    for (let i = 1; i <= 5; i++) fan.push(i);
    fan.close();
    const all = async (it: AsyncIterableIterator<number>) => {
      const out: number[] = [];
      for await (const x of it) out.push(x);
      return out;
    };
    assert.deepEqual(await all(a), [3, 4, 5]);
    assert.deepEqual(await all(b), [3, 4, 5]);
  });
  it('wakes a waiting reader', async () => {
    const fan = new EventFanout<string>();
    const it = fan.iterate();
    const next = it.next();
    fan.push('x');
    assert.deepEqual(await next, { value: 'x', done: false });
    await it.return?.();
  });
});
