// Modbus RTU over a pseudo-terminal pair made by socat: the driver opens one end as its serial
// port (modbus-serial over serialport), the test's slave (test/modbus-server.ts, RTU framing
// with CRC) serves the other. A silent unit on the line turns stale after the timeout while
// the other unit keeps answering.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import {
  findBinary,
  type PeerProcess,
  spawnPeer,
  stopPeer,
} from '../../../test/helpers/process.js';
import { ModbusDriver } from '../src/sources/modbus.js';
import { ModbusRtuSlave } from './modbus-server.js';
import { channel, neverScheduler, until, untilQuality } from './modbus-util.js';

/** Starts `socat` with two linked ptys and resolves with their paths once it printed them. */
async function ptyPair(): Promise<{ peer: PeerProcess; a: string; b: string }> {
  const socat = await findBinary('socat', 'socat');
  const peer = spawnPeer(socat, ['-d', '-d', 'pty,raw,echo=0', 'pty,raw,echo=0'], '/');
  const paths = await new Promise<string[]>((resolve, reject) => {
    const check = () => {
      const found = [...peer.output().matchAll(/PTY is (\S+)/g)].map((m) => m[1] ?? '');
      if (found.length >= 2 && /starting data transfer loop/.test(peer.output())) {
        peer.child.stderr?.off('data', check);
        resolve(found);
      }
    };
    peer.child.stderr?.on('data', check);
    void peer.exited.then((code) => reject(new Error(`socat exited (${code}): ${peer.output()}`)));
    check();
  });
  const [a, b] = paths as [string, string];
  return { peer, a, b };
}

describe('Modbus RTU driver over a pseudo-terminal pair', () => {
  let pty: { peer: PeerProcess; a: string; b: string };
  let slave: ModbusRtuSlave;
  before(async () => {
    pty = await ptyPair();
    slave = new ModbusRtuSlave(pty.b);
  });
  after(async () => {
    slave.close();
    await stopPeer(pty.peer);
  });

  it('reads and writes over RTU; a silent unit turns stale, the other keeps answering', async (t) => {
    const m1 = slave.slave.unit(1);
    m1.input.set([215, 0xff9c], 0);
    m1.coils[2] = 1;
    slave.slave.unit(2).holding.set([0x0001, 0x0002], 0); // uint32 big = 65538
    const driver = new ModbusDriver({
      channels: [
        channel(0, 'rtd-input', 'input-register', 0, { scale: 0.1 }),
        channel(1, 'rtd-input', 'input-register', 1, { scale: 0.1 }),
        channel(2, 'digital-output', 'coil', 2),
        channel(3, 'counter', 'holding-register', 0, { unit: 2 }),
      ],
      link: {
        target: {
          transport: 'rtu',
          path: pty.a,
          baudRate: 9600,
          dataBits: 8,
          stopBits: 1,
          parity: 'none',
        },
        timeoutMs: 200,
        reconnect: { minDelayMs: 20, maxDelayMs: 200 },
      },
      groups: new Map([['default', 60_000]]),
      scheduler: neverScheduler,
    });
    t.after(() => driver.close());
    await driver.start();
    await until(
      driver,
      () => [0, 1, 2, 3].every((id) => driver.quality(id).quality === 'good'),
      'all good',
    );
    assert.deepEqual(await Promise.all([0, 1, 2, 3].map((id) => driver.read(id))), [
      21.5,
      -10,
      true,
      65538,
    ]);
    // Two reads for unit 1 (coils, input registers 0..1), one for unit 2.
    assert.deepEqual(
      slave.slave.requests.map((r) => [r.unit, r.fc, r.address, r.count]),
      [
        [1, 1, 2, 1],
        [1, 4, 0, 2],
        [2, 3, 0, 2],
      ],
    );
    await driver.write(2, false);
    assert.equal(m1.coils[2], 0);

    slave.slave.silent.add(2);
    m1.input[0] = 230;
    await driver.pollNow();
    assert.equal(driver.quality(3).quality, 'stale');
    assert.match(driver.quality(3).reason ?? '', /no answer from unit 2 within 200 ms/);
    assert.equal(await driver.read(3), 65538);
    assert.equal(await driver.read(0), 23);
    assert.equal(driver.quality(0).quality, 'good');
    // The serial line is not "reconnected" for a silent slave: it answers for the other unit.
    await driver.pollNow();
    await driver.pollNow();
    assert.equal(driver.linkState, 'connected');
    slave.slave.silent.clear();
    await driver.pollNow();
    await untilQuality(driver, 3, 'good');
    assert.equal(slave.badFrames, 0);
  });
});
