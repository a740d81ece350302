/**
 * The RFC 6455 frame reader on its own, no socket: every frame kind whole, byte by byte and
 * split at every offset; fragmented messages with control frames between the fragments; and
 * every rule a server's frame can break (masking, reserved bits, opcodes, control frames,
 * fragmentation, sizes, UTF-8, close codes), each a typed error naming the rule and the close
 * code to send. Also the framer, and proof that a large frame in small chunks is copied once.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { MqttErrorCode } from '../../src/errors.js';
import * as library from '../../src/index.js';
import { WebSocketError } from '../../src/transport/errors.js';
import {
  encodeClosePayload,
  encodeFrame,
  isValidCloseCode,
  Opcode,
} from '../../src/transport/ws-frame.js';
import {
  type WebSocketEvent,
  WebSocketFrameError,
  WebSocketFrameReader,
  type WebSocketFrameReaderOptions,
} from '../../src/transport/ws-frame-reader.js';

/** A frame built by hand, so that it can break any rule. */
function rawFrame(
  opcode: number,
  payload: Uint8Array,
  options: {
    fin?: boolean;
    rsv?: number;
    mask?: Uint8Array;
    /** Force the 16-bit (126) or 64-bit (127) length form. */
    lengthForm?: 126 | 127;
    /** Replace the 64-bit length's high 32 bits. */
    high?: number;
  } = {},
): Uint8Array {
  const length = payload.byteLength;
  const form = options.lengthForm ?? (length < 126 ? length : length < 0x10000 ? 126 : 127);
  const lengthBytes = form === 126 ? 2 : form === 127 ? 8 : 0;
  const maskBytes = options.mask === undefined ? 0 : 4;
  const out = new Uint8Array(2 + lengthBytes + maskBytes + length);
  const view = new DataView(out.buffer);
  out[0] = ((options.fin ?? true) ? 0x80 : 0) | ((options.rsv ?? 0) << 4) | opcode;
  out[1] = (options.mask === undefined ? 0 : 0x80) | form;
  if (form === 126) view.setUint16(2, length);
  if (form === 127) {
    view.setUint32(2, options.high ?? 0);
    view.setUint32(6, length);
  }
  let at = 2 + lengthBytes;
  if (options.mask !== undefined) {
    out.set(options.mask, at);
    at += 4;
    for (let i = 0; i < length; i++)
      out[at + i] = (payload[i] as number) ^ (options.mask[i & 3] as number);
  } else {
    out.set(payload, at);
  }
  return out;
}

const bytes = (text: string): Uint8Array => new TextEncoder().encode(text);
const concat = (...parts: Uint8Array[]): Uint8Array => {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.byteLength, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.byteLength;
  }
  return out;
};

type Plain = Record<string, unknown>;
/** Payloads as hex, so that events compare by content and large ones compare fast. */
const hex = (payload: Uint8Array): string => Buffer.from(payload).toString('hex');
const plain = (e: WebSocketEvent): Plain =>
  'payload' in e ? { ...e, payload: hex(e.payload) } : { ...e };

/** Feeds `chunks` to a fresh reader; returns the events, and the reader for its counters. */
function read(
  chunks: readonly Uint8Array[],
  options?: WebSocketFrameReaderOptions,
): { events: Plain[]; reader: WebSocketFrameReader } {
  const reader = new WebSocketFrameReader(options);
  const events: Plain[] = [];
  for (const chunk of chunks) reader.push(chunk, (e) => events.push(plain(e)));
  return { events, reader };
}

