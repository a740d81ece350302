// Proves the test harness itself: real brokers on free ports, restart, failure reporting,
// and the fault proxy forwarding, stalling and cutting.
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { type Socket, connect as tcpConnect } from 'node:net';
import { test } from 'node:test';
import { startMosquitto } from './mosquitto.js';
import { freePort } from './ports.js';
import { startFaultProxy } from './proxy.js';
import { startRedis } from './redis.js';
import { within } from './within.js';

/** A hand-encoded MQTT 3.1.1 CONNECT, clean session, keep-alive 60, client id "h". */
const CONNECT = Buffer.from([
  0x10, 0x0d, 0x00, 0x04, 0x4d, 0x51, 0x54, 0x54, 0x04, 0x02, 0x00, 0x3c, 0x00, 0x01, 0x68,
]);
const CONNACK_OK = Buffer.from([0x20, 0x02, 0x00, 0x00]);

async function openSocket(port: number, host = '127.0.0.1'): Promise<Socket> {
  const socket = tcpConnect({ host, port });
  await once(socket, 'connect');
  return socket;
}

/** Reads exactly `n` bytes, or rejects after `timeoutMs`. */
function readBytes(socket: Socket, n: number, timeoutMs = 2_000): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    let got = Buffer.alloc(0);
    const timer = setTimeout(() => {
      socket.off('data', onData);
      reject(new Error(`timed out with ${got.length}/${n} bytes`));
    }, timeoutMs);
    const onData = (chunk: Buffer): void => {
      got = Buffer.concat([got, chunk]);
      if (got.length >= n) {
        clearTimeout(timer);
        socket.off('data', onData);
        resolve(got.subarray(0, n));
      }
    };
    socket.on('data', onData);
  });
}

async function mqttHandshake(port: number, host = '127.0.0.1'): Promise<Buffer> {
  const socket = await openSocket(port, host);
  try {
    socket.write(CONNECT);
    return await readBytes(socket, 4);
  } finally {
    socket.destroy();
  }
}

test('freePort returns a bindable port', async () => {
  const port = await freePort();
  assert.ok(port > 0 && port < 65536);
});

test('two brokers in parallel get different free ports and both answer CONNECT', async (t) => {
  const [a, b] = await Promise.all([startMosquitto(t), startMosquitto(t)]);
  assert.notEqual(a.port, b.port);
  assert.notEqual(a.port, 1883);
  assert.equal(a.url(), `mqtt://127.0.0.1:${a.port}`);
  assert.deepEqual(await mqttHandshake(a.port), CONNACK_OK);
  assert.deepEqual(await mqttHandshake(b.port), CONNACK_OK);
});

test('restart keeps the port; stop closes it; the log is kept', async (t) => {
  const broker = await startMosquitto(t, { persistence: true });
  await broker.restart();
  assert.deepEqual(await mqttHandshake(broker.port), CONNACK_OK);
  await broker.stop();
  await assert.rejects(openSocket(broker.port), { code: 'ECONNREFUSED' });
  assert.match(broker.log(), /mosquitto version 2/);
  broker.kill();
  await broker.restart();
  assert.deepEqual(await mqttHandshake(broker.port), CONNACK_OK);
});

test('an IPv6 listener is bracketed in the URL', async (t) => {
  const broker = await startMosquitto(t, { listeners: [{ host: '::1' }, {}] });
  assert.equal(broker.url(0, 'mqtts'), `mqtts://[::1]:${broker.ports[0]}`);
  assert.deepEqual(await mqttHandshake(broker.port, '::1'), CONNACK_OK);
  assert.deepEqual(await mqttHandshake(broker.ports[1] ?? 0), CONNACK_OK);
});

test('a bad config line fails fast with the broker log in the error', async (t) => {
  const started = Date.now();
  await assert.rejects(startMosquitto(t, { lines: ['no_such_option 1'] }), (err: Error) => {
    assert.match(err.message, /exited/);
    assert.match(err.message, /no_such_option/);
    return true;
  });
  assert.ok(Date.now() - started < 5_000);
});

test('anonymous clients are refused when allowAnonymous is false', async (t) => {
  const broker = await startMosquitto(t, { allowAnonymous: false, users: { u: 'p' } });
  // CONNACK return code 5: not authorized.
  assert.deepEqual(await mqttHandshake(broker.port), Buffer.from([0x20, 0x02, 0x00, 0x05]));
});

