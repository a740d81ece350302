/** MQTT 5.0 codec: golden vectors, chunking, round trips and fuzzing. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { MalformedPacketError, PacketTooLargeError } from '../../src/errors.js';
import { decode, encode, Parser, propertyTable } from '../../src/packet/index.js';
import type { Packet } from '../../src/packet/types.js';
import { arbitraryPacket5 } from './arbitraries-v5.js';
import { vectors5 } from './v5-vectors.js';

/** Normalizes views into plain arrays so packets compare by content. */
function plain(p: Packet): unknown {
  return JSON.parse(JSON.stringify(p, (_k, v: unknown) => (v instanceof Uint8Array ? [...v] : v)));
}

function parseChunks(chunks: Uint8Array[]): Packet[] {
  const parser = new Parser({ protocolVersion: 5 });
  const out: Packet[] = [];
  for (const chunk of chunks) parser.push(chunk, (p) => out.push(p));
  assert.equal(parser.pending, false, 'bytes left in the parser');
  return out;
}

for (const v of vectors5) {
  test(`v5 golden vector: ${v.name}`, () => {
    assert.deepEqual([...encode(v.packet, 5)], [...v.bytes], 'encode');
    assert.deepEqual(plain(decode(v.bytes, 5)), plain(v.packet), 'decode whole');
    const bytewise = parseChunks([...v.bytes].map((x) => Uint8Array.of(x)));
    assert.deepEqual(bytewise.map(plain), [plain(v.packet)], 'byte by byte');
    for (let i = 1; i < v.bytes.length; i++) {
      const split = parseChunks([v.bytes.slice(0, i), v.bytes.slice(i)]);
      assert.deepEqual(split.map(plain), [plain(v.packet)], `split at ${i}`);
    }
  });
}

test('the v5 vectors cover all 15 packet types and every property of table 2-4', () => {
  const types = new Set(vectors5.map((v) => v.bytes[0]! >>> 4));
  assert.deepEqual(
    [...types].sort((a, b) => a - b),
    [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15],
  );
  const seen = new Set<string>();
  const collect = (props: object | undefined): void => {
    for (const key of Object.keys(props ?? {})) seen.add(key);
  };
  for (const { packet: p } of vectors5) {
    collect((p as { properties?: object }).properties);
    if (p.type === 'connect') collect(p.will?.properties);
  }
  // The Subscription Identifier is `subscriptionIdentifiers` in PUBLISH.
  if (seen.has('subscriptionIdentifiers')) seen.add('subscriptionIdentifier');
  const all = propertyTable().map((row) => row.name);
  assert.equal(all.length, 27, 'table 2-4 has 27 properties');
  assert.deepEqual(
    all.filter((name) => !seen.has(name)),
    [],
  );
});

test('many v5 packets in one chunk come out in order', () => {
  const joined = new Uint8Array(vectors5.reduce((n, v) => n + v.bytes.length, 0));
  let at = 0;
  for (const v of vectors5) {
    joined.set(v.bytes, at);
    at += v.bytes.length;
  }
  assert.deepEqual(
    parseChunks([joined]).map(plain),
    vectors5.map((v) => plain(v.packet)),
  );
});

test('a v5 PUBLISH without properties has no properties key; its payload is a view', () => {
  const bytes = Uint8Array.of(0x30, 6, 0, 1, 0x74, 0, 1, 2);
  const p = decode(bytes, 5);
  assert.ok(p.type === 'publish');
  assert.equal('properties' in p, false);
  assert.equal(p.payload.buffer, bytes.buffer);
  assert.deepEqual([...p.payload], [1, 2]);
});

test('a v5 parser reads a 3.1.1 CONNECT at its own level (a 3.1.1 parser refuses a 5.0 one)', () => {
  const v4 = encode({
    type: 'connect',
    protocolVersion: 4,
    clientId: 'a',
    clean: true,
    keepaliveSec: 5,
  });
  assert.deepEqual(parseChunks([v4]), [
    { type: 'connect', protocolVersion: 4, clientId: 'a', clean: true, keepaliveSec: 5 },
  ]);
  const v5 = encode({
    type: 'connect',
    protocolVersion: 5,
    clientId: 'a',
    clean: true,
    keepaliveSec: 5,
  });
  assert.throws(
    () => decode(v5, 4),
    (e: unknown) => e instanceof MalformedPacketError && e.rule === 'MQTT-3.1.2-2',
  );
});

test('v5: onPacket returning false stops right after that packet and reports bytes used', () => {
  const a = Uint8Array.of(0x40, 3, 0, 1, 0x10);
  const b = Uint8Array.of(0xe0, 1, 0x04);
  const stream = new Uint8Array([...a, ...b]);
  const parser = new Parser({ protocolVersion: 5 });
  const got: Packet[] = [];
  const used = parser.push(stream, (p) => {
    got.push(p);
    return false;
  });
  assert.equal(used, a.length);
  assert.deepEqual(got, [{ type: 'puback', packetId: 1, reasonCode: 0x10 }]);
  parser.push(stream.subarray(used), (p) => got.push(p));
  assert.deepEqual(got[1], { type: 'disconnect', reasonCode: 4 });
});

