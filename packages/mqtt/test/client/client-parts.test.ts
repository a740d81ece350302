/**
 * The parts the client delegates to (credentials.ts, version-choice.ts, packet-hooks.ts,
 * write-ahead.ts), each on its own: the client's tests prove them against real brokers; these pin the edges
 * (a renewal far away, a throwing trace function) with fake timers and no network.
 */
import assert from 'node:assert/strict';
import { mock, test } from 'node:test';
import { CredentialRenewal } from '../../src/client/credentials.js';
import { Emitter } from '../../src/client/events.js';
import { MetricsCounters } from '../../src/client/metrics.js';
import { type PacketEvents, PacketHooks } from '../../src/client/packet-hooks.js';
import { TrackedStore } from '../../src/client/tracked-store.js';
import { VersionChoice } from '../../src/client/version-choice.js';
import { WriteAhead } from '../../src/client/write-ahead.js';
import { ConnectionLostError, ConnectionRefusedError } from '../../src/errors.js';
import type { Packet } from '../../src/packet/types.js';
import { memoryStore } from '../../src/store/memory.js';
import type { ByteStream } from '../../src/transport/types.js';

test('CredentialRenewal ends the connection at renewAtMs (not before, even past 2^31-1 ms), once', (t) => {
  mock.timers.enable({ apis: ['setTimeout', 'Date'], now: 0 });
  t.after(() => mock.timers.reset());
  const renewal = new CredentialRenewal();
  let ended = 0;
  const renewAtMs = 2 ** 31 + 1000; // beyond one timer: needs a second step
  const times = { expiresAtMs: renewAtMs + 1000, renewAtMs };
  renewal.start(times, { current: () => true, end: () => ended++ });
  assert.deepEqual(renewal.times, times);
  mock.timers.tick(2 ** 31 - 1);
  assert.equal(ended, 0, 'not before renewAtMs');
  mock.timers.tick(1000);
  assert.equal(ended, 0);
  mock.timers.tick(1);
  assert.equal(ended, 1);
  assert.equal(renewal.count, 1);
  assert.equal(renewal.connectionLost(), true, 'the lost connection was ended for renewal');
  assert.equal(renewal.connectionLost(), false, 'asked once');
});

test('CredentialRenewal does nothing for a connection that is no longer current, or once stopped', (t) => {
  mock.timers.enable({ apis: ['setTimeout', 'Date'], now: 0 });
  t.after(() => mock.timers.reset());
  const renewal = new CredentialRenewal();
  let ended = 0;
  renewal.start(
    { expiresAtMs: 2000, renewAtMs: 1000 },
    { current: () => false, end: () => ended++ },
  );
  mock.timers.tick(5000);
  renewal.start(
    { expiresAtMs: 7000, renewAtMs: 6000 },
    { current: () => true, end: () => ended++ },
  );
  renewal.stop();
  mock.timers.tick(5000);
  assert.equal(ended, 0);
  assert.equal(renewal.count, 0);
  assert.equal(renewal.connectionLost(), false);
  renewal.start(undefined, { current: () => true, end: () => ended++ });
  assert.equal(renewal.times, undefined, 'a password that does not expire has no times');
});

test("VersionChoice: 'auto' offers 5 until a server refuses it, then 4 for that server only", () => {
  const choice = new VersionChoice(true, 5);
  const a = 'mqtt://a:1883';
  const b = 'mqtt://b:1883';
  assert.equal(choice.versionFor(a), 5);
  assert.equal(choice.refused(a, 5, new ConnectionRefusedError(0x05, a)), false, 'not authorized');
  const lateClose = new ConnectionLostError(a, false, false);
  assert.equal(choice.refused(a, 5, lateClose), false, 'closed by the server, not on CONNECT');
  const ourOwnClose = ConnectionLostError.failed(a, true, new Error('torn down here'));
  assert.equal(choice.refused(a, 5, ourOwnClose), false, 'closed on this side');
  assert.equal(choice.versionFor(a), 5);
  assert.equal(choice.refused(a, 5, new ConnectionRefusedError(0x84, a)), true);
  assert.equal(choice.versionFor(a), 4);
  assert.equal(choice.versionFor(b), 5);
  const silentClose = new ConnectionLostError(b, true, false);
  assert.equal(choice.refused(b, 4, silentClose), false, 'already 3.1.1');
  assert.equal(choice.refused(b, 5, silentClose), true, 'closed by the server on CONNECT');
  const c = 'mqtt://c:1883';
  assert.equal(choice.refused(c, 5, new ConnectionRefusedError(0x01, c)), true, '3.1.1 style');
  assert.equal(choice.versionFor(c), 4);
  assert.equal(choice.versionFor(b), 4);
  const fixed = new VersionChoice(false, 5);
  assert.equal(fixed.refused(a, 5, new ConnectionRefusedError(0x84, a)), false);
  assert.equal(fixed.versionFor(a), 5);
});

