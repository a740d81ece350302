// TLS against a real Mosquitto: server authentication, every certificate failure in
// installer words, mutual TLS, and use_identity_as_username with an ACL.
import assert from 'node:assert/strict';
import type { Duplex } from 'node:stream';
import { after, before, test } from 'node:test';
import { inspect } from 'node:util';
import { connect } from 'courier-mqtt';
import { type TestCerts, testCerts, tlsListenerLines } from '../../../../test/helpers/certs.js';
import { type Mosquitto, startMosquitto } from '../../../../test/helpers/mosquitto.js';
import { MqttError } from '../../src/errors.js';
import type { TransportConnection, TransportOptions } from '../../src/transport/index.js';
import { openTransport, TlsError } from '../../src/transport/index.js';
import { CONNACK_ACCEPTED, mqttHandshake } from './raw.js';

let certs: TestCerts;
let broker: Mosquitto;
const L = { ok: 0, expired: 1, wrongHost: 2, unknownCa: 3, mtls: 4 } as const;

before(async () => {
  certs = await testCerts();
  broker = await startMosquitto(undefined, {
    listeners: [
      { lines: tlsListenerLines(certs) },
      { lines: tlsListenerLines(certs, certs.expired) },
      { lines: tlsListenerLines(certs, certs.wrongHost) },
      { lines: tlsListenerLines(certs, certs.unknownCa) },
      {
        lines: [
          ...tlsListenerLines(certs),
          'require_certificate true',
          'use_identity_as_username true',
        ],
      },
    ],
    acl: 'user client1\ntopic readwrite granted/#\n',
  });
});
// The broker is shared by the file's tests; the file's process only exits once it is stopped.
after(() => broker?.stop());

async function open(
  t: { after(fn: () => void): void },
  listener: number,
  extra: Partial<TransportOptions> = {},
): Promise<TransportConnection<Duplex>> {
  const conn = await openTransport({
    protocol: 'mqtts',
    host: 'localhost',
    port: broker.ports[listener] ?? 0,
    connectTimeoutMs: 5_000,
    tls: { ca: certs.ca.cert },
    ...extra,
  });
  t.after(() => conn.stream.destroy());
  return conn;
}

async function tlsFailure(listener: number, extra: Partial<TransportOptions>): Promise<TlsError> {
  const error = await open({ after() {} }, listener, extra).then(
    () => assert.fail('the TLS handshake should fail'),
    (e: unknown) => e,
  );
  assert.ok(error instanceof TlsError, String(error));
  assert.ok(error instanceof MqttError);
  assert.equal(error.code, 'MQTT_TLS');
  assert.ok(error.cause !== undefined, 'the Node error is kept as cause');
  return error;
}

test('server authentication with the test CA: MQTT CONNECT/CONNACK over TLS', async (t) => {
  const conn = await open(t, L.ok);
  assert.equal(conn.remoteAddress, '127.0.0.1');
  assert.deepEqual(await mqttHandshake(conn.stream), CONNACK_ACCEPTED);
});

test('connecting by IP verifies the IP SAN', async (t) => {
  const conn = await open(t, L.ok, { host: '127.0.0.1' });
  assert.deepEqual(await mqttHandshake(conn.stream), CONNACK_ACCEPTED);
});

// Mosquitto sends the chain up to our self-signed test root, so Node reports a self-signed
// certificate in the chain; a server sending the leaf alone gives "unknown CA".
const UNTRUSTED =
  /self-signed certificate in chain \(set tls\.ca to trust it\)|unknown CA; set tls\.ca/;

test('no CA given: the system store does not know the test CA', async () => {
  const error = await tlsFailure(L.ok, { tls: {} });
  assert.match(error.message, UNTRUSTED);
});

test('the wrong CA is rejected', async () => {
  const error = await tlsFailure(L.ok, { tls: { ca: certs.otherCa.cert } });
  assert.match(error.message, UNTRUSTED);
  const error2 = await tlsFailure(L.unknownCa, {});
  assert.match(error2.message, UNTRUSTED);
});

