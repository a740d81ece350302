// `courier pub` / `courier sub` against their Mosquitto counterparts.
import assert from 'node:assert/strict';
import { execFile, spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it, type TestContext } from 'node:test';
import { promisify } from 'node:util';
import { startMosquitto } from '../../../test/helpers/mosquitto.js';
import { runCli, startCli, waitFor } from './util.js';

const exec = promisify(execFile);

/** Runs mosquitto_pub / mosquitto_sub and returns status and output. */
async function mosquitto(
  tool: 'mosquitto_pub' | 'mosquitto_sub',
  args: string[],
): Promise<{ status: number; stdout: string; stderr: string }> {
  try {
    const r = await exec(tool, args, { timeout: 15000 });
    return { status: 0, stdout: r.stdout, stderr: r.stderr };
  } catch (error) {
    const e = error as { code?: number; stdout?: string; stderr?: string };
    return {
      status: typeof e.code === 'number' ? e.code : -1,
      stdout: e.stdout ?? '',
      stderr: e.stderr ?? '',
    };
  }
}

/** A running `mosquitto_sub -d`. */
interface MosquittoSub {
  /** Everything it printed so far: messages and `-d` debug lines. */
  readonly output: string;
  /** Whether its SUBACK is in: from then on, what is published reaches it. */
  subscribed(): boolean;
  /** What it printed without the debug lines. */
  messages(): string;
  readonly exited: Promise<number | string>;
}

const DEBUG_LINE = /^(Client \S+ (sending|received) |Subscribed \(mid: \d+\))/;

/**
 * Starts `mosquitto_sub ARGS -d`. Its debug lines (on stdout) say when the SUBACK is in, the
 * moment to publish: mosquitto_sub has no other readiness signal. `stdbuf -oL` makes it write
 * each line as it comes; into a pipe, stdio would hold them until it exits.
 */
