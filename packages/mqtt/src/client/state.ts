/**
 * The observable connection state of a client: one status, not flags.
 *
 * ```
 *              createClient()
 *                    │
 *                    ▼      transport up + CONNACK 0
 *   ┌────────► connecting ─────────────────────────► connected
 *   │                │ failure (network, TLS,             │ connection lost
 *   │  wait over     │ refused, timeout)                  │ (close, error, keep-alive)
 *   │                ▼                                    │
 *   └──────── reconnect-wait ◄────────────────────────────┘
 *                    │ end() from any state; or reconnect: false after a failure
 *                    ▼
 *             disconnecting ──► closed
 * ```
 *
 * @module
 */

import type { MqttError } from '../errors.js';
import { AsyncQueue } from './subscription.js';

/** Where the client is. */
export type ConnectionStatus =
  | 'connecting'
  | 'connected'
  | 'reconnect-wait'
  | 'disconnecting'
  | 'closed';

/** The observable connection state. */
export interface ClientState {
  readonly status: ConnectionStatus;
  /** The server in use or being tried, as a URL without credentials. */
  readonly server: string;
  /** Whether the broker resumed a stored session on the current connection. */
  readonly sessionPresent: boolean;
  /** Why the last connection or attempt failed, if one did. */
  readonly lastError?: MqttError;
  /** When this state began, epoch milliseconds. */
  readonly since: number;
  /** When in `reconnect-wait`: how long the wait is, in milliseconds. */
  readonly retryInMs?: number;
}

/** A reader's queue of states, which tells when the reader leaves. */
class StateQueue extends AsyncQueue<ClientState> {
  readonly #left: () => void;

  constructor(left: () => void) {
    super(1000);
    this.#left = left;
  }

  override return(): Promise<IteratorResult<ClientState>> {
    this.#left();
    return super.return();
  }
}

/** Who is told each change of state. */
export interface StateListener {
  stateChanged(state: ClientState): void;
}

/** Holds a client's state, and tells every change to the listener and the iterators. */
export class StateCell {
  #state: ClientState;
  // Both created on first use: an idle client has no reader of its states, and an empty
  // Set costs ~150 bytes (gateways hold thousands of clients).
  #queues: Set<AsyncQueue<ClientState>> | undefined;
  #waiters: Set<(state: ClientState) => void> | undefined;
  readonly #listener: StateListener;

  /** @param listener - told every change (the client's `state` event). */
  constructor(initial: ClientState, listener: StateListener) {
    this.#state = initial;
    this.#listener = listener;
  }

  get current(): ClientState {
    return this.#state;
  }

  /**
   * Moves to a new state. `sessionPresent` is false outside `connected`; `lastError` is kept
   * until replaced; `retryInMs` only lasts one state; `since` is now.
   */
  set(change: Partial<ClientState>): void {
    const previous = this.#state;
    const status = change.status ?? previous.status;
    const next: ClientState = {
      status,
      server: change.server ?? previous.server,
      sessionPresent:
        change.sessionPresent ?? (status === 'connected' ? previous.sessionPresent : false),
      since: Date.now(),
      ...((change.lastError ?? previous.lastError) === undefined
        ? {}
        : { lastError: (change.lastError ?? previous.lastError) as MqttError }),
      ...(change.retryInMs === undefined ? {} : { retryInMs: change.retryInMs }),
    };
    this.#state = next;
    const queues = this.#queues;
    if (queues !== undefined) {
      for (const queue of queues) {
        if (queue.ended) queues.delete(queue);
        else queue.push(next);
      }
      // The last reader gone: the Set goes too.
      if (queues.size === 0) this.#queues = undefined;
    }
    this.#listener.stateChanged(next);
    if (this.#waiters !== undefined) for (const waiter of [...this.#waiters]) waiter(next);
    if (status === 'closed' && this.#queues !== undefined) {
      for (const queue of this.#queues) queue.end();
      this.#queues = undefined;
    }
  }

  /** Every state from now on, starting with the current one; ends at `closed`. */
  stream(): AsyncIterableIterator<ClientState> {
    const queue = new StateQueue(() => {
      // A reader that left (`break`, or `connect()` once connected) takes its queue, and the
      // Set with the last one, at once: an idle client does not keep them until its next state.
      this.#queues?.delete(queue);
      if (this.#queues?.size === 0) this.#queues = undefined;
    });
    queue.push(this.#state);
    if (this.#state.status === 'closed') queue.end();
    else {
      this.#queues ??= new Set();
      this.#queues.add(queue);
    }
    return queue;
  }

  /** Resolves when the status is (or becomes) `status`. */
  waitFor(status: ConnectionStatus): Promise<void> {
    if (this.#state.status === status) return Promise.resolve();
    return new Promise((resolve) => {
      const waiter = (state: ClientState): void => {
        if (state.status !== status) return;
        this.#waiters?.delete(waiter);
        resolve();
      };
      this.#waiters ??= new Set();
      this.#waiters.add(waiter);
    });
  }
}
