/**
 * MQTT 5.0 properties (§2.2.2): decoding into plain objects and encoding from them, driven by
 * the table in `property-table.ts`.
 *
 * A property section is a variable byte integer length followed by identifier/value pairs. The
 * decoder returns `undefined` for an empty section, so a packet without properties allocates
 * nothing; otherwise one plain object with a key per property present. Every rule of the
 * specification that the bytes alone can break is a {@link MalformedPacketError}: an unknown
 * identifier or one not valid for the packet (§2.2.2.2), a second copy of a property that may
 * appear once (all but User Property, and Subscription Identifier in PUBLISH), a value out of
 * its range (Topic Alias 0, Receive Maximum 0, a Payload Format Indicator of 2, ...), and
 * Authentication Data without an Authentication Method.
 *
 * @module
 */

import {
  BY_CONTEXT,
  BY_ID,
  CONTEXT_NAMES,
  IDENTIFIER_RULE,
  Kind,
  keyOf,
  type PropertyContext,
  type PropertyInfo,
} from './property-table.js';
import type { Reader } from './reader.js';
import { utf8ByteLength, writeUtf8 } from './utf8.js';
import { fail, MAX_VARINT, varintLength, write16, write32, writeVarint } from './writer.js';

export { type PropertyContext, propertyTable, WILL_CONTEXT } from './property-table.js';

// ---------------------------------------------------------------------------------------------
// Decoding

/**
 * Reads a property section at the reader's cursor. Returns `undefined` when it is empty (no
 * allocation), otherwise a plain object.
 */
export function readProperties<T extends object>(
  r: Reader,
  context: PropertyContext,
): T | undefined {
  const lengthAt = r.pos;
  const length = r.varint('property length');
  if (length === 0) return undefined;
  const what = CONTEXT_NAMES[context] as string;
  const end = r.pos + length;
  if (end > r.end) {
    r.fail(
      `${what} property length ${length} runs past the end of the packet`,
      'MQTT-2.2.3',
      lengthAt,
    );
  }
  const props: Record<string, unknown> = {};
  while (r.pos < end) {
    const at = r.pos;
    const id = r.u8('property identifier');
    const info = BY_ID[id];
    if (info === undefined) {
      r.fail(`unknown property identifier 0x${id.toString(16)} in ${what}`, IDENTIFIER_RULE, at);
    }
    if ((info.contexts & (1 << context)) === 0) {
      r.fail(`${info.label} (0x${id.toString(16)}) is not allowed in ${what}`, IDENTIFIER_RULE, at);
    }
    const value = readValue(r, info);
    if (r.pos > end) {
      r.fail(`${info.label} runs past the end of the ${what} properties`, 'MQTT-2.2.3', at);
    }
    const key = keyOf(info, context);
    if (info.kind === Kind.PAIR || key === 'subscriptionIdentifiers') {
      const list = props[key] as unknown[] | undefined;
      if (list === undefined) props[key] = [value];
      else list.push(value);
    } else {
      // Every property but User Property (and Subscription Identifier in PUBLISH) may appear
      // at most once: "It is a Protocol Error to include ... more than once".
      if (props[key] !== undefined) {
        r.fail(`${info.label} appears more than once in ${what}`, info.rule, at);
      }
      props[key] = value;
    }
  }
  if (props.authenticationData !== undefined && props.authenticationMethod === undefined) {
    r.fail(
      `Authentication Data without an Authentication Method in ${what}`,
      'MQTT-3.1.2.11.10',
      lengthAt,
    );
  }
  // The table above guarantees each key's type for the context.
  return props as T;
}

