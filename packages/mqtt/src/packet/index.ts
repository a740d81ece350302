/**
 * The MQTT packet codec (3.1, 3.1.1 and 5.0): pure, no I/O. `encode(packet, version)` →
 * bytes, and an incremental `Parser` for bytes → packets.
 *
 * @module
 */
export { encode, encodePublish, MAX_REMAINING_LENGTH } from './encode.js';
export { decode, Parser, type ParserOptions } from './parser.js';
export { type PropertyContext, propertyTable, WILL_CONTEXT } from './properties.js';
export {
  isReasonCodeAllowed,
  REASON_CODE_RULES,
  REASON_CODES,
  ReasonCode,
  type ReasonCodePacket,
  reasonCodeName,
} from './reason-codes.js';
export * from './types.js';
export { isWellFormedUtf8 } from './utf8.js';
