/**
 * `npm run bench`: end-to-end throughput, CPU per message and memory of our client against
 * MQTT.js and a raw pipelined socket (the ceiling of this machine), at MQTT 3.1.1 and 5.0, our
 * file store against the memory store, and the RSS an idle connection costs.
 *
 * One private Mosquitto for the whole run. Each measurement is a child process (publisher and
 * subscriber in one process, 64-byte payloads, the same in-flight window for everyone), so its
 * peak RSS is its own. The machine is shared and noisy: contenders are interleaved over a few
 * rounds, in a rotating order, and medians are reported.
 *
 * Every contender runs as plain JavaScript in plain Node: the contender script and our client
 * (from its TypeScript source) are bundled with esbuild into `.tmp/bench/` first, and MQTT.js
 * is loaded as it ships from `node_modules`. No TypeScript loader inflates anyone's RSS.
 *
 * CPU per message is `process.cpuUsage()` (user + system) of the contender process over the
 * same interval as its throughput, divided by the messages (publisher and subscriber together),
 * and shown split into its user and system (kernel) parts.
 * The MQTT 5 contenders (`ours5`, `mqttjs5`) meet the same Mosquitto listener, which speaks
 * 3.1.1 and 5.0 alike (Mosquitto picks the protocol from each CONNECT).
 *
 * Options: --messages N (default 100000), --rounds R (default 3), --window W (default 100),
 *          --idle C (connections of the idle-memory bench, default 10000, 0 skips it; `raw-idle`
 *          is a bare socket that connected and subscribed: Node's own floor),
 *          --only ours,mqttjs,raw,file,ours5,mqttjs5,idle (default all)
 */

import { spawn } from 'node:child_process';
import { rmSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { build } from 'esbuild';
import { startBroker } from './broker.js';
import type { ContenderResult, ContenderSpec } from './contender.js';

const { values } = parseArgs({
  options: {
    messages: { type: 'string', default: '100000' },
    rounds: { type: 'string', default: '3' },
    window: { type: 'string', default: '100' },
    idle: { type: 'string', default: '10000' },
    only: { type: 'string', default: 'ours,mqttjs,raw,file,ours5,mqttjs5,idle' },
  },
});
const idleConnections = Number(values.idle);
if (!Number.isSafeInteger(idleConnections) || idleConnections < 0) {
  throw new Error('--idle must be a non-negative integer');
}
const messages = Number(values.messages);
const rounds = Number(values.rounds);
const window = Number(values.window);
const only = new Set(values.only.split(','));
for (const [name, n] of [
  ['--messages', messages],
  ['--rounds', rounds],
  ['--window', window],
] as const) {
  if (!Number.isSafeInteger(n) || n < 1) throw new Error(`${name} must be a positive integer`);
}

const buildDir = fileURLToPath(new URL('../.tmp/bench/', import.meta.url));
rmSync(buildDir, { recursive: true, force: true });
await build({
  entryPoints: [fileURLToPath(new URL('./contender-main.ts', import.meta.url))],
  outdir: buildDir,
  bundle: true,
  splitting: true,
  format: 'esm',
  platform: 'node',
  target: 'node20',
  conditions: ['source'],
  external: ['mqtt'],
  logLevel: 'warning',
});
const contenderScript = `${buildDir}contender-main.js`;

type Name = 'ours' | 'mqttjs' | 'raw' | 'ours-file' | 'ours5' | 'mqttjs5';
type IdleName = 'ours-idle' | 'mqttjs-idle' | 'raw-idle';
type QoS = 0 | 1 | 2;

/** Runs one contender in a child process. */
function run(spec: ContenderSpec): Promise<ContenderResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--expose-gc', contenderScript, JSON.stringify(spec)], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    let err = '';
    child.stdout.setEncoding('utf8').on('data', (c: string) => {
      out += c;
    });
    child.stderr.setEncoding('utf8').on('data', (c: string) => {
      err += c;
    });
    child.on('error', reject);
    child.on('close', (code) => {
      const line = out.trim().split('\n').pop() ?? '';
      if (code !== 0 || line === '') {
        reject(
          new Error(
            `${spec.contender} qos ${spec.qos} failed (exit ${code}): ${err.trim().split('\n').slice(0, 6).join(' | ')}`,
          ),
        );
        return;
      }
      resolve(JSON.parse(line) as ContenderResult);
    });
  });
}

const median = (xs: readonly number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  const mid = s.length >> 1;
  return s.length === 0 ? Number.NaN : s.length % 2 === 1 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
};

const results = new Map<string, ContenderResult[]>();
const failures = new Map<string, string>();
const key = (name: Name | IdleName, qos: QoS): string => `${name}/${qos}`;