function readValue(r: Reader, info: PropertyInfo): unknown {
  const at = r.pos;
  const rule = info.valueRule ?? info.rule;
  switch (info.kind) {
    case Kind.BYTE01:
    case Kind.BOOL: {
      const v = r.u8(info.label);
      if (v > 1) r.fail(`${info.label} must be 0 or 1, got ${v}`, rule, at);
      return info.kind === Kind.BOOL ? v === 1 : v;
    }
    case Kind.U16: {
      const v = r.u16(info.label);
      if (v === 0 && info.nonZero === true) r.fail(`${info.label} must not be 0`, rule, at);
      return v;
    }
    case Kind.U32: {
      const v = r.u32(info.label);
      if (v === 0 && info.nonZero === true) r.fail(`${info.label} must not be 0`, rule, at);
      return v;
    }
    case Kind.VARINT: {
      const v = r.varint(info.label);
      if (v === 0) r.fail(`${info.label} must not be 0`, rule, at);
      return v;
    }
    case Kind.STRING:
      return r.string(info.label);
    case Kind.TOPIC: {
      const topic = r.string(info.label);
      const problem = topicNameProblem(topic, info.label);
      if (problem !== undefined) r.fail(problem[0], problem[1], at);
      return topic;
    }
    case Kind.BINARY:
      return r.bytes(info.label);
    default:
      return [r.string('User Property name'), r.string('User Property value')] as const;
  }
}

/**
 * A Response Topic is a topic name: not empty, no wildcards [MQTT-3.3.2-14]. Returns the
 * message and rule of the problem, if any.
 */
function topicNameProblem(topic: string, label: string): [string, string] | undefined {
  if (topic.length === 0) return [`${label} must not be empty`, 'MQTT-4.7.3-1'];
  for (let i = 0; i < topic.length; i++) {
    const c = topic.charCodeAt(i);
    if (c === 0x23 || c === 0x2b) return [`${label} must not contain wildcards`, 'MQTT-3.3.2-14'];
  }
  return undefined;
}

// ---------------------------------------------------------------------------------------------
// Encoding

function bad(info: PropertyInfo, what: string, value: unknown, expected: string): never {
  return fail(
    `${info.label} in ${what} must be ${expected}, got ${String(value)}`,
    info.valueRule ?? info.rule,
  );
}

function checkInt(info: PropertyInfo, what: string, v: unknown, max: number): number {
  const min = info.nonZero === true || info.kind === Kind.VARINT ? 1 : 0;
  if (typeof v !== 'number' || !Number.isInteger(v) || v < min || v > max) {
    bad(info, what, v, `an integer ${min}..${max}`);
  }
  return v;
}

function checkBinary(info: PropertyInfo, what: string, v: unknown): Uint8Array {
  if (!(v instanceof Uint8Array)) bad(info, what, v, 'a Uint8Array');
  if (v.byteLength > 0xffff) bad(info, what, `${v.byteLength} bytes`, 'at most 65,535 bytes');
  return v;
}

/** Bytes of one value of a property (its identifier byte included), validating it. */
function measureValue(info: PropertyInfo, what: string, v: unknown): number {
  switch (info.kind) {
    case Kind.BYTE01:
      if (v !== 0 && v !== 1) bad(info, what, v, '0 or 1');
      return 2;
    case Kind.BOOL:
      if (typeof v !== 'boolean') bad(info, what, v, 'a boolean');
      return 2;
    case Kind.U16:
      checkInt(info, what, v, 0xffff);
      return 3;
    case Kind.U32:
      checkInt(info, what, v, 0xffffffff);
      return 5;
    case Kind.VARINT:
      return 1 + varintLength(checkInt(info, what, v, MAX_VARINT));
    case Kind.STRING:
      if (typeof v !== 'string') bad(info, what, v, 'a string');
      return 3 + utf8ByteLength(v, info.label);
    case Kind.TOPIC: {
      if (typeof v !== 'string') bad(info, what, v, 'a string');
      const problem = topicNameProblem(v, info.label);
      if (problem !== undefined) fail(problem[0], problem[1]);
      return 3 + utf8ByteLength(v, info.label);
    }
    case Kind.BINARY:
      return 3 + checkBinary(info, what, v).byteLength;
    default: {
      if (!Array.isArray(v) || v.length !== 2) bad(info, what, v, 'a [name, value] pair');
      const [name, value] = v as unknown[];
      if (typeof name !== 'string' || typeof value !== 'string') {
        bad(info, what, v, 'a pair of strings');
      }
      return (
        5 +
        utf8ByteLength(name, 'User Property name') +
        utf8ByteLength(value, 'User Property value')
      );
    }
  }
}

