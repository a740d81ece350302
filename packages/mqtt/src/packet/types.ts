/**
 * MQTT control packets as plain, immutable-by-convention objects.
 *
 * One discriminated union, {@link Packet}, keyed by `type`. Field names are the same for every
 * protocol version; MQTT 5.0 adds optional `properties` and reason codes without renaming
 * anything here.
 *
 * @module
 */

/** Protocol level on the wire: 3 = MQTT 3.1 (`MQIsdp`), 4 = MQTT 3.1.1, 5 = MQTT 5.0. */
export type ProtocolVersion = 3 | 4 | 5;

/** Quality of service. */
export type QoS = 0 | 1 | 2;

/** Control packet type numbers (first nibble of the fixed header). */
export const PacketTypeCode = {
  connect: 1,
  connack: 2,
  publish: 3,
  puback: 4,
  pubrec: 5,
  pubrel: 6,
  pubcomp: 7,
  subscribe: 8,
  suback: 9,
  unsubscribe: 10,
  unsuback: 11,
  pingreq: 12,
  pingresp: 13,
  disconnect: 14,
} as const;

/** Name of a control packet type. */
export type PacketType = keyof typeof PacketTypeCode;

/** The Will message of a CONNECT. */
export interface Will {
  readonly topic: string;
  readonly payload: Uint8Array;
  readonly qos: QoS;
  readonly retain: boolean;
}

/** CONNECT (client → server). */
export interface ConnectPacket {
  readonly type: 'connect';
  /** 3 (MQTT 3.1, protocol name `MQIsdp`), 4 (MQTT 3.1.1) or 5. */
  readonly protocolVersion: ProtocolVersion;
  readonly clientId: string;
  /** Clean Session (3.1.1) / Clean Start (5.0). */
  readonly clean: boolean;
  /** Keep-alive in seconds, 0 to 65,535; 0 turns keep-alive off. */
  readonly keepaliveSec: number;
  readonly username?: string;
  /** Binary data, not necessarily UTF-8 [MQTT-3.1.3.5]. */
  readonly password?: Uint8Array;
  readonly will?: Will;
}

/** CONNACK (server → client). */
export interface ConnackPacket {
  readonly type: 'connack';
  readonly sessionPresent: boolean;
  /** 0 = accepted; 1..5 = refused (3.1.1 return codes). */
  readonly returnCode: number;
}

/** PUBLISH (both directions). `packetId` is present if and only if `qos` > 0. */
export interface PublishPacket {
  readonly type: 'publish';
  readonly topic: string;
  readonly payload: Uint8Array;
  readonly qos: QoS;
  readonly retain: boolean;
  readonly dup: boolean;
  readonly packetId?: number;
}

/** PUBACK, PUBREC, PUBREL, PUBCOMP and UNSUBACK carry only a packet id in 3.1.1. */
export interface AckPacket<T extends 'puback' | 'pubrec' | 'pubrel' | 'pubcomp' | 'unsuback'> {
  readonly type: T;
  readonly packetId: number;
}

export type PubackPacket = AckPacket<'puback'>;
export type PubrecPacket = AckPacket<'pubrec'>;
export type PubrelPacket = AckPacket<'pubrel'>;
export type PubcompPacket = AckPacket<'pubcomp'>;
export type UnsubackPacket = AckPacket<'unsuback'>;

/** One topic filter of a SUBSCRIBE with its requested QoS. */
export interface Subscription {
  readonly topic: string;
  readonly qos: QoS;
}

/** SUBSCRIBE (client → server). At least one subscription [MQTT-3.8.3-3]. */
export interface SubscribePacket {
  readonly type: 'subscribe';
  readonly packetId: number;
  readonly subscriptions: readonly Subscription[];
}

/** SUBACK return code for a refused subscription. */
export const SUBACK_FAILURE = 0x80;

/** SUBACK (server → client). One return code per filter: 0, 1, 2 (granted QoS) or 0x80. */
export interface SubackPacket {
  readonly type: 'suback';
  readonly packetId: number;
  readonly returnCodes: readonly number[];
}

/** UNSUBSCRIBE (client → server). At least one filter [MQTT-3.10.3-2]. */
export interface UnsubscribePacket {
  readonly type: 'unsubscribe';
  readonly packetId: number;
  readonly topics: readonly string[];
}

export interface PingreqPacket {
  readonly type: 'pingreq';
}
export interface PingrespPacket {
  readonly type: 'pingresp';
}
export interface DisconnectPacket {
  readonly type: 'disconnect';
}

/** Every MQTT control packet. */
export type Packet =
  | ConnectPacket
  | ConnackPacket
  | PublishPacket
  | PubackPacket
  | PubrecPacket
  | PubrelPacket
  | PubcompPacket
  | SubscribePacket
  | SubackPacket
  | UnsubscribePacket
  | UnsubackPacket
  | PingreqPacket
  | PingrespPacket
  | DisconnectPacket;

/** CONNACK return codes of MQTT 3.1.1 (§3.2.2.3). */
export const ConnackReturnCode = {
  ACCEPTED: 0,
  UNACCEPTABLE_PROTOCOL_VERSION: 1,
  IDENTIFIER_REJECTED: 2,
  SERVER_UNAVAILABLE: 3,
  BAD_USERNAME_OR_PASSWORD: 4,
  NOT_AUTHORIZED: 5,
} as const;