/** Asserts the same events whole, one byte at a time, and split in two at every offset. */
function assertEverySplit(
  wire: Uint8Array,
  expected: Plain[],
  options?: WebSocketFrameReaderOptions,
): void {
  const whole = read([wire], options);
  assert.deepEqual(whole.events, expected, 'whole');
  assert.equal(whole.reader.bufferedBytes, 0, 'bytes left in the reader');
  assert.deepEqual(
    read(
      [...wire].map((b) => Uint8Array.of(b)),
      options,
    ).events,
    expected,
    'byte by byte',
  );
  // Every offset; past the first and last 32 bytes of a large frame, every 97th (a payload
  // byte is a payload byte, and 65,000 splits of a 64 KiB frame cost minutes).
  for (let i = 1; i < wire.length; i += i < 32 || i >= wire.length - 32 ? 1 : 97) {
    assert.deepEqual(
      read([wire.subarray(0, i), wire.subarray(i)], options).events,
      expected,
      `split at ${i}`,
    );
  }
}

/** Asserts that feeding `chunks` fails with the rule and close code given. */
function assertRefused(
  chunks: readonly Uint8Array[],
  rule: string,
  closeCode: number,
  options?: WebSocketFrameReaderOptions,
): WebSocketFrameError {
  let caught: unknown;
  try {
    read(chunks, options);
  } catch (error) {
    caught = error;
  }
  assert.ok(caught instanceof WebSocketFrameError, `expected a WebSocketFrameError, got ${caught}`);
  assert.ok(caught instanceof WebSocketError);
  assert.equal(caught.code, MqttErrorCode.WEBSOCKET);
  assert.equal(caught.rule, rule, caught.message);
  assert.equal(caught.closeCode, closeCode, caught.message);
  assert.ok(caught.message.includes(`[${rule}]`), caught.message);
  return caught;
}

const binary = (payload: Uint8Array, fin = true): Plain => ({
  type: 'data',
  payload: hex(payload),
  binary: true,
  fin,
});

const payloadOf = (n: number): Uint8Array => Uint8Array.from({ length: n }, (_, i) => i & 0xff);

// --- every frame kind -------------------------------------------------------------------------

const kinds: { name: string; wire: Uint8Array; events: Plain[] }[] = [
  {
    name: 'empty binary',
    wire: rawFrame(Opcode.BINARY, new Uint8Array(0)),
    events: [binary(new Uint8Array(0))],
  },
  {
    name: 'binary, 7-bit length (125)',
    wire: rawFrame(Opcode.BINARY, payloadOf(125)),
    events: [binary(payloadOf(125))],
  },
  {
    name: 'binary, 16-bit length (126)',
    wire: rawFrame(Opcode.BINARY, payloadOf(126)),
    events: [binary(payloadOf(126))],
  },
  {
    name: 'binary, 64-bit length (65536)',
    wire: rawFrame(Opcode.BINARY, payloadOf(65536)),
    events: [binary(payloadOf(65536))],
  },
  {
    name: 'binary, non-minimal 64-bit length form',
    wire: rawFrame(Opcode.BINARY, payloadOf(3), { lengthForm: 127 }),
    events: [binary(payloadOf(3))],
  },
  {
    name: 'text',
    wire: rawFrame(Opcode.TEXT, bytes('grüße €')),
    events: [{ type: 'data', payload: hex(bytes('grüße €')), binary: false, fin: true }],
  },
  {
    name: 'ping',
    wire: rawFrame(Opcode.PING, bytes('hi')),
    events: [{ type: 'ping', payload: hex(bytes('hi')) }],
  },
  {
    name: 'ping of 125 bytes',
    wire: rawFrame(Opcode.PING, payloadOf(125)),
    events: [{ type: 'ping', payload: hex(payloadOf(125)) }],
  },
  {
    name: 'pong',
    wire: rawFrame(Opcode.PONG, new Uint8Array(0)),
    events: [{ type: 'pong', payload: '' }],
  },
  {
    name: 'close without a body',
    wire: rawFrame(Opcode.CLOSE, new Uint8Array(0)),
    events: [{ type: 'close', code: undefined, reason: '' }],
  },
  {
    name: 'close 1000',
    wire: rawFrame(Opcode.CLOSE, Uint8Array.of(0x03, 0xe8)),
    events: [{ type: 'close', code: 1000, reason: '' }],
  },
  {
    name: 'close 4000 with a reason',
    wire: rawFrame(Opcode.CLOSE, concat(Uint8Array.of(0x0f, 0xa0), bytes('bye ✓'))),
    events: [{ type: 'close', code: 4000, reason: 'bye ✓' }],
  },
  {
    name: 'several frames in a row',
    wire: concat(
      rawFrame(Opcode.BINARY, bytes('one')),
      rawFrame(Opcode.PING, new Uint8Array(0)),
      rawFrame(Opcode.BINARY, bytes('two')),
    ),
    events: [binary(bytes('one')), { type: 'ping', payload: '' }, binary(bytes('two'))],
  },
  {
    name: 'fragmented binary message with a ping and a pong between the fragments',
    wire: concat(
      rawFrame(Opcode.BINARY, bytes('he'), { fin: false }),
      rawFrame(Opcode.PING, bytes('p')),
      rawFrame(Opcode.CONTINUATION, bytes('ll'), { fin: false }),
      rawFrame(Opcode.PONG, bytes('q')),
      rawFrame(Opcode.CONTINUATION, bytes('o')),
      rawFrame(Opcode.BINARY, bytes('!')),
    ),
    events: [
      binary(bytes('he'), false),
      { type: 'ping', payload: hex(bytes('p')) },
      binary(bytes('ll'), false),
      { type: 'pong', payload: hex(bytes('q')) },
      binary(bytes('o')),
      binary(bytes('!')),
    ],
  },
  {
    name: 'fragmented text message cut inside a code point',
    // '€' is e2 82 ac: the first fragment ends after e2.
    wire: concat(
      rawFrame(Opcode.TEXT, Uint8Array.of(0x61, 0xe2), { fin: false }),
      rawFrame(Opcode.CONTINUATION, Uint8Array.of(0x82), { fin: false }),
      rawFrame(Opcode.CONTINUATION, Uint8Array.of(0xac, 0x62)),
    ),
    events: [
      { type: 'data', payload: '61e2', binary: false, fin: false },
      { type: 'data', payload: '82', binary: false, fin: false },
      { type: 'data', payload: 'ac62', binary: false, fin: true },
    ],
  },
];