test('PacketHooks: counts, traces masked, shows listeners the packet without secrets; a throwing trace becomes a warning', async () => {
  const metrics = new MetricsCounters();
  const events = new Emitter<PacketEvents>();
  const traced: [string, Packet][] = [];
  let throwing = false;
  const hooks = new PacketHooks(
    metrics,
    (direction, packet) => {
      if (throwing) throw new Error('trace broke');
      traced.push([direction, packet]);
    },
    events,
  );
  const shown: Packet[] = [];
  events.on('packetsend', (packet) => shown.push(packet));
  const connect = {
    type: 'connect',
    protocolVersion: 4,
    clientId: 'c',
    clean: true,
    keepaliveSec: 60,
    username: 'u',
    password: new TextEncoder().encode('secret'),
  } as unknown as Packet & { password: Uint8Array };
  hooks.sending(connect);
  hooks.sent(connect, 30);
  hooks.received({ type: 'pingresp' } as Packet, 2, 0);
  assert.equal(shown.length, 1);
  assert.equal((shown[0] as { password?: unknown }).password, undefined, 'no password shown');
  assert.deepEqual(
    traced.map(([direction, packet]) => [direction, packet.type]),
    [
      ['out', 'connect'],
      ['in', 'pingresp'],
    ],
  );
  assert.notEqual((traced[0]![1] as { password?: unknown }).password, connect.password);
  assert.equal(metrics.packetsOut.connect, 1);
  assert.equal(metrics.bytesOut.connect, 30);
  assert.equal(metrics.packetsIn.pingresp, 1);
  assert.equal(metrics.bytesIn.pingresp, 2);
  throwing = true;
  const warned = new Promise<Error>((resolve) => {
    const listener = (warning: Error): void => {
      if (!warning.message.includes('the trace function threw')) return;
      process.off('warning', listener);
      resolve(warning);
    };
    process.on('warning', listener);
  });
  hooks.received({ type: 'pingresp' } as Packet, 2, 0);
  assert.equal(metrics.packetsIn.pingresp, 2, 'counted before the trace threw');
  assert.match((await warned).message, /courier-mqtt: the trace function threw: trace broke/);
});

test("WriteAhead: a tick's packets go out as one write, at once past 16 KiB, a large one as it is, in order", async () => {
  const writes: number[][] = [];
  const stream = {
    write(bytes: Uint8Array): boolean {
      writes.push([...bytes]);
      return true;
    },
    writableNeedDrain: false,
  } as unknown as ByteStream;
  const writer = new WriteAhead(new TrackedStore(memoryStore()), { storeFailed: () => undefined });
  writer.attach(stream);
  const endOfTick = (): Promise<void> => new Promise((resolve) => process.nextTick(resolve));

  writer.send(Uint8Array.of(1, 2));
  writer.send(Uint8Array.of(3));
  assert.equal(writes.length, 0, 'collected until the tick ends');
  await endOfTick();
  assert.deepEqual(writes, [[1, 2, 3]]);

  // 4 × 4,000 bytes wait; the fifth passes 16 KiB and all five go to the stream at once, so
  // its buffer (and writableNeedDrain, the back-pressure of QoS 0) sees them within the tick.
  writes.length = 0;
  for (let i = 0; i < 5; i++) writer.send(new Uint8Array(4000).fill(i));
  assert.deepEqual(
    writes.map((w) => w.length),
    [20_000],
  );
  assert.deepEqual([writes[0]![0], writes[0]![4000], writes[0]![19_999]], [0, 1, 4]);
  await endOfTick();
  assert.equal(writes.length, 1, 'nothing left for the end of the tick');

  // A packet over 4 KiB is not copied: what was collected goes first, then it as it is.
  writes.length = 0;
  writer.send(Uint8Array.of(9));
  writer.send(new Uint8Array(5000).fill(7));
  writer.send(Uint8Array.of(8));
  assert.deepEqual(
    writes.map((w) => w.length),
    [1, 5000],
  );
  // uncork() (what end and drop call before closing) writes what was collected.
  writer.uncork();
  assert.deepEqual(writes.at(-1), [8]);

  // A lost connection drops what was collected: the session resends what it must.
  writes.length = 0;
  writer.send(Uint8Array.of(5));
  writer.detach();
  await endOfTick();
  assert.equal(writes.length, 0);
});
