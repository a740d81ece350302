/**
 * The incoming flows of a session: PUBLISH from the server handed to the application, the
 * order in which their acknowledgements go out, QoS 2 ids held until PUBREL, and MQTT 5.0
 * Receive Maximum enforcement.
 *
 * @module
 */

import { ProtocolError } from '../errors.js';
import type { PublishPacket, PubrelPacket } from '../packet/types.js';
import { IncomingAliases } from './topic-aliases.js';
import type { InboundAck, SessionContext } from './types.js';

/** How many completed incoming QoS 2 messages are remembered to recognise late redeliveries. */
const RECENTLY_RELEASED_MAX = 4096;
/** How far the memory of released messages may grow past its bound before the oldest go. */
const RECENTLY_RELEASED_SLACK = 512;

/** Topic, length and FNV-1a hash of the payload: enough to recognise a redelivery. */
function fingerprintOf(packet: PublishPacket): string {
  let hash = 0x811c9dc5;
  const payload = packet.payload;
  for (let i = 0; i < payload.length; i++) {
    hash ^= payload[i]!;
    hash = Math.imul(hash, 0x01000193);
  }
  return `${packet.topic}\u0000${payload.length}:${hash >>> 0}`;
}

/** Incoming PUBLISH flows of one session. */
export class Incoming {
  readonly #ctx: SessionContext;
  /**
   * [MQTT-4.3.3-2] Incoming QoS 2 packet ids received, PUBREL not yet, with a fingerprint of
   * the message (empty for ids restored from a store).
   */
  get #incomingQos2(): Map<number, string> {
    this.#incomingQos2Map ??= new Map();
    return this.#incomingQos2Map;
  }
  // The three maps below are created on first use: a connection that never receives QoS 2
  // does without them (an empty Map costs ~150 bytes; gateways hold thousands of clients).
  #incomingQos2Map: Map<number, string> | undefined;
  /** Fingerprints of recently completed incoming QoS 2 messages, by packet id; bounded. */
  get #recentlyReleased(): Map<number, string> {
    this.#recentlyReleasedMap ??= new Map();
    return this.#recentlyReleasedMap;
  }
  #recentlyReleasedMap: Map<number, string> | undefined;
  /**
   * Acknowledgements of incoming QoS 1/2 messages in the order the PUBLISH packets arrived:
   * [MQTT-4.6.0-2] PUBACK and [MQTT-4.6.0-3] PUBREC go out in that order, so a message the
   * application has taken waits behind an earlier one it has not.
   */
  #acks: InboundAck[] = [];
  #acksHead = 0;
  /** Incoming QoS 2 acknowledgements not yet sent, by packet id (to recognise a DUP resend). */
  get #pendingQos2(): Map<number, InboundAck> {
    this.#pendingQos2Map ??= new Map();
    return this.#pendingQos2Map;
  }
  #pendingQos2Map: Map<number, InboundAck> | undefined;
  /**
   * Incoming QoS 1 messages of this connection whose PUBACK has not gone out: with the QoS 2
   * ids awaiting PUBREL, what the server has in flight towards us (MQTT 5.0 Receive Maximum).
   */
  #inboundQos1 = 0;
  /** MQTT 5.0: the server's Topic Aliases of this connection, within the maximum we announced. */
  readonly #aliases: IncomingAliases;

  /** @param ctx - the composing session's shared state. */
  constructor(ctx: SessionContext) {
    this.#ctx = ctx;
    const announced =
      ctx.options.protocolVersion === 5
        ? (ctx.options.connectProperties?.topicAliasMaximum ?? 0)
        : 0;
    this.#aliases = new IncomingAliases(announced);
  }

  /** MQTT 5.0: topic aliases the server has mapped on this connection. */
  get aliasCount(): number {
    return this.#aliases.size;
  }

  /** Loads the incoming QoS 2 ids a store kept (their fingerprints are unknown). */
  restore(incomingQos2: Iterable<number>): void {
    for (const id of incomingQos2) this.#incomingQos2.set(id, '');
  }

  /** Incoming QoS 1/2 messages whose acknowledgement waits for the application. */
  get unacknowledgedCount(): number {
    return this.#acks.length - this.#acksHead;
  }

  /**
   * The broker has no session for us (CONNACK session present 0): it will send no PUBREL
   * for QoS 2 messages it had sent us, and no acknowledgement is owed any more.
   */
  sessionLost(): void {
    const incomingQos2 = this.#incomingQos2Map;
    if (incomingQos2 !== undefined) {
      for (const id of incomingQos2.keys()) this.#ctx.store.deleteIncomingQos2(id);
      incomingQos2.clear();
    }
    // Their acknowledgements are owed to nobody now; the messages stay with the application.
    this.#keepAcks(() => false);
  }

  /** The connection is gone. */
  connectionLost(): void {
    this.#inboundQos1 = 0;
    // [MQTT-3.3.2-7] The server's aliases end with the connection.
    this.#aliases.reset();
    // A QoS 1 acknowledgement belongs to the connection the PUBLISH came on: the broker sends
    // the message again on the next one (with a session) and that copy is acknowledged. An
    // untaken QoS 2 message keeps its place: the broker resends it with DUP and the same id,
    // which is not delivered twice, and PUBREC goes out once the application took the first.
    this.#keepAcks((ack) => ack.qos === 2 && !ack.taken);
  }

  /**
   * The application has taken an incoming message (or nothing held it): its PUBACK / PUBREC
   * may go out, after those of every message received before it. Idempotent.
   */
  acknowledge(ack: InboundAck, now: number): void {
    if (ack.taken) return;
    ack.taken = true;
    const acks = this.#acks;
    while (this.#acksHead < acks.length && acks[this.#acksHead]!.taken) {
      const head = acks[this.#acksHead]!;
      acks[this.#acksHead] = undefined as unknown as InboundAck;
      this.#acksHead++;
      if (head.qos === 2) this.#pendingQos2.delete(head.packetId);
      if (head.live && head.qos === 1) this.#inboundQos1--;
      if (head.live && this.#ctx.online) {
        this.#ctx.send(
          { type: head.qos === 1 ? 'puback' : 'pubrec', packetId: head.packetId },
          now,
        );
      }
    }
    if (this.#acksHead === acks.length) {
      this.#acks = [];
      this.#acksHead = 0;
    } else if (this.#acksHead > 1024 && this.#acksHead * 2 > acks.length) {
      this.#acks = acks.slice(this.#acksHead);
      this.#acksHead = 0;
    }
  }

  /** PUBREL from the server. */
  receivePubrel(packet: PubrelPacket, now: number): void {
    // [MQTT-4.3.3-2] Release the id; answer PUBCOMP even for an id we do not know, so a
    // broker that resends PUBREL after our restart can complete its flow.
    const fingerprint = this.#incomingQos2.get(packet.packetId);
    if (fingerprint !== undefined) {
      this.#incomingQos2.delete(packet.packetId);
      this.#ctx.store.deleteIncomingQos2(packet.packetId);
      this.#remember(packet.packetId, fingerprint);
    }
    this.#ctx.send({ type: 'pubcomp', packetId: packet.packetId }, now);
  }

  /** PUBLISH from the server. */
  receivePublish(received: PublishPacket, now: number): void {
    const ctx = this.#ctx;
    let packet = received;
    if (received.properties?.topicAlias !== undefined) {
      const resolved = this.#resolveAlias(received);
      if (resolved === undefined) return;
      packet = resolved;
    }
    if (packet.qos > 0 && this.#overReceiveMaximum(packet)) return;
    switch (packet.qos) {
      case 0:
        ctx.host.deliver(packet, undefined);
        return;
      case 1:
        // Acknowledged once the application has taken the message (flow control).
        this.#inboundQos1++;
        ctx.host.deliver(packet, this.#expectAck(packet.packetId!, 1));
        return;
      case 2: {
        const id = packet.packetId!;
        // [MQTT-4.3.3-2] Method B: deliver once, keep the id until PUBREL; a redelivery
        // with DUP before PUBREL is acknowledged again but not delivered twice.
        // DUP=0 with an id we still hold: the broker reuses an id only after our PUBCOMP,
        // so our record is stale (its delete had not reached the disk before a crash).
        if (this.#incomingQos2.has(id) && packet.dup) {
          const pending = this.#pendingQos2.get(id);
          // Still with the application: PUBREC goes out on this connection once it is taken.
          if (pending !== undefined) pending.live = true;
          else this.acknowledge(this.#expectAck(id, 2), now);
          return;
        }
        const fingerprint = fingerprintOf(packet);
        this.#incomingQos2.set(id, fingerprint);
        ctx.store.addIncomingQos2(id);
        // A DUP redelivery of a message whose flow we already completed: some brokers
        // (Mosquitto restored from its persistence file) resend the PUBLISH after PUBREL,
        // against [MQTT-4.3.3-1]. DUP=1 says "an earlier attempt"; same id, topic and
        // payload as the message just released means it is that attempt: acknowledge,
        // do not deliver twice.
        if (packet.dup && this.#recentlyReleased.get(id) === fingerprint) {
          this.acknowledge(this.#expectAck(id, 2), now);
          return;
        }
        const ack = this.#expectAck(id, 2);
        this.#pendingQos2.set(id, ack);
        ctx.host.deliver(packet, ack);
      }
    }
  }

  /**
   * MQTT 5.0 [MQTT-3.3.4-9]: a server may not have more QoS 1/2 messages unacknowledged
   * towards us than the Receive Maximum we announced. One more is answered with DISCONNECT
   * 0x93 and the connection dropped with a typed error: it would grow what we hold without
   * bound. A QoS 2 redelivery of an id we hold is not a new one.
   */
  #overReceiveMaximum(packet: PublishPacket): boolean {
    const ctx = this.#ctx;
    if (ctx.options.protocolVersion !== 5) return false;
    if (packet.qos === 2 && this.#incomingQos2.has(packet.packetId!)) return false;
    const receiveMaximum = ctx.options.connectProperties?.receiveMaximum ?? 65535;
    if (this.#inboundQos1 + this.#incomingQos2.size < receiveMaximum) return false;
    ctx.host.send({ type: 'disconnect', reasonCode: 0x93 });
    ctx.host.drop(
      new ProtocolError(
        `${ctx.server} sent more than our Receive Maximum of ${receiveMaximum} unacknowledged QoS 1/2 messages (DISCONNECT 0x93 Receive Maximum exceeded)`,
        'MQTT-3.3.4-9',
      ),
    );
    return true;
  }

  /**
   * MQTT 5.0: the PUBLISH with its Topic Alias resolved to the topic and removed from the
   * properties (the application sees full topics only), or undefined after refusing it: an
   * alias over the maximum we announced [MQTT-3.3.2-10] (any alias when we announced none),
   * or an empty topic with an alias not mapped on this connection [MQTT-3.3.2-12], is
   * answered with DISCONNECT 0x94 (Topic Alias invalid) and a {@link ProtocolError}: a
   * message whose topic is unknown must not reach the application.
   */
  #resolveAlias(packet: PublishPacket): PublishPacket | undefined {
    const ctx = this.#ctx;
    const { topicAlias, ...rest } = packet.properties!;
    const alias = topicAlias!;
    const resolved = this.#aliases.resolve(packet.topic, alias);
    if ('problem' in resolved) {
      const max = this.#aliases.maximum;
      const why =
        resolved.problem === 'over-maximum'
          ? alias === 0
            ? 'Topic Alias 0, which is never valid'
            : `Topic Alias ${alias}, over our Topic Alias Maximum of ${max}`
          : `an empty topic with Topic Alias ${alias}, which it has not mapped on this connection`;
      ctx.host.send({ type: 'disconnect', reasonCode: 0x94 });
      ctx.host.drop(
        new ProtocolError(
          `${ctx.server} sent ${why} (DISCONNECT 0x94 Topic Alias invalid)`,
          resolved.problem === 'unknown'
            ? 'MQTT-3.3.2-12'
            : alias === 0
              ? 'MQTT-3.3.2-8'
              : 'MQTT-3.3.2-10',
        ),
      );
      return undefined;
    }
    const { properties: _, ...bare } = packet;
    return Object.keys(rest).length === 0
      ? { ...bare, topic: resolved.topic }
      : { ...bare, topic: resolved.topic, properties: rest };
  }

  #expectAck(packetId: number, qos: 1 | 2): InboundAck {
    const ack: InboundAck = { packetId, qos, taken: false, live: true };
    this.#acks.push(ack);
    return ack;
  }

  /** Keeps the unsent acknowledgements that `keep` accepts, no longer owed on any link. */
  #keepAcks(keep: (ack: InboundAck) => boolean): void {
    const kept: InboundAck[] = [];
    for (let i = this.#acksHead; i < this.#acks.length; i++) {
      const ack = this.#acks[i]!;
      ack.live = false;
      if (keep(ack)) kept.push(ack);
      // Dropped from the order: taking it later sends nothing.
      else ack.taken = true;
    }
    this.#acks = kept;
    this.#acksHead = 0;
    this.#pendingQos2Map?.clear();
    for (const ack of kept) this.#pendingQos2.set(ack.packetId, ack);
  }

  #remember(id: number, fingerprint: string): void {
    if (fingerprint === '') return;
    const recent = this.#recentlyReleased;
    recent.delete(id);
    recent.set(id, fingerprint);
    // Forget the oldest in batches: a Map keeps deleted entries as holes until it rehashes,
    // and every fresh iterator walks over the holes at its front, so evicting one entry per
    // release cost a walk over thousands of holes each time.
    if (recent.size > RECENTLY_RELEASED_MAX + RECENTLY_RELEASED_SLACK) {
      let excess = recent.size - RECENTLY_RELEASED_MAX;
      for (const oldest of recent.keys()) {
        recent.delete(oldest);
        if (--excess === 0) break;
      }
    }
  }
}