for (const kind of kinds) {
  test(`frame reader: ${kind.name}, whole, byte by byte and split at every offset`, () => {
    assertEverySplit(kind.wire, kind.events);
  });
}

test('frame reader: three-way splits of a fragmented message never change the events', () => {
  const wire = concat(
    rawFrame(Opcode.BINARY, payloadOf(130), { fin: false }),
    rawFrame(Opcode.PING, bytes('x')),
    rawFrame(Opcode.CONTINUATION, payloadOf(7)),
  );
  const expected = read([wire]).events;
  for (let i = 1; i < wire.length; i += 3) {
    for (let j = i + 1; j < wire.length; j += 5) {
      assert.deepEqual(
        read([wire.subarray(0, i), wire.subarray(i, j), wire.subarray(j)]).events,
        expected,
        `split at ${i} and ${j}`,
      );
    }
  }
});

test('frame reader: a frame inside one chunk is a view of it, never copied', () => {
  const chunk = concat(
    rawFrame(Opcode.BINARY, payloadOf(1000)),
    rawFrame(Opcode.BINARY, payloadOf(70000)),
  );
  const reader = new WebSocketFrameReader();
  const payloads: Uint8Array[] = [];
  reader.push(chunk, (e) => {
    if (e.type === 'data') payloads.push(e.payload);
  });
  assert.equal(reader.bytesCopied, 0);
  assert.equal(payloads.length, 2);
  for (const p of payloads) assert.equal(p.buffer, chunk.buffer, 'a view of the chunk');
});

