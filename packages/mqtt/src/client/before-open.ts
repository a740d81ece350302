/**
 * Operations accepted before the session store has opened.
 *
 * A file store opens asynchronously, and the session can take nothing until the store's
 * state is restored into it: a publish made meanwhile would get a sequence number that
 * collides with a restored message's. Such operations wait here, in the order they were
 * made, and run once the store is open; they count against the offline queue's bounds.
 *
 * @module
 */

import type { QueuedOutside, Settleable } from '../session/session.js';

interface Held {
  readonly run: () => void;
  readonly reject: (error: Error) => void;
  /** Payload bytes, counted against `offlineQueue.maxBytes`. */
  readonly bytes: number;
  /** A QoS 0 publish: the one kind policy `drop-oldest-qos0` may drop. */
  readonly qos0: boolean;
}

/** Holds operations until {@link release}; runs them at once from then on. */
export class BeforeOpen implements QueuedOutside {
  #held: Held[] | undefined = [];
  #bytes = 0;

  /** True once the store opened (or the client ended): operations run at once. */
  get open(): boolean {
    return this.#held === undefined;
  }

  /** Operations held. */
  get count(): number {
    return this.#held?.length ?? 0;
  }

  /** Payload bytes of the operations held. */
  get bytes(): number {
    return this.#bytes;
  }

  /** Runs an operation now, or holds it until {@link release}. */
  run(run: () => void, reject: (error: Error) => void, bytes: number, qos0 = false): void {
    if (this.#held === undefined) run();
    else {
      this.#held.push({ run, reject, bytes, qos0 });
      this.#bytes += bytes;
    }
  }

  dropOldestQos0(): Settleable<void> | undefined {
    const held = this.#held ?? [];
    const index = held.findIndex((e) => e.qos0);
    if (index < 0) return undefined;
    const [entry] = held.splice(index, 1);
    this.#bytes -= entry!.bytes;
    return { resolve: () => undefined, reject: entry!.reject };
  }

  /** The store is open and restored: runs what was held, in order. */
  release(): void {
    const held = this.#take();
    for (const operation of held) operation.run();
  }

  /** The client ended before the store opened: fails what was held. */
  rejectAll(error: Error): void {
    const held = this.#take();
    for (const operation of held) operation.reject(error);
  }

  #take(): Held[] {
    const held = this.#held ?? [];
    this.#held = undefined;
    this.#bytes = 0;
    return held;
  }
}
