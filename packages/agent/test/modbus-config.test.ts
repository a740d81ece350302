// The configuration of `device.driver: modbus`: the example validates; every mistake is an
// error naming its field; the codec and the batching planner on their own (no network).
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ConfigError } from '../src/config/errors.js';
import { loadConfig, parseConfig, resolveChannel } from '../src/config/validate.js';
import {
  decodeRegisters,
  encodeRegisters,
  PulseCounter,
  toEngineering,
  toRaw,
} from '../src/sources/modbus-codec.js';
import { planReads, type ReadPoint } from '../src/sources/modbus-plan.js';
import { ROOT } from './util.js';

/** The issues `parseConfig` lists for `device`, as `path: message` lines. */
function issues(device: Record<string, unknown>): string[] {
  try {
    parseConfig({ connection: { server: '127.0.0.1' }, device });
  } catch (error) {
    if (error instanceof ConfigError) return error.issues.map((i) => `${i.path}: ${i.message}`);
    throw error;
  }
  return [];
}

const tcp = { transport: 'tcp', host: '10.0.0.5' };

describe('Modbus configuration', () => {
  it('validates examples/modbus-io.yaml: 8 DO as coils, 8 RTD as input registers at 0.1, a counter', async () => {
    const c = await loadConfig(`${ROOT}examples/modbus-io.yaml`);
    assert.equal(c.device.driver, 'modbus');
    const coils = c.device.channels.filter((ch) => ch.modbus?.function === 'coil');
    const rtds = c.device.channels.filter((ch) => ch.type === 'rtd-input');
    assert.deepEqual(
      coils.map((ch) => [ch.type, ch.modbus?.address]),
      Array.from({ length: 8 }, (_, i) => ['digital-output', i]),
    );
    assert.deepEqual(
      rtds.map((ch) => [ch.modbus?.function, ch.modbus?.address, ch.modbus?.scale]),
      Array.from({ length: 8 }, (_, i) => ['input-register', i, 0.1]),
    );
    const counter = c.device.channels.find((ch) => ch.type === 'counter');
    assert.ok(counter !== undefined);
    assert.deepEqual(resolveChannel(counter).range, { min: 0, max: Number.MAX_SAFE_INTEGER });
  });

  it('names the field of every mistake', () => {
    assert.deepEqual(issues({ driver: 'modbus' }), [
      'device.modbus: required when driver is "modbus"',
    ]);
    assert.deepEqual(issues({ driver: 'modbus', modbus: {} }), [
      'device.modbus.host: required when transport is "tcp"',
    ]);
    assert.deepEqual(issues({ driver: 'modbus', modbus: { transport: 'rtu', dataBits: 7 } }), [
      'device.modbus.path: required when transport is "rtu"',
      'device.modbus.dataBits: Modbus RTU frames are 8 data bits (7 is Modbus ASCII)',
    ]);
    assert.deepEqual(
      issues({
        driver: 'modbus',
        modbus: {
          ...tcp,
          host: 'tcp://plc:502',
          timeoutMs: 5,
          baudRate: 10,
          groups: [
            { name: 'fast', pollMs: 100 },
            { name: 'fast', pollMs: 200 },
            { name: 'default', pollMs: 1 },
          ],
          reconnect: { minDelayMs: 5000, maxDelayMs: 1000 },
        },
      }).sort(),
      [
        'device.modbus.host: must be a host name or an IP address alone: no scheme, port (see port) or path',
        'device.modbus.baudRate: must be a whole number of bits per second from 300 to 921600',
        'device.modbus.timeoutMs: must be a whole number of milliseconds from 10 to 60000',
        'device.modbus.groups[1].name: duplicate of device.modbus.groups[0]',
        'device.modbus.groups[2].name: "default" is the group of pollMs',
        'device.modbus.groups[2].pollMs: must be a whole number of milliseconds from 10 to 86400000',
        'device.modbus.reconnect.maxDelayMs: must be at least minDelayMs (5000)',
      ].sort(),
    );
    const ch = (id: number, type: string, modbus?: Record<string, unknown>) => ({
      id,
      name: `c${id}`,
      type,
      ...(modbus === undefined ? {} : { modbus }),
    });
    assert.deepEqual(
      issues({
        driver: 'modbus',
        modbus: tcp,
        channels: [
          ch(0, 'digital-output'),
          ch(1, 'digital-output', { function: 'discrete-input', address: 0 }),
          ch(2, 'analog-input', { function: 'coil', address: 0 }),
          ch(3, 'counter', { function: 'input-register', address: 0, dataType: 'int16' }),
          ch(4, 'digital-input', { function: 'coil', address: 0, dataType: 'uint16' }),
          ch(5, 'rtd-input', { function: 'input-register', address: 65535, dataType: 'float32' }),
          ch(6, 'rtd-input', { function: 'input-register', address: 0, group: 'slow' }),
          ch(7, 'rtd-input', { function: 'input-register', address: 0, scale: 0 }),
          ch(8, 'analog-output', { function: 'input-register', address: 0 }),
          ch(9, 'rtd-input', { function: 'input-register', address: 0, dataType: 'bool' }),
          ch(10, 'rtd-input', { function: 'input-register', address: 0, unit: 256 }),
          ch(11, 'rtd-input', { function: 'input-register', address: 0, wordorder: 'big' }),
        ],
      }),
      [
        'device.channels[0].modbus: required when device.driver is "modbus"',
        'device.channels[1].modbus.function: a digital-output must be a coil or a holding-register (discrete-input is read-only)',
        'device.channels[2].modbus.function: an analog-input reads registers: input-register or holding-register',
        'device.channels[3].modbus.dataType: a counter must be uint16 or uint32 (the register width it wraps at)',
        'device.channels[4].modbus.dataType: a coil holds one bit: dataType must be bool',
        'device.channels[5].modbus.address: a 2-register value at 65535 ends past 65535',
        'device.channels[6].modbus.group: no group "slow" in device.modbus.groups',
        'device.channels[7].modbus.scale: must be a finite number other than 0',
        'device.channels[8].modbus.function: an analog-output must be a coil or a holding-register (input-register is read-only)',
        'device.channels[9].modbus.dataType: a rtd-input is a number, not bool',
        'device.channels[10].modbus.unit: must be a whole number from 0 to 255',
        'device.channels[11].modbus.wordorder: unknown field',
      ],
    );
  });

  it('keeps a configuration with every default written out valid (as the console saves it)', () => {
    const c = parseConfig({
      connection: { server: '127.0.0.1' },
      device: {
        driver: 'modbus',
        modbus: { transport: 'rtu', path: '/dev/ttyUSB0' },
        channels: [
          { id: 0, name: 'c', type: 'counter', modbus: { function: 'input-register', address: 0 } },
        ],
      },
    });
    assert.deepEqual(parseConfig(JSON.parse(JSON.stringify(c))), c);
  });
});

