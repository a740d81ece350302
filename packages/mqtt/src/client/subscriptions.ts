/**
 * The client's subscriptions: which {@link SubscriptionImpl} listens on which filter
 * (reference counted, so a filter is unsubscribed only when its last listener goes), the
 * dispatch of each received message to them, and the flow control that ties a slow reader
 * to the connection.
 *
 * Flow control: a QoS 1/2 message's PUBACK / PUBREC waits until every subscription it went
 * to has let it go; while any subscription's buffer is at its high-water mark the connection
 * is not read, so TCP back-pressure slows the broker instead of a buffer growing or a
 * message being dropped.
 *
 * @module
 */

import { MessageDroppedError, type MqttError } from '../errors.js';
import type { PublishPacket, QoS } from '../packet/types.js';
import type { InboundAck, Session } from '../session/session.js';
import { TopicTrie } from '../topic/index.js';
import type { ByteStream } from '../transport/types.js';
import { type AckToken, type Message, SubscriptionImpl } from './subscription.js';

const now = (): number => performance.now();

/** What the subscriptions need from the client. */
export interface SubscriptionsHost {
  readonly session: Session;
  /** The messages a reader may fall behind by (`subscriptionBufferSize`). */
  readonly bufferSize: number;
  /** The current connection's stream, paused and resumed by flow control. */
  stream(): ByteStream | undefined;
  /** True once the client ended: nothing is sent any more. */
  ended(): boolean;
  /** True while a `message` listener is attached. */
  listening(): boolean;
  /** Emits the `message` event. */
  emitMessage(message: Message): void;
  /** Reports a received QoS 0 message a full subscription could not take. */
  dropped(topic: string, qos: QoS, error: MqttError): void;
}

/** The subscriptions of one client. */
export class Subscriptions {
  readonly #host: SubscriptionsHost;
  readonly #trie = new TopicTrie<SubscriptionImpl>();
  /** Filter → the subscriptions listening on it. */
  readonly #filterRefs = new Map<string, Set<SubscriptionImpl>>();
  /** Subscriptions at their high-water mark: while any is, the connection is not read. */
  readonly #full = new Set<SubscriptionImpl>();
  #readPaused = false;

  constructor(host: SubscriptionsHost) {
    this.#host = host;
  }

  /** True while reading the connection is paused because a reader is behind. */
  get readPaused(): boolean {
    return this.#readPaused;
  }

  /**
   * A new subscription, listening on its filters at once: retained messages may follow the
   * SUBACK immediately.
   */
  create(filters: readonly string[], manual: boolean): SubscriptionImpl {
    const subscription = new SubscriptionImpl(
      [...filters],
      this.#host.bufferSize,
      manual,
      this.#subscriptionHost,
    );
    for (const filter of filters) this.#listen(filter, subscription);
    return subscription;
  }

  /** Stops one subscription listening on one filter (e.g. the broker refused it). */
  unlisten(topic: string, subscription: SubscriptionImpl): void {
    this.#trie.remove(topic, subscription);
    const refs = this.#filterRefs.get(topic);
    refs?.delete(subscription);
    if (refs?.size === 0) this.#filterRefs.delete(topic);
  }

  /** `client.unsubscribe`: every subscription forgets the filters; those left with none end. */
  forget(topics: readonly string[]): void {
    for (const topic of topics) {
      for (const subscription of [...(this.#filterRefs.get(topic) ?? [])]) {
        this.unlisten(topic, subscription);
        subscription.dropFilter(topic);
      }
    }
  }

  /**
   * Ends a subscription, letting go of what it buffered or held; unsubscribes the filters no
   * other subscription uses.
   */
  async unsubscribeOf(subscription: SubscriptionImpl): Promise<void> {
    const orphaned: string[] = [];
    for (const topic of subscription.filters) {
      if (!this.#filterRefs.get(topic)?.has(subscription)) continue;
      this.unlisten(topic, subscription);
      if (!this.#filterRefs.has(topic)) orphaned.push(topic);
    }
    subscription.discard();
    if (orphaned.length > 0 && !this.#host.ended()) {
      await new Promise<void>((resolve, reject) =>
        this.#host.session.unsubscribe(orphaned, { resolve, reject }, now()),
      );
    }
  }

  /** Hands a received message to the `message` listeners and the matching subscriptions. */
  deliver(packet: PublishPacket, ack: InboundAck | undefined): void {
    // A PublishPacket is a Message (and more): no copy per message.
    const message: Message = packet;
    const listening = this.#host.listening();
    if (listening) this.#host.emitMessage(message);
    let subscriptions = this.#trie.match(packet.topic);
    if (listening) subscriptions = subscriptions.filter((s) => s.started);
    if (ack === undefined) {
      for (const subscription of subscriptions) subscription.push(message, undefined);
      return;
    }
    // QoS 1/2: PUBACK / PUBREC waits until every subscription the message went to let it go.
    if (subscriptions.length === 0) this.#host.session.acknowledge(ack, now());
    else if (subscriptions.length === 1) subscriptions[0]!.push(message, ack);
    else {
      const shared = { ack, holders: subscriptions.length };
      for (const subscription of subscriptions) subscription.push(message, shared);
    }
  }

  /**
   * Stops reading the connection while a subscription's reader is behind, and resumes when
   * every reader caught up. The session is told, so that keep-alive does not take the
   * unread PINGRESP for a dead link.
   */
  applyBackpressure(): void {
    const pause = this.#full.size > 0;
    const stream = this.#host.stream();
    if (pause === this.#readPaused || stream === undefined) return;
    this.#readPaused = pause;
    this.#host.session.pauseReceive(pause, now());
    if (pause) stream.pause();
    else stream.resume();
  }

  /** The connection is gone: the next one starts unpaused (see {@link applyBackpressure}). */
  connectionLost(): void {
    this.#readPaused = false;
  }

  /** The client ended: every subscription ends. */
  endAll(): void {
    for (const refs of this.#filterRefs.values()) for (const s of refs) s.end();
    this.#full.clear();
    this.#filterRefs.clear();
    this.#trie.clear();
  }

  #listen(topic: string, subscription: SubscriptionImpl): void {
    let refs = this.#filterRefs.get(topic);
    if (refs === undefined) {
      refs = new Set();
      this.#filterRefs.set(topic, refs);
    }
    refs.add(subscription);
    this.#trie.add(topic, subscription);
  }

  /** How subscriptions reach back. */
  readonly #subscriptionHost = {
    release: (token: AckToken): void => {
      if ('holders' in token) {
        if (--token.holders > 0) return;
        this.#host.session.acknowledge(token.ack, now());
      } else {
        this.#host.session.acknowledge(token, now());
      }
    },
    pressure: (subscription: SubscriptionImpl, full: boolean): void => {
      if (full) this.#full.add(subscription);
      else this.#full.delete(subscription);
      this.applyBackpressure();
    },
    dropped: (_subscription: SubscriptionImpl, message: Message): void => {
      this.#host.dropped(
        message.topic,
        message.qos,
        new MessageDroppedError(
          message.topic,
          `a subscription's reader is ${this.#host.bufferSize} messages behind (subscriptionBufferSize)`,
        ),
      );
    },
    unsubscribe: (subscription: SubscriptionImpl): Promise<void> =>
      this.unsubscribeOf(subscription),
  };
}
