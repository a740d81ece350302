/**
 * The agent at MQTT 5.0 (`connection.protocolVersion: "5"`) against a real Mosquitto.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { connect } from 'courier-mqtt';
import { startMosquitto } from '../../../test/helpers/mosquitto.js';
import { Agent } from '../src/agent/agent.js';
import { lucidChannels, lucidTopics } from '../src/agent/demo.js';
import { resolveClientOptions } from '../src/config/client-options.js';
import { parseConfig, validateConfig } from '../src/config/validate.js';
import { startMosquittoSub } from './mosquitto-cli.js';
import { deferrer, waitFor } from './util.js';

/** ValveState (a retained publish row) with every MQTT 5 message property a row can have. */
function rowsWithProperties(): Record<string, unknown>[] {
  return lucidTopics().map((row) =>
    row.topic === 'ValveState'
      ? {
          ...row,
          messageExpirySec: 3600,
          contentType: 'text/plain',
          userProperties: [
            { name: 'site', value: 'north' },
            { name: 'site', value: 'backup hall' },
            { name: 'unit', value: '°C' },
          ],
        }
      : row,
  );
}

describe('agent at MQTT 5.0', () => {
  it('connects at protocol level 5, publishes its readings and obeys commands', async (t) => {
    const defer = deferrer(t);
    const broker = await startMosquitto(t);
    const agent = new Agent(
      parseConfig({
        connection: {
          server: broker.host,
          port: broker.port,
          clientId: 'agent-v5',
          protocolVersion: '5',
        },
        device: { channels: lucidChannels() },
        topics: lucidTopics(),
        web: { enabled: false },
      }),
    );
    defer(() => agent.close(1000));
    const watcher = await connect(broker.url(), { protocolVersion: 5 });
    defer(() => watcher.end({ force: true }));
    const states = await watcher.subscribe('ValveState', { qos: 1 });
    const it = states[Symbol.asyncIterator]();
    await agent.start();
    await agent.whenSubscribed();
    assert.match(broker.log(), /as agent-v5 \(p5,/, 'the broker saw MQTT 5.0');
    await watcher.publish('Valve', 'On', { qos: 1 });
    for (;;) {
      const m = (await it.next()).value!;
      if (new TextDecoder().decode(m.payload) === 'On') break;
    }
  });

  it('a persistent session at 5.0 never expires unless told; sessionExpirySec needs version 5', async () => {
    const base = { server: 'broker', clientId: 'x', protocolVersion: '5' };
    const persistent = await resolveClientOptions(
      parseConfig({ connection: { ...base, cleanSession: false } }),
    );
    assert.equal(persistent.options.sessionExpirySec, 0xffff_ffff);
    const hour = await resolveClientOptions(
      parseConfig({ connection: { ...base, cleanSession: false, sessionExpirySec: 3600 } }),
    );
    assert.equal(hour.options.sessionExpirySec, 3600);
    const clean = await resolveClientOptions(parseConfig({ connection: base }));
    assert.equal(clean.options.sessionExpirySec, undefined);
    const v311 = validateConfig({ connection: { server: 'b', sessionExpirySec: 10 } });
    assert.equal(v311.ok, false);
    assert.deepEqual(v311.ok ? [] : v311.issues.map((i) => i.path), [
      'connection.sessionExpirySec',
    ]);
  });

  it('a publish row sends its expiry, content type and user properties with each message', async (t) => {
    const defer = deferrer(t);
    const broker = await startMosquitto(t);
    // mosquitto_sub at 5.0 is the independent reader of the properties.
    const sub = startMosquittoSub(t, [
      ...['-h', broker.host, '-p', String(broker.port), '-V', '5', '-t', 'ValveState'],
      ...['-C', '1', '-F', '%t|%p|%C|%P|%E|%r'],
    ]);
    await waitFor(() => sub.subscribed(), `mosquitto_sub's SUBACK (output: ${sub.output})`);
    const agent = new Agent(
      parseConfig({
        connection: {
          server: broker.host,
          port: broker.port,
          clientId: 'agent-v5-props',
          protocolVersion: '5',
        },
        device: { channels: lucidChannels() },
        topics: rowsWithProperties(),
        web: { enabled: false },
      }),
    );
    defer(() => agent.close(1000));
    await agent.start();
    assert.equal(await sub.exited, 0, sub.output);
    // Delivered at once: the broker passes the expiry on unchanged (less the time it waited).
    assert.match(
      sub.messages().trim(),
      /^ValveState\|(On|Off)\|text\/plain\|site:north site:backup hall unit:°C\|(3600|3599)\|0$/,
    );
    // The retained copy keeps them too: a later subscriber through the library sees them.
    const watcher = await connect(broker.url(), { protocolVersion: 5 });
    defer(() => watcher.end({ force: true }));
    const retained = await watcher.subscribe('ValveState');
    const m = (await retained[Symbol.asyncIterator]().next()).value!;
    assert.equal(m.retain, true);
    assert.equal(m.properties?.contentType, 'text/plain');
    assert.deepEqual(m.properties?.userProperties, [
      ['site', 'north'],
      ['site', 'backup hall'],
      ['unit', '°C'],
    ]);
  });

  it('row properties are refused on 3.1.1 and on subscribe rows, naming the row', () => {
    const channels = lucidChannels();
    const v311 = validateConfig({
      connection: { server: 'b' },
      device: { channels },
      topics: rowsWithProperties(),
    });
    assert.equal(v311.ok, false);
    const issues = v311.ok ? [] : v311.issues;
    assert.deepEqual(
      issues.map((i) => i.path),
      ['topics[2].messageExpirySec', 'topics[2].contentType', 'topics[2].userProperties'],
    );
    assert.equal(
      issues[1]?.message,
      'is an MQTT 5 message property: set connection.protocolVersion to "5" (topics[2] publishes on "ValveState")',
    );
    const v5 = { server: 'b', protocolVersion: '5' };
    const subscribeRow = validateConfig({
      connection: v5,
      device: { channels },
      topics: [{ ...lucidTopics()[0], contentType: 'text/plain' }],
    });
    assert.deepEqual(subscribeRow.ok ? [] : subscribeRow.issues, [
      { path: 'topics[0].contentType', message: 'only publish rows have this setting' },
    ]);
    // The wire's string rules and the bounds, named field by field.
    const bad = validateConfig({
      connection: v5,
      device: { channels },
      topics: [
        {
          ...lucidTopics()[1],
          contentType: 'a\u0000b',
          userProperties: [{ name: 'x', value: '\uD800' }],
          messageExpirySec: 0,
        },
        {
          ...lucidTopics()[2],
          userProperties: Array.from({ length: 33 }, (_, i) => ({ name: 'n', value: `${i}` })),
        },
      ],
    });
    assert.deepEqual((bad.ok ? [] : bad.issues).map((i) => i.path).sort(), [
      'topics[0].contentType',
      'topics[0].messageExpirySec',
      'topics[0].userProperties[0].value',
      'topics[1].userProperties',
    ]);
  });
});
