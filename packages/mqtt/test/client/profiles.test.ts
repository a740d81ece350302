// Platform profiles: every documented rule refused with its typed error (at option time
// with the field named, or when the operation is called, before the wire), and the clients
// against emulators written from AWS's and Microsoft's documents: ALPN and SNI on the
// AWS-like endpoint, subscribes split in packets of 8, the Azure SAS token verified and
// renewed before it expires without a lost message.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { createServer as createTlsServer } from 'node:tls';
import {
  azureIotHub,
  azureIotHubSas,
  type Client,
  type ClientOptions,
  type ClientState,
  ConnectionRefusedError,
  connect,
  InvalidOptionError,
  ProfileViolationError,
  resolveOptions,
} from 'courier-mqtt';
import { encode, type Packet, Parser } from 'courier-mqtt/packet';
import { type AwsIotEmulator, startAwsIotEmulator } from '../../../../test/helpers/aws-iot.js';
import {
  type AzureIotHubEmulator,
  startAzureIotHubEmulator,
  verifySas,
} from '../../../../test/helpers/azure-iot-hub.js';
import { type TestCerts, testCerts } from '../../../../test/helpers/certs.js';

let certs: TestCerts;
let aws: AwsIotEmulator;
let azure: AzureIotHubEmulator;
const DEVICE = 'pump-7';
// A 32-byte key, as IoT Hub issues them, base64.
const KEY = Buffer.from('0123456789abcdef0123456789abcdef').toString('base64');

before(async () => {
  certs = await testCerts();
  aws = await startAwsIotEmulator(undefined, certs);
  azure = await startAzureIotHubEmulator(undefined, certs, { [DEVICE]: KEY }, 'localhost');
});
after(async () => {
  await azure?.close();
  await aws?.close();
  await aws?.broker.stop();
});

function violates(
  run: () => unknown,
  profile: string,
  rule: string,
  field?: string,
): ProfileViolationError {
  let caught: unknown;
  try {
    run();
  } catch (error) {
    caught = error;
  }
  assert.ok(caught instanceof ProfileViolationError, `${rule}: got ${String(caught)}`);
  assert.equal(caught.code, 'MQTT_PROFILE_VIOLATION');
  assert.equal(caught.profile, profile);
  assert.equal(caught.rule, rule);
  assert.equal(caught.field, field);
  assert.match(caught.message, new RegExp(`rule ${rule}`));
  return caught;
}

async function rejects(
  promise: Promise<unknown>,
  profile: string,
  rule: string,
): Promise<ProfileViolationError> {
  const error = await promise.then(
    () => assert.fail(`${rule}: resolved`),
    (e: unknown) => e,
  );
  assert.ok(error instanceof ProfileViolationError, `${rule}: got ${String(error)}`);
  assert.equal(error.profile, profile);
  assert.equal(error.rule, rule);
  return error;
}

const EXOSITE = 'mqtts://x2lmj5npsktbuik9.m2.exosite.io:8883';
const AWS = 'mqtts://abc123-ats.iot.eu-west-1.amazonaws.com:8883';
const AZURE_HOST = 'myhub.azure-devices.net';
const AZURE_USER = `${AZURE_HOST}/${DEVICE}/?api-version=2021-04-12`;

