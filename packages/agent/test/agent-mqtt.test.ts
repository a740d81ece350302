// The agent against a real Mosquitto: periodic publishing, threshold, Valve On/Off, state.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import mqtt from 'mqtt';
import { startMosquitto } from '../../../test/helpers/mosquitto.js';
import { Agent } from '../src/agent/agent.js';
import type { AgentEvent } from '../src/agent/events.js';
import { parseConfig } from '../src/config/validate.js';
import type { SimulatedDriver } from '../src/sources/simulated.js';
import { ManualScheduler } from './manual-scheduler.js';
import { deferrer, observe, waitFor } from './util.js';

function config(host: string, port: number) {
  return parseConfig({
    connection: { server: host, port, clientId: 'agent-e2e' },
    device: {
      seed: 7,
      stepMs: 20,
      channels: [
        { id: 0, name: 'Valve', type: 'digital-output' },
        { id: 1, name: 'Pump', type: 'digital-output' },
        { id: 8, name: 'OfficeTemp', type: 'rtd-input' },
      ],
    },
    topics: [
      {
        topic: 'Valve',
        direction: 'subscribe',
        channel: 0,
        format: { type: 'boolean', on: 'On', off: 'Off' },
        qos: 1,
      },
      {
        topic: 'OfficeTemp',
        direction: 'publish',
        channel: 8,
        format: { type: 'number', precision: 1 },
        qos: 2,
        pubIntervalMs: 200,
      },
      {
        topic: 'PumpState',
        direction: 'publish',
        channel: 1,
        format: { type: 'boolean' },
        qos: 1,
        pubIntervalMs: 50,
        threshold: true,
      },
      {
        topic: 'OfficeTempJson',
        direction: 'publish',
        channel: 8,
        format: { type: 'json', precision: 2 },
        pubIntervalMs: 200,
      },
    ],
  });
}