test('the fault proxy forwards, stalls, resumes, cuts and refuses', async (t) => {
  const broker = await startMosquitto(t);
  const proxy = await startFaultProxy(t, { targetHost: broker.host, targetPort: broker.port });
  assert.deepEqual(await mqttHandshake(proxy.port), CONNACK_OK);

  const socket = await openSocket(proxy.port);
  t.after(() => socket.destroy());
  proxy.stall(true);
  socket.write(CONNECT);
  await assert.rejects(readBytes(socket, 4, 300), /timed out with 0\/4/);
  assert.equal(socket.destroyed, false);
  proxy.stall(false);
  assert.deepEqual(await readBytes(socket, 4), CONNACK_OK);
  assert.equal(proxy.connections, 1);

  const errors: string[] = [];
  socket.on('error', (err: NodeJS.ErrnoException) => errors.push(err.code ?? err.message));
  // Not events.once: it would reject on the 'error' that precedes 'close'.
  const closed = new Promise((resolve) => socket.once('close', resolve));
  proxy.cutAll();
  await closed;
  assert.deepEqual(errors, ['ECONNRESET'], 'a cut is a reset, not a clean close');
  assert.equal(proxy.connections, 0);

  proxy.refuse(true);
  // The reset may arrive in the same tick as the connect: listen for it before connecting.
  const refused = tcpConnect({ host: '127.0.0.1', port: proxy.port });
  const refusedErrors: string[] = [];
  refused.on('error', (err: NodeJS.ErrnoException) => refusedErrors.push(err.code ?? ''));
  await new Promise((resolve) => refused.once('close', resolve));
  assert.deepEqual(refusedErrors, ['ECONNRESET']);
  proxy.refuse(false);
  assert.equal(proxy.accepted, 3);
});

test('the fault proxy adds latency and caps bandwidth', async (t) => {
  const broker = await startMosquitto(t);
  const proxy = await startFaultProxy(t, { targetHost: broker.host, targetPort: broker.port });
  proxy.setLatency(150);
  let started = Date.now();
  assert.deepEqual(await mqttHandshake(proxy.port), CONNACK_OK);
  assert.ok(Date.now() - started >= 290, 'latency applies in both directions');
  proxy.setLatency(0);
  proxy.setBandwidth(40);
  started = Date.now();
  // 15 bytes up at 40 B/s take ~375 ms.
  assert.deepEqual(await mqttHandshake(proxy.port), CONNACK_OK);
  assert.ok(Date.now() - started >= 300);
});

test('redis starts on a free port and answers PING', async (t) => {
  const redis = await startRedis(t);
  assert.notEqual(redis.port, 6379);
  const socket = await openSocket(redis.port);
  socket.write('PING\r\n');
  assert.equal((await readBytes(socket, 7)).toString(), '+PONG\r\n');
  socket.destroy();
});

test('the fault proxy cuts at random moments, bounded by maxCuts, until stopped', async (t) => {
  const broker = await startMosquitto(t);
  const proxy = await startFaultProxy(t, { targetHost: broker.host, targetPort: broker.port });
  const sockets: Socket[] = [];
  const resets: string[] = [];
  const reopen = async (): Promise<void> => {
    const socket = await openSocket(proxy.port);
    socket.on('error', (err: NodeJS.ErrnoException) => resets.push(err.code ?? err.message));
    socket.once('close', () => void reopen().catch(() => undefined));
    sockets.push(socket);
  };
  t.after(() => {
    for (const s of sockets) s.removeAllListeners('close').destroy();
  });
  await reopen();
  const stop = proxy.cutRandomly({ minMs: 10, maxMs: 30, rng: () => 0.5, maxCuts: 3 });
  // Each cut resets the open connection and the socket reopens: wait for the third reopening.
  const deadline = Date.now() + 10_000;
  while (!(resets.length >= 3 && proxy.accepted >= 4 && proxy.connections === 1)) {
    assert.ok(Date.now() < deadline, `3 cuts and reopenings (${resets.length} resets)`);
    await new Promise((r) => setTimeout(r, 10));
  }
  // Longer than maxMs: a fourth cut, were there one, would have come.
  await new Promise((r) => setTimeout(r, 60));
  assert.equal(stop(), 3, 'no more than maxCuts');
  assert.equal(resets.length, 3, 'each cut reset the open connection');
  assert.equal(proxy.connections, 1, 'after stopping, the reopened connection stays up');
  assert.throws(() => proxy.cutRandomly({ minMs: 5, maxMs: 1 }), RangeError);
});

test('within passes a settled value through and rejects, naming what, at its deadline', async (t) => {
  t.mock.timers.enable({ apis: ['setTimeout'] });
  assert.equal(await within(Promise.resolve('v'), 1000, 'a value'), 'v');
  await assert.rejects(within(Promise.reject(new Error('own')), 1000, 'a failure'), /^Error: own$/);
  const never = within(new Promise(() => {}), 1000, 'the event');
  let settled = false;
  never
    .catch(() => undefined)
    .finally(() => {
      settled = true;
    });
  const turn = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));
  t.mock.timers.tick(999);
  await turn();
  assert.equal(settled, false, 'not before the deadline');
  t.mock.timers.tick(1);
  await turn();
  assert.equal(settled, true, 'at the deadline');
  await assert.rejects(never, /^Error: the event: not within 1000 ms$/);
});
