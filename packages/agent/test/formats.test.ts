import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { FormatError } from '../src/errors.js';
import {
  booleanFormat,
  createFormat,
  FormatSpec,
  jsonFormat,
  numberFormat,
  templateFormat,
  wccFormat,
} from '../src/formats/index.js';

const temp = { unit: '°C', name: 'OfficeTemp', channel: 8 };
const ts = Date.UTC(2026, 10, 22, 12, 0, 0);

function rejects(fn: () => unknown, reason: RegExp): void {
  assert.throws(fn, (error: unknown) => {
    assert.ok(error instanceof FormatError, `expected a FormatError, got ${String(error)}`);
    assert.match(error.reason, reason);
    return true;
  });
}

describe('number format', () => {
  it('renders LucidIoT temperatures: 20.1 °C is "20.1"', () => {
    const f = numberFormat({ precision: 1 });
    assert.equal(f.render({ value: 20.1, ts }, temp), '20.1');
    assert.equal(f.render({ value: 20.14999, ts }, temp), '20.1');
    assert.equal(f.render({ value: -0.01, ts }, temp), '0.0');
    assert.equal(f.render({ value: Number.NaN, ts }, temp), 'nan');
    assert.equal(f.render({ value: true, ts }, temp), '1');
  });
  it('appends the unit when asked', () => {
    assert.equal(
      numberFormat({ precision: 2, withUnit: true }).render({ value: 4, ts }, temp),
      '4.00 °C',
    );
    assert.equal(
      numberFormat({ withUnit: true, unit: 'K' }).render({ value: 293, ts }, temp),
      '293 K',
    );
  });
  it('parses numbers with or without the unit and names what is wrong', () => {
    const f = numberFormat({ withUnit: true });
    assert.deepEqual(f.parse(' 21.5 ', temp), { value: 21.5 });
    assert.deepEqual(f.parse('21.5 °C', temp), { value: 21.5 });
    assert.deepEqual(f.parse('-1e2', temp), { value: -100 });
    rejects(() => f.parse('warm', temp), /expected a number \(optionally followed by "°C"\)/);
    rejects(() => f.parse('', temp), /empty payload/);
    rejects(() => f.parse('0x10', temp), /expected a number/);
  });
  it('keys values at its precision for the threshold', () => {
    const f = numberFormat({ precision: 1 });
    assert.equal(f.key(20.11), f.key(20.12));
    assert.notEqual(f.key(20.11), f.key(20.16));
  });
});

describe('boolean format', () => {
  it('switches on On/Off, case-insensitively by default', () => {
    const f = booleanFormat();
    assert.deepEqual(f.parse('On', temp), { value: true });
    assert.deepEqual(f.parse('off\n', temp), { value: false });
    assert.equal(f.render({ value: true, ts }, temp), 'On');
    assert.equal(f.render({ value: 0, ts }, temp), 'Off');
    rejects(() => f.parse('Open', temp), /expected "On" or "Off"/);
  });
  it('takes configurable words, case-sensitively if asked', () => {
    const f = booleanFormat({ on: '1', off: '0' });
    assert.deepEqual(f.parse('1', temp), { value: true });
    rejects(() => f.parse('true', temp), /expected "1" or "0"/);
    const cs = booleanFormat({ on: 'true', off: 'false', caseSensitive: true });
    rejects(() => cs.parse('TRUE', temp), /expected "true" or "false" \(case-sensitive\)/);
  });
});

describe('wcc format', () => {
  it('renders value,timestamp_ms,quality', () => {
    const f = wccFormat({ precision: 2 });
    assert.equal(f.render({ value: 20.5, ts }, temp), `20.50,${ts},1`);
    assert.equal(f.render({ value: Number.NaN, ts, quality: 0 }, temp), `nan,${ts},0`);
  });
  it('parses it back and rejects each broken field by name', () => {
    const f = wccFormat();
    assert.deepEqual(f.parse(`12.5,${ts},1`, temp), { value: 12.5, ts, quality: 1 });
    const nan = f.parse(`nan,${ts},0`, temp);
    assert.ok(Number.isNaN(nan.value));
    rejects(() => f.parse('12.5,1', temp), /expected 3 comma-separated fields/);
    rejects(() => f.parse(`x,${ts},1`, temp), /value "x" is not a number or nan/);
    rejects(() => f.parse('1,yesterday,1', temp), /timestamp "yesterday"/);
    rejects(() => f.parse(`1,${ts},2`, temp), /quality "2" must be 0 or 1/);
  });
});

describe('json format', () => {
  it('renders value, ts and unit', () => {
    const f = jsonFormat({ precision: 1 });
    assert.deepEqual(JSON.parse(f.render({ value: 20.123, ts }, temp)), {
      value: 20.1,
      ts,
      unit: '°C',
    });
    assert.deepEqual(JSON.parse(f.render({ value: Number.NaN, ts, quality: 0 }, temp)), {
      value: null,
      ts,
      unit: '°C',
      quality: 0,
    });
    assert.deepEqual(
      JSON.parse(jsonFormat({ withUnit: false }).render({ value: true, ts }, temp)),
      { value: true, ts },
    );
  });
  it('parses objects and bare values', () => {
    const f = jsonFormat();
    assert.deepEqual(f.parse('{"value":3,"ts":5}', temp), { value: 3, ts: 5 });
    assert.deepEqual(f.parse('true', temp), { value: true });
    rejects(() => f.parse('{"value":"3"}', temp), /"value" must be a number or a boolean/);
    rejects(() => f.parse('{"value":', temp), /not JSON/);
    rejects(() => f.parse('[1]', temp), /expected an object/);
  });
});

describe('template format', () => {
  it('renders every placeholder', () => {
    const f = templateFormat({
      template: '{name}#{channel}: {value} {unit} at {iso} ({ts}, q{quality}) {{x}}',
      precision: 1,
    });
    assert.equal(
      f.render({ value: 20.06, ts }, temp),
      `OfficeTemp#8: 20.1 °C at 2026-11-22T12:00:00.000Z (${ts}, q1) {x}`,
    );
  });
  it('reads a value back when the template holds one {value}', () => {
    const f = templateFormat({ template: 'set {value} {unit} at {iso}' });
    assert.deepEqual(f.parse('set 21.5 °C at 2026-11-22T12:00:00Z', temp), { value: 21.5 });
    assert.deepEqual(f.parse('set on °C at now', temp), { value: true });
    rejects(() => f.parse('put 21.5 °C at x', temp), /does not match the template/);
    rejects(
      () => f.parse('set warm °C at x', temp),
      /\{value\} "warm" is not a number or a boolean/,
    );
    rejects(
      () => templateFormat({ template: '{unit}' }).parse('°C', temp),
      /exactly one \{value\}/,
    );
  });
  it('refuses unknown placeholders', () => {
    assert.throws(() => templateFormat({ template: '{valeu}' }), /unknown placeholder \{valeu\}/);
  });
});

describe('format specs', () => {
  it('fill defaults and build the right format', () => {
    const spec = FormatSpec.parse({ type: 'boolean' });
    assert.deepEqual(spec, { type: 'boolean', on: 'On', off: 'Off', caseSensitive: false });
    assert.equal(createFormat(spec).render({ value: false, ts }, temp), 'Off');
    assert.equal(createFormat(FormatSpec.parse({ type: 'wcc' })).type, 'wcc');
  });
  it('refuses identical on and off words', () => {
    const r = FormatSpec.safeParse({ type: 'boolean', on: 'x', off: 'X' });
    assert.equal(r.success, false);
  });
});
