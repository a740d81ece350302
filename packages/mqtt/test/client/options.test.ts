import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  validateClientId,
  validateMqttString,
  validatePassword,
  validateUsername,
} from '../../src/client/mqtt-strings.js';
import {
  type ClientOptions,
  type ResolvedOptions,
  resolveOptions,
} from '../../src/client/options.js';
import { InvalidOptionError } from '../../src/errors.js';
import { memoryStore } from '../../src/store/index.js';
import { MAX_TLS_MATERIAL_BYTES } from '../../src/transport/index.js';

test('an invalid Will topic is refused by field, with the topic rule broken', () => {
  const cases: [string, RegExp][] = [
    ['', /MQTT-4\.7\.3-1/],
    ['a/#', /MQTT-4\.7\.1-1/],
    ['a/+/b', /MQTT-4\.7\.1-1/],
    ['a\u0000b', /MQTT-4\.7\.3-2/],
  ];
  for (const [topic, rule] of cases) {
    assert.throws(
      () => resolveOptions('mqtt://127.0.0.1:1', { will: { topic, payload: 'x' } }),
      (e: unknown) =>
        e instanceof InvalidOptionError && e.field === 'will.topic' && rule.test(e.message),
      JSON.stringify(topic),
    );
  }
});

test('defaults are filled and out-of-range values name the field', () => {
  const o = resolveOptions('mqtt://127.0.0.1:1');
  assert.equal(o.keepaliveSec, 60);
  assert.equal(o.clean, true);
  assert.deepEqual(o.reconnect, {
    minDelayMs: 2000,
    maxDelayMs: 60000,
    jitter: 0.2,
    failover: 'backup',
    stableAfterMs: 10000,
    refusedDelayMs: 60000,
    poisonThreshold: 3,
  });
  assert.throws(
    () => resolveOptions('mqtt://127.0.0.1:1', { keepaliveSec: 70000 }),
    (e: unknown) => e instanceof InvalidOptionError && e.field === 'keepaliveSec',
  );
  assert.throws(
    () =>
      resolveOptions('mqtt://127.0.0.1:1', { reconnect: { minDelayMs: 5000, maxDelayMs: 100 } }),
    (e: unknown) => e instanceof InvalidOptionError && e.field === 'reconnect.maxDelayMs',
  );
});

// Options checked up front: every check below used to pass resolveOptions and fail (or be
// ignored) only once a connection was attempted, again on every retry.

const URL_OK = 'mqtt://127.0.0.1:1';
const TLS_URL = 'mqtts://127.0.0.1:1';

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

/** Resolves options given as plain data, as a JavaScript caller or a config file would. */
function resolve(server: unknown, options?: unknown): ResolvedOptions {
  return resolveOptions(server as string, options as ClientOptions);
}

function refused(server: unknown, options: unknown, field: string, message?: RegExp): string {
  const error = refusal(() => resolve(server, options));
  assert.equal(error.field, field, error.message);
  if (message !== undefined) assert.match(error.message, message);
  return error.message;
}