test('option time: each profile refuses what its platform documents it refuses, naming the field', () => {
  // Exosite Murano: TLS with SNI, Will QoS 0 and not retained.
  const exosite = (url: string, o: ClientOptions) =>
    resolveOptions(url, { profile: 'exosite', ...o });
  violates(() => exosite('mqtt://x.m2.exosite.io:1883', {}), 'exosite', 'tls', 'url');
  violates(() => exosite('mqtts://127.0.0.1:8883', {}), 'exosite', 'sni', 'tls.servername');
  violates(
    () => exosite(EXOSITE, { will: { topic: 'w', payload: 'x', qos: 1 } }),
    'exosite',
    'will-qos',
    'will.qos',
  );
  violates(
    () => exosite(EXOSITE, { will: { topic: 'w', payload: 'x', retain: true } }),
    'exosite',
    'will-retain',
    'will.retain',
  );
  violates(
    () => exosite(EXOSITE, { servers: ['mqtt://backup.m2.exosite.io'] }),
    'exosite',
    'tls',
    'servers[0].url',
  );
  exosite('mqtts://127.0.0.1:8883', { tls: { servername: 'x.m2.exosite.io' } });

  // AWS IoT Core: keep-alive 30..1200, client id ≤ 128 bytes, ≤ 100 in flight, TLS.
  const aws = (o: ClientOptions) => resolveOptions(AWS, { profile: 'aws-iot', ...o });
  violates(() => aws({ keepaliveSec: 1201 }), 'aws-iot', 'keepalive', 'keepaliveSec');
  violates(() => aws({ keepaliveSec: 0 }), 'aws-iot', 'keepalive', 'keepaliveSec');
  violates(() => aws({ clientId: 'é'.repeat(65) }), 'aws-iot', 'client-id-size', 'clientId');
  violates(() => aws({ maxInflight: 101 }), 'aws-iot', 'inflight', 'maxInflight');
  violates(
    () => aws({ will: { topic: 'w', payload: 'x', qos: 2 } }),
    'aws-iot',
    'will-qos',
    'will.qos',
  );
  violates(
    () => resolveOptions('mqtt://abc.iot.eu-west-1.amazonaws.com', { profile: 'aws-iot' }),
    'aws-iot',
    'tls',
    'url',
  );
  assert.equal(aws({ clientId: 'c'.repeat(128), keepaliveSec: 1200 }).maxInflight, 100);
  assert.equal(aws({ maxInflight: 20 }).maxInflight, 20);

  // Azure IoT Hub: the user name names the hub and the device (the client id), no retained Will.
  const azure = (o: ClientOptions) =>
    resolveOptions(`mqtts://${AZURE_HOST}:8883`, {
      profile: 'azure-iot-hub',
      clientId: DEVICE,
      username: AZURE_USER,
      password: 'SharedAccessSignature sr=x&sig=y&se=1',
      ...o,
    });
  azure({});
  violates(() => azure({ username: 'pump-7' }), 'azure-iot-hub', 'username', 'username');
  violates(() => azure({ clientId: 'other' }), 'azure-iot-hub', 'username', 'username');
  violates(
    () =>
      azure({ will: { topic: `devices/${DEVICE}/messages/events/`, payload: 'x', retain: true } }),
    'azure-iot-hub',
    'will-retain',
    'will.retain',
  );
  violates(
    () => azure({ will: { topic: 'elsewhere', payload: 'x' } }),
    'azure-iot-hub',
    'topic',
    'will.topic',
  );

  // An unknown profile is an invalid option.
  assert.throws(
    () => resolveOptions(AWS, { profile: 'gcp' as never }),
    (e: unknown) => e instanceof InvalidOptionError && e.field === 'profile',
  );
  // generic is today's behaviour: nothing of the above applies.
  resolveOptions('mqtt://127.0.0.1', { keepaliveSec: 0, maxInflight: 1000 });
});

test('AWS IoT on port 443: ALPN x-amzn-mqtt-ca is set unless given; not on 8883', () => {
  const on443 = resolveOptions('mqtts://abc-ats.iot.eu-west-1.amazonaws.com:443', {
    profile: 'aws-iot',
    servers: ['mqtts://def-ats.iot.eu-west-1.amazonaws.com:8883'],
  });
  assert.deepEqual(on443.servers[0]!.tls?.alpn, ['x-amzn-mqtt-ca']);
  assert.equal(on443.servers[1]!.tls?.alpn, undefined);
  const given = resolveOptions('mqtts://abc-ats.iot.eu-west-1.amazonaws.com:443', {
    profile: 'aws-iot',
    tls: { alpn: ['mqtt'] },
  });
  assert.deepEqual(given.servers[0]!.tls?.alpn, ['mqtt']);
  const generic = resolveOptions('mqtts://abc-ats.iot.eu-west-1.amazonaws.com:443', {});
  assert.equal(generic.servers[0]!.tls?.alpn, undefined);
});

