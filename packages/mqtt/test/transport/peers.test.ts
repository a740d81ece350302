/**
 * Transports against real peers started here: TLS-PSK on Mosquitto, SNI and ALPN on a Node TLS
 * server that records what the client sent, IPv6 and DNS, WebSocket and secure WebSocket on an
 * embedded aedes broker, and the network failures in installer words.
 */
import assert from 'node:assert/strict';
import { createServer as createHttpServer } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import { createServer as createNetServer, type Server } from 'node:net';
import { test } from 'node:test';
import { createServer as createTlsServer } from 'node:tls';
import { inspect } from 'node:util';
import { Aedes } from 'aedes';
import { connect, type Message, MqttErrorCode } from 'courier-mqtt';
import { createWebSocketStream, WebSocketServer } from 'ws';
import { testCerts } from '../../../../test/helpers/certs.js';
import { startMosquitto } from '../../../../test/helpers/mosquitto.js';
import { NetworkError, openTransport, TlsError } from '../../src/transport/index.js';
import { CONNACK_ACCEPTED, mqttHandshake } from './raw.js';

const PSK_KEY = '5e3c1a2b4d6f8091a2b3c4d5e6f70819';

async function listening(
  server: Server | ReturnType<typeof createHttpServer>,
  host = '127.0.0.1',
): Promise<number> {
  await new Promise<void>((resolve) => server.listen(0, host, resolve));
  const address = server.address();
  return typeof address === 'object' && address !== null ? address.port : 0;
}

test('TLS-PSK with Mosquitto: the right key connects and the hint is read; wrong key and unknown identity fail', async (t) => {
  const broker = await startMosquitto(t, {
    listeners: [{ lines: ['psk_hint courier-hint', 'tls_version tlsv1.2'] }],
    psk: { 'device-1': PSK_KEY },
  });
  const base = {
    protocol: 'mqtts',
    host: '127.0.0.1',
    port: broker.port,
    connectTimeoutMs: 5000,
  } as const;
  const ok = await openTransport({ ...base, psk: { identity: 'device-1', key: PSK_KEY } });
  t.after(() => ok.stream.destroy());
  assert.equal(ok.pskHint, 'courier-hint');
  assert.deepEqual(await mqttHandshake(ok.stream), CONNACK_ACCEPTED);
  // The client over PSK, end to end.
  const client = await connect(broker.url(0, 'mqtts'), {
    psk: { identity: 'device-1', key: PSK_KEY },
    reconnect: false,
  });
  t.after(() => client.end({ force: true }));
  const sub = await client.subscribe('psk/#', { qos: 1 });
  await client.publish('psk/x', 'over PSK', { qos: 1 });
  const first = (await sub[Symbol.asyncIterator]().next()).value as Message;
  assert.equal(new TextDecoder().decode(first.payload), 'over PSK');

  const wrongKey = 'ffffffffffffffffffffffffffffffff';
  for (const psk of [
    { identity: 'device-1', key: wrongKey },
    { identity: 'nobody', key: PSK_KEY },
  ]) {
    const error = await openTransport({ ...base, psk }).then(
      (c) => {
        c.stream.destroy();
        return assert.fail('PSK handshake should fail');
      },
      (e: unknown) => e,
    );
    assert.ok(error instanceof TlsError, String(error));
    assert.match(
      error.message,
      /PSK identity rejected or key mismatch|closed the connection during the TLS handshake/,
    );
    for (const text of [String(error), JSON.stringify(error), inspect(error, { depth: 4 })]) {
      assert.ok(
        !text.includes(wrongKey) && !text.includes(PSK_KEY),
        'the key leaked into the error',
      );
    }
  }
});

test('an invalid PSK key is refused by name without echoing it', async () => {
  await assert.rejects(
    openTransport({
      protocol: 'mqtts',
      host: '127.0.0.1',
      port: 1,
      psk: { identity: 'x', key: 'zz-secret' },
    }),
    (e: unknown) => {
      assert.equal((e as { code?: string }).code, MqttErrorCode.INVALID_OPTION);
      assert.match(String(e), /psk\.key/);
      assert.doesNotMatch(String(e), /zz-secret/);
      return true;
    },
  );
});