test('unknown options are refused, and the names MQTT.js users bring are mapped to ours', () => {
  const cases: [string, RegExp][] = [
    ['keepalive', /did you mean keepaliveSec/],
    ['reconnectPeriod', /did you mean reconnect\.minDelayMs/],
    ['connectTimeout', /did you mean connectTimeoutMs/],
    ['protocolId', /did you mean protocolVersion/],
    ['resubscribe', /subscriptions are restored/],
    ['queueQoSZero', /offlineQueue/],
    ['rejectUnauthorized', /did you mean tls\.rejectUnauthorized/],
    ['ca', /did you mean tls\.ca/],
    ['cert', /did you mean tls\.cert/],
    ['key', /did you mean tls\.key/],
    ['servername', /did you mean tls\.servername/],
    ['ALPNProtocols', /did you mean tls\.alpn/],
    ['properties', /CONNECT properties are options of their own: sessionExpirySec/],
    ['port', /server URL/],
    ['incomingStore', /did you mean store/],
  ];
  for (const [key, advice] of cases) refused(URL_OK, { [key]: 1 }, key, advice);
  // Several at once: the first is the field, every one is listed.
  const message = refused(
    URL_OK,
    { keepalive: 10, reconnectPeriod: 1000, connectTimeout: 5000 },
    'keepalive',
  );
  assert.match(message, /reconnectPeriod \(did you mean reconnect\.minDelayMs/);
  assert.match(message, /connectTimeout \(did you mean connectTimeoutMs/);
});

test('a near-miss spelling of one of our options is suggested; anything else lists the options', () => {
  refused(URL_OK, { keepAliveSec: 10 }, 'keepAliveSec', /did you mean keepaliveSec\?/);
  refused(URL_OK, { clientID: 'x' }, 'clientID', /did you mean clientId\?/);
  refused(URL_OK, { pingTimeout: 1000 }, 'pingTimeout', /did you mean pingTimeoutMs\?/);
  refused(URL_OK, { reconect: false }, 'reconect', /did you mean reconnect\?/);
  refused(URL_OK, { maxInFligth: 5 }, 'maxInFligth', /did you mean maxInflight\?/);
  refused(URL_OK, { frobnicate: true }, 'frobnicate', /known here: clientId, clean, keepaliveSec/);
});

test('unknown keys inside option groups and server objects are refused with their path', () => {
  refused(URL_OK, { reconnect: { period: 5 } }, 'reconnect.period', /reconnect\.minDelayMs/);
  refused(URL_OK, { reconnect: { maxDelay: 5 } }, 'reconnect.maxDelay', /reconnect\.maxDelayMs/);
  refused(URL_OK, { offlineQueue: { maxMessage: 5 } }, 'offlineQueue.maxMessage', /maxMessages/);
  refused(URL_OK, { will: { topic: 'a', message: 'x' } }, 'will.message', /will\.payload/);
  refused(TLS_URL, { tls: { ALPNProtocols: ['x'] } }, 'tls.ALPNProtocols', /tls\.alpn/);
  refused(TLS_URL, { tls: { pfx: 'x' } }, 'tls.pfx', /PKCS#12 is not supported/);
  refused(TLS_URL, { tls: { checkServerIdentity: () => undefined } }, 'tls.checkServerIdentity');
  refused(TLS_URL, { psk: { identity: 'a', key: 'ab', hint: 'h' } }, 'psk.hint');
  refused(
    URL_OK,
    { servers: ['mqtt://b:1883', { host: 'c', port: 1883 }] },
    'servers[1].host',
    /give a url/,
  );
  refused({ url: URL_OK, keepalive: 5 }, {}, 'keepalive');
  refused(URL_OK, { trace: true as never }, 'trace', /must be a function/);
});

test('every documented option is accepted (the key lists match the interfaces)', () => {
  const all: Required<ClientOptions> = {
    clientId: 'all-options',
    clean: false,
    keepaliveSec: 30,
    pingTimeoutMs: 5000,
    username: 'u',
    password: 'p',
    will: { topic: 'w', payload: 'gone', qos: 1, retain: true },
    protocolVersion: 5,
    sessionExpirySec: 3600,
    receiveMaximum: 10,
    requestResponseInformation: true,
    userProperties: [['site', 'north']],
    topicAliasMaximum: 16,
    outgoingTopicAliases: false,
    connectTimeoutMs: 5000,
    tls: {
      servername: 'broker.example',
      alpn: ['x-amzn-mqtt-ca'],
      rejectUnauthorized: true,
      minVersion: 'TLSv1.2',
      maxVersion: 'TLSv1.3',
      ciphers: 'HIGH',
    },
    psk: { identity: 'device-1', key: '00ff', ciphers: 'PSK-AES128-CBC-SHA256' },
    family: 4,
    wsPath: '/mqtt',
    reconnect: { minDelayMs: 10, maxDelayMs: 20, jitter: 0 },
    servers: [
      'mqtt://backup:1883',
      { url: 'wss://backup2/mqtt', username: 'b', password: 'c', family: 6, wsPath: '/ws' },
    ],
    store: memoryStore(),
    maxInflight: 10,
    offlineQueue: { maxMessages: 10, maxBytes: 1000, policy: 'drop-oldest-qos0' },
    maxPacketSize: 1000,
    subscriptionBufferSize: 10,
    maxPendingRequests: 10,
    trace: () => undefined,
  };
  const resolved = resolveOptions('wss://primary:8443/mqtt', all);
  assert.equal(resolved.servers.length, 3);
  assert.equal(resolved.servers[0]?.psk?.identity, 'device-1');
});

test('every server URL is parsed when the options are given: scheme, host, port', () => {
  refused('http://broker', {}, 'url', /unsupported scheme "http"/);
  refused('mqtt://broker:0', {}, 'url', /invalid port/);
  refused('mqtt://broker:99999', {}, 'url', /invalid port/);
  refused('mqtt://broker:x1', {}, 'url', /a port is a number from 1 to 65535/);
  refused('mqtt://:1883', {}, 'url', /has no host/);
  refused('mqtts:/broker', {}, 'url', /is a "\/\/" missing/);
  refused('broker/path', {}, 'url', /neither scheme/);
  refused({ url: 'foo://broker' }, {}, 'url', /unsupported scheme/);
  refused(URL_OK, { servers: ['mqtt://b', 'amqp://c'] }, 'servers[1].url', /unsupported scheme/);
  refused(URL_OK, { servers: [{ url: 'mqtt://b:70000' }] }, 'servers[0].url', /port/);
  refused(URL_OK, { servers: [{ url: 'mqtt://' }] }, 'servers[0].url', /has no host/);
  refused(URL_OK, { servers: [{}] }, 'servers[0].url', /required/);
  refused(URL_OK, { servers: 'mqtt://b' }, 'servers');
  // The aliases and bare host names parseServerUrl always took stay valid.
  for (const url of ['tcp://b', 'ssl://b', 'tls://b', 'ws://b', 'wss://b', 'b', 'b:1884']) {
    resolveOptions(url);
  }
});

test('a password typed into a server URL is never echoed', () => {
  const secret = 'hunter2';
  for (const url of [
    `mqtt://user:${secret}@`,
    `mqtt://user:${secret}@broker:99999`,
    `foo://user:${secret}@broker`,
    `mqtt://user:${secret}/x@broker:1883`,
    `mqtt://user:p@${secret}@broker:0`,
  ]) {
    const message = refused(url, {}, 'url');
    assert.ok(!message.includes(secret), message);
    const backup = refusal(() => resolveOptions(URL_OK, { servers: [url] }));
    assert.ok(!backup.message.includes(secret), backup.message);
  }
});

test('credentials in a URL are used, and refused when also given as options', () => {
  const o = resolveOptions('mqtt://dev%40site:p%40ss@broker:1883', { servers: ['mqtt://u@b'] });
  assert.equal(o.servers[0]?.username, 'dev@site');
  assert.equal(o.servers[0]?.password, 'p@ss');
  assert.equal(o.servers[1]?.username, 'u');
  refused('mqtt://u:p@broker', { username: 'v' }, 'username', /given twice/);
  refused('mqtt://u:p@broker', { password: 'q' }, 'password', /given twice/);
});

test('a PSK identity and key are checked with the field named, the key never echoed', () => {
  const identity = 'device-1';
  const secret = 'abc0123456789';
  const cases: [unknown, string, RegExp][] = [
    [{ identity, key: secret }, 'psk.key', /even number of hexadecimal digits/],
    [{ identity, key: 'not-hex-0123' }, 'psk.key', /only hexadecimal digits/],
    [{ identity, key: '' }, 'psk.key', /non-empty/],
    [{ identity, key: 12 }, 'psk.key', /non-empty string/],
    [{ identity, key: 'ab'.repeat(257) }, 'psk.key', /at most 512 hexadecimal digits/],
    [{ identity: '', key: '00' }, 'psk.identity', /non-empty/],
    [{ key: '00' }, 'psk.identity', /non-empty/],
    [{ identity: 'é'.repeat(65), key: '00' }, 'psk.identity', /at most 128 bytes/],
    [{ identity: 'a\u0000b', key: '00' }, 'psk.identity', /U\+0000/],
    [{ identity: 'a\ud800', key: '00' }, 'psk.identity', /lone UTF-16 surrogate/],
    ['device-1:00ff', 'psk', /must be an object/],
  ];
  for (const [psk, field, message] of cases) {
    const text = refused(TLS_URL, { psk }, field, message);
    assert.ok(!text.includes(secret), text);
  }
  refused(
    URL_OK,
    { servers: [{ url: TLS_URL, psk: { identity, key: 'xyz' } }] },
    'servers[0].psk.key',
  );
  refused(URL_OK, { psk: { identity, key: '00ff' } }, 'psk', /does not use TLS/);
  resolveOptions(TLS_URL, { psk: { identity, key: '00ff'.repeat(64) } });
});

test('strings sent in CONNECT must be well-formed UTF-8, without U+0000, within 65,535 bytes', () => {
  refused(URL_OK, { clientId: 'a\ud800b' }, 'clientId', /lone UTF-16 surrogate.*MQTT-1\.5\.3-1/);
  refused(URL_OK, { clientId: 'a\u0000b' }, 'clientId', /U\+0000/);
  refused(URL_OK, { clientId: 'é'.repeat(32768) }, 'clientId', /65,535 bytes/);
  refused(URL_OK, { clientId: 42 }, 'clientId', /must be a string/);
  refused(URL_OK, { username: '\udc00' }, 'username', /lone UTF-16 surrogate/);
  refused(URL_OK, { username: 'u\u0000' }, 'username', /U\+0000/);
  refused(
    URL_OK,
    { servers: [{ url: URL_OK, username: 'a\ud800' }] },
    'servers[0].username',
    /surrogate/,
  );
  refused(URL_OK, { username: 'u', password: 'p\ud800' }, 'password', /give it as bytes/);
  refused(URL_OK, { will: { topic: 'a\ud800b', payload: 'x' } }, 'will.topic', /MQTT-1\.5\.3-1/);
  refused(URL_OK, { will: { topic: 'w', payload: 'x\udfff' } }, 'will.payload', /surrogate/);
  // A surrogate pair is a character like any other.
  resolveOptions(URL_OK, { clientId: '\ud83d\ude00', username: '\ud83d\ude00' });
});

test('the exported validators name the field given and accept what the wire accepts', () => {
  const fieldOf = (fn: () => void) => refusal(fn).field;
  assert.equal(
    fieldOf(() => validateClientId('a\ud800', { field: 'connection.clientId' })),
    'connection.clientId',
  );
  assert.equal(
    fieldOf(() => validateClientId('', { clean: false })),
    'clientId',
  );
  assert.equal(
    fieldOf(() => validateUsername('x\u0000', 'login.username')),
    'login.username',
  );
  assert.equal(
    fieldOf(() => validateMqttString('\udc00', 'lwt.topic')),
    'lwt.topic',
  );
  assert.equal(
    fieldOf(() => validatePassword(new Uint8Array(65536))),
    'password',
  );
  validateClientId('');
  validateClientId('x'.repeat(65535), { clean: false });
  validateUsername('ünïcödé \ud83d\ude00');
  validatePassword(new Uint8Array([0, 255]));
});

test('CONNECT rules the encoder would refuse on every attempt are refused at once', () => {
  refused(URL_OK, { password: 'p' }, 'password', /only with a user name \[MQTT-3\.1\.2-22\]/);
  refused(
    URL_OK,
    { will: { topic: 'w', payload: new Uint8Array(65536) } },
    'will.payload',
    /65,535 bytes/,
  );
  refused(URL_OK, { will: { topic: 'w', payload: 'x', retain: 'yes' } }, 'will.retain');
  refused(URL_OK, { will: 'w' }, 'will', /must be an object/);
  refused(URL_OK, { clean: 'no' }, 'clean');
});

test('settings for a scheme that does not use them, or beside a server object, are refused', () => {
  refused(URL_OK, { tls: { rejectUnauthorized: false } }, 'tls', /does not use TLS/);
  refused('ws://b', { tls: {} }, 'tls', /does not use TLS/);
  refused(URL_OK, { wsPath: '/mqtt' }, 'wsPath', /not a WebSocket URL/);
  refused('ws://b', { wsPath: 'mqtt' }, 'wsPath', /starting with \//);
  refused(URL_OK, { family: 5 }, 'family');
  refused({ url: URL_OK }, { username: 'u' }, 'username', /put it there/);
  refused({ url: TLS_URL }, { tls: {} }, 'tls', /put it there/);
});

test('TLS option shapes are checked without a connection', () => {
  refused(TLS_URL, { tls: { alpn: 'mqtt' } }, 'tls.alpn');
  refused(TLS_URL, { tls: { alpn: [''] } }, 'tls.alpn[0]');
  refused(TLS_URL, { tls: { minVersion: 'TLSv1.4' } }, 'tls.minVersion');
  refused(
    TLS_URL,
    { tls: { minVersion: 'TLSv1.3', maxVersion: 'TLSv1.2' } },
    'tls.minVersion',
    /above/,
  );
  refused(TLS_URL, { tls: { rejectUnauthorized: 'false' } }, 'tls.rejectUnauthorized');
  refused(TLS_URL, { tls: { servername: '' } }, 'tls.servername');
  refused(TLS_URL, { tls: { ca: [] } }, 'tls.ca', /trusts no server/);
  refused(TLS_URL, { tls: { ca: '' } }, 'tls.ca', /is empty/);
  refused(TLS_URL, { tls: { ca: 42 } }, 'tls.ca', /PEM text or bytes/);
  refused(TLS_URL, { tls: { ca: 'not a certificate' } }, 'tls.ca', /holds no PEM certificate/);
  refused(TLS_URL, { tls: { ca: '/etc/ssl/ca.pem' } }, 'tls.ca', /looks like a file name/);
  refused(
    TLS_URL,
    { tls: { ca: new Uint8Array(MAX_TLS_MATERIAL_BYTES + 1) } },
    'tls.ca',
    /more than the 1048576 allowed/,
  );
  refused(TLS_URL, { tls: { ca: new Uint8Array([0x30, 0x03, 1, 2, 3]) } }, 'tls.ca', /DER/);
  refused(TLS_URL, { tls: { passphrase: 'x' } }, 'tls.passphrase', /tls\.key is not/);
  refused(TLS_URL, { tls: null }, 'tls', /must be an object/);
  refused(URL_OK, { servers: [{ url: TLS_URL, tls: { ca: 'junk' } }] }, 'servers[0].tls.ca');
});

test('MQTT 5.0 options become CONNECT properties, ours only; refused for 3.1.1 by field', () => {
  const o = resolveOptions(URL_OK, {
    protocolVersion: 5,
    sessionExpirySec: 600,
    receiveMaximum: 20,
    maxPacketSize: 4096,
    requestResponseInformation: true,
    userProperties: { site: 'north' },
  });
  assert.deepEqual(o.connectProperties, {
    sessionExpiryIntervalSec: 600,
    receiveMaximum: 20,
    maximumPacketSizeBytes: 4096,
    requestResponseInformation: true,
    userProperties: [['site', 'north']],
  });
  // Defaults are left out: absent on the wire means the same.
  assert.deepEqual(resolveOptions(URL_OK, { protocolVersion: 5 }).connectProperties, {});
  assert.equal(resolveOptions(URL_OK).connectProperties, undefined);
  refused(URL_OK, { sessionExpirySec: 60 }, 'sessionExpirySec', /set protocolVersion: 5/);
  refused(URL_OK, { protocolVersion: 4, receiveMaximum: 5 }, 'receiveMaximum', /MQTT 5\.0/);
  refused(URL_OK, { protocolVersion: 5, receiveMaximum: 0 }, 'receiveMaximum', /1 to 65535/);
  refused(URL_OK, { protocolVersion: 5, sessionExpirySec: -1 }, 'sessionExpirySec');
  refused(URL_OK, { protocolVersion: 5, userProperties: [['a']] }, 'userProperties[0]');
  refused(URL_OK, { protocolVersion: 5, userProperties: 'a=b' }, 'userProperties');
  refused(URL_OK, { protocolVersion: 6 }, 'protocolVersion', /must be 5/);
  // [MQTT-3.1.3-6] 5.0 lets the server assign an id even for a persistent session.
  assert.equal(
    resolveOptions(URL_OK, { protocolVersion: 5, clientId: '', clean: false }).clientId,
    '',
  );
  refused(URL_OK, { clientId: '', clean: false }, 'clientId', /MQTT-3\.1\.3-7/);
});
