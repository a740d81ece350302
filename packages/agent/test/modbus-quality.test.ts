// A Modbus value's quality reaches MQTT and the console: the topic table publishes the WCC
// Lite flag (`value,ts,0`) and JSON `"quality":0` when a value is stale or bad, even when the
// number did not change (a threshold does not hide it); the agent's snapshot and events carry
// the quality and its reason.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { startMosquitto } from '../../../test/helpers/mosquitto.js';
import { Agent } from '../src/agent/agent.js';
import type { AgentEvent } from '../src/agent/events.js';
import { TopicTable } from '../src/agent/topic-table.js';
import { parseConfig } from '../src/config/validate.js';
import { ModbusDriver } from '../src/sources/modbus.js';
import { SimulatedDriver } from '../src/sources/simulated.js';
import { ModbusTcpServer } from './modbus-server.js';
import { channel, tcpDriver, untilQuality } from './modbus-util.js';

describe('Modbus quality on the wire and in the console', () => {
  let server: ModbusTcpServer;
  before(async () => {
    server = new ModbusTcpServer();
    await server.listen();
  });
  after(() => server.close());

  it('publishes the quality flag of a value gone bad, through the threshold, and again when it recovers', async (t) => {
    server.slave.unit(1).input[0] = 215;
    const rtd = channel(8, 'rtd-input', 'input-register', 0, { scale: 0.1 });
    const driver = tcpDriver(server.port, [rtd]);
    t.after(() => driver.close());
    await driver.start();
    await untilQuality(driver, 8, 'good');
    const sent: { topic: string; payload: string }[] = [];
    const table = new TopicTable({
      rows: parseConfig({
        connection: { server: '127.0.0.1' },
        device: { channels: [{ id: 8, name: 'OfficeTemp', type: 'rtd-input' }] },
        topics: [
          {
            topic: 'wcc',
            direction: 'publish',
            channel: 8,
            format: { type: 'wcc', precision: 1 },
            threshold: true,
          },
          {
            topic: 'json',
            direction: 'publish',
            channel: 8,
            format: { type: 'json' },
            threshold: true,
          },
          {
            topic: 'tpl',
            direction: 'publish',
            channel: 8,
            format: { type: 'template', template: '{value}/{quality}' },
          },
        ],
      }).topics,
      channels: new Map([[8, rtd.info]]),
      driver,
      publisher: {
        async publish(topic, payload) {
          sent.push({ topic, payload });
        },
      },
      emit: () => undefined,
      now: () => 1_700_000_000_000,
    });
    const tickAll = async () => {
      for (const i of [0, 1, 2]) await table.tick(i);
    };
    await tickAll();
    assert.deepEqual(
      sent.map((s) => s.payload),
      ['21.5,1700000000000,1', '{"value":21.5,"ts":1700000000000}', '21.5/1'],
    );

    // The device fails (0x04): the value is kept, flagged 0, and the threshold lets it through.
    server.slave.exceptions.set(1, 0x04);
    await driver.pollNow();
    assert.equal(driver.quality(8).quality, 'bad');
    sent.length = 0;
    await tickAll();
    assert.deepEqual(
      sent.map((s) => s.payload),
      ['21.5,1700000000000,0', '{"value":21.5,"ts":1700000000000,"quality":0}', '21.5/0'],
    );
    sent.length = 0;
    await table.tick(0);
    assert.equal(sent.length, 0, 'unchanged value and quality: the threshold holds');

    server.slave.exceptions.delete(1);
    await driver.pollNow();
    await table.tick(0);
    assert.deepEqual(
      sent.map((s) => s.payload),
      ['21.5,1700000000000,1'],
      'good again is news too',
    );
  });

  it('publishes no flag for the simulated module, whose values are good', async () => {
    const info = {
      id: 8,
      name: 'T',
      type: 'rtd-input' as const,
      unit: '°C',
      range: { min: -200, max: 850 },
    };
    const driver = new SimulatedDriver({ channels: [info], seed: 1 });
    assert.deepEqual(driver.quality(8), { quality: 'good' });
    const sent: string[] = [];
    const table = new TopicTable({
      rows: parseConfig({
        connection: { server: '127.0.0.1' },
        device: { channels: [{ id: 8, name: 'T', type: 'rtd-input' }] },
        topics: [{ topic: 'json', direction: 'publish', channel: 8, format: { type: 'json' } }],
      }).topics,
      channels: new Map([[8, info]]),
      driver,
      publisher: {
        async publish(_topic, payload) {
          sent.push(payload);
        },
      },
      emit: () => undefined,
      now: () => 5,
    });
    await table.tick(0);
    assert.deepEqual(sent, ['{"value":20,"ts":5,"unit":"°C"}']);
  });

  it('runs an agent on device.driver modbus: snapshot and events carry the quality and its reason', async (t) => {
    const broker = await startMosquitto(t);
    server.slave.unit(5).input[3] = 199;
    const config = parseConfig({
      connection: { server: '127.0.0.1', port: broker.port },
      device: {
        driver: 'modbus',
        modbus: { host: '127.0.0.1', port: server.port, timeoutMs: 100, pollMs: 60_000 },
        channels: [
          {
            id: 8,
            name: 'OfficeTemp',
            type: 'rtd-input',
            modbus: { unit: 5, function: 'input-register', address: 3, scale: 0.1 },
          },
        ],
      },
      web: { enabled: false },
    });
    const agent = new Agent(config);
    const events: AgentEvent[] = [];
    const seen = (check: (e: AgentEvent) => boolean) =>
      new Promise<void>((resolve) => {
        const listener = (e: AgentEvent) => {
          events.push(e);
          if (check(e)) {
            agent.off('channel', listener);
            resolve();
          }
        };
        agent.on('channel', listener);
      });
    const good = seen((e) => e.type === 'channel' && e.value === 19.9 && e.quality === undefined);
    t.after(() => agent.close());
    await agent.start();
    await good;
    assert.equal(agent.driver?.kind, 'modbus');
    assert.deepEqual(
      agent.snapshot().channels.map((c) => [c.value, c.quality, c.reason]),
      [[19.9, 'good', undefined]],
    );
    server.slave.silent.add(5);
    t.after(() => server.slave.silent.clear());
    const stale = seen((e) => e.type === 'channel' && e.quality === 'stale');
    const driver = agent.driver;
    assert.ok(driver instanceof ModbusDriver);
    await driver.pollNow();
    await stale;
    const [c] = agent.snapshot().channels;
    assert.equal(c?.quality, 'stale');
    assert.match(
      c?.reason ?? '',
      /^no answer from unit 5 within 100 ms to read input registers 3 of unit 5$/,
    );
    assert.equal(c?.value, 19.9);
  });
});
