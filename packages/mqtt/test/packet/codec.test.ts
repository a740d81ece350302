import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { MalformedPacketError, PacketTooLargeError } from '../../src/errors.js';
import { decode, encode, Parser } from '../../src/packet/index.js';
import type { Packet } from '../../src/packet/types.js';
import { arbitraryPacket } from './arbitraries.js';
import { vectors } from './vectors.js';

/** Normalizes views into plain arrays so packets compare by content. */
function plain(p: Packet): unknown {
  return JSON.parse(JSON.stringify(p, (_k, v: unknown) => (v instanceof Uint8Array ? [...v] : v)));
}

function parseChunks(chunks: Uint8Array[], version: 3 | 4 = 4): Packet[] {
  const parser = new Parser({ protocolVersion: version });
  const out: Packet[] = [];
  for (const chunk of chunks) parser.push(chunk, (p) => out.push(p));
  assert.equal(parser.pending, false, 'bytes left in the parser');
  return out;
}

for (const v of vectors) {
  test(`golden vector: ${v.name}`, () => {
    assert.deepEqual([...encode(v.packet, v.version ?? 4)], [...v.bytes], 'encode');
    assert.deepEqual(plain(decode(v.bytes, v.version ?? 4)), plain(v.packet), 'decode whole');
    // One byte at a time.
    const bytewise = parseChunks(
      [...v.bytes].map((x) => Uint8Array.of(x)),
      v.version ?? 4,
    );
    assert.deepEqual(bytewise.map(plain), [plain(v.packet)], 'byte by byte');
    // Split at every offset.
    for (let i = 1; i < v.bytes.length; i++) {
      const split = parseChunks([v.bytes.slice(0, i), v.bytes.slice(i)], v.version ?? 4);
      assert.deepEqual(split.map(plain), [plain(v.packet)], `split at ${i}`);
    }
  });
}

test('many packets in one chunk come out in order', () => {
  const all = vectors.filter((v) => v.version === undefined);
  const joined = new Uint8Array(all.reduce((n, v) => n + v.bytes.length, 0));
  let at = 0;
  for (const v of all) {
    joined.set(v.bytes, at);
    at += v.bytes.length;
  }
  assert.deepEqual(
    parseChunks([joined]).map(plain),
    all.map((v) => plain(v.packet)),
  );
});

test('a PUBLISH payload within one chunk is a view, not a copy', () => {
  const bytes = encode({
    type: 'publish',
    topic: 't',
    payload: Uint8Array.of(1, 2, 3),
    qos: 0,
    retain: false,
    dup: false,
  });
  const p = decode(bytes);
  assert.equal(p.type, 'publish');
  if (p.type === 'publish') assert.equal(p.payload.buffer, bytes.buffer);
});

test('property: decode(encode(p)) equals p for every packet type', () => {
  fc.assert(
    fc.property(arbitraryPacket, (p) => {
      const bytes = encode(p, p.type === 'connect' ? p.protocolVersion : 4);
      const back = decode(bytes, p.type === 'connect' ? p.protocolVersion : 4);
      assert.deepEqual(plain(back), plain(p));
    }),
    { numRuns: 2000 },
  );
});

