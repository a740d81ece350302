/**
 * The Murano connector's files: the token (0600, atomic) and the offline history (bounded,
 * durable, chunked within the batch limit, trimmed only on commit).
 */
import assert from 'node:assert/strict';
import { appendFileSync, mkdtempSync, readFileSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import {
  batchEntry,
  forgetCredentials,
  ReadingHistory,
  TokenFile,
} from '../src/sinks/murano-store.js';

const dir = () => mkdtempSync(join(tmpdir(), 'courier-murano-store-'));
const reading = (i: number) => ({
  alias: 'data_in',
  value: JSON.stringify({ '001': i }),
  timestampUs: 1_700_000_000_000_000 + i,
});

describe('TokenFile', () => {
  it('writes 0600, reads back, and is forgotten by forgetCredentials', async () => {
    const d = join(dir(), 'data');
    const f = new TokenFile(d, 'abc', 'dev/1');
    assert.equal(await f.read(), undefined);
    await f.write('T0KEN');
    assert.equal(await f.read(), 'T0KEN');
    assert.equal(statSync(f.path).mode & 0o777, 0o600);
    assert.match(f.path, /murano-abc-dev_1\.token$/);
    assert.deepEqual(await forgetCredentials(d, 'abc', 'dev/1'), [f.path]);
    assert.equal(await f.read(), undefined);
  });
});

describe('ReadingHistory', () => {
  it('keeps at most max readings, dropping the oldest with a warning', async () => {
    const warnings: string[] = [];
    const h = new ReadingHistory(dir(), 'abc', 'd', 3, (_l, m) => warnings.push(m));
    await h.load();
    for (let i = 0; i < 5; i++) await h.add(reading(i));
    assert.equal(h.size, 3);
    assert.equal(h.dropped, 2);
    // The first drop is logged; the next ones are counted (and logged once per 100).
    assert.deepEqual(
      warnings.filter((w) => w.includes('full')),
      ['Murano history full (3 readings): the oldest dropped, 1 so far'],
    );
    const next = h.next(1_048_576);
    assert.deepEqual(
      JSON.parse(next?.payload ?? ''),
      [2, 3, 4].map((i) => JSON.parse(batchEntry(reading(i)))),
    );
  });

  it('survives a restart; a commit forgets only what was acknowledged', async () => {
    const d = dir();
    const a = new ReadingHistory(d, 'abc', 'd', 100, () => undefined);
    await a.load();
    for (let i = 0; i < 10; i++) await a.add(reading(i));
    await a.commit(4);
    // A reading added while the commit is being written stays once.
    const late = a.add(reading(10));
    await Promise.all([late, a.flushed()]);
    const b = new ReadingHistory(d, 'abc', 'd', 100, () => undefined);
    await b.load();
    assert.equal(b.size, 7);
    const all = JSON.parse(b.next(1_048_576)?.payload ?? '[]') as { timestamp: number }[];
    assert.deepEqual(
      all.map((e) => e.timestamp - 1_700_000_000_000_000),
      [4, 5, 6, 7, 8, 9, 10],
    );
  });

  it('chunks within the byte limit, and skips a line cut by a crash', async () => {
    const d = dir();
    const warnings: string[] = [];
    const h = new ReadingHistory(d, 'abc', 'd', 1000, () => undefined);
    await h.load();
    for (let i = 0; i < 100; i++) await h.add(reading(i));
    appendFileSync(h.path, '{"alias":"data_in","val');
    const r = new ReadingHistory(d, 'abc', 'd', 1000, (_l, m) => warnings.push(m));
    await r.load();
    assert.equal(r.size, 100);
    assert.ok(warnings.some((w) => w.includes('1 unreadable line')));
    let sent = 0;
    for (;;) {
      const chunk = r.next(1024);
      if (chunk === undefined) break;
      assert.ok(Buffer.byteLength(chunk.payload) <= 1024);
      assert.equal(JSON.parse(chunk.payload).length, chunk.count);
      sent += chunk.count;
      await r.commit(chunk.count);
    }
    assert.equal(sent, 100);
    await r.flushed();
    assert.throws(() => readFileSync(r.path), /ENOENT/);
  });
});
