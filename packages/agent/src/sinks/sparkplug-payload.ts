/**
 * Sparkplug B payloads, encoded and decoded by protobufjs from Eclipse Tahu's official
 * `sparkplug_b.proto` (vendored, EPL-2.0, in `packages/agent/proto/`).
 *
 * The schema is parsed from the `.proto` text when first needed, not compiled to static code:
 * the official file stays the one source of truth (nothing generated to drift from it or to
 * regenerate on each protobufjs update), parsing it takes about a millisecond once, and no
 * code generator joins the build. protobufjs is the most used protobuf library for
 * JavaScript, maintained, with one small dependency (`long`), and it reads `proto2`
 * `optional`/`oneof`/`extensions` as the Tahu file has them. `@bufbuild/protobuf` and
 * `google-protobuf` both need generated code (and `protoc`, or `buf`, to make it).
 *
 * Only the part of the payload the edge node uses is typed here: metrics with scalar values
 * and property sets. Anything else a command carries is decoded and ignored.
 *
 * @module
 */

import { readFileSync } from 'node:fs';
import protobuf from 'protobufjs';

/** Sparkplug B data types (the `DataType` enum of `sparkplug_b.proto`), the ones used here. */
export const DataType = {
  Int8: 1,
  Int16: 2,
  Int32: 3,
  Int64: 4,
  UInt8: 5,
  UInt16: 6,
  UInt32: 7,
  UInt64: 8,
  Float: 9,
  Double: 10,
  Boolean: 11,
  String: 12,
} as const;

/** A {@link DataType} value. */
export type DataType = (typeof DataType)[keyof typeof DataType];

/** One property value (`Payload.PropertyValue`). */
export interface PropertyValue {
  readonly type: DataType;
  readonly isNull?: boolean;
  readonly intValue?: number;
  readonly longValue?: number;
  readonly floatValue?: number;
  readonly doubleValue?: number;
  readonly booleanValue?: boolean;
  readonly stringValue?: string;
}

/** A metric (`Payload.Metric`) with a scalar value. */
export interface Metric {
  readonly name?: string;
  readonly alias?: number;
  readonly timestamp?: number;
  readonly datatype?: DataType;
  readonly isNull?: boolean;
  readonly properties?: { readonly keys: readonly string[]; readonly values: PropertyValue[] };
  readonly intValue?: number;
  readonly longValue?: number;
  readonly floatValue?: number;
  readonly doubleValue?: number;
  readonly booleanValue?: boolean;
  readonly stringValue?: string;
}

/** A Sparkplug B payload (`Payload`). */
export interface Payload {
  readonly timestamp?: number;
  readonly metrics?: readonly Metric[];
  readonly seq?: number;
  readonly uuid?: string;
}

/** The `.proto` file, from `src/sinks/` and from `dist/sinks/` alike. */
const PROTO_URL = new URL('../../proto/sparkplug_b.proto', import.meta.url);

let payloadType: protobuf.Type | undefined;

/** The `org.eclipse.tahu.protobuf.Payload` type, parsed from the `.proto` file once. */
function payloadTypeOf(): protobuf.Type {
  if (payloadType === undefined) {
    const { root } = protobuf.parse(readFileSync(PROTO_URL, 'utf8'));
    payloadType = root.lookupType('org.eclipse.tahu.protobuf.Payload');
  }
  return payloadType;
}

/**
 * The protobuf bytes of `payload`.
 * @throws {Error} when a field does not fit the schema (a bug, not an input error)
 */
export function encodePayload(payload: Payload): Uint8Array {
  const type = payloadTypeOf();
  const why = type.verify(payload);
  if (why !== null) throw new Error(`Sparkplug payload does not fit sparkplug_b.proto: ${why}`);
  const bytes = type.encode(type.fromObject(payload as Record<string, unknown>)).finish();
  // A Buffer from protobufjs' Node writer: hand out a plain view of the same bytes.
  return new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

/**
 * Decodes a payload: 64-bit integers come back as numbers (exact up to 2^53), fields left
 * out stay out.
 * @throws {Error} when the bytes are not a Sparkplug B payload
 */
export function decodePayload(bytes: Uint8Array): Payload {
  const type = payloadTypeOf();
  const message = type.decode(bytes);
  return type.toObject(message, { longs: Number, defaults: false, oneofs: false }) as Payload;
}
