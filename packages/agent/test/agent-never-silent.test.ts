// The agent is never silent: every failed connection attempt is logged with its reason and
// the next retry time, rate-limited; a permanent refusal says so; the recovery says how long
// the connection was down; Redis connect and loss are logged too.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { type Logger, pino } from 'pino';
import { startMosquitto } from '../../../test/helpers/mosquitto.js';
import { freePort } from '../../../test/helpers/ports.js';
import { startRedis } from '../../../test/helpers/redis.js';
import { Agent } from '../src/agent/agent.js';
import { OutageLog } from '../src/agent/outage-log.js';
import { parseConfig } from '../src/config/validate.js';
import { deferrer, startCli, tempJson, waitFor } from './util.js';

type Line = Record<string, unknown> & { level: number; msg: string };

/** A pino logger that keeps its JSON records. */
function recorder(): { logger: Logger; lines: Line[] } {
  const lines: Line[] = [];
  const logger: Logger = pino(
    { level: 'debug', base: null },
    { write: (l: string) => lines.push(JSON.parse(l) as Line) },
  );
  return { logger, lines };
}

/** The JSON records `courier agent` wrote to a pipe (stderr). */
function records(stderr: string): Line[] {
  return stderr
    .split('\n')
    .filter((l) => l.startsWith('{'))
    .map((l) => JSON.parse(l) as Line);
}

