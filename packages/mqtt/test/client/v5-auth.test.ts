/**
 * MQTT 5.0 enhanced authentication (§4.12) through the client, against the scripted broker
 * playing a SCRAM-SHA-256 server written from RFC 5802 / RFC 7677 (test/auth/scram-server.ts,
 * never from our client): challenge rounds on connect, a wrong password, a server that cannot
 * sign, re-authentication, refusals, a broker that never ends the exchange, and the spec's
 * rules on the method [MQTT-4.12.0-5] [MQTT-4.12.0-7] [MQTT-4.12.1-1] [MQTT-4.12.1-2].
 */
import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import { test } from 'node:test';
import {
  AuthenticationError,
  type Authenticator,
  type Client,
  type ClientOptions,
  ConnectionRefusedError,
  connect,
  createClient,
  InvalidOptionError,
  MAX_AUTH_ROUNDS,
  type Packet,
  ProtocolError,
  SCRAM_SHA_256,
  ScramSha256Authenticator,
  ServerDisconnectError,
} from 'courier-mqtt';
import {
  type AuthPacket,
  type ConnectPacket,
  type DisconnectPacket,
  encode,
} from 'courier-mqtt/packet';
import {
  type FakeBroker,
  type FakeConnection,
  startFakeBroker,
} from '../../../../test/helpers/fake-broker.js';
import { ScriptedScramServer } from '../auth/scram-server.js';
import { refusal, stateWhere } from './fixture.js';

const encodeV5 = (packet: Packet): Uint8Array => encode(packet, 5);
const text = (data: Uint8Array | undefined): string => new TextDecoder().decode(data);
const bytes = (value: string): Uint8Array => new TextEncoder().encode(value);

const USER = 'sensor-7';
const PASSWORD = 'correct horse battery staple';

function scramServer(): ScriptedScramServer {
  const server = new ScriptedScramServer();
  server.addUser(USER, PASSWORD);
  return server;
}

function scram(password = PASSWORD): ScramSha256Authenticator {
  return new ScramSha256Authenticator({ username: USER, password });
}

/**
 * The authenticator with an asynchronous `success()`, as a method verifying over the network
 * or in a worker would have: what the server sends after its CONNACK arrives while the
 * verification runs, and must wait for it.
 */
function verifiedLater(inner: Authenticator): Authenticator {
  return {
    method: inner.method,
    start: () => inner.start(),
    challenge: (data) => inner.challenge(data),
    success: async (data) => {
      await null;
      await inner.success(data);
    },
    reauthenticate: () => inner.reauthenticate(),
  };
}

/** Options of a 5.0 client with `authenticator`; backoff waits told apart by size. */
function options(authenticator: Authenticator, extra: ClientOptions = {}): ClientOptions {
  return {
    protocolVersion: 5,
    authenticator,
    connectTimeoutMs: 5000,
    reconnect: { minDelayMs: 10, maxDelayMs: 40, jitter: 0, refusedDelayMs: 60_000 },
    ...extra,
  };
}

const auth = (reasonCode: number, data?: Uint8Array, method = SCRAM_SHA_256): AuthPacket => ({
  type: 'auth',
  reasonCode,
  properties: {
    authenticationMethod: method,
    ...(data === undefined ? {} : { authenticationData: data }),
  },
});

/** The broker's side of a SCRAM connect up to the client-final; returns its final answer. */
async function scramRounds(
  c: FakeConnection,
  server: ScriptedScramServer,
): Promise<{ connect: ConnectPacket; serverFinal: Uint8Array }> {
  const packet = (await c.next('connect')) as ConnectPacket;
  assert.equal(packet.properties?.authenticationMethod, SCRAM_SHA_256);
  c.send(auth(0x18, server.first(packet.properties?.authenticationData)));
  const answer = (await c.next('auth')) as AuthPacket;
  // [MQTT-4.12.0-3] The client answers with AUTH 0x18 and the same method [MQTT-4.12.0-5].
  assert.equal(answer.reasonCode, 0x18);
  assert.equal(answer.properties?.authenticationMethod, SCRAM_SHA_256);
  return { connect: packet, serverFinal: server.final(answer.properties?.authenticationData) };
}

