/**
 * Options checked up front, with real certificates and a real Mosquitto: TLS material is
 * parsed when the options are given (Mosquitto's `08-ssl-bad-cacert`: a CA that is no
 * certificate is refused at once), and `createClient` throws synchronously for a bad scheme,
 * PSK key or CA instead of starting a reconnect loop; the good variant of each connects.
 */
import assert from 'node:assert/strict';
import { X509Certificate } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { after, before, test } from 'node:test';
import { inspect } from 'node:util';
import {
  type ClientOptions,
  connect,
  createClient,
  InvalidOptionError,
  resolveOptions,
} from 'courier-mqtt';
import { type TestCerts, testCerts, tlsListenerLines } from '../../../../test/helpers/certs.js';
import { type Mosquitto, startMosquitto } from '../../../../test/helpers/mosquitto.js';

const PSK_KEY = '0123456789abcdef0123456789abcdef';
const L = { tls: 0, mtls: 1, psk: 2 } as const;

let certs: TestCerts;
let broker: Mosquitto;

before(async () => {
  certs = await testCerts();
  broker = await startMosquitto(undefined, {
    listeners: [
      { lines: tlsListenerLines(certs) },
      { lines: [...tlsListenerLines(certs), 'require_certificate true'] },
      { lines: ['psk_hint courier-hint', 'tls_version tlsv1.2'] },
    ],
    psk: { 'device-1': PSK_KEY },
  });
});
after(() => broker?.stop());

/** The mqtts URL of a listener, by name (`localhost` matches the server certificate). */
function url(listener: number): string {
  return `mqtts://localhost:${broker.ports[listener]}`;
}

/** The InvalidOptionError `fn` throws; fails the test if it throws nothing or anything else. */
function refusal(fn: () => unknown): InvalidOptionError {
  try {
    fn();
  } catch (error) {
    if (error instanceof InvalidOptionError) return error;
    throw error;
  }
  return assert.fail('expected an InvalidOptionError');
}

function refusedTls(tls: unknown, field: string, message?: RegExp): string {
  const error = refusal(() => resolveOptions(url(L.tls), { tls } as ClientOptions));
  assert.equal(error.field, field, error.message);
  if (message !== undefined) assert.match(error.message, message);
  return error.message;
}

test('tls.ca must hold a parseable X.509 certificate (08-ssl-bad-cacert)', () => {
  refusedTls({ ca: 'this/file/doesnt/exist' }, 'tls.ca', /looks like a file name/);
  refusedTls({ ca: readFileSync('/etc/passwd') }, 'tls.ca', /neither PEM text nor a DER/);
  refusedTls({ ca: certs.client.key }, 'tls.ca', /holds no PEM certificate \(found: PRIVATE KEY\)/);
  // A bundle: every certificate in it is parsed, and the broken one is named.
  const broken = certs.ca.cert.replace(/(\n[A-Za-z0-9+/]{10})[A-Za-z0-9+/]{10}/, '$1!!!!!!!!!!');
  refusedTls({ ca: certs.otherCa.cert + broken }, 'tls.ca', /certificate 2 of 2/);
  refusedTls({ ca: [certs.ca.cert, 'junk'] }, 'tls.ca[1]', /holds no PEM certificate/);
  refusedTls(
    { ca: certs.ca.cert.replace(/-----END CERTIFICATE-----\s*$/, '') },
    'tls.ca',
    /without its END line/,
  );
  // Good ones: a bundle, a list, DER; each certificate comes out as PEM for Node's TLS.
  const der = new X509Certificate(certs.ca.cert).raw;
  for (const ca of [certs.otherCa.cert + certs.ca.cert, [certs.ca.cert, der], der]) {
    const resolved = resolveOptions(url(L.tls), { tls: { ca } });
    const out = resolved.servers[0]?.tls?.ca as string[];
    assert.ok(out.every((pem) => pem.startsWith('-----BEGIN CERTIFICATE-----')));
  }
});

