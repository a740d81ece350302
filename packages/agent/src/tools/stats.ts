/**
 * Statistics of `courier bench`, kept apart from the networking so they are tested alone.
 *
 * @module
 */

/** The value at quantile `q` of sorted samples (nearest rank). */
export function percentile(sorted: readonly number[], q: number): number {
  if (sorted.length === 0) return Number.NaN;
  const rank = Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1));
  return sorted[rank] as number;
}