/** Every packet the client showed to listeners, to check no secret is in them. */
function watch(client: Client): Packet[] {
  const seen: Packet[] = [];
  client.on('packetsend', (p) => seen.push(p));
  client.on('packetreceive', (p) => seen.push(p));
  return seen;
}

/** Connects a SCRAM client through a full exchange; the broker then holds the connection. */
async function scramConnected(
  t: { after(fn: () => unknown): void },
  broker: FakeBroker,
  server: ScriptedScramServer,
  extra: ClientOptions = {},
): Promise<{ client: Client; c: FakeConnection }> {
  const client = createClient(broker.url, options(scram(), extra));
  t.after(() => client.end({ force: true }));
  const c = await broker.accept();
  const { serverFinal } = await scramRounds(c, server);
  c.send({
    type: 'connack',
    sessionPresent: false,
    returnCode: 0,
    properties: { authenticationMethod: SCRAM_SHA_256, authenticationData: serverFinal },
  });
  await stateWhere(client, (s) => s.status === 'connected');
  return { client, c };
}

test('SCRAM-SHA-256 on connect: client-first in CONNECT, one AUTH round, the server verified before anything is used', async (t) => {
  const broker = await startFakeBroker(t, { protocolVersion: 5 });
  const server = scramServer();
  const client = createClient(broker.url, options(verifiedLater(scram())));
  t.after(() => client.end({ force: true }));
  const seen = watch(client);
  const messages: string[] = [];
  client.on('message', (m) => messages.push(m.topic));
  const c = await broker.accept();
  const { connect: packet, serverFinal } = await scramRounds(c, server);
  assert.match(text(packet.properties?.authenticationData), /^n,,n=sensor-7,r=/);
  // CONNACK and a PUBLISH in one write: the PUBLISH must wait for the verification.
  c.socket.write(
    Buffer.concat([
      encodeV5({
        type: 'connack',
        sessionPresent: false,
        returnCode: 0,
        properties: { authenticationMethod: SCRAM_SHA_256, authenticationData: serverFinal },
      }),
      encodeV5({
        type: 'publish',
        topic: 'after/connack',
        payload: bytes('x'),
        qos: 0,
        retain: false,
        dup: false,
      }),
    ]),
  );
  const state = await stateWhere(client, (s) => s.status === 'connected');
  assert.equal(state.lastError, undefined);
  const published = client.publish('t/1', 'hello', { qos: 1 });
  const publish = (await c.next('publish')) as { packetId: number };
  c.send({ type: 'puback', packetId: publish.packetId });
  await published;
  assert.deepEqual(messages, ['after/connack']);
  // Masked: no Authentication Data (nor password) reaches a listener.
  const shown = JSON.stringify(seen, (_k, v: unknown) => (v instanceof Uint8Array ? [...v] : v));
  assert.ok(seen.some((p) => p.type === 'auth'));
  assert.doesNotMatch(shown, /authenticationData/);
  assert.ok(
    seen.some((p) => p.type === 'connect' && p.properties?.authenticationMethod === SCRAM_SHA_256),
  );
});

test('a wrong password: CONNACK 0x87 is an AuthenticationError, and the next attempt waits refusedDelayMs', async (t) => {
  const broker = await startFakeBroker(t, { protocolVersion: 5 });
  const server = scramServer();
  const client = createClient(broker.url, options(scram('wrong password')));
  t.after(() => client.end({ force: true }));
  const c = await broker.accept();
  const { serverFinal } = await scramRounds(c, server);
  assert.equal(text(serverFinal), 'e=invalid-proof');
  // A server may carry its error in the refusal's data: it must not show in our error.
  c.send({
    type: 'connack',
    sessionPresent: false,
    returnCode: 0x87,
    properties: {
      authenticationMethod: SCRAM_SHA_256,
      authenticationData: serverFinal,
      reasonString: 'bad proof',
    },
  });
  const state = await stateWhere(client, (s) => s.status === 'reconnect-wait');
  const error = state.lastError;
  assert.ok(error instanceof AuthenticationError, String(error));
  assert.equal(error.method, SCRAM_SHA_256);
  assert.ok(error.cause instanceof ConnectionRefusedError);
  assert.equal(error.cause.returnCode, 0x87);
  assert.match(error.message, /Not authorized \(CONNACK reason code 0x87\): bad proof/);
  assert.doesNotMatch(error.message, /invalid-proof|p=|r=/);
  // Bad credentials are not fixed by reconnecting fast: not minDelayMs (10) but refusedDelayMs.
  assert.equal(state.retryInMs, 60_000);
});

