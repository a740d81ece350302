/**
 * MQTT control packets as plain, immutable-by-convention objects.
 *
 * One discriminated union, {@link Packet}, keyed by `type`. Field names are the same for every
 * protocol version; MQTT 5.0 adds optional `properties`, reason codes and subscription options
 * without renaming anything: a 3.1.1 packet is a valid 5.0 packet object with the 5.0 fields
 * left out. The encoder refuses a 5.0-only field given for 3.1.1 rather than dropping it.
 *
 * Properties (MQTT 5.0 §2.2.2) are plain objects with camelCase names, units in the name
 * (`messageExpiryIntervalSec`), and a key only for a property present on the wire: a packet
 * without properties has no `properties` key at all.
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
  /** MQTT 5.0 only. */
  auth: 15,
} as const;

/** Name of a control packet type. */
export type PacketType = keyof typeof PacketTypeCode;

/**
 * User Properties (identifier 0x26): name/value pairs in wire order, duplicates kept
 * [MQTT-3.3.2-17] [MQTT-3.3.2-18].
 */
export type UserProperties = readonly (readonly [name: string, value: string])[];

/** Properties of a CONNECT (MQTT 5.0 §3.1.2.11). */
export interface ConnectProperties {
  /** 0x11. Seconds the session outlives the connection; 0xFFFFFFFF = never expires. */
  readonly sessionExpiryIntervalSec?: number;
  /** 0x21. QoS 1/2 publishes the client accepts at once, 1..65,535. */
  readonly receiveMaximum?: number;
  /** 0x27. Largest packet the client accepts, in bytes, 1..4,294,967,295. */
  readonly maximumPacketSizeBytes?: number;
  /** 0x22. Highest Topic Alias the client accepts from the server; 0 = none. */
  readonly topicAliasMaximum?: number;
  /** 0x19. Asks the server for Response Information in the CONNACK. */
  readonly requestResponseInformation?: boolean;
  /** 0x17. False: the server may leave Reason Strings and User Properties out. */
  readonly requestProblemInformation?: boolean;
  /** 0x26. */
  readonly userProperties?: UserProperties;
  /** 0x15. Name of the enhanced authentication method. */
  readonly authenticationMethod?: string;
  /** 0x16. Requires `authenticationMethod`. */
  readonly authenticationData?: Uint8Array;
}

/** Properties of the Will message in a CONNECT (MQTT 5.0 §3.1.3.2). */
export interface WillProperties {
  /** 0x18. Seconds the server waits before publishing the Will. */
  readonly willDelayIntervalSec?: number;
  /** 0x01. 0 = unspecified bytes, 1 = UTF-8 encoded character data. */
  readonly payloadFormatIndicator?: 0 | 1;
  /** 0x02. Lifetime of the Will message, in seconds. */
  readonly messageExpiryIntervalSec?: number;
  /** 0x03. */
  readonly contentType?: string;
  /** 0x08. A topic name (no wildcards). */
  readonly responseTopic?: string;
  /** 0x09. */
  readonly correlationData?: Uint8Array;
  /** 0x26. */
  readonly userProperties?: UserProperties;
}

/** Properties of a PUBLISH (MQTT 5.0 §3.3.2.3). */
export interface PublishProperties {
  /** 0x01. 0 = unspecified bytes, 1 = UTF-8 encoded character data. */
  readonly payloadFormatIndicator?: 0 | 1;
  /** 0x02. Lifetime of the message, in seconds. */
  readonly messageExpiryIntervalSec?: number;
  /** 0x23. 1..65,535 [MQTT-3.3.2-8]; with an empty topic, refers to an earlier mapping. */
  readonly topicAlias?: number;
  /** 0x08. A topic name (no wildcards) [MQTT-3.3.2-14]. */
  readonly responseTopic?: string;
  /** 0x09. */
  readonly correlationData?: Uint8Array;
  /** 0x26. */
  readonly userProperties?: UserProperties;
  /**
   * 0x0B, server → client only [MQTT-3.3.4-6]: the identifiers of every matching
   * subscription, each 1..268,435,455.
   */
  readonly subscriptionIdentifiers?: readonly number[];
  /** 0x03. */
  readonly contentType?: string;
}

