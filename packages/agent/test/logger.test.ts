// The agent's logger: human lines on a terminal (one per record, an error as its message, no
// stack), one JSON object per line anywhere else.
import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { describe, it } from 'node:test';
import { createLogger } from '../src/cli/logger.js';

/** A stream that keeps what is written, a terminal or not. */
function sink(isTTY: boolean): Writable & { text: string; isTTY: boolean } {
  const stream = new Writable({
    write(chunk: Buffer, _enc, done) {
      stream.text += chunk.toString('utf8');
      done();
    },
  }) as Writable & { text: string; isTTY: boolean };
  stream.text = '';
  stream.isTTY = isTTY;
  return stream;
}

describe('logger', () => {
  it('on a terminal: one human line per record, an error shown by its message only', () => {
    const out = sink(true);
    const log = createLogger('info', out);
    log.warn({ err: new Error('listen EADDRINUSE'), server: 'mqtt://b:1883' }, 'it failed');
    log.debug('not at info');
    const lines = out.text.split('\n').filter((l) => l !== '');
    assert.equal(lines.length, 1, out.text);
    assert.match(
      lines[0] as string,
      /^\d\d:\d\d:\d\d\.\d{3} WARN {2}it failed err="listen EADDRINUSE" server=mqtt:\/\/b:1883$/,
    );
  });

  it('in a pipe or a file: one JSON object per line', () => {
    const out = sink(false);
    const log = createLogger('debug', out);
    log.info({ server: 'x' }, 'one');
    log.debug('two');
    const records = out.text
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as { level: number; msg: string });
    assert.deepEqual(
      records.map((r) => [r.level, r.msg]),
      [
        [30, 'one'],
        [20, 'two'],
      ],
    );
  });
});
