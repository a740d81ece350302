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
 * Routing (MQTT 5.0): each `subscribe()` call gets a Subscription Identifier, and the broker
 * names in each message the identifiers of the subscriptions it matched [MQTT-3.3.4-4/5].
 * A message is routed to the filters holding those identifiers, not to every filter its topic
 * matches: a filter subscribed with `noLocal` does not get our own message merely because an
 * overlapping filter did, and a broker that sends one copy per matching subscription does not
 * make each subscription read every copy. A message without identifiers (3.1.1, or a broker
 * without them) is routed by matching its topic, as before.
 *
 * @module
 */

import { MessageDroppedError, type MqttError } from '../errors.js';
import type { PublishPacket, QoS } from '../packet/types.js';
import type { InboundAck, Session } from '../session/session.js';
import { matchingFilter, TopicTrie, topicMatches } from '../topic/index.js';
import type { ByteStream } from '../transport/types.js';
import {
  type AckToken,
  type Message,
  type SubscriptionHost,
  SubscriptionImpl,
} from './subscription.js';

const now = (): number => performance.now();

/** Largest Subscription Identifier, a Variable Byte Integer [MQTT-3.8.2.1.2]. */
export const MAX_SUBSCRIPTION_ID = 268_435_455;

/**
 * A filter without wildcards that is not a shared subscription: it matches exactly the topic
 * name equal to it. (A topic name never has wildcards, so for one it says whether it can
 * equal such a filter.)
 */
function isPlain(filter: string): boolean {
  return !filter.includes('+') && !filter.includes('#') && !filter.startsWith('$share/');
}

