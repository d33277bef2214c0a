import assert from 'node:assert/strict';
import type { TestContext } from 'node:test';

const MiB = 1024 * 1024;

/**
 * Checks, as a subtest of its own, that a server's resident memory grew less than `limitBytes`
 * between two readings (readRssBytes). Where RSS cannot be read (no /proc: not Linux) the subtest
 * is skipped and says so, instead of passing without having measured anything.
 */
export async function assertMemoryGrowthBelow(t: TestContext, what: string, beforeBytes: number | null, afterBytes: readonly (number | null)[] | number | null, limitBytes: number): Promise<void> {
  const after = Array.isArray(afterBytes) ? afterBytes : [afterBytes as number | null];
  const readable = beforeBytes !== null && after.every((b) => b !== null);
  const name = `${what}: server RSS grows less than ${Math.round(limitBytes / MiB)} MiB`;
  await t.test(name, { skip: readable ? false : 'the server\'s RSS cannot be read (no /proc/<pid>/status): memory bound not checked' }, () => {
    const peakGrowthBytes = Math.max(...(after as number[])) - beforeBytes!;
    assert.ok(peakGrowthBytes < limitBytes, `${what}: RSS grew ${(peakGrowthBytes / MiB).toFixed(0)} MiB`);
  });
}