test('CONNACK 0x8C Bad authentication method is an AuthenticationError too', async (t) => {
  const broker = await startFakeBroker(t, { protocolVersion: 5 });
  const attempt = connect(broker.url, options(scram(), { reconnect: false }));
  const c = await broker.accept();
  await c.next('connect');
  c.send({ type: 'connack', sessionPresent: false, returnCode: 0x8c });
  const error = await refusal(attempt);
  assert.ok(error instanceof AuthenticationError, String(error));
  assert.match(error.message, /Bad authentication method/);
});

test('a server that cannot sign: CONNACK 0 with a forged server signature is refused, DISCONNECT 0x87, nothing delivered', async (t) => {
  const broker = await startFakeBroker(t, { protocolVersion: 5 });
  const server = scramServer();
  const client = createClient(broker.url, options(verifiedLater(scram())));
  t.after(() => client.end({ force: true }));
  const messages: string[] = [];
  client.on('message', (m) => messages.push(m.topic));
  const c = await broker.accept();
  const { serverFinal } = await scramRounds(c, server);
  assert.match(text(serverFinal), /^v=/);
  const forged = createHmac('sha256', 'a guess').update(text(serverFinal)).digest('base64');
  c.socket.write(
    Buffer.concat([
      encodeV5({
        type: 'connack',
        sessionPresent: false,
        returnCode: 0,
        properties: {
          authenticationMethod: SCRAM_SHA_256,
          authenticationData: bytes(`v=${forged}`),
        },
      }),
      encodeV5({
        type: 'publish',
        topic: 'impostor',
        payload: bytes('x'),
        qos: 0,
        retain: false,
        dup: false,
      }),
    ]),
  );
  const disconnect = (await c.next('disconnect')) as DisconnectPacket;
  assert.equal(disconnect.reasonCode, 0x87);
  const state = await stateWhere(client, (s) => s.status === 'reconnect-wait');
  assert.ok(state.lastError instanceof AuthenticationError, String(state.lastError));
  assert.equal(state.lastError.field, 'server-final-message.v');
  assert.equal(state.retryInMs, 60_000);
  assert.deepEqual(messages, []);
});

test('re-authentication: AUTH 0x19, a round, AUTH 0x00 verified; publishing goes on meanwhile', async (t) => {
  const broker = await startFakeBroker(t, { protocolVersion: 5 });
  const server = scramServer();
  const { client, c } = await scramConnected(t, broker, server);
  for (let round = 0; round < 2; round++) {
    const done = client.reauthenticate();
    // A second call while one runs is the same exchange.
    assert.equal(client.reauthenticate(), done);
    const start = (await c.next('auth')) as AuthPacket;
    // [MQTT-4.12.1-1] 0x19 with the CONNECT's method.
    assert.equal(start.reasonCode, 0x19);
    assert.equal(start.properties?.authenticationMethod, SCRAM_SHA_256);
    c.send(auth(0x18, server.first(start.properties?.authenticationData)));
    const answer = (await c.next('auth')) as AuthPacket;
    assert.equal(answer.reasonCode, 0x18);
    const published = client.publish('during/reauth', 'x', { qos: 1 });
    const publish = (await c.next('publish')) as { packetId: number };
    c.send({ type: 'puback', packetId: publish.packetId });
    await published;
    c.send(auth(0x00, server.final(answer.properties?.authenticationData)));
    await done;
  }
  assert.equal(client.state.status, 'connected');
  assert.equal(server.nonces.length, 3);
});