/**
 * Bytes of the property section of `props` in `context`, its length prefix not included.
 * Validates every property: a key that is not a property of this packet, a value of the wrong
 * type or range, a repeated property given as an array where only one is allowed, all throw.
 */
export function propertiesLength(props: object | undefined, context: PropertyContext): number {
  if (props === undefined) return 0;
  const what = CONTEXT_NAMES[context] as string;
  const record = props as Record<string, unknown>;
  let n = 0;
  let present = 0;
  for (const info of BY_CONTEXT[context] as readonly PropertyInfo[]) {
    const key = keyOf(info, context);
    const v = record[key];
    if (v === undefined) continue;
    present++;
    if (info.kind === Kind.PAIR || key === 'subscriptionIdentifiers') {
      if (!Array.isArray(v)) bad(info, what, v, 'an array');
      for (const item of v as unknown[]) n += measureValue(info, what, item);
    } else {
      n += measureValue(info, what, v);
    }
  }
  // Nothing silent: a key this packet has no property for is refused, not dropped.
  let keys = 0;
  for (const key in record) if (record[key] !== undefined) keys++;
  if (keys !== present) {
    const known = new Set(
      (BY_CONTEXT[context] as readonly PropertyInfo[]).map((i) => keyOf(i, context)),
    );
    const stray = Object.keys(record).find((k) => record[k] !== undefined && !known.has(k));
    fail(`${String(stray)} is not a property of ${what}`, IDENTIFIER_RULE);
  }
  if (record.authenticationData !== undefined && record.authenticationMethod === undefined) {
    fail(`Authentication Data without an Authentication Method in ${what}`, 'MQTT-3.1.2.11.10');
  }
  return n;
}

/**
 * Writes the property section of `props` (length prefix first) at `pos`, `length` being what
 * {@link propertiesLength} returned for it. Returns the new position.
 */
export function writeProperties(
  out: Uint8Array,
  pos: number,
  props: object | undefined,
  context: PropertyContext,
  length: number,
): number {
  pos = writeVarint(out, pos, length);
  if (props === undefined || length === 0) return pos;
  const record = props as Record<string, unknown>;
  for (const info of BY_CONTEXT[context] as readonly PropertyInfo[]) {
    const key = keyOf(info, context);
    const v = record[key];
    if (v === undefined) continue;
    if (info.kind === Kind.PAIR || key === 'subscriptionIdentifiers') {
      for (const item of v as unknown[]) pos = writeValue(out, pos, info, item);
    } else {
      pos = writeValue(out, pos, info, v);
    }
  }
  return pos;
}

function writeString(out: Uint8Array, pos: number, s: string, what: string): number {
  const n = utf8ByteLength(s, what);
  pos = write16(out, pos, n);
  return writeUtf8(out, pos, s, n);
}

function writeValue(out: Uint8Array, pos: number, info: PropertyInfo, v: unknown): number {
  out[pos++] = info.id;
  switch (info.kind) {
    case Kind.BYTE01:
      out[pos] = v as number;
      return pos + 1;
    case Kind.BOOL:
      out[pos] = v === true ? 1 : 0;
      return pos + 1;
    case Kind.U16:
      return write16(out, pos, v as number);
    case Kind.U32:
      return write32(out, pos, v as number);
    case Kind.VARINT:
      return writeVarint(out, pos, v as number);
    case Kind.STRING:
    case Kind.TOPIC:
      return writeString(out, pos, v as string, info.label);
    case Kind.BINARY: {
      const b = v as Uint8Array;
      pos = write16(out, pos, b.byteLength);
      out.set(b, pos);
      return pos + b.byteLength;
    }
    default: {
      const [name, value] = v as readonly [string, string];
      pos = writeString(out, pos, name, 'User Property name');
      return writeString(out, pos, value, 'User Property value');
    }
  }
}
