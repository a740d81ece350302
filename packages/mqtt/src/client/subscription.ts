/**
 * Subscriptions as async iterators, and a small async queue they share with `states()`.
 *
 * @module
 */

import type { QoS } from '../packet/types.js';

/** An application message received from the broker. */
export interface Message {
  readonly topic: string;
  /** A view of the received bytes; copy it if you keep it and the bytes matter to you. */
  readonly payload: Uint8Array;
  readonly qos: QoS;
  readonly retain: boolean;
  readonly dup: boolean;
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

/** SUBACK return code of a refused filter. */
export type Granted = QoS | 0x80;

/**
 * The messages of one `subscribe()` call. Iterate it with `for await`; breaking out of the
 * loop unsubscribes. Each PUBLISH received is delivered once to every subscription with a
 * matching filter, however many of its filters match.
 */
export interface Subscription extends AsyncIterable<Message> {
  /** The filters, in the order given. */
  readonly filters: readonly string[];
  /** The broker's answer per filter: the granted QoS, or 0x80 where it refused. */
  readonly granted: readonly Granted[];
  /** Messages dropped because this iterator was not read fast enough. */
  readonly dropped: number;
  /** Unsubscribes the filters no other subscription uses, and ends the iteration. */
  unsubscribe(): Promise<void>;
}