test('frame reader: a 16 MiB frame fed in 1 KiB chunks is copied once (linear work)', () => {
  const size = 16 * 1024 * 1024;
  const payload = new Uint8Array(size);
  for (let i = 0; i < size; i += 4096) payload[i] = (i >>> 12) & 0xff;
  const wire = rawFrame(Opcode.BINARY, payload);
  const reader = new WebSocketFrameReader();
  let got: Uint8Array | undefined;
  let maxBuffered = 0;
  for (let at = 0; at < wire.length; at += 1024) {
    reader.push(wire.subarray(at, at + 1024), (e) => {
      if (e.type === 'data') got = e.payload;
    });
    maxBuffered = Math.max(maxBuffered, reader.bufferedBytes);
  }
  assert.ok(got !== undefined);
  assert.equal(got.byteLength, size);
  assert.deepEqual(got.subarray(0, 8192), payload.subarray(0, 8192));
  assert.equal(got[size - 4096], payload[size - 4096]);
  // Each payload byte is copied exactly once; the header (10 bytes, in the first chunk) is not.
  // Joining the buffer on every chunk (the code this replaces) copies ~n²/2k bytes: 128 GiB.
  assert.equal(reader.bytesCopied, size);
  assert.ok(maxBuffered <= size, 'never more buffered than the frame');
  assert.equal(reader.bufferedBytes, 0);
});

test('frame reader: a frame split over many chunks and followed by another is copied once', () => {
  const first = rawFrame(Opcode.BINARY, payloadOf(5000));
  const second = rawFrame(Opcode.BINARY, payloadOf(10));
  const wire = concat(first, second);
  const chunks: Uint8Array[] = [];
  for (let at = 0; at < wire.length; at += 333) chunks.push(wire.subarray(at, at + 333));
  const { events, reader } = read(chunks);
  assert.deepEqual(events, [binary(payloadOf(5000)), binary(payloadOf(10))]);
  // 5000 payload bytes span chunks; the 10 of the second frame happen to lie in one chunk.
  assert.ok(reader.bytesCopied >= 5000 && reader.bytesCopied <= 5010, `${reader.bytesCopied}`);
});

// --- rules ------------------------------------------------------------------------------------

test('frame reader: a masked frame from the server is refused [RFC 6455 §5.1]', () => {
  const mask = Uint8Array.of(1, 2, 3, 4);
  assertRefused([rawFrame(Opcode.BINARY, bytes('x'), { mask })], 'RFC 6455 §5.1', 1002);
  assertRefused([rawFrame(Opcode.PING, new Uint8Array(0), { mask })], 'RFC 6455 §5.1', 1002);
  // Refused at the second byte: the rest is never waited for.
  assertRefused(
    [rawFrame(Opcode.BINARY, payloadOf(300), { mask }).subarray(0, 2)],
    'RFC 6455 §5.1',
    1002,
  );
});

test('frame reader: any reserved bit set is refused, no extension being negotiated [§5.2]', () => {
  for (const rsv of [1, 2, 4, 7]) {
    const error = assertRefused(
      [rawFrame(Opcode.BINARY, bytes('x'), { rsv }).subarray(0, 2)],
      'RFC 6455 §5.2',
      1002,
    );
    assert.match(error.message, /reserved bits/);
    assertRefused([rawFrame(Opcode.PING, new Uint8Array(0), { rsv })], 'RFC 6455 §5.2', 1002);
  }
});

test('frame reader: unknown opcodes are refused [§5.2]', () => {
  for (const opcode of [0x3, 0x4, 0x5, 0x6, 0x7, 0xb, 0xc, 0xd, 0xe, 0xf]) {
    const error = assertRefused([rawFrame(opcode, new Uint8Array(0))], 'RFC 6455 §5.2', 1002);
    assert.match(error.message, new RegExp(`opcode 0x${opcode.toString(16)}`));
  }
});

test('frame reader: control frames must have FIN set and at most 125 bytes [§5.5]', () => {
  for (const opcode of [Opcode.PING, Opcode.PONG, Opcode.CLOSE]) {
    assertRefused([rawFrame(opcode, new Uint8Array(0), { fin: false })], 'RFC 6455 §5.5', 1002);
    // 126 bytes: refused from the length byte, before any payload arrives.
    assertRefused([rawFrame(opcode, payloadOf(126)).subarray(0, 2)], 'RFC 6455 §5.5', 1002);
    // A small payload in the 16-bit length form is still a length field over 125.
    assertRefused([rawFrame(opcode, payloadOf(2), { lengthForm: 126 })], 'RFC 6455 §5.5', 1002);
  }
});

