/**
 * The `courier` command: argument parsing and printing only; every behaviour lives below
 * (agent, tools).
 *
 * @module
 */

import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { Command, InvalidArgumentError, Option } from 'commander';
import { MqttError } from 'courier-mqtt';
import type { Logger } from 'pino';
import { Agent } from '../agent/agent.js';
import { startDemo } from '../agent/demo.js';
import { type AgentEvent, clipText } from '../agent/events.js';
import { ConfigError } from '../config/errors.js';
import { loadConfig } from '../config/validate.js';
import { StartError } from '../errors.js';
import { forgetCredentials } from '../sinks/murano-store.js';
import { type BenchProgress, runBench } from '../tools/bench.js';
import { UsageError } from '../tools/connect-options.js';
import {
  FLEET_MODES,
  type FleetMode,
  type FleetProgress,
  type FleetResult,
  MAX_FLEET_CLIENTS,
  runFleet,
} from '../tools/fleet.js';
import { runPub, type ToolIo } from '../tools/pub.js';
import { runRr } from '../tools/rr.js';
import { runSub } from '../tools/sub.js';
import { version } from '../version.js';
import { type ConfigStore, FileConfigStore, MemoryConfigStore } from '../web/config-store.js';
import { agentMetrics, type MetricsServer, startMetricsServer } from '../web/metrics.js';
import {
  ADMIN_PASSWORD_MAX,
  adminPasswordIssue,
  generatePassword,
  hashPassword,
} from '../web/password.js';
import { resolveDataDir, startConsole, type WebConsole } from '../web/server.js';
import { createLogger, parseLevel } from './logger.js';

export { version };

const int =
  (name: string, min: number, max: number) =>
  (value: string): number => {
    const n = Number(value);
    if (!/^-?\d+$/.test(value) || n < min || n > max) {
      throw new InvalidArgumentError(`${name} must be a whole number from ${min} to ${max}.`);
    }
    return n;
  };
const collect = (value: string, previous: string[]): string[] => [...previous, value];

/** Adds the connection flags `mosquitto_pub` / `mosquitto_sub` share. */
function connectionFlags(cmd: Command, defaultVersion = 'mqttv311'): Command {
  return cmd
    .helpOption('--help', 'display help for command')
    .option('-h, --host <host>', 'broker host', 'localhost')
    .option('-p, --port <port>', 'broker port (default 1883, 8883 with TLS)', int('port', 1, 65535))
    .option('-L, --url <url>', 'mqtt(s)://[user[:password]@]host[:port]/topic')
    .option('-i, --id <id>', 'client id (default: generated)')
    .option('-u, --username <user>', 'user name')
    .option('-P, --pw <password>', 'password')
    .option('-k, --keepalive <sec>', 'keep-alive in seconds', int('keepalive', 0, 65535), 60)
    .option(
      '-V, --protocol-version <version>',
      '5, 311 or 31 (or mqttv5, mqttv311, mqttv31)',
      defaultVersion,
    )
    .option(
      '-D, --property <words...>',
      'MQTT 5.0 property: -D <command> <property> <value> (user-property: <name> <value>), repeatable',
    )
    .option('-x, --session-expiry <sec>', 'MQTT 5.0 session expiry interval; -1: never expires')
    .option('-c, --disable-clean-session', 'persistent session (needs -i)')
    .option('-d, --debug', 'print packets sent and received')
    .option('--cafile <file>', 'CA certificate(s), PEM: enables TLS')
    .option('--cert <file>', 'client certificate, PEM')
    .option('--key <file>', 'client private key, PEM')
    .option('--insecure', 'do not check the server certificate name')
    .option('--psk <hex>', 'TLS pre-shared key, hex')
    .option('--psk-identity <identity>', 'TLS-PSK identity')
    .option('--will-topic <topic>', 'Will topic')
    .option('--will-payload <payload>', 'Will payload')
    .option('--will-qos <qos>', 'Will QoS', int('will-qos', 0, 2))
    .option('--will-retain', 'retain the Will');
}

