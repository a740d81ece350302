// Redis values are bounded and parsed strictly: an oversized message, a value that is no finite
// number, a timestamp out of range are refused with a counted, logged reason and never reach
// MQTT; `-r` and `-m` print long messages clipped, as the agent clips MQTT payloads.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { createClient } from 'redis';
import { startMosquitto } from '../../../test/helpers/mosquitto.js';
import { startRedis } from '../../../test/helpers/redis.js';
import { CLIP_CHARS } from '../src/agent/events.js';
import { RedisMessageError } from '../src/errors.js';
import {
  MAX_TIMESTAMP_MS,
  parseRedisCommand,
  parseRedisMessage,
  toRedisMessage,
} from '../src/sources/redis-message.js';
import { deferrer, observe, startCli, tempJson, waitFor } from './util.js';

const ch = 'tag/iec104_1/tr1_temp/in';
const ts = 1_700_000_000_000;

/** Asserts that `raw` is refused with a reason matching `reason`, quoting at most 64 chars. */
function refused(raw: string, reason: RegExp, maxBytes?: number): void {
  assert.throws(
    () => parseRedisMessage(ch, raw, maxBytes),
    (e: unknown) => {
      assert.ok(e instanceof RedisMessageError, String(e));
      assert.match(e.message, reason);
      assert.ok(e.message.length < 400, `a short message, not the input (${e.message.length})`);
      return true;
    },
    raw.slice(0, 40),
  );
}

describe('Redis values, strictly', () => {
  it('refuses values that are no finite number: 20 million digits, Infinity, NaN, 1e999', () => {
    refused(
      `${'9'.repeat(20_000_000)},${ts},`,
      /message of 20000015 bytes is larger than the limit of 4096/,
    );
    refused(`${'9'.repeat(400)},${ts},`, /value of 400 characters is longer than 32/);
    refused(`${'9'.repeat(400)},${ts},`, /value of 400 characters/, 1_048_576);
    refused(`Infinity,${ts},`, /value "Infinity" is not a number or nan/);
    refused(`-inf,${ts},`, /value "-inf" is not a number or nan/);
    refused(`NaN,${ts},`, /value "NaN" is not a number or nan/);
    refused(`1e999,${ts},`, /value "1e999" is out of range \(not a finite number\)/);
    refused(`-1e309,${ts},`, /out of range/);
    refused(`0x10,${ts},`, /not a number/);
    // WCC Lite's nan (and C's -nan) stay: a measurement may be not-a-number.
    assert.equal(parseRedisMessage(ch, `nan,${ts},IV`).valueText, 'nan');
    assert.equal(parseRedisMessage(ch, `-nan,${ts},`).valueText, 'nan');
    assert.equal(parseRedisMessage(ch, `1.7976931348623157e308,${ts},`).value, Number.MAX_VALUE);
  });

  it('checks the timestamp range: Unix milliseconds up to the year 9999', () => {
    assert.equal(parseRedisMessage(ch, '1,0,').ts, 0);
    assert.equal(parseRedisMessage(ch, `1,${MAX_TIMESTAMP_MS},`).ts, MAX_TIMESTAMP_MS);
    refused(`1,${MAX_TIMESTAMP_MS + 1},`, /timestamp 253402300800000 is after the year 9999/);
    refused(`1,${'1'.repeat(30)},`, /timestamp "1{30}" is not Unix milliseconds/);
    refused('1,-5,', /timestamp "-5" is not Unix milliseconds/);
    refused('1,1.5e12,', /is not Unix milliseconds/);
  });

  it('bounds the message to redis.maxMessageBytes, counting UTF-8 bytes', () => {
    const flags = 'Ä'.repeat(40); // 80 bytes of flags
    assert.doesNotThrow(() => parseRedisMessage(ch, `1,${ts},${flags}`, 100));
    refused(`1,${ts},${flags}`, /message of 96 bytes is larger than the limit of 90/, 90);
  });

  it('reads MQTT commands for Redis out signals as strictly', () => {
    const now = 1_800_000_000_000;
    const redis = (payload: string) => toRedisMessage(parseRedisCommand('cmd', payload, now));
    assert.equal(redis('1'), `1,${now},`);
    assert.equal(redis(' 2.5 '), `2.5,${now},`);
    assert.equal(redis(`3,${ts}`), `3,${ts},`);
    assert.equal(redis(`3,${ts},0`), `3,${ts},IV`);
    assert.equal(redis(`3,,1`), `3,${now},`);
    for (const [payload, reason] of [
      ['nan', /value "nan" is not a number/],
      ['Infinity', /not a number/],
      ['1e999', /out of range/],
      ['On', /value "On" is not a number/],
      [`1,${ts},2`, /quality "2" is not 0 or 1/],
      [`1,${ts},1,x`, /expected value, value,timestamp_ms or value,timestamp_ms,quality/],
      [`1,${MAX_TIMESTAMP_MS + 1}`, /after the year 9999/],
      ['9'.repeat(5000), /command of 5000 bytes is larger than the limit of 4096/],
    ] as const) {
      assert.throws(() => parseRedisCommand('cmd', payload, now), reason, payload.slice(0, 30));
    }
  });
});