// ─── AWS-like endpoint ───────────────────────────────────────────────────────────────

function awsOptions(extra: ClientOptions = {}): ClientOptions {
  return {
    profile: 'aws-iot',
    tls: { ca: certs.ca.cert, servername: 'localhost', alpn: ['x-amzn-mqtt-ca'] },
    reconnect: false,
    ...extra,
  };
}

test('AWS-like endpoint: SNI and ALPN x-amzn-mqtt-ca accepted on 443, refused without', async () => {
  const before = aws.accepted();
  const ok = await connect(`mqtts://127.0.0.1:${aws.port443}`, awsOptions());
  assert.equal(aws.accepted(), before + 1);
  await ok.end();

  // Without ALPN (the generic profile sets none): the endpoint refuses.
  const refusals = aws.refusals.length;
  await assert.rejects(
    connect(`mqtts://127.0.0.1:${aws.port443}`, {
      tls: { ca: certs.ca.cert, servername: 'localhost' },
      reconnect: false,
    }),
  );
  assert.deepEqual(
    aws.refusals.slice(refusals).map((r) => r.rule),
    ['alpn'],
  );
  // Without SNI (an address and no servername), on either port.
  await assert.rejects(
    connect(`mqtts://127.0.0.1:${aws.port8883}`, { tls: { ca: certs.ca.cert }, reconnect: false }),
  );
  assert.equal(aws.refusals.at(-1)?.rule, 'sni');
  assert.equal(aws.accepted(), before + 1, 'no refused connection reached the broker');
  // The profile refuses the address without a servername before trying.
  violates(
    () => resolveOptions(`mqtts://127.0.0.1:${aws.port8883}`, { profile: 'aws-iot' }),
    'aws-iot',
    'sni',
    'tls.servername',
  );
});

test('AWS-like endpoint: a subscribe of 20 filters goes out as SUBSCRIBEs of 8, 8 and 4', async (t) => {
  const client = await connect(
    `mqtts://127.0.0.1:${aws.port8883}`,
    awsOptions({ reconnect: { minDelayMs: 10, maxDelayMs: 10 } }),
  );
  t.after(() => client.end({ force: true }));
  const from = aws.packets.length;
  const filters = Array.from({ length: 20 }, (_, i) => ({
    topic: `split/${i}`,
    qos: (i % 2) as 0 | 1,
  }));
  const sub = await client.subscribe(filters);
  const subscribes = aws.packets
    .slice(from)
    .filter((p) => p.type === 'subscribe')
    .map((p) => (p.type === 'subscribe' ? p.subscriptions.map((s) => s.topic) : []));
  assert.deepEqual(
    subscribes.map((s) => s.length),
    [8, 8, 4],
  );
  assert.deepEqual(
    subscribes.flat(),
    filters.map((f) => f.topic),
    'in order',
  );
  // The SUBACK codes merged in the filters' order: Mosquitto grants what was asked.
  assert.deepEqual(
    sub.granted,
    filters.map((f) => f.qos),
  );
  assert.deepEqual(
    aws.refusals.filter((r) => r.rule === 'filters'),
    [],
  );
  // The last part's filters work: a message on split/19 arrives.
  await client.publish('split/19', 'last', { qos: 1 });
  const iterator = sub[Symbol.asyncIterator]();
  const first = await iterator.next();
  assert.equal(first.value?.topic, 'split/19');

  // A new connection without a session (clean: true): the 20 subscriptions are restored, in
  // packets of 8 again.
  const mark = aws.packets.length;
  const restored = (): number[] =>
    aws.packets
      .slice(mark)
      .filter((p) => p.type === 'subscribe')
      .map((p) => (p.type === 'subscribe' ? p.subscriptions.length : 0));
  const refusedBefore = aws.refusals.length;
  client.reconnect();
  await aws.until(
    () =>
      restored().reduce((a, b) => a + b, 0) >= 20 ||
      aws.refusals.slice(refusedBefore).some((r) => r.rule === 'filters'),
  );
  assert.deepEqual(aws.refusals.slice(refusedBefore), [], 'no AWS rule broken');
  assert.deepEqual(restored(), [8, 8, 4]);
  await client.publish('split/0', 'again', { qos: 1 });
  assert.equal((await iterator.next()).value?.topic, 'split/0');
});