test('tls.cert and tls.key are loaded, decrypted and matched, secrets never echoed', () => {
  const secret = 'not-the-passphrase-4711';
  const { cert, key } = certs.client;
  refusedTls({ cert }, 'tls.cert', /tls\.key is not/);
  refusedTls({ key }, 'tls.key', /tls\.cert is not/);
  refusedTls({ cert: 'junk', key }, 'tls.cert', /holds no PEM certificate/);
  refusedTls({ cert, key: 'junk' }, 'tls.key', /holds no PEM private key/);
  refusedTls({ cert, key: cert }, 'tls.key', /no private key that loads \(found: CERTIFICATE\)/);
  refusedTls({ cert, key: certs.server.key }, 'tls.key', /does not belong to .*CN=client1/);
  refusedTls(
    { cert, key: certs.clientEncryptedKey },
    'tls.key',
    /is encrypted: set tls\.passphrase/,
  );
  const wrong = refusedTls(
    { cert, key: certs.clientEncryptedKey, passphrase: secret },
    'tls.passphrase',
    /does not decrypt tls\.key/,
  );
  assert.ok(!wrong.includes(secret));
  refusedTls({ cert, key, passphrase: secret }, 'tls.passphrase', /tls\.key is not encrypted/);
  // The same checks for a backup server, with its field path.
  const backup = refusal(() =>
    resolveOptions(url(L.tls), {
      servers: [
        { url: url(L.mtls), tls: { cert, key: certs.clientEncryptedKey, passphrase: secret } },
      ],
    }),
  );
  assert.equal(backup.field, 'servers[0].tls.passphrase');
  for (const text of [String(backup), JSON.stringify(backup), inspect(backup, { depth: 5 })]) {
    assert.ok(!text.includes(secret) && !text.includes('PRIVATE KEY'), text);
  }
  resolveOptions(url(L.mtls), {
    tls: {
      ca: certs.ca.cert,
      cert,
      key: certs.clientEncryptedKey,
      passphrase: certs.clientKeyPassphrase,
    },
  });
});

/**
 * `createClient(server, options)` must throw an InvalidOptionError naming `field` before it
 * returns: no client exists, so nothing can retry. On a build that returned a client, the
 * client is ended before the test fails.
 */
function refusedAtCreate(server: string, options: ClientOptions, field: string): void {
  let client: ReturnType<typeof createClient> | undefined;
  const error = refusal(() => {
    client = createClient(server, { ...options, reconnect: { minDelayMs: 10, maxDelayMs: 20 } });
  });
  if (client !== undefined) void client.end({ force: true });
  assert.equal(error.field, field, error.message);
}

test('createClient throws synchronously for a bad scheme, PSK key or CA; the good one connects', async (t) => {
  const port = broker.ports[L.psk];
  refusedAtCreate(`mqtx://localhost:${port}`, {}, 'url');
  refusedAtCreate(`mqtts://localhost:${port}`, { servers: ['mqtts:/localhost'] }, 'servers[0].url');
  refusedAtCreate(url(L.psk), { psk: { identity: 'device-1', key: 'xyz' } }, 'psk.key');
  refusedAtCreate(url(L.psk), { psk: { identity: 'device-1', key: PSK_KEY.slice(1) } }, 'psk.key');
  refusedAtCreate(url(L.tls), { tls: { ca: 'this/file/doesnt/exist' } }, 'tls.ca');
  refusedAtCreate(url(L.tls), { tls: { ca: readFileSync('/etc/passwd', 'utf8') } }, 'tls.ca');
  refusedAtCreate(
    url(L.mtls),
    { tls: { ca: certs.ca.cert, cert: certs.client.cert, key: certs.clientEncryptedKey } },
    'tls.key',
  );
  refusedAtCreate(url(L.tls), { keepalive: 10 } as ClientOptions, 'keepalive');
  // connect() rejects with the same error, without an attempt to wait for.
  await assert.rejects(
    connect(url(L.psk), { psk: { identity: 'device-1', key: 'xyz' } }),
    (e: unknown) => e instanceof InvalidOptionError && e.field === 'psk.key',
  );

  // The good variant of each, to the same broker: the refusals were about the values.
  for (const [server, options] of [
    [url(L.psk), { psk: { identity: 'device-1', key: PSK_KEY } }],
    [url(L.tls), { tls: { ca: new X509Certificate(certs.ca.cert).raw } }],
    [
      url(L.mtls),
      {
        tls: {
          ca: certs.ca.cert,
          cert: certs.client.cert,
          key: certs.clientEncryptedKey,
          passphrase: certs.clientKeyPassphrase,
        },
      },
    ],
  ] as const) {
    const client = await connect(server, { ...options, reconnect: false });
    t.after(() => client.end({ force: true }));
    assert.equal(client.state.status, 'connected');
  }
});

test('credentials typed into the URL are used, not ignored', async (t) => {
  const secured = await startMosquitto(t, {
    allowAnonymous: false,
    users: { 'dev@site': 'p@ss/word' },
  });
  const client = await connect(`mqtt://dev%40site:p%40ss%2Fword@127.0.0.1:${secured.port}`, {
    reconnect: false,
  });
  t.after(() => client.end({ force: true }));
  assert.equal(client.state.status, 'connected');
  // The state shows the server without the secret.
  assert.ok(!JSON.stringify(client.state).includes('word'), JSON.stringify(client.state));
});
