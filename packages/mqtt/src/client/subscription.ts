/**
 * Subscriptions as async iterators with flow control, and a small async queue for `states()`.
 *
 * A subscription buffers what its reader has not taken yet. QoS 1/2 messages are never
 * dropped: their PUBACK / PUBREC waits until the reader takes the message (or acks it, with
 * `ack: 'manual'`), so the broker's in-flight window slows the broker down, and a buffer at
 * its high-water mark makes the client stop reading the connection (TCP back-pressure).
 * Only QoS 0 messages may be dropped, when they find the buffer at its high-water mark: each
 * one is counted and reported.
 *
 * @module
 */

import type { PublishProperties, QoS } from '../packet/types.js';
import type { InboundAck } from '../session/session.js';

/** An application message received from the broker. */
export interface Message {
  readonly topic: string;
  /** A view of the received bytes; copy it if you keep it and the bytes matter to you. */
  readonly payload: Uint8Array;
  readonly qos: QoS;
  readonly retain: boolean;
  readonly dup: boolean;
  /**
   * MQTT 5.0: the PUBLISH properties as received (user properties in order, duplicates
   * kept; subscription identifiers of every matching subscription). The Topic Alias is
   * resolved and removed: `topic` is always the full topic name. Undefined on 3.1 / 3.1.1,
   * and when the PUBLISH carried none.
   */
  readonly properties?: PublishProperties;
}

/**
 * A bounded FIFO that one consumer reads with `for await`. When the consumer falls behind by
 * more than `capacity` items, the oldest are dropped and counted: an unread iterator can not
 * grow memory without bound.
 */
export class AsyncQueue<T> implements AsyncIterableIterator<T> {
  readonly #capacity: number;
  #items: T[] = [];
  #head = 0;
  #waiter: ((result: IteratorResult<T>) => void) | undefined;
  #ended = false;
  #dropped = 0;

  constructor(capacity: number) {
    this.#capacity = capacity;
  }

  /** Items dropped because the consumer fell behind. */
  get dropped(): number {
    return this.#dropped;
  }

  /** True once {@link end} was called. */
  get ended(): boolean {
    return this.#ended;
  }

