// The command line's pure parts: flags to client options, log levels, debug lines, percentiles.
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { humanLine, parseLevel } from '../src/cli/logger.js';
import { resolveConnectFlags, UsageError } from '../src/tools/connect-options.js';
import { describePacket } from '../src/tools/describe-packet.js';
import { percentile } from '../src/tools/stats.js';

describe('connection flags', () => {
  it('default to mqtt://localhost:1883, MQTT 3.1.1, clean session, keep-alive 60', async () => {
    const r = await resolveConnectFlags({});
    assert.equal(r.url, 'mqtt://localhost:1883');
    assert.deepEqual(r.options, {
      clean: true,
      keepaliveSec: 60,
      protocolVersion: 4,
      reconnect: false,
    });
  });

  it('map -h -p -i -u -P -k -V -c and the Will', async () => {
    const r = await resolveConnectFlags({
      host: '::1',
      port: 1884,
      id: 'dev',
      username: 'u',
      password: 'p',
      keepalive: 5,
      protocolVersion: 'mqttv31',
      persistent: true,
      willTopic: 'w',
      willPayload: 'bye',
      willQos: 1,
      willRetain: true,
    });
    assert.equal(r.url, 'mqtt://[::1]:1884');
    assert.deepEqual(r.options, {
      clientId: 'dev',
      clean: false,
      keepaliveSec: 5,
      protocolVersion: 3,
      username: 'u',
      password: 'p',
      reconnect: false,
      will: { topic: 'w', payload: 'bye', qos: 1, retain: true },
    });
  });

  it('take -L mqtt(s)://user:password@host:port/topic', async () => {
    const r = await resolveConnectFlags({
      url: 'mqtts://al%40ice:s3cret@broker.example:8884/PV/sunshine',
      insecure: true,
    });
    assert.equal(r.url, 'mqtts://broker.example:8884');
    assert.equal(r.urlTopic, 'PV/sunshine');
    assert.equal(r.options.username, 'al@ice');
    assert.equal(r.options.password, 's3cret');
    assert.deepEqual(r.options.tls, { rejectUnauthorized: false });
  });

  it('read --cafile/--cert/--key and switch to TLS on 8883; PSK too', async () => {
    const dir = tmpdir();
    for (const f of ['ca', 'cert', 'key']) writeFileSync(join(dir, `courier-${f}.pem`), `${f} pem`);
    const tls = await resolveConnectFlags({
      host: 'h',
      cafile: join(dir, 'courier-ca.pem'),
      cert: join(dir, 'courier-cert.pem'),
      key: join(dir, 'courier-key.pem'),
    });
    assert.equal(tls.url, 'mqtts://h:8883');
    assert.deepEqual(tls.options.tls, { ca: 'ca pem', cert: 'cert pem', key: 'key pem' });
    const psk = await resolveConnectFlags({
      host: 'h',
      psk: '0123456789abcdef0123',
      pskIdentity: 'btsiot1',
    });
    assert.equal(psk.url, 'mqtts://h:8883');
    assert.deepEqual(psk.options.psk, { identity: 'btsiot1', key: '0123456789abcdef0123' });
  });

  it('refuse inconsistent flags with mosquitto-like messages', async () => {
    const refused = (flags: Parameters<typeof resolveConnectFlags>[0], message: string) =>
      assert.rejects(
        resolveConnectFlags(flags),
        (e: unknown) => e instanceof UsageError && e.message === message,
      );
    await refused({ psk: 'ab' }, 'Error: --psk and --psk-identity must be given together.');
    await refused({ psk: 'xyz', pskIdentity: 'i' }, 'Error: --psk must be hexadecimal digits.');
    await refused(
      { cert: 'c' },
      'Error: Both certfile and keyfile must be provided if one of them is set.',
    );
    await refused(
      { persistent: true },
      'Error: You must provide a client id if you are using the -c option.',
    );
    await refused(
      { protocolVersion: '6' },
      'Error: Invalid protocol version argument given (6); courier speaks 5, 311 and 31 (mqttv5, mqttv311, mqttv31).',
    );
    await refused(
      { password: 'p' },
      'Error: -P needs -u (MQTT 3.1.1 sends no password without a user name).',
    );
    await refused(
      { willPayload: 'x' },
      'Error: Will payload, QoS or retain given without --will-topic.',
    );
    await refused({ url: 'http://x' }, 'Error: -L URL must start with mqtt:// or mqtts://.');
    await refused(
      { cafile: '/nonexistent/ca.pem' },
      'Error: cannot read --cafile /nonexistent/ca.pem: ENOENT',
    );
  });
});

describe('logging', () => {
  it('reads -d as a level name or a digit', () => {
    assert.equal(parseLevel('debug'), 'debug');
    assert.equal(parseLevel('0'), 'error');
    assert.equal(parseLevel('4'), 'trace');
    assert.throws(() => parseLevel('loud'), UsageError);
  });
  it('formats records as one human line', () => {
    const line = humanLine({
      time: Date.UTC(2026, 0, 1, 12, 30, 5, 7),
      level: 40,
      msg: 'payload rejected',
      topic: 'Valve',
      payload: 'half open',
      pid: 1,
    });
    assert.equal(line, '12:30:05.007 WARN  payload rejected topic=Valve payload="half open"\n');
  });
});

describe('debug lines', () => {
  it('describe packets in mosquitto words', () => {
    const payload = new TextEncoder().encode('hi');
    assert.equal(
      describePacket('', 'sending', {
        type: 'publish',
        topic: 'a/b',
        payload,
        qos: 1,
        retain: true,
        dup: false,
        packetId: 7,
      }),
      "Client (null) sending PUBLISH (d0, q1, r1, m7, 'a/b', ... (2 bytes))",
    );
    assert.equal(
      describePacket('x', 'received', { type: 'connack', sessionPresent: false, returnCode: 0 }),
      'Client x received CONNACK (0)',
    );
    assert.equal(
      describePacket('x', 'received', { type: 'pubrec', packetId: 3 }),
      'Client x received PUBREC (m3)',
    );
    assert.equal(describePacket('x', 'sending', { type: 'pingreq' }), 'Client x sending PINGREQ');
  });
});

describe('bench statistics', () => {
  it('takes nearest-rank percentiles', () => {
    const sorted = Array.from({ length: 100 }, (_, i) => i + 1);
    assert.equal(percentile(sorted, 0.5), 50);
    assert.equal(percentile(sorted, 0.95), 95);
    assert.equal(percentile(sorted, 0.99), 99);
    assert.equal(percentile([4], 0.99), 4);
    assert.ok(Number.isNaN(percentile([], 0.5)));
  });
});
