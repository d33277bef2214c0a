// --steal_retries: a step measured while the hypervisor gave the machine to another tenant is
// measured again, and both attempts are kept. The hypervisor is scripted (readTicks); the workers,
// the server and the sockets are real.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { parseBenchArgs } from '../bench/run/config.js';
import { Coordinator } from '../bench/run/coordinator.js';
import { planSteps } from '../bench/run/plan.js';
import type { CpuTicks } from '../bench/run/cpu-ticks.js';
import { spawnServer } from '../server/spawn.js';

async function runWithSteal(stealPerStep: number[], retries: number) {
  const server = await spawnServer({ args: ['--snapshot-interval', '0', '--log-level', 'warn'] });
  after(() => server.stop());
  const parsed = parseBenchArgs(['--servers', server.address, '--mode', 'closed', '--workloads', 'put', '--step_duration', '0.2', '--num_threads', '1', '--connections', '1', '--steal_retries', String(retries), '--quiet']);
  assert.equal(parsed.kind, 'config');
  if (parsed.kind !== 'config') throw new Error('unreachable');
  const config = parsed.config;
  // Two readings per step (before, after); each step lasts 1000 ticks of machine time.
  let reading = 0;
  let ticks: CpuTicks = { steal: 0, total: 0 };
  const readTicks = (): CpuTicks => {
    const step = Math.floor(reading / 2);
    if (reading % 2 === 1) ticks = { steal: ticks.steal + Math.round((stealPerStep[step] ?? 0) * 1000), total: ticks.total + 1000 };
    reading++;
    return ticks;
  };
  const coordinator = await Coordinator.start(config);
  try {
    return await coordinator.runPlan(planSteps(config), [server.address], new AbortController().signal, undefined, readTicks);
  } finally {
    await coordinator.close();
  }
}

test('a step with more than 5% steal is measured again, up to --steal_retries times, every attempt kept', async () => {
  const outcome = await runWithSteal([0.3, 0.2, 0.01], 3);
  assert.equal(outcome.failure, null);
  assert.deepEqual(
    outcome.steps.map((s) => s.stealFraction),
    [0.3, 0.2, 0.01],
    'two disturbed attempts, then a clean one',
  );
  assert.ok(outcome.steps.every((s) => s.trial === 0 && s.workload === 'put' && s.requests > 0));
  assert.equal(outcome.events.filter((e) => e.kind === 'steal-retry').length, 2);

  const capped = await runWithSteal([0.3, 0.3, 0.3], 1);
  assert.deepEqual(
    capped.steps.map((s) => s.stealFraction),
    [0.3, 0.3],
    'no more than --steal_retries extra attempts',
  );
});