test("AWS-like endpoint at MQTT 5.0: every packet of a split subscribe carries the call's Subscription Identifier, restored ones too", async (t) => {
  const client = await connect(
    `mqtts://127.0.0.1:${aws.port8883}`,
    awsOptions({ protocolVersion: 5, reconnect: { minDelayMs: 10, maxDelayMs: 10 } }),
  );
  t.after(() => client.end({ force: true }));
  const subscribes = (from: number): { id: number | undefined; topics: string[] }[] =>
    aws.packets.slice(from).flatMap((p) =>
      p.type === 'subscribe'
        ? [
            {
              id: p.properties?.subscriptionIdentifier,
              topics: p.subscriptions.map((s) => s.topic),
            },
          ]
        : [],
    );
  const from = aws.packets.length;
  const wide = await client.subscribe(
    Array.from({ length: 10 }, (_, i) => ({ topic: `v5split/${i}`, qos: 1 as const })),
  );
  const other = await client.subscribe('v5other/#', { qos: 1 });
  const sent = subscribes(from);
  assert.deepEqual(
    sent.map((s) => s.topics.length),
    [8, 2, 1],
  );
  const wideId = sent[0]?.id;
  assert.equal(typeof wideId, 'number');
  assert.equal(sent[1]?.id, wideId, 'both packets of one call: one identifier');
  assert.notEqual(sent[2]?.id, wideId);
  assert.deepEqual(wide.granted, Array(10).fill(1));

  // A new connection without a session: restored per identifier, each group in packets of 8.
  const mark = aws.packets.length;
  const refusedBefore = aws.refusals.length;
  client.reconnect();
  await aws.until(
    () =>
      subscribes(mark).reduce((n, s) => n + s.topics.length, 0) >= 11 ||
      aws.refusals.length > refusedBefore,
  );
  assert.deepEqual(aws.refusals.slice(refusedBefore), [], 'no AWS rule broken');
  assert.deepEqual(
    subscribes(mark).map((s) => [s.id, s.topics.length]),
    [
      [wideId, 8],
      [wideId, 2],
      [sent[2]?.id, 1],
    ],
  );
  // Mosquitto tags messages with the restored identifiers: each reaches its subscription.
  await client.publish('v5split/9', 'last', { qos: 1 });
  await client.publish('v5other/x', 'other', { qos: 1 });
  assert.equal((await wide[Symbol.asyncIterator]().next()).value?.topic, 'v5split/9');
  assert.equal((await other[Symbol.asyncIterator]().next()).value?.topic, 'v5other/x');
});