function specOf(name: Name, qos: QoS, port: number): ContenderSpec {
  switch (name) {
    case 'ours-file':
      return { contender: 'ours', store: 'file', qos, messages, port, window };
    case 'ours':
      return { contender: 'ours', store: 'memory', qos, messages, port, window };
    case 'ours5':
      return {
        contender: 'ours',
        store: 'memory',
        protocolVersion: 5,
        qos,
        messages,
        port,
        window,
      };
    case 'mqttjs5':
      return { contender: 'mqttjs', protocolVersion: 5, qos, messages, port, window };
    default:
      return { contender: name, qos, messages, port, window };
  }
}

function idleSpecOf(name: IdleName, port: number): ContenderSpec {
  return {
    contender: name === 'ours-idle' ? 'ours' : name === 'raw-idle' ? 'raw' : 'mqttjs',
    mode: 'idle',
    connections: idleConnections,
    qos: 1,
    messages: 0,
    port,
    window,
  };
}

const broker = await startBroker(window);
console.log(
  `courier bench: ${messages} messages of 64 B per run, window ${window}, ${rounds} rounds, mosquitto on port ${broker.port}`,
);
try {
  const baseline = await run({ contender: 'baseline', qos: 0, messages: 0, port: 0, window });
  for (let round = 0; round < rounds; round++) {
    for (const qos of [0, 1, 2] as const) {
      const names: Name[] = ['ours', 'mqttjs', 'raw', 'ours5', 'mqttjs5'];
      if (qos > 0) names.push('ours-file');
      const selected = names.filter((n) => only.has(n === 'ours-file' ? 'file' : n));
      // Rotate the order each round so no contender always runs first (cold) or last.
      const order = selected.map((_, i) => selected[(i + round) % selected.length]!);
      for (const name of order) {
        const k = key(name, qos);
        if (failures.has(k)) continue;
        try {
          const r = await run(specOf(name, qos, broker.port));
          results.set(k, [...(results.get(k) ?? []), r]);
          process.stdout.write(
            `  round ${round + 1} qos ${qos} ${name.padEnd(9)} ${Math.round(r.msgPerSec).toString().padStart(8)} msg/s  ${r.cpuUsPerMsg.toFixed(1).padStart(5)} µs CPU/msg (user ${r.userUsPerMsg.toFixed(1).padStart(5)}, sys ${r.systemUsPerMsg.toFixed(1).padStart(5)})  rss ${(r.maxRssKiB / 1024).toFixed(1)} MiB${r.received < messages ? `  (received ${r.received})` : ''}${r.note === undefined ? '' : `  ${r.note}`}\n`,
          );
        } catch (error) {
          failures.set(k, error instanceof Error ? error.message : String(error));
          process.stdout.write(`  round ${round + 1} qos ${qos} ${name}: FAILED\n`);
        }
      }
    }
    if (idleConnections > 0 && only.has('idle')) {
      const idleNames: IdleName[] = ['ours-idle', 'mqttjs-idle', 'raw-idle'];
      // Rotate the order each round, as for the throughput runs.
      const idleOrder = idleNames.map((_, i) => idleNames[(i + round) % idleNames.length]!);
      for (const name of idleOrder) {
        const k = key(name, 1);
        if (failures.has(k)) continue;
        try {
          const r = await run(idleSpecOf(name, broker.port));
          results.set(k, [...(results.get(k) ?? []), r]);
          process.stdout.write(
            `  round ${round + 1} idle ${name.padEnd(11)} ${idleConnections} connections  ${(r.rssPerConnKiB ?? Number.NaN).toFixed(1)} KiB RSS each  ${Math.round(r.connectsPerSec ?? 0)} connects/s\n`,
          );
        } catch (error) {
          failures.set(k, error instanceof Error ? error.message : String(error));
          process.stdout.write(`  round ${round + 1} idle ${name}: FAILED\n`);
        }
      }
    }
  }
  report(baseline.maxRssKiB);
} finally {
  await broker.stop();
}

