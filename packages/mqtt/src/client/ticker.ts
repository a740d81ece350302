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

/** What ticks: a client, registered as itself (no closure per client). */
export interface Tickable {
  tick(): void;
}

interface Wheel {
  readonly timer: ReturnType<typeof setInterval>;
  readonly ticks: Set<Tickable>;
}

/** The shared intervals, by period in milliseconds. */
const wheels = new Map<number, Wheel>();

function turn(ticks: Set<Tickable>): void {
  // A Set visits entries added during the loop and skips those deleted: a client ended by
  // another's tick is not called again.
  for (const target of ticks) {
    try {
      target.tick();
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
 * Calls `target.tick()` every `periodMs` on the shared interval of that period (created on
 * the first registration, unref'd so it never keeps the process alive). The same target
 * registered twice ticks once.
 */
export function startTicks(periodMs: number, target: Tickable): void {
  let wheel = wheels.get(periodMs);
  if (wheel === undefined) {
    const ticks = new Set<Tickable>();
    const timer = setInterval(turn, periodMs, ticks);
    unref(timer);
    wheel = { timer, ticks };
    wheels.set(periodMs, wheel);
  }
  wheel.ticks.add(target);
}

/**
 * Stops the ticks {@link startTicks} began (idempotent); the interval is cleared with its
 * last target.
 */
export function stopTicks(periodMs: number, target: Tickable): void {
  const wheel = wheels.get(periodMs);
  if (wheel === undefined || !wheel.ticks.delete(target) || wheel.ticks.size > 0) return;
  clearInterval(wheel.timer);
  wheels.delete(periodMs);
}