test('frame reader: a continuation without a message is refused [§5.4]', () => {
  assertRefused([rawFrame(Opcode.CONTINUATION, bytes('x'))], 'RFC 6455 §5.4', 1002);
  // Also right after a complete message.
  assertRefused(
    [rawFrame(Opcode.BINARY, bytes('a')), rawFrame(Opcode.CONTINUATION, bytes('b'))],
    'RFC 6455 §5.4',
    1002,
  );
});

test('frame reader: a new data frame inside a fragmented message is refused [§5.4]', () => {
  for (const opcode of [Opcode.BINARY, Opcode.TEXT]) {
    assertRefused(
      [rawFrame(Opcode.BINARY, bytes('a'), { fin: false }), rawFrame(opcode, bytes('b'))],
      'RFC 6455 §5.4',
      1002,
    );
  }
});

test('frame reader: a message over the limit is refused at its header, before buffering [§10.4]', () => {
  const options = { maxMessageBytes: 1000 };
  // Exactly the limit is fine.
  assert.deepEqual(read([rawFrame(Opcode.BINARY, payloadOf(1000))], options).events, [
    binary(payloadOf(1000)),
  ]);
  // One frame over it: the 4-byte header alone is enough to refuse it.
  const single = rawFrame(Opcode.BINARY, payloadOf(1001));
  const error = assertRefused([single.subarray(0, 4)], 'RFC 6455 §10.4', 1009, options);
  assert.match(error.message, /1001 bytes exceeds the limit of 1000 bytes/);
  // 64-bit length form, refused from its 10-byte header.
  assertRefused(
    [rawFrame(Opcode.BINARY, payloadOf(70000)).subarray(0, 10)],
    'RFC 6455 §10.4',
    1009,
    {
      maxMessageBytes: 65536,
    },
  );
  // Reassembled: each fragment is small, the message is not; refused at the third header.
  const fragments = [
    rawFrame(Opcode.BINARY, payloadOf(400), { fin: false }),
    rawFrame(Opcode.PING, new Uint8Array(0)),
    rawFrame(Opcode.CONTINUATION, payloadOf(400), { fin: false }),
    rawFrame(Opcode.CONTINUATION, payloadOf(201)).subarray(0, 4),
  ];
  const reassembled = assertRefused(fragments, 'RFC 6455 §10.4', 1009, options);
  assert.match(reassembled.message, /message of 1001 bytes/);
  // The count starts again with each message.
  const { events } = read(
    [
      rawFrame(Opcode.BINARY, payloadOf(600), { fin: false }),
      rawFrame(Opcode.CONTINUATION, payloadOf(400)),
      rawFrame(Opcode.BINARY, payloadOf(1000)),
    ],
    options,
  );
  assert.equal(events.length, 3);
});

test('frame reader: a 64-bit length with its top bit set is refused [§5.2]', () => {
  const wire = rawFrame(Opcode.BINARY, new Uint8Array(0), { lengthForm: 127, high: 0x8000_0000 });
  assertRefused([wire.subarray(0, 10)], 'RFC 6455 §5.2', 1002);
  // A huge but legal length is refused by the limit, without waiting for its payload.
  const huge = rawFrame(Opcode.BINARY, new Uint8Array(0), { lengthForm: 127, high: 0x7fff_ffff });
  assertRefused([huge.subarray(0, 10)], 'RFC 6455 §10.4', 1009);
});