describe('OutageLog', () => {
  it('logs the first failures one by one, then one line a minute with the count; a new reason at once', () => {
    let now = 0;
    const { logger, lines } = recorder();
    const log = new OutageLog({
      what: 'MQTT',
      logger,
      burst: 3,
      intervalMs: 60_000,
      now: () => now,
    });
    const fail = (reason = 'connection refused by 127.0.0.1:1883') =>
      log.failed({ server: 'mqtt://b:1883', reason, code: 'MQTT_NETWORK', retryInMs: 2000 });
    for (let i = 0; i < 3; i++) {
      fail();
      now += 2000;
    }
    assert.equal(lines.length, 3);
    assert.equal(
      lines[0]?.msg,
      'MQTT connection to mqtt://b:1883 failed: connection refused by 127.0.0.1:1883; retrying in 2.0 s',
    );
    assert.deepEqual(
      [lines[2]?.level, lines[2]?.attempt, lines[2]?.retryInMs, lines[2]?.permanent],
      [40, 3, 2000, false],
    );
    // A long outage: an attempt every 2 s for 10 minutes gives 10 lines, not 300.
    for (let i = 0; i < 300; i++) {
      fail();
      now += 2000;
    }
    assert.equal(lines.length, 3 + 10);
    const minute = lines[3] as Line;
    assert.equal(minute.suppressed, 29);
    assert.match(minute.msg, /\(29 more failed attempts not logged, down for 1 min 4 s\)$/);
    // The reason changes: logged at once, and it is permanent.
    log.failed({
      server: 'mqtt://b:1883',
      reason: 'connection refused by mqtt://b:1883: not authorized (CONNACK return code 5)',
      permanent: true,
      retryInMs: 60_000,
    });
    const refused = lines.at(-1) as Line;
    assert.equal(lines.length, 14);
    assert.equal(refused.level, 50);
    assert.equal(refused.permanent, true);
    assert.match(refused.msg, /not authorized.*retrying in 1 min 0 s \(a refusal that will repeat/);
    now += 1000;
    log.connected('mqtt://b:1883');
    assert.equal(
      (lines.at(-1) as Line).msg,
      'MQTT connected to mqtt://b:1883 after 304 failed attempts, down for 10 min 7 s',
    );
    assert.equal(log.failures, 0);
    // A loss after that starts a new outage: logged at once, as lost.
    log.failed({ server: 'mqtt://b:1883', reason: 'keep-alive timeout', lost: true, retryInMs: 0 });
    assert.match(
      (lines.at(-1) as Line).msg,
      /^MQTT connection to mqtt:\/\/b:1883 lost: keep-alive/,
    );
  });
});

describe('agent never silent', () => {
  it('broker down: each failed attempt logged with reason and retry time, rate-limited; then connected again', async (t) => {
    const defer = deferrer(t);
    const port = await freePort();
    const file = tempJson('agent.json', {
      connection: { server: '127.0.0.1', port, clientId: 'never-silent' },
      reconnect: { minDelaySec: 0.02, maxDelaySec: 0.05 },
    });
    // -d debug: every attempt is logged at debug ("MQTT connecting"), which counts them.
    const agent = startCli(['agent', '-c', file, '--no-web', '-d', 'debug']);
    defer(() => {
      if (agent.child.exitCode === null) agent.child.kill('SIGKILL');
    });
    const attempts = () => records(agent.stderr).filter((r) => r.msg.startsWith('MQTT connecting'));
    const failures = () => records(agent.stderr).filter((r) => r.level === 40 && 'retryInMs' in r);
    await waitFor(() => attempts().length >= 12, `12 attempts (stderr: ${agent.stderr})`);
    // Five failures logged one by one, the rest held back (a minute has not passed).
    const logged = failures();
    assert.equal(logged.length, 5, JSON.stringify(logged, null, 1));
    for (const [i, r] of logged.entries()) {
      assert.equal(r.attempt, i + 1);
      assert.equal(r.reason, `connection refused by 127.0.0.1:${port}`);
      assert.equal(r.permanent, false);
      assert.equal(typeof r.retryInMs, 'number');
      assert.match(
        r.msg,
        new RegExp(`failed: connection refused by 127\\.0\\.0\\.1:${port}; retrying in \\d+ ms`),
      );
    }
    // The broker comes up on that port: one line says the connection is back, and after what.
    await startMosquitto(t, { listeners: [{ port }] });
    await waitFor(
      () =>
        records(agent.stderr).some((r) =>
          /^MQTT connected to .* after \d+ failed attempts, down for/.test(r.msg),
        ),
      `the recovery line (stderr: ${agent.stderr.slice(-2000)})`,
    );
    agent.child.kill('SIGTERM');
    assert.equal(await agent.exited, 0);
  });

  it('a connection that fails before the broker answers (a Will topic with a lone surrogate) says why at once', async (t) => {
    const defer = deferrer(t);
    const broker = await startMosquitto(t);
    const { logger, lines } = recorder();
    // Past the configuration's checks (whoever refuses it first), as a library update or a
    // hand-built configuration could bring it: the reason must still be said, not kept for
    // the shutdown.
    const config = parseConfig({
      connection: { server: broker.host, port: broker.port, clientId: 'surrogate' },
      lwt: { topic: 'status' },
      reconnect: { minDelaySec: 0.05, maxDelaySec: 0.1 },
    });
    const agent = new Agent({ ...config, lwt: { ...config.lwt, topic: 'a\ud800b' } }, { logger });
    defer(() => agent.close());
    try {
      await agent.start();
    } catch (error) {
      // Refused before connecting: as good, if it names the field.
      assert.match((error as Error).message, /lwt\.topic|[Ww]ill topic/);
      return;
    }
    await waitFor(() => lines.some((l) => l.level === 40), 'a warning');
    const failure = lines.find((l) => l.level === 40) as Line;
    assert.match(String(failure.reason), /Will topic contains a lone surrogate/);
    assert.equal(typeof failure.retryInMs, 'number');
  });

  it('a refusal that repeats (bad password) is logged as permanent, at error level', async (t) => {
    const defer = deferrer(t);
    const broker = await startMosquitto(t, { allowAnonymous: false, users: { device: 'right' } });
    const { logger, lines } = recorder();
    const agent = new Agent(
      parseConfig({
        connection: { server: broker.host, port: broker.port, clientId: 'refused' },
        login: { username: 'device', password: 'wrong' },
        reconnect: { minDelaySec: 0.05, maxDelaySec: 0.1 },
      }),
      { logger },
    );
    defer(() => agent.close());
    await agent.start();
    await waitFor(() => lines.some((l) => l.level === 50), 'an error line');
    const refused = lines.find((l) => l.level === 50) as Line;
    assert.equal(refused.permanent, true);
    assert.equal(refused.code, 'MQTT_CONNECTION_REFUSED');
    assert.match(
      refused.msg,
      /not authorized \(CONNACK return code 5\); retrying in \d+ ms \(a refusal that will repeat/,
    );
  });

  it('Redis: connection, loss and failed reconnects are logged with their reason', async (t) => {
    const defer = deferrer(t);
    const broker = await startMosquitto(t);
    const redis = await startRedis(t);
    const { logger, lines } = recorder();
    const agent = new Agent(
      parseConfig({
        connection: { server: broker.host, port: broker.port },
        redis: {
          enabled: true,
          url: redis.url,
          devices: [{ deviceAlias: 'mqtt1' }],
          signals: [
            {
              deviceAlias: 'mqtt1',
              signalAlias: 't',
              sourceDeviceAlias: 'd',
              sourceSignalAlias: 's',
            },
          ],
        },
      }),
      { logger },
    );
    defer(() => agent.close());
    await agent.start();
    await agent.whenRedisSubscribed();
    await waitFor(
      () => lines.some((l) => l.msg === `Redis connected to ${redis.url}`),
      'connected',
    );
    await redis.stop();
    await waitFor(
      () => lines.some((l) => l.msg.startsWith(`Redis connection to ${redis.url} lost: `)),
      `the loss (${JSON.stringify(lines.map((l) => l.msg))})`,
    );
    await waitFor(
      () =>
        lines.some(
          (l) =>
            l.level === 40 &&
            /^Redis connection to .* failed: .*ECONNREFUSED.*; retrying in 2\.0 s/.test(l.msg),
        ),
      `the failed reconnect (${JSON.stringify(lines.map((l) => l.msg))})`,
    );
    assert.equal(agent.snapshot().redis?.connected, false);
  });
});
