// `courier pub` / `sub` / `rr` at MQTT 5.0 against mosquitto_pub, mosquitto_sub and
// mosquitto_rr 2.x on a Mosquitto the test starts: -D properties both ways, -F format strings,
// SUBACK refusals, request/response.
import assert from 'node:assert/strict';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { connect } from 'courier-mqtt';
import type { ConnectPacket, DisconnectPacket, SubscribePacket } from 'courier-mqtt/packet';
import { startFakeBroker } from '../../../test/helpers/fake-broker.js';
import { startMosquitto } from '../../../test/helpers/mosquitto.js';
import { tempDir } from '../../../test/helpers/tmp.js';
import { compileFormat } from '../src/tools/format.js';
import { parseProperties } from '../src/tools/properties.js';
import { mosquitto, startMosquittoSub } from './mosquitto-cli.js';
import { runCli, startCli, waitFor } from './util.js';

/** Mosquitto's dynamic security plugin, as Debian and Ubuntu install it with the broker. */
const DYNSEC_PLUGIN = '/usr/lib/x86_64-linux-gnu/mosquitto_dynamic_security.so';

/** mosquitto's message: the first line of its stderr. */
const firstLine = (text: string) => text.split('\n')[0] ?? '';

/** The properties every test publishes: each kind, a repeated user property name included. */
const PUBLISH_D = [
  ['-D', 'publish', 'user-property', 'site', 'north'],
  ['-D', 'publish', 'user-property', 'site', 'south side'],
  ['-D', 'publish', 'content-type', 'text/plain'],
  ['-D', 'publish', 'message-expiry-interval', '600'],
  ['-D', 'publish', 'payload-format-indicator', '1'],
  ['-D', 'publish', 'response-topic', 'answers/here'],
  ['-D', 'publish', 'correlation-data', 'req-42'],
].flat();

/** Host, port and protocol 5 of a broker, as both tools take them. */
const v5 = (b: { host: string; port: number }): string[] => [
  '-h',
  b.host,
  '-p',
  String(b.port),
  '-V',
  '5',
];

/** A format showing them all, as mosquitto_sub prints them. */
const FORMAT = '%t|%p|%P|%C|%F|%R|%D|%q|%r|%l|%x|%-6.3t|%08l|%E';

