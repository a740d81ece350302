import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { AgentEvent } from '../src/agent/events.js';
import { parseConfig } from '../src/config/validate.js';
import { RedisMessageError } from '../src/errors.js';
import type { QoS } from '../src/sources/publisher.js';
import { RedisMapping, resolveRoutes } from '../src/sources/redis-bridge.js';
import {
  parseFlags,
  parseRedisMessage,
  parseTagChannel,
  qualityOf,
  tagChannel,
  toMqttPayload,
} from '../src/sources/redis-message.js';

const ch = 'tag/iec104_1/tr1_temp/in';

describe('Redis messages (WCC Lite)', () => {
  it('splits tag channel names', () => {
    assert.deepEqual(parseTagChannel(ch), {
      deviceAlias: 'iec104_1',
      signalAlias: 'tr1_temp',
      direction: 'in',
    });
    assert.equal(parseTagChannel('tag/a/b/sideways'), undefined);
    assert.equal(parseTagChannel('foo/a/b/in'), undefined);
    assert.equal(parseTagChannel('tag/a/in'), undefined);
    assert.equal(tagChannel('a', 'b', 'rout'), 'tag/a/b/rout');
  });

  it('maps value,timestamp,flags to value,timestamp,quality', () => {
    const cases: [string, string][] = [
      ['20.5,1700000000000,', '20.5,1700000000000,1'],
      ['20.5,1700000000000', '20.5,1700000000000,1'],
      ['-3,1700000000000,SB', '-3,1700000000000,1'],
      ['7,1700000000000,IV', '7,1700000000000,0'],
      ['7,1700000000000,NT', '7,1700000000000,0'],
      ['7,1700000000000,OV', '7,1700000000000,0'],
      ['7,1700000000000,SB IV', '7,1700000000000,0'],
      ['7,1700000000000,SB|NT', '7,1700000000000,0'],
      ['7,1700000000000,SBOV', '7,1700000000000,0'],
      ['nan,1700000000000,', 'nan,1700000000000,1'],
      ['-nan,1700000000000,IV', 'nan,1700000000000,0'],
      [' 1e3 , 1700000000000 , ', '1e3,1700000000000,1'],
    ];
    for (const [redis, mqtt] of cases) {
      assert.equal(toMqttPayload(parseRedisMessage(ch, redis)), mqtt, redis);
    }
  });

  it('reads flags in any of the separators firmware uses', () => {
    assert.deepEqual(parseFlags(''), []);
    assert.deepEqual(parseFlags('iv;nt'), ['IV', 'NT']);
    assert.deepEqual(parseFlags('SBBL'), ['SB', 'BL']);
    assert.equal(qualityOf(['SB', 'BL']), 1);
    assert.equal(qualityOf(['BL', 'OV']), 0);
  });

  it('names what is wrong with a broken message', () => {
    const bad: [string, RegExp][] = [
      ['20.5', /expected value,timestamp_ms,flags/],
      ['warm,1700000000000,', /value "warm" is not a number or nan/],
      ['1,now,', /timestamp "now" is not Unix milliseconds/],
      ['1,,', /timestamp "" is not Unix milliseconds/],
    ];
    for (const [raw, reason] of bad) {
      assert.throws(
        () => parseRedisMessage(ch, raw),
        (e: unknown) =>
          e instanceof RedisMessageError && e.channel === ch && reason.test(e.message),
        raw,
      );
    }
  });
});