test('AWS and Exosite: QoS 2, retain and sizes refused before the wire, the connection kept', async (t) => {
  const client = await connect(`mqtts://127.0.0.1:${aws.port8883}`, awsOptions());
  t.after(() => client.end({ force: true }));
  const from = aws.packets.length;
  await rejects(client.publish('t/q2', 'x', { qos: 2 }), 'aws-iot', 'publish-qos');
  await rejects(client.subscribe('t/q2', { qos: 2 }), 'aws-iot', 'subscribe-qos');
  await rejects(client.publish('t/big', new Uint8Array(128 * 1024 + 1)), 'aws-iot', 'payload-size');
  await client.publish('t/fits', new Uint8Array(128 * 1024), { qos: 1 });
  assert.deepEqual(
    aws.packets
      .slice(from)
      .filter((p) => p.type === 'publish' || p.type === 'subscribe')
      .map((p) => (p.type === 'publish' ? p.topic : p.type)),
    ['t/fits'],
    'only the publish that fits reached the wire',
  );
  assert.equal(client.state.status, 'connected');

  // Exosite's rules, against Mosquitto's TLS listener: what is refused never reaches it.
  const murano = await connect(aws.broker.url(1, 'mqtts'), {
    profile: 'exosite',
    tls: { ca: certs.ca.cert, servername: 'localhost' },
    reconnect: false,
  });
  t.after(() => murano.end({ force: true }));
  const seen: string[] = [];
  murano.on('packetsend', (p) => {
    if (p.type !== 'pingreq') seen.push(p.type === 'publish' ? `${p.topic} qos${p.qos}` : p.type);
  });
  await rejects(murano.publish('$resource/data_in', '1', { qos: 2 }), 'exosite', 'publish-qos');
  await rejects(murano.publish('$resource/data_in', '1', { retain: true }), 'exosite', 'retain');
  await rejects(
    murano.publish('$resource/data_in', new Uint8Array(1_048_577)),
    'exosite',
    'payload-size',
  );
  await rejects(murano.subscribe('$resource/#', { qos: 2 }), 'exosite', 'subscribe-qos');
  await murano.publish('$resource/data_in', new Uint8Array(1_048_576), { qos: 1 });
  assert.deepEqual(seen, ['$resource/data_in qos1']);
  assert.equal(murano.state.status, 'connected');
});