test('SNI: the host name, or the endpoint name when connecting by IP; none for a bare IP', async (t) => {
  const certs = await testCerts();
  const seen: (string | false)[] = [];
  const server = createTlsServer({ cert: certs.server.cert, key: certs.server.key }, (socket) => {
    seen.push(socket.servername ?? false);
    socket.end();
  });
  const port = await listening(server);
  t.after(() => server.close());
  const tls = { ca: certs.ca.cert };
  const attempt = async (options: Parameters<typeof openTransport>[0]): Promise<void> => {
    const before = seen.length;
    const conn = await openTransport(options);
    // The server records the name once its side of the handshake completes.
    const deadline = Date.now() + 3000;
    while (seen.length === before && Date.now() < deadline)
      await new Promise((r) => setTimeout(r, 10));
    conn.stream.destroy();
  };
  await attempt({ protocol: 'mqtts', host: 'localhost', port, tls });
  await attempt({
    protocol: 'mqtts',
    host: '127.0.0.1',
    port,
    tls: { ...tls, servername: 'localhost' },
  });
  await attempt({ protocol: 'mqtts', host: '127.0.0.1', port, tls });
  assert.deepEqual(seen, ['localhost', 'localhost', false]);
});

test('ALPN: the negotiated protocol is the one asked for', async (t) => {
  const certs = await testCerts();
  const server = createTlsServer(
    { cert: certs.server.cert, key: certs.server.key, ALPNProtocols: ['x-amzn-mqtt-ca', 'mqtt'] },
    (socket) => socket.end(),
  );
  const port = await listening(server);
  t.after(() => server.close());
  const conn = await openTransport({
    protocol: 'mqtts',
    host: 'localhost',
    port,
    family: 4,
    tls: { ca: certs.ca.cert, alpn: ['x-amzn-mqtt-ca'] },
  });
  conn.stream.destroy();
  assert.equal(conn.alpnProtocol, 'x-amzn-mqtt-ca');
});

test('IPv6 loopback, DNS name localhost, and family forcing', async (t) => {
  const broker = await startMosquitto(t, { listeners: [{ host: '::1' }, { host: '127.0.0.1' }] });
  const v6 = await connect(`mqtt://[::1]:${broker.ports[0]}`, { reconnect: false });
  t.after(() => v6.end({ force: true }));
  assert.equal(v6.state.status, 'connected');
  const six = await openTransport({
    protocol: 'mqtt',
    host: '::1',
    port: broker.ports[0]!,
    family: 6,
  });
  t.after(() => six.stream.destroy());
  assert.equal(six.remoteAddress, '::1');
  assert.deepEqual(await mqttHandshake(six.stream), CONNACK_ACCEPTED);
  // A host name through DNS (this machine maps localhost to 127.0.0.1 only).
  const byName = await connect(`mqtt://localhost:${broker.ports[1]}`, {
    reconnect: false,
    family: 4,
  });
  t.after(() => byName.end({ force: true }));
  assert.equal(byName.state.status, 'connected');
  const four = await openTransport({
    protocol: 'mqtt',
    host: 'localhost',
    port: broker.ports[1]!,
    family: 4,
  });
  t.after(() => four.stream.destroy());
  assert.equal(four.remoteAddress, '127.0.0.1');
  await assert.rejects(
    openTransport({ protocol: 'mqtt', host: '127.0.0.1', port: broker.ports[1]!, family: 6 }),
    /IPv4 address but family 6/,
  );
});

