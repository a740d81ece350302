/**
 * Home Assistant MQTT discovery (device-based), checked against the rules of Home Assistant's
 * MQTT documentation, and end to end against a real Mosquitto with a client playing Home
 * Assistant: it reads the discovery, switches the valve through the announced command topic
 * and sees the announced state topic change.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { connect, type Message } from 'courier-mqtt';
import { startMosquitto } from '../../../test/helpers/mosquitto.js';
import { Agent } from '../src/agent/agent.js';
import { lucidChannels, lucidTopics } from '../src/agent/demo.js';
import { resolveClientOptions } from '../src/config/client-options.js';
import type { AgentConfig } from '../src/config/schema.js';
import { loadConfig, parseConfig, resolveChannel, validateConfig } from '../src/config/validate.js';
import {
  buildDiscovery,
  type Component,
  type DiscoveryPayload,
  removedComponents,
} from '../src/sinks/home-assistant.js';
import { deferrer } from './util.js';

/** The LucidIoT example with discovery on. */
function lucid(extra: Record<string, unknown> = {}, host = '127.0.0.1', port = 1883): AgentConfig {
  return parseConfig({
    connection: { server: host, port, clientId: 'lucid-1' },
    device: { name: 'LucidIoT', channels: lucidChannels() },
    topics: lucidTopics(),
    homeassistant: { discovery: true, rediscoverMaxDelayMs: 0 },
    ...extra,
  });
}

/**
 * Home Assistant's rules for an MQTT discovery payload (integrations/mqtt, "Device discovery
 * payload", and each platform's required options), written from its documentation.
 */
const REQUIRED: Record<string, readonly string[]> = {
  switch: ['command_topic'],
  binary_sensor: ['state_topic'],
  sensor: ['state_topic'],
  number: ['command_topic'],
};
const SENSOR_STATE_CLASSES = ['measurement', 'total', 'total_increasing'];

function checkPayload(payload: DiscoveryPayload, config: AgentConfig): void {
  // Device-based discovery: `dev` and `o` are mandatory at the root.
  assert.ok(Array.isArray(payload.dev.ids) || typeof payload.dev.ids === 'string', 'dev.ids');
  assert.equal(typeof payload.dev.name, 'string');
  assert.equal(typeof payload.o.name, 'string', 'origin name is required');
  const published = new Set(
    config.topics.filter((r) => r.direction === 'publish').map((r) => r.topic),
  );
  const subscribed = new Set(
    config.topics.filter((r) => r.direction === 'subscribe').map((r) => r.topic),
  );
  const uniqueIds = new Set<string>();
  for (const [id, component] of Object.entries(payload.cmps)) {
    assert.match(id, /^[a-zA-Z0-9_-]+$/, 'component ids use [a-zA-Z0-9_-]');
    assert.ok(component.p in REQUIRED, `platform ${component.p}`);
    // `unique_id` is required for entity components in device discovery.
    assert.equal(typeof component.unique_id, 'string', `${id}: unique_id`);
    assert.ok(!uniqueIds.has(component.unique_id as string), 'unique ids are unique');
    uniqueIds.add(component.unique_id as string);
    for (const key of REQUIRED[component.p]!) assert.ok(key in component, `${id}: ${key}`);
    if (component.state_topic !== undefined) {
      assert.ok(published.has(component.state_topic as string), `${id}: a published topic`);
    }
    if (component.command_topic !== undefined) {
      assert.ok(subscribed.has(component.command_topic as string), `${id}: a subscribed topic`);
    }
    if (component.p === 'sensor' && component.state_class !== undefined) {
      assert.ok(SENSOR_STATE_CLASSES.includes(component.state_class as string));
    }
    if (component.p === 'number') {
      assert.ok((component.min as number) < (component.max as number), `${id}: min < max`);
    }
  }
}

