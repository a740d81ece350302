/**
 * The on-disk format of the file store's log, and the in-memory state it replays into.
 *
 * ```
 * file    = magic record*
 * magic   = "CRSTORE" 0x01                              (8 bytes, format version 1)
 * record  = length:u32le crc:u32le type:u8 body[length]
 *           crc = CRC-32 (IEEE, as zlib) of type and body
 * ```
 *
 * | type | mutation              | body                                                                          |
 * | ---- | --------------------- | ----------------------------------------------------------------------------- |
 * | 1    | putOutgoing           | seq:f64 packetId:u16 phase:u8 qos:u8 retain:u8 topicLength:u16 topic payload  |
 * | 2    | updateOutgoing        | seq:f64 packetId:u16 phase:u8                                                 |
 * | 3    | deleteOutgoing        | seq:f64                                                                       |
 * | 4    | addIncomingQos2       | packetId:u16                                                                  |
 * | 5    | deleteIncomingQos2    | packetId:u16                                                                  |
 * | 6    | putSubscription       | qos:u8 filter                                                                 |
 * | 7    | deleteSubscription    | filter                                                                        |
 * | 8    | clear                 | (empty)                                                                       |
 * | 9    | putOutgoing (MQTT 5)  | seq:f64 packetId:u16 phase:u8 qos:u8 retain:u8 topicLength:u16 expiresAt:f64 propertiesLength:u32 topic properties payload |
 * | 10   | putSubscription (5.0) | qos:u8 options:u8 subscriptionIdentifier:u32le filter                         |
 * | 11   | putSession            | expirySec:u32 endedAt:f64 clientId                                            |
 *
 * Type 9 is written only for a message with MQTT 5.0 properties or a Message Expiry, so a
 * log of a 3.1.1 client stays readable by versions that predate it. `expiresAt` is the
 * expiry in ms since the epoch (NaN: none); `properties` is the PUBLISH property section as
 * on the wire (MQTT 5.0 §2.2.2: a variable byte integer length, then the properties).
 *
 * Type 10 is written for a subscription with MQTT 5.0 options or an identifier; `options` is
 * the SUBSCRIBE options byte without the QoS bits (bit 2 No Local, bit 3 Retain As
 * Published, bits 4-5 Retain Handling, §3.8.3.1), identifier 0 meaning none. A store written
 * before type 10 existed reads the same; one holding type 10 is refused by older code as
 * damaged (`unknown record type 10`), never misread.
 *
 * Every mutation is idempotent and last-writer-wins per key, so replaying a suffix of the log
 * twice yields the same state as replaying it once. Compaction relies on this (see file.ts).
 *
 * @module
 */

import * as zlib from 'node:zlib';
import { propertiesLength, readProperties, writeProperties } from '../packet/properties.js';
import { Reader } from '../packet/reader.js';
import type { PublishProperties, QoS } from '../packet/types.js';
import { varintLength } from '../packet/writer.js';
import type {
  OutgoingPhase,
  OutgoingRecord,
  StoredSession,
  StoredSubscription,
  StoreSnapshot,
} from './types.js';

/** The first 8 bytes of every log file. */
export const MAGIC = Buffer.from('CRSTORE\x01', 'latin1');
/** Bytes before a record's body: length, crc, type. */
export const HEADER_BYTES = 9;

/** Record types, one per mutation of {@link SessionStore}. */
export const RecordType = {
  PUT_OUTGOING: 1,
  UPDATE_OUTGOING: 2,
  DELETE_OUTGOING: 3,
  ADD_INCOMING_QOS2: 4,
  DELETE_INCOMING_QOS2: 5,
  PUT_SUBSCRIPTION: 6,
  DELETE_SUBSCRIPTION: 7,
  CLEAR: 8,
  PUT_OUTGOING_V5: 9,
  PUT_SUBSCRIPTION_V5: 10,
  PUT_SESSION: 11,
} as const;

/** Fixed part of a PUT_SESSION body: expirySec, endedAt. */
const SESSION_FIXED = 4 + 8;

/** Fixed part of a PUT_OUTGOING body: seq, packetId, phase, qos, retain, topic length. */
const PUT_FIXED = 8 + 2 + 1 + 1 + 1 + 2;
/** Fixed part of a PUT_OUTGOING_V5 body: PUT_FIXED, then expiresAt and the properties' length. */
const PUT5_FIXED = PUT_FIXED + 8 + 4;
/** The PUBLISH property context of the codec (its packet type). */
const PUBLISH_PROPERTIES = 3;

