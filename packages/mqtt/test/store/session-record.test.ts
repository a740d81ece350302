/**
 * The session record of the stores (client id, expiry interval, when the last connection
 * ended): kept across close/open and compaction by the file store, read from logs written
 * before it existed, cleared with the session; and the judgement `sessionMayExist` makes
 * from it.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type TestContext, test } from 'node:test';
import { NEVER_EXPIRES, sessionMayExist } from '../../src/client/session-record.js';
import { fileStore } from '../../src/store/file.js';
import { MAGIC, RecordBuffer, RecordType } from '../../src/store/log-format.js';
import { memoryStore } from '../../src/store/memory.js';
import type { StoredSession } from '../../src/store/types.js';

function tempDir(t: TestContext): string {
  const dir = mkdtempSync(join(tmpdir(), 'courier-session-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

test('the file store keeps the last session record across close/open and compaction; clear() forgets it', async (t) => {
  const dir = tempDir(t);
  const first: StoredSession = { clientId: 'auto-7F3A', expirySec: 300, endedAt: 0 };
  const ended: StoredSession = { ...first, endedAt: 1_780_000_000_123 };
  let store = fileStore(dir, { compactMinBytes: 1 });
  assert.equal((await store.open()).session, undefined);
  store.putSession?.(first);
  store.putSubscription({ filter: 'a/#', qos: 1 });
  store.putSession?.(ended);
  await store.close();

  store = fileStore(dir);
  const snapshot = await store.open();
  assert.deepEqual(snapshot.session, ended);
  assert.deepEqual(snapshot.subscriptions, [{ filter: 'a/#', qos: 1 }]);
  // A client id of many UTF-8 bytes survives as written.
  const long: StoredSession = {
    clientId: 'ü'.repeat(30_000),
    expirySec: NEVER_EXPIRES,
    endedAt: 5,
  };
  store.putSession?.(long);
  await store.close();
  store = fileStore(dir);
  assert.deepEqual((await store.open()).session, long);
  store.clear();
  await store.close();
  store = fileStore(dir);
  assert.equal((await store.open()).session, undefined);
  await store.close();
});

test('a log written before the session record existed opens as before, with no session', async (t) => {
  const dir = tempDir(t);
  // Today's format up to record type 9, as an earlier client wrote it.
  const records = new RecordBuffer();
  records.putSubscription({ filter: 'old/#', qos: 2 });
  records.incomingQos2(RecordType.ADD_INCOMING_QOS2, 7);
  writeFileSync(join(dir, 'session.log'), Buffer.concat([MAGIC, records.take()]));
  const store = fileStore(dir);
  const snapshot = await store.open();
  assert.equal(snapshot.session, undefined);
  assert.deepEqual(snapshot.subscriptions, [{ filter: 'old/#', qos: 2 }]);
  assert.deepEqual(snapshot.incomingQos2, [7]);
  await store.close();
});

test('the memory store keeps the record for the life of the process', async () => {
  const store = memoryStore();
  await store.open();
  store.putSession?.({ clientId: 'x', expirySec: 10, endedAt: 1 });
  assert.deepEqual((await store.open()).session, { clientId: 'x', expirySec: 10, endedAt: 1 });
});

test('sessionMayExist: false once the interval passed or with clean; true while it may not have', () => {
  const at = 1_780_000_000_000;
  const ended = (expirySec: number, endedAt = at): StoredSession => ({
    clientId: 'c',
    expirySec,
    endedAt,
  });
  assert.equal(sessionMayExist(ended(60), 'c', true, at + 1000), false, 'clean start');
  assert.equal(sessionMayExist(ended(60), 'c', false, at + 59_999), true, 'before the interval');
  assert.equal(sessionMayExist(ended(60), 'c', false, at + 60_000), false, 'after the interval');
  assert.equal(sessionMayExist(ended(0), 'c', false, at + 1), false, 'ends with the connection');
  assert.equal(sessionMayExist(ended(NEVER_EXPIRES), 'c', false, at + 1e12), true, 'never expires');
  // The process died while connected: the end is unknown.
  assert.equal(sessionMayExist(ended(60, 0), 'c', false, at + 1e9), true);
  assert.equal(sessionMayExist(ended(0, 0), 'c', false, at + 1e9), false);
  // Nothing recorded: unknown, unless the id is empty and none was assigned.
  assert.equal(sessionMayExist(undefined, 'c', false, at), true);
  assert.equal(sessionMayExist(undefined, '', false, at), false);
  // An empty configured id resumes the assigned one the record holds.
  assert.equal(sessionMayExist(ended(60), '', false, at + 1000), true);
  // A record of another client id says nothing about this one.
  assert.equal(sessionMayExist(ended(1), 'other', false, at + 1e9), true);
});