test('frame reader: text must be UTF-8, fragments included [§8.1]', () => {
  assertRefused([rawFrame(Opcode.TEXT, Uint8Array.of(0xff))], 'RFC 6455 §8.1', 1007);
  // An overlong encoding and a UTF-16 surrogate encoded in UTF-8 (CESU) are not UTF-8.
  assertRefused([rawFrame(Opcode.TEXT, Uint8Array.of(0xc0, 0xaf))], 'RFC 6455 §8.1', 1007);
  assertRefused([rawFrame(Opcode.TEXT, Uint8Array.of(0xed, 0xa0, 0x80))], 'RFC 6455 §8.1', 1007);
  // A message that ends inside a code point, even though each fragment looked fine so far.
  assertRefused(
    [
      rawFrame(Opcode.TEXT, Uint8Array.of(0x61, 0xe2), { fin: false }),
      rawFrame(Opcode.CONTINUATION, Uint8Array.of(0x82)),
    ],
    'RFC 6455 §8.1',
    1007,
  );
  // Binary payloads are not checked.
  assert.equal(read([rawFrame(Opcode.BINARY, Uint8Array.of(0xff))]).events.length, 1);
});

test('frame reader: acceptText false refuses a text message at its header with 1003', () => {
  const wire = rawFrame(Opcode.TEXT, bytes('{"a":1}'));
  const error = assertRefused([wire.subarray(0, 2)], 'RFC 6455 §7.4.1', 1003, {
    acceptText: false,
  });
  assert.match(error.message, /text message refused/);
  assert.equal(read([rawFrame(Opcode.BINARY, bytes('x'))], { acceptText: false }).events.length, 1);
});

test('frame reader: a close body is empty or a valid code, with a UTF-8 reason [§5.5.1, §7.4]', () => {
  assertRefused([rawFrame(Opcode.CLOSE, Uint8Array.of(0x03))], 'RFC 6455 §5.5.1', 1002);
  for (const code of [0, 999, 1004, 1005, 1006, 1015, 1016, 2000, 2999, 5000, 65535]) {
    const body = Uint8Array.of(code >>> 8, code & 0xff);
    const error = assertRefused([rawFrame(Opcode.CLOSE, body)], 'RFC 6455 §7.4', 1002);
    assert.match(error.message, new RegExp(`close code ${code} `));
  }
  for (const code of [
    1000, 1001, 1002, 1003, 1007, 1008, 1009, 1010, 1011, 1012, 1013, 1014, 3000, 4999,
  ]) {
    const body = Uint8Array.of(code >>> 8, code & 0xff);
    assert.deepEqual(read([rawFrame(Opcode.CLOSE, body)]).events, [
      { type: 'close', code, reason: '' },
    ]);
  }
  assertRefused([rawFrame(Opcode.CLOSE, Uint8Array.of(0x03, 0xe8, 0xff))], 'RFC 6455 §5.5.1', 1007);
});

test('frame reader: nothing may follow a close frame [§5.5.1]', () => {
  const close = rawFrame(Opcode.CLOSE, Uint8Array.of(0x03, 0xe8));
  const events: WebSocketEvent['type'][] = [];
  const reader = new WebSocketFrameReader();
  assert.throws(
    () =>
      reader.push(concat(close, rawFrame(Opcode.BINARY, bytes('x'))), (e) => events.push(e.type)),
    (e: unknown) => e instanceof WebSocketFrameError && e.rule === 'RFC 6455 §5.5.1',
  );
  assert.deepEqual(events, ['close'], 'the close frame itself is reported first');
  // Also in a later chunk.
  const later = new WebSocketFrameReader();
  later.push(close, () => {});
  assert.throws(() => later.push(Uint8Array.of(0x82), () => {}), WebSocketFrameError);
});

test('frame reader: its error class is exported by the library, for instanceof', () => {
  assert.equal(library.WebSocketFrameError, WebSocketFrameError);
  const error = new WebSocketFrameError('x', 'RFC 6455 §5.1', 1002);
  assert.ok(error instanceof library.WebSocketError);
  assert.ok(error instanceof library.MqttError);
  assert.equal(error.name, 'WebSocketFrameError');
});

