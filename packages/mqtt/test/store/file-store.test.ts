/**
 * The file store on its own: round trip of every mutation across close/open, recovery from a
 * torn tail cut at every byte of the last record and from flipped bytes, the corruption policy,
 * compaction, group commit, write failures and the directory lock.
 */

import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import {
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type TestContext, test } from 'node:test';
import { MqttError, MqttErrorCode } from '../../src/errors.js';
import { StoreCorruptionError, StoreError, StoreLockedError } from '../../src/store/errors.js';
import { type FileStoreIo, fileStore, nodeFileStoreIo } from '../../src/store/file.js';
import type { OutgoingRecord, StoreSnapshot } from '../../src/store/types.js';

function tempDir(t: TestContext): string {
  const dir = mkdtempSync(join(tmpdir(), 'courier-store-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

const bytes = (...values: number[]): Uint8Array => new Uint8Array(values);

function outgoing(seq: number, extra: Partial<OutgoingRecord> = {}): OutgoingRecord {
  return {
    seq,
    packetId: 0,
    phase: 'queued',
    topic: `t/${seq}`,
    payload: bytes(seq & 0xff, 1, 2, 3),
    qos: 1,
    retain: false,
    ...extra,
  };
}

async function reopen(dir: string, options = {}): Promise<StoreSnapshot> {
  const store = fileStore(dir, options);
  const snapshot = await store.open();
  await store.close();
  return snapshot;
}

/** Writes a store whose last record is a PUT_OUTGOING; returns the log and that record's start. */
async function logWithLastRecord(dir: string): Promise<{ log: Buffer; lastStart: number }> {
  const store = fileStore(dir);
  await store.open();
  store.putOutgoing(outgoing(1));
  store.putSubscription({ filter: 'a/#', qos: 2 });
  await store.flush();
  const lastStart = statSync(store.path).size;
  store.putOutgoing(outgoing(2, { topic: 'last/record', payload: new Uint8Array(40).fill(7) }));
  await store.close();
  return { log: readFileSync(join(dir, 'session.log')), lastStart };
}

const stateBeforeLast: StoreSnapshot = {
  outgoing: [outgoing(1)],
  incomingQos2: [],
  subscriptions: [{ filter: 'a/#', qos: 2 }],
};

test('every mutation survives close and open', async (t) => {
  const dir = tempDir(t);
  const store = fileStore(dir);
  assert.deepEqual(await store.open(), { outgoing: [], incomingQos2: [], subscriptions: [] });
  store.putOutgoing(outgoing(1));
  store.putOutgoing(
    outgoing(2, { qos: 2, retain: true, topic: 'ünïcødé/🙂', payload: new Uint8Array(0) }),
  );
  store.putOutgoing(outgoing(3));
  store.putOutgoing(outgoing(4, { payload: new Uint8Array(200_000).fill(9) }));
  store.updateOutgoing(1, 17, 'sent');
  store.updateOutgoing(2, 65535, 'released');
  store.updateOutgoing(99, 1, 'sent'); // unknown seq: no effect
  store.deleteOutgoing(3);
  store.putOutgoing(outgoing(4, { topic: 'replaced' }));
  store.addIncomingQos2(5);
  store.addIncomingQos2(6);
  store.deleteIncomingQos2(5);
  store.putSubscription({ filter: 'a/+/b', qos: 1 });
  store.putSubscription({ filter: 'c/#', qos: 0 });
  store.putSubscription({ filter: 'a/+/b', qos: 2 });
  store.deleteSubscription('c/#');
  await store.close();

  const expected: StoreSnapshot = {
    outgoing: [
      outgoing(1, { packetId: 17, phase: 'sent' }),
      outgoing(2, {
        qos: 2,
        retain: true,
        topic: 'ünïcødé/🙂',
        payload: new Uint8Array(0),
        packetId: 65535,
        phase: 'released',
      }),
      outgoing(4, { topic: 'replaced' }),
    ],
    incomingQos2: [6],
    subscriptions: [{ filter: 'a/+/b', qos: 2 }],
  };
  assert.deepEqual(await reopen(dir), expected);
  // Opening twice more changes nothing (no recovery work, no drift).
  assert.deepEqual(await reopen(dir), expected);

  const cleared = fileStore(dir);
  await cleared.open();
  cleared.clear();
  cleared.putSubscription({ filter: 'after/clear', qos: 1 });
  await cleared.close();
  assert.deepEqual(await reopen(dir), {
    outgoing: [],
    incomingQos2: [],
    subscriptions: [{ filter: 'after/clear', qos: 1 }],
  });
});

test('updateOutgoing logs the change only, not the payload again', async (t) => {
  const dir = tempDir(t);
  const store = fileStore(dir);
  await store.open();
  store.putOutgoing(outgoing(1, { payload: new Uint8Array(10_000) }));
  await store.flush();
  const before = store.stats.logBytes;
  store.updateOutgoing(1, 1, 'sent');
  await store.flush();
  assert.equal(store.stats.logBytes - before, 9 + 11);
  await store.close();
});

test('a torn tail cut at every byte of the last record is cut off, never loaded', async (t) => {
  const dir = tempDir(t);
  const { log, lastStart } = await logWithLastRecord(join(dir, 'source'));
  assert.ok(log.length - lastStart > 60);
  for (let cut = lastStart; cut < log.length; cut++) {
    const copy = join(dir, `cut-${cut}`);
    mkdirSync(copy);
    writeFileSync(join(copy, 'session.log'), log.subarray(0, cut));
    const warnings: StoreError[] = [];
    assert.deepEqual(
      await reopen(copy, { onWarning: (w: StoreError) => warnings.push(w) }),
      stateBeforeLast,
    );
    // The file was truncated to the last good record, so appends continue on a boundary.
    assert.equal(statSync(join(copy, 'session.log')).size, lastStart, `cut at ${cut}`);
    if (cut === lastStart) {
      assert.equal(warnings.length, 0);
    } else {
      assert.equal(warnings.length, 1);
      const w = warnings[0];
      assert.ok(w instanceof StoreCorruptionError);
      assert.equal(w.kind, 'torn-tail');
      assert.equal(w.offset, lastStart);
      assert.equal(w.discardedBytes, cut - lastStart);
    }
    // A second open is clean, and new records land after the cut.
    const again = fileStore(copy, { onWarning: (w) => warnings.push(w) });
    await again.open();
    again.deleteOutgoing(1);
    await again.close();
    const warningsBefore = warnings.length;
    assert.deepEqual((await reopen(copy)).outgoing, []);
    assert.equal(warnings.length, warningsBefore);
    rmSync(copy, { recursive: true });
  }
});

test('a flipped byte anywhere in the last record drops that record only', async (t) => {
  const dir = tempDir(t);
  const { log, lastStart } = await logWithLastRecord(join(dir, 'source'));
  for (let at = lastStart; at < log.length; at++) {
    const copy = join(dir, `flip-${at}`);
    mkdirSync(copy);
    const damaged = Buffer.from(log);
    damaged[at] = damaged[at]! ^ 0x5a;
    writeFileSync(join(copy, 'session.log'), damaged);
    const warnings: StoreError[] = [];
    assert.deepEqual(
      await reopen(copy, { onWarning: (w: StoreError) => warnings.push(w) }),
      stateBeforeLast,
      `flip at ${at}`,
    );
    assert.equal(warnings.length, 1);
    assert.ok(warnings[0] instanceof StoreCorruptionError);
    assert.equal(warnings[0].offset, lastStart);
    rmSync(copy, { recursive: true });
  }
});

test('a corrupt record in the middle: keep the prefix, move the file aside, report it', async (t) => {
  const dir = tempDir(t);
  const store = fileStore(dir);
  await store.open();
  store.putOutgoing(outgoing(1));
  await store.flush();
  const middle = store.stats.logBytes;
  store.putOutgoing(outgoing(2));
  store.putOutgoing(outgoing(3));
  await store.close();
  const log = readFileSync(store.path);
  log[middle + 12] = log[middle + 12]! ^ 0xff; // inside the body of record seq 2
  writeFileSync(store.path, log);

  // Policy 'fail': a typed error, nothing changed on disk.
  const strict = fileStore(dir, { onCorruption: 'fail' });
  const error = await strict.open().then(
    () => undefined,
    (e: unknown) => e,
  );
  assert.ok(error instanceof StoreCorruptionError);
  assert.ok(error instanceof MqttError);
  assert.equal(error.code, MqttErrorCode.STORE);
  assert.equal(error.kind, 'corrupt-record');
  assert.equal(error.offset, middle);
  assert.match(error.message, /corrupt record at byte \d+ \(CRC mismatch; a valid record follows/);
  assert.deepEqual(readFileSync(store.path), log);

  // Default policy: recover the prefix, report, keep the damaged file for inspection.
  const warnings: StoreError[] = [];
  const recovered = await reopen(dir, { onWarning: (w: StoreError) => warnings.push(w) });
  assert.deepEqual(recovered.outgoing, [outgoing(1)]);
  assert.equal(warnings.length, 1);
  const w = warnings[0];
  assert.ok(w instanceof StoreCorruptionError);
  assert.equal(w.kind, 'corrupt-record');
  assert.ok(w.movedTo !== undefined);
  assert.deepEqual(readFileSync(w.movedTo), log);
  assert.deepEqual(
    readdirSync(dir).filter((n) => n.includes('corrupt')),
    [w.movedTo.split('/').pop()],
  );
  // The fresh log opens cleanly.
  const later: StoreError[] = [];
  assert.deepEqual((await reopen(dir, { onWarning: (x: StoreError) => later.push(x) })).outgoing, [
    outgoing(1),
  ]);
  assert.deepEqual(later, []);
});

test('a file that is not a store log is refused and left untouched', async (t) => {
  const dir = tempDir(t);
  writeFileSync(join(dir, 'session.log'), 'hello, this is not a log');
  const error = await fileStore(dir)
    .open()
    .then(
      () => undefined,
      (e: unknown) => e,
    );
  assert.ok(error instanceof StoreCorruptionError);
  assert.equal(error.kind, 'bad-header');
  assert.equal(readFileSync(join(dir, 'session.log'), 'utf8'), 'hello, this is not a log');
  // The lock was released: after fixing the file, the store opens.
  rmSync(join(dir, 'session.log'));
  assert.deepEqual((await reopen(dir)).outgoing, []);
});

test('compaction keeps the log bounded over 100k publish/complete cycles, state exact', async (t) => {
  const dir = tempDir(t);
  const compactMinBytes = 256 * 1024;
  const store = fileStore(dir, { compactMinBytes });
  await store.open();
  const kept: OutgoingRecord[] = [];
  let maxLog = 0;
  for (let seq = 0; seq < 100_000; seq++) {
    const record = outgoing(seq, { payload: new Uint8Array(64).fill(seq & 0xff) });
    store.putOutgoing(record);
    store.updateOutgoing(seq, (seq % 65535) + 1, 'sent');
    if (seq % 1000 === 0) {
      kept.push({ ...record, packetId: (seq % 65535) + 1, phase: 'sent' });
    } else {
      store.deleteOutgoing(seq);
    }
    if (seq % 500 === 499) {
      await store.flush();
      maxLog = Math.max(maxLog, statSync(store.path).size);
    }
  }
  await store.close();
  const { compactions, logBytes } = store.stats;
  t.diagnostic(`${compactions} compactions, max log ${maxLog} bytes, final ${logBytes} bytes`);
  assert.ok(compactions >= 10, `compacted ${compactions} times`);
  // Between compactions the log grows by at most one flush's batch beyond the threshold.
  assert.ok(maxLog < compactMinBytes + 200_000, `log reached ${maxLog} bytes`);
  assert.deepEqual((await reopen(dir)).outgoing, kept);
  assert.deepEqual(
    readdirSync(dir).filter((n) => n !== 'session.log'),
    [],
    'no leftover files',
  );
});

/** A {@link FileStoreIo} that counts calls and can fail writes on demand. */
function countingIo() {
  const counts = { write: 0, fdatasync: 0 };
  const failures: NodeJS.ErrnoException[] = [];
  const syncFailures: NodeJS.ErrnoException[] = [];
  const renameFailures: NodeJS.ErrnoException[] = [];
  let writeDelayMs = 0;
  const io: FileStoreIo = {
    ...nodeFileStoreIo,
    async write(fd, data, offset, length, position) {
      counts.write++;
      if (writeDelayMs > 0) await new Promise((r) => setTimeout(r, writeDelayMs));
      const failure = failures.shift();
      if (failure !== undefined) {
        // Write part of the batch first, as a real failing disk may.
        await nodeFileStoreIo.write(fd, data, offset, Math.min(length, 5), position);
        throw failure;
      }
      return nodeFileStoreIo.write(fd, data, offset, length, position);
    },
    async fdatasync(fd) {
      counts.fdatasync++;
      const failure = syncFailures.shift();
      if (failure !== undefined) throw failure;
      return nodeFileStoreIo.fdatasync(fd);
    },
    async rename(from, to) {
      const failure = renameFailures.shift();
      if (failure !== undefined) throw failure;
      return nodeFileStoreIo.rename(from, to);
    },
  };
  return {
    io,
    counts,
    failures,
    syncFailures,
    renameFailures,
    setWriteDelay(ms: number) {
      writeDelayMs = ms;
    },
  };
}

test('group commit: concurrent flushes share writes and syncs', async (t) => {
  const dir = tempDir(t);
  const { io, counts, setWriteDelay } = countingIo();
  const store = fileStore(dir, { io });
  await store.open();
  counts.write = 0; // creating the log wrote its header (and fsync'd it)
  const syncsAtOpen = store.stats.syncs;

  // 500 publishes in one burst, each followed by its own flush: one batch.
  const burst: Promise<void>[] = [];
  for (let seq = 0; seq < 500; seq++) {
    store.putOutgoing(outgoing(seq));
    burst.push(store.flush());
  }
  await Promise.all(burst);
  assert.equal(counts.fdatasync, 1);
  assert.equal(counts.write, 1);

  // 500 flushes spread over many ticks while slow writes are in progress: each write carries
  // every flush requested while the previous one ran.
  setWriteDelay(20);
  const spread: Promise<void>[] = [];
  for (let seq = 500; seq < 1000; seq++) {
    store.putOutgoing(outgoing(seq));
    spread.push(store.flush());
    if (seq % 25 === 0) await new Promise((r) => setTimeout(r, 5));
  }
  await Promise.all(spread);
  const syncs = counts.fdatasync - 1;
  t.diagnostic(`500 flushes over ~100 ms of 20 ms writes: ${syncs} fsyncs`);
  assert.ok(syncs >= 2 && syncs <= 12, `${syncs} fsyncs for 500 flushes`);
  assert.equal(store.stats.syncs - syncsAtOpen, counts.fdatasync);

  // A flush with nothing pending waits for the write in progress, and costs nothing more.
  store.putOutgoing(outgoing(1000));
  const first = store.flush();
  await new Promise((r) => setImmediate(r));
  const second = store.flush();
  await Promise.all([first, second]);
  assert.equal(counts.fdatasync, syncs + 2);
  await store.close();
  assert.equal((await reopen(dir)).outgoing.length, 1001);
});

test('a failed write rejects the flush with a typed error; nothing accepted is dropped', async (t) => {
  const dir = tempDir(t);
  const { io, failures } = countingIo();
  const store = fileStore(dir, { io });
  await store.open();
  store.putOutgoing(outgoing(1));
  await store.flush();
  const enospc = Object.assign(new Error('ENOSPC: no space left on device, write'), {
    code: 'ENOSPC',
  });
  failures.push(enospc);
  store.putOutgoing(outgoing(2));
  store.putOutgoing(outgoing(3));
  const error = await store.flush().then(
    () => undefined,
    (e: unknown) => e,
  );
  assert.ok(error instanceof StoreError);
  assert.equal(error.code, MqttErrorCode.STORE);
  assert.equal(error.osCode, 'ENOSPC');
  assert.equal(error.path, store.path);
  assert.match(error.message, /write .*session\.log failed: ENOSPC: no space left on device/);
  assert.equal(error.cause, enospc);

  // The batch is still there: the next flush rewrites it over the partial write.
  store.putOutgoing(outgoing(4));
  await store.flush();
  await store.close();
  assert.deepEqual(
    (await reopen(dir)).outgoing.map((r) => r.seq),
    [1, 2, 3, 4],
  );
});

test('a failed fdatasync rejects; the next flush writes the batch again, then syncs', async (t) => {
  const dir = tempDir(t);
  const { io, counts, syncFailures } = countingIo();
  const store = fileStore(dir, { io });
  await store.open();
  const eio = Object.assign(new Error('EIO: i/o error, fdatasync'), { code: 'EIO' });
  syncFailures.push(eio);
  store.putOutgoing(outgoing(1));
  await assert.rejects(
    store.flush(),
    (e: unknown) => e instanceof StoreError && e.operation === 'fdatasync' && e.osCode === 'EIO',
  );
  const writesBefore = counts.write;
  await store.flush();
  // After a failed sync the page cache cannot be trusted (Linux may have dropped the pages):
  // the batch is written again, not merely synced again.
  assert.equal(counts.write, writesBefore + 1);
  await store.close();
  assert.deepEqual((await reopen(dir)).outgoing, [outgoing(1)]);
});

test('a failed compaction is reported as a warning; flushes still succeed by appending', async (t) => {
  const dir = tempDir(t);
  const { io, renameFailures } = countingIo();
  const warnings: StoreError[] = [];
  const store = fileStore(dir, { io, compactMinBytes: 1000, onWarning: (w) => warnings.push(w) });
  await store.open();
  renameFailures.push(Object.assign(new Error('EXDEV: cross-device link'), { code: 'EXDEV' }));
  for (let seq = 0; seq < 100; seq++) {
    store.putOutgoing(outgoing(seq));
    store.deleteOutgoing(seq);
  }
  store.putOutgoing(outgoing(100));
  await store.flush();
  assert.equal(warnings.length, 1);
  assert.ok(warnings[0] instanceof StoreError && warnings[0].osCode === 'EXDEV');
  assert.equal(store.stats.compactions, 0);
  assert.deepEqual(readdirSync(dir).sort(), ['LOCK', 'session.log'], 'the snapshot was removed');
  await store.close();
  assert.deepEqual((await reopen(dir)).outgoing, [outgoing(100)]);
});

test('the store is used only between open() and close()', async (t) => {
  const dir = tempDir(t);
  const store = fileStore(dir);
  assert.throws(() => store.putOutgoing(outgoing(1)), /before open\(\) resolved/);
  await store.open();
  await assert.rejects(store.open(), StoreError);
  await store.close();
  assert.throws(
    () => store.deleteOutgoing(1),
    (e: unknown) => e instanceof StoreError && /after close/.test(e.message),
  );
  await assert.rejects(store.flush(), /after close/);
  await store.close(); // idempotent
});

test('one store per directory: a live holder is refused with a typed error, a dead one is taken over', async (t) => {
  const dir = tempDir(t);
  const first = fileStore(dir);
  await first.open();
  // Another store of this same process.
  const error = await fileStore(dir)
    .open()
    .then(
      () => undefined,
      (e: unknown) => e,
    );
  assert.ok(error instanceof StoreLockedError);
  assert.equal(error.pid, process.pid);
  assert.equal(error.code, MqttErrorCode.STORE);
  await first.close();

  // A live child process holding the lock.
  const script = `
    const { fileStore } = await import(${JSON.stringify(new URL('../../src/store/file.ts', import.meta.url).href)});
    const s = fileStore(${JSON.stringify(dir)});
    await s.open();
    process.stdout.write('open\\n');
    setInterval(() => {}, 1000);
  `;
  const child = spawn(
    process.execPath,
    ['--conditions=source', '--import', 'tsx', '--input-type=module', '-e', script],
    {
      stdio: ['ignore', 'pipe', 'inherit'],
    },
  );
  t.after(() => child.kill('SIGKILL'));
  await new Promise<void>((resolve) => child.stdout.once('data', () => resolve()));
  await assert.rejects(
    fileStore(dir).open(),
    (e: unknown) =>
      e instanceof StoreLockedError &&
      e.pid === child.pid &&
      e.message.includes(`live process ${child.pid}`),
  );

  // Once it is dead (SIGKILL: no cleanup), its lock is stale and taken over.
  const exited = new Promise((r) => child.once('exit', r));
  child.kill('SIGKILL');
  await exited;
  assert.equal(readFileSync(join(dir, 'LOCK'), 'utf8').split(' ')[0], String(child.pid));
  const taker = fileStore(dir);
  await taker.open();
  assert.equal(readFileSync(join(dir, 'LOCK'), 'utf8').split(' ')[0], String(process.pid));
  await taker.close();

  // A garbled lock (owner died between create and write) is stale too.
  writeFileSync(join(dir, 'LOCK'), '');
  await reopen(dir);
  assert.equal(readdirSync(dir).includes('LOCK'), false, 'close() released the lock');
});

test('options are validated, naming the field', () => {
  assert.throws(
    () => fileStore(''),
    (e: unknown) => e instanceof MqttError && /^dir:/.test(e.message),
  );
  assert.throws(
    () => fileStore('/tmp/x', { compactRatio: 1 }),
    (e: unknown) =>
      e instanceof MqttError &&
      e.code === MqttErrorCode.INVALID_OPTION &&
      /compactRatio/.test(e.message),
  );
  assert.throws(() => fileStore('/tmp/x', { compactMinBytes: -1 }), /compactMinBytes/);
});

test('a caller reusing its payload buffer does not change what compaction writes', async (t) => {
  const dir = tempDir(t);
  const store = fileStore(dir, { compactMinBytes: 0, compactRatio: 1.01 });
  await store.open();
  const buffer = new Uint8Array([1, 2, 3]);
  store.putOutgoing(outgoing(1, { payload: buffer }));
  buffer.fill(0);
  store.putOutgoing(outgoing(2));
  store.deleteOutgoing(2);
  await store.flush();
  await store.close();
  assert.ok(store.stats.compactions >= 1);
  assert.deepEqual((await reopen(dir)).outgoing[0]?.payload, new Uint8Array([1, 2, 3]));
});
