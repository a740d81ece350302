// connection.profile in the agent: topic rows and settings checked against the platform at
// config time (the row named), and examples/aws-iot.json and examples/azure-iot.json run
// against the emulators the tests start (AWS-like: SNI + ALPN checks in front of Mosquitto;
// Azure-like: SAS token verified), with the console's platform card fed from the snapshot.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { after, before, describe, it } from 'node:test';
import { createClient } from 'courier-mqtt';
import { type AwsIotEmulator, startAwsIotEmulator } from '../../../test/helpers/aws-iot.js';
import {
  type AzureIotHubEmulator,
  startAzureIotHubEmulator,
} from '../../../test/helpers/azure-iot-hub.js';
import { type TestCerts, testCerts } from '../../../test/helpers/certs.js';
import { Agent } from '../src/agent/agent.js';
import { ConfigError } from '../src/config/errors.js';
import { parseConfig } from '../src/config/validate.js';
import { redactConfig } from '../src/web/secrets.js';
import { deferrer, waitFor } from './util.js';

const root = new URL('../../../', import.meta.url);
const example = (name: string): Record<string, unknown> =>
  JSON.parse(readFileSync(new URL(`examples/${name}`, root), 'utf8')) as Record<string, unknown>;

function issuesOf(raw: unknown): { path: string; message: string }[] {
  try {
    parseConfig(raw);
  } catch (error) {
    assert.ok(error instanceof ConfigError, String(error));
    return [...error.issues];
  }
  return [];
}

const KEY = Buffer.from('0123456789abcdef0123456789abcdef').toString('base64');

describe('connection.profile: config-time checks', () => {
  it('the examples validate', () => {
    parseConfig(example('aws-iot.json'));
    parseConfig(example('azure-iot.json'));
  });

  it('a QoS 2 row on AWS IoT is an error naming the row; so is a QoS 2 Will and plain TCP', () => {
    const raw = example('aws-iot.json');
    const topics = raw.topics as Record<string, unknown>[];
    topics[1] = { ...topics[1], qos: 2 };
    const issues = issuesOf({ ...raw, lwt: { topic: 'w', message: 'x', qos: 2 } });
    assert.deepEqual(
      issues.map((i) => i.path),
      ['lwt.qos', 'topics[1].qos'],
    );
    assert.match(issues[1]!.message, /AWS IoT Core \(profile aws-iot\) takes QoS 1 at most/);
    const plain = issuesOf({
      ...example('aws-iot.json'),
      security: { authMode: 'server', ca: 'ca.pem' },
    });
    assert.deepEqual(
      plain.map((i) => i.path),
      ['security.authMode'],
    );
    assert.match(plain[0]!.message, /X\.509 client certificate/);
  });

  it('Azure: retained rows, foreign topics, a login or a missing azure section are errors', () => {
    const raw = example('azure-iot.json');
    const topics = raw.topics as Record<string, unknown>[];
    const bad = {
      ...raw,
      login: { username: 'u', password: 'p' },
      topics: [
        { ...topics[0], retain: true },
        { ...topics[0], topic: 'telemetry/pump-7' },
        { ...topics[1], topic: 'devices/other/messages/devicebound/#' },
      ],
    };
    assert.deepEqual(
      issuesOf(bad).map((i) => i.path),
      [
        'login.username',
        'login.password',
        'topics[0].retain',
        'topics[1].topic',
        'topics[2].topic',
      ],
    );
    const { azure: _azure, ...withoutAzure } = raw;
    assert.deepEqual(
      issuesOf(withoutAzure).map((i) => i.path),
      ['azure'],
    );
    assert.deepEqual(
      issuesOf({ ...raw, azure: { ...(raw.azure as object), deviceKey: 'not a key' } }).map(
        (i) => i.path,
      ),
      ['azure.deviceKey'],
    );
    // Exosite: retained rows refused too.
    const exosite = issuesOf({
      connection: { server: 'x.m2.exosite.io', profile: 'exosite' },
      security: { authMode: 'server', ca: 'ca.pem' },
      device: { channels: [{ id: 0, name: 'T', type: 'analog-input' }] },
      topics: [
        {
          topic: '$resource/data_in',
          direction: 'publish',
          channel: 0,
          format: { type: 'number' },
          retain: true,
        },
      ],
    });
    assert.deepEqual(
      exosite.map((i) => i.path),
      ['topics[0].retain'],
    );
  });

  it('the device key is a secret: not in what the console is sent', () => {
    const config = parseConfig(example('azure-iot.json'));
    const { config: shown, secrets } = redactConfig(config);
    assert.equal(
      JSON.stringify(shown).includes((config.azure as { deviceKey: string }).deviceKey),
      false,
    );
    assert.equal(secrets['azure.deviceKey'], true);
  });
});