describe('courier agent -r with oversized and non-finite Redis values', () => {
  it('refuses them (counted, logged with the reason), publishes nothing of them, prints -r lines clipped', async (t) => {
    const defer = deferrer(t);
    const broker = await startMosquitto(t);
    const redis = await startRedis(t);
    const { client: observer, seen } = await observe(broker.url(), 'tag/#', 1);
    defer(() => observer.endAsync());
    const file = tempJson('wcc.json', {
      connection: { server: broker.host, port: broker.port, clientId: 'limits' },
      redis: {
        enabled: true,
        url: redis.url,
        devices: [{ deviceAlias: 'mqtt1', enableThreshold: false }],
        signals: [
          {
            deviceAlias: 'mqtt1',
            signalAlias: 't',
            sourceDeviceAlias: 'plc',
            sourceSignalAlias: 'temp',
          },
        ],
      },
    });
    const agent = startCli(['agent', '-c', file, '--no-web', '-r', '-m']);
    defer(() => {
      if (agent.child.exitCode === null) agent.child.kill('SIGKILL');
    });
    await waitFor(
      () => agent.stdout.includes('MQTT state CONNECTED'),
      `CONNECTED (${agent.stderr})`,
    );
    await waitFor(
      () => agent.stderr.includes('"Redis subscribed"'),
      `subscribed (${agent.stderr})`,
    );
    const pub = createClient({ url: redis.url });
    await pub.connect();
    defer(() => pub.close());
    const channel = 'tag/plc/temp/in';
    const huge = `${'7'.repeat(2_000_000)},${ts},`;
    await pub.publish(channel, huge);
    await pub.publish(channel, `Infinity,${ts},`);
    await pub.publish(channel, `1e999,${ts},`);
    await pub.publish(channel, `21.5,${ts},`);
    await waitFor(() => seen.length === 1, 'the one valid value on MQTT');
    assert.equal(seen[0]?.payload, `21.5,${ts},1`);

    const rejected = () =>
      agent.stderr
        .split('\n')
        .filter((l) => l.includes('"Redis message rejected"'))
        .map((l) => JSON.parse(l) as { reason: string; payload: string });
    await waitFor(
      () => rejected().length === 3,
      `three rejections logged (${agent.stderr.slice(0, 3000)})`,
    );
    const [big, inf, e999] = rejected();
    assert.match(
      big?.reason ?? '',
      /message of 2000015 bytes is larger than the limit of 4096 \(redis\.maxMessageBytes\)/,
    );
    assert.ok((big?.payload.length ?? 0) < CLIP_CHARS + 64, 'the log keeps the start of it');
    assert.match(inf?.reason ?? '', /value "Infinity" is not a number or nan/);
    assert.match(e999?.reason ?? '', /value "1e999" is out of range/);

    // -r: every line clipped (the payload and the reason to a kilobyte each), the sizes said.
    await waitFor(
      () => agent.stdout.includes(`REDIS < ${channel} 21.5,${ts},`),
      '-r printing the valid one',
    );
    for (const line of agent.stdout.split('\n')) {
      assert.ok(line.length < 2 * CLIP_CHARS, `a clipped line (${line.length} characters)`);
    }
    assert.match(agent.stdout, new RegExp(`REDIS < ${channel} 7{1024}… \\(2000015 bytes\\)\n`));
    assert.match(agent.stdout, /\(rejected: redis tag\/plc\/temp\/in: message of 2000015 bytes/);
    agent.child.kill('SIGTERM');
    assert.equal(await agent.exited, 0);
  });
});