describe('Modbus codec', () => {
  it('decodes and encodes every data type in both word orders', () => {
    const cases: [Parameters<typeof decodeRegisters>[1], number, number[], number[]][] = [
      ['int16', -5, [0xfffb], [0xfffb]],
      ['uint16', 65535, [0xffff], [0xffff]],
      ['int32', -100000, [0xfffe, 0x7960], [0x7960, 0xfffe]],
      ['uint32', 4000000000, [0xee6b, 0x2800], [0x2800, 0xee6b]],
      ['float32', 21.5, [0x41ac, 0x0000], [0x0000, 0x41ac]],
      ['bool', 1, [0x0001], [0x0001]],
    ];
    for (const [type, value, big, little] of cases) {
      assert.equal(decodeRegisters(big, type, 'big'), value, `${type} big`);
      assert.equal(decodeRegisters(little, type, 'little'), value, `${type} little`);
      assert.deepEqual(encodeRegisters(value, type, 'big'), big, `${type} encode big`);
      assert.deepEqual(encodeRegisters(value, type, 'little'), little, `${type} encode little`);
    }
    assert.equal(
      encodeRegisters(70000, 'uint16', 'big'),
      'does not fit a uint16 (0..65535, whole numbers)',
    );
    assert.equal(
      encodeRegisters(1.5, 'int32', 'big'),
      'does not fit a int32 (-2147483648..2147483647, whole numbers)',
    );
    assert.equal(encodeRegisters(1e39, 'float32', 'big'), 'does not fit a float32');
  });

  it('scales without binary noise and rounds writes of integer types', () => {
    assert.equal(toEngineering(215, 0.1, 0), 21.5);
    assert.equal(toEngineering(3, 0.1, 0), 0.3);
    assert.equal(toEngineering(1000, 0.025, -5), 20);
    assert.equal(toRaw(21.46, 'int16', 0.1, 0), 215);
    assert.equal(toRaw(20, 'uint16', 0.025, -5), 1000);
    assert.equal(toRaw(0.1, 'float32', 1, 0), 0.1);
  });

  it('counts pulses across the wrap-around of 16- and 32-bit counters', () => {
    const c32 = new PulseCounter(32);
    assert.equal(c32.update(4294967290), 4294967290);
    assert.equal(c32.update(4294967295), 4294967295);
    assert.equal(c32.update(3), 4294967299);
    assert.equal(c32.update(3), 4294967299);
    const c16 = new PulseCounter(16);
    assert.equal(c16.update(65530), 65530);
    assert.equal(c16.update(10), 65546);
    assert.equal(
      c16.update(0),
      131072,
      'a step back is a wrap: 65526 pulses, never a negative count',
    );
  });
});