describe('Home Assistant discovery payload', () => {
  it('announces the LucidIoT valve as a switch and OfficeTemp as a temperature sensor, by the rules', () => {
    const config = lucid();
    const channels = config.device.channels.map(resolveChannel);
    const { topic, payload, skipped } = buildDiscovery(config, channels, '1.2.3');
    assert.equal(topic, 'homeassistant/device/lucid-1/config');
    checkPayload(payload, config);
    const valve = payload.cmps.ch0 as Component;
    assert.deepEqual(
      {
        p: valve.p,
        command_topic: valve.command_topic,
        payload_on: valve.payload_on,
        payload_off: valve.payload_off,
        state_topic: valve.state_topic,
        state_on: valve.state_on,
        state_off: valve.state_off,
      },
      {
        p: 'switch',
        command_topic: 'Valve',
        payload_on: 'On',
        payload_off: 'Off',
        state_topic: 'ValveState',
        state_on: 'On',
        state_off: 'Off',
      },
    );
    const temp = payload.cmps.ch8 as Component;
    assert.equal(temp.p, 'sensor');
    assert.equal(temp.device_class, 'temperature');
    assert.equal(temp.unit_of_measurement, '°C');
    assert.equal(temp.state_class, 'measurement');
    assert.equal(temp.state_topic, 'OfficeTemp');
    // Channels without rows are not announced, and each says why.
    assert.ok(skipped.some((s) => s.channel === 1 && /subscribe row/.test(s.reason)));
    assert.equal(payload.availability_topic, 'lucid-1/availability');
    assert.equal(payload.payload_available, 'online');
    assert.equal(payload.payload_not_available, 'offline');
  });

  it('unique ids are stable across restarts, and every channel type maps to its platform', () => {
    const channels = [
      { id: 0, name: 'Door', type: 'digital-input' },
      { id: 1, name: 'Level', type: 'analog-input', signal: '4-20mA' },
      { id: 2, name: 'Setpoint', type: 'analog-output', signal: '0-10V' },
    ];
    const topics = [
      { topic: 'door', direction: 'publish', channel: 0, format: { type: 'boolean' } },
      { topic: 'level', direction: 'publish', channel: 1, format: { type: 'json' } },
      { topic: 'sp/set', direction: 'subscribe', channel: 2, format: { type: 'number' } },
      { topic: 'sp', direction: 'publish', channel: 2, format: { type: 'wcc' } },
    ];
    const config = lucid({ device: { channels }, topics });
    const resolved = config.device.channels.map(resolveChannel);
    const a = buildDiscovery(config, resolved, '1');
    const b = buildDiscovery(lucid({ device: { channels }, topics }), resolved, '1');
    assert.deepEqual(a.payload, b.payload, 'the same configuration, the same announcement');
    checkPayload(a.payload, config);
    assert.equal(a.payload.cmps.ch0?.p, 'binary_sensor');
    assert.equal(a.payload.cmps.ch1?.p, 'sensor');
    assert.equal(a.payload.cmps.ch1?.device_class, 'current');
    assert.equal(a.payload.cmps.ch1?.value_template, '{{ value_json.value }}');
    assert.equal(a.payload.cmps.ch2?.p, 'number');
    assert.equal(a.payload.cmps.ch2?.min, 0);
    assert.equal(a.payload.cmps.ch2?.max, 10);
  });

  it('a component announced before and gone now is sent with only its platform (removal)', () => {
    const config = lucid();
    const channels = config.device.channels.map(resolveChannel);
    const before = buildDiscovery(config, channels, '1').payload;
    const without = lucid({ topics: lucidTopics().filter((r) => r.channel !== 0) });
    const now = buildDiscovery(without, channels, '1').payload;
    const removed = removedComponents(before, now);
    assert.deepEqual([...removed], [['ch0', 'switch']]);
    const next = buildDiscovery(without, channels, '1', removed).payload;
    assert.deepEqual(next.cmps.ch0, { p: 'switch' });
    // Once removed, an echo of that payload removes nothing more.
    assert.equal(removedComponents(next, now).size, 0);
  });

  it('examples/home-assistant.yaml announces its four channels, none skipped', async () => {
    const config = await loadConfig(
      new URL('../../../examples/home-assistant.yaml', import.meta.url).pathname,
    );
    const { payload, skipped } = buildDiscovery(
      config,
      config.device.channels.map(resolveChannel),
      '1',
    );
    checkPayload(payload, config);
    assert.deepEqual(skipped, []);
    assert.deepEqual(
      Object.values(payload.cmps).map((c) => `${c.p} ${c.name}`),
      ['switch Valve', 'switch Pump', 'binary_sensor Door', 'sensor OfficeTemp'],
    );
    assert.equal(payload.availability_topic, 'lucidiot-1/status');
  });

  it('the Will is the availability topic; a configured Will must say offline in words', async () => {
    const { options } = await resolveClientOptions(lucid());
    assert.deepEqual(options.will, {
      topic: 'lucid-1/availability',
      payload: 'offline',
      qos: 1,
      retain: true,
    });
    const result = validateConfig({
      connection: { server: 'broker', clientId: 'x' },
      lwt: { topic: 'x/status' },
      homeassistant: { discovery: true, availabilityTopic: 'a/+' },
    });
    assert.equal(result.ok, false);
    const issues = result.ok ? [] : result.issues;
    const paths = issues.map((i) => i.path);
    assert.ok(paths.includes('lwt.message'), JSON.stringify(issues));
    assert.ok(paths.includes('homeassistant.availabilityTopic'), JSON.stringify(issues));
  });
});