function startMosquittoSub(t: TestContext, args: string[]): MosquittoSub {
  const child = spawn('stdbuf', ['-oL', 'mosquitto_sub', ...args, '-d'], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  const append = (d: Buffer) => {
    output += d.toString('utf8');
  };
  child.stdout.on('data', append);
  child.stderr.on('data', append);
  const exited = new Promise<number | string>((resolve) => {
    child.on('error', () => resolve(-1));
    child.on('exit', (code, signal) => resolve(code ?? signal ?? -1));
  });
  t.after(() => {
    child.kill('SIGKILL');
  });
  return {
    get output() {
      return output;
    },
    subscribed: () => output.split('\n').some((l) => /^Client \S+ received SUBACK$/.test(l)),
    messages: () =>
      output
        .split('\n')
        .filter((l) => !DEBUG_LINE.test(l))
        .join('\n'),
    exited,
  };
}

describe('courier pub / sub', () => {
  it('sub -v -C reads what mosquitto_pub sends, in mosquitto_sub format', async (t) => {
    const b = await startMosquitto(t);
    const p = String(b.port);
    // -d prints packets to stderr, and "Subscribed" once the SUBACK is in: the moment to publish.
    const sub = startCli([
      'sub',
      '-h',
      b.host,
      '-p',
      p,
      '-t',
      'pv/#',
      '-v',
      '-C',
      '3',
      '-q',
      '1',
      '-d',
    ]);
    await waitFor(
      () => sub.stderr.includes('Subscribed'),
      `the subscription (stderr: ${sub.stderr})`,
    );
    await mosquitto('mosquitto_pub', [
      '-h',
      b.host,
      '-p',
      p,
      '-t',
      'pv/sunshine',
      '-m',
      'yes',
      '-q',
      '1',
    ]);
    await mosquitto('mosquitto_pub', [
      '-h',
      b.host,
      '-p',
      p,
      '-t',
      'pv/data',
      '-m',
      '4.2 kW',
      '-q',
      '2',
    ]);
    await mosquitto('mosquitto_pub', ['-h', b.host, '-p', p, '-t', 'pv/empty', '-n']);
    await mosquitto('mosquitto_pub', ['-h', b.host, '-p', p, '-t', 'pv/late', '-m', 'not printed']);
    assert.equal(await sub.exited, 0, sub.stderr);
    assert.equal(sub.stdout, 'pv/sunshine yes\npv/data 4.2 kW\npv/empty \n');
  });

  it('pub -r -q 2 reaches mosquitto_sub, retained; -n sends an empty message', async (t) => {
    const b = await startMosquitto(t);
    const p = String(b.port);
    let r = await runCli([
      'pub',
      '-h',
      b.host,
      '-p',
      p,
      '-t',
      'PV/sunshine',
      '-m',
      'yes',
      '-r',
      '-q',
      '2',
    ]);
    assert.equal(r.status, 0, r.stderr);
    const got = await mosquitto('mosquitto_sub', [
      '-h',
      b.host,
      '-p',
      p,
      '-t',
      'PV/#',
      '-v',
      '-C',
      '1',
      '-W',
      '5',
    ]);
    assert.equal(got.status, 0, got.stderr);
    assert.equal(got.stdout, 'PV/sunshine yes\n');
    // -n with -r clears the retained message [MQTT-3.3.1-10].
    r = await runCli(['pub', '-h', b.host, '-p', p, '-t', 'PV/sunshine', '-n', '-r']);
    assert.equal(r.status, 0, r.stderr);
    // A new subscriber gets its retained messages before any live one, so a live probe marks
    // their end (--retained-only exits on it): no time window to guess.
    const none = startMosquittoSub(t, [
      '-h',
      b.host,
      '-p',
      p,
      '-t',
      'PV/#',
      '-v',
      '--retained-only',
      '-W',
      '10',
    ]);
    await waitFor(() => none.subscribed(), `mosquitto_sub's SUBACK (output: ${none.output})`);
    await mosquitto('mosquitto_pub', ['-h', b.host, '-p', p, '-t', 'PV/probe', '-m', 'live']);
    assert.equal(await none.exited, 0, none.output);
    assert.equal(none.messages(), '');
  });

  it('pub -l sends stdin line by line; pub -f sends a file; -L takes a URL', async (t) => {
    const b = await startMosquitto(t);
    const p = String(b.port);
    const sub = startMosquittoSub(t, [
      '-h',
      b.host,
      '-p',
      p,
      '-t',
      'lines',
      '-t',
      'file',
      '-v',
      '-C',
      '4',
      '-W',
      '10',
      '-q',
      '1',
    ]);
    await waitFor(() => sub.subscribed(), `mosquitto_sub's SUBACK (output: ${sub.output})`);
    let r = await runCli(
      ['pub', '-h', b.host, '-p', p, '-t', 'lines', '-l', '-q', '1'],
      'one\n\ntwo\nthree\n',
    );
    assert.equal(r.status, 0, r.stderr);
    const file = join(tmpdir(), `courier-pub-${process.pid}.txt`);
    writeFileSync(file, 'from a file');
    r = await runCli(['pub', '-L', `mqtt://${b.host}:${p}/file`, '-f', file]);
    assert.equal(r.status, 0, r.stderr);
    assert.equal(await sub.exited, 0, sub.output);
    assert.equal(sub.messages(), 'lines one\nlines two\nlines three\nfile from a file\n');
  });

  it('sub -W exits with status 27 like mosquitto_sub; -R skips retained; -N drops newlines', async (t) => {
    const b = await startMosquitto(t);
    const p = String(b.port);
    const ours = await runCli(['sub', '-h', b.host, '-p', p, '-t', 'quiet', '-W', '1']);
    const theirs = await mosquitto('mosquitto_sub', [
      '-h',
      b.host,
      '-p',
      p,
      '-t',
      'quiet',
      '-W',
      '1',
    ]);
    assert.equal(theirs.status, 27);
    assert.equal(ours.status, 27);
    assert.equal(ours.stdout, '');
    assert.match(ours.stderr, /Timed out/);
    await mosquitto('mosquitto_pub', ['-h', b.host, '-p', p, '-t', 'r/old', '-m', 'stale', '-r']);
    const sub = startCli(['sub', '-h', b.host, '-p', p, '-t', 'r/#', '-R', '-N', '-C', '2', '-d']);
    await waitFor(
      () => sub.stderr.includes('Subscribed'),
      `the subscription (stderr: ${sub.stderr})`,
    );
    await mosquitto('mosquitto_pub', ['-h', b.host, '-p', p, '-t', 'r/new', '-m', 'a']);
    await mosquitto('mosquitto_pub', ['-h', b.host, '-p', p, '-t', 'r/new', '-m', 'b']);
    assert.equal(await sub.exited, 0, sub.stderr);
    assert.equal(sub.stdout, 'ab');
  });

  it('-d prints packets like mosquitto; bad flags fail before connecting', async (t) => {
    const b = await startMosquitto(t);
    const p = String(b.port);
    const r = await runCli([
      'pub',
      '-h',
      b.host,
      '-p',
      p,
      '-t',
      'd',
      '-m',
      'hi',
      '-q',
      '1',
      '-i',
      'dbg',
      '-d',
    ]);
    assert.equal(r.status, 0, r.stderr);
    const lines = r.stderr.trim().split('\n');
    assert.deepEqual(lines, [
      'Client dbg sending CONNECT',
      'Client dbg received CONNACK (0)',
      "Client dbg sending PUBLISH (d0, q1, r0, m1, 'd', ... (2 bytes))",
      'Client dbg received PUBACK (m1)',
      'Client dbg sending DISCONNECT',
    ]);
    const noMessage = await runCli(['pub', '-p', p, '-t', 'x']);
    assert.equal(noMessage.status, 1);
    assert.equal(noMessage.stderr, 'Error: Both topic and message must be supplied.\n');
    const wildcard = await runCli(['pub', '-p', p, '-t', 'a/#', '-m', 'x']);
    assert.equal(wildcard.status, 1);
    assert.match(wildcard.stderr, /Invalid publish topic 'a\/#'/);
    const badQos = await runCli(['sub', '-p', p, '-t', 'x', '-q', '3']);
    assert.equal(badQos.status, 1);
    assert.match(badQos.stderr, /qos must be a whole number from 0 to 2/);
  });

  it('bench: every message reaches every subscriber, with rates and latency percentiles', async (t) => {
    const b = await startMosquitto(t);
    const r = await runCli([
      'bench',
      '-h',
      b.host,
      '-p',
      String(b.port),
      '--publishers',
      '2',
      '--subscribers',
      '2',
      '--messages',
      '300',
      '-q',
      '1',
      '--json',
    ]);
    assert.equal(r.status, 0, r.stderr);
    const result = JSON.parse(r.stdout) as {
      published: number;
      received: number;
      expected: number;
      publishRate: number;
      latencyMs: { p50: number; p95: number; p99: number };
    };
    assert.deepEqual([result.published, result.received, result.expected], [600, 1200, 1200]);
    assert.ok(result.publishRate > 0);
    assert.ok(
      result.latencyMs.p50 <= result.latencyMs.p95 && result.latencyMs.p95 <= result.latencyMs.p99,
    );
  });
});

describe('courier pub / sub at MQTT 5.0', () => {
  it('-V mqttv5 both ways with mosquitto_pub / mosquitto_sub -V mqttv5', async (t) => {
    const b = await startMosquitto(t);
    const p = String(b.port);
    // courier sub at 5.0 reads what mosquitto_pub sends at 5.0.
    const sub = startCli([
      'sub',
      '-V',
      'mqttv5',
      '-h',
      b.host,
      '-p',
      p,
      '-t',
      'v5/#',
      '-v',
      '-C',
      '1',
      '-q',
      '1',
      '-d',
    ]);
    await waitFor(
      () => sub.stderr.includes('Subscribed'),
      `the subscription (stderr: ${sub.stderr})`,
    );
    const pub = await mosquitto('mosquitto_pub', [
      '-V',
      'mqttv5',
      '-h',
      b.host,
      '-p',
      p,
      '-t',
      'v5/a',
      '-m',
      'hello',
      '-q',
      '1',
    ]);
    assert.equal(pub.status, 0, pub.stderr);
    assert.equal(await sub.exited, 0, sub.stderr);
    assert.equal(sub.stdout, 'v5/a hello\n');

    // mosquitto_sub at 5.0 reads what courier pub sends at 5.0, QoS 2.
    const mosq = startMosquittoSub(t, [
      '-V',
      'mqttv5',
      '-h',
      b.host,
      '-p',
      p,
      '-t',
      'v5/b',
      '-C',
      '1',
      '-q',
      '2',
    ]);
    await waitFor(() => mosq.subscribed(), `mosquitto_sub's SUBACK (output: ${mosq.output})`);
    const sent = await runCli([
      'pub',
      '-V',
      '5',
      '-h',
      b.host,
      '-p',
      p,
      '-t',
      'v5/b',
      '-m',
      'world',
      '-q',
      '2',
      '-i',
      'courier-v5-pub',
    ]);
    assert.equal(sent.status, 0, sent.stderr);
    assert.equal(await mosq.exited, 0);
    assert.equal(mosq.messages().trim(), 'world');
    // The broker saw our client at protocol level 5.
    assert.match(b.log(), /as courier-v5-pub \(p5,/);
  });

  it('-V with a version courier does not speak is a usage error naming the versions', async () => {
    const r = await runCli(['pub', '-V', 'mqttv6', '-t', 'x', '-m', 'y']);
    assert.notEqual(r.status, 0);
    assert.match(r.stderr, /mqttv5, mqttv311 and mqttv31/);
  });

  it('sub and pub --trace print every packet decoded, the password masked (MQTT 5)', async (t) => {
    const secret = 'tr4ce-s3cret';
    const b = await startMosquitto(t, { allowAnonymous: false, users: { meter: secret } });
    const common = [
      '-h',
      b.host,
      '-p',
      String(b.port),
      '-u',
      'meter',
      '-P',
      secret,
      '-V',
      'mqttv5',
    ];
    const sub = startCli([
      'sub',
      ...common,
      '-i',
      'tracer',
      '-t',
      'pv/#',
      '-q',
      '2',
      '-C',
      '1',
      '--trace',
    ]);
    await waitFor(
      () => sub.stderr.includes('received SUBACK'),
      `the SUBACK (stderr: ${sub.stderr})`,
    );
    const pub = await runCli([
      'pub',
      ...common,
      '-i',
      'pusher',
      '-t',
      'pv/x',
      '-m',
      'hi',
      '-q',
      '2',
      '--trace',
    ]);
    assert.equal(pub.status, 0, pub.stderr);
    assert.equal(await sub.exited, 0, sub.stderr);
    assert.equal(sub.stdout, 'hi\n');
    for (const [out, lines] of [
      [
        sub.stderr,
        [
          'sending CONNECT',
          'received CONNACK',
          'sending SUBSCRIBE',
          'received SUBACK',
          'received PUBLISH',
          'sending PUBREC',
          'sending DISCONNECT',
        ],
      ],
      [
        pub.stderr,
        [
          'sending CONNECT',
          'received CONNACK',
          'sending PUBLISH',
          'received PUBREC',
          'sending PUBREL',
          'received PUBCOMP',
          'sending DISCONNECT',
        ],
      ],
    ] as const) {
      for (const line of lines) assert.ok(out.includes(line), `${line} missing from:\n${out}`);
      assert.ok(!out.includes(secret), `the password reached the trace:\n${out}`);
    }
    // Each line decodes the whole packet: the CONNECT with its user and the mask, the PUBLISH
    // with its topic and payload.
    const connect = sub.stderr
      .split('\n')
      .find((l) => l.startsWith('Client tracer sending CONNECT'));
    assert.ok(connect !== undefined, sub.stderr);
    const fields = JSON.parse(connect.slice(connect.indexOf('{'))) as Record<string, unknown>;
    assert.equal(fields.username, 'meter');
    assert.equal(fields.password, '***');
    assert.equal(fields.protocolVersion, 5);
    assert.match(
      sub.stderr,
      /received PUBLISH \(d0, q2, r0, m\d+, 'pv\/x', \.\.\. \(2 bytes\)\) \{"topic":"pv\/x","payload":"hi","qos":2/,
    );
  });
});