describe('Modbus batching', () => {
  const p = (
    id: number,
    fn: ReadPoint['fn'],
    address: number,
    more: Partial<ReadPoint> = {},
  ): ReadPoint => ({
    id,
    unit: 1,
    fn,
    address,
    width: 1,
    ...more,
  });
  const shape = (points: ReadPoint[], gap = 0) =>
    planReads(points, gap).map((r) => [
      r.unit,
      r.fn,
      r.address,
      r.count,
      r.points.map((x) => x.id),
    ]);

  it('joins adjacent addresses of one unit and table; splits units, tables and gaps', () => {
    assert.deepEqual(
      shape([
        p(3, 'input-register', 2, { width: 2 }),
        p(1, 'input-register', 0),
        p(2, 'input-register', 1),
        p(4, 'input-register', 6),
        p(5, 'holding-register', 4),
        p(6, 'input-register', 0, { unit: 2 }),
        p(7, 'coil', 0),
        p(8, 'coil', 1),
      ]),
      [
        [1, 'coil', 0, 2, [7, 8]],
        [1, 'holding-register', 4, 1, [5]],
        [1, 'input-register', 0, 4, [1, 2, 3]],
        [1, 'input-register', 6, 1, [4]],
        [2, 'input-register', 0, 1, [6]],
      ],
    );
    assert.deepEqual(
      shape([p(1, 'input-register', 0), p(2, 'input-register', 3)], 2),
      [[1, 'input-register', 0, 4, [1, 2]]],
      'a gap of 2 is read through with maxGap 2',
    );
    assert.deepEqual(
      shape([p(1, 'input-register', 0), p(2, 'input-register', 0, { width: 2 })]),
      [[1, 'input-register', 0, 2, [1, 2]]],
      'overlapping points share one read',
    );
  });

  it('keeps every request within 125 registers and 2000 bits', () => {
    const regs = Array.from({ length: 300 }, (_, i) => p(i, 'holding-register', i));
    assert.deepEqual(
      planReads(regs).map((r) => [r.address, r.count]),
      [
        [0, 125],
        [125, 125],
        [250, 50],
      ],
    );
    const bits = Array.from({ length: 4100 }, (_, i) => p(i, 'discrete-input', i));
    assert.deepEqual(
      planReads(bits).map((r) => [r.address, r.count]),
      [
        [0, 2000],
        [2000, 2000],
        [4000, 100],
      ],
    );
    // A 32-bit value never straddles two requests.
    const pairs = Array.from({ length: 63 }, (_, i) => p(i, 'input-register', i * 2, { width: 2 }));
    assert.deepEqual(
      planReads(pairs).map((r) => [r.address, r.count]),
      [
        [0, 124],
        [124, 2],
      ],
    );
  });
});
