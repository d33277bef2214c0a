// When a step counts as disturbed by the hypervisor: one rule for compare (--max_steal), the run's
// --steal_retries, the summary and the gate calibration. The steal share itself is measured per
// step by run/cpu-ticks.ts.

/**
 * Steal share above which a step counts as disturbed: compare leaves it out (default --max_steal),
 * --steal_retries measures it again, the summary calls it out.
 */
export const DISTURBED_STEAL_FRACTION = 0.05;

/** A step whose steal share is known and above `limit` (null: no limit, nothing is disturbed). */
export function disturbedBySteal(stealFraction: number | null | undefined, limit: number | null = DISTURBED_STEAL_FRACTION): boolean {
  return limit !== null && typeof stealFraction === 'number' && stealFraction > limit;
}