describe('agent with Mosquitto', () => {
  it('publishes at the configured interval and format, obeys Valve, and suppresses repeats', async (t) => {
    const defer = deferrer(t);
    const broker = await startMosquitto(t);
    const { client: observer, seen } = await observe(
      broker.url(),
      ['OfficeTemp', 'OfficeTempJson', 'PumpState'],
      2,
    );
    defer(() => observer.endAsync());
    // The publish timers run on a manual scheduler: the test reads the period each row
    // schedules and moves time on itself, so a loaded machine cannot change what it sees.
    const scheduler = new ManualScheduler();
    const agent = new Agent(config(broker.host, broker.port), { scheduler });
    const events: AgentEvent[] = [];
    agent.on('event', (e) => events.push(e));
    defer(() => agent.close());
    await agent.start();
    await agent.whenConnected(10000);
    assert.equal(agent.snapshot().moduleState, 'CONNECTED');
    assert.ok(events.some((e) => e.type === 'state' && e.state === 'CONNECTED'));

    // Periodic publishing: each publish row schedules its own interval (PumpState 50 ms,
    // OfficeTemp and OfficeTempJson 200 ms) and sends its first value at once.
    assert.deepEqual(scheduler.periods(), [50, 200, 200]);
    const row = (topic: string) => agent.snapshot().rows.find((r) => r.topic === topic);
    const count = (topic: string) => seen.filter((m) => m.topic === topic).length;
    let pumpTicks = 1; // the first tick, at start
    /** Moves the scheduler on; returns how many 200 ms ticks fell due. */
    const advance = (ms: number): number => {
      const called = scheduler.advance(ms);
      pumpTicks += called.filter((p) => p === 50).length;
      return called.filter((p) => p === 200).length;
    };
    // Then one OfficeTemp per 200 ms of scheduler time and none in between, at QoS 2 end to end
    // in the LucidIoT number format. Each round waits until both 200 ms rows have completed
    // their flow: a tick while the previous message is in flight is skipped by design.
    for (let n = 1; n <= 6; n++) {
      if (n > 1) {
        assert.equal(advance(199), 0, 'no 200 ms tick before 200 ms have passed');
        assert.equal(advance(1), 2, 'OfficeTemp and OfficeTempJson tick at 200 ms');
      }
      await waitFor(
        () =>
          row('OfficeTemp')?.published === n &&
          row('OfficeTempJson')?.published === n &&
          row('PumpState')?.published === 1 &&
          count('OfficeTemp') === n,
        `OfficeTemp number ${n}`,
      );
    }
    const temps = seen.filter((m) => m.topic === 'OfficeTemp');
    assert.equal(temps.length, 6);
    for (const m of temps) {
      assert.match(m.payload, /^\d+\.\d$/);
      assert.equal(m.qos, 2);
      assert.ok(Math.abs(Number(m.payload) - 20) < 2, `${m.payload} near 20 °C`);
    }
    const json = JSON.parse(
      seen.find((m) => m.topic === 'OfficeTempJson')?.payload ?? '{}',
    ) as Record<string, unknown>;
    assert.equal(json.unit, '°C');
    assert.equal(typeof json.value, 'number');
    assert.equal(typeof json.ts, 'number');

    // Threshold: PumpState is read every 50 ms but sent once while unchanged. Every tick is
    // either sent or suppressed, so waiting for their sum waits for the last tick to finish.
    const pumpDone = () => {
      const r = row('PumpState');
      return (r?.published ?? 0) + (r?.suppressed ?? 0) === pumpTicks;
    };
    advance(500);
    await waitFor(pumpDone, 'every PumpState tick');
    const pump = () => seen.filter((m) => m.topic === 'PumpState').map((m) => m.payload);
    assert.equal(row('PumpState')?.published, 1);
    assert.deepEqual(pump(), ['Off']);
    const driver = agent.driver as SimulatedDriver;
    await driver.write(1, true);
    advance(50);
    await waitFor(() => pump().length === 2 && row('PumpState')?.published === 2, 'PumpState On');
    advance(300);
    await waitFor(pumpDone, 'every PumpState tick after On');
    assert.equal(row('PumpState')?.published, 2);
    assert.deepEqual(pump(), ['Off', 'On']);
    const pumpRow = agent.snapshot().rows.find((r) => r.topic === 'PumpState');
    assert.ok((pumpRow?.suppressed ?? 0) >= 5, `suppressed ${pumpRow?.suppressed}`);

    // Valve: On switches output 0, a bad payload is rejected and counted, Off switches back.
    await observer.publishAsync('Valve', 'On', { qos: 1 });
    await waitFor(() => driver.peek(0) === true, 'the valve to open');
    await observer.publishAsync('Valve', 'half-open', { qos: 1 });
    await waitFor(() => agent.snapshot().counts.rejected === 1, 'the bad payload to be rejected');
    assert.equal(driver.peek(0), true, 'a rejected payload leaves the output unchanged');
    const rejected = events.find((e) => e.type === 'rejected');
    assert.equal(
      rejected?.type === 'rejected' ? rejected.reason : '',
      'boolean format: expected "On" or "Off" (payload "half-open")',
    );
    await observer.publishAsync('Valve', 'Off', { qos: 1 });
    await waitFor(() => driver.peek(0) === false, 'the valve to close');

    const snap = agent.snapshot();
    const valve = snap.rows.find((r) => r.topic === 'Valve');
    assert.deepEqual([valve?.received, valve?.rejected, valve?.lastPayload], [2, 1, 'Off']);
    assert.equal(snap.counts.received, 2);
    assert.ok(snap.counts.published >= 8);
    assert.equal(snap.channels.find((c) => c.id === 0)?.value, false);

    // 100 KB of garbage: refused, and what the agent keeps of it (event, row state) is clipped.
    const garbage = 'x'.repeat(100_000);
    await observer.publishAsync('Valve', garbage, { qos: 1 });
    await waitFor(() => agent.snapshot().counts.rejected === 2, 'the garbage to be rejected');
    const big = events.filter((e) => e.type === 'rejected')[1];
    assert.ok(big?.type === 'rejected');
    assert.equal(big.payload, `${'x'.repeat(1024)}… (100000 bytes)`);
    assert.ok(big.reason.length < 1100, `reason of ${big.reason.length} characters`);
    const valveAfter = agent.snapshot().rows.find((r) => r.topic === 'Valve');
    assert.ok((valveAfter?.lastError?.length ?? 0) < 1100);
  });

  it('reports CONNECT_PND while the server is down, then connects when it comes up', async (t) => {
    const defer = deferrer(t);
    const broker = await startMosquitto(t);
    const { port, host } = broker;
    await broker.stop();
    const cfg = config(host, port);
    const agent = new Agent({ ...cfg, reconnect: { minDelaySec: 0.1, maxDelaySec: 0.2 } });
    defer(() => agent.close());
    await agent.start();
    // The first failed attempt is the event to wait for, not a guess at how long it takes.
    await waitFor(() => agent.snapshot().lastError !== undefined, 'the first failed attempt');
    assert.equal(agent.snapshot().moduleState, 'CONNECT_PND');
    assert.ok(agent.snapshot().lastError !== undefined, 'the last connection error is kept');
    const again = await startMosquitto(t, { listeners: [{ port }] });
    await agent.whenConnected(10000);
    const { client: observer, seen } = await observe(again.url(), 'OfficeTemp');
    defer(() => observer.endAsync());
    await waitFor(() => seen.length >= 1, 'OfficeTemp after the server came up');
  });

  it('applyConfig refuses an invalid config and keeps running; applies a valid one', async (t) => {
    const defer = deferrer(t);
    const broker = await startMosquitto(t);
    const agent = new Agent(config(broker.host, broker.port));
    defer(() => agent.close());
    await agent.start();
    await agent.whenConnected(10000);
    const bad = await agent.applyConfig({
      connection: { server: broker.host, port: broker.port },
      topics: [{ topic: 'x', direction: 'publish', channel: 3, format: { type: 'number' } }],
    });
    assert.deepEqual(bad, {
      ok: false,
      issues: [{ path: 'topics[0].channel', message: 'no channel with id 3 in device.channels' }],
    });
    assert.equal(agent.config.topics.length, 4);
    const { client: observer, seen } = await observe(broker.url(), 'Renamed');
    defer(() => observer.endAsync());
    const raw = {
      connection: { server: broker.host, port: broker.port, clientId: 'agent-e2e' },
      device: { channels: [{ id: 8, name: 'OfficeTemp', type: 'rtd-input' }] },
      topics: [
        {
          topic: 'Renamed',
          direction: 'publish',
          channel: 8,
          format: { type: 'number', precision: 1 },
          pubIntervalMs: 100,
        },
      ],
    };
    // The I/O module changed: a restart, which reconnects.
    assert.deepEqual(await agent.applyConfig(raw), { ok: true, applied: 'reconnected' });
    await agent.whenConnected(10000);
    await waitFor(() => seen.length >= 2, 'messages on the new topic');
    assert.equal(agent.snapshot().rows.length, 1);
    assert.deepEqual(await agent.applyConfig(raw), { ok: true, applied: 'unchanged' });
  });

  it('applyConfig swaps the topic table on the same connection: old filters unsubscribed, new ones subscribed', async (t) => {
    const defer = deferrer(t);
    const broker = await startMosquitto(t);
    const agent = new Agent(config(broker.host, broker.port));
    defer(() => agent.close());
    await agent.start();
    await agent.whenConnected(10000);
    await waitFor(() => (agent.snapshot().rows[0]?.topic ?? '') === 'Valve', 'the table');
    const states: string[] = [];
    agent.on('state', (e) => e.type === 'state' && states.push(e.state));
    const next = structuredClone(agent.config);
    const valveRow = next.topics[0] as { topic: string };
    valveRow.topic = 'site/+/valve';
    assert.deepEqual(await agent.applyConfig(next), { ok: true, applied: 'updated' });
    const publisher = await mqtt.connectAsync(broker.url(), { reconnectPeriod: 0 });
    defer(() => publisher.endAsync());
    const driver = agent.driver as SimulatedDriver;
    // The old filter is gone: Valve no longer drives the output...
    await publisher.publishAsync('Valve', 'On', { qos: 1 });
    // ...the new one does (a later message on the same connection arrives after the first).
    await publisher.publishAsync('site/a/valve', 'Off', { qos: 1 });
    await publisher.publishAsync('site/b/valve', 'On', { qos: 1 });
    await waitFor(() => agent.snapshot().counts.received >= 2, 'two messages applied');
    assert.equal(agent.snapshot().counts.received, 2, 'Valve was unsubscribed');
    assert.equal(await driver.read(0), true);
    assert.deepEqual(states, [], 'no reconnect');
  });
});