describe('Redis to MQTT mapping', () => {
  const config = parseConfig({
    connection: { server: '127.0.0.1' },
    redis: {
      enabled: true,
      devices: [
        { deviceAlias: 'mqtt1', mqttQos: 1, mqttRetain: true },
        { deviceAlias: 'mqtt2', enableThreshold: false },
        { deviceAlias: 'off', enable: false },
      ],
      signals: [
        {
          deviceAlias: 'mqtt1',
          signalAlias: 't',
          sourceDeviceAlias: 'iec104_1',
          sourceSignalAlias: 'tr1_temp',
        },
        {
          deviceAlias: 'mqtt1',
          signalAlias: 'cb',
          sourceDeviceAlias: 'iec104_1',
          sourceSignalAlias: 'cb1',
          topic: 'sub/1/breaker',
        },
        {
          deviceAlias: 'mqtt2',
          signalAlias: 'cb',
          sourceDeviceAlias: 'iec104_1',
          sourceSignalAlias: 'cb1',
          topic: 'copy/breaker',
        },
        {
          deviceAlias: 'mqtt1',
          signalAlias: 'x',
          sourceDeviceAlias: 'm',
          sourceSignalAlias: 'x',
          enable: false,
        },
        { deviceAlias: 'off', signalAlias: 'y', sourceDeviceAlias: 'm', sourceSignalAlias: 'y' },
      ],
    },
  });

  function setup() {
    const sent: { topic: string; payload: string; qos: QoS; retain: boolean }[] = [];
    const events: AgentEvent[] = [];
    const mapping = new RedisMapping(
      resolveRoutes(config.redis),
      { publish: async (topic, payload, o) => void sent.push({ topic, payload, ...o }) },
      (e) => events.push(e),
    );
    return { mapping, sent, events };
  }

  it('routes enabled signals of enabled devices, by default under the same path', () => {
    const routes = resolveRoutes(config.redis);
    assert.deepEqual(
      routes.map((r) => [r.key, r.redisChannel, r.topic, r.qos, r.retain, r.threshold]),
      [
        ['mqtt1/t', 'tag/iec104_1/tr1_temp/in', 'tag/iec104_1/tr1_temp/in', 1, true, true],
        ['mqtt1/cb', 'tag/iec104_1/cb1/in', 'sub/1/breaker', 1, true, true],
        ['mqtt2/cb', 'tag/iec104_1/cb1/in', 'copy/breaker', 0, false, false],
      ],
    );
    assert.deepEqual(setup().mapping.channels(), [
      'tag/iec104_1/tr1_temp/in',
      'tag/iec104_1/cb1/in',
    ]);
  });

  it('publishes with the device QoS/retain, suppresses repeats where the device enables the threshold', async () => {
    const { mapping, sent } = setup();
    await mapping.handle('tag/iec104_1/cb1/in', '1,1700000000000,');
    await mapping.handle('tag/iec104_1/cb1/in', '1,1700000001000,'); // same value, new time
    await mapping.handle('tag/iec104_1/cb1/in', '1,1700000002000,IV'); // same value, quality drops
    assert.deepEqual(sent, [
      { topic: 'sub/1/breaker', payload: '1,1700000000000,1', qos: 1, retain: true },
      { topic: 'copy/breaker', payload: '1,1700000000000,1', qos: 0, retain: false },
      { topic: 'copy/breaker', payload: '1,1700000001000,1', qos: 0, retain: false },
      { topic: 'sub/1/breaker', payload: '1,1700000002000,0', qos: 1, retain: true },
      { topic: 'copy/breaker', payload: '1,1700000002000,0', qos: 0, retain: false },
    ]);
    const state = mapping.signals().find((s) => s.key === 'mqtt1/cb');
    assert.deepEqual([state?.published, state?.suppressed], [2, 1]);
  });

  it('counts a malformed message as rejected and publishes nothing; ignores unmapped channels', async () => {
    const { mapping, sent, events } = setup();
    assert.equal(await mapping.handle('tag/iec104_1/tr1_temp/in', 'garbage'), 0);
    assert.equal(await mapping.handle('tag/other/x/in', '1,1700000000000,'), 0);
    assert.deepEqual(sent, []);
    const rejected = events.filter((e) => e.type === 'rejected');
    assert.equal(rejected.length, 1);
    assert.equal(mapping.signals().find((s) => s.key === 'mqtt1/t')?.rejected, 1);
  });
});