test('v5: the maximum packet size is enforced from the fixed header, before the body', () => {
  const parser = new Parser({ protocolVersion: 5, maxPacketSize: 100 });
  assert.throws(
    () => parser.push(Uint8Array.of(0x30, 0xc0, 0x84, 0x3d), () => undefined),
    (e: unknown) => e instanceof PacketTooLargeError && e.sizeBytes === 1_000_004,
  );
  // AUTH (type 15) is framed and limited like any other packet.
  const auth = new Parser({ protocolVersion: 5, maxPacketSize: 10 });
  assert.throws(
    () => auth.push(Uint8Array.of(0xf0, 0x7f), () => undefined),
    (e: unknown) => e instanceof PacketTooLargeError && e.sizeBytes === 129,
  );
});

test('AUTH (type 15) is a packet in 5.0 and reserved in 3.1.1', () => {
  assert.deepEqual(decode(Uint8Array.of(0xf0, 0), 5), { type: 'auth', reasonCode: 0 });
  assert.throws(
    () => new Parser().push(Uint8Array.of(0xf0, 0), () => undefined),
    (e: unknown) => e instanceof MalformedPacketError && e.rule === 'MQTT-2.2.1',
  );
});

test('property: decode(encode(p, 5), 5) equals p for every v5 packet type', () => {
  fc.assert(
    fc.property(arbitraryPacket5, (p) => {
      assert.deepEqual(plain(decode(encode(p, 5), 5)), plain(p));
    }),
    { numRuns: 3000 },
  );
});

test('property: any split of a stream of v5 packets parses to the same packets', () => {
  fc.assert(
    fc.property(
      fc.array(arbitraryPacket5, { minLength: 1, maxLength: 8 }),
      fc.array(fc.nat(), { maxLength: 10 }),
      (packets, cuts) => {
        const encoded = packets.map((p) => encode(p, 5));
        const total = encoded.reduce((n, e) => n + e.length, 0);
        const stream = new Uint8Array(total);
        let at = 0;
        for (const e of encoded) {
          stream.set(e, at);
          at += e.length;
        }
        const points = [...new Set(cuts.map((c) => c % (total + 1)))].sort((a, b) => a - b);
        const chunks: Uint8Array[] = [];
        let last = 0;
        for (const p of points) {
          chunks.push(stream.slice(last, p));
          last = p;
        }
        chunks.push(stream.slice(last));
        assert.deepEqual(parseChunks(chunks).map(plain), packets.map(plain));
      },
    ),
    { numRuns: 500 },
  );
});

function typedOnly(bytes: Uint8Array, run: () => void): void {
  try {
    run();
  } catch (error) {
    if (!(error instanceof MalformedPacketError || error instanceof PacketTooLargeError)) {
      throw new Error(`untyped error for ${Buffer.from(bytes).toString('hex')}: ${String(error)}`);
    }
  }
}

/** Feeds the bytes to a v5 parser, whole and byte by byte, and to `decode`. */
function onlyTypedErrors(bytes: Uint8Array): void {
  const options = { protocolVersion: 5, maxPacketSize: 1 << 20 } as const;
  const whole: Packet[] = [];
  typedOnly(bytes, () => new Parser(options).push(bytes, (p) => whole.push(p)));
  const bytewise: Packet[] = [];
  typedOnly(bytes, () => {
    const parser = new Parser(options);
    for (const byte of bytes) parser.push(Uint8Array.of(byte), (p) => bytewise.push(p));
  });
  assert.deepEqual(bytewise.map(plain), whole.map(plain));
  typedOnly(bytes, () => decode(bytes, 5));
  // Whatever decodes must encode again (the decoder accepts nothing the encoder refuses),
  // except the 3.1.1 CONNACK refusal kept for protocol fallback.
  for (const p of whole) {
    if (p.type === 'connack' && p.returnCode >= 1 && p.returnCode <= 5) continue;
    encode(p, p.type === 'connect' ? p.protocolVersion : 5);
  }
}

test('fuzz v5: random bytes yield packets or typed errors, never another exception', () => {
  fc.assert(
    fc.property(fc.uint8Array({ maxLength: 300 }), (bytes) => onlyTypedErrors(bytes)),
    { numRuns: 5000 },
  );
});

test('fuzz v5: random property sections yield packets or typed errors', () => {
  // A PUBLISH, a CONNACK and a DISCONNECT around random property bytes: reaches the property
  // decoder far more often than random packets do.
  fc.assert(
    fc.property(fc.uint8Array({ maxLength: 60 }), fc.constantFrom(0, 1, 2), (props, kind) => {
      const body =
        kind === 0
          ? [0, 1, 0x74, props.length, ...props]
          : kind === 1
            ? [0, 0, props.length, ...props]
            : [0x80, props.length, ...props];
      const first = kind === 0 ? 0x30 : kind === 1 ? 0x20 : 0xe0;
      onlyTypedErrors(Uint8Array.of(first, body.length, ...body));
    }),
    { numRuns: 5000 },
  );
});

test('fuzz v5: mutated valid packets yield packets or typed errors, never another exception', () => {
  fc.assert(
    fc.property(
      arbitraryPacket5,
      fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })), {
        minLength: 1,
        maxLength: 4,
      }),
      (p, mutations) => {
        const bytes = encode(p, 5).slice();
        for (const [at, value] of mutations) bytes[at % bytes.length] = value;
        onlyTypedErrors(bytes);
        onlyTypedErrors(bytes.subarray(0, mutations[0]![0] % bytes.length));
      },
    ),
    { numRuns: 3000 },
  );
});
