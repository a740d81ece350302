/**
 * The file store with MQTT 5.0 messages: publish properties and Message Expiry deadlines
 * survive close, open and compaction (log record type 9), while a message without them is
 * still written as today's record type 1, so logs of 3.1.1 clients keep their format.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type TestContext, test } from 'node:test';
import { fileStore } from '../../src/store/file.js';
import { crc32, HEADER_BYTES, LiveState, MAGIC, replay } from '../../src/store/log-format.js';
import type { OutgoingRecord, StoreSnapshot } from '../../src/store/types.js';

function tempDir(t: TestContext): string {
  const dir = mkdtempSync(join(tmpdir(), 'courier-store-v5-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

const v5: OutgoingRecord = {
  seq: 1,
  packetId: 0,
  phase: 'queued',
  topic: 'v5/ünï',
  payload: new Uint8Array([1, 2, 3]),
  qos: 1,
  retain: true,
  properties: {
    payloadFormatIndicator: 0,
    messageExpiryIntervalSec: 3600,
    contentType: 'application/octet-stream',
    responseTopic: 'replies/1',
    correlationData: new Uint8Array([9, 8, 7]),
    userProperties: [
      ['k', 'v1'],
      ['k', 'v2'],
      ['a', ''],
    ],
  },
  expiresAtEpochMs: 1_800_000_000_123,
};
const plain: OutgoingRecord = {
  seq: 2,
  packetId: 0,
  phase: 'queued',
  topic: 'v4/plain',
  payload: new Uint8Array([4]),
  qos: 2,
  retain: false,
};
const expiryOnly: OutgoingRecord = { ...plain, seq: 3, expiresAtEpochMs: 5 };

test('properties and expiry survive close and open; a plain message keeps record type 1', async (t) => {
  const dir = tempDir(t);
  const store = fileStore(dir);
  await store.open();
  store.putOutgoing(plain);
  store.putOutgoing(v5);
  store.putOutgoing(expiryOnly);
  store.updateOutgoing(1, 42, 'sent');
  await store.close();
  const log = readFileSync(join(dir, 'session.log'));
  // The first record's type byte: today's format for a message without 5.0 fields.
  assert.equal(log[MAGIC.length + 8], 1);
  const reopened = fileStore(dir);
  const snapshot = await reopened.open();
  await reopened.close();
  assert.deepEqual(snapshot.outgoing, [{ ...v5, packetId: 42, phase: 'sent' }, plain, expiryOnly]);
});

/** The type byte of each record of an encoded log, in order (after the file's magic). */
function recordTypes(encoded: Buffer): number[] {
  const types: number[] = [];
  for (let at = MAGIC.length; at < encoded.length; ) {
    types.push(encoded[at + 8]!);
    at += HEADER_BYTES + encoded.readUInt32LE(at);
  }
  return types;
}

test('compaction writes type 9 records back as they were', () => {
  const state = new LiveState();
  state.putOutgoing(v5, 0);
  state.putOutgoing(plain, 0);
  const encoded = state.encode();
  const types = recordTypes(encoded);
  assert.deepEqual(types, [9, 1]);
  const replayed = new LiveState();
  const result = replay(encoded, MAGIC.length, replayed);
  assert.equal(result.badReason, undefined);
  const expected: StoreSnapshot = { outgoing: [v5, plain], incomingQos2: [], subscriptions: [] };
  assert.deepEqual(replayed.snapshot(), expected);
});

test('subscriptions with 5.0 options or an identifier are record type 10, plain ones stay type 6, through compaction', () => {
  const state = new LiveState();
  const options = {
    filter: 'sub/ü/#',
    qos: 2,
    noLocal: true,
    retainAsPublished: true,
    retainHandling: 2,
    subscriptionIdentifier: 268_435_455,
  } as const;
  const idOnly = { filter: '$share/g/x', qos: 1, subscriptionIdentifier: 1 } as const;
  const plain = { filter: 'plain/+', qos: 0 } as const;
  state.putSubscription(options, 0);
  state.putSubscription(idOnly, 0);
  state.putSubscription(plain, 0);
  const encoded = state.encode();
  const types = recordTypes(encoded);
  assert.deepEqual(types, [10, 10, 6]);
  const replayed = new LiveState();
  assert.equal(replay(encoded, MAGIC.length, replayed).badReason, undefined);
  assert.deepEqual(replayed.snapshot().subscriptions, [options, idOnly, plain]);
  // An impossible options byte (Retain Handling 3) is refused, not misread, even with a
  // matching CRC.
  const bad = Buffer.from(encoded);
  const start = MAGIC.length;
  bad[start + HEADER_BYTES + 1] = 0x30;
  const end = start + HEADER_BYTES + bad.readUInt32LE(start);
  bad.writeUInt32LE(crc32(bad, start + 8, end), start + 4);
  assert.equal(replay(bad, start, new LiveState()).badReason, 'invalid subscription options');
});
