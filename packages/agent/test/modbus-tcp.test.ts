// The Modbus driver against a Modbus TCP slave the test starts on a free loopback port
// (test/modbus-server.ts, written from the specification): every data type and word order,
// batched reads counted at the slave, writes with the matching function code, exceptions, a
// silent unit, a device that disappears and comes back. Polls are driven by the test
// (`pollNow`) and waits are on the driver's events.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { ChannelError } from '../src/errors.js';
import { ModbusError } from '../src/sources/modbus-errors.js';
import { ModbusTcpServer } from './modbus-server.js';
import { channel, recorder, tcpDriver, until, untilLink, untilQuality } from './modbus-util.js';

describe('Modbus TCP driver', () => {
  let server: ModbusTcpServer;
  before(async () => {
    server = new ModbusTcpServer();
    await server.listen();
  });
  after(() => server.close());

  it('reads bits and every register data type in both word orders, scaled', async (t) => {
    const m = server.slave.unit(11);
    m.coils[3] = 1;
    m.discrete[7] = 1;
    // int16 -5, uint16 65535
    m.input[0] = 0xfffb;
    m.input[1] = 0xffff;
    // int32 -100000 = 0xFFFE7960: big (ABCD) at 10, little (CDAB) at 12
    m.input.set([0xfffe, 0x7960], 10);
    m.input.set([0x7960, 0xfffe], 12);
    // uint32 4000000000 = 0xEE6B2800
    m.input.set([0xee6b, 0x2800], 20);
    m.input.set([0x2800, 0xee6b], 22);
    // float32 21.5 = 0x41AC0000, -3.25 = 0xC0500000
    m.holding.set([0x41ac, 0x0000], 30);
    m.holding.set([0x0000, 0xc050], 32);
    // An RTD in tenths of a degree; a 4-20 mA raw 0..4000 scaled to 0..100 % with an offset.
    m.input[40] = 215;
    m.input[41] = 0xff9c; // -100 → -10.0 °C
    m.holding[50] = 1000;
    const u = { unit: 11 };
    const driver = tcpDriver(server.port, [
      channel(1, 'digital-output', 'coil', 3, u),
      channel(2, 'digital-input', 'discrete-input', 7, u),
      channel(3, 'analog-input', 'input-register', 0, { ...u, dataType: 'int16' }),
      channel(4, 'analog-input', 'input-register', 1, { ...u, dataType: 'uint16' }),
      channel(5, 'analog-input', 'input-register', 10, { ...u, dataType: 'int32' }),
      channel(6, 'analog-input', 'input-register', 12, {
        ...u,
        dataType: 'int32',
        wordOrder: 'little',
      }),
      channel(7, 'analog-input', 'input-register', 20, { ...u, dataType: 'uint32' }),
      channel(8, 'analog-input', 'input-register', 22, {
        ...u,
        dataType: 'uint32',
        wordOrder: 'little',
      }),
      channel(9, 'analog-input', 'holding-register', 30, { ...u, dataType: 'float32' }),
      channel(10, 'analog-input', 'holding-register', 32, {
        ...u,
        dataType: 'float32',
        wordOrder: 'little',
      }),
      channel(11, 'rtd-input', 'input-register', 40, { ...u, scale: 0.1 }),
      channel(12, 'rtd-input', 'input-register', 41, { ...u, scale: 0.1 }),
      channel(13, 'analog-input', 'holding-register', 50, {
        ...u,
        dataType: 'uint16',
        scale: 0.025,
        offset: -5,
      }),
      channel(14, 'digital-input', 'input-register', 41, u),
    ]);
    t.after(() => driver.close());
    await driver.start();
    const ids = [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14];
    await until(driver, () => ids.every((id) => driver.quality(id).quality === 'good'), 'all good');
    const values = await Promise.all(
      [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14].map((id) => driver.read(id)),
    );
    assert.deepEqual(values, [
      true,
      true,
      -5,
      65535,
      -100000,
      -100000,
      4000000000,
      4000000000,
      21.5,
      -3.25,
      21.5,
      -10,
      20,
      true,
    ]);
    assert.deepEqual(driver.quality(11), { quality: 'good' });
  });

  it('batches contiguous addresses into one request per table and unit, within the PDU limits', async (t) => {
    const m = server.slave.unit(12);
    for (let i = 0; i < 8; i++) m.input[i] = 200 + i;
    const channels = [
      // LucidIoT's module: 8 DO as coils 0-7, 8 RTDs as input registers 0-7 at 0.1 °C.
      ...Array.from({ length: 8 }, (_, i) => channel(i, 'digital-output', 'coil', i, { unit: 12 })),
      ...Array.from({ length: 8 }, (_, i) =>
        channel(8 + i, 'rtd-input', 'input-register', i, { unit: 12, scale: 0.1 }),
      ),
      // 130 registers of another unit: 125 + 5, the FC4 limit.
      ...Array.from({ length: 130 }, (_, i) =>
        channel(100 + i, 'analog-input', 'input-register', i, { unit: 13 }),
      ),
    ];
    const driver = tcpDriver(server.port, channels);
    t.after(() => driver.close());
    const before = server.slave.requests.length;
    await driver.start();
    await untilQuality(driver, 229, 'good');
    await driver.pollNow();
    const seen = server.slave.requests.slice(before);
    assert.deepEqual(seen, [
      // first poll, at connect
      { unit: 12, fc: 1, address: 0, count: 8 },
      { unit: 12, fc: 4, address: 0, count: 8 },
      { unit: 13, fc: 4, address: 0, count: 125 },
      { unit: 13, fc: 4, address: 125, count: 5 },
      // pollNow
      { unit: 12, fc: 1, address: 0, count: 8 },
      { unit: 12, fc: 4, address: 0, count: 8 },
      { unit: 13, fc: 4, address: 0, count: 125 },
      { unit: 13, fc: 4, address: 125, count: 5 },
    ]);
    assert.equal(await driver.read(15), 20.7);
  });

  it('writes coils with FC5 (FC15 when asked) and holding registers with FC6 / FC16', async (t) => {
    const m = server.slave.unit(14);
    const driver = tcpDriver(server.port, [
      channel(0, 'digital-output', 'coil', 0, { unit: 14 }),
      channel(1, 'digital-output', 'coil', 9, { unit: 14, writeMultiple: true }),
      channel(2, 'analog-output', 'holding-register', 0, {
        unit: 14,
        scale: 0.1,
        range: { min: -50, max: 50 },
      }),
      channel(3, 'analog-output', 'holding-register', 2, {
        unit: 14,
        dataType: 'float32',
        wordOrder: 'little',
      }),
      channel(4, 'digital-output', 'holding-register', 5, { unit: 14 }),
      channel(5, 'analog-output', 'holding-register', 6, {
        unit: 14,
        dataType: 'uint16',
        writeMultiple: true,
      }),
      channel(6, 'analog-input', 'input-register', 0, { unit: 14 }),
    ]);
    t.after(() => driver.close());
    await driver.start();
    await untilQuality(driver, 6, 'good');
    const before = server.slave.requests.length;
    await driver.write(0, true);
    await driver.write(1, 1);
    await driver.write(2, -12.3);
    await driver.write(3, -3.25);
    await driver.write(4, true);
    await driver.write(5, 7);
    assert.deepEqual(
      server.slave.requests.slice(before).map((r) => [r.fc, r.address, r.count]),
      [
        [5, 0, 1],
        [15, 9, 1],
        [6, 0, 1],
        [16, 2, 2],
        [6, 5, 1],
        [16, 6, 1],
      ],
    );
    assert.equal(m.coils[0], 1);
    assert.equal(m.coils[9], 1);
    assert.equal(m.holding[0], 0x10000 - 123);
    assert.deepEqual([m.holding[2], m.holding[3]], [0x0000, 0xc050]);
    assert.equal(m.holding[5], 1);
    assert.equal(m.holding[6], 7);
    assert.equal(await driver.read(2), -12.3);
    await assert.rejects(driver.write(6, 1), ChannelError, 'an input is not written');
    await assert.rejects(driver.write(5, -1), /does not fit a uint16/);
    await assert.rejects(driver.write(2, 51), /outside the range/);
    await driver.pollNow();
    assert.equal(await driver.read(0), true, 'the polled coil agrees with the write');
  });

  it('carries a 32-bit counter over its wrap-around', async (t) => {
    const m = server.slave.unit(15);
    m.holding.set([0xffff, 0xfffa], 0); // 4294967290
    const driver = tcpDriver(server.port, [
      channel(0, 'counter', 'holding-register', 0, { unit: 15 }),
    ]);
    t.after(() => driver.close());
    await driver.start();
    await untilQuality(driver, 0, 'good');
    assert.equal(await driver.read(0), 4294967290);
    m.holding.set([0x0000, 0x0005], 0); // wrapped: 11 pulses later
    await driver.pollNow();
    assert.equal(await driver.read(0), 4294967301);
  });

  it('turns an exception into a channel quality: illegal address bad, busy stale; the rest keep reading', async (t) => {
    const m = server.slave.unit(16);
    m.input[0] = 1;
    m.input[1] = 2;
    server.slave.illegal.add('16:input:2');
    server.slave.unit(17).input[0] = 42;
    const { logger, lines } = recorder();
    const driver = tcpDriver(
      server.port,
      [
        channel(0, 'analog-input', 'input-register', 0, { unit: 16 }),
        channel(1, 'analog-input', 'input-register', 1, { unit: 16 }),
        channel(2, 'analog-input', 'input-register', 2, { unit: 16 }),
        channel(3, 'analog-input', 'input-register', 0, { unit: 17 }),
      ],
      { logger },
    );
    t.after(() => driver.close());
    await driver.start();
    await untilQuality(driver, 3, 'good');
    // The batch 0..2 was refused (0x02), then split: 0 and 1 read, 2 bad with the reason.
    assert.deepEqual(
      [driver.quality(0), driver.quality(1)].map((q) => q.quality),
      ['good', 'good'],
    );
    assert.equal(driver.quality(2).quality, 'bad');
    assert.match(
      driver.quality(2).reason ?? '',
      /exception 0x02 \(illegal data address\) to read input registers 2 of unit 16/,
    );
    assert.deepEqual(
      driver.plan()[0]?.requests.map((r) => [r.unit, r.address, r.count]),
      [
        [16, 0, 1],
        [16, 1, 1],
        [16, 2, 1],
        [17, 0, 1],
      ],
    );
    assert.ok(lines.some((l) => /reading its 3 channels one by one/.test(l.msg)));

    // Unit 17 gets busy: its value turns stale (kept), unit 16 keeps being read.
    server.slave.exceptions.set(17, 0x06);
    m.input[0] = 100;
    await driver.pollNow();
    assert.deepEqual(driver.quality(3), {
      quality: 'stale',
      reason:
        'unit 17 answered exception 0x06 (server device busy) to read input registers 0 of unit 17',
    });
    assert.equal(await driver.read(3), 42, 'a stale value is the last good one');
    assert.equal(await driver.read(0), 100);
    assert.ok(
      lines.some((l) => l.level === 40 && /0x06 \(server device busy\)/.test(l.msg)),
      'logged',
    );

    // An illegal function (0x01) is no passing trouble: bad.
    server.slave.exceptions.set(17, 0x01);
    await driver.pollNow();
    assert.equal(driver.quality(3).quality, 'bad');
    server.slave.exceptions.delete(17);
    await driver.pollNow();
    assert.deepEqual(driver.quality(3), { quality: 'good' });
  });

  it('marks a slow unit stale after the timeout, the other units keep polling on the same link', async (t) => {
    server.slave.unit(18).holding[0] = 5;
    server.slave.unit(19).holding[0] = 6;
    const driver = tcpDriver(
      server.port,
      [
        channel(0, 'analog-input', 'holding-register', 0, { unit: 18 }),
        channel(1, 'analog-input', 'holding-register', 0, { unit: 19 }),
        channel(2, 'analog-input', 'holding-register', 0, { unit: 20 }),
      ],
      { timeoutMs: 150 },
    );
    t.after(() => {
      server.slave.silent.clear();
      return driver.close();
    });
    // Unit 20 never answers: never read, so bad (not stale).
    server.slave.silent.add(20);
    const connections = server.connections;
    await driver.start();
    await until(
      driver,
      () => /no answer/.test(driver.quality(2).reason ?? ''),
      'unit 20 timed out',
    );
    await untilQuality(driver, 1, 'good');
    assert.equal(driver.quality(2).quality, 'bad');
    assert.match(
      driver.quality(2).reason ?? '',
      /^no answer from unit 20 within 150 ms to read holding registers 0 of unit 20$/,
    );
    // Unit 18 goes silent: stale, its last value kept; unit 19 still read in the same polls.
    server.slave.silent.add(18);
    for (let i = 1; i <= 4; i++) {
      server.slave.unit(19).holding[0] = 6 + i;
      await driver.pollNow();
      assert.equal(await driver.read(1), 6 + i);
      assert.equal(driver.quality(1).quality, 'good');
    }
    assert.equal(driver.quality(0).quality, 'stale');
    assert.match(driver.quality(0).reason ?? '', /no answer from unit 18 within 150 ms/);
    assert.equal(await driver.read(0), 5);
    // Answers from unit 19 in between: the link is not presumed dead, no reconnect.
    assert.equal(server.connections, connections + 1);
    server.slave.silent.delete(18);
    await driver.pollNow();
    assert.equal(driver.quality(0).quality, 'good');
  });

  it('remakes a TCP link on which nothing answers any more (three timeouts in a row)', async (t) => {
    const peer = new ModbusTcpServer();
    await peer.listen();
    peer.slave.unit(1).input[0] = 9;
    t.after(() => peer.close());
    const { logger, lines } = recorder();
    const driver = tcpDriver(peer.port, [channel(0, 'analog-input', 'input-register', 0)], {
      timeoutMs: 100,
      logger,
    });
    t.after(() => driver.close());
    await driver.start();
    await untilQuality(driver, 0, 'good');
    peer.slave.silent.add(1);
    await driver.pollNow();
    await driver.pollNow();
    assert.equal(peer.connections, 1);
    const remade = untilLink(driver, 'reconnect-wait');
    await driver.pollNow();
    await remade;
    assert.ok(
      lines.some((l) =>
        /Modbus connection to .* lost: 3 requests in a row unanswered .*connection presumed dead/.test(
          l.msg,
        ),
      ),
    );
    assert.equal(driver.quality(0).quality, 'stale');
    peer.slave.silent.clear();
    await untilQuality(driver, 0, 'good');
    assert.equal(peer.connections, 2);
  });

  it('survives a device that disappears and returns: stale with the reason, reconnect with backoff, logged', async (t) => {
    const peer = new ModbusTcpServer();
    const port = await peer.listen();
    peer.slave.unit(1).input[0] = 215;
    peer.slave.unit(1).coils[0] = 1;
    const { logger, lines } = recorder();
    const driver = tcpDriver(
      port,
      [
        channel(0, 'rtd-input', 'input-register', 0, { scale: 0.1 }),
        channel(1, 'digital-output', 'coil', 0),
      ],
      { logger },
    );
    t.after(() => driver.close());
    t.after(() => peer.close());
    await driver.start();
    await untilQuality(driver, 0, 'good');
    await untilQuality(driver, 1, 'good');

    await peer.close();
    await untilQuality(driver, 0, 'stale');
    assert.equal(await driver.read(0), 21.5);
    assert.match(driver.quality(1).reason ?? '', /connection (lost|closed)|ECONNREFUSED/);
    // Polls go on while the link is down, failing at once instead of waiting.
    await driver.pollNow();
    assert.match(driver.quality(0).reason ?? '', /link to tcp:\/\/127\.0\.0\.1:\d+ down/);
    await assert.rejects(
      driver.write(1, false),
      (e: unknown) => e instanceof ModbusError && e.kind === 'link',
    );
    await until(
      driver,
      () =>
        lines.some((l) =>
          /Modbus connection to tcp:\/\/127\.0\.0\.1:\d+ failed: .*ECONNREFUSED.*retrying in/.test(
            l.msg,
          ),
        ),
      'a failed attempt logged',
    );
    assert.ok(
      lines.some((l) => l.level === 40 && /Modbus connection to .* lost/.test(l.msg)),
      'the loss is logged',
    );

    peer.slave.unit(1).input[0] = 230;
    await peer.listen(port);
    await until(
      driver,
      () => driver.quality(0).quality === 'good' && driver.quality(1).quality === 'good',
      'both good again',
    );
    assert.equal(await driver.read(0), 23);
    assert.ok(
      lines.some(
        (l) =>
          l.level === 30 && /Modbus connected to .* again after \d+ failed attempts?/.test(l.msg),
      ),
    );
    await driver.write(1, false);
    assert.equal(peer.slave.unit(1).coils[0], 0);
  });
});
