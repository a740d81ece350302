/**
 * Secrets kept out of what the client shows: packet traces, `packetsend` / `packetreceive`
 * listeners, logs. The secrets are the CONNECT password and the MQTT 5.0 Authentication Data
 * of a CONNECT, CONNACK or AUTH (a SCRAM or Kerberos exchange may carry proofs).
 *
 * @module
 */
import type { Packet } from '../packet/index.js';

/** What replaces a secret in a traced packet. */
export const MASK = '***';
const MASKED_BYTES = new TextEncoder().encode(MASK);

/** Replaces (or, returning undefined, removes) one secret. */
type Replace = (secret: Uint8Array) => Uint8Array | undefined;

function redact(packet: Packet, replace: Replace): Packet {
  switch (packet.type) {
    case 'connect': {
      const { password, properties, ...rest } = packet;
      const data = properties?.authenticationData;
      if (password === undefined && data === undefined) return packet;
      const pw = password === undefined ? undefined : replace(password);
      let props = properties;
      if (properties !== undefined && data !== undefined) {
        const { authenticationData: _secret, ...others } = properties;
        const masked = replace(data);
        props = masked === undefined ? others : { ...others, authenticationData: masked };
      }
      return {
        ...rest,
        ...(pw === undefined ? {} : { password: pw }),
        ...(props === undefined ? {} : { properties: props }),
      };
    }
    case 'connack':
    case 'auth': {
      const data = packet.properties?.authenticationData;
      if (data === undefined) return packet;
      const { authenticationData: _secret, ...others } = packet.properties!;
      const masked = replace(data);
      return {
        ...packet,
        properties: masked === undefined ? others : { ...others, authenticationData: masked },
      } as Packet;
    }
    default:
      return packet;
  }
}

/**
 * The packet with its secrets masked, for a trace or a log: each becomes the three bytes
 * `***`, so a trace shows it was there. Other packets are returned as they are (no copy).
 */
export function redactPacket(packet: Packet): Packet {
  return redact(packet, () => MASKED_BYTES);
}

/**
 * The packet with its secrets taken out, for `packetsend` / `packetreceive` listeners
 * (replaced by nothing: not even their length is shown).
 */
export function withoutSecrets(packet: Packet): Packet {
  return redact(packet, () => undefined);
}