test('re-authentication against an impostor or a refusing server rejects with an AuthenticationError and closes the connection', async (t) => {
  const broker = await startFakeBroker(t, { protocolVersion: 5 });
  const server = scramServer();
  const { client, c } = await scramConnected(t, broker, server);
  // A forged AUTH 0x00.
  const done = client.reauthenticate();
  const start = (await c.next('auth')) as AuthPacket;
  c.send(auth(0x18, server.first(start.properties?.authenticationData)));
  await c.next('auth');
  c.send(auth(0x00, bytes(`v=${Buffer.alloc(32).toString('base64')}`)));
  const error = await done.then(
    () => assert.fail('verified'),
    (e: unknown) => e,
  );
  assert.ok(error instanceof AuthenticationError, String(error));
  assert.equal(error.field, 'server-final-message.v');
  // [MQTT-4.12.1-2] DISCONNECT, then the connection closes; the client reconnects later.
  assert.equal(((await c.next('disconnect')) as DisconnectPacket).reasonCode, 0x87);
  const state = await stateWhere(client, (s) => s.status === 'reconnect-wait');
  assert.ok(state.lastError instanceof AuthenticationError);
  assert.equal(state.retryInMs, 60_000);

  // The server refuses with DISCONNECT 0x87.
  const second = await scramConnected(t, broker, server);
  const refused = second.client.reauthenticate();
  await second.c.next('auth');
  second.c.send({ type: 'disconnect', reasonCode: 0x87, properties: { reasonString: 'revoked' } });
  const refusal = await refused.then(
    () => assert.fail('verified'),
    (e: unknown) => e,
  );
  assert.ok(refusal instanceof AuthenticationError, String(refusal));
  assert.ok(refusal.cause instanceof ServerDisconnectError);
  assert.match(refusal.message, /revoked/);
});

test('a broker that never ends the exchange: endless AUTH 0x18 rounds end after MAX_AUTH_ROUNDS; silence during a re-authentication times out', async (t) => {
  const broker = await startFakeBroker(t, { protocolVersion: 5 });
  let challenges = 0;
  const endless: Authenticator = {
    method: 'ECHO',
    start: () => bytes('hello'),
    challenge: () => {
      challenges++;
      return bytes('again');
    },
    success: () => undefined,
    reauthenticate: () => bytes('again'),
  };
  const client = createClient(broker.url, options(endless));
  t.after(() => client.end({ force: true }));
  const c = await broker.accept();
  await c.next('connect');
  // Each round answered, then one more asked for: refused with DISCONNECT 0x87.
  for (let round = 0; round < MAX_AUTH_ROUNDS; round++) {
    c.send(auth(0x18, bytes('more'), 'ECHO'));
    assert.equal(((await c.next('auth')) as AuthPacket).reasonCode, 0x18);
  }
  c.send(auth(0x18, bytes('more'), 'ECHO'));
  assert.equal(((await c.next('disconnect')) as DisconnectPacket).reasonCode, 0x87);
  assert.equal(c.received.filter((p) => p.type === 'auth').length, MAX_AUTH_ROUNDS);
  assert.equal(challenges, MAX_AUTH_ROUNDS);
  const state = await stateWhere(client, (s) => s.status === 'reconnect-wait');
  assert.ok(state.lastError instanceof AuthenticationError);
  assert.match(state.lastError.message, /more than 10 rounds/);

  // Re-authentication with a server that never answers: bounded by connectTimeoutMs.
  const quiet = createClient(broker.url, options(endless, { connectTimeoutMs: 300 }));
  t.after(() => quiet.end({ force: true }));
  const q = await broker.accept();
  await q.next('connect');
  q.send({
    type: 'connack',
    sessionPresent: false,
    returnCode: 0,
    properties: { authenticationMethod: 'ECHO' },
  });
  await stateWhere(quiet, (s) => s.status === 'connected');
  const error = await quiet.reauthenticate().then(
    () => assert.fail('ended'),
    (e: unknown) => e,
  );
  assert.ok(error instanceof AuthenticationError);
  assert.match(error.message, /not completed .* within 300 ms/);
  assert.equal(((await q.next('disconnect')) as DisconnectPacket).reasonCode, 0x87);
});