/** Whether two filters are stored under the same trie entry (`$share/a/x`, `$share/b/x`). */
function sameMatch(a: string, b: string): boolean {
  return matchingFilter(a) === matchingFilter(b);
}

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
export class Subscriptions implements SubscriptionHost {
  readonly #host: SubscriptionsHost;
  readonly #trie = new TopicTrie<SubscriptionImpl>();
  /** Filter → the subscriptions listening on it. */
  readonly #filterRefs = new Map<string, Set<SubscriptionImpl>>();
  /**
   * Subscriptions at their high-water mark: while any is, the connection is not read. This
   * Set and the three 5.0 maps below are created on first use: an empty one costs ~150 bytes,
   * and an idle 3.1.1 client needs none of them.
   */
  get #full(): Set<SubscriptionImpl> {
    this.#fullSet ??= new Set();
    return this.#fullSet;
  }
  #fullSet: Set<SubscriptionImpl> | undefined;
  #readPaused = false;
  /** MQTT 5.0: filter → the Subscription Identifier the broker holds it under. */
  get #filterIds(): Map<string, number> {
    this.#filterIdsMap ??= new Map();
    return this.#filterIdsMap;
  }
  #filterIdsMap: Map<string, number> | undefined;
  /** MQTT 5.0: Subscription Identifier → the filters subscribed with it. */
  get #idFilters(): Map<number, Set<string>> {
    this.#idFiltersMap ??= new Map();
    return this.#idFiltersMap;
  }
  #idFiltersMap: Map<number, Set<string>> | undefined;
  #lastId = 0;
  /**
   * The identifiers a subscription's filters had before its call took them over: put back if
   * the broker refuses the call, since it then keeps the earlier subscription (and identifier).
   */
  get #previousIds(): WeakMap<SubscriptionImpl, Map<string, number | undefined>> {
    this.#previousIdsMap ??= new WeakMap();
    return this.#previousIdsMap;
  }
  #previousIdsMap: WeakMap<SubscriptionImpl, Map<string, number | undefined>> | undefined;

  constructor(host: SubscriptionsHost) {
    this.#host = host;
  }

  /**
   * MQTT 5.0: a Subscription Identifier for the next `subscribe()` call, 1..268,435,455
   * [MQTT-3.8.2.1.2], none in use by a filter we hold; undefined if all are (never in
   * practice: one per filter at most).
   */
  nextId(): number | undefined {
    for (let tries = 0; tries < MAX_SUBSCRIPTION_ID; tries++) {
      this.#lastId = this.#lastId >= MAX_SUBSCRIPTION_ID ? 1 : this.#lastId + 1;
      if (!this.#idFilters.has(this.#lastId)) return this.#lastId;
    }
    return undefined;
  }

  /**
   * Subscriptions restored from the store: their filters keep their identifiers (the broker
   * may still hold them), and new identifiers start after them.
   */
  restoreIds(filters: readonly { readonly filter: string; readonly id?: number }[]): void {
    for (const { filter, id } of filters) {
      if (id === undefined) continue;
      this.#setFilterId(filter, id);
      if (id > this.#lastId) this.#lastId = id;
    }
  }

  /** True while reading the connection is paused because a reader is behind. */
  get readPaused(): boolean {
    return this.#readPaused;
  }

  /**
   * A new subscription, listening on its filters at once: retained messages may follow the
   * SUBACK immediately.
   */
  create(filters: readonly string[], manual: boolean, id?: number): SubscriptionImpl {
    const subscription = new SubscriptionImpl([...filters], this.#host.bufferSize, manual, this);
    // Only a call with an identifier (5.0) records what it took over.
    const previous = id === undefined ? undefined : new Map<string, number | undefined>();
    for (const filter of filters) {
      this.#listen(filter, subscription);
      // The broker replaces a subscription to the same filter, identifier included: the
      // filter's messages now carry this call's identifier [MQTT-3.8.4-3].
      if (previous !== undefined) {
        previous.set(filter, this.#filterIds.get(filter));
        this.#setFilterId(filter, id);
      }
    }
    if (previous !== undefined && previous.size > 0) this.#previousIds.set(subscription, previous);
    return subscription;
  }

  /**
   * The broker refused one filter of a subscription (or the whole call failed): it stops
   * listening there, and a filter that other subscriptions still hold gets back the
   * identifier the broker still has it under.
   */
  refused(topic: string, subscription: SubscriptionImpl): void {
    this.unlisten(topic, subscription);
    const previous = this.#previousIdsMap?.get(subscription);
    if (previous?.has(topic) && this.#filterRefs.has(topic)) {
      this.#setFilterId(topic, previous.get(topic));
    }
  }

  /** The SUBSCRIBE of a subscription failed as a whole: see {@link refused}. */
  failed(subscription: SubscriptionImpl): Promise<void> {
    const previous = this.#previousIdsMap?.get(subscription);
    // Stops listening at once (the UNSUBSCRIBE of the orphaned filters follows).
    const done = this.unsubscribeOf(subscription);
    for (const [topic, id] of previous ?? []) {
      if (this.#filterRefs.has(topic)) this.#setFilterId(topic, id);
    }
    return done;
  }

  /** Stops one subscription listening on one filter (e.g. the broker refused it). */
  unlisten(topic: string, subscription: SubscriptionImpl): void {
    const refs = this.#filterRefs.get(topic);
    refs?.delete(subscription);
    if (refs?.size === 0) {
      this.#filterRefs.delete(topic);
      this.#setFilterId(topic, undefined);
    }
    // `$share/a/x` and `$share/b/x` share a trie entry: keep it while either listens.
    const stillThere = subscription.filters.some(
      (f) => f !== topic && this.#filterRefs.get(f)?.has(subscription) && sameMatch(f, topic),
    );
    if (!stillThere && !isPlain(topic)) this.#trie.remove(topic, subscription);
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
    const ids = packet.properties?.subscriptionIdentifiers;
    let subscriptions =
      ids === undefined || ids.length === 0 ? this.#match(packet.topic) : this.#byIds(packet);
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
    const pause = (this.#fullSet?.size ?? 0) > 0;
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
    this.#fullSet?.clear();
    this.#filterRefs.clear();
    this.#trie.clear();
    this.#filterIdsMap?.clear();
    this.#idFiltersMap?.clear();
  }

  /**
   * The subscriptions of the filters whose identifiers the message carries. The topic is
   * matched too: an identifier we did not assign this filter (one a previous process gave a
   * subscription the broker kept) must not route a message to a filter it does not match.
   */
  #byIds(packet: PublishPacket): SubscriptionImpl[] {
    const out = new Set<SubscriptionImpl>();
    for (const id of packet.properties!.subscriptionIdentifiers!) {
      for (const filter of this.#idFilters.get(id) ?? []) {
        if (!topicMatches(filter, packet.topic)) continue;
        for (const subscription of this.#filterRefs.get(filter) ?? []) out.add(subscription);
      }
    }
    return [...out];
  }

  #setFilterId(filter: string, id: number | undefined): void {
    const old = this.#filterIds.get(filter);
    if (old === id) return;
    if (old !== undefined) {
      const filters = this.#idFilters.get(old);
      filters?.delete(filter);
      if (filters?.size === 0) this.#idFilters.delete(old);
    }
    if (id === undefined) {
      this.#filterIds.delete(filter);
      return;
    }
    this.#filterIds.set(filter, id);
    let filters = this.#idFilters.get(id);
    if (filters === undefined) {
      filters = new Set();
      this.#idFilters.set(id, filters);
    }
    filters.add(filter);
  }

  #listen(topic: string, subscription: SubscriptionImpl): void {
    let refs = this.#filterRefs.get(topic);
    if (refs === undefined) {
      refs = new Set();
      this.#filterRefs.set(topic, refs);
    }
    refs.add(subscription);
    // A plain filter is matched by its entry above; the trie holds the others.
    if (!isPlain(topic)) this.#trie.add(topic, subscription);
  }

  /**
   * The subscriptions whose filters match a topic name, each once: those of the plain filter
   * equal to it (one lookup), then those of the wildcard and shared filters the trie finds.
   */
  #match(topic: string): SubscriptionImpl[] {
    const plain = isPlain(topic) ? this.#filterRefs.get(topic) : undefined;
    if (this.#trie.size === 0) return plain === undefined ? [] : [...plain];
    const others = this.#trie.match(topic);
    if (plain === undefined) return others;
    const out = [...plain];
    for (const subscription of others) if (!plain.has(subscription)) out.push(subscription);
    return out;
  }

  // ─── SubscriptionHost: how each subscription reaches back (methods, not a callback
  // object per client) ──────────────────────────────────────────────────────────────────────

  /** The reader let a message go: release its hold (the ack goes once no one holds it). */
  release(token: AckToken): void {
    if ('holders' in token) {
      if (--token.holders > 0) return;
      this.#host.session.acknowledge(token.ack, now());
    } else {
      this.#host.session.acknowledge(token, now());
    }
  }

  /** A subscription's buffer reached its high-water mark (`full`) or drained. */
  pressure(subscription: SubscriptionImpl, full: boolean): void {
    if (full) this.#full.add(subscription);
    else this.#fullSet?.delete(subscription);
    this.applyBackpressure();
  }

  /** A full subscription dropped a QoS 0 message. */
  dropped(_subscription: SubscriptionImpl, message: Message): void {
    this.#host.dropped(
      message.topic,
      message.qos,
      new MessageDroppedError(
        message.topic,
        `a subscription's reader is ${this.#host.bufferSize} messages behind (subscriptionBufferSize)`,
      ),
    );
  }

  /** Ends the subscription and unsubscribes its orphaned filters. */
  unsubscribe(subscription: SubscriptionImpl): Promise<void> {
    return this.unsubscribeOf(subscription);
  }
}