test('frame reader: after an error every push throws the same error', () => {
  const reader = new WebSocketFrameReader();
  let first: unknown;
  try {
    reader.push(rawFrame(0x3, new Uint8Array(0)), () => {});
  } catch (error) {
    first = error;
  }
  assert.ok(first instanceof WebSocketFrameError);
  assert.throws(
    () =>
      reader.push(rawFrame(Opcode.BINARY, bytes('x')), () =>
        assert.fail('no event after an error'),
      ),
    (e: unknown) => e === first,
  );
  assert.equal(reader.bufferedBytes, 0, 'nothing kept after an error');
});

test("frame reader: an exception thrown by the caller's callback passes through untouched", () => {
  const reader = new WebSocketFrameReader();
  const mine = new Error('mine');
  assert.throws(
    () =>
      reader.push(rawFrame(Opcode.BINARY, bytes('x')), () => {
        throw mine;
      }),
    (e: unknown) => e === mine,
  );
  // The reader is not poisoned by it.
  const events: string[] = [];
  reader.push(rawFrame(Opcode.PING, new Uint8Array(0)), (e) => events.push(e.type));
  assert.deepEqual(events, ['ping']);
});

test('frame reader fuzz: random bytes only ever yield events or a WebSocketFrameError', () => {
  fc.assert(
    fc.property(
      fc.array(fc.uint8Array({ minLength: 0, maxLength: 40 }), { maxLength: 8 }),
      fc.boolean(),
      (chunks, acceptText) => {
        const reader = new WebSocketFrameReader({ maxMessageBytes: 4096, acceptText });
        try {
          for (const chunk of chunks) reader.push(chunk, () => {});
        } catch (error) {
          if (!(error instanceof WebSocketFrameError)) throw error;
          assert.ok([1002, 1003, 1007, 1009].includes(error.closeCode));
        }
      },
    ),
    { numRuns: 2000 },
  );
});

test('frame reader fuzz: frames the framer builds read back the same in any chunking', () => {
  const frameArb = fc.oneof(
    fc.record({ opcode: fc.constant(Opcode.BINARY), payload: fc.uint8Array({ maxLength: 300 }) }),
    fc.record({ opcode: fc.constant(Opcode.PING), payload: fc.uint8Array({ maxLength: 125 }) }),
    fc.record({ opcode: fc.constant(Opcode.PONG), payload: fc.uint8Array({ maxLength: 125 }) }),
  );
  fc.assert(
    fc.property(
      fc.array(frameArb, { maxLength: 6 }),
      fc.array(fc.nat(), { maxLength: 6 }),
      (frames, cuts) => {
        const wire = concat(...frames.map((f) => encodeFrame(f.opcode, f.payload)));
        const offsets = [...new Set(cuts.map((c) => c % (wire.length + 1)))].sort((a, b) => a - b);
        const chunks: Uint8Array[] = [];
        let from = 0;
        for (const at of [...offsets, wire.length]) {
          chunks.push(wire.subarray(from, at));
          from = at;
        }
        const expected = frames.map((f) =>
          f.opcode === Opcode.BINARY
            ? binary(f.payload)
            : { type: f.opcode === Opcode.PING ? 'ping' : 'pong', payload: hex(f.payload) },
        );
        assert.deepEqual(read(chunks).events, expected);
      },
    ),
    { numRuns: 500 },
  );
});

// --- the framer -------------------------------------------------------------------------------

/** Unmasks a client frame the way a server does, and checks its header. */
function unmask(frame: Uint8Array): { fin: boolean; opcode: number; payload: number[] } {
  assert.equal(frame[1]! & 0x80, 0x80, 'a client frame is masked');
  const view = new DataView(frame.buffer, frame.byteOffset, frame.byteLength);
  let length = frame[1]! & 0x7f;
  let at = 2;
  if (length === 126) {
    length = view.getUint16(2);
    at = 4;
    assert.ok(length >= 126, 'minimal length form');
  } else if (length === 127) {
    assert.equal(view.getUint32(2), 0);
    length = view.getUint32(6);
    at = 10;
    assert.ok(length >= 65536, 'minimal length form');
  }
  const mask = frame.subarray(at, at + 4);
  const body = frame.subarray(at + 4);
  assert.equal(body.length, length);
  return {
    fin: (frame[0]! & 0x80) !== 0,
    opcode: frame[0]! & 0x0f,
    payload: [...body].map((b, i) => b ^ mask[i & 3]!),
  };
}

