/**
 * Debug lines for packets in the words of `mosquitto_pub -d` / `mosquitto_sub -d`, e.g.
 * `Client (null) sending PUBLISH (d0, q1, r0, m1, 'a/b', ... (2 bytes))`, and the `--trace`
 * lines: the same, followed by every field of the decoded packet.
 *
 * @module
 */

import type { Packet } from 'courier-mqtt';

/** One debug line for a packet sent (`'sending'`) or received (`'received'`). */
export function describePacket(
  clientId: string,
  direction: 'sending' | 'received',
  packet: Packet,
): string {
  const who = `Client ${clientId === '' ? '(null)' : clientId} ${direction}`;
  switch (packet.type) {
    case 'connack':
      return `${who} CONNACK (${packet.returnCode})`;
    case 'publish':
      return `${who} PUBLISH (d${packet.dup ? 1 : 0}, q${packet.qos}, r${packet.retain ? 1 : 0}, m${packet.packetId ?? 0}, '${packet.topic}', ... (${packet.payload.length} bytes))`;
    case 'puback':
    case 'pubrec':
    case 'pubrel':
    case 'pubcomp':
      return `${who} ${packet.type.toUpperCase()} (m${packet.packetId})`;
    case 'subscribe':
      return packet.subscriptions
        .map(
          (s) =>
            `${who} SUBSCRIBE (Mid: ${packet.packetId}, Topic: ${s.topic}, QoS: ${s.qos}, Options: 0x00)`,
        )
        .join('\n');
    default:
      return `${who} ${packet.type.toUpperCase()}`;
  }
}

/** Bytes shown of a binary field (payload, password, authentication data) in a trace line. */
export const TRACE_BYTES_SHOWN = 64;

const utf8 = new TextDecoder('utf-8', { fatal: true });

/** A byte field as text when it is printable UTF-8, else hex; cut at {@link TRACE_BYTES_SHOWN}. */
function showBytes(bytes: Uint8Array): string {
  const shown = bytes.subarray(0, TRACE_BYTES_SHOWN);
  const more = bytes.length > TRACE_BYTES_SHOWN ? `... (${bytes.length} bytes)` : '';
  try {
    const text = utf8.decode(shown);
    // biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are what is refused
    if (!/[\u0000-\u0008\u000e-\u001f\u007f]/.test(text)) return `${text}${more}`;
  } catch {
    // Not UTF-8 (or cut inside a character): hex below.
  }
  return `0x${Buffer.from(shown).toString('hex')}${more}`;
}

/**
 * One `--trace` line: {@link describePacket}'s words, then the decoded fields as JSON (byte
 * fields as text or hex). The packet comes from the library's `trace` hook, which has already
 * masked the secrets (CONNECT password, MQTT 5.0 authentication data) as `***`.
 */
export function tracePacket(clientId: string, direction: 'in' | 'out', packet: Packet): string {
  const head = describePacket(clientId, direction === 'out' ? 'sending' : 'received', packet)
    .split('\n')[0]!
    .replace(/ \(Mid: .*$/, '');
  const { type: _type, ...fields } = packet;
  // The holder's own value, not `value`: a Buffer's toJSON() has already run on that.
  const json = JSON.stringify(fields, function (this: Record<string, unknown>, key, value) {
    const raw = this[key];
    return raw instanceof Uint8Array ? showBytes(raw) : (value as unknown);
  });
  return json === '{}' ? head : `${head} ${json}`;
}