/**
 * The largest body a record may declare: a PUBLISH of the largest size MQTT allows
 * (268,435,455 bytes of remaining length) plus the fixed fields. A larger length cannot have
 * been written by us and marks a damaged header.
 */
export const MAX_BODY_BYTES = 268_435_455 + PUT5_FIXED;

/** The smallest and largest body each record type can have. */
const BODY_BOUNDS: Readonly<Record<number, readonly [number, number]>> = {
  [RecordType.PUT_OUTGOING]: [PUT_FIXED, MAX_BODY_BYTES],
  [RecordType.UPDATE_OUTGOING]: [11, 11],
  [RecordType.DELETE_OUTGOING]: [8, 8],
  [RecordType.ADD_INCOMING_QOS2]: [2, 2],
  [RecordType.DELETE_INCOMING_QOS2]: [2, 2],
  [RecordType.PUT_SUBSCRIPTION]: [1, 1 + 65_535 * 3],
  [RecordType.DELETE_SUBSCRIPTION]: [0, 65_535 * 3],
  [RecordType.CLEAR]: [0, 0],
  [RecordType.PUT_OUTGOING_V5]: [PUT5_FIXED, MAX_BODY_BYTES],
  [RecordType.PUT_SUBSCRIPTION_V5]: [6, 6 + 65_535 * 3],
  // A client id is an MQTT string: at most 65,535 bytes.
  [RecordType.PUT_SESSION]: [SESSION_FIXED, SESSION_FIXED + 65_535],
};

const PHASES: readonly OutgoingPhase[] = ['queued', 'sent', 'released'];
const phaseCode = (phase: OutgoingPhase): number =>
  phase === 'queued' ? 0 : phase === 'sent' ? 1 : 2;

// ---------------------------------------------------------------------------------------------
// CRC-32

let crcTable: Uint32Array | undefined;

/** CRC-32 in JavaScript, for Node versions before 20.15 that lack `zlib.crc32`. */
function crc32Js(data: Uint8Array, start: number, end: number): number {
  if (crcTable === undefined) {
    crcTable = new Uint32Array(256);
    for (let n = 0; n < 256; n++) {
      let c = n;
      for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
      crcTable[n] = c >>> 0;
    }
  }
  const table = crcTable;
  let crc = 0xffffffff;
  for (let i = start; i < end; i++) crc = table[(crc ^ data[i]!) & 0xff]! ^ (crc >>> 8);
  return (crc ^ 0xffffffff) >>> 0;
}

const nativeCrc32 = (zlib as { crc32?: (data: Uint8Array, value?: number) => number }).crc32;

/** CRC-32 (IEEE 802.3, the one of zlib and gzip) of `data[start, end)`. */
export function crc32(data: Uint8Array, start: number, end: number): number {
  if (nativeCrc32 !== undefined) return nativeCrc32(data.subarray(start, end)) >>> 0;
  return crc32Js(data, start, end);
}

// ---------------------------------------------------------------------------------------------
// Encoding

/**
 * A growable byte buffer that mutations are encoded into, one record after another, until a
 * flush takes the bytes. Encoding into one buffer keeps a burst of small records from costing
 * one allocation each.
 */
export class RecordBuffer {
  #buf: Buffer;
  #length = 0;

  constructor(initialBytes = 64 * 1024) {
    this.#buf = Buffer.allocUnsafe(initialBytes);
  }

  /** Bytes encoded and not yet taken. */
  get length(): number {
    return this.#length;
  }

