// Redis write-back against a real redis-server and Mosquitto: a signal of direction `out` turns
// an MQTT command on its topic into `PUBLISH tag/<device>/<signal>/out value,timestamp_ms,flags`.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import mqtt from 'mqtt';
import { pino } from 'pino';
import { createClient } from 'redis';
import { startMosquitto } from '../../../test/helpers/mosquitto.js';
import { startRedis } from '../../../test/helpers/redis.js';
import { Agent } from '../src/agent/agent.js';
import type { AgentEvent } from '../src/agent/events.js';
import { parseConfig } from '../src/config/validate.js';
import { deferrer, waitFor } from './util.js';

describe('Redis write-back', () => {
  it('writes MQTT commands of out signals to tag/<device>/<signal>/out in the value,ts,flags form', async (t) => {
    const defer = deferrer(t);
    const broker = await startMosquitto(t);
    const redis = await startRedis(t);
    // What a WCC Lite protocol handler would see: every message on the out channels.
    const sub = createClient({ url: redis.url });
    await sub.connect();
    defer(() => sub.close());
    const written: string[] = [];
    await sub.pSubscribe('tag/*/*/out', (message, channel) =>
      written.push(`${channel} ${message}`),
    );

    const logged: Record<string, unknown>[] = [];
    const logger = pino(
      { level: 'info', base: null },
      {
        write: (l: string) => logged.push(JSON.parse(l) as Record<string, unknown>),
      },
    );
    const agent = new Agent(
      parseConfig({
        connection: { server: broker.host, port: broker.port, clientId: 'write-back' },
        redis: {
          enabled: true,
          url: redis.url,
          devices: [{ deviceAlias: 'mqtt1', mqttQos: 1 }],
          signals: [
            // Default topic: the Redis path, tag/plc1/valve/out.
            {
              deviceAlias: 'mqtt1',
              signalAlias: 'valve',
              sourceDeviceAlias: 'plc1',
              sourceSignalAlias: 'valve',
              direction: 'out',
            },
            {
              deviceAlias: 'mqtt1',
              signalAlias: 'setpoint',
              sourceDeviceAlias: 'plc1',
              sourceSignalAlias: 'sp',
              direction: 'out',
              topic: 'site/1/setpoint/set',
            },
            // An in signal next to them still maps Redis to MQTT.
            {
              deviceAlias: 'mqtt1',
              signalAlias: 'temp',
              sourceDeviceAlias: 'plc1',
              sourceSignalAlias: 'temp',
            },
          ],
        },
      }),
      { logger },
    );
    const events: AgentEvent[] = [];
    agent.on('event', (e) => events.push(e));
    defer(() => agent.close());
    await agent.start();
    await agent.whenConnected(10000);
    await agent.whenRedisSubscribed();
    await agent.whenSubscribed();
    const commander = await mqtt.connectAsync(broker.url(), { reconnectPeriod: 0 });
    defer(() => commander.endAsync());
    const ts = 1_700_000_000_000;
    await commander.publishAsync('tag/plc1/valve/out', `1,${ts}`, { qos: 1 });
    await waitFor(() => written.length === 1, 'the first command in Redis');
    const before = written.length;
    await commander.publishAsync('tag/plc1/valve/out', `0,${ts + 1},0`, { qos: 1 });
    await commander.publishAsync('site/1/setpoint/set', '21.5', { qos: 1 });
    await commander.publishAsync('site/1/setpoint/set', 'Infinity', { qos: 1 });
    await commander.publishAsync('site/1/setpoint/set', 'warm', { qos: 1 });
    await waitFor(() => written.length >= before + 2, 'two more commands in Redis');
    await waitFor(() => agent.snapshot().counts.rejected >= 2, 'two commands refused');

    assert.equal(written[0], `tag/plc1/valve/out 1,${ts},`);
    assert.equal(written[before], `tag/plc1/valve/out 0,${ts + 1},IV`);
    assert.match(written[before + 1] ?? '', /^tag\/plc1\/sp\/out 21\.5,\d{13},$/);
    const setpointTs = Number(/,(\d{13}),$/.exec(written[before + 1] ?? '')?.[1]);
    assert.ok(Math.abs(setpointTs - Date.now()) < 60_000, 'no timestamp: the time it came');

    const rejected = events.filter((e) => e.type === 'rejected');
    assert.deepEqual(
      rejected.map((e) => (e.type === 'rejected' ? [e.source, e.topic, e.payload] : [])),
      [
        ['mqtt', 'site/1/setpoint/set', 'Infinity'],
        ['mqtt', 'site/1/setpoint/set', 'warm'],
      ],
    );
    const signals = agent.snapshot().redis?.signals ?? [];
    const valve = signals.find((s) => s.key === 'mqtt1/valve');
    assert.equal(valve?.direction, 'out');
    assert.equal(valve?.redisChannel, 'tag/plc1/valve/out');
    assert.equal(valve?.lastPayload, `0,${ts + 1},IV`);
    assert.ok(
      logged.some((l) => l.msg === 'Redis command written' && l.channel === 'tag/plc1/sp/out'),
    );

    // The in signal is untouched by all this: Redis → MQTT still works.
    const seen: string[] = [];
    commander.on('message', (topic, payload) => seen.push(`${topic} ${payload.toString()}`));
    await commander.subscribeAsync('tag/plc1/temp/in', { qos: 1 });
    const pub = createClient({ url: redis.url });
    await pub.connect();
    defer(() => pub.close());
    await pub.publish('tag/plc1/temp/in', `20.5,${ts},`);
    await waitFor(() => seen.length === 1, 'the in signal on MQTT');
    assert.equal(seen[0], `tag/plc1/temp/in 20.5,${ts},1`);
  });

  it('a command while Redis is down is refused at once with the reason, not queued', async (t) => {
    const defer = deferrer(t);
    const broker = await startMosquitto(t);
    const redis = await startRedis(t);
    const agent = new Agent(
      parseConfig({
        connection: { server: broker.host, port: broker.port, clientId: 'write-back-down' },
        redis: {
          enabled: true,
          url: redis.url,
          devices: [{ deviceAlias: 'mqtt1', mqttQos: 1 }],
          signals: [
            {
              deviceAlias: 'mqtt1',
              signalAlias: 'valve',
              sourceDeviceAlias: 'plc1',
              sourceSignalAlias: 'valve',
              direction: 'out',
            },
          ],
        },
      }),
    );
    const events: AgentEvent[] = [];
    agent.on('event', (e) => events.push(e));
    defer(() => agent.close());
    await agent.start();
    await agent.whenConnected(10000);
    await agent.whenSubscribed();
    await redis.stop();
    const commander = await mqtt.connectAsync(broker.url(), { reconnectPeriod: 0 });
    defer(() => commander.endAsync());
    await commander.publishAsync('tag/plc1/valve/out', '1', { qos: 1 });
    await waitFor(() => events.some((e) => e.type === 'rejected'), 'the refusal');
    const refusal = events.find((e) => e.type === 'rejected');
    assert.match(
      refusal?.type === 'rejected' ? refusal.reason : '',
      /^Redis PUBLISH tag\/plc1\/valve\/out failed: /,
    );
  });
});