test('an authenticator that throws ends the exchange with DISCONNECT 0x87; its error is the lastError', async (t) => {
  const broker = await startFakeBroker(t, { protocolVersion: 5 });
  const failing: Authenticator = {
    method: 'X-TOKEN',
    start: () => undefined,
    challenge: () => Promise.reject(new AuthenticationError('X-TOKEN', 'token expired')),
    success: () => undefined,
    reauthenticate: () => undefined,
  };
  const client = createClient(broker.url, options(failing));
  t.after(() => client.end({ force: true }));
  const c = await broker.accept();
  const packet = (await c.next('connect')) as ConnectPacket;
  // No initial data: the method alone [§3.1.2.11.9].
  assert.deepEqual(packet.properties, { authenticationMethod: 'X-TOKEN' });
  c.send(auth(0x18, undefined, 'X-TOKEN'));
  assert.equal(((await c.next('disconnect')) as DisconnectPacket).reasonCode, 0x87);
  const state = await stateWhere(client, (s) => s.status === 'reconnect-wait');
  assert.ok(state.lastError instanceof AuthenticationError);
  assert.match(state.lastError.message, /token expired/);
});

test('protocol rules: the method must match [MQTT-4.12.0-5]; no AUTH either way without a method [MQTT-4.12.0-6] [MQTT-4.12.0-7]; only when connected', async (t) => {
  const broker = await startFakeBroker(t, { protocolVersion: 5 });
  // An AUTH with another method.
  const a = refusal(connect(broker.url, options(scram(), { reconnect: false })));
  const c1 = await broker.accept();
  await c1.next('connect');
  c1.send(auth(0x18, bytes('r=x'), 'PLAIN'));
  assert.equal(((await c1.next('disconnect')) as DisconnectPacket).reasonCode, 0x82);
  const e1 = await a;
  assert.ok(e1 instanceof ProtocolError && e1.rule === 'MQTT-4.12.0-5', String(e1));

  // A successful CONNACK without the method.
  const b = refusal(connect(broker.url, options(scram(), { reconnect: false })));
  const c2 = await broker.accept();
  const { serverFinal } = await scramRounds(c2, scramServer());
  assert.match(text(serverFinal), /^v=|^e=/);
  c2.send({ type: 'connack', sessionPresent: false, returnCode: 0 });
  const e2 = await b;
  assert.ok(e2 instanceof ProtocolError && e2.rule === 'MQTT-4.12.0-5', String(e2));

  // AUTH 0x00 in the middle of the connect (the connect ends with CONNACK).
  const d = refusal(connect(broker.url, options(scram(), { reconnect: false })));
  const c3 = await broker.accept();
  await c3.next('connect');
  c3.send(auth(0x00));
  const e3 = await d;
  assert.ok(e3 instanceof ProtocolError, String(e3));

  // No authenticator: reauthenticate() is refused without sending anything.
  const plain = connect(broker.url, { protocolVersion: 5, reconnect: false });
  const c4 = await broker.accept();
  await c4.next('connect');
  c4.send({ type: 'connack', sessionPresent: false, returnCode: 0 });
  const client = await plain;
  t.after(() => client.end({ force: true }));
  await assert.rejects(
    client.reauthenticate(),
    (e: unknown) => e instanceof InvalidOptionError && e.field === 'authenticator',
  );
  assert.ok(c4.received.every((p) => p.type !== 'auth'));
  // ... and an AUTH from the server is a protocol error [MQTT-4.12.0-6], as is a method in
  // the CONNACK of a CONNECT that had none.
  c4.send(auth(0x18, bytes('x')));
  assert.equal(((await c4.next('disconnect')) as DisconnectPacket).reasonCode, 0x82);
  const lost = await stateWhere(client, (s) => s.status !== 'connected');
  assert.ok(lost.lastError instanceof ProtocolError && lost.lastError.rule === 'MQTT-4.12.0-6');
  const withMethod = refusal(connect(broker.url, { protocolVersion: 5, reconnect: false }));
  const c5 = await broker.accept();
  await c5.next('connect');
  c5.send({
    type: 'connack',
    sessionPresent: false,
    returnCode: 0,
    properties: { authenticationMethod: SCRAM_SHA_256 },
  });
  const e5 = await withMethod;
  assert.ok(e5 instanceof ProtocolError && e5.rule === 'MQTT-4.12.0-6', String(e5));

  // Not connected yet.
  const early = createClient(broker.url, options(scram()));
  t.after(() => early.end({ force: true }));
  await assert.rejects(early.reauthenticate(), AuthenticationError);
});