describe('courier -D: the same errors as mosquitto_pub, before connecting', () => {
  // Each bad -D given to both tools: courier must say what mosquitto_pub says.
  const cases: [string, string[]][] = [
    ['an unknown property', ['-D', 'publish', 'colour', 'red']],
    ['an unknown command', ['-D', 'publsh', 'content-type', 'x']],
    ['a property the command may not carry', ['-D', 'publish', 'session-expiry-interval', '9']],
    ['a CONNECT property on publish', ['-D', 'publish', 'receive-maximum', '9']],
    ['too few words', ['-D', 'publish', 'user-property', 'only-name']],
    ['a value out of range', ['-D', 'publish', 'payload-format-indicator', '300']],
    ['a negative interval', ['-D', 'publish', 'message-expiry-interval', '-5']],
    ['a receive maximum over 65535', ['-D', 'connect', 'receive-maximum', '70000']],
    ['a CONNECT property on will', ['-D', 'will', 'session-expiry-interval', '9']],
    ['a topic alias on will', ['-D', 'will', 'topic-alias', '2']],
    ['a will delay on publish', ['-D', 'publish', 'will-delay-interval', '9']],
    ['a will property out of range', ['-D', 'will', 'will-delay-interval', '4294967296']],
    [
      'a will property twice',
      ['--will-topic', 'w', '-D', 'will', 'content-type', 'x', '-D', 'will', 'content-type', 'y'],
    ],
    [
      'a publish property twice',
      ['-D', 'publish', 'content-type', 'x', '-D', 'publish', 'content-type', 'y'],
    ],
  ];
  for (const [what, args] of cases) {
    it(`${what}: ${args.slice(1).join(' ')}`, async () => {
      // Port 1 is never reached: both refuse the flags first.
      const base = ['-V', '5', '-p', '1', '-t', 'a', '-m', 'b', ...args];
      const theirs = await mosquitto('mosquitto_pub', base);
      const ours = await runCli(['pub', ...base]);
      assert.notEqual(theirs.status, 0);
      assert.equal(ours.status, 1, ours.stderr);
      assert.equal(firstLine(ours.stderr), firstLine(theirs.stderr));
    });
  }

  it('refuses, by name, what courier cannot send; and -D / -x on 3.1.1', async () => {
    const run = async (...args: string[]) => {
      const r = await runCli(['pub', '-p', '1', '-t', 'a', '-m', 'b', ...args]);
      assert.equal(r.status, 1);
      return firstLine(r.stderr);
    };
    assert.match(
      await run('-V', '5', '-D', 'publish', 'topic-alias', '3'),
      /^Error: topic-alias property for publish is not supported by courier \(courier assigns topic aliases itself/,
    );
    // mosquitto_pub drops Will properties silently without a Will; courier says so.
    assert.equal(
      await run('-V', '5', '-D', 'will', 'will-delay-interval', '3'),
      'Error: Will properties (-D will ...) given without --will-topic.',
    );
    assert.match(
      await run('-V', '5', '-D', 'subscribe', 'user-property', 'a', 'b'),
      /^Error: subscribe properties are not used by this command/,
    );
    // mosquitto_pub drops them silently on 3.1.1; courier says they would be lost.
    assert.equal(
      await run('-D', 'publish', 'content-type', 'x'),
      'Error: -D sets MQTT 5.0 properties: use -V 5 (or mqttv5).',
    );
    assert.equal(
      await run('-V', '311', '-x', '60'),
      'Error: -x sets MQTT 5.0 properties: use -V 5 (or mqttv5).',
    );
    assert.match(await run('-V', '5', '-x', 'soon'), /^Error: Invalid session-expiry-interval/);
    assert.match(
      await run('-V', '5', '-x', '5', '-D', 'connect', 'session-expiry-interval', '6'),
      /with -x or with -D, not both/,
    );
    assert.match(await run('-V', '4'), /^Error: Invalid protocol version argument given \(4\)/);
  });

  it('sorts properties by packet, keeping user properties in order with repeats', () => {
    const p = parseProperties(
      [
        ...['connect', 'user-property', 'a', '1'],
        ...['publish', 'user-property', 'k', 'v1'],
        ...['publish', 'user-property', 'k', 'v2'],
        ...['connect', 'receive-maximum', '10'],
        ...['publish', 'correlation-data', 'xyz'],
        ...['subscribe', 'user-property', 's', 't'],
      ],
      ['connect', 'publish', 'subscribe'],
    );
    assert.deepEqual(p.connect, { userProperties: [['a', '1']], receiveMaximum: 10 });
    assert.deepEqual(p.publish, {
      userProperties: [
        ['k', 'v1'],
        ['k', 'v2'],
      ],
      correlationData: new TextEncoder().encode('xyz'),
    });
    assert.deepEqual(p.subscribe, { userProperties: [['s', 't']] });
    // Bounded: 1,001 user properties on one packet are refused.
    const many = Array.from({ length: 1001 }, (_, i) => ['publish', 'user-property', 'n', `${i}`]);
    assert.throws(() => parseProperties(many.flat(), ['publish']), /at most 1000 user-property/);
    // A string that has no UTF-8 form is refused before the wire [MQTT-1.5.3-1].
    assert.throws(
      () => parseProperties(['publish', 'content-type', 'a\uD800'], ['publish']),
      /Invalid value for property content-type/,
    );
  });
});

describe('courier -F: mosquitto_sub format strings', () => {
  it('refuses what it cannot print, at option time', async () => {
    for (const [format, message] of [
      ['%m', /%m \(message id\) is not available/],
      ['%Z', /unknown sequence %Z/],
      ['@Q', /@Q is not a time field/],
      ['\\q', /unknown escape \\q/],
    ] as const) {
      const r = await runCli(['sub', '-p', '1', '-t', 'a', '-F', format]);
      assert.equal(r.status, 1);
      assert.match(r.stderr, message);
    }
  });

  it('prints time fields in UTC, with the width and flags given', () => {
    const print = compileFormat('%I|@Y-@m-@d @H:@M:@S.@N|%U|%5l|%-5l|%05l|\\t|%%|@@');
    const at = new Date(Date.UTC(2026, 10, 30, 13, 14, 15, 678));
    const text = Buffer.from(
      print(
        { topic: 't', payload: new Uint8Array(12), qos: 0, retain: false, dup: false },
        at,
        BigInt(at.getTime()) * 1_000_000n,
      ),
    ).toString();
    assert.equal(
      text,
      '2026-11-30T13:14:15+0000|2026-11-30 13:14:15.678000000|1796044455.678000000|   12|12   |00012|\t|%|@',
    );
  });
});

describe('courier pub / sub at MQTT 5.0 with properties', () => {
  it('pub -D publish ... reaches mosquitto_sub -V 5 with every property', async (t) => {
    const b = await startMosquitto(t);
    const args = [...v5(b), '-t', 'v5/props', '-C', '1', '-F', FORMAT];
    const sub = startMosquittoSub(t, args);
    await waitFor(() => sub.subscribed(), `mosquitto_sub's SUBACK (output: ${sub.output})`);
    const r = await runCli(
      ['pub', ...v5(b), '-t', 'v5/props'].concat(['-m', 'hello', '-q', '1'], PUBLISH_D),
    );
    assert.equal(r.status, 0, r.stderr);
    assert.equal(await sub.exited, 0, sub.output);
    assert.equal(
      sub.messages().trim(),
      'v5/props|hello|site:north site:south side|text/plain|1|answers/here|req-42|0|0|5|68656c6c6f|v5/   |00000005|600',
    );
  });

  it('sub -F prints what mosquitto_pub -D sends exactly as mosquitto_sub -F does', async (t) => {
    const b = await startMosquitto(t);
    const base = [...v5(b), '-t', 'v5/both', '-C', '1'];
    const theirs = startMosquittoSub(t, [...base, '-F', FORMAT]);
    const ours = startCli(['sub', ...base, '-F', FORMAT, '-d']);
    const oursJson = startCli(['sub', ...base, '-F', '%j', '-d']);
    const theirsJson = startMosquittoSub(t, [...base, '-F', '%j']);
    await waitFor(
      () =>
        theirs.subscribed() &&
        theirsJson.subscribed() &&
        ours.stderr.includes('Subscribed') &&
        oursJson.stderr.includes('Subscribed'),
      'every subscriber',
    );
    const sent = await mosquitto('mosquitto_pub', [
      ...v5(b),
      ...['-t', 'v5/both', '-m', 'hello', '-q', '1'],
      ...PUBLISH_D,
    ]);
    assert.equal(sent.status, 0, sent.stderr);
    assert.equal(await ours.exited, 0, ours.stderr);
    assert.equal(await theirs.exited, 0, theirs.output);
    assert.equal(ours.stdout, `${theirs.messages().trim()}\n`);
    // %j: the same JSON but for the time stamp (and mosquitto keeps the last of repeated
    // user property names in its object, as courier does).
    assert.equal(await oursJson.exited, 0, oursJson.stderr);
    assert.equal(await theirsJson.exited, 0, theirsJson.output);
    // courier's subscription has an identifier (the library gives each subscribe() one, to
    // route messages [MQTT-3.8.2.1.2]); mosquitto_sub's has none: that field differs.
    const withoutTime = (s: string) => {
      const { tst: _tst, ...rest } = JSON.parse(s.trim());
      delete rest.properties?.['subscription-identifier'];
      return rest;
    };
    assert.deepEqual(withoutTime(oursJson.stdout), withoutTime(theirsJson.messages()));
    assert.match(JSON.parse(oursJson.stdout).tst, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z\+0000$/);
  });

  it('sub -v prints topic and payload only, as mosquitto_sub -v does at 5.0', async (t) => {
    const b = await startMosquitto(t);
    const base = [...v5(b), '-t', 'v5/v', '-C', '1', '-v'];
    const theirs = startMosquittoSub(t, base);
    const ours = startCli(['sub', ...base, '-d']);
    await waitFor(() => theirs.subscribed() && ours.stderr.includes('Subscribed'), 'subscribers');
    await mosquitto('mosquitto_pub', [...v5(b), '-t', 'v5/v', '-m', 'x'].concat(PUBLISH_D));
    assert.equal(await ours.exited, 0, ours.stderr);
    assert.equal(await theirs.exited, 0, theirs.output);
    assert.equal(ours.stdout, `${theirs.messages().trim()}\n`);
  });

  it('a refused subscription prints its SUBACK reason code; all refused exits 1', async (t) => {
    // Mosquitto's acl_file grants every SUBSCRIBE and filters on delivery; its dynamic
    // security plugin refuses one at SUBACK time with 0x87 Not authorized.
    const dir = await tempDir(t, 'dynsec-');
    const dynsec = join(dir, 'dynamic-security.json');
    await writeFile(
      dynsec,
      JSON.stringify({
        defaultACLAccess: {
          publishClientSend: true,
          publishClientReceive: true,
          subscribe: true,
          unsubscribe: true,
        },
        clients: [],
        groups: [{ groupname: 'anonymous', roles: [{ rolename: 'no-secrets' }] }],
        roles: [
          {
            rolename: 'no-secrets',
            acls: [{ acltype: 'subscribePattern', topic: 'secret/#', priority: 0, allow: false }],
          },
        ],
        anonymousGroup: 'anonymous',
      }),
    );
    const b = await startMosquitto(t, {
      lines: [`plugin ${DYNSEC_PLUGIN}`, `plugin_opt_config_file ${dynsec}`],
    });
    const r = await runCli(['sub', ...v5(b), '-t', 'secret/x', '-E']);
    assert.equal(r.status, 1, r.stderr);
    assert.equal(
      r.stderr,
      "Subscription to 'secret/x' refused: 0x87 Not authorized\nAll subscription requests were denied.\n",
    );
    // One of two refused: said, and the other is served.
    const some = await runCli(['sub', ...v5(b), '-t', 'secret/x', '-t', 'open/y', '-E']);
    assert.equal(some.status, 0, some.stderr);
    assert.equal(some.stderr, "Subscription to 'secret/x' refused: 0x87 Not authorized\n");
  });

  it('-D will: the Will reaches mosquitto_sub -V 5 with its properties, after its delay', async (t) => {
    const b = await startMosquitto(t);
    const p = String(b.port);
    const watcher = startMosquittoSub(t, [
      ...['-h', b.host, '-p', p, '-V', '5', '-q', '1', '-t', 'status/#', '-C', '1'],
      ...['-F', '%t|%p|%P|%C|%F|%R|%D|%E|%q|%r'],
    ]);
    await waitFor(() => watcher.subscribed(), `mosquitto_sub's SUBACK (${watcher.output})`);
    const delaySec = 3;
    const sub = startCli([
      ...['sub', '-h', b.host, '-p', p, '-V', '5', '-i', 'pump-3', '-t', 'cmd/pump-3', '-d'],
      // The delay only holds the Will while the session lives [MQTT-3.1.3-9]: -x outlasts it.
      ...['-x', '60', '--will-topic', 'status/pump-3', '--will-payload', 'offline'],
      ...['--will-qos', '1', '-D', 'will', 'will-delay-interval', String(delaySec)],
      ...['-D', 'will', 'user-property', 'site', 'north'],
      ...['-D', 'will', 'user-property', 'site', 'south side'],
      ...['-D', 'will', 'content-type', 'text/plain'],
      ...['-D', 'will', 'payload-format-indicator', '1'],
      ...['-D', 'will', 'message-expiry-interval', '600'],
      ...['-D', 'will', 'response-topic', 'cmd/pump-3'],
      ...['-D', 'will', 'correlation-data', 'w-1'],
    ]);
    t.after(() => sub.child.kill('SIGKILL'));
    await waitFor(() => sub.stderr.includes('Subscribed'), `courier's SUBACK (${sub.stderr})`);
    // Cut without DISCONNECT: the broker sees the connection lost and holds the Will.
    const cutAt = Date.now();
    sub.child.kill('SIGKILL');
    await sub.exited;
    await waitFor(() => watcher.messages().trim() !== '', 'the Will', 15000);
    const heldMs = Date.now() - cutAt;
    assert.equal(
      watcher.messages().trim(),
      'status/pump-3|offline|site:north site:south side|text/plain|1|cmd/pump-3|w-1|600|1|0',
    );
    // Mosquitto counts the delay in whole seconds of its own clock, checked once a second: it
    // may fire up to a second early, never sooner. Without the delay it comes in milliseconds.
    assert.ok(heldMs >= (delaySec - 1) * 1000, `Will published after ${heldMs} ms`);
    assert.equal(await watcher.exited, 0, watcher.output);
  });

  it('-x and -c: the session outlives the connection for the time asked', async (t) => {
    const b = await startMosquitto(t);
    const id = ['-i', 'courier-x'];
    // A persistent QoS 1 subscription with a session expiry of an hour...
    let r = await runCli([
      'sub',
      ...v5(b),
      '-c',
      ...id,
      '-x',
      '3600',
      '-q',
      '1',
      '-t',
      'kept/#',
      '-E',
    ]);
    assert.equal(r.status, 0, r.stderr);
    await mosquitto('mosquitto_pub', [...v5(b), '-t', 'kept/a', '-m', 'queued', '-q', '1']);
    // ... gets, on resuming, what was published while it was away.
    r = await runCli([
      'sub',
      ...v5(b),
      '-c',
      ...id,
      '-q',
      '1',
      '-t',
      'kept/#',
      '-C',
      '1',
      '-v',
      '-W',
      '10',
    ]);
    assert.equal(r.status, 0, r.stderr);
    assert.equal(r.stdout, 'kept/a queued\n');
  });
});

describe('courier -D connect / subscribe on the wire', () => {
  // Mosquitto does not show a CONNECT's or SUBSCRIBE's properties; the scripted broker
  // records the packets as they arrived, decoded by the codec.
  it('sends the CONNECT and SUBSCRIBE properties asked for, and -c at 5.0 never expires', async (t) => {
    const broker = await startFakeBroker(t, { protocolVersion: 5 });
    const sub = startCli([
      ...['sub', '-p', String(broker.port), '-h', '127.0.0.1', '-V', '5', '-t', 'w/#', '-E'],
      ...['-c', '-i', 'courier-wire', '-k', '30'],
      ...['-D', 'connect', 'user-property', 'fleet', 'a'],
      ...['-D', 'connect', 'user-property', 'fleet', 'b'],
      ...['-D', 'connect', 'receive-maximum', '20'],
      ...['-D', 'connect', 'maximum-packet-size', '65536'],
      ...['-D', 'connect', 'topic-alias-maximum', '8'],
      ...['-D', 'connect', 'request-response-information', '1'],
      ...['-D', 'subscribe', 'user-property', 'why', 'test'],
      ...['-D', 'disconnect', 'session-expiry-interval', '0'],
      ...['-D', 'disconnect', 'reason-string', 'done'],
      ...['-D', 'disconnect', 'user-property', 'left', 'cleanly'],
    ]);
    const c = await broker.accept(15000);
    const hello = (await c.next('connect', 15000)) as ConnectPacket;
    assert.equal(hello.clean, false);
    assert.equal(hello.keepaliveSec, 30);
    assert.deepEqual(
      { ...hello.properties, userProperties: hello.properties?.userProperties?.map((p) => [...p]) },
      {
        sessionExpiryIntervalSec: 0xffff_ffff,
        receiveMaximum: 20,
        maximumPacketSizeBytes: 65536,
        topicAliasMaximum: 8,
        requestResponseInformation: true,
        userProperties: [
          ['fleet', 'a'],
          ['fleet', 'b'],
        ],
      },
    );
    c.send({ type: 'connack', sessionPresent: false, returnCode: 0 });
    const subscribe = (await c.next('subscribe', 15000)) as SubscribePacket;
    assert.deepEqual(
      subscribe.properties?.userProperties?.map((p) => [...p]),
      [['why', 'test']],
    );
    assert.deepEqual(
      subscribe.subscriptions.map((s) => s.topic),
      ['w/#'],
    );
    c.send({ type: 'suback', packetId: subscribe.packetId, returnCodes: [0] });
    // -E: it leaves after the SUBACK, and its DISCONNECT carries what -D disconnect asked for.
    const bye = (await c.next('disconnect', 15000)) as DisconnectPacket;
    assert.equal(bye.reasonCode, 0);
    assert.deepEqual(
      { ...bye.properties, userProperties: bye.properties?.userProperties?.map((p) => [...p]) },
      { sessionExpiryIntervalSec: 0, reasonString: 'done', userProperties: [['left', 'cleanly']] },
    );
    assert.equal(await sub.exited, 0, sub.stderr);
  });

  it('refuses -D disconnect session-expiry-interval above 0 when the CONNECT has none', async () => {
    const r = await runCli(
      ['pub', '-V', '5', '-p', '1', '-t', 'a', '-m', 'b'].concat([
        '-D',
        'disconnect',
        'session-expiry-interval',
        '60',
      ]),
    );
    assert.equal(r.status, 1);
    assert.match(
      firstLine(r.stderr),
      /^Error: -D disconnect session-expiry-interval above 0 needs/,
    );
  });
});

describe('courier rr', () => {
  it('gets the answer of a library responder, with its properties; mosquitto_rr gets the same', async (t) => {
    const b = await startMosquitto(t);
    const p = String(b.port);
    const responder = await connect(b.url(), { protocolVersion: 5 });
    t.after(() => responder.end({ force: true }));
    const asked: string[] = [];
    await responder.respond('svc/echo', (request) => {
      const text = Buffer.from(request.payload).toString();
      asked.push(`${text} ${request.properties?.contentType ?? '-'}`);
      return {
        payload: `echo ${text}`,
        properties: { contentType: 'text/plain', userProperties: [['served-by', 'library']] },
      };
    });
    const ours = await runCli([
      ...['rr', '-h', b.host, '-p', p, '-t', 'svc/echo', '-e', 'svc/replies/courier'],
      ...['-m', 'ping', '-W', '10', '-F', '%t %p %C %P'],
      ...['-D', 'publish', 'content-type', 'text/request'],
    ]);
    assert.equal(ours.status, 0, ours.stderr);
    assert.equal(ours.stdout, 'svc/replies/courier echo ping text/plain served-by:library\n');
    const theirs = await mosquitto('mosquitto_rr', [
      ...['-h', b.host, '-p', p, '-t', 'svc/echo', '-e', 'svc/replies/mosq', '-m', 'pong'],
      ...['-W', '10', '-F', '%t %p %C %P'],
    ]);
    assert.equal(theirs.status, 0, theirs.stderr);
    assert.equal(theirs.stdout, 'svc/replies/mosq echo pong text/plain served-by:library\n');
    assert.deepEqual(asked, ['ping text/request', 'pong -']);
  });

  it('times out as mosquitto_rr does; refuses what a request cannot carry', async (t) => {
    const b = await startMosquitto(t);
    const p = String(b.port);
    // Nobody answers: both wait -W 1 second, print "Timed out" and exit with 27.
    const theirs = await mosquitto('mosquitto_rr', [
      ...['-h', b.host, '-p', p, '-t', 'nobody', '-e', 'nobody/replies', '-m', 'x', '-W', '1'],
    ]);
    const ours = await runCli([
      ...[
        'rr',
        '-h',
        b.host,
        '-p',
        p,
        '-t',
        'nobody',
        '-e',
        'nobody/replies',
        '-m',
        'x',
        '-W',
        '1',
      ],
    ]);
    assert.equal(theirs.status, 27);
    assert.equal(ours.status, 27, ours.stderr);
    assert.equal(ours.stderr, 'Timed out\n');
    // A 3.1.1 request has no response topic: refused before connecting.
    const v311 = await runCli(['rr', '-p', '1', '-t', 'a', '-e', 'b', '-m', 'x', '-V', '311']);
    assert.equal(v311.status, 1);
    assert.match(v311.stderr, /^Error: courier rr needs MQTT 5\.0/);
    const noE = await runCli(['rr', '-p', '1', '-t', 'a', '-m', 'x']);
    assert.match(noE.stderr, /^Error: A response topic must be supplied with -e/);
    const corr = await runCli([
      'rr',
      '-p',
      '1',
      '-t',
      'a',
      '-e',
      'b',
      '-m',
      'x',
      '-D',
      'publish',
      'correlation-data',
      'c',
    ]);
    assert.match(corr.stderr, /sets the correlation-data of each request itself/);
  });
});