interface ConnOpts {
  host: string;
  port?: number;
  url?: string;
  id?: string;
  username?: string;
  pw?: string;
  keepalive: number;
  protocolVersion: string;
  disableCleanSession?: boolean;
  debug?: boolean;
  trace?: boolean;
  cafile?: string;
  cert?: string;
  key?: string;
  insecure?: boolean;
  psk?: string;
  pskIdentity?: string;
  willTopic?: string;
  willPayload?: string;
  willQos?: number;
  willRetain?: boolean;
  property?: string[];
  sessionExpiry?: string;
}

const connectFlags = (o: ConnOpts) => ({
  host: o.host,
  port: o.port,
  url: o.url,
  id: o.id,
  username: o.username,
  password: o.pw,
  keepalive: o.keepalive,
  protocolVersion: o.protocolVersion,
  persistent: o.disableCleanSession,
  cafile: o.cafile,
  cert: o.cert,
  key: o.key,
  insecure: o.insecure,
  psk: o.psk,
  pskIdentity: o.pskIdentity,
  willTopic: o.willTopic,
  willPayload: o.willPayload,
  willQos: o.willQos,
  willRetain: o.willRetain,
  properties: o.property,
  sessionExpiry: o.sessionExpiry,
  debug: o.debug,
  trace: o.trace,
});

/**
 * Prints agent traffic for `-m` / `-r`, one line per message. The agent's events come with
 * payloads, messages and reasons already cut by {@link clipText} (a 20 MB message arrives as
 * its first kilobyte and its size); the topic and the Redis channel are clipped here.
 */
function trafficPrinter(io: ToolIo, mqtt: boolean, redis: boolean): (e: AgentEvent) => void {
  const c = clipText;
  const line = (text: string) => io.stdout.write(`${text}\n`);
  return (e) => {
    if (mqtt && e.type === 'published') line(`MQTT > ${c(e.topic)} ${e.payload}`);
    else if (mqtt && e.type === 'received') line(`MQTT < ${c(e.topic)} ${e.payload}`);
    else if (mqtt && e.type === 'rejected' && e.source === 'mqtt') {
      line(`MQTT < ${c(e.topic)} ${e.payload} (rejected: ${e.reason})`);
    } else if (mqtt && e.type === 'state') {
      line(`MQTT state ${e.state} ${e.server}${e.error === undefined ? '' : ` (${c(e.error)})`}`);
    } else if (e.type === 'redis-written') {
      if (mqtt) line(`MQTT < ${c(e.topic)} ${e.payload}`);
      if (redis) line(`REDIS > ${e.channel} ${e.message}`);
    } else if (redis && e.type === 'redis-message') line(`REDIS < ${c(e.channel)} ${e.message}`);
    else if (redis && e.type === 'rejected' && e.source === 'redis') {
      line(`REDIS < ${c(e.topic)} ${e.payload} (rejected: ${e.reason})`);
    }
  };
}

/** An error as one line: a configuration error's issues joined, no stack. */
function oneLine(error: unknown): string {
  if (error instanceof ConfigError) return error.lines().join('; ');
  return (error instanceof Error ? error.message : String(error)).replace(/\s*\n\s*/g, '; ');
}

/** Resolves on the first SIGINT or SIGTERM. */
function untilSignal(): Promise<NodeJS.Signals> {
  return new Promise((resolve) => {
    const on = (signal: NodeJS.Signals) => {
      process.off('SIGINT', on);
      process.off('SIGTERM', on);
      resolve(signal);
    };
    process.on('SIGINT', on);
    process.on('SIGTERM', on);
  });
}

/**
 * Runs `run` with a signal that aborts on the first SIGINT or SIGTERM, and removes the
 * handlers when it settles, so a command that ends by itself leaves none behind.
 */
