// Reconnect and probe delays: exponential backoff with "equal jitter", capped. Pure, so tests and
// the docs can state exact numbers.

/**
 * Delay before retry number `attempt` (0 = first retry), in milliseconds: the capped exponential
 * step `min(maxMs, baseMs · 2^attempt)`, of which the upper half is random. Keeping half fixed
 * bounds how soon a retry can come (no reconnect storm against a restarting server), the random
 * half spreads many clients' retries apart. `random` returns a number in [0, 1).
 */
export function backoffDelayMs(attempt: number, baseMs: number, maxMs: number, random: () => number = Math.random): number {
  // 2^30 already exceeds any sane cap; clamping the exponent keeps the arithmetic finite.
  const step = Math.min(maxMs, baseMs * 2 ** Math.min(attempt, 30));
  return step / 2 + random() * (step / 2);
}