  /** Adds an item; ignored after {@link end}. */
  push(item: T): void {
    if (this.#ended) return;
    const waiter = this.#waiter;
    if (waiter !== undefined) {
      this.#waiter = undefined;
      waiter({ value: item, done: false });
      return;
    }
    if (this.#items.length - this.#head >= this.#capacity) {
      this.#head++;
      this.#dropped++;
    }
    this.#items.push(item);
    if (this.#head > 1024 && this.#head * 2 > this.#items.length) {
      this.#items = this.#items.slice(this.#head);
      this.#head = 0;
    }
  }

  /** Ends the iteration once the buffered items are read. */
  end(): void {
    if (this.#ended) return;
    this.#ended = true;
    const waiter = this.#waiter;
    this.#waiter = undefined;
    waiter?.({ value: undefined, done: true });
  }

  next(): Promise<IteratorResult<T>> {
    if (this.#head < this.#items.length) {
      const value = this.#items[this.#head] as T;
      this.#items[this.#head] = undefined as T;
      this.#head++;
      return Promise.resolve({ value, done: false });
    }
    if (this.#ended) return Promise.resolve({ value: undefined, done: true });
    return new Promise((resolve) => {
      this.#waiter = resolve;
    });
  }

  return(): Promise<IteratorResult<T>> {
    this.end();
    this.#items = [];
    this.#head = 0;
    return Promise.resolve({ value: undefined, done: true });
  }

  [Symbol.asyncIterator](): AsyncIterableIterator<T> {
    return this;
  }
}

/**
 * What the SUBACK said of one filter: the QoS granted (0, 1, 2), or a refusal: 0x80 in
 * 3.1.1; in 5.0 a Subscribe Reason Code ≥ 0x80 (0x87 Not authorized, 0x8F Topic Filter
 * invalid, 0x97 Quota exceeded, 0x9E / 0xA1 / 0xA2 shared subscriptions, subscription
 * identifiers, wildcards not supported, ...).
 */
export type Granted = QoS | 0x80 | 0x83 | 0x87 | 0x8f | 0x91 | 0x97 | 0x9e | 0xa1 | 0xa2;

/** A message of a subscription made with `ack: 'manual'`. */
export interface AckableMessage extends Message {
  /**
   * Tells the broker the message is safe with the application: PUBACK (QoS 1) or PUBREC
   * (QoS 2) goes out, after those of the messages received before it [MQTT-4.6.0-2]. Call it
   * once the message is written where it must survive (Redis, disk). Idempotent; a no-op for
   * QoS 0 and for a message whose connection is gone (the broker sends it again).
   */
  ack(): void;
}

/**
 * The messages of one `subscribe()` call. Iterate it with `for await`; breaking out of the
 * loop unsubscribes. Each PUBLISH received is delivered once to every subscription with a
 * matching filter, however many of its filters match.
 */
export interface Subscription<M extends Message = Message> extends AsyncIterable<M> {
  /** The filters, in the order given. */
  readonly filters: readonly string[];
  /** The broker's answer per filter: the granted QoS, or 0x80 where it refused. */
  readonly granted: readonly Granted[];
  /** QoS 0 messages dropped because this iterator was not read fast enough. */
  readonly dropped: number;
  /** Messages received and not yet taken by the reader. */
  readonly buffered: number;
  /**
   * Unsubscribes the filters no other subscription uses, and ends the iteration. What the
   * subscription still buffered, and (with `ack: 'manual'`) what was taken and not acked, is
   * acknowledged: the application let it go.
   */
  unsubscribe(): Promise<void>;
}

/**
 * A held acknowledgement: one incoming QoS 1/2 message's, or one shared by the several
 * subscriptions the message went to (released when the last of them lets it go).
 */
export type AckToken = InboundAck | SharedAck;

/** An acknowledgement held by more than one subscription. */
export interface SharedAck {
  readonly ack: InboundAck;
  holders: number;
}

/** What a subscription asks of the client. */
export interface SubscriptionHost {
  /** The reader let a message go (took it, acked it, or discarded it): release its hold. */
  release(token: AckToken): void;
  /** The buffer reached the high-water mark (`full`) or drained to the low-water mark. */
  pressure(subscription: SubscriptionImpl, full: boolean): void;
  /** A QoS 0 message was dropped. */
  dropped(subscription: SubscriptionImpl, message: Message): void;
  /** Ends the subscription and unsubscribes its orphaned filters. */
  unsubscribe(subscription: SubscriptionImpl): Promise<void>;
}

/** A message handed to a manual-ack reader, holding its acknowledgement until `ack()`. */
class HeldMessage implements AckableMessage {
  readonly topic: string;
  readonly payload: Uint8Array;
  readonly qos: QoS;
  readonly retain: boolean;
  readonly dup: boolean;
  #token: AckToken | undefined;
  readonly #owner: SubscriptionImpl;

  constructor(message: Message, token: AckToken | undefined, owner: SubscriptionImpl) {
    this.topic = message.topic;
    this.payload = message.payload;
    this.qos = message.qos;
    this.retain = message.retain;
    this.dup = message.dup;
    this.#token = token;
    this.#owner = owner;
  }

  ack(): void {
    const token = this.#token;
    if (token === undefined) return;
    this.#token = undefined;
    this.#owner.acked(this, token);
  }
}

/**
 * The {@link Subscription} of one `subscribe()` call: a FIFO of messages with the hold on
 * their acknowledgements, read by one consumer.
 */
export class SubscriptionImpl implements Subscription<Message | AckableMessage> {
  readonly #host: SubscriptionHost;
  readonly #highWater: number;
  readonly #manual: boolean;
  #filters: string[];
  #messages: Message[] = [];
  #tokens: (AckToken | undefined)[] = [];
  #head = 0;
  #full = false;
  #ended = false;
  /** Whether a reader has asked for the iterator (see {@link started}). */
  #started = false;
  #dropped = 0;
  #waiter: ((result: IteratorResult<Message>) => void) | undefined;
  /** Manual mode: messages taken and not acked yet. */
  get #held(): Map<HeldMessage, AckToken> {
    this.#heldMap ??= new Map();
    return this.#heldMap;
  }
  /** Created by the first manual-ack message held: an empty Map costs ~150 bytes. */
  #heldMap: Map<HeldMessage, AckToken> | undefined;
  granted: readonly Granted[] = [];

  constructor(filters: string[], highWater: number, manual: boolean, host: SubscriptionHost) {
    this.#filters = filters;
    this.#highWater = highWater;
    this.#manual = manual;
    this.#host = host;
  }

  get filters(): readonly string[] {
    return this.#filters;
  }

  get dropped(): number {
    return this.#dropped;
  }

  get buffered(): number {
    return this.#messages.length - this.#head;
  }

  /**
   * Whether a reader has asked for the iterator. Beside a `message` event listener, a
   * subscription never iterated is the callback style (`client.on('message', ...)` then
   * `subscribe()`, as with MQTT.js): the listener takes the message, and the subscription
   * neither keeps it nor holds its acknowledgement. Without a listener it keeps it for a reader
   * that starts late.
   */
  get started(): boolean {
    return this.#started;
  }

  /**
   * Adds a received message. `token` is the hold on a QoS 1/2 message's acknowledgement,
   * released when the reader lets the message go.
   */
  push(message: Message, token: AckToken | undefined): void {
    if (this.#ended) {
      if (token !== undefined) this.#host.release(token);
      return;
    }
    const waiter = this.#waiter;
    if (waiter !== undefined) {
      this.#waiter = undefined;
      waiter({ value: this.#take(message, token), done: false });
      return;
    }
    const buffered = this.buffered;
    if (token === undefined && buffered >= this.#highWater) {
      // QoS 0 promises at most once: past the high-water mark it is dropped (and reported)
      // rather than stalling the connection, whose other traffic keeps flowing.
      this.#dropped++;
      this.#host.dropped(this, message);
      return;
    }
    this.#messages.push(message);
    this.#tokens.push(token);
    // A QoS 1/2 message is never dropped: at the high-water mark the connection stops being
    // read, and the broker waits.
    if (!this.#full && token !== undefined && buffered + 1 >= this.#highWater) {
      this.#full = true;
      this.#host.pressure(this, true);
    }
  }

  /** Forgets a filter removed by `client.unsubscribe`; ends when none is left. */
  dropFilter(topic: string): void {
    this.#filters = this.#filters.filter((f) => f !== topic);
    if (this.#filters.length === 0) this.end();
  }

  /** Ends the iteration once the buffered messages are read. */
  end(): void {
    if (this.#ended) return;
    this.#ended = true;
    const waiter = this.#waiter;
    this.#waiter = undefined;
    waiter?.({ value: undefined, done: true });
  }

  /** Ends at once: what is buffered or held is let go. */
  discard(): void {
    this.end();
    const tokens = this.#tokens;
    const head = this.#head;
    this.#messages = [];
    this.#tokens = [];
    this.#head = 0;
    for (let i = head; i < tokens.length; i++) {
      const token = tokens[i];
      if (token !== undefined) this.#host.release(token);
    }
    const held = this.#heldMap === undefined ? [] : [...this.#heldMap.values()];
    this.#heldMap?.clear();
    for (const token of held) this.#host.release(token);
    this.#relieve();
  }

  unsubscribe(): Promise<void> {
    return this.#host.unsubscribe(this);
  }

  /** @internal A manual-ack reader acked a message. */
  acked(message: HeldMessage, token: AckToken): void {
    if (this.#heldMap?.delete(message) === true) this.#host.release(token);
  }

  #next(): Promise<IteratorResult<Message>> {
    if (this.#head < this.#messages.length) {
      const message = this.#messages[this.#head]!;
      const token = this.#tokens[this.#head];
      this.#messages[this.#head] = undefined as unknown as Message;
      this.#tokens[this.#head] = undefined;
      this.#head++;
      if (this.#head === this.#messages.length) {
        this.#messages = [];
        this.#tokens = [];
        this.#head = 0;
      } else if (this.#head > 1024 && this.#head * 2 > this.#messages.length) {
        this.#messages = this.#messages.slice(this.#head);
        this.#tokens = this.#tokens.slice(this.#head);
        this.#head = 0;
      }
      this.#relieve();
      return Promise.resolve({ value: this.#take(message, token), done: false });
    }
    if (this.#ended) return Promise.resolve({ value: undefined, done: true });
    return new Promise((resolve) => {
      this.#waiter = resolve;
    });
  }

  /** The reader takes a message: auto-ack releases the hold now, manual-ack on `ack()`. */
  #take(message: Message, token: AckToken | undefined): Message {
    if (!this.#manual) {
      if (token !== undefined) this.#host.release(token);
      return message;
    }
    const held = new HeldMessage(message, token, this);
    if (token !== undefined) this.#held.set(held, token);
    return held;
  }

  /** Below the low-water mark (half the high-water mark) again: reading may resume. */
  #relieve(): void {
    if (this.#full && this.buffered <= this.#highWater >> 1) {
      this.#full = false;
      this.#host.pressure(this, false);
    }
  }

  [Symbol.asyncIterator](): AsyncIterator<Message> {
    this.#started = true;
    return {
      next: () => this.#next(),
      return: async () => {
        await this.unsubscribe().catch(() => undefined);
        return { value: undefined, done: true };
      },
    };
  }
}
