/**
 * Debug lines for packets in the words of `mosquitto_pub -d` / `mosquitto_sub -d`, e.g.
 * `Client (null) sending PUBLISH (d0, q1, r0, m1, 'a/b', ... (2 bytes))`.
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
