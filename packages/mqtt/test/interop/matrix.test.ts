/**
 * The interop matrix: one suite of features run against every broker the tests start
 * (Mosquitto as 3.1.1 and 5.0, NATS with JetStream and its MQTT listener, RabbitMQ with its
 * MQTT plugin, Aedes). Each feature is observed and its outcome asserted equal to
 * `expected.ts`: the specification's outcome, or the broker's named departure from it. No
 * feature is skipped: a broker that lacks one is asserted to lack it.
 *
 * `npm test -- --broker nats` runs the matrix for one broker (`COURIER_BROKERS`).
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { connect as netConnect } from 'node:net';
import { after, before, describe, type TestContext, test } from 'node:test';
import {
  type Client,
  type ClientOptions,
  createClient,
  type Message,
  PoisonMessageError,
  QosDowngradedError,
} from 'courier-mqtt';
import { encode, type Packet, Parser } from 'courier-mqtt/packet';
import { startFaultProxy } from '../../../../test/helpers/proxy.js';
import { within } from '../../../../test/helpers/within.js';
import { type BrokerName, type RunningBroker, selectedBrokers, TARGETS } from './brokers.js';
import { DIFFERENCES, expected, FEATURES, type Feature, SPEC } from './expected.js';

const text = (m: Message): string => new TextDecoder().decode(m.payload);

/** What a probe needs: the broker, its protocol version, a unique prefix. */
interface Ctx {
  readonly t: TestContext;
  readonly broker: RunningBroker;
  readonly name: BrokerName;
  readonly protocolVersion: 4 | 5;
}

/** A connected client; ended after the test. */
async function open(ctx: Ctx, options: ClientOptions = {}, url = ctx.broker.url): Promise<Client> {
  const c = createClient(url, {
    protocolVersion: ctx.protocolVersion,
    reconnect: false,
    connectTimeoutMs: 10_000,
    ...options,
  });
  ctx.t.after(() => c.end({ force: true }));
  await connected(c);
  return c;
}

async function connected(c: Client): Promise<void> {
  for await (const s of c.states()) {
    if (s.status === 'connected') return;
    if (s.status === 'closed') throw s.lastError ?? new Error('closed before connecting');
  }
}

/** Persistent-session options for the protocol version (5.0 needs a Session Expiry). */
function persistent(ctx: Ctx): ClientOptions {
  return ctx.protocolVersion === 5 ? { clean: false, sessionExpirySec: 300 } : { clean: false };
}

/**
 * Collects the messages `c` receives until one on `sentinel` arrives: what the broker sent
 * before it, the "nothing else came" of a test without waiting a fixed time.
 */
function until(c: Client, sentinel: string, ms = 10_000): Promise<Message[]> {
  const got: Message[] = [];
  return within(
    new Promise<Message[]>((resolve) => {
      const on = (m: Message): void => {
        if (m.topic === sentinel) {
          c.off('message', on);
          resolve(got);
        } else got.push({ ...m, payload: m.payload.slice() });
      };
      c.on('message', on);
    }),
    ms,
    `sentinel ${sentinel}`,
  );
}

/** Resolves with the first `n` messages `c` receives (`ms` bound). */
function collect(c: Client, n: number, ms = 10_000): Promise<Message[]> {
  const got: Message[] = [];
  return within(
    new Promise<Message[]>((resolve) => {
      const on = (m: Message): void => {
        got.push({ ...m, payload: m.payload.slice() });
        if (got.length === n) {
          c.off('message', on);
          resolve(got);
        }
      };
      c.on('message', on);
    }),
    ms,
    `${n} messages (got ${got.length})`,
  );
}

let seq = 0;
/** A client id and topic prefix unique in the run. */
function unique(ctx: Ctx, what: string): string {
  seq += 1;
  return `${what}-${ctx.name.replace(/\W/g, '')}-${seq}`;
}

type Probe = (ctx: Ctx) => Promise<string>;