  /** Returns the encoded bytes and empties the buffer. */
  take(): Buffer {
    const out = Buffer.from(this.#buf.subarray(0, this.#length));
    this.#length = 0;
    if (this.#buf.length > 4 * 1024 * 1024) this.#buf = Buffer.allocUnsafe(64 * 1024);
    return out;
  }

  /** Puts bytes taken earlier back in front of what was encoded since (after a failed write). */
  unshift(bytes: Buffer): void {
    const rest = this.#buf.subarray(0, this.#length);
    const merged = Buffer.allocUnsafe(Math.max(bytes.length + rest.length, 64 * 1024));
    bytes.copy(merged, 0);
    rest.copy(merged, bytes.length);
    this.#buf = merged;
    this.#length = bytes.length + rest.length;
  }

  #reserve(type: number, bodyBytes: number): number {
    const need = this.#length + HEADER_BYTES + bodyBytes;
    if (need > this.#buf.length) {
      const grown = Buffer.allocUnsafe(Math.max(need, this.#buf.length * 2));
      this.#buf.copy(grown, 0, 0, this.#length);
      this.#buf = grown;
    }
    const start = this.#length;
    this.#buf.writeUInt32LE(bodyBytes, start);
    this.#buf[start + 8] = type;
    this.#length = need;
    return start + HEADER_BYTES;
  }

  #seal(bodyStart: number): void {
    const start = bodyStart - HEADER_BYTES;
    this.#buf.writeUInt32LE(crc32(this.#buf, start + 8, this.#length), start + 4);
  }

  /** Encodes a PUT_OUTGOING (or, with MQTT 5.0 fields, PUT_OUTGOING_V5) record; returns its size. */
  putOutgoing(r: OutgoingRecord): number {
    if (r.properties !== undefined || r.expiresAtEpochMs !== undefined)
      return this.#putOutgoing5(r);
    const topicBytes = Buffer.byteLength(r.topic, 'utf8');
    const body = PUT_FIXED + topicBytes + r.payload.length;
    const at = this.#reserve(RecordType.PUT_OUTGOING, body);
    const b = this.#buf;
    this.#putOutgoingHead(at, r, topicBytes);
    b.write(r.topic, at + PUT_FIXED, topicBytes, 'utf8');
    b.set(r.payload, at + PUT_FIXED + topicBytes);
    this.#seal(at);
    return HEADER_BYTES + body;
  }

  /** The PUT_FIXED part both outgoing records start with: seq, id, phase, qos, retain, topic length. */
  #putOutgoingHead(at: number, r: OutgoingRecord, topicBytes: number): void {
    const b = this.#buf;
    b.writeDoubleLE(r.seq, at);
    b.writeUInt16LE(r.packetId, at + 8);
    b[at + 10] = phaseCode(r.phase);
    b[at + 11] = r.qos;
    b[at + 12] = r.retain ? 1 : 0;
    b.writeUInt16LE(topicBytes, at + 13);
  }

  #putOutgoing5(r: OutgoingRecord): number {
    const topicBytes = Buffer.byteLength(r.topic, 'utf8');
    const propsBytes = propertiesLength(r.properties, PUBLISH_PROPERTIES);
    const sectionBytes = varintLength(propsBytes) + propsBytes;
    const body = PUT5_FIXED + topicBytes + sectionBytes + r.payload.length;
    const at = this.#reserve(RecordType.PUT_OUTGOING_V5, body);
    const b = this.#buf;
    this.#putOutgoingHead(at, r, topicBytes);
    b.writeDoubleLE(r.expiresAtEpochMs ?? Number.NaN, at + PUT_FIXED);
    b.writeUInt32LE(sectionBytes, at + PUT_FIXED + 8);
    b.write(r.topic, at + PUT5_FIXED, topicBytes, 'utf8');
    writeProperties(b, at + PUT5_FIXED + topicBytes, r.properties, PUBLISH_PROPERTIES, propsBytes);
    b.set(r.payload, at + PUT5_FIXED + topicBytes + sectionBytes);
    this.#seal(at);
    return HEADER_BYTES + body;
  }

  /** Encodes an UPDATE_OUTGOING record. */
  updateOutgoing(seq: number, packetId: number, phase: OutgoingPhase): void {
    const at = this.#reserve(RecordType.UPDATE_OUTGOING, 11);
    this.#buf.writeDoubleLE(seq, at);
    this.#buf.writeUInt16LE(packetId, at + 8);
    this.#buf[at + 10] = phaseCode(phase);
    this.#seal(at);
  }

  /** Encodes a DELETE_OUTGOING record. */
  deleteOutgoing(seq: number): void {
    const at = this.#reserve(RecordType.DELETE_OUTGOING, 8);
    this.#buf.writeDoubleLE(seq, at);
    this.#seal(at);
  }

  /** Encodes an ADD_INCOMING_QOS2 or DELETE_INCOMING_QOS2 record. */
  incomingQos2(type: 4 | 5, packetId: number): void {
    const at = this.#reserve(type, 2);
    this.#buf.writeUInt16LE(packetId, at);
    this.#seal(at);
  }

