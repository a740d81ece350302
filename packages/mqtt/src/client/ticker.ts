/**
 * One interval timer per distinct period, shared by every client of the process, instead of
 * one `setInterval` per client: a gateway holding 10,000 connections keeps a handful of
 * timers, not 10,000 (each a `Timeout` object, its closure and a slot in libuv's timer heap).
 *
 * The clients' ticks are idempotent time checks (keep-alive, expiry): the phase of the
 * shared period does not matter, only that each client is called about once per period.
 *
 * @module
 */

import { nextTick, unref } from '#platform';

interface Wheel {
  readonly timer: ReturnType<typeof setInterval>;
  readonly ticks: Set<() => void>;
}

/** The shared intervals, by period in milliseconds. */
const wheels = new Map<number, Wheel>();

function turn(ticks: Set<() => void>): void {
  // A Set visits entries added during the loop and skips those deleted: a client ended by
  // another's tick is not called again.
  for (const tick of ticks) {
    try {
      tick();
    } catch (error) {
      // One client's failure must not starve the others of their ticks; it stays an
      // uncaught exception, as it was with a timer of its own.
      nextTick(() => {
        throw error;
      });
    }
  }
}

/**
 * Calls `tick` every `periodMs` on the shared interval of that period (created on the first
 * registration, unref'd so it never keeps the process alive, cleared with the last one).
 * Each client passes a function of its own: the same function registered twice ticks once.
 * @returns the function that stops the ticks (idempotent).
 */
export function everyPeriod(periodMs: number, tick: () => void): () => void {
  let wheel = wheels.get(periodMs);
  if (wheel === undefined) {
    const ticks = new Set<() => void>();
    const timer = setInterval(turn, periodMs, ticks);
    unref(timer);
    wheel = { timer, ticks };
    wheels.set(periodMs, wheel);
  }
  const own = wheel;
  own.ticks.add(tick);
  return () => {
    if (!own.ticks.delete(tick) || own.ticks.size > 0) return;
    clearInterval(own.timer);
    if (wheels.get(periodMs) === own) wheels.delete(periodMs);
  };
}
