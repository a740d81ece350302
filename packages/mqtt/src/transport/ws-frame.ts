/**
 * RFC 6455 frame constants and the framer: a pure function from an opcode and payload bytes to
 * one frame. No socket, no randomness: the caller passes the masking key, so a frame is
 * reproducible in a test. The reading side is `ws-frame-reader.ts`.
 *
 * @module
 */

/** Frame opcodes [RFC 6455 §5.2, §11.8]. */
export const Opcode = {
  CONTINUATION: 0x0,
  TEXT: 0x1,
  BINARY: 0x2,
  CLOSE: 0x8,
  PING: 0x9,
  PONG: 0xa,
} as const;

/** One of the opcodes RFC 6455 defines. */
export type Opcode = (typeof Opcode)[keyof typeof Opcode];

/** Close status codes this library sends [RFC 6455 §7.4.1]. */
export const CloseCode = {
  /** The purpose of the connection is fulfilled. */
  NORMAL: 1000,
  /** The peer broke the framing rules. */
  PROTOCOL_ERROR: 1002,
  /** The peer sent a kind of data this endpoint cannot accept (a text message to MQTT). */
  UNSUPPORTED_DATA: 1003,
  /** A text message or close reason that is not UTF-8. */
  INVALID_PAYLOAD: 1007,
  /** A message larger than this endpoint accepts. */
  MESSAGE_TOO_BIG: 1009,
} as const;

/** Largest payload of a control frame (close, ping, pong) [RFC 6455 §5.5]. */
export const MAX_CONTROL_PAYLOAD_BYTES = 125;

/** Size of a masking key [RFC 6455 §5.3]. */
export const MASK_BYTES = 4;

/** True for the control opcodes (close, ping, pong): the ones with the high bit set [§5.5]. */
export function isControlOpcode(opcode: number): boolean {
  return (opcode & 0x8) !== 0;
}

/**
 * True for a status code that may appear in a close frame on the wire [RFC 6455 §7.4.1,
 * §7.4.2]: 1000–1003 and 1007–1014 (1012–1014 registered with IANA since), and 3000–4999 for
 * libraries and applications. 1004 is reserved; 1005, 1006 and 1015 are only for reporting
 * locally and MUST NOT be sent; the rest of 0–2999 is reserved for the protocol.
 */
export function isValidCloseCode(code: number): boolean {
  return (
    (code >= 1000 && code <= 1014 && code !== 1004 && code !== 1005 && code !== 1006) ||
    (code >= 3000 && code <= 4999)
  );
}

/** Size of the header of a frame carrying `payloadBytes`, masking key included when masked. */
export function frameHeaderBytes(payloadBytes: number, masked: boolean): number {
  const length = payloadBytes < 126 ? 2 : payloadBytes < 0x10000 ? 4 : 10;
  return masked ? length + MASK_BYTES : length;
}

/** How to build one frame; see {@link encodeFrame}. */
export interface FrameOptions {
  /**
   * The 4-byte masking key. A client masks every frame it sends [RFC 6455 §5.3], with a key
   * from a strong source of entropy; a server never masks. Leave it out for an unmasked frame.
   */
  readonly mask?: Uint8Array;
  /** False for every fragment of a message but the last [§5.4]. @default true */
  readonly fin?: boolean;
}

/**
 * Builds one frame holding `payload` (one view, or several written back to back into the one
 * frame, so a batch of writes costs a single copy).
 *
 * @throws RangeError for a control frame with more than 125 payload bytes or unset FIN
 *   [§5.5], or a masking key that is not 4 bytes: both are bugs in the caller.
 */
export function encodeFrame(
  opcode: Opcode,
  payload: Uint8Array | readonly Uint8Array[],
  options: FrameOptions = {},
): Uint8Array {
  const parts = payload instanceof Uint8Array ? [payload] : payload;
  let length = 0;
  for (const part of parts) length += part.byteLength;
  const fin = options.fin ?? true;
  const mask = options.mask;
  if (isControlOpcode(opcode) && (length > MAX_CONTROL_PAYLOAD_BYTES || !fin)) {
    throw new RangeError(
      `a control frame carries at most ${MAX_CONTROL_PAYLOAD_BYTES} bytes and is never fragmented (RFC 6455 §5.5)`,
    );
  }
  if (mask !== undefined && mask.byteLength !== MASK_BYTES) {
    throw new RangeError(`a masking key is ${MASK_BYTES} bytes, not ${mask.byteLength}`);
  }
  const header = frameHeaderBytes(length, mask !== undefined);
  const out = new Uint8Array(header + length);
  const view = new DataView(out.buffer, out.byteOffset, out.byteLength);
  out[0] = (fin ? 0x80 : 0) | opcode;
  const maskBit = mask === undefined ? 0 : 0x80;
  if (length < 126) {
    out[1] = maskBit | length;
  } else if (length < 0x10000) {
    out[1] = maskBit | 126;
    view.setUint16(2, length);
  } else {
    // A 64-bit length whose most significant bit is 0 [§5.2]; an array never nears 2^53.
    out[1] = maskBit | 127;
    view.setUint32(2, Math.floor(length / 0x1_0000_0000));
    view.setUint32(6, length >>> 0);
  }
  let at = header;
  if (mask === undefined) {
    for (const part of parts) {
      out.set(part, at);
      at += part.byteLength;
    }
    return out;
  }
  out.set(mask, header - MASK_BYTES);
  // The key cycles over the whole payload [§5.3], across the parts.
  let k = 0;
  for (const part of parts) {
    for (let i = 0; i < part.byteLength; i++) {
      out[at++] = (part[i] as number) ^ (mask[k] as number);
      k = (k + 1) & 3;
    }
  }
  return out;
}

/**
 * The payload of a close frame: nothing, or a status code and an optional UTF-8 reason
 * [§5.5.1]. A code that may not be sent, or a reason too long for a control frame, is refused.
 *
 * @throws RangeError for an invalid code or a reason over 123 bytes: bugs in the caller.
 */
export function encodeClosePayload(code?: number, reason = ''): Uint8Array {
  if (code === undefined) {
    if (reason !== '') throw new RangeError('a close reason needs a status code (RFC 6455 §5.5.1)');
    return new Uint8Array(0);
  }
  if (!isValidCloseCode(code)) {
    throw new RangeError(`close code ${code} may not be sent (RFC 6455 §7.4)`);
  }
  const text = new TextEncoder().encode(reason);
  if (text.byteLength > MAX_CONTROL_PAYLOAD_BYTES - 2) {
    throw new RangeError(`a close reason is at most ${MAX_CONTROL_PAYLOAD_BYTES - 2} bytes`);
  }
  const out = new Uint8Array(2 + text.byteLength);
  out[0] = code >>> 8;
  out[1] = code & 0xff;
  out.set(text, 2);
  return out;
}