  /** Encodes a PUT_SUBSCRIPTION (or, with 5.0 fields, PUT_SUBSCRIPTION_V5) record; returns its size in bytes. */
  putSubscription(s: StoredSubscription): number {
    const filterBytes = Buffer.byteLength(s.filter, 'utf8');
    if (hasV5Fields(s)) {
      const at = this.#reserve(RecordType.PUT_SUBSCRIPTION_V5, 6 + filterBytes);
      this.#buf[at] = s.qos;
      this.#buf[at + 1] =
        (s.noLocal === true ? 0x04 : 0) |
        (s.retainAsPublished === true ? 0x08 : 0) |
        ((s.retainHandling ?? 0) << 4);
      this.#buf.writeUInt32LE(s.subscriptionIdentifier ?? 0, at + 2);
      this.#buf.write(s.filter, at + 6, filterBytes, 'utf8');
      this.#seal(at);
      return HEADER_BYTES + 6 + filterBytes;
    }
    const at = this.#reserve(RecordType.PUT_SUBSCRIPTION, 1 + filterBytes);
    this.#buf[at] = s.qos;
    this.#buf.write(s.filter, at + 1, filterBytes, 'utf8');
    this.#seal(at);
    return HEADER_BYTES + 1 + filterBytes;
  }

  /** Encodes a DELETE_SUBSCRIPTION record. */
  deleteSubscription(filter: string): void {
    const filterBytes = Buffer.byteLength(filter, 'utf8');
    const at = this.#reserve(RecordType.DELETE_SUBSCRIPTION, filterBytes);
    this.#buf.write(filter, at, filterBytes, 'utf8');
    this.#seal(at);
  }

  /** Encodes a CLEAR record. */
  clear(): void {
    this.#seal(this.#reserve(RecordType.CLEAR, 0));
  }

  /** Encodes a PUT_SESSION record; returns its size in bytes. */
  putSession(s: StoredSession): number {
    const idBytes = Buffer.byteLength(s.clientId, 'utf8');
    const at = this.#reserve(RecordType.PUT_SESSION, SESSION_FIXED + idBytes);
    this.#buf.writeUInt32LE(s.expirySec, at);
    this.#buf.writeDoubleLE(s.endedAt, at + 4);
    this.#buf.write(s.clientId, at + SESSION_FIXED, idBytes, 'utf8');
    this.#seal(at);
    return HEADER_BYTES + SESSION_FIXED + idBytes;
  }
}

/** Whether a subscription needs the 5.0 record: an option set or an identifier. */
function hasV5Fields(s: StoredSubscription): boolean {
  return (
    s.noLocal === true ||
    s.retainAsPublished === true ||
    (s.retainHandling ?? 0) !== 0 ||
    s.subscriptionIdentifier !== undefined
  );
}

// ---------------------------------------------------------------------------------------------
// State

/** An outgoing message as the store holds it, with the size of its record in a snapshot. */
interface OutgoingEntry {
  seq: number;
  packetId: number;
  phase: OutgoingPhase;
  readonly topic: string;
  readonly payload: Uint8Array;
  readonly qos: QoS;
  readonly retain: boolean;
  readonly properties?: PublishProperties;
  readonly expiresAtEpochMs?: number;
  readonly recordBytes: number;
}

/** Size of the record of an incoming QoS 2 id in a snapshot. */
const INCOMING_RECORD_BYTES = HEADER_BYTES + 2;

/**
 * The live state of a store: what the log replays into and what a compaction snapshot writes.
 * It also keeps {@link liveBytes}, the size a snapshot of it would have, which drives compaction.
 */
export class LiveState {
  readonly outgoing = new Map<number, OutgoingEntry>();
  readonly incomingQos2 = new Set<number>();
  readonly subscriptions = new Map<
    string,
    { subscription: StoredSubscription; recordBytes: number }
  >();
  #liveBytes = MAGIC.length;

  /** Bytes a snapshot of this state takes on disk. */
  get liveBytes(): number {
    return this.#liveBytes;
  }

