/**
 * The RFC 6455 client against the `ws` server: subprotocol and extra headers in the upgrade,
 * masked frames out (ws rejects unmasked client frames), fragmented frames in reassembled as
 * one byte stream, ping answered by pong, and the close handshake.
 */
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { connect as netConnect } from 'node:net';
import { test } from 'node:test';
import { WebSocketServer } from 'ws';
import { openWebSocket } from '../../src/transport/websocket.js';

test('WebSocket framing: headers, fragmentation, ping/pong, close', async (t) => {
  const wss = new WebSocketServer({
    host: '127.0.0.1',
    port: 0,
    handleProtocols: (p) => (p.has('mqtt') ? 'mqtt' : false),
  });
  t.after(() => wss.close());
  await once(wss, 'listening');
  const { port } = wss.address() as { port: number };
  const seen: {
    protocol?: string;
    header?: string;
    url?: string;
    pong: boolean;
    received: Buffer[];
    closeCode?: number;
  } = {
    pong: false,
    received: [],
  };
  wss.on('connection', (ws, req) => {
    seen.protocol = ws.protocol;
    seen.header = String(req.headers['x-device']);
    seen.url = req.url ?? '';
    ws.on('pong', () => {
      seen.pong = true;
    });
    ws.on('close', (code) => {
      seen.closeCode = code;
    });
    ws.on('message', (data) => {
      seen.received.push(data as Buffer);
      // Answer in two fragments, then ping.
      ws.send(Buffer.from('hel'), { binary: true, fin: false });
      ws.send(Buffer.from('lo'), { binary: true, fin: true });
      ws.ping();
    });
  });

  const socket = netConnect(port, '127.0.0.1');
  await once(socket, 'connect');
  const stream = await openWebSocket(socket, {
    host: '127.0.0.1',
    port,
    path: '/mqtt-x',
    secure: false,
    headers: { 'X-Device': 'd1' },
    timeoutMs: 2000,
  });
  stream.write(Buffer.from([1, 2, 3]));
  const chunks: Buffer[] = [];
  while (Buffer.concat(chunks).length < 5) {
    const [chunk] = (await once(stream, 'data')) as [Buffer];
    chunks.push(chunk);
  }
  assert.equal(Buffer.concat(chunks).toString(), 'hello');
  assert.equal(seen.protocol, 'mqtt');
  assert.equal(seen.header, 'd1');
  assert.equal(seen.url, '/mqtt-x');
  assert.deepEqual(
    seen.received.map((b) => [...b]),
    [[1, 2, 3]],
  );
  // Polled until the server has seen them, with a deadline far beyond any wait a loaded
  // machine imposes (a fixed number of short waits fails when the machine is busy).
  const until = async (done: () => boolean): Promise<void> => {
    const deadline = Date.now() + 10_000;
    while (!done() && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
  };
  await until(() => seen.pong);
  assert.ok(seen.pong, 'ping was answered with pong');
  stream.end();
  await until(() => seen.closeCode !== undefined);
  assert.equal(seen.closeCode, 1000);
});
