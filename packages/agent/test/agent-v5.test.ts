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
import { deferrer } from './util.js';

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
});