  putOutgoing(r: OutgoingRecord, recordBytes: number): void {
    const old = this.outgoing.get(r.seq);
    if (old !== undefined) this.#liveBytes -= old.recordBytes;
    this.outgoing.set(r.seq, {
      seq: r.seq,
      packetId: r.packetId,
      phase: r.phase,
      topic: r.topic,
      payload: r.payload,
      qos: r.qos,
      retain: r.retain,
      ...(r.properties === undefined ? {} : { properties: r.properties }),
      ...(r.expiresAtEpochMs === undefined ? {} : { expiresAtEpochMs: r.expiresAtEpochMs }),
      recordBytes,
    });
    this.#liveBytes += recordBytes;
  }

  updateOutgoing(seq: number, packetId: number, phase: OutgoingPhase): void {
    const entry = this.outgoing.get(seq);
    if (entry === undefined) return;
    entry.packetId = packetId;
    entry.phase = phase;
  }

  deleteOutgoing(seq: number): void {
    const entry = this.outgoing.get(seq);
    if (entry === undefined) return;
    this.outgoing.delete(seq);
    this.#liveBytes -= entry.recordBytes;
  }

  addIncomingQos2(packetId: number): void {
    if (this.incomingQos2.has(packetId)) return;
    this.incomingQos2.add(packetId);
    this.#liveBytes += INCOMING_RECORD_BYTES;
  }

  deleteIncomingQos2(packetId: number): void {
    if (this.incomingQos2.delete(packetId)) this.#liveBytes -= INCOMING_RECORD_BYTES;
  }

  putSubscription(s: StoredSubscription, recordBytes: number): void {
    const old = this.subscriptions.get(s.filter);
    if (old !== undefined) this.#liveBytes -= old.recordBytes;
    this.subscriptions.set(s.filter, { subscription: s, recordBytes });
    this.#liveBytes += recordBytes;
  }

  deleteSubscription(filter: string): void {
    const old = this.subscriptions.get(filter);
    if (old === undefined) return;
    this.subscriptions.delete(filter);
    this.#liveBytes -= old.recordBytes;
  }

  clear(): void {
    this.outgoing.clear();
    this.incomingQos2.clear();
    this.subscriptions.clear();
    this.session = undefined;
    this.#liveBytes = MAGIC.length;
  }

  /** The session on the broker as last recorded, and the size of its record. */
  session: (StoredSession & { readonly recordBytes: number }) | undefined;

  putSession(s: StoredSession, recordBytes: number): void {
    if (this.session !== undefined) this.#liveBytes -= this.session.recordBytes;
    this.session = {
      clientId: s.clientId,
      expirySec: s.expirySec,
      endedAt: s.endedAt,
      recordBytes,
    };
    this.#liveBytes += recordBytes;
  }

  /** A copy of the state in the shape {@link SessionStore.open} returns (outgoing by `seq`). */
  snapshot(): StoreSnapshot {
    const outgoing: OutgoingRecord[] = [];
    for (const e of this.outgoing.values()) {
      outgoing.push({
        seq: e.seq,
        packetId: e.packetId,
        phase: e.phase,
        topic: e.topic,
        payload: e.payload,
        qos: e.qos,
        retain: e.retain,
        ...(e.properties === undefined ? {} : { properties: e.properties }),
        ...(e.expiresAtEpochMs === undefined ? {} : { expiresAtEpochMs: e.expiresAtEpochMs }),
      });
    }
    outgoing.sort((a, b) => a.seq - b.seq);
    const subscriptions: StoredSubscription[] = [];
    for (const { subscription } of this.subscriptions.values()) subscriptions.push(subscription);
    const s = this.session;
    return {
      outgoing,
      incomingQos2: [...this.incomingQos2],
      subscriptions,
      ...(s === undefined
        ? {}
        : { session: { clientId: s.clientId, expirySec: s.expirySec, endedAt: s.endedAt } }),
    };
  }