/** Properties of a CONNACK (MQTT 5.0 §3.2.2.3). */
export interface ConnackProperties {
  /** 0x11. The session expiry the server uses, when it differs from the CONNECT's. */
  readonly sessionExpiryIntervalSec?: number;
  /** 0x21. QoS 1/2 publishes the server accepts at once, 1..65,535 (absent = 65,535). */
  readonly receiveMaximum?: number;
  /** 0x24. Highest QoS the server supports (absent = 2). */
  readonly maximumQos?: 0 | 1;
  /** 0x25. Absent = true. */
  readonly retainAvailable?: boolean;
  /** 0x27. Largest packet the server accepts, in bytes (absent = no limit). */
  readonly maximumPacketSizeBytes?: number;
  /** 0x12. The client id the server assigned to an empty one [MQTT-3.2.2-16]. */
  readonly assignedClientIdentifier?: string;
  /** 0x22. Highest Topic Alias the server accepts (absent = 0, none). */
  readonly topicAliasMaximum?: number;
  /** 0x1F. */
  readonly reasonString?: string;
  /** 0x26. */
  readonly userProperties?: UserProperties;
  /** 0x28. Absent = true. */
  readonly wildcardSubscriptionAvailable?: boolean;
  /** 0x29. Absent = true. */
  readonly subscriptionIdentifiersAvailable?: boolean;
  /** 0x2A. Absent = true. */
  readonly sharedSubscriptionAvailable?: boolean;
  /** 0x13. Keep-alive the client must use instead of its own [MQTT-3.2.2-21]. */
  readonly serverKeepAliveSec?: number;
  /** 0x1A. Basis of response topics, when the CONNECT asked for it. */
  readonly responseInformation?: string;
  /** 0x1C. Another server to use (with reason codes 0x9C / 0x9D). */
  readonly serverReference?: string;
  /** 0x15. */
  readonly authenticationMethod?: string;
  /** 0x16. Requires `authenticationMethod`. */
  readonly authenticationData?: Uint8Array;
}

/** Properties of PUBACK, PUBREC, PUBREL, PUBCOMP, SUBACK and UNSUBACK (MQTT 5.0 §3.4.2.2). */
export interface AckProperties {
  /** 0x1F. Human-readable diagnostics; not to be parsed. */
  readonly reasonString?: string;
  /** 0x26. */
  readonly userProperties?: UserProperties;
}

/** Properties of a SUBSCRIBE (MQTT 5.0 §3.8.2.1). */
export interface SubscribeProperties {
  /** 0x0B. 1..268,435,455, at most once. */
  readonly subscriptionIdentifier?: number;
  /** 0x26. */
  readonly userProperties?: UserProperties;
}

/** Properties of an UNSUBSCRIBE (MQTT 5.0 §3.10.2.1). */
export interface UnsubscribeProperties {
  /** 0x26. */
  readonly userProperties?: UserProperties;
}

/** Properties of a DISCONNECT (MQTT 5.0 §3.14.2.2). */
export interface DisconnectProperties {
  /** 0x11. Client → server only [MQTT-3.14.2-2]. */
  readonly sessionExpiryIntervalSec?: number;
  /** 0x1F. */
  readonly reasonString?: string;
  /** 0x26. */
  readonly userProperties?: UserProperties;
  /** 0x1C. Another server to use (with reason codes 0x9C / 0x9D). */
  readonly serverReference?: string;
}

/** Properties of an AUTH (MQTT 5.0 §3.15.2.2). */
export interface AuthProperties {
  /** 0x15. */
  readonly authenticationMethod?: string;
  /** 0x16. Requires `authenticationMethod`. */
  readonly authenticationData?: Uint8Array;
  /** 0x1F. */
  readonly reasonString?: string;
  /** 0x26. */
  readonly userProperties?: UserProperties;
}

/** The Will message of a CONNECT. */
export interface Will {
  readonly topic: string;
  readonly payload: Uint8Array;
  readonly qos: QoS;
  readonly retain: boolean;
  /** MQTT 5.0 only. */
  readonly properties?: WillProperties;
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
  /** MQTT 5.0 only. */
  readonly properties?: ConnectProperties;
}

/** CONNACK (server → client). */
export interface ConnackPacket {
  readonly type: 'connack';
  readonly sessionPresent: boolean;
  /**
   * 0 = accepted. 3.1.1: 1..5 = refused ({@link ConnackReturnCode}). 5.0: the Connect Reason
   * Code, ≥ 0x80 = refused ({@link ReasonCode}); a 3.1.1 server refusing a 5.0 CONNECT answers
   * with a 3.1.1 CONNACK, decoded with its 1..5 code as is.
   */
  readonly returnCode: number;
  /** MQTT 5.0 only. */
  readonly properties?: ConnackProperties;
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
  /**
   * MQTT 5.0 only. With a `topicAlias` the topic may be empty: the receiver resolves it from
   * the alias (the codec does not keep alias mappings).
   */
  readonly properties?: PublishProperties;
}

/**
 * PUBACK, PUBREC, PUBREL and PUBCOMP carry only a packet id in 3.1.1 (UNSUBACK too: see
 * {@link UnsubackPacket}); in 5.0 they add a reason code and properties.
 */
