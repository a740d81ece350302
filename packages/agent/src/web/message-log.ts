/**
 * The last messages in and out, for the console's live view.
 *
 * @module
 */

import type { AgentEvent, EventSource } from '../agent/events.js';

/** One message as the console shows it. */
export interface LoggedMessage {
  readonly dir: 'in' | 'out';
  readonly topic: string;
  readonly payload: string;
  readonly at: number;
  readonly row?: number;
  readonly source: EventSource;
  readonly status: 'ok' | 'rejected' | 'failed';
  readonly reason?: string;
}

/** Turns an agent event into a message of the log, if it is one. */
export function messageOf(e: AgentEvent): LoggedMessage | undefined {
  const row = 'row' in e && e.row !== undefined ? { row: e.row } : {};
  switch (e.type) {
    case 'published':
    case 'received':
    case 'rejected': {
      const source = e.type === 'received' ? 'mqtt' : e.source;
      return {
        dir: e.type === 'published' ? 'out' : 'in',
        topic: e.topic,
        payload: e.payload,
        at: e.at,
        ...row,
        source,
        ...(e.type === 'rejected' ? { status: 'rejected', reason: e.reason } : { status: 'ok' }),
      };
    }
    case 'redis-written':
      // An MQTT command written to Redis: a message in, as a subscribe row's is.
      return {
        dir: 'in',
        topic: e.topic,
        payload: e.payload,
        at: e.at,
        source: 'mqtt',
        status: 'ok',
      };
    case 'publish-failed':
      return {
        dir: 'out',
        topic: e.topic,
        payload: '',
        at: e.at,
        source: e.source,
        status: 'failed',
        reason: e.reason,
      };
    default:
      return undefined;
  }
}

/** A ring of the last `capacity` messages. */
export class MessageLog {
  readonly #capacity: number;
  readonly #items: LoggedMessage[] = [];

  constructor(capacity = 100) {
    this.#capacity = capacity;
  }

  /** Records the event if it is a message. */
  add(event: AgentEvent): void {
    const m = messageOf(event);
    if (m === undefined) return;
    this.#items.push(m);
    if (this.#items.length > this.#capacity) this.#items.shift();
  }

  /** Oldest first. */
  list(): readonly LoggedMessage[] {
    return [...this.#items];
  }
}