test('property: any split of a stream of packets parses to the same packets', () => {
  fc.assert(
    fc.property(
      fc.array(
        arbitraryPacket.filter((p) => p.type !== 'connect'),
        { minLength: 1, maxLength: 8 },
      ),
      fc.array(fc.nat(), { maxLength: 10 }),
      (packets, cuts) => {
        const encoded = packets.map((p) => encode(p));
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

/** Feeds the bytes to the parser, whole and byte by byte, and to `decode`. */
function onlyTypedErrors(bytes: Uint8Array): void {
  const whole: Packet[] = [];
  typedOnly(bytes, () => new Parser({ maxPacketSize: 1 << 20 }).push(bytes, (p) => whole.push(p)));
  const bytewise: Packet[] = [];
  typedOnly(bytes, () => {
    const parser = new Parser({ maxPacketSize: 1 << 20 });
    for (const byte of bytes) parser.push(Uint8Array.of(byte), (p) => bytewise.push(p));
  });
  // Chunking never changes what comes out before the first error.
  assert.deepEqual(bytewise.map(plain), whole.map(plain));
  typedOnly(bytes, () => decode(bytes));
}

test('fuzz: random bytes yield packets or typed errors, never another exception', () => {
  fc.assert(
    fc.property(fc.uint8Array({ maxLength: 300 }), (bytes) => onlyTypedErrors(bytes)),
    { numRuns: 5000 },
  );
});

test('fuzz: mutated valid packets yield packets or typed errors, never another exception', () => {
  fc.assert(
    fc.property(
      arbitraryPacket,
      fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })), {
        minLength: 1,
        maxLength: 4,
      }),
      (p, mutations) => {
        const bytes = encode(p, p.type === 'connect' ? p.protocolVersion : 4).slice();
        for (const [at, value] of mutations) bytes[at % bytes.length] = value;
        onlyTypedErrors(bytes);
        // Truncated too.
        onlyTypedErrors(bytes.subarray(0, mutations[0]![0] % bytes.length));
      },
    ),
    { numRuns: 3000 },
  );
});

test('the maximum packet size is enforced from the fixed header, before the body arrives', () => {
  const parser = new Parser({ maxPacketSize: 100 });
  // PUBLISH announcing 1,000,000 bytes: only the header is fed.
  assert.throws(
    () => parser.push(Uint8Array.of(0x30, 0xc0, 0x84, 0x3d), () => undefined),
    (e: unknown) =>
      e instanceof PacketTooLargeError && e.sizeBytes === 1_000_004 && e.maxBytes === 100,
  );
  // The stream is corrupt afterwards: every later push throws.
  assert.throws(() => parser.push(Uint8Array.of(0xc0, 0), () => undefined), PacketTooLargeError);
});

test('the maximum packet size is enforced when the fixed header itself is split', () => {
  const parser = new Parser({ maxPacketSize: 100 });
  parser.push(Uint8Array.of(0x30), () => assert.fail('no packet expected'));
  parser.push(Uint8Array.of(0xc0), () => assert.fail('no packet expected'));
  assert.equal(parser.pending, true);
  assert.throws(
    () => parser.push(Uint8Array.of(0x84, 0x3d), () => undefined),
    (e: unknown) => e instanceof PacketTooLargeError && e.sizeBytes === 1_000_004,
  );
});

test('a packet of exactly the maximum size is accepted, one byte more is not', () => {
  const p: Packet = {
    type: 'publish',
    topic: 't',
    payload: new Uint8Array(95),
    qos: 0,
    retain: false,
    dup: false,
  };
  const bytes = encode(p);
  assert.equal(bytes.length, 100);
  const got: Packet[] = [];
  new Parser({ maxPacketSize: 100 }).push(bytes, (x) => got.push(x));
  assert.equal(got.length, 1);
  assert.throws(
    () => new Parser({ maxPacketSize: 99 }).push(bytes, () => undefined),
    PacketTooLargeError,
  );
});

test('a remaining length of five bytes is refused even when split byte by byte', () => {
  const parser = new Parser();
  for (const byte of [0x30, 0xff, 0xff, 0xff]) parser.push(Uint8Array.of(byte), () => undefined);
  assert.throws(
    () => parser.push(Uint8Array.of(0xff), () => undefined),
    (e: unknown) => e instanceof MalformedPacketError && e.rule === 'MQTT-2.2.3' && e.offset === 4,
  );
});

test('a malformed packet poisons the parser; a throwing callback does not', () => {
  const parser = new Parser();
  assert.throws(
    () =>
      parser.push(Uint8Array.of(0xc0, 0, 0xc0, 0), () => {
        throw new RangeError('from the callback');
      }),
    RangeError,
  );
  const got: Packet[] = [];
  parser.push(Uint8Array.of(0xd0, 0), (p) => got.push(p));
  assert.deepEqual(got, [{ type: 'pingresp' }]);
  assert.throws(
    () => parser.push(Uint8Array.of(0x41, 2, 0, 1), () => undefined),
    MalformedPacketError,
  );
  // Even valid bytes are refused from now on: the stream cannot be resynchronised.
  assert.throws(() => parser.push(Uint8Array.of(0xd0, 0), () => undefined), MalformedPacketError);
});

test('a PUBLISH spread over chunks gets its own copy of the payload', () => {
  const bytes = encode({
    type: 'publish',
    topic: 'a/b',
    payload: Uint8Array.of(1, 2, 3, 4),
    qos: 1,
    retain: true,
    dup: true,
    packetId: 7,
  });
  const got: Packet[] = [];
  const parser = new Parser();
  const first = bytes.slice(0, 6);
  const second = bytes.slice(6);
  parser.push(first, (p) => got.push(p));
  parser.push(second, (p) => got.push(p));
  second.fill(0);
  const p = got[0];
  assert.ok(p !== undefined && p.type === 'publish');
  assert.deepEqual([...p.payload], [1, 2, 3, 4]);
  assert.equal(p.packetId, 7);
});
