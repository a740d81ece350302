/**
 * What the agent reports while it runs: one discriminated union of events, delivered to
 * listeners and to any number of async iterators (for the web console's live view and for the
 * command line's `-m` / `-r` printing).
 *
 * @module
 */

import type { ChannelValue } from '../formats/types.js';

/** Longest payload or reason text an event or a row's state keeps, in characters. */
export const CLIP_CHARS = 1024;

/**
 * `text` cut to {@link CLIP_CHARS}, saying how long it was. Anyone allowed to publish to a
 * subscribed topic may send a payload of megabytes: the message log, the console's live view
 * and the log file keep its start, not all of it.
 */
export function clipText(text: string): string {
  if (text.length <= CLIP_CHARS) return text;
  return `${text.slice(0, CLIP_CHARS)}… (${Buffer.byteLength(text)} bytes)`;
}

/**
 * The module state shown to people, in LucidIoT's words.
 *
 * ```
 *   IDLE ──start()──► CONNECT_PND ◄──────────────┐
 *                       │   ▲                     │ connection lost / refused
 *               CONNACK │   │ retry after backoff │
 *                       ▼   │                     │
 *                     CONNECTED ──────────────────┘
 *                       │ stop()
 *                       ▼
 *                 DISCONNECTING ──► DISCONNECTED
 * ```
 */
export const ModuleState = {
  /** Not started. */
  IDLE: 'IDLE',
  /** Connecting, or waiting to retry (the server is unreachable or refused us). */
  CONNECT_PND: 'CONNECT_PND',
  /** Connected to a server. */
  CONNECTED: 'CONNECTED',
  /** Stopping: flushing what is in flight and sending DISCONNECT. */
  DISCONNECTING: 'DISCONNECTING',
  /** Stopped. */
  DISCONNECTED: 'DISCONNECTED',
} as const;

/** A {@link ModuleState} value. */
export type ModuleState = (typeof ModuleState)[keyof typeof ModuleState];

/** Where a message came from or went to. */
export type EventSource = 'mqtt' | 'redis';

/** Every event the agent emits. `at` is Unix epoch milliseconds. */
export type AgentEvent =
  | {
      readonly type: 'state';
      readonly state: ModuleState;
      readonly server: string;
      readonly error?: string;
      readonly at: number;
    }
  | {
      /** A message was handed to the MQTT client (row index, or the Redis signal key). */
      readonly type: 'published';
      readonly source: EventSource;
      readonly row?: number;
      readonly signal?: string;
      readonly topic: string;
      readonly payload: string;
      readonly at: number;
    }
  | {
      /** A publish row or signal did not send because the value had not changed. */
      readonly type: 'suppressed';
      readonly source: EventSource;
      readonly row?: number;
      readonly signal?: string;
      readonly topic: string;
      readonly at: number;
    }
  | {
      /** A subscribe row or a Sparkplug command received a valid payload and drove its output. */
      readonly type: 'received';
      /** The subscribe row; absent for a Sparkplug command. */
      readonly row?: number;
      readonly topic: string;
      readonly payload: string;
      readonly value: ChannelValue;
      readonly at: number;
    }
  | {
      /** A payload was refused (bad format, output out of range, bad Redis message). */
      readonly type: 'rejected';
      readonly source: EventSource;
      readonly row?: number;
      readonly topic: string;
      readonly payload: string;
      readonly reason: string;
      readonly at: number;
    }
  | {
      /** Publishing failed (e.g. offline queue full, client closed). */
      readonly type: 'publish-failed';
      readonly source: EventSource;
      readonly topic: string;
      readonly reason: string;
      readonly at: number;
    }
  | {
      /** A channel changed value or quality. */
      readonly type: 'channel';
      readonly id: number;
      readonly value: ChannelValue;
      readonly at: number;
      /** Present when the value is not good: `stale` or `bad`, with the reason. */
      readonly quality?: 'stale' | 'bad';
      readonly reason?: string;
    }
  | {
      /** A Redis message arrived (for `courier agent -r`). */
      readonly type: 'redis-message';
      readonly channel: string;
      readonly message: string;
      readonly at: number;
    }
  | {
      /** An MQTT command for a Redis `out` signal was written to Redis (`PUBLISH`). */
      readonly type: 'redis-written';
      /** `deviceAlias/signalAlias` of the signal. */
      readonly signal: string;
      /** The MQTT topic the command came on. */
      readonly topic: string;
      /** The MQTT payload. */
      readonly payload: string;
      /** The Redis channel written, `tag/<device>/<signal>/out`. */
      readonly channel: string;
      /** The Redis message, `value,timestamp_ms,flags`. */
      readonly message: string;
      readonly at: number;
    }
  | {
      /** A new configuration was applied. */
      readonly type: 'config-applied';
      readonly at: number;
    }
  | {
      /** Something went wrong that the agent survives (Redis down, subscribe refused, ...). */
      readonly type: 'error';
      readonly message: string;
      readonly code?: string;
      readonly at: number;
    };

/** The `type` names of {@link AgentEvent}. */
export type AgentEventType = AgentEvent['type'];

/**
 * Fans events out to any number of async iterators. An iterator that is not read keeps at
 * most `limit` events (the oldest are dropped) so that a stalled console cannot grow the
 * agent's memory without bound.
 */
export class EventFanout<T> {
  readonly #subscribers = new Set<{ queue: T[]; wake: (() => void) | undefined }>();
  readonly #limit: number;
  #closed = false;

  constructor(limit = 1000) {
    this.#limit = limit;
  }

  /** Delivers `event` to every open iterator. */
  push(event: T): void {
    for (const sub of this.#subscribers) {
      sub.queue.push(event);
      if (sub.queue.length > this.#limit) sub.queue.shift();
      sub.wake?.();
    }
  }

  /** Ends every iterator after its queued events. */
  close(): void {
    this.#closed = true;
    for (const sub of this.#subscribers) sub.wake?.();
  }

  /** A new iterator of the events pushed from now on. */
  iterate(): AsyncIterableIterator<T> {
    const sub: { queue: T[]; wake: (() => void) | undefined } = { queue: [], wake: undefined };
    this.#subscribers.add(sub);
    const done = (): IteratorResult<T> => {
      this.#subscribers.delete(sub);
      return { value: undefined, done: true };
    };
    const iterator: AsyncIterableIterator<T> = {
      next: async (): Promise<IteratorResult<T>> => {
        for (;;) {
          const event = sub.queue.shift();
          if (event !== undefined) return { value: event, done: false };
          if (this.#closed || !this.#subscribers.has(sub)) return done();
          await new Promise<void>((resolve) => {
            sub.wake = resolve;
          });
          sub.wake = undefined;
        }
      },
      return: async (): Promise<IteratorResult<T>> => {
        sub.wake?.();
        return done();
      },
      [Symbol.asyncIterator]() {
        return iterator;
      },
    };
    return iterator;
  }
}