test('Exosite: a QoS 2 message from the server is not answered with PUBREC; the client closes with why', async (t) => {
  // A scripted TLS peer that misbehaves as Murano never does: it sends a QoS 2 PUBLISH. Murano
  // disconnects a device that sends PUBREC, so the client must close instead of answering.
  const received: Packet[] = [];
  const server = createTlsServer({ key: certs.server.key, cert: certs.server.cert }, (socket) => {
    socket.on('error', () => undefined);
    const parser = new Parser({ protocolVersion: 4 });
    socket.on('data', (chunk: Uint8Array) =>
      parser.push(chunk, (packet) => {
        received.push(packet);
        if (packet.type === 'connect') {
          socket.write(encode({ type: 'connack', sessionPresent: false, returnCode: 0 }, 4));
          socket.write(
            encode(
              {
                type: 'publish',
                topic: '$resource/data_out',
                payload: new TextEncoder().encode('1'),
                qos: 2,
                retain: false,
                dup: false,
                packetId: 7,
              },
              4,
            ),
          );
        }
      }),
    );
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  t.after(() => new Promise<void>((resolve) => server.close(() => resolve())));
  const port = (server.address() as { port: number }).port;
  const client = await connect(`mqtts://127.0.0.1:${port}`, {
    profile: 'exosite',
    tls: { ca: certs.ca.cert, servername: 'localhost' },
    reconnect: false,
  });
  t.after(() => client.end({ force: true }));
  let closed: ClientState | undefined;
  for await (const state of client.states()) {
    if (state.status === 'closed') {
      closed = state;
      break;
    }
  }
  const error = closed?.lastError;
  assert.ok(error instanceof ProfileViolationError, String(error));
  assert.equal(error.rule, 'qos2-flow');
  assert.deepEqual(
    received.map((p) => p.type),
    ['connect'],
    'no PUBREC was written',
  );
});

// ─── Azure-like endpoint ─────────────────────────────────────────────────────────────

test('the SAS token is Microsoft’s: the emulator verifies it, and refuses a wrong key', async (t) => {
  const token = azureIotHubSas({
    resourceUri: `localhost/devices/${DEVICE}`,
    key: KEY,
    expirySec: 4_102_444_800,
  });
  assert.match(
    token,
    /^SharedAccessSignature sr=localhost%2Fdevices%2Fpump-7&sig=[^&]+&se=4102444800$/,
  );
  assert.deepEqual(verifySas(token, `localhost/devices/${DEVICE}`, KEY, 0), {
    ok: true,
    expirySec: 4_102_444_800,
  });

  const { options } = azureIotHub({
    hub: 'localhost',
    deviceId: DEVICE,
    key: KEY,
    tls: { ca: certs.ca.cert },
  });
  const url = `mqtts://127.0.0.1:${azure.port}`;
  const client = await connect(url, { ...options, reconnect: false });
  t.after(() => client.end({ force: true }));
  const times = client.credentialTimes;
  assert.ok(times !== undefined && times.renewAtMs < times.expiresAtMs);
  assert.equal(azure.connections.at(-1)?.expirySec, times.expiresAtMs / 1000);
  await client.publish(`devices/${DEVICE}/messages/events/`, 'hello', { qos: 1 });
  assert.equal(azure.messages.at(-1)?.payload, 'hello');
  // The Azure rules, before the wire.
  await rejects(client.publish('devices/other/messages/events/', 'x'), 'azure-iot-hub', 'topic');
  await rejects(
    client.publish(`devices/${DEVICE}/messages/events/`, 'x', { retain: true }),
    'azure-iot-hub',
    'retain',
  );
  await rejects(
    client.publish(`devices/${DEVICE}/messages/events/`, 'x', { qos: 2 }),
    'azure-iot-hub',
    'publish-qos',
  );
  await rejects(
    client.publish(`devices/${DEVICE}/messages/events/`, new Uint8Array(256 * 1024 + 1)),
    'azure-iot-hub',
    'payload-size',
  );
  await rejects(client.subscribe('devices/other/#'), 'azure-iot-hub', 'topic');
  const c2d = await client.subscribe(`devices/${DEVICE}/messages/devicebound/#`, { qos: 1 });
  assert.deepEqual(c2d.granted, [1]);

  const wrongKey = azureIotHub({
    hub: 'localhost',
    deviceId: DEVICE,
    key: Buffer.from('another key of thirty-two bytes!').toString('base64'),
    tls: { ca: certs.ca.cert },
  });
  const refused = await connect(url, { ...wrongKey.options, reconnect: false }).then(
    () => assert.fail('connected with a wrong key'),
    (e: unknown) => e,
  );
  assert.ok(refused instanceof ConnectionRefusedError && refused.returnCode === 5);
  assert.equal(azure.refusals.at(-1)?.rule, 'sas');
  assert.equal(azure.refusals.at(-1)?.detail, 'signature does not verify');
  // The key is a secret: never in an error.
  assert.throws(
    () => azureIotHub({ hub: 'localhost', deviceId: DEVICE, key: 'not base64!' }),
    (e: unknown) =>
      e instanceof InvalidOptionError &&
      e.field === 'azureIotHub.key' &&
      !e.message.includes('not base64!'),
  );
});

test('Azure: a short-lived token is renewed before it expires, a QoS 1 stream loses nothing', async (t) => {
  const { options } = azureIotHub({
    hub: 'localhost',
    deviceId: DEVICE,
    key: KEY,
    // Tokens live 3 to 4 s (the expiry is in whole seconds) and are renewed 2 s before.
    ttlSec: 4,
    renewBeforeSec: 2,
    minTtlSec: 1,
    tls: { ca: certs.ca.cert },
  });
  const client: Client = await connect(`mqtts://127.0.0.1:${azure.port}`, {
    ...options,
    reconnect: { minDelayMs: 5000, maxDelayMs: 5000 },
  });
  t.after(() => client.end({ force: true }));
  const topic = `devices/${DEVICE}/messages/events/renewal`;
  const firstConnection = azure.connections.length;
  const expiredBefore = azure.expired();
  // Four publishers in a chain, each publishing its next message when the last completed,
  // until two renewals happened and 50 messages followed them.
  let sent = 0;
  let stopAt = Number.POSITIVE_INFINITY;
  const worker = async (): Promise<void> => {
    while (sent < stopAt && sent < 200_000) {
      const n = sent++;
      await client.publish(topic, `m${n}`, { qos: 1 });
      if (stopAt === Number.POSITIVE_INFINITY && client.renewedCount >= 2) stopAt = sent + 50;
    }
  };
  await Promise.all([worker(), worker(), worker(), worker()]);
  await client.flush();
  assert.ok(client.renewedCount >= 2, 'renewed twice');
  assert.ok(azure.connections.length >= firstConnection + 2, 'reconnected with new tokens');
  const tokens = azure.connections.slice(firstConnection - 1).map((c) => c.expirySec);
  assert.ok(
    tokens.every((se, i) => i === 0 || se >= tokens[i - 1]!),
    'each token newer',
  );
  assert.equal(azure.expired(), expiredBefore, 'no connection outlived its token');
  const got = new Set(azure.messages.filter((m) => m.topic === topic).map((m) => m.payload));
  for (let n = 0; n < sent; n++) assert.ok(got.has(`m${n}`), `m${n} arrived`);
  assert.equal(got.size, sent);
  assert.equal(client.droppedCount, 0);
});

test('azureIotHub: each setting checked with its field named; the builder’s options resolve', () => {
  const base = { hub: 'myhub.azure-devices.net', deviceId: DEVICE, key: KEY };
  const field = (o: object, name: string): void => {
    assert.throws(
      () => azureIotHub({ ...base, ...o }),
      (e: unknown) => e instanceof InvalidOptionError && e.field === name,
      name,
    );
  };
  field({ hub: 'not a host' }, 'azureIotHub.hub');
  field({ deviceId: 'a/b' }, 'azureIotHub.deviceId');
  field({ deviceId: 'd'.repeat(129) }, 'azureIotHub.deviceId');
  field({ key: '' }, 'azureIotHub.key');
  field({ ttlSec: 59 }, 'azureIotHub.ttlSec');
  field({ ttlSec: 1.5 }, 'azureIotHub.ttlSec');
  field({ ttlSec: 600, renewBeforeSec: 600 }, 'azureIotHub.renewBeforeSec');
  field({ deviceKey: KEY }, 'azureIotHub.deviceKey');
  const { url, options } = azureIotHub(base);
  assert.equal(url, 'mqtts://myhub.azure-devices.net:8883');
  const resolved = resolveOptions(url, options);
  assert.equal(resolved.profile.name, 'azure-iot-hub');
  assert.equal(resolved.clientId, DEVICE);
  assert.equal(resolved.servers[0]!.username, AZURE_USER);
  assert.equal(resolved.clean, false);
});

test('a password provider is called at each attempt; one that fails or answers no password is a typed error', async () => {
  const { options } = azureIotHub({
    hub: 'localhost',
    deviceId: DEVICE,
    key: KEY,
    tls: { ca: certs.ca.cert },
  });
  const url = `mqtts://127.0.0.1:${azure.port}`;
  let calls = 0;
  const provider = options.password as () => unknown;
  const client = await connect(url, {
    ...options,
    password: () => {
      calls++;
      return provider() as string;
    },
    reconnect: { minDelayMs: 10, maxDelayMs: 10 },
  });
  const before = azure.connections.length;
  client.reconnect();
  await azure.until(() => azure.connections.length > before);
  assert.equal(calls, 2, 'one call per connection attempt');
  await client.end();

  const failing = await connect(url, {
    ...options,
    password: () => {
      throw new Error('key vault unreachable');
    },
    reconnect: false,
  }).then(
    () => assert.fail('connected'),
    (e: unknown) => e,
  );
  assert.ok(failing instanceof InvalidOptionError && failing.field === 'password');
  assert.match(failing.message, /the password provider failed: key vault unreachable/);
  const garbage = await connect(url, {
    ...options,
    password: () => ({ password: 'x', expiresAtMs: Number.NaN }),
    reconnect: false,
  }).then(
    () => assert.fail('connected'),
    (e: unknown) => e,
  );
  assert.ok(garbage instanceof InvalidOptionError && garbage.field === 'password().expiresAtMs');
});