const PROBES: Readonly<Record<Feature, Probe>> = {
  async connect(ctx) {
    const c = await open(ctx, { clientId: unique(ctx, 'connect') });
    return `CONNACK accepted, ${c.state.sessionPresent ? 'a' : 'no'} session present`;
  },

  async 'qos 0 and 1 both ways'(ctx) {
    const p = unique(ctx, 'q01');
    const sub = await open(ctx);
    await sub.subscribe(`${p}/#`, { qos: 1 });
    const got = collect(sub, 2);
    const pub = await open(ctx);
    await pub.publish(`${p}/0`, 'q0', { qos: 0 });
    await pub.publish(`${p}/1`, 'q1', { qos: 1 });
    const qos = (await got).map((m) => `${text(m)}@${m.qos}`).sort();
    assert.deepEqual(qos, ['q0@0', 'q1@1']);
    return 'received at QoS 0 and 1';
  },

  async 'subscribe at qos 2'(ctx) {
    const sub = await open(ctx);
    const s = await sub.subscribe(unique(ctx, 'g2'), { qos: 2 });
    return `granted QoS ${s.granted[0]}`;
  },

  async 'publish at qos 2'(ctx) {
    const p = unique(ctx, 'q2');
    const sub = await open(ctx);
    await sub.subscribe(`${p}/#`, { qos: 2 });
    const got = collect(sub, 1);
    // On the poison path nothing arrives: that outcome does not read it.
    got.catch(() => undefined);
    // Reconnecting, as a device would: a broker that closes the connection on the message
    // sees it resent until the client gives it up as poison.
    const pub = await open(ctx, {
      clientId: unique(ctx, 'q2pub'),
      // The count alone decides here: the window would only make the matrix wait.
      reconnect: { minDelayMs: 10, maxDelayMs: 100, jitter: 0, poisonWindowMs: 0 },
    });
    try {
      await within(pub.publish(`${p}/x`, 'q2', { qos: 2 }), 30_000, 'QoS 2 publish');
    } catch (error) {
      if (error instanceof QosDowngradedError) {
        const [m] = await got;
        return `QosDowngradedError (PUBACK for QoS 2), received at QoS ${m!.qos}`;
      }
      if (error instanceof PoisonMessageError) {
        return `PoisonMessageError: the broker closed the connection ${error.closes} times`;
      }
      throw error;
    }
    const [m] = await got;
    return `completed (PUBCOMP), received at QoS ${m!.qos}`;
  },

  async 'retained to the exact topic'(ctx) {
    return retained(ctx, (p) => `${p}/a`);
  },

  async 'retained to a/+'(ctx) {
    return retained(ctx, (p) => `${p}/+`);
  },

  async 'retained to #'(ctx) {
    return retained(ctx, () => '#');
  },

  async 'retained cleared'(ctx) {
    const p = unique(ctx, 'rc');
    const pub = await open(ctx);
    await pub.publish(`${p}/a`, 'kept', { qos: 1, retain: true });
    await pub.publish(`${p}/a`, '', { qos: 1, retain: true });
    const late = await open(ctx);
    const before = until(late, `${p}/sentinel`);
    // The exact topic: every broker of the matrix delivers retained messages to it.
    await late.subscribe([`${p}/a`, `${p}/sentinel`], { qos: 1 });
    await pub.publish(`${p}/sentinel`, 'end', { qos: 1 });
    const got = (await before).filter((m) => m.topic === `${p}/a`);
    return got.length === 0
      ? 'cleared by an empty retained message'
      : `still delivered: ${JSON.stringify(got.map(text))}`;
  },

  async 'persistent session resume'(ctx) {
    const p = unique(ctx, 'sess');
    const id = unique(ctx, 'sess-client');
    const first = await open(ctx, { clientId: id, ...persistent(ctx) });
    await first.subscribe(`${p}/#`, { qos: 1 });
    await first.end();
    const pub = await open(ctx);
    for (let i = 0; i < 3; i++) await pub.publish(`${p}/${i}`, String(i), { qos: 1 });
    // Queued messages follow the CONNACK at once: listen before connecting.
    const again = createClient(ctx.broker.url, {
      protocolVersion: ctx.protocolVersion,
      clientId: id,
      reconnect: false,
      ...persistent(ctx),
    });
    ctx.t.after(() => again.end({ force: true }));
    const got = collect(again, 3).catch(() => [] as Message[]);
    await connected(again);
    const messages = await got;
    return `session ${again.state.sessionPresent ? 'present' : 'absent'}, ${messages.length} of 3 queued QoS 1 messages delivered`;
  },

  async will(ctx) {
    const p = unique(ctx, 'will');
    const observer = await open(ctx);
    await observer.subscribe(`${p}/#`, { qos: 1 });
    // A clean DISCONNECT discards the Will [MQTT-3.14.4-3].
    const polite = await open(ctx, { will: { topic: `${p}/polite`, payload: 'gone', qos: 1 } });
    const politeSeen = until(observer, `${p}/sentinel`);
    await polite.end();
    const pub = await open(ctx);
    await pub.publish(`${p}/sentinel`, 'end', { qos: 1 });
    const afterDisconnect = (await politeSeen).length;
    // A lost connection publishes it [MQTT-3.1.2-8]: the proxy resets both sides.
    const [host, port] = new URL(ctx.broker.url).host.split(':');
    const proxy = await startFaultProxy(ctx.t, { targetHost: host!, targetPort: Number(port) });
    const victim = await open(
      ctx,
      { will: { topic: `${p}/victim`, payload: 'gone', qos: 1 } },
      proxy.url(),
    );
    const will = collect(observer, 1);
    proxy.cutAll();
    void victim;
    const lost = await will.then(
      (m) => (m[0]?.topic === `${p}/victim` ? 'published when the connection is lost' : 'other'),
      () => 'not published within 10 s of the connection loss',
    );
    return `${lost}, ${afterDisconnect === 0 ? 'not' : 'also'} after DISCONNECT`;
  },

  async 'keep-alive'(ctx) {
    // A raw client: CONNECT with a 1 s keep-alive, one PINGREQ, then silence. The server must
    // answer the ping and close the connection after 1.5 keep-alive periods of silence
    // [MQTT-3.1.2-24].
    const url = new URL(ctx.broker.url);
    const socket = netConnect({ host: url.hostname, port: Number(url.port) });
    ctx.t.after(() => socket.destroy());
    const parser = new Parser({ protocolVersion: ctx.protocolVersion });
    const packets: Packet[] = [];
    let wake: (() => void) | undefined;
    socket.on('data', (chunk: Uint8Array) => {
      parser.push(chunk, (pkt) => packets.push(pkt));
      wake?.();
    });
    socket.on('error', () => undefined);
    const closed = new Promise<number>((resolve) =>
      socket.once('close', () => resolve(Date.now())),
    );
    const next = async (type: Packet['type']): Promise<void> => {
      await within(
        (async () => {
          while (!packets.some((pkt) => pkt.type === type)) {
            await new Promise<void>((r) => {
              wake = r;
            });
          }
        })(),
        5000,
        type,
      );
    };
    await new Promise<void>((r) => socket.once('connect', () => r()));
    socket.write(
      encode(
        {
          type: 'connect',
          protocolVersion: ctx.protocolVersion,
          clientId: unique(ctx, 'ka'),
          clean: true,
          keepaliveSec: 1,
        },
        ctx.protocolVersion,
      ),
    );
    await next('connack');
    socket.write(encode({ type: 'pingreq' }, ctx.protocolVersion));
    await next('pingresp');
    const silentFrom = Date.now();
    const at = await within(closed, 10_000, 'the server closing a silent client').catch(
      () => undefined,
    );
    if (at === undefined) return 'PINGRESP answered; a silent client kept open for 10 s';
    ctx.t.diagnostic(
      `${ctx.name}: silent 1 s keep-alive client closed after ${at - silentFrom} ms`,
    );
    return 'PINGRESP answered; a silent client closed';
  },

  async unsubscribe(ctx) {
    const p = unique(ctx, 'uns');
    const sub = await open(ctx);
    await sub.subscribe(`${p}/a`, { qos: 1 });
    await sub.subscribe(`${p}/sentinel`, { qos: 1 });
    await sub.unsubscribe(`${p}/a`);
    const seen = until(sub, `${p}/sentinel`);
    const pub = await open(ctx);
    await pub.publish(`${p}/a`, 'after', { qos: 1 });
    await pub.publish(`${p}/sentinel`, 'end', { qos: 1 });
    const got = await seen;
    return got.length === 0
      ? 'nothing delivered after UNSUBACK'
      : `${got.length} delivered after UNSUBACK`;
  },

  async '$-topics'(ctx) {
    const p = unique(ctx, 'dollar');
    const all = await open(ctx);
    // QoS 0: on NATS a QoS 1 `#` is a JetStream consumer on every subject, whose removal
    // kept the next client's CONNECT waiting 4 s, once past NATS's own time-out.
    await all.subscribe('#', { qos: 0 });
    const dollar = await open(ctx);
    const ds = await dollar.subscribe([`$courier/${p}/#`, `${p}/sentinel`], { qos: 1 });
    const seenAll = until(all, `${p}/sentinel`);
    const seenDollar = until(dollar, `${p}/sentinel`);
    const pub = await open(ctx);
    const published = await pub.publish(`$courier/${p}/x`, 'x', { qos: 1 }).then(
      () => 'ok',
      (e: unknown) => (e instanceof Error ? e.name : String(e)),
    );
    await pub.publish(`${p}/sentinel`, 'end', { qos: 1 });
    const hash = (await seenAll).some((m) => m.topic.startsWith('$courier/'));
    const direct = (await seenDollar).some((m) => m.topic === `$courier/${p}/x`);
    if (published !== 'ok') return `publish to $courier/x failed: ${published}`;
    if (ds.granted[0]! >= 0x80) return `SUBACK refused $courier/# (${ds.granted[0]})`;
    return `# ${hash ? 'matches' : 'does not match'} $courier/x; $courier/# ${direct ? 'receives it' : 'does not receive it'}`;
  },

  async 'shared subscriptions'(ctx) {
    const p = unique(ctx, 'shr');
    const filter = `$share/g/${p}/#`;
    const consumers = [await open(ctx), await open(ctx)];
    for (const c of consumers) {
      const s = await c.subscribe([filter, `${p}-sentinel`], { qos: 1 }).catch((e: unknown) => e);
      if (s instanceof Error) return `subscribe refused by the client: ${s.name}`;
      const code = (s as { granted: readonly number[] }).granted[0]!;
      if (code >= 0x80) return `SUBACK refused ${filter} (0x${code.toString(16)})`;
    }
    const pub = await open(ctx);
    const round = async (live: Client[], from: number): Promise<Map<Client, number[]>> => {
      const seen = live.map((c) => until(c, `${p}-sentinel`));
      for (let i = from; i < from + 20; i++) await pub.publish(`${p}/${i}`, String(i), { qos: 1 });
      await pub.publish(`${p}-sentinel`, 'end', { qos: 1 });
      const got = await Promise.all(seen);
      return new Map(live.map((c, i) => [c, got[i]!.map((m) => Number(text(m)))]));
    };
    const first = await round(consumers, 0);
    const counts = [...first.values()].map((l) => l.length);
    const all = [...first.values()].flat();
    if (counts.every((n) => n === 0))
      return 'nothing delivered to the $share filter (no shared subscriptions)';
    if (counts.every((n) => n === 20)) return 'every consumer got every message (not shared)';
    const distinct = new Set(all);
    if (distinct.size !== 20 || all.length !== 20 || counts.some((n) => n === 0)) {
      return `not split: ${counts.join(' + ')} messages, ${distinct.size} distinct`;
    }
    ctx.t.diagnostic(`${ctx.name}: shared group split 20 messages as ${counts.join(' + ')}`);
    // One consumer leaves (UNSUBSCRIBE, then DISCONNECT): the other takes all. The UNSUBACK
    // says the broker has removed it from the group; a DISCONNECT alone says nothing, and
    // Mosquitto may still route a publish made right after it to the leaving member (seen:
    // 19 of 20 reached the survivor). (A consumer whose connection breaks with QoS 1 messages
    // in flight to it: the spec says the server SHOULD send them to another member once its
    // session ends [MQTT-4.8.2]; docs/scaling.md says who does.)
    await consumers[0]!.unsubscribe(filter);
    await consumers[0]!.end();
    const second = await round([consumers[1]!], 100);
    const survivor = second.get(consumers[1]!)!;
    return `split across the group, none twice; the survivor took all ${new Set(survivor).size === 20 && survivor.length === 20 ? 20 : survivor.length}`;
  },
};