  /** Encodes the whole state as a log file: magic, then one record per live item. */
  encode(): Buffer {
    const out = new RecordBuffer(this.#liveBytes);
    for (const e of this.outgoing.values()) out.putOutgoing(e);
    for (const id of this.incomingQos2) out.incomingQos2(RecordType.ADD_INCOMING_QOS2, id);
    for (const { subscription } of this.subscriptions.values()) out.putSubscription(subscription);
    if (this.session !== undefined) out.putSession(this.session);
    const body = out.take();
    return Buffer.concat([MAGIC, body], MAGIC.length + body.length);
  }
}

// ---------------------------------------------------------------------------------------------
// Decoding

/** Where replay stopped and why. */
export interface ReplayResult {
  /** Offset just past the last good record. */
  readonly goodEnd: number;
  /** Records applied. */
  readonly records: number;
  /** Why the record at `goodEnd` is bad; undefined when the whole file was good. */
  readonly badReason: string | undefined;
}

/**
 * Checks the record at `offset` without applying it. Returns its end offset, or a reason why
 * it is not a valid record.
 */
export function checkRecord(view: Buffer, offset: number): number | string {
  const available = view.length - offset;
  if (available < HEADER_BYTES) return `short record header (${available} of 9 bytes)`;
  const bodyBytes = view.readUInt32LE(offset);
  const type = view[offset + 8]!;
  const bounds = BODY_BOUNDS[type];
  if (bounds === undefined) return `unknown record type ${type}`;
  if (bodyBytes < bounds[0] || bodyBytes > bounds[1]) {
    return `impossible length ${bodyBytes} for record type ${type}`;
  }
  const end = offset + HEADER_BYTES + bodyBytes;
  if (end > view.length) {
    return `short record (${available} of ${HEADER_BYTES + bodyBytes} bytes)`;
  }
  if (crc32(view, offset + 8, end) !== view.readUInt32LE(offset + 4)) return 'CRC mismatch';
  return end;
}

/** Decodes the body of a record that passed {@link checkRecord} and applies it to `state`. */
function applyRecord(view: Buffer, offset: number, end: number, state: LiveState): string | null {
  const type = view[offset + 8]!;
  const at = offset + HEADER_BYTES;
  switch (type) {
    case RecordType.PUT_OUTGOING: {
      const head = readOutgoingHead(view, at);
      if (head === undefined) return 'invalid outgoing record fields';
      const { topicBytes, ...fields } = head;
      if (at + PUT_FIXED + topicBytes > end) return 'topic length runs past the record';
      const topic = view.toString('utf8', at + PUT_FIXED, at + PUT_FIXED + topicBytes);
      // Copy the payload out so the snapshot does not pin the whole file buffer in memory.
      const payload = new Uint8Array(view.subarray(at + PUT_FIXED + topicBytes, end));
      state.putOutgoing({ ...fields, topic, payload }, end - offset);
      return null;
    }
    case RecordType.PUT_OUTGOING_V5:
      return applyPutOutgoing5(view, offset, end, state);
    case RecordType.UPDATE_OUTGOING: {
      const seq = view.readDoubleLE(at);
      const phase = PHASES[view[at + 10]!];
      if (!Number.isFinite(seq) || phase === undefined) return 'invalid update record fields';
      state.updateOutgoing(seq, view.readUInt16LE(at + 8), phase);
      return null;
    }
    case RecordType.DELETE_OUTGOING: {
      const seq = view.readDoubleLE(at);
      if (!Number.isFinite(seq)) return 'invalid delete record';
      state.deleteOutgoing(seq);
      return null;
    }
    case RecordType.ADD_INCOMING_QOS2:
      state.addIncomingQos2(view.readUInt16LE(at));
      return null;
    case RecordType.DELETE_INCOMING_QOS2:
      state.deleteIncomingQos2(view.readUInt16LE(at));
      return null;
    case RecordType.PUT_SUBSCRIPTION: {
      const qos = view[at]!;
      if (qos > 2) return 'invalid subscription QoS';
      state.putSubscription(
        { filter: view.toString('utf8', at + 1, end), qos: qos as QoS },
        end - offset,
      );
      return null;
    }
    case RecordType.PUT_SUBSCRIPTION_V5: {
      const qos = view[at]!;
      const options = view[at + 1]!;
      const retainHandling = (options >> 4) & 0x03;
      const id = view.readUInt32LE(at + 2);
      if (qos > 2 || (options & 0xc3) !== 0 || retainHandling > 2 || id > 268_435_455) {
        return 'invalid subscription options';
      }
      state.putSubscription(
        {
          filter: view.toString('utf8', at + 6, end),
          qos: qos as QoS,
          ...((options & 0x04) !== 0 ? { noLocal: true } : {}),
          ...((options & 0x08) !== 0 ? { retainAsPublished: true } : {}),
          ...(retainHandling !== 0 ? { retainHandling: retainHandling as 1 | 2 } : {}),
          ...(id !== 0 ? { subscriptionIdentifier: id } : {}),
        },
        end - offset,
      );
      return null;
    }
    case RecordType.DELETE_SUBSCRIPTION:
      state.deleteSubscription(view.toString('utf8', at, end));
      return null;
    case RecordType.CLEAR:
      state.clear();
      return null;
    case RecordType.PUT_SESSION: {
      const endedAt = view.readDoubleLE(at + 4);
      if (!Number.isFinite(endedAt) || endedAt < 0) return 'invalid session record';
      state.putSession(
        {
          expirySec: view.readUInt32LE(at),
          endedAt,
          clientId: view.toString('utf8', at + SESSION_FIXED, end),
        },
        end - offset,
      );
      return null;
    }
    default:
      return `unknown record type ${type}`;
  }
}

/** Decodes and applies a PUT_OUTGOING_V5 record (see the table at the top). */
/**
 * The PUT_FIXED part both outgoing records start with, or undefined when a field is out of
 * range (the record is damaged).
 */
function readOutgoingHead(
  view: Buffer,
  at: number,
):
  | {
      seq: number;
      packetId: number;
      phase: OutgoingPhase;
      qos: QoS;
      retain: boolean;
      topicBytes: number;
    }
  | undefined {
  const seq = view.readDoubleLE(at);
  const phase = PHASES[view[at + 10]!];
  const qos = view[at + 11]!;
  const retain = view[at + 12]!;
  if (!Number.isFinite(seq) || phase === undefined || qos > 2 || retain > 1) return undefined;
  return {
    seq,
    packetId: view.readUInt16LE(at + 8),
    phase,
    qos: qos as QoS,
    retain: retain === 1,
    topicBytes: view.readUInt16LE(at + 13),
  };
}

function applyPutOutgoing5(
  view: Buffer,
  offset: number,
  end: number,
  state: LiveState,
): string | null {
  const at = offset + HEADER_BYTES;
  const head = readOutgoingHead(view, at);
  if (head === undefined) return 'invalid outgoing record fields';
  const { topicBytes, ...fields } = head;
  const expiresAt = view.readDoubleLE(at + PUT_FIXED);
  const sectionBytes = view.readUInt32LE(at + PUT_FIXED + 8);
  const topicAt = at + PUT5_FIXED;
  const propsAt = topicAt + topicBytes;
  const payloadAt = propsAt + sectionBytes;
  if (payloadAt > end) return 'topic or properties run past the record';
  let properties: PublishProperties | undefined;
  try {
    const r = new Reader(view, propsAt, propsAt, payloadAt);
    properties = readProperties<PublishProperties>(r, PUBLISH_PROPERTIES);
    if (r.pos !== payloadAt) return 'properties length mismatch';
    const correlation = properties?.correlationData;
    // Copied out, like the payload below.
    if (correlation !== undefined) {
      properties = { ...properties, correlationData: new Uint8Array(correlation) };
    }
  } catch {
    return 'invalid outgoing record properties';
  }
  state.putOutgoing(
    {
      ...fields,
      topic: view.toString('utf8', topicAt, propsAt),
      // Copied out so the snapshot does not pin the whole file buffer in memory.
      payload: new Uint8Array(view.subarray(payloadAt, end)),
      ...(properties === undefined ? {} : { properties }),
      ...(Number.isNaN(expiresAt) ? {} : { expiresAtEpochMs: expiresAt }),
    },
    end - offset,
  );
  return null;
}

/**
 * Replays the records of `buf` from `offset` into `state`, stopping at the first bad one.
 * Nothing of a bad record is applied.
 */
export function replay(buf: Buffer, offset: number, state: LiveState): ReplayResult {
  let at = offset;
  let records = 0;
  while (at < buf.length) {
    const end = checkRecord(buf, at);
    if (typeof end === 'string') return { goodEnd: at, records, badReason: end };
    const bad = applyRecord(buf, at, end, state);
    if (bad !== null) return { goodEnd: at, records, badReason: bad };
    records++;
    at = end;
  }
  return { goodEnd: at, records, badReason: undefined };
}

/**
 * Looks for a valid record anywhere after a bad one at `badOffset`. Finding one means the
 * damage is not a torn tail: data that was once synced follows it.
 */
export function validRecordAfter(buf: Buffer, badOffset: number): number | undefined {
  for (let at = badOffset + 1; at + HEADER_BYTES <= buf.length; at++) {
    if (typeof checkRecord(buf, at) === 'number') return at;
  }
  return undefined;
}