describe('Home Assistant end to end', () => {
  it('Home Assistant reads the discovery, switches the valve and sees its state; rediscovery on its birth', async (t) => {
    const defer = deferrer(t);
    const broker = await startMosquitto(t);
    // Home Assistant's side: a plain MQTT client, as HA's own is.
    const ha = await connect(broker.url(), { clientId: 'home-assistant' });
    defer(() => ha.end({ force: true }));
    const discovery = await ha.subscribe('homeassistant/device/+/config', { qos: 1 });
    const configs = discovery[Symbol.asyncIterator]();

    const agent = new Agent(lucid({}, broker.host, broker.port));
    defer(() => agent.close(1000));
    await agent.start();
    await agent.whenSubscribed();

    const first = (await configs.next()).value as Message;
    assert.equal(first.topic, 'homeassistant/device/lucid-1/config');
    const payload = JSON.parse(new TextDecoder().decode(first.payload)) as DiscoveryPayload;
    const valve = Object.values(payload.cmps).find((c) => c.p === 'switch' && c.name === 'Valve');
    assert.ok(valve !== undefined, 'the valve is announced as a switch');

    // Availability: the birth message is retained on the announced topic.
    const availability = await ha.subscribe(payload.availability_topic as string, { qos: 1 });
    const avail = availability[Symbol.asyncIterator]();
    assert.equal(new TextDecoder().decode((await avail.next()).value!.payload), 'online');

    // Switch the valve through the announced command topic; see the announced state topic.
    const states = await ha.subscribe(valve.state_topic as string, { qos: 1 });
    const stateIt = states[Symbol.asyncIterator]();
    await ha.publish(valve.command_topic as string, valve.payload_on as string, { qos: 1 });
    for (;;) {
      const state = new TextDecoder().decode((await stateIt.next()).value!.payload);
      if (state === valve.state_on) break;
    }
    assert.equal(agent.snapshot().channels.find((c) => c.id === 0)?.value, true);

    // Home Assistant restarts and announces itself: the discovery comes again.
    await ha.publish('homeassistant/status', 'online', { qos: 1 });
    const again = (await configs.next()).value as Message;
    assert.deepEqual(JSON.parse(new TextDecoder().decode(again.payload)), payload);

    // A clean stop says offline (a DISCONNECT discards the Will).
    await agent.stop(2000);
    let last = '';
    while (last !== 'offline') {
      last = new TextDecoder().decode((await avail.next()).value!.payload);
      assert.ok(last === 'online' || last === 'offline', last);
    }
  });

  it('a channel whose rows are removed by a live configuration change is removed from Home Assistant', async (t) => {
    const defer = deferrer(t);
    const broker = await startMosquitto(t);
    const ha = await connect(broker.url(), { clientId: 'home-assistant' });
    defer(() => ha.end({ force: true }));
    const discovery = await ha.subscribe('homeassistant/device/+/config', { qos: 1 });
    const configs = discovery[Symbol.asyncIterator]();
    const raw = {
      connection: { server: broker.host, port: broker.port, clientId: 'lucid-2' },
      device: { name: 'LucidIoT', channels: lucidChannels() },
      topics: lucidTopics(),
      homeassistant: { discovery: true, rediscoverMaxDelayMs: 0 },
    };
    const agent = new Agent(parseConfig(raw));
    defer(() => agent.close(1000));
    await agent.start();
    await agent.whenSubscribed();
    const read = async (): Promise<DiscoveryPayload> =>
      JSON.parse(new TextDecoder().decode(((await configs.next()).value as Message).payload));
    assert.equal((await read()).cmps.ch0?.p, 'switch');

    const result = await agent.applyConfig({
      ...raw,
      topics: lucidTopics().filter((r) => r.channel !== 0),
    });
    assert.deepEqual(result, { ok: true, applied: 'updated' });
    const next = await read();
    assert.deepEqual(next.cmps.ch0, { p: 'switch' }, 'removed: only its platform is sent');
    assert.equal(next.cmps.ch8?.p, 'sensor', 'the others stay');
  });
});