test('framer: masked client frames at every length form, from one view or several', () => {
  const mask = Uint8Array.of(0x37, 0xfa, 0x21, 0x3d);
  for (const n of [0, 1, 125, 126, 65535, 65536, 70001]) {
    const payload = payloadOf(n);
    const frame = encodeFrame(Opcode.BINARY, payload, { mask });
    assert.deepEqual(unmask(frame), { fin: true, opcode: 2, payload: [...payload] }, `${n} bytes`);
    // The same bytes in three parts of odd sizes give the same frame: the key runs across parts.
    const parts = [
      payload.subarray(0, n / 3),
      payload.subarray(n / 3, n / 2),
      payload.subarray(n / 2),
    ];
    assert.deepEqual(encodeFrame(Opcode.BINARY, parts, { mask }), frame, `${n} bytes in parts`);
  }
  // RFC 6455 §5.7: a masked "Hello".
  assert.deepEqual(
    [...encodeFrame(Opcode.TEXT, bytes('Hello'), { mask: Uint8Array.of(0x37, 0xfa, 0x21, 0x3d) })],
    [0x81, 0x85, 0x37, 0xfa, 0x21, 0x3d, 0x7f, 0x9f, 0x4d, 0x51, 0x58],
  );
  // RFC 6455 §5.7: unmasked "Hel" then "lo", and a 256-byte binary message.
  assert.deepEqual(
    [...encodeFrame(Opcode.TEXT, bytes('Hel'), { fin: false })],
    [0x01, 0x03, 0x48, 0x65, 0x6c],
  );
  assert.deepEqual([...encodeFrame(Opcode.CONTINUATION, bytes('lo'))], [0x80, 0x02, 0x6c, 0x6f]);
  assert.deepEqual(
    [...encodeFrame(Opcode.BINARY, new Uint8Array(256)).subarray(0, 4)],
    [0x82, 0x7e, 0x01, 0x00],
  );
});

test('framer: control frames over 125 bytes or fragmented, and bad keys, are refused', () => {
  assert.throws(() => encodeFrame(Opcode.PING, payloadOf(126)), RangeError);
  assert.throws(() => encodeFrame(Opcode.CLOSE, new Uint8Array(0), { fin: false }), RangeError);
  assert.throws(
    () => encodeFrame(Opcode.BINARY, bytes('x'), { mask: Uint8Array.of(1, 2, 3) }),
    RangeError,
  );
  assert.equal(encodeFrame(Opcode.PONG, payloadOf(125)).byteLength, 127);
});

test('framer: close payloads carry a valid code and a short UTF-8 reason', () => {
  assert.deepEqual([...encodeClosePayload()], []);
  assert.deepEqual([...encodeClosePayload(1000)], [0x03, 0xe8]);
  assert.deepEqual([...encodeClosePayload(1002, 'é')], [0x03, 0xea, 0xc3, 0xa9]);
  assert.throws(() => encodeClosePayload(1005), RangeError);
  assert.throws(() => encodeClosePayload(undefined, 'why'), RangeError);
  assert.throws(() => encodeClosePayload(1000, 'x'.repeat(124)), RangeError);
  assert.equal(encodeClosePayload(1000, 'x'.repeat(123)).byteLength, 125);
  // What the framer writes, the reader reads back.
  const wire = encodeFrame(Opcode.CLOSE, encodeClosePayload(4001, 'shutting down'));
  assert.deepEqual(read([wire]).events, [{ type: 'close', code: 4001, reason: 'shutting down' }]);
  assert.equal(isValidCloseCode(1015), false);
});