/** A retained message, seen by a new subscriber to `filter(prefix)`. */
async function retained(ctx: Ctx, filter: (prefix: string) => string): Promise<string> {
  const p = unique(ctx, 'ret');
  const pub = await open(ctx);
  await pub.publish(`${p}/a`, 'kept', { qos: 1, retain: true });
  const late = await open(ctx);
  const seen = until(late, `${p}/sentinel`);
  // QoS 0, as for `#` in the `$`-topics probe: a QoS 1 `#` on NATS stalls the next CONNECT.
  await late.subscribe([filter(p), `${p}/sentinel`], { qos: 0 });
  await pub.publish(`${p}/sentinel`, 'end', { qos: 1 });
  const got = (await seen).filter((m) => m.topic === `${p}/a`);
  // Clean up: a retained message would reach later tests' `#` subscribers.
  await pub.publish(`${p}/a`, '', { qos: 1, retain: true });
  if (got.length === 0) return 'not delivered';
  return got[0]!.retain ? 'delivered with the retain flag' : 'delivered without the retain flag';
}

const versions = new Map<BrokerName, string>();

for (const name of selectedBrokers()) {
  const target = TARGETS[name];
  describe(`interop matrix: ${name}`, () => {
    let broker: RunningBroker | undefined;
    before(async () => {
      broker = await target.start();
      versions.set(name, broker.version);
    });
    after(async () => {
      await broker?.stop();
    });
    for (const feature of FEATURES) {
      const want = expected(name, feature);
      const why = DIFFERENCES[name][feature]?.why;
      test(`${feature}: ${want}${why === undefined ? '' : ` (departs from the spec: ${why})`}`, async (t) => {
        assert.ok(broker, 'broker started');
        t.diagnostic(broker.version);
        const outcome = await PROBES[feature]({
          t,
          broker,
          name,
          protocolVersion: target.protocolVersion,
        });
        assert.equal(
          outcome,
          want,
          `${name} / ${feature}: ${outcome}\n${broker.log().slice(-2000)}`,
        );
      });
    }
  });
}

test('docs/brokers.md records every departure of the table, by broker and feature, and the versions run', () => {
  const doc = readFileSync(new URL('../../../../docs/brokers.md', import.meta.url), 'utf8');
  for (const [broker, differences] of Object.entries(DIFFERENCES)) {
    for (const [feature, difference] of Object.entries(differences)) {
      assert.ok(
        doc.includes(difference.outcome),
        `docs/brokers.md lacks ${broker} / ${feature}: "${difference.outcome}"`,
      );
    }
  }
  for (const outcome of Object.values(SPEC)) assert.ok(doc.includes(outcome), outcome);
  // The versions the matrix ran against (read from the binaries above) are the ones stated.
  for (const [broker, version] of versions) {
    assert.ok(doc.includes(version), `docs/brokers.md does not state ${broker}: ${version}`);
  }
});