describe('connection.profile: the examples against the emulators', () => {
  let certs: TestCerts;
  let aws: AwsIotEmulator;
  let azure: AzureIotHubEmulator;
  before(async () => {
    certs = await testCerts();
    aws = await startAwsIotEmulator(undefined, certs);
    azure = await startAzureIotHubEmulator(undefined, certs, { 'pump-7': KEY }, 'localhost');
  });
  after(async () => {
    await azure?.close();
    await aws?.close();
    await aws?.broker.stop();
  });

  it('examples/aws-iot.json: SNI on the 8883 listener, QoS 1 rows, the certificates on the card', async (t) => {
    const defer = deferrer(t);
    const raw = example('aws-iot.json');
    const config = parseConfig({
      ...raw,
      connection: {
        ...(raw.connection as object),
        server: '127.0.0.1',
        port: aws.port8883,
        // The emulator's certificate names localhost: sent as SNI, which AWS requires.
        endpointName: 'localhost',
      },
      security: {
        authMode: 'server+client',
        ca: certs.ca.certFile,
        cert: certs.client.certFile,
        key: certs.client.keyFile,
      },
      web: { enabled: false },
    });
    const refusals = aws.refusals.length;
    const agent = new Agent(config);
    defer(() => agent.close());
    await agent.start();
    await agent.whenConnected(10_000);
    await waitFor(
      () =>
        aws.packets.some(
          (p) => p.type === 'publish' && p.topic === 'pumps/pump-7/flow' && p.qos === 1,
        ),
      'a QoS 1 publish of the flow row',
    );
    assert.ok(
      aws.packets.some(
        (p) =>
          p.type === 'subscribe' && p.subscriptions.some((s) => s.topic === 'pumps/pump-7/run/set'),
      ),
    );
    assert.deepEqual(aws.refusals.slice(refusals), [], 'no AWS rule broken');
    const platform = agent.snapshot().platform;
    assert.equal(platform?.profile, 'aws-iot');
    assert.equal(platform?.endpointName, 'localhost');
    assert.deepEqual(platform?.certificates, { ca: true, cert: true, key: true });
  });

  it('the same agent on the 443-like listener: refused without ALPN x-amzn-mqtt-ca, accepted with it', async (t) => {
    const defer = deferrer(t);
    const raw = example('aws-iot.json');
    const config = parseConfig({
      ...raw,
      connection: {
        ...(raw.connection as object),
        server: '127.0.0.1',
        port: aws.port443,
        endpointName: 'localhost',
      },
      security: {
        authMode: 'server+client',
        ca: certs.ca.certFile,
        cert: certs.client.certFile,
        key: certs.client.keyFile,
      },
      reconnect: { minDelaySec: 0.05, maxDelaySec: 0.05 },
      web: { enabled: false },
    });
    // The library sets the ALPN name by itself only on port 443 (the emulator's port is
    // another one): first without it, then with it added as the library would.
    const refusals = aws.refusals.length;
    const without = new Agent(config);
    defer(() => without.close());
    await without.start();
    await waitFor(
      () => aws.refusals.slice(refusals).some((r) => r.rule === 'alpn'),
      'ALPN refusal',
    );
    await without.close();
    const agent = new Agent(config, {
      createClient: (url, options) =>
        createClient(url, { ...options, tls: { ...options.tls, alpn: ['x-amzn-mqtt-ca'] } }),
    });
    defer(() => agent.close());
    await agent.start();
    await agent.whenConnected(10_000);
  });

  it('examples/azure-iot.json: the SAS token verifies, telemetry arrives, the card shows its times', async (t) => {
    const defer = deferrer(t);
    const raw = example('azure-iot.json');
    const config = parseConfig({
      ...raw,
      connection: { ...(raw.connection as object), server: '127.0.0.1', port: azure.port },
      security: { authMode: 'server', ca: certs.ca.certFile },
      azure: { ...(raw.azure as object), hub: 'localhost', deviceKey: KEY },
      web: { enabled: false },
    });
    const agent = new Agent(config);
    defer(() => agent.close());
    await agent.start();
    await agent.whenConnected(10_000);
    await azure.until(() =>
      azure.messages.some(
        (m) => m.deviceId === 'pump-7' && m.topic === 'devices/pump-7/messages/events/',
      ),
    );
    assert.deepEqual(azure.refusals, []);
    const card = agent.snapshot().platform?.azure;
    assert.ok(card !== undefined);
    assert.equal(card.deviceKeySet, true);
    assert.equal(card.sasExpiresAt, azure.connections.at(-1)!.expirySec * 1000);
    assert.ok(card.sasRenewAt !== undefined && card.sasRenewAt < card.sasExpiresAt!);
    assert.equal(JSON.stringify(agent.snapshot()).includes(KEY), false, 'the key is not shown');
  });
});