export interface AckPacket<T extends 'puback' | 'pubrec' | 'pubrel' | 'pubcomp' | 'unsuback'> {
  readonly type: T;
  readonly packetId: number;
  /**
   * MQTT 5.0 only (PUBACK, PUBREC, PUBREL, PUBCOMP): the reason code, 0 = success, ≥ 0x80 =
   * failure. Always set by the 5.0 decoder (0 for the short form without one).
   */
  readonly reasonCode?: number;
  /** MQTT 5.0 only. */
  readonly properties?: AckProperties;
}

export type PubackPacket = AckPacket<'puback'>;
export type PubrecPacket = AckPacket<'pubrec'>;
export type PubrelPacket = AckPacket<'pubrel'>;
export type PubcompPacket = AckPacket<'pubcomp'>;

/** UNSUBACK (server → client). */
export interface UnsubackPacket {
  readonly type: 'unsuback';
  readonly packetId: number;
  /**
   * MQTT 5.0 only: one reason code per topic filter of the UNSUBSCRIBE, in order. Always set
   * by the 5.0 decoder.
   */
  readonly reasonCodes?: readonly number[];
  /** MQTT 5.0 only. */
  readonly properties?: AckProperties;
}

/** Retain Handling of a 5.0 subscription: when the server sends retained messages. */
export type RetainHandling = 0 | 1 | 2;

/**
 * One topic filter of a SUBSCRIBE with its requested QoS and, in 5.0, its subscription
 * options (§3.8.3.1). The 5.0 decoder always sets the three options.
 */
export interface Subscription {
  readonly topic: string;
  /** Maximum QoS. */
  readonly qos: QoS;
  /** MQTT 5.0: do not send this client its own publications [MQTT-3.8.3-3]. Default false. */
  readonly noLocal?: boolean;
  /** MQTT 5.0: keep the RETAIN flag as published. Default false. */
  readonly retainAsPublished?: boolean;
  /**
   * MQTT 5.0: 0 = send retained messages on subscribe, 1 = only if the subscription is new,
   * 2 = never. Default 0.
   */
  readonly retainHandling?: RetainHandling;
}

/** SUBSCRIBE (client → server). At least one subscription [MQTT-3.8.3-3]. */
export interface SubscribePacket {
  readonly type: 'subscribe';
  readonly packetId: number;
  readonly subscriptions: readonly Subscription[];
  /** MQTT 5.0 only. */
  readonly properties?: SubscribeProperties;
}

/** SUBACK return code for a refused subscription. */
export const SUBACK_FAILURE = 0x80;

/**
 * SUBACK (server → client). One return code per filter: 0, 1, 2 (granted QoS) or 0x80; in 5.0
 * the Subscribe Reason Codes (0..2 granted, ≥ 0x80 refused, see {@link ReasonCode}).
 */
export interface SubackPacket {
  readonly type: 'suback';
  readonly packetId: number;
  readonly returnCodes: readonly number[];
  /** MQTT 5.0 only. */
  readonly properties?: AckProperties;
}

/** UNSUBSCRIBE (client → server). At least one filter [MQTT-3.10.3-2]. */
export interface UnsubscribePacket {
  readonly type: 'unsubscribe';
  readonly packetId: number;
  readonly topics: readonly string[];
  /** MQTT 5.0 only. */
  readonly properties?: UnsubscribeProperties;
}

export interface PingreqPacket {
  readonly type: 'pingreq';
}
export interface PingrespPacket {
  readonly type: 'pingresp';
}
export interface DisconnectPacket {
  readonly type: 'disconnect';
  /**
   * MQTT 5.0 only: the Disconnect Reason Code, 0 = normal disconnection. Always set by the
   * 5.0 decoder (0 for the empty form).
   */
  readonly reasonCode?: number;
  /** MQTT 5.0 only. */
  readonly properties?: DisconnectProperties;
}

/** AUTH (both directions, MQTT 5.0 only): a step of enhanced authentication. */
export interface AuthPacket {
  readonly type: 'auth';
  /** 0x00 success, 0x18 continue authentication, 0x19 re-authenticate. */
  readonly reasonCode: number;
  readonly properties?: AuthProperties;
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
  | DisconnectPacket
  | AuthPacket;

/** Properties of any packet: the union of the per-packet property interfaces. */
export type AnyProperties = ConnectProperties &
  WillProperties &
  PublishProperties &
  ConnackProperties &
  AckProperties &
  SubscribeProperties &
  UnsubscribeProperties &
  DisconnectProperties &
  AuthProperties;

/** CONNACK return codes of MQTT 3.1.1 (§3.2.2.3). */
export const ConnackReturnCode = {
  ACCEPTED: 0,
  UNACCEPTABLE_PROTOCOL_VERSION: 1,
  IDENTIFIER_REJECTED: 2,
  SERVER_UNAVAILABLE: 3,
  BAD_USERNAME_OR_PASSWORD: 4,
  NOT_AUTHORIZED: 5,
} as const;
