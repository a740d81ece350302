// The Redis bridge against a real redis-server and Mosquitto (WCC Lite mapping).
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { createClient } from 'redis';
import { startMosquitto } from '../../../test/helpers/mosquitto.js';
import { startRedis } from '../../../test/helpers/redis.js';
import { Agent } from '../src/agent/agent.js';
import { parseConfig } from '../src/config/validate.js';
import { deferrer, observe, waitFor } from './util.js';

describe('Redis bridge', () => {
  it('maps tag/<device>/<signal>/in to MQTT with quality flags, nan and the threshold', async (t) => {
    const defer = deferrer(t);
    const broker = await startMosquitto(t);
    const redis = await startRedis(t);
    const { client: observer, seen } = await observe(broker.url(), ['tag/#', 'substation/#'], 1);
    defer(() => observer.endAsync());
    const agent = new Agent(
      parseConfig({
        connection: { server: broker.host, port: broker.port, clientId: 'wcc-gw' },
        redis: {
          enabled: true,
          url: redis.url,
          devices: [
            { deviceAlias: 'mqtt1', mqttQos: 1, mqttRetain: false, enableThreshold: true },
            { deviceAlias: 'raw', enableThreshold: false },
          ],
          signals: [
            {
              deviceAlias: 'mqtt1',
              signalAlias: 'temp',
              sourceDeviceAlias: 'iec104_1',
              sourceSignalAlias: 'tr1_temp',
            },
            {
              deviceAlias: 'mqtt1',
              signalAlias: 'cb',
              sourceDeviceAlias: 'iec104_1',
              sourceSignalAlias: 'cb1',
              topic: 'substation/1/breaker',
            },
            {
              deviceAlias: 'raw',
              signalAlias: 'p',
              sourceDeviceAlias: 'modbus_1',
              sourceSignalAlias: 'power',
            },
            {
              deviceAlias: 'mqtt1',
              signalAlias: 'off',
              sourceDeviceAlias: 'iec104_1',
              sourceSignalAlias: 'spare',
              enable: false,
            },
          ],
        },
      }),
    );
    const redisLines: string[] = [];
    agent.on('redis-message', (e) => {
      if (e.type === 'redis-message') redisLines.push(`${e.channel} ${e.message}`);
    });
    defer(() => agent.close());
    await agent.start();
    await agent.whenConnected(10000);
    await agent.whenRedisSubscribed();

    const pub = createClient({ url: redis.url });
    await pub.connect();
    defer(() => pub.close());
    const ts = 1_700_000_000_000;
    const send = (channel: string, message: string) => pub.publish(channel, message);
    await send('tag/iec104_1/tr1_temp/in', `21.5,${ts},`);
    await send('tag/iec104_1/tr1_temp/in', `21.5,${ts + 1000},`); // unchanged: threshold
    await send('tag/iec104_1/tr1_temp/in', `21.5,${ts + 2000},IV`); // invalid: quality 0
    await send('tag/iec104_1/tr1_temp/in', `nan,${ts + 3000},NT`);
    await send('tag/iec104_1/cb1/in', `1,${ts},OV`);
    await send('tag/iec104_1/cb1/out', `1,${ts},`); // not an "in" signal: not mapped
    await send('tag/iec104_1/spare/in', `5,${ts},`); // disabled signal
    await send('tag/modbus_1/power/in', `3.25,${ts},`);
    await send('tag/modbus_1/power/in', `3.25,${ts + 1000},`); // threshold off for this device
    await send('tag/modbus_1/power/in', 'garbage');

    await waitFor(
      () => seen.length >= 6 && agent.snapshot().counts.rejected >= 1,
      'six MQTT messages and one rejection',
    );
    await new Promise((r) => setTimeout(r, 200));
    const got = seen.map((m) => `${m.topic} ${m.payload} q${m.qos}`).sort();
    assert.deepEqual(
      got,
      [
        `substation/1/breaker 1,${ts},0 q1`,
        `tag/iec104_1/tr1_temp/in 21.5,${ts + 2000},0 q1`,
        `tag/iec104_1/tr1_temp/in 21.5,${ts},1 q1`,
        `tag/iec104_1/tr1_temp/in nan,${ts + 3000},0 q1`,
        `tag/modbus_1/power/in 3.25,${ts + 1000},1 q0`,
        `tag/modbus_1/power/in 3.25,${ts},1 q0`,
      ].sort(),
    );
    const snap = agent.snapshot();
    assert.equal(snap.redis?.connected, true);
    assert.equal(snap.counts.rejected, 1);
    assert.equal(snap.counts.suppressed, 1);
    const temp = snap.redis?.signals.find((s) => s.key === 'mqtt1/temp');
    assert.deepEqual(
      [temp?.published, temp?.suppressed, temp?.lastPayload],
      [3, 1, `nan,${ts + 3000},0`],
    );
    assert.ok(redisLines.includes(`tag/iec104_1/tr1_temp/in 21.5,${ts},`));
  });
});
