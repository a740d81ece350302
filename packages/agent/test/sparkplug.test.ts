/**
 * The Sparkplug B 3.0 edge node, checked on the wire against a real Mosquitto: what the agent
 * sends is decoded with Eclipse Tahu's own JavaScript decoder (`sparkplug-payload`, which
 * embeds its own copy of the schema), never with the agent's code, and every rule is checked
 * on the messages a host application would receive (seq continuity and wrap, the bdSeq of the
 * Will against the NBIRTH, births after a rebirth, report by exception, commands, the primary
 * host's STATE).
 */
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import { describe, it } from 'node:test';
import { connect, type Message } from 'courier-mqtt';
import type { Packet } from 'courier-mqtt/packet';
import * as sparkplugPayload from 'sparkplug-payload';
import type { UMetric, UPayload } from 'sparkplug-payload/lib/sparkplugbpayload.js';
import { acceptSession, startFakeBroker } from '../../../test/helpers/fake-broker.js';
import { startMosquitto } from '../../../test/helpers/mosquitto.js';
import { startFaultProxy } from '../../../test/helpers/proxy.js';
import { Agent } from '../src/agent/agent.js';
import type { AgentEvent } from '../src/agent/events.js';
import { deviceIdOf } from '../src/config/sparkplug.js';
import { loadConfig, parseConfig, validateConfig } from '../src/config/validate.js';
import type { ChannelValue } from '../src/formats/types.js';
import { BdSeqCounter } from '../src/sinks/sparkplug.js';
import { decodePayload, encodePayload } from '../src/sinks/sparkplug-payload.js';
import type { ChannelInfo, IoDriver } from '../src/sources/channels.js';
import { manualDriverOf } from './manual-driver.js';
import { deferrer, waitFor } from './util.js';

const tahu = sparkplugPayload.get('spBv1.0')!;
/**
 * Tahu's protobuf code generated from its own copy of the schema: what a host that keeps the
 * births' datatypes reads, since a DDATA metric carries its alias and value only (its
 * datatype SHOULD NOT be sent [tck-id-payloads-metric-datatype-not-req], and Tahu's
 * `decodePayload` reads values by datatype).
 */
const TahuPayload = (
  createRequire(import.meta.url)(
    'sparkplug-payload/lib/sparkplugPayloadProto.js',
  ) as typeof import('sparkplug-payload/lib/sparkplugPayloadProto.js')
).org.eclipse.tahu.protobuf.Payload;

/** A metric as the protobuf fields hold it. */
interface WireMetric {
  name?: string;
  alias?: number;
  datatype?: number;
  booleanValue?: boolean;
  doubleValue?: number;
  floatValue?: number;
}

/** The protobuf fields of a payload, decoded by Tahu's generated code. */
function wire(bytes: Uint8Array): { seq?: number; metrics?: WireMetric[] } {
  return TahuPayload.toObject(TahuPayload.decode(bytes), { longs: Number });
}

/** `[alias, value]` of each metric of a DDATA. */
function aliasValues(seen: Seen): [number | undefined, unknown][] {
  return (wire(seen.raw.payload).metrics ?? []).map((m) => [
    m.alias,
    m.booleanValue ?? m.doubleValue ?? m.floatValue,
  ]);
}

