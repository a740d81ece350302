/**
 * Codec benchmark: our encoder/parser against `mqtt-packet`, side by side in one run, for
 * MQTT 3.1.1 and MQTT 5.0 (rows marked `v5`, both sides at protocol version 5).
 *
 *   npm run bench:codec [-- --ms 400 --rounds 5]
 *
 * Each case runs for `--ms` per contender per round, contenders interleaved, `--rounds`
 * rounds after a warm-up; the median ops/s is reported with the ratio ours / mqtt-packet.
 */
import mqttPacket from 'mqtt-packet';
import { encode, type Packet, Parser } from '../packages/mqtt/src/packet/index.js';

const args = process.argv.slice(2);
const option = (name: string, fallback: number): number => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? Number(args[i + 1]) : fallback;
};
const MS = option('ms', 300);
const ROUNDS = option('rounds', 5);

type Theirs = Parameters<typeof mqttPacket.generate>[0];

interface Case {
  readonly name: string;
  readonly ours: Packet;
  readonly theirs: Theirs;
  /** Protocol version of both sides; 4 unless set. */
  readonly version?: 4 | 5;
}

function publishCase(size: number): Case {
  const payload = new Uint8Array(size).fill(0x61);
  return {
    name: `PUBLISH ${size >= 1024 ? `${size / 1024} KiB` : `${size} B`} QoS 1`,
    ours: {
      type: 'publish',
      topic: 'devices/plant-1/OfficeTemp',
      payload,
      qos: 1,
      retain: false,
      dup: false,
      packetId: 1234,
    },
    theirs: {
      cmd: 'publish',
      topic: 'devices/plant-1/OfficeTemp',
      payload: Buffer.from(payload),
      qos: 1,
      retain: false,
      dup: false,
      messageId: 1234,
    },
  };
}

const cases: Case[] = [
  publishCase(16),
  publishCase(256),
  publishCase(4096),
  {
    name: 'PUBACK',
    ours: { type: 'puback', packetId: 77 },
    theirs: { cmd: 'puback', messageId: 77 },
  },
  {
    name: 'SUBSCRIBE 2 filters',
    ours: {
      type: 'subscribe',
      packetId: 9,
      subscriptions: [
        { topic: 'myhome/+/+/temperature', qos: 1 },
        { topic: 'PV/#', qos: 2 },
      ],
    },
    theirs: {
      cmd: 'subscribe',
      messageId: 9,
      subscriptions: [
        { topic: 'myhome/+/+/temperature', qos: 1 },
        { topic: 'PV/#', qos: 2 },
      ],
    },
  },
];

/** A v5 PUBLISH as a request/response client sends it: a few properties. */
function publishCase5(size: number, withProperties: boolean): Case {
  const base = publishCase(size);
  const correlationData = Uint8Array.of(1, 2, 3, 4, 5, 6, 7, 8);
  return {
    name: `v5 ${base.name}${withProperties ? ' + 4 properties' : ''}`,
    version: 5,
    ours: withProperties
      ? {
          ...(base.ours as Extract<Packet, { type: 'publish' }>),
          properties: {
            messageExpiryIntervalSec: 3600,
            responseTopic: 'replies/plant-1',
            correlationData,
            userProperties: [['unit', 'degC']],
          },
        }
      : base.ours,
    theirs: withProperties
      ? {
          ...base.theirs,
          properties: {
            messageExpiryInterval: 3600,
            responseTopic: 'replies/plant-1',
            correlationData: Buffer.from(correlationData),
            userProperties: { unit: 'degC' },
          },
        }
      : base.theirs,
  } as Case;
}

cases.push(
  publishCase5(16, false),
  publishCase5(256, true),
  publishCase5(4096, false),
  {
    name: 'v5 PUBACK',
    version: 5,
    ours: { type: 'puback', packetId: 77, reasonCode: 0 },
    theirs: { cmd: 'puback', messageId: 77, reasonCode: 0 },
  },
  {
    name: 'v5 SUBSCRIBE 2 filters + options',
    version: 5,
    ours: {
      type: 'subscribe',
      packetId: 9,
      properties: { subscriptionIdentifier: 42 },
      subscriptions: [
        { topic: 'myhome/+/+/temperature', qos: 1, noLocal: true, retainHandling: 1 },
        { topic: 'PV/#', qos: 2 },
      ],
    },
    theirs: {
      cmd: 'subscribe',
      messageId: 9,
      properties: { subscriptionIdentifier: 42 },
      subscriptions: [
        { topic: 'myhome/+/+/temperature', qos: 1, nl: true, rap: false, rh: 1 },
        { topic: 'PV/#', qos: 2, nl: false, rap: false, rh: 0 },
      ],
    },
  } as Case,
);

let sink = 0;

/** Runs `fn` in batches for `ms` milliseconds; returns ops/s. */
function measure(fn: () => void, ms: number): number {
  const end = performance.now() + ms;
  let ops = 0;
  while (performance.now() < end) {
    for (let i = 0; i < 1000; i++) fn();
    ops += 1000;
  }
  return (ops * 1000) / ms;
}

const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)]!;
};

interface Row {
  readonly name: string;
  readonly ours: number;
  readonly theirs: number;
}

function run(name: string, ours: () => void, theirs: () => void): Row {
  measure(ours, MS / 2);
  measure(theirs, MS / 2);
  const a: number[] = [];
  const b: number[] = [];
  for (let r = 0; r < ROUNDS; r++) {
    // Alternate who goes first so drift on a shared machine hits both.
    if (r % 2 === 0) {
      a.push(measure(ours, MS));
      b.push(measure(theirs, MS));
    } else {
      b.push(measure(theirs, MS));
      a.push(measure(ours, MS));
    }
  }
  return { name, ours: median(a), theirs: median(b) };
}

const rows: Row[] = [];
for (const c of cases) {
  const version = c.version ?? 4;
  const options = { protocolVersion: version };
  rows.push(
    run(
      `encode ${c.name}`,
      () => {
        sink += encode(c.ours, version).length;
      },
      () => {
        sink += mqttPacket.generate(c.theirs, options).length;
      },
    ),
  );
}
for (const c of cases) {
  const version = c.version ?? 4;
  const bytes = encode(c.ours, version);
  const buffer = Buffer.from(bytes);
  const ourParser = new Parser({ protocolVersion: version });
  const theirParser = mqttPacket.parser({ protocolVersion: version });
  theirParser.on('packet', () => {
    sink++;
  });
  rows.push(
    run(
      `decode ${c.name}`,
      () =>
        ourParser.push(bytes, () => {
          sink++;
        }),
      () => {
        theirParser.parse(buffer);
      },
    ),
  );
}

const fmt = (n: number): string => Math.round(n).toLocaleString('en-US').padStart(13);
console.log(`codec benchmark: median of ${ROUNDS} rounds of ${MS} ms, Node ${process.version}`);
console.log(
  `${'case'.padEnd(48)}${'ours ops/s'.padStart(13)}${'mqtt-packet'.padStart(13)}   ratio`,
);
for (const r of rows) {
  const ratio = r.ours / r.theirs;
  const target = r.name.includes('PUBLISH') ? (ratio >= 2 ? '  ≥ 2× ✓' : '  < 2× target') : '';
  console.log(`${r.name.padEnd(48)}${fmt(r.ours)}${fmt(r.theirs)}   ${ratio.toFixed(2)}×${target}`);
}
if (sink === 42) console.log('');
