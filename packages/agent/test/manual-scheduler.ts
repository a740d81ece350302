// A scheduler for the topic table's publish timers that runs only when the test moves time on:
// the period each row schedules is read, not measured, and a loaded machine cannot change how
// many ticks fall into a span of time.
import type { IntervalScheduler } from '../src/agent/topic-table.js';

interface Timer {
  readonly periodMs: number;
  readonly fn: () => void;
  dueMs: number;
}

/** An {@link IntervalScheduler} whose time moves only with {@link ManualScheduler.advance}. */
export class ManualScheduler implements IntervalScheduler {
  #nowMs = 0;
  readonly #timers = new Set<Timer>();

  every(periodMs: number, fn: () => void): () => void {
    if (!(periodMs > 0)) throw new RangeError(`periodMs must be positive, got ${periodMs}`);
    const timer: Timer = { periodMs, fn, dueMs: this.#nowMs + periodMs };
    this.#timers.add(timer);
    return () => {
      this.#timers.delete(timer);
    };
  }

  /** The periods of the running timers, shortest first. */
  periods(): number[] {
    return [...this.#timers].map((t) => t.periodMs).sort((a, b) => a - b);
  }

  /**
   * Moves time on by `ms`, calling each timer as often as it falls due, earliest first.
   * @returns the periods of the timers called, in the order they were called
   */
  advance(ms: number): number[] {
    const until = this.#nowMs + ms;
    const called: number[] = [];
    for (;;) {
      let next: Timer | undefined;
      for (const t of this.#timers) if (next === undefined || t.dueMs < next.dueMs) next = t;
      if (next === undefined || next.dueMs > until) break;
      this.#nowMs = next.dueMs;
      next.dueMs += next.periodMs;
      called.push(next.periodMs);
      next.fn();
    }
    this.#nowMs = until;
    return called;
  }
}
