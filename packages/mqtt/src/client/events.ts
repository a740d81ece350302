/**
 * A tiny typed event emitter for the client's events, in place of Node's `EventEmitter` so
 * the client runs in a browser without a polyfill. It keeps the Node semantics the client's
 * listeners rely on: listeners run synchronously in the order they were added; one added
 * twice runs twice; `off` removes the most recently added instance; a listener added or
 * removed during an emit does not change that emit; an exception from a listener propagates
 * out of `emit` (as with Node, the listeners after it do not run). The client emits no
 * `'error'` event, so Node's special case (an unheard `'error'` throws) has no counterpart.
 *
 * @module
 */

/**
 * Listeners by event (`E` maps an event name to its listeners' arguments), with `on`, `off`,
 * `emit` and `listenerCount`.
 */
export class Emitter<E extends { [K in keyof E]: unknown[] }> {
  /**
   * Copy-on-write lists: `on`/`off` replace the array, so `emit` iterates the list as it was
   * when the emit began without copying it on every emit (the message path emits per message).
   * Created with the first listener: most clients of a gateway never get one, and an empty
   * Map costs ~180 bytes.
   */
  #listenersMap: Map<keyof E, readonly ((...args: never[]) => void)[]> | undefined;

  get #listeners(): Map<keyof E, readonly ((...args: never[]) => void)[]> {
    this.#listenersMap ??= new Map();
    return this.#listenersMap;
  }

  /** Adds a listener at the end of the event's list. */
  on<K extends keyof E>(event: K, listener: (...args: E[K]) => void): void {
    const list = this.#listeners.get(event) ?? [];
    this.#listeners.set(event, [...list, listener as unknown as (...args: never[]) => void]);
  }

  /** Removes the most recently added instance of `listener`, if any. */
  off<K extends keyof E>(event: K, listener: (...args: E[K]) => void): void {
    const list = this.#listenersMap?.get(event);
    if (list === undefined) return;
    const index = list.lastIndexOf(listener as unknown as (...args: never[]) => void);
    if (index < 0) return;
    if (list.length === 1) this.#listeners.delete(event);
    else this.#listeners.set(event, [...list.slice(0, index), ...list.slice(index + 1)]);
  }

  /** Calls the event's listeners in order; true when there was at least one. */
  emit<K extends keyof E>(event: K, ...args: E[K]): boolean {
    const list = this.#listenersMap?.get(event) as unknown as
      | readonly ((...args: E[K]) => void)[]
      | undefined;
    if (list === undefined) return false;
    for (const listener of list) listener(...args);
    return true;
  }

  /** How many listeners the event has. */
  listenerCount(event: keyof E): number {
    return this.#listenersMap?.get(event)?.length ?? 0;
  }
}
