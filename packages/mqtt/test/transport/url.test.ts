/** parseServerUrl: schemes and aliases, default ports and path, IPv6 brackets, bare hosts, errors. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { InvalidOptionError } from '../../src/errors.js';
import { parseServerUrl, redactUrl } from '../../src/transport/index.js';

test('default ports and the default WebSocket path per scheme', () => {
  assert.deepEqual(parseServerUrl('mqtt://broker'), {
    protocol: 'mqtt',
    host: 'broker',
    port: 1883,
    path: '/mqtt',
  });
  assert.deepEqual(parseServerUrl('mqtts://broker'), {
    protocol: 'mqtts',
    host: 'broker',
    port: 8883,
    path: '/mqtt',
  });
  assert.deepEqual(parseServerUrl('ws://broker'), {
    protocol: 'ws',
    host: 'broker',
    port: 80,
    path: '/mqtt',
  });
  assert.deepEqual(parseServerUrl('wss://broker:8443/x?y=1'), {
    protocol: 'wss',
    host: 'broker',
    port: 8443,
    path: '/x?y=1',
  });
});

test('aliases, IPv6 in brackets, and bare host or host:port mean mqtt', () => {
  assert.equal(parseServerUrl('tcp://h').protocol, 'mqtt');
  assert.equal(parseServerUrl('ssl://h').protocol, 'mqtts');
  assert.equal(parseServerUrl('tls://h').protocol, 'mqtts');
  assert.deepEqual(parseServerUrl('mqtt://[::1]:1884'), {
    protocol: 'mqtt',
    host: '::1',
    port: 1884,
    path: '/mqtt',
  });
  assert.deepEqual(parseServerUrl('broker.local'), {
    protocol: 'mqtt',
    host: 'broker.local',
    port: 1883,
    path: '/mqtt',
  });
  assert.deepEqual(parseServerUrl('10.0.0.2:1999'), {
    protocol: 'mqtt',
    host: '10.0.0.2',
    port: 1999,
    path: '/mqtt',
  });
});

test('invalid URLs throw InvalidOptionError naming url', () => {
  for (const bad of ['', 'http://broker', 'mqtt://', 'mqtt://host:99999']) {
    assert.throws(
      () => parseServerUrl(bad),
      (e: unknown) => e instanceof InvalidOptionError && e.message.includes('url'),
      bad,
    );
  }
});

test('a password typed into an invalid URL is not echoed', () => {
  assert.throws(
    () => parseServerUrl('mqtt://user:hunter2@'),
    (e: unknown) => e instanceof InvalidOptionError && !e.message.includes('hunter2'),
  );
});

test('the field is named as given, and a missing "//" is not read as a host', () => {
  for (const bad of ['mqtts:/broker', 'mqtt:broker', 'broker/x', 'mqtt://b:0', 'mqtt://b:x']) {
    assert.throws(
      () => parseServerUrl(bad, 'servers[2].url'),
      (e: unknown) => e instanceof InvalidOptionError && e.field === 'servers[2].url',
      bad,
    );
  }
});

test('redactUrl hides everything up to the last @, where a password typed raw may end', () => {
  assert.equal(redactUrl('mqtt://u:p@ss@broker:1883'), 'mqtt://***@broker:1883');
  assert.equal(redactUrl('u:p@ss@broker'), '***@broker');
  assert.equal(redactUrl('mqtts://broker:8883'), 'mqtts://broker:8883');
  assert.deepEqual(parseServerUrl('mqtt://u%3Ax:p@ss@b').password, 'p@ss');
});