async function withSignalAbort<T>(run: (signal: AbortSignal) => Promise<T>): Promise<T> {
  const abort = new AbortController();
  const onSignal = () => abort.abort();
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  try {
    return await run(abort.signal);
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
}

interface AgentOpts {
  config?: string;
  debug?: string;
  mqtt?: boolean;
  redis?: boolean;
  demo?: boolean;
  port?: number;
  web?: boolean;
  webPort?: number;
  webHost?: string;
}

/**
 * Starts the web console of `agent` (before the agent itself: it only listens). A console the
 * configuration enables and that cannot start (port taken, `web.tls` unusable, data directory
 * not writable) is a {@link StartError}: the agent starts whole or not at all.
 */
async function startWeb(
  agent: Agent,
  o: AgentOpts,
  logger: Logger,
  where: { store: ConfigStore; dataDir: string; baseDir: string; password?: string },
): Promise<WebConsole | undefined> {
  if (o.web === false || (!agent.config.web.enabled && o.webPort === undefined)) return undefined;
  const options = {
    agent,
    logger,
    ...where,
    ...(o.webHost === undefined ? {} : { host: o.webHost }),
    ...(o.webPort === undefined ? {} : { port: o.webPort }),
  };
  try {
    try {
      return await startConsole(options);
    } catch (error) {
      // The demo must start on any machine: if its port is taken, take a free one.
      if (o.demo !== true || (error as { code?: string }).code !== 'EADDRINUSE') throw error;
      return await startConsole({ ...options, port: 0 });
    }
  } catch (error) {
    throw new StartError('web', `web console not started: ${oneLine(error)}`, { cause: error });
  }
}

/**
 * Prints where the console is and, when this start made it, the admin password, then records
 * that the password was shown: it is printed once, and only once the whole agent runs.
 */
async function announceWeb(web: WebConsole, io: ToolIo, dataDir: string): Promise<void> {
  io.stderr.write(`web console: ${web.url}/\n`);
  if (web.generatedPassword === undefined) return;
  io.stderr.write(
    `web console admin password (shown once, stored hashed in ${dataDir}/admin.json): ${web.generatedPassword}\n`,
  );
  await web.passwordShown();
}

async function runAgentCommand(o: AgentOpts, io: ToolIo): Promise<number> {
  // The demo prints what matters on stdout; its log says only what goes wrong unless asked.
  const logger = createLogger(
    parseLevel(o.debug ?? (o.demo === true ? 'warn' : 'info')),
    io.stderr,
  );
  if (o.demo === true) {
    const demo = await startDemo({ ...(o.port === undefined ? {} : { port: o.port }), logger });
    const p = demo.port;
    const password = process.env.COURIER_WEB_PASSWORD ?? generatePassword();
    let web: WebConsole | undefined;
    try {
      web = await startWeb(demo.agent, o, logger, {
        store: new MemoryConfigStore(demo.agent.config),
        dataDir: await mkdtemp(join(tmpdir(), 'courier-demo-')),
        baseDir: process.cwd(),
        password,
      });
    } catch (error) {
      await demo.stop();
      throw error;
    }
    io.stdout.write(
      [
        'Courier demo: the LucidIoT example with a simulated I/O module',
        `  broker   mqtt://${demo.host}:${p} (aedes, in this process)`,
        '  module   8 digital outputs (Value Id 0-7), 8 RTD inputs (Value Id 8-15)',
        '  publish  OfficeTemp  every second, input 8 in °C, QoS 2',
        '           ValveState  output 0 as On/Off when it changes, retained',
        '  subscribe Valve      On/Off switches output 0',
        '',
        'In another terminal (courier = node packages/agent/bin/courier.js):',
        `  watch everything   courier sub -p ${p} -t '#' -v`,
        `  open the valve     courier pub -p ${p} -t Valve -m On`,
        `  close it           courier pub -p ${p} -t Valve -m Off`,
        `  (mosquitto_sub / mosquitto_pub -p ${p} work the same)`,
        ...(web === undefined
          ? []
          : [
              '',
              `Web console: ${web.url}/  (password: ${
                process.env.COURIER_WEB_PASSWORD === undefined
                  ? password
                  : 'the one in COURIER_WEB_PASSWORD'
              })`,
            ]),
        'Ctrl-C stops the demo.',
        '',
      ].join('\n'),
    );
    const print = trafficPrinter(io, true, false);
    demo.agent.on('event', (e) => {
      if (
        e.type === 'received' ||
        (e.type === 'rejected' && e.source === 'mqtt') ||
        e.type === 'state' ||
        o.mqtt === true
      )
        print(e);
    });
    await untilSignal();
    io.stdout.write('stopping...\n');
    await web?.close();
    await demo.stop();
    return 0;
  }
  if (o.config === undefined)
    throw new UsageError('Error: courier agent needs -c <config file> (or --demo).');
  const config = await loadConfig(o.config);
  const baseDir = dirname(o.config);
  const agent = new Agent(config, { logger, baseDir });
  if (o.mqtt === true || o.redis === true)
    agent.on('event', trafficPrinter(io, o.mqtt === true, o.redis === true));
  // All or nothing: the console first, since it only listens (a port taken or a bad web.tls
  // stops the start before any MQTT connection is made); then the agent, which checks what
  // it can before it connects and undoes its own parts when one fails.
  const dataDir = resolveDataDir(config, baseDir);
  const web = await startWeb(agent, o, logger, {
    store: new FileConfigStore(o.config),
    dataDir,
    baseDir,
  });
  let metrics: MetricsServer | undefined;
  try {
    metrics = await startMetrics(agent);
    await agent.start();
  } catch (error) {
    await metrics?.close();
    await web?.close();
    throw error;
  }
  if (web !== undefined) await announceWeb(web, io, dataDir);
  if (metrics !== undefined) io.stderr.write(`metrics: ${metrics.url}/metrics\n`);
  const signal = await untilSignal();
  logger.info({ signal }, 'stopping');
  await metrics?.close();
  await web?.close();
  await agent.close();
  return 0;
}

/**
 * Serves the Prometheus metrics on their own port when `metrics.enabled`. A port that cannot
 * be had stops the start (a {@link StartError}), like the console's.
 */
async function startMetrics(agent: Agent): Promise<MetricsServer | undefined> {
  const { enabled, host, port } = agent.config.metrics;
  if (!enabled) return undefined;
  const registry = agentMetrics(agent);
  try {
    const server = await startMetricsServer(registry, host, port);
    return {
      url: server.url,
      close: async () => {
        registry.close();
        await server.close();
      },
    };
  } catch (error) {
    registry.close();
    throw new StartError('metrics', `metrics not served: ${oneLine(error)}`, { cause: error });
  }
}

function printBench(io: ToolIo, r: Awaited<ReturnType<typeof runBench>>): void {
  const f = (n: number, d = 2) => (Number.isFinite(n) ? n.toFixed(d) : '-');
  io.stdout.write(
    [
      `publishers ${r.publishers}  subscribers ${r.subscribers}  qos ${r.qos}  size ${r.size} B`,
      `published  ${r.published} in ${f(r.publishSec, 3)} s  ${f(r.publishRate, 0)} msg/s`,
      `received   ${r.received}/${r.expected} in ${f(r.totalSec, 3)} s  ${f(r.receiveRate, 0)} msg/s${
        r.received < r.expected
          ? ` (${r.expected - r.received} not delivered: dropped by the broker?)`
          : ''
      }`,
      `latency ms p50 ${f(r.latencyMs.p50)}  p95 ${f(r.latencyMs.p95)}  p99 ${f(r.latencyMs.p99)}  max ${f(r.latencyMs.max)}`,
      '',
    ].join('\n'),
  );
}

const ms = (n: number): string => (Number.isFinite(n) ? n.toFixed(2) : '-');

/** The fleet's final table. */
function printFleet(io: ToolIo, r: FleetResult): void {
  const lines = [
    `mode ${r.mode}  clients ${r.clients}  qos ${r.qos}`,
    `connected  ${r.connected}/${r.clients} in ${r.connectSec.toFixed(3)} s  ${r.connectRate.toFixed(0)} conn/s  errors ${r.connectErrors}`,
    `connect ms p50 ${ms(r.connectLatencyMs.p50)}  p95 ${ms(r.connectLatencyMs.p95)}  p99 ${ms(r.connectLatencyMs.p99)}  max ${ms(r.connectLatencyMs.max)}`,
  ];
  if (r.rssPerConnKiB !== undefined)
    lines.push(`memory     ${r.rssPerConnKiB.toFixed(1)} KiB RSS per connection`);
  if (r.mode !== 'conn') {
    lines.push(
      `published  ${r.published} (errors ${r.publishErrors})${r.mode === 'sub' ? `  received ${r.received}/${r.expected}` : ''} in ${r.runSec.toFixed(3)} s  ${r.messageRate.toFixed(0)} msg/s`,
      `${r.mode === 'sub' ? 'fan-out' : 'publish'} ms p50 ${ms(r.latencyMs.p50)}  p95 ${ms(r.latencyMs.p95)}  p99 ${ms(r.latencyMs.p99)}  max ${ms(r.latencyMs.max)}`,
      `cpu        ${r.cpuUsPerMsg === undefined ? '-' : r.cpuUsPerMsg.toFixed(1)} µs per message`,
    );
  }
  io.stdout.write(`${lines.join('\n')}\n`);
}

/** The fleet's live line, on a terminal only: rates, errors, percentiles so far. */
function fleetProgressLine(io: ToolIo): ((p: FleetProgress) => void) | undefined {
  if ((io.stderr as { isTTY?: boolean }).isTTY !== true) return undefined;
  return (p) => {
    const parts = [
      `${p.elapsedSec.toFixed(1)} s`,
      `connected ${p.connected}/${p.clients}`,
      ...(p.mode === 'conn' ? [] : [`published ${p.published}`]),
      ...(p.mode === 'sub' ? [`received ${p.received}/${p.expected}`] : []),
      `errors ${p.errors}`,
      ...(p.mode === 'conn'
        ? []
        : [`p50 ${ms(p.latencyMs.p50)} ms  p99 ${ms(p.latencyMs.p99)} ms`]),
    ];
    io.stderr.write(`\r\x1b[K${parts.join('  ')}`);
  };
}

function progressBar(io: ToolIo): ((p: BenchProgress) => void) | undefined {
  const tty = (io.stderr as { isTTY?: boolean }).isTTY === true;
  if (!tty) return undefined;
  return (p) => {
    const total = p.expected > 0 ? p.expected : 1;
    const done = p.expected > 0 ? p.received : p.published;
    const width = 30;
    const filled = Math.min(width, Math.round((done / total) * width));
    io.stderr.write(
      `\r[${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ${done}/${p.expected > 0 ? p.expected : p.published}`,
    );
  };
}

/**
 * `courier hash-password`: the first line of stdin, hashed with scrypt, under the console's
 * one password rule. Stdin is read only up to that line (and a bound just past the longest
 * password), so a password piped from a large file is refused without reading it all.
 */
async function runHashPassword(io: ToolIo): Promise<number> {
  let text = '';
  for await (const chunk of io.stdin) {
    text += String(chunk);
    // One character per UTF-16 unit and a CR LF: more than this cannot be a valid line.
    if (/\r?\n/.test(text) || text.length > ADMIN_PASSWORD_MAX + 2) break;
  }
  const password = text.split(/\r?\n/)[0] ?? '';
  const refused = adminPasswordIssue(password);
  if (refused !== undefined) {
    io.stderr.write(`Error: the password ${refused}.\n`);
    return 1;
  }
  io.stdout.write(`${await hashPassword(password)}\n`);
  return 0;
}

/**
 * `courier murano-reprovision -c <file>`: forgets the Murano credential the agent stored (the
 * token, or the note that the password was provisioned), so that its next start provisions
 * again. The running agent's console does the same live (Re-provision).
 */
async function runMuranoReprovision(file: string, io: ToolIo): Promise<number> {
  const config = await loadConfig(file);
  const m = config.murano;
  if (!m.enabled || m.connectorId === undefined) {
    io.stderr.write(`Error: ${file} has no enabled murano section.\n`);
    return 1;
  }
  if (m.auth === 'certificate' || m.deviceId === undefined) {
    io.stderr.write(
      'Error: a certificate device has nothing to re-provision: its certificate is its identity.\n',
    );
    return 1;
  }
  const dataDir = resolveDataDir(config, dirname(file));
  const removed = await forgetCredentials(dataDir, m.connectorId, m.deviceId);
  io.stdout.write(
    removed.length === 0
      ? `nothing stored for ${m.deviceId}: the next start provisions it\n`
      : `forgot the ${m.auth} credential of ${m.deviceId} (${removed.join(', ')}): the next start provisions it again\n`,
  );
  return 0;
}

/** Builds the command tree. `exit` receives the status of the command that ran. */
export function buildProgram(io: ToolIo, exit: (status: number) => void): Command {
  const program = new Command('courier')
    .description('Courier: MQTT device agent and tools')
    .version(version(), '-V, --version', 'print the version')
    .helpOption('-h, --help', 'display help for command')
    .configureOutput({
      writeOut: (s) => io.stdout.write(s),
      writeErr: (s) => io.stderr.write(s),
    })
    .exitOverride()
    // `sub -h host` and `pub -V mqttv31` are the subcommands' own flags, not the program's.
    .enablePositionalOptions();

  program
    .command('agent')
    .description('run the device agent: I/O channels and Redis signals mapped to MQTT')
    .option('-c, --config <file>', 'configuration file (JSON or YAML)')
    .option(
      '-d, --debug <level>',
      'log level: 0-4 or error, warn, info, debug, trace (default: info; demo: warn)',
    )
    .option('-m, --mqtt', 'print MQTT traffic')
    .option('-r, --redis', 'print Redis traffic')
    .option('--demo', 'run the LucidIoT demo with an in-process broker')
    .option('--port <port>', 'demo broker port (default: a free one)', int('port', 0, 65535))
    .option('--no-web', 'do not serve the web console')
    .option(
      '--web-port <port>',
      'web console port (default web.port, 8080; 0: a free one)',
      int('web-port', 0, 65535),
    )
    .option('--web-host <address>', 'web console address (default web.host, 127.0.0.1)')
    .version(version(), '-V, --version', 'print the version')
    .action(async (o: AgentOpts) => exit(await runAgentCommand(o, io)));

  connectionFlags(program.command('pub').description('publish a message (mosquitto_pub flags)'))
    .option('-t, --topic <topic>', 'topic to publish to')
    .option('-m, --message <message>', 'message payload')
    .option('-f, --file <file>', 'send the contents of a file')
    .option('-l, --stdin-line', 'send each line of stdin as a message')
    .option('-s, --stdin-file', 'send all of stdin as one message')
    .option('-n, --null-message', 'send an empty message')
    .option('-q, --qos <qos>', 'QoS 0, 1 or 2', int('qos', 0, 2), 0)
    .option('-r, --retain', 'retain the message')
    .option('--trace', 'print every packet decoded, with all its fields (secrets masked)')
    .action(
      async (
        o: ConnOpts & {
          topic?: string;
          message?: string;
          file?: string;
          stdinLine?: boolean;
          stdinFile?: boolean;
          nullMessage?: boolean;
          qos: number;
          retain?: boolean;
        },
      ) => {
        exit(
          await runPub(
            {
              ...connectFlags(o),
              topic: o.topic,
              message: o.message,
              file: o.file,
              stdinLines: o.stdinLine,
              stdinFile: o.stdinFile,
              nullMessage: o.nullMessage,
              qos: o.qos,
              retain: o.retain,
            },
            io,
          ),
        );
      },
    );

  connectionFlags(
    program.command('sub').description('subscribe and print messages (mosquitto_sub flags)'),
  )
    .option('-t, --topic <filter>', 'topic filter, repeatable', collect, [])
    .option('-q, --qos <qos>', 'QoS 0, 1 or 2', int('qos', 0, 2), 0)
    .option('-v, --verbose', 'print "topic payload"')
    .option('-F, --format <format>', 'output format, as mosquitto_sub -F (%t %p %P %C %j ...)')
    .option('-C, --count <n>', 'exit after n messages', int('count', 1, Number.MAX_SAFE_INTEGER))
    .option('-W, --timeout <sec>', 'exit with status 27 after sec seconds', int('timeout', 1, 3600))
    .option('-N, --no-eol', 'no newline after each message')
    .option('-R, --no-retained', 'do not print retained messages')
    .option('-E, --exit-after-subscribe', 'exit once subscribed')
    .option('--trace', 'print every packet decoded, with all its fields (secrets masked)')
    .action(
      async (
        o: ConnOpts & {
          topic: string[];
          qos: number;
          verbose?: boolean;
          format?: string;
          count?: number;
          timeout?: number;
          eol: boolean;
          retained: boolean;
          exitAfterSubscribe?: boolean;
        },
      ) => {
        exit(
          await withSignalAbort((signal) =>
            runSub(
              {
                ...connectFlags(o),
                topics: o.topic,
                qos: o.qos,
                verbose: o.verbose,
                format: o.format,
                count: o.count,
                timeoutSec: o.timeout,
                noNewline: !o.eol,
                noRetained: !o.retained,
                exitAfterSubscribe: o.exitAfterSubscribe,
                signal,
              },
              io,
            ),
          ),
        );
      },
    );

  connectionFlags(
    program.command('rr').description('send a request, print its response (mosquitto_rr flags)'),
    'mqttv5',
  )
    .option('-t, --topic <topic>', 'request topic')
    .option('-e, --response-topic <topic>', 'response topic, subscribed to for the response')
    .option('-m, --message <message>', 'request payload')
    .option('-f, --file <file>', 'send the contents of a file')
    .option('-s, --stdin-file', 'send all of stdin as the request')
    .option('-n, --null-message', 'send an empty request')
    .option('-q, --qos <qos>', 'QoS 0, 1 or 2', int('qos', 0, 2), 0)
    .option('-v, --verbose', 'print "topic payload"')
    .option('-F, --format <format>', 'output format, as mosquitto_sub -F')
    .option('-W, --timeout <sec>', 'exit with status 27 after sec seconds', int('timeout', 1, 3600))
    .option('-N, --no-eol', 'no newline after the response')
    .action(
      async (
        o: ConnOpts & {
          topic?: string;
          responseTopic?: string;
          message?: string;
          file?: string;
          stdinFile?: boolean;
          nullMessage?: boolean;
          qos: number;
          verbose?: boolean;
          format?: string;
          timeout?: number;
          eol: boolean;
        },
      ) => {
        exit(
          await withSignalAbort((signal) =>
            runRr(
              {
                ...connectFlags(o),
                topic: o.topic,
                responseTopic: o.responseTopic,
                message: o.message,
                file: o.file,
                stdinFile: o.stdinFile,
                nullMessage: o.nullMessage,
                qos: o.qos,
                verbose: o.verbose,
                format: o.format,
                timeoutSec: o.timeout,
                noNewline: !o.eol,
                signal,
              },
              io,
            ),
          ),
        );
      },
    );

  program
    .command('hash-password')
    .description('read a password on stdin, print its hash for web.passwordHash')
    .action(async () => exit(await runHashPassword(io)));

  program
    .command('murano-reprovision')
    .description('forget the stored Exosite Murano credential; the next start provisions again')
    .requiredOption('-c, --config <file>', 'configuration file (JSON or YAML)')
    .action(async (o: { config: string }) => exit(await runMuranoReprovision(o.config, io)));

  connectionFlags(
    program
      .command('bench')
      .argument('[mode]', 'fleet mode: conn, pub or sub (default: the throughput run)')
      .description(
        'measure throughput and latency against a broker; conn|pub|sub: a fleet of clients (like emqtt-bench)',
      ),
  )
    .addOption(
      new Option('--publishers <n>', 'publishing clients')
        .argParser(int('publishers', 1, 1000))
        .default(1),
    )
    .addOption(
      new Option('--subscribers <n>', 'subscribing clients')
        .argParser(int('subscribers', 0, 1000))
        .default(1),
    )
    .addOption(
      new Option('--messages <n>', 'messages per publisher')
        .argParser(int('messages', 1, 10_000_000))
        .default(10000),
    )
    .addOption(
      new Option('--size <bytes>', 'payload size')
        .argParser(int('size', 12, 268_435_455))
        .default(64),
    )
    .option('-q, --qos <qos>', 'QoS 0, 1 or 2', int('qos', 0, 2), 0)
    .addOption(
      new Option('--inflight <n>', 'outstanding publishes per publisher')
        .argParser(int('inflight', 1, 65535))
        .default(100),
    )
    .option(
      '-t, --topic <prefix>',
      'topic prefix; fleet modes: topic template, %i = client index (default courier/bench/%i)',
      'courier/bench',
    )
    .addOption(
      new Option('--clients <n>', 'fleet: clients (conn, pub) or subscribers (sub)')
        .argParser(int('clients', 1, MAX_FLEET_CLIENTS))
        .default(100),
    )
    .addOption(
      new Option('--connect-rate <n>', 'fleet: connects started per second, 0 = unpaced')
        .argParser(int('connect-rate', 0, 1_000_000))
        .default(200),
    )
    .addOption(
      new Option('--concurrency <n>', 'fleet: handshakes outstanding at once')
        .argParser(int('concurrency', 1, 10_000))
        .default(50),
    )
    .addOption(
      new Option('--rate <n>', 'fleet pub/sub: messages per second per publisher, 0 = unpaced')
        .argParser(int('rate', 0, 1_000_000))
        .default(10),
    )
    .addOption(
      new Option('--hold <sec>', 'fleet conn: keep the connections open this long')
        .argParser(int('hold', 0, 86_400))
        .default(0),
    )
    .addOption(
      new Option('--idle <sec>', 'stop waiting after sec seconds without a message')
        .argParser(int('idle', 1, 3600))
        .default(2),
    )
    .option('--json', 'print the result as JSON')
    .action(
      async (
        mode: string | undefined,
        o: ConnOpts & {
          clients: number;
          connectRate: number;
          concurrency: number;
          rate: number;
          hold: number;
          publishers: number;
          subscribers: number;
          messages: number;
          size: number;
          qos: number;
          inflight: number;
          topic: string;
          idle: number;
          json?: boolean;
        },
        command: Command,
      ) => {
        if (mode !== undefined) {
          if (!(FLEET_MODES as readonly string[]).includes(mode)) {
            throw new UsageError(`Error: unknown bench mode '${mode}': use conn, pub or sub.`);
          }
          const given = (name: string) => command.getOptionValueSource(name) !== 'default';
          const live = fleetProgressLine(io);
          const result = await runFleet(
            mode as FleetMode,
            {
              ...connectFlags(o),
              clients: o.clients,
              connectRate: o.connectRate,
              concurrency: o.concurrency,
              messages: given('messages') ? o.messages : 100,
              rate: o.rate,
              qos: o.qos,
              size: o.size,
              topic: given('topic') ? o.topic : undefined,
              holdSec: o.hold,
              idleSec: o.idle,
            },
            live,
          );
          if (live !== undefined) io.stderr.write('\n');
          if (o.json === true) io.stdout.write(`${JSON.stringify(result)}\n`);
          else printFleet(io, result);
          exit(result.connectErrors + result.publishErrors > 0 ? 1 : 0);
          return;
        }
        const progress = progressBar(io);
        const result = await runBench(
          {
            ...connectFlags(o),
            publishers: o.publishers,
            subscribers: o.subscribers,
            messages: o.messages,
            size: o.size,
            qos: o.qos,
            inflight: o.inflight,
            topic: o.topic,
            idleSec: o.idle,
          },
          progress,
        );
        if (progress !== undefined) io.stderr.write('\n');
        if (o.json === true) io.stdout.write(`${JSON.stringify(result)}\n`);
        else printBench(io, result);
        exit(0);
      },
    );

  return program;
}

/**
 * Runs `courier` with `argv` (as `process.argv`).
 * @returns the exit status
 */
export async function main(argv: readonly string[], io: ToolIo = process): Promise<number> {
  let status = 0;
  const program = buildProgram(io, (s) => {
    status = s;
  });
  try {
    await program.parseAsync([...argv]);
  } catch (error) {
    const e = error as { code?: string; exitCode?: number };
    if (typeof e.code === 'string' && e.code.startsWith('commander.')) {
      // Commander already printed the message (or the help / version, with status 0).
      return e.exitCode ?? 1;
    }
    if (error instanceof UsageError) io.stderr.write(`${error.message}\n`);
    else if (error instanceof ConfigError) io.stderr.write(`${error.message}\n`);
    else if (error instanceof MqttError) io.stderr.write(`Connection error: ${error.message}\n`);
    else io.stderr.write(`Error: ${error instanceof Error ? error.message : String(error)}\n`);
    return 1;
  }
  return status;
}
