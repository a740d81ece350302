/**
 * The MQTT packet codec: pure, no I/O. `encode(packet)` → bytes, and an incremental
 * `Parser` for bytes → packets.
 *
 * @module
 */
export { encode, encodePublish, MAX_REMAINING_LENGTH } from './encode.js';
export { decode, Parser, type ParserOptions } from './parser.js';
export * from './types.js';