test('an expired server certificate is rejected', async () => {
  const error = await tlsFailure(L.expired, {});
  assert.match(error.message, /certificate has expired/);
  assert.equal(error.tlsCode, 'CERT_HAS_EXPIRED');
});

test('a certificate for another host name is rejected, naming both', async () => {
  const error = await tlsFailure(L.wrongHost, {});
  assert.match(
    error.message,
    /host name localhost does not match certificate \(CN=wrong\.example, SAN=DNS:wrong\.example\)/,
  );
});

test('rejectUnauthorized: false accepts the expired certificate', async (t) => {
  const conn = await open(t, L.expired, { tls: { rejectUnauthorized: false } });
  assert.deepEqual(await mqttHandshake(conn.stream), CONNACK_ACCEPTED);
});

test('require_certificate: refused without a client certificate (TLS 1.2: in the handshake)', async () => {
  const error = await tlsFailure(L.mtls, { tls: { ca: certs.ca.cert, maxVersion: 'TLSv1.2' } });
  assert.match(error.message, /client certificate|handshake/);
});

test('require_certificate: refused without a client certificate (TLS 1.3: before CONNACK)', async () => {
  // TLS 1.3 finishes the client's handshake before the server judges its certificate: the
  // refusal arrives as an alert on the first read, and the client reports it as a TLS error.
  const error = await connect(`mqtts://localhost:${broker.ports[L.mtls]}`, {
    tls: { ca: certs.ca.cert },
    reconnect: false,
    connectTimeoutMs: 5000,
  }).then(
    () => assert.fail('connected without a client certificate'),
    (e: unknown) => e,
  );
  assert.ok(error instanceof TlsError, String(error));
  assert.match(error.message, /server requires a client certificate/);
});

test('require_certificate: accepted with our client certificate, encrypted key too', async (t) => {
  const conn = await open(t, L.mtls, {
    tls: { ca: certs.ca.cert, cert: certs.client.cert, key: certs.client.key },
  });
  assert.deepEqual(await mqttHandshake(conn.stream), CONNACK_ACCEPTED);
  const conn2 = await open(t, L.mtls, {
    tls: {
      ca: certs.ca.cert,
      cert: certs.client.cert,
      key: certs.clientEncryptedKey,
      passphrase: certs.clientKeyPassphrase,
    },
  });
  assert.deepEqual(await mqttHandshake(conn2.stream, 'second'), CONNACK_ACCEPTED);
});

test('a wrong key passphrase fails without echoing the passphrase', async () => {
  const secret = 'not-the-passphrase-4711';
  const error = await open({ after() {} }, L.mtls, {
    tls: {
      ca: certs.ca.cert,
      cert: certs.client.cert,
      key: certs.clientEncryptedKey,
      passphrase: secret,
    },
  }).then(
    () => assert.fail('should fail'),
    (e: unknown) => e,
  );
  assert.ok(error instanceof MqttError, String(error));
  for (const text of [String(error), JSON.stringify(error), inspect(error, { depth: 5 })]) {
    assert.ok(!text.includes(secret), text);
  }
});

test('use_identity_as_username: the ACL for user client1 applies to the certificate CN', async (t) => {
  // The ACL grants only user client1, on granted/#. Mosquitto 2.0 grants every SUBSCRIBE and
  // filters on delivery, so the proof is what gets through.
  const client = await connect(`mqtts://localhost:${broker.ports[L.mtls]}`, {
    tls: { ca: certs.ca.cert, cert: certs.client.cert, key: certs.client.key },
    reconnect: false,
  });
  t.after(() => client.end({ force: true }));
  const got: string[] = [];
  client.on('message', (m) => got.push(m.topic));
  await client.subscribe(['granted/#', 'other/#'], { qos: 1 });
  await client.publish('other/x', 'no', { qos: 1 });
  await client.publish('granted/x', 'yes', { qos: 1 });
  const deadline = Date.now() + 3000;
  while (got.length === 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
  await new Promise((r) => setTimeout(r, 200));
  assert.deepEqual(got, ['granted/x']);
});