test('network failures in installer words: refused, unresolvable, timed out', async (t) => {
  const closed = createNetServer();
  const port = await listening(closed);
  await new Promise<void>((r) => closed.close(() => r()));
  await assert.rejects(
    openTransport({ protocol: 'mqtt', host: '127.0.0.1', port }),
    (e: unknown) => {
      assert.ok(e instanceof NetworkError);
      assert.match(e.message, new RegExp(`connection refused by 127\\.0\\.0\\.1:${port}`));
      return true;
    },
  );
  await assert.rejects(
    openTransport({ protocol: 'mqtt', host: 'no-such-host.invalid', port: 1883 }),
    (e: unknown) =>
      e instanceof NetworkError && /DNS lookup failed for no-such-host\.invalid/.test(e.message),
  );
  // A server that accepts TCP but never answers the TLS handshake.
  const silent = createNetServer(() => undefined);
  const silentPort = await listening(silent);
  t.after(() => silent.close());
  const started = Date.now();
  await assert.rejects(
    openTransport({
      protocol: 'mqtts',
      host: '127.0.0.1',
      port: silentPort,
      connectTimeoutMs: 300,
    }),
    (e: unknown) =>
      e instanceof NetworkError &&
      e.code === MqttErrorCode.CONNECT_TIMEOUT &&
      /timed out after/.test(e.message),
  );
  assert.ok(Date.now() - started < 3000);
});

async function aedesOverWebSocket(t: { after(fn: () => unknown): void }, secure: boolean) {
  const broker = await Aedes.createBroker();
  const certs = await testCerts();
  const http = secure
    ? createHttpsServer({ cert: certs.server.cert, key: certs.server.key })
    : createHttpServer();
  const protocols: string[] = [];
  const paths: string[] = [];
  const wss = new WebSocketServer({
    server: http,
    handleProtocols: (offered) => {
      protocols.push(...offered);
      return offered.has('mqtt') ? 'mqtt' : false;
    },
  });
  wss.on('connection', (ws, request) => {
    paths.push(request.url ?? '');
    broker.handle(createWebSocketStream(ws) as never);
  });
  const port = await listening(http);
  t.after(async () => {
    wss.close();
    http.close();
    await new Promise<void>((r) => broker.close(() => r()));
  });
  return { port, protocols, paths, ca: certs.ca.cert };
}

test('WebSocket: ws:// with the mqtt subprotocol and a path, through the client', async (t) => {
  const peer = await aedesOverWebSocket(t, false);
  const client = await connect(`ws://127.0.0.1:${peer.port}/mqtt-ws`, {
    reconnect: false,
    connectTimeoutMs: 5000,
  });
  t.after(() => client.end({ force: true }));
  const sub = await client.subscribe('ws/#', { qos: 1 });
  await client.publish('ws/x', 'over WebSocket', { qos: 1 });
  const first = (await sub[Symbol.asyncIterator]().next()).value as Message;
  assert.equal(new TextDecoder().decode(first.payload), 'over WebSocket');
  assert.deepEqual(peer.protocols, ['mqtt']);
  assert.deepEqual(peer.paths, ['/mqtt-ws']);
  // A large message crosses several frames' worth of bytes intact.
  const big = new Uint8Array(200_000).map((_, i) => i & 0xff);
  await client.publish('ws/big', big, { qos: 1 });
  const second = (await sub[Symbol.asyncIterator]().next()).value as Message;
  assert.deepEqual(Buffer.from(second.payload), Buffer.from(big));
});

test('secure WebSocket: wss:// with the TLS options', async (t) => {
  const peer = await aedesOverWebSocket(t, true);
  const client = await connect(`wss://localhost:${peer.port}/mqtt`, {
    reconnect: false,
    connectTimeoutMs: 5000,
    family: 4,
    tls: { ca: peer.ca },
  });
  t.after(() => client.end({ force: true }));
  await client.publish('wss/x', 'secure', { qos: 1 });
  assert.deepEqual(peer.protocols, ['mqtt']);
  assert.deepEqual(peer.paths, ['/mqtt']);
  // Without the CA the TLS layer refuses, in words.
  await assert.rejects(
    connect(`wss://localhost:${peer.port}/mqtt`, { reconnect: false, family: 4 }),
    (e: unknown) => e instanceof TlsError,
  );
});