/** `promise`, or an error naming `what` after 10 s: a missing message fails, not hangs. */
async function within<T>(promise: Promise<T>, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`no ${what} within 10 s`)), 10_000);
  });
  try {
    return await Promise.race([promise, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

/** A 64-bit value from Tahu's decoder (a `Long`) or a plain number, as a number. */
function num(v: unknown): number {
  if (typeof v === 'number') return v;
  if (typeof v === 'object' && v !== null && 'toNumber' in v)
    return (v as { toNumber(): number }).toNumber();
  throw new Error(`not a number: ${String(v)}`);
}

const CHANNELS = [
  { id: 0, name: 'Valve', type: 'digital-output' },
  { id: 1, name: 'Pump', type: 'digital-output' },
  { id: 2, name: 'Setpoint', type: 'analog-output', signal: '0-10V' },
  { id: 8, name: 'OfficeTemp', type: 'rtd-input' },
] as const;

/** A driver whose inputs the test sets; writes are checked as a real one checks them. */
function manualDriver() {
  const values = new Map<number, ChannelValue>([
    [0, false],
    [1, false],
    [2, 0],
    [8, 21],
  ]);
  const infos = new Map<number, ChannelInfo>(
    CHANNELS.map((c) => [
      c.id,
      {
        id: c.id,
        name: c.name,
        type: c.type,
        unit: c.type === 'rtd-input' ? '°C' : c.type === 'analog-output' ? 'V' : '',
        range:
          c.type === 'rtd-input' ? { min: -200, max: 850 } : { min: 0, max: c.id === 2 ? 10 : 1 },
      },
    ]),
  );
  return manualDriverOf(values, infos);
}

/** A Sparkplug host application's view: every message under spBv1.0/#, decoded by Tahu. */
interface Seen {
  readonly topic: string;
  readonly type: string;
  readonly qos: number;
  readonly retain: boolean;
  readonly payload: UPayload;
  readonly raw: Message;
}

async function hostApp(url: string, defer: (fn: () => unknown) => void) {
  const client = await connect(url, { clientId: 'scada-host' });
  defer(() => client.end({ force: true }));
  const sub = await client.subscribe('spBv1.0/#', { qos: 1 });
  const it = sub[Symbol.asyncIterator]();
  /** Messages read but not asked for yet, in arrival order. */
  const kept: Message[] = [];
  const typeOf = (m: Message) =>
    m.topic.startsWith('spBv1.0/STATE/') ? 'STATE' : (m.topic.split('/')[2] ?? '');
  /**
   * The first message, in arrival order, whose type (NBIRTH, DDATA, ...) is in `types`. The
   * others are kept for a later call: the order between two types is asserted only where the
   * rules fix it (a host STATE before the NBIRTH it allows, NBIRTH before DBIRTH).
   */
  const next = async (...types: string[]): Promise<Seen> => {
    let m: Message | undefined;
    const i = kept.findIndex((k) => types.includes(typeOf(k)));
    if (i >= 0) m = kept.splice(i, 1)[0];
    while (m === undefined) {
      const read = (await within(it.next(), types.join(' or '))).value as Message;
      if (types.includes(typeOf(read))) m = read;
      else kept.push(read);
    }
    const type = typeOf(m);
    const payload = type === 'STATE' ? {} : tahu.decodePayload(m.payload);
    return { topic: m.topic, type, qos: m.qos, retain: m.retain, payload, raw: m };
  };
  return { client, next };
}

function metric(p: UPayload, name: string): UMetric {
  const m = p.metrics?.find((x) => x.name === name);
  assert.ok(m !== undefined, `metric ${name} in ${JSON.stringify(p.metrics?.map((x) => x.name))}`);
  return m;
}

function config(port: number, sparkplug: Record<string, unknown> = {}, extra: object = {}) {
  return parseConfig({
    connection: { server: '127.0.0.1', port, clientId: 'edge-1' },
    reconnect: { minDelaySec: 0.02, maxDelaySec: 0.1 },
    device: { name: 'LucidIoT/8DO+8RTD', channels: CHANNELS },
    sparkplug: { enabled: true, groupId: 'Plant', edgeNodeId: 'Edge1', ...sparkplug },
    ...extra,
  });
}

function events(agent: Agent) {
  const queue: AgentEvent[] = [];
  const waiters: (() => void)[] = [];
  agent.on('event', (e) => {
    queue.push(e);
    for (const w of waiters.splice(0)) w();
  });
  return async (match: (e: AgentEvent) => boolean): Promise<AgentEvent> => {
    for (;;) {
      const i = queue.findIndex(match);
      if (i >= 0) return queue.splice(i, 1)[0]!;
      await within(new Promise<void>((r) => waiters.push(r)), 'agent event');
    }
  };
}

/** A command as a host encodes it, with Tahu's encoder. */
function command(metrics: UMetric[]): Uint8Array {
  return tahu.encodePayload({ timestamp: Date.now(), metrics });
}

describe('Sparkplug B payloads', () => {
  it('what the agent encodes, Tahu decodes; what Tahu encodes, the agent decodes', () => {
    const bytes = encodePayload({
      timestamp: 1_700_000_000_000,
      seq: 7,
      metrics: [
        { name: 'bdSeq', datatype: 4, longValue: 255 },
        { name: 'T', alias: 8, datatype: 10, doubleValue: 21.5, timestamp: 1 },
        {
          name: 'V',
          datatype: 10,
          isNull: true,
          properties: { keys: ['engUnit'], values: [{ type: 12, stringValue: '°C' }] },
        },
      ],
    });
    const p = tahu.decodePayload(bytes);
    assert.equal(num(p.seq), 7);
    assert.equal(metric(p, 'bdSeq').type, 'Int64');
    assert.equal(num(metric(p, 'bdSeq').value), 255);
    assert.equal(metric(p, 'T').value, 21.5);
    assert.equal(metric(p, 'V').value, null);
    assert.deepEqual(metric(p, 'V').properties?.engUnit, { type: 'String', value: '°C' });

    const back = decodePayload(
      command([{ name: 'Node Control/Rebirth', type: 'Boolean', value: true }]),
    );
    assert.deepEqual(back.metrics?.[0], {
      name: 'Node Control/Rebirth',
      datatype: 11,
      booleanValue: true,
    });
    assert.throws(() => decodePayload(new Uint8Array([0x0a, 0xff])));
  });

  it('bdSeq counts 0..255 and wraps to 0', () => {
    const counter = new BdSeqCounter();
    const taken = Array.from({ length: 258 }, () => counter.take());
    assert.deepEqual(taken.slice(0, 3), [0, 1, 2]);
    assert.deepEqual(taken.slice(254), [254, 255, 0, 1]);
  });
});

describe('Sparkplug B configuration', () => {
  it('ids are topic tokens; the Will, a clean session and unique metric names are required', () => {
    const result = validateConfig({
      connection: { server: 'broker', clientId: 'x', cleanSession: false },
      lwt: { topic: 'x/status', message: 'gone' },
      homeassistant: { discovery: true },
      device: {
        channels: [
          { id: 0, name: 'Valve', type: 'digital-output' },
          { id: 1, name: 'Valve', type: 'digital-input' },
        ],
      },
      sparkplug: { enabled: true, edgeNodeId: 'a/b', deviceId: 'x+', primaryHostId: '#' },
    });
    assert.equal(result.ok, false);
    const paths = result.ok ? [] : result.issues.map((i) => i.path);
    for (const path of [
      'sparkplug.groupId',
      'sparkplug.edgeNodeId',
      'sparkplug.deviceId',
      'sparkplug.primaryHostId',
      'lwt.topic',
      'homeassistant.discovery',
      'connection.cleanSession',
      'device.channels[1].name',
    ]) {
      assert.ok(paths.includes(path), `${path} in ${JSON.stringify(paths)}`);
    }
    const long = validateConfig({
      connection: { server: 'b' },
      sparkplug: { groupId: 'g'.repeat(65) },
    });
    assert.equal(long.ok, false);
  });

  it('the device id defaults to the device name made a topic token', () => {
    assert.equal(deviceIdOf(config(1883)), 'LucidIoT_8DO_8RTD');
    assert.equal(deviceIdOf(config(1883, { deviceId: 'io-1' })), 'io-1');
  });

  it('examples/sparkplug.yaml is valid and makes the LucidIoT module one device', async () => {
    const c = await loadConfig(
      new URL('../../../examples/sparkplug.yaml', import.meta.url).pathname,
    );
    assert.equal(c.sparkplug.enabled, true);
    assert.equal(c.device.channels.length, 16);
  });
});

describe('Sparkplug B edge node on the wire', () => {
  it('NBIRTH (seq 0, bdSeq, Rebirth) then DBIRTH with every channel; report by exception with a deadband; seq wraps', async (t) => {
    const defer = deferrer(t);
    const broker = await startMosquitto(t);
    const host = await hostApp(broker.url(), defer);
    const io = manualDriver();
    const agent = new Agent(config(broker.port, { deadband: 0.5 }), { driver: io.driver });
    defer(() => agent.close(1000));
    await agent.start();

    const nbirth = await host.next('NBIRTH', 'DBIRTH', 'DDATA');
    assert.equal(nbirth.topic, 'spBv1.0/Plant/NBIRTH/Edge1');
    assert.equal(nbirth.qos, 0, 'NBIRTH is QoS 0');
    assert.equal(nbirth.retain, false);
    assert.equal(num(nbirth.payload.seq), 0);
    assert.ok(num(nbirth.payload.timestamp) > 0);
    assert.equal(metric(nbirth.payload, 'bdSeq').type, 'Int64');
    assert.equal(num(metric(nbirth.payload, 'bdSeq').value), 0, 'the first CONNECT has bdSeq 0');
    const rebirth = metric(nbirth.payload, 'Node Control/Rebirth');
    assert.equal(rebirth.type, 'Boolean');
    assert.equal(rebirth.value, false);
    assert.equal(rebirth.alias, undefined, 'the rebirth metric has no alias');

    const dbirth = await host.next('NBIRTH', 'DBIRTH', 'DDATA');
    assert.equal(dbirth.topic, 'spBv1.0/Plant/DBIRTH/Edge1/LucidIoT_8DO_8RTD');
    assert.equal(dbirth.qos, 0);
    assert.equal(num(dbirth.payload.seq), 1);
    assert.deepEqual(
      dbirth.payload.metrics?.map((m) => [m.name, m.type, m.value, num(m.alias)]),
      [
        ['Valve', 'Boolean', false, 0],
        ['Pump', 'Boolean', false, 1],
        ['Setpoint', 'Double', 0, 2],
        ['OfficeTemp', 'Double', 21, 8],
      ],
    );
    assert.deepEqual(metric(dbirth.payload, 'OfficeTemp').properties?.engUnit, {
      type: 'String',
      value: '°C',
    });
    for (const m of dbirth.payload.metrics ?? []) assert.ok(num(m.timestamp) > 0);

    // Within the deadband: not sent. The next DDATA carries only what changed enough.
    io.set(8, 21.4);
    await new Promise((r) => setImmediate(r));
    io.set(1, true);
    let ddata = await host.next('NBIRTH', 'DBIRTH', 'DDATA');
    assert.equal(ddata.topic, 'spBv1.0/Plant/DDATA/Edge1/LucidIoT_8DO_8RTD');
    assert.equal(ddata.qos, 0);
    assert.equal(num(ddata.payload.seq), 2);
    assert.deepEqual(
      wire(ddata.raw.payload).metrics?.map((m) => [m.name, m.alias, m.booleanValue, m.datatype]),
      [[undefined, 1, true, undefined]],
      'alias only, no name, no datatype; OfficeTemp not sent',
    );
    // The deadband counts from the value last reported (21), not the last read (21.4).
    io.set(8, 21.6);
    ddata = await host.next('DDATA');
    assert.equal(num(ddata.payload.seq), 3);
    assert.deepEqual(aliasValues(ddata), [[8, 21.6]]);
    // The same value again is not sent: the next DDATA is the valve's.
    io.set(8, 21.6);
    io.set(1, true);
    await new Promise((r) => setImmediate(r));
    io.set(0, true);
    ddata = await host.next('DDATA');
    assert.deepEqual(aliasValues(ddata), [[0, true]]);
    assert.equal(num(ddata.payload.seq), 4);

    // seq goes on to 255 and wraps to 0, one step per message.
    let expected = 5;
    for (let i = 0; i < 260; i++) {
      io.set(1, i % 2 !== 0);
      ddata = await host.next('DDATA', 'NBIRTH', 'DBIRTH');
      assert.equal(ddata.type, 'DDATA');
      assert.equal(num(ddata.payload.seq), expected, `message ${i}`);
      expected = (expected + 1) % 256;
    }
    assert.equal(expected, (5 + 260) % 256);

    // A clean stop: DDEATH (next seq), then the NDEATH with the bdSeq (the DISCONNECT
    // discards the Will).
    await agent.stop(2000);
    const ddeath = await host.next('DDEATH', 'NDEATH');
    assert.equal(ddeath.type, 'DDEATH');
    assert.equal(num(ddeath.payload.seq), expected);
    const ndeath = await host.next('DDEATH', 'NDEATH');
    assert.equal(ndeath.type, 'NDEATH');
    assert.equal(num(metric(ndeath.payload, 'bdSeq').value), 0);
    assert.equal(ndeath.payload.seq, undefined, 'an NDEATH carries no seq');
  });

  it('NDEATH is the Will (QoS 1, not retained) with the bdSeq of its NBIRTH; bdSeq goes up at every CONNECT', async (t) => {
    const defer = deferrer(t);
    const broker = await startMosquitto(t);
    const proxy = await startFaultProxy(t, { targetHost: broker.host, targetPort: broker.port });
    const host = await hostApp(broker.url(), defer);
    const io = manualDriver();
    const agent = new Agent(config(proxy.port), { driver: io.driver });
    defer(() => agent.close(1000));
    await agent.start();

    for (let bdSeq = 0; bdSeq < 3; bdSeq++) {
      const nbirth = await host.next('NBIRTH');
      assert.equal(num(nbirth.payload.seq), 0);
      assert.equal(num(metric(nbirth.payload, 'bdSeq').value), bdSeq);
      const dbirth = await host.next('DBIRTH');
      assert.equal(num(dbirth.payload.seq), 1, 'seq starts again with each birth');
      // Cut the agent off: the broker publishes its Will.
      proxy.cutAll();
      const ndeath = await host.next('NDEATH');
      assert.equal(ndeath.topic, 'spBv1.0/Plant/NDEATH/Edge1');
      assert.equal(ndeath.qos, 1, 'the Will is QoS 1');
      assert.equal(ndeath.retain, false, 'the Will is not retained');
      assert.deepEqual(
        ndeath.payload.metrics?.map((m) => [m.name, m.type, num(m.value)]),
        [['bdSeq', 'Int64', bdSeq]],
        'the NDEATH holds only the bdSeq of the NBIRTH it ends',
      );
      assert.equal(ndeath.payload.seq, undefined);
    }
  });

  it('a Rebirth NCMD re-sends NBIRTH (seq 0, same bdSeq) and DBIRTH; a DCMD writes outputs and DDATA reports them', async (t) => {
    const defer = deferrer(t);
    const broker = await startMosquitto(t);
    const host = await hostApp(broker.url(), defer);
    const io = manualDriver();
    const agent = new Agent(config(broker.port), { driver: io.driver });
    defer(() => agent.close(1000));
    const seen = events(agent);
    await agent.start();
    await host.next('NBIRTH');
    await host.next('DBIRTH');
    io.set(8, 30);
    assert.equal(num((await host.next('DDATA')).payload.seq), 2);

    const dcmd = 'spBv1.0/Plant/DCMD/Edge1/LucidIoT_8DO_8RTD';
    // By name, as a host without aliases writes; and by alias.
    await host.client.publish(dcmd, command([{ name: 'Valve', type: 'Boolean', value: true }]));
    let ddata = await host.next('DDATA');
    assert.deepEqual(aliasValues(ddata), [[0, true]]);
    assert.equal(io.values.get(0), true);
    assert.equal(num(ddata.payload.seq), 3);
    await host.client.publish(
      dcmd,
      command([{ alias: 2, type: 'Double', value: 7.5 } as UMetric]),
      {
        qos: 1,
      },
    );
    ddata = await host.next('DDATA');
    assert.deepEqual(aliasValues(ddata), [[2, 7.5]]);
    assert.equal(io.values.get(2), 7.5);
    // An input, an unknown metric and a value out of range are refused, each with its reason.
    await host.client.publish(
      dcmd,
      command([
        { name: 'OfficeTemp', type: 'Double', value: 5 },
        { name: 'Nope', type: 'Boolean', value: true },
        { name: 'Setpoint', type: 'Double', value: 99 },
      ]),
    );
    const reasons = [];
    for (let i = 0; i < 3; i++)
      reasons.push((await seen((e) => e.type === 'rejected')) as { reason: string });
    assert.match(reasons[0]!.reason, /OfficeTemp is an rtd-input/);
    assert.match(reasons[1]!.reason, /no metric of this device/);
    assert.match(reasons[2]!.reason, /outside the range/);
    assert.equal(io.values.get(2), 7.5);

    await host.client.publish(
      'spBv1.0/Plant/NCMD/Edge1',
      command([{ name: 'Node Control/Rebirth', type: 'Boolean', value: true }]),
    );
    const nbirth = await host.next('NBIRTH', 'DBIRTH', 'DDATA');
    assert.equal(nbirth.type, 'NBIRTH', 'the births come before any further DDATA');
    assert.equal(num(nbirth.payload.seq), 0);
    assert.equal(num(metric(nbirth.payload, 'bdSeq').value), 0, 'the same bdSeq: no new CONNECT');
    const dbirth = await host.next('NBIRTH', 'DBIRTH', 'DDATA');
    assert.equal(dbirth.type, 'DBIRTH');
    assert.equal(num(dbirth.payload.seq), 1);
    assert.equal(metric(dbirth.payload, 'Valve').value, true, 'the births carry the values now');
    assert.equal(metric(dbirth.payload, 'Setpoint').value, 7.5);
    io.set(1, true);
    assert.equal(num((await host.next('DDATA')).payload.seq), 2);
  });

  it('with a primary host: no NBIRTH before its STATE says online; an older STATE is ignored; offline means NDEATH and a new connection', async (t) => {
    const defer = deferrer(t);
    const broker = await startMosquitto(t);
    const host = await hostApp(broker.url(), defer);
    const stateTopic = 'spBv1.0/STATE/scada';
    const state = (online: boolean, timestamp: number) =>
      host.client.publish(stateTopic, JSON.stringify({ online, timestamp }), {
        qos: 1,
        retain: true,
      });
    await state(false, 1000);
    await host.next('STATE');
    const io = manualDriver();
    const agent = new Agent(config(broker.port, { primaryHostId: 'scada' }), { driver: io.driver });
    defer(() => agent.close(1000));
    const seen = events(agent);
    await agent.start();
    await agent.whenSubscribed();

    // Waiting: a rebirth request is refused because the node is not born.
    await host.client.publish(
      'spBv1.0/Plant/NCMD/Edge1',
      command([{ name: 'Node Control/Rebirth', type: 'Boolean', value: true }]),
      { qos: 1 },
    );
    const refused = (await seen((e) => e.type === 'rejected')) as { reason: string };
    assert.match(refused.reason, /waiting-host/);
    // A STATE that is not Sparkplug 3.0 JSON is refused with its reason.
    await host.client.publish(stateTopic, 'ONLINE', { qos: 1 });
    await host.next('STATE');
    assert.match(((await seen((e) => e.type === 'rejected')) as { reason: string }).reason, /JSON/);

    await state(true, 2000);
    const online = await host.next('STATE', 'NBIRTH');
    assert.equal(online.type, 'STATE', 'the host said online before any NBIRTH');
    const nbirth = await host.next('NBIRTH');
    assert.equal(num(metric(nbirth.payload, 'bdSeq').value), 0);
    await host.next('DBIRTH');

    // An offline older than the online is ignored: the DCMD after it is answered on the same
    // session (DDATA seq 2), with no NDEATH between.
    await state(false, 1500);
    await host.client.publish(
      'spBv1.0/Plant/DCMD/Edge1/LucidIoT_8DO_8RTD',
      command([{ name: 'Pump', type: 'Boolean', value: true }]),
    );
    const ddata = await host.next('DDATA', 'NDEATH', 'NBIRTH');
    assert.equal(ddata.type, 'DDATA');
    assert.equal(num(ddata.payload.seq), 2);

    // The host goes offline: NDEATH, DISCONNECT, a new CONNECT (bdSeq 1) that waits again.
    await state(false, 3000);
    const ndeath = await host.next('NDEATH', 'NBIRTH');
    assert.equal(ndeath.type, 'NDEATH');
    assert.equal(num(metric(ndeath.payload, 'bdSeq').value), 0);
    await state(true, 4000);
    const again = await host.next('NBIRTH', 'NDEATH');
    assert.equal(again.type, 'NBIRTH');
    assert.equal(num(metric(again.payload, 'bdSeq').value), 1, 'a new CONNECT, a new bdSeq');
    assert.equal(num(again.payload.seq), 0);
  });

  it('the CONNECT carries the NDEATH as its Will and a clean session; a QoS 1 DCMD is acknowledged once the output is written', async (t) => {
    const defer = deferrer(t);
    const broker = await startFakeBroker(t);
    const io = manualDriver();
    const writes: { value: ChannelValue; finish: () => void }[] = [];
    const slow: IoDriver = {
      ...io.driver,
      write: (id, value) =>
        new Promise<void>((resolve, reject) => {
          writes.push({ value, finish: () => io.driver.write(id, value).then(resolve, reject) });
        }),
    };
    const agent = new Agent(config(broker.port), { driver: slow });
    defer(() => agent.stop(100));
    const started = agent.start();
    const connection = await acceptSession(broker);
    await started;
    const connect = connection.received.find((p) => p.type === 'connect') as Extract<
      Packet,
      { type: 'connect' }
    >;
    assert.equal(connect.clean, true);
    assert.equal(connect.will?.topic, 'spBv1.0/Plant/NDEATH/Edge1');
    assert.equal(connect.will?.qos, 1);
    assert.equal(connect.will?.retain, false);
    const will = tahu.decodePayload(connect.will!.payload);
    assert.deepEqual(
      will.metrics?.map((m) => [m.name, m.type, num(m.value)]),
      [['bdSeq', 'Int64', 0]],
    );
    assert.equal(will.seq, undefined);

    const subscribe = (await connection.next('subscribe')) as Extract<
      Packet,
      { type: 'subscribe' }
    >;
    assert.deepEqual(subscribe.subscriptions, [
      { topic: 'spBv1.0/Plant/NCMD/Edge1', qos: 1 },
      { topic: 'spBv1.0/Plant/DCMD/Edge1/LucidIoT_8DO_8RTD', qos: 1 },
    ]);
    connection.send({ type: 'suback', packetId: subscribe.packetId, returnCodes: [1, 1] });
    // The births wait for the SUBACK: NCMD and DCMD are subscribed before the NBIRTH.
    const first = (await connection.next('publish')) as Extract<Packet, { type: 'publish' }>;
    assert.equal(first.topic, 'spBv1.0/Plant/NBIRTH/Edge1');
    assert.ok(
      connection.received.indexOf(first) > connection.received.indexOf(subscribe),
      'NBIRTH after SUBSCRIBE',
    );
    connection.send({
      type: 'publish',
      topic: 'spBv1.0/Plant/DCMD/Edge1/LucidIoT_8DO_8RTD',
      payload: command([{ name: 'Valve', type: 'Boolean', value: true }]),
      qos: 1,
      retain: false,
      dup: false,
      packetId: 42,
    });
    await waitFor(() => writes.length === 1, 'the output write');
    // A barrier: PUBREL is answered at once; a PUBACK sent on arrival would come before it.
    connection.send({ type: 'pubrel', packetId: 99 });
    await connection.next('pubcomp');
    assert.equal(connection.received.filter((p) => p.type === 'puback').length, 0);
    writes[0]!.finish();
    const ack = (await connection.next('puback')) as Extract<Packet, { type: 'puback' }>;
    assert.equal(ack.packetId, 42);
    assert.equal(io.values.get(0), true);
  });
});