function report(baselineKiB: number): void {
  const rate = (name: Name, qos: QoS): number =>
    median((results.get(key(name, qos)) ?? []).map((r) => r.msgPerSec));
  const cpu = (name: Name, qos: QoS): number =>
    median((results.get(key(name, qos)) ?? []).map((r) => r.cpuUsPerMsg));
  const user = (name: Name, qos: QoS): number =>
    median((results.get(key(name, qos)) ?? []).map((r) => r.userUsPerMsg));
  const sys = (name: Name, qos: QoS): number =>
    median((results.get(key(name, qos)) ?? []).map((r) => r.systemUsPerMsg));
  const rss = (name: Name, qos: QoS): number =>
    median((results.get(key(name, qos)) ?? []).map((r) => r.maxRssKiB));
  const idle = (name: IdleName): number =>
    median((results.get(key(name, 1)) ?? []).map((r) => r.rssPerConnKiB ?? Number.NaN));
  const idleRate = (name: IdleName): number =>
    median((results.get(key(name, 1)) ?? []).map((r) => r.connectsPerSec ?? Number.NaN));
  const fmt = (x: number, digits = 0): string => (Number.isNaN(x) ? '—' : x.toFixed(digits));
  console.log(
    `\nMedians over ${rounds} rounds (baseline: an idle contender process, ${(baselineKiB / 1024).toFixed(1)} MiB RSS)`,
  );
  console.log(
    'QoS  contender   msg/s     CPU µs/msg  user µs   sys µs  peak RSS MiB  RSS above baseline MiB',
  );
  for (const qos of [0, 1, 2] as const) {
    for (const name of ['ours', 'mqttjs', 'raw', 'ours5', 'mqttjs5', 'ours-file'] as const) {
      if (!results.has(key(name, qos))) continue;
      const r = rss(name, qos);
      console.log(
        `${qos}    ${name.padEnd(10)}  ${fmt(rate(name, qos)).padStart(8)}   ${fmt(cpu(name, qos), 1).padStart(8)}  ${fmt(user(name, qos), 1).padStart(8)} ${fmt(sys(name, qos), 1).padStart(8)}    ${fmt(r / 1024, 1).padStart(8)}      ${fmt((r - baselineKiB) / 1024, 1).padStart(8)}`,
      );
    }
  }
  for (const name of ['ours-idle', 'mqttjs-idle', 'raw-idle'] as const) {
    if (!results.has(key(name, 1))) continue;
    console.log(
      `idle ${name.padEnd(12)} ${idleConnections} connections: ${fmt(idle(name), 1)} KiB RSS per connection, ${fmt(idleRate(name))} connects/s${name === 'raw-idle' ? '' : `, ${fmt(idle(name) - idle('raw-idle'), 1)} KiB above a bare socket`}`,
    );
  }
  console.log('\nRatio                                   measured   target   verdict');
  const line = (label: string, value: number, target: number, higherIsBetter: boolean): void => {
    const ok = higherIsBetter ? value >= target : value <= target;
    console.log(
      `${label.padEnd(40)}${fmt(value, 2).padStart(8)}   ${(higherIsBetter ? '≥ ' : '≤ ') + target.toFixed(2)}   ${Number.isNaN(value) ? 'n/a' : ok ? 'met' : 'MISSED'}`,
    );
  };
  for (const qos of [0, 1, 2] as const) {
    line(`CPU/msg ours / MQTT.js, QoS ${qos}`, cpu('ours', qos) / cpu('mqttjs', qos), 0.5, false);
  }
  for (const qos of [0, 1, 2] as const) {
    line(
      `CPU/msg v5 ours / MQTT.js v5, QoS ${qos}`,
      cpu('ours5', qos) / cpu('mqttjs5', qos),
      0.5,
      false,
    );
  }
  for (const qos of [0, 1, 2] as const) {
    line(
      `msg/s v5 ours / 3.1.1 ours, QoS ${qos}`,
      rate('ours5', qos) / rate('ours', qos),
      0.95,
      true,
    );
  }
  line('QoS 0 ours / MQTT.js', rate('ours', 0) / rate('mqttjs', 0), 1.3, true);
  line('QoS 1 ours / MQTT.js', rate('ours', 1) / rate('mqttjs', 1), 2, true);
  line('QoS 2 ours / MQTT.js', rate('ours', 2) / rate('mqttjs', 2), 2, true);
  line('QoS 1 ours / raw socket', rate('ours', 1) / rate('raw', 1), 0.9, true);
  for (const qos of [0, 1, 2] as const) {
    line(`peak RSS ours / MQTT.js, QoS ${qos}`, rss('ours', qos) / rss('mqttjs', qos), 0.5, false);
    line(
      `  same, above baseline, QoS ${qos}`,
      (rss('ours', qos) - baselineKiB) / (rss('mqttjs', qos) - baselineKiB),
      0.5,
      false,
    );
  }
  line('idle RSS/connection ours KiB', idle('ours-idle'), 8, false);
  line('idle RSS/connection ours / MQTT.js', idle('ours-idle') / idle('mqttjs-idle'), 0.5, false);
  line('QoS 1 file store / memory store', rate('ours-file', 1) / rate('ours', 1), 0.5, true);
  line('QoS 2 file store / memory store', rate('ours-file', 2) / rate('ours', 2), 0.5, true);
  for (const [k, message] of failures) console.log(`FAILED ${k}: ${message}`);
}
