// One bench run, start to finish: servers up, workers up, the plan measured, files written,
// everything stopped — whatever happens (an error, a signal). The CLI is a thin shell around it.

import { writeReports } from '../report/render.js';
import { chaosOutages } from '../analysis/chaos-outages.js';
import { ChaosRunner } from './chaos-runner.js';
import type { BenchConfig } from './config.js';
import { Coordinator, type CoordinatorHooks, type PlanOutcome } from './coordinator.js';
import { ErrorRateExceededError, InterruptedError } from '../errors.js';
import { gitCommit, kvringVersion, machineInfo } from './machine.js';
import { createRunDir, linkLatest, writeRunFiles } from './output.js';
import { estimateSeconds, planSteps } from './plan.js';
import { Progress } from './progress.js';
import { SCHEMA_VERSION, totalErrors, type ChaosResult, type PlacementRecord, type RunResult } from '../results.js';
import { canPin, pinProcess, readCpuBudget } from './cpu-budget.js';
import { formatCpuList, planPlacement } from './placement.js';
import { describePlacement } from '../placement-text.js';
import { computeSlo } from '../analysis/slo.js';
import { startTargets, TargetSet } from './targets.js';
import { deleteKeys } from './cleanup.js';
import { deleteNamespace, sharedKeyName } from '../key-names.js';
import { firstWorker, keysOfPart, PlannedStarts, type GeneratorPart } from './generator-part.js';
import { planIdOf } from './plan-file.js';
import { stepTimeline } from './plan.js';
import { WallClock, waitUntil } from './start-clock.js';
import { clockKey, exchangeClocks } from './clock-exchange.js';
import type { ClockReading, GeneratorRecord } from '../results.js';

/** The clock exchange ends this long before the common start, so the first step runs undisturbed. */
const CLOCK_EXCHANGE_ENDS_BEFORE_START_MS = 300;

export interface RunOutcome {
  result: RunResult | null;
  runDir: string | null;
  /** index.html was written into runDir (and reports/latest points there). */
  reported: boolean;
  /** Set when the run must exit non-zero although it produced results (error rate, interrupt). */
  failure: Error | null;
}

/** Settings as written into results.json: plain JSON, workloads by name and mix. */
export function configRecord(config: BenchConfig): Record<string, unknown> {
  return JSON.parse(JSON.stringify(config)) as Record<string, unknown>;
}

/**
 * Runs the bench described by `config`. `signal` aborts it (Ctrl-C): the current step finishes,
 * partial results are written, servers are stopped. Progress goes to stderr, nothing to stdout.
 */
export async function runBench(config: BenchConfig, signal: AbortSignal): Promise<RunOutcome> {
  const progress = new Progress(!config.quiet, config.numRequests === null ? config.stepDurationSec : null);
  const startedAt = new Date();
  // Before any pinning narrows this process's own view of the machine.
  const machine = machineInfo();
  const set = new TargetSet(config.target);
  let coordinator: Coordinator | null = null;
  let outcome: PlanOutcome | null = null;
  let chaos: ChaosRunner | null = null;
  let chaosResult: ChaosResult | null = null;
  let placement: PlacementRecord | null = null;
  // --start_at: this run follows a timeline, alone or as one part of a split run.
  const part: GeneratorPart | null = config.startAt === null ? null : { index: config.generatorIndex, count: config.generators, threads: config.numThreads };
  const startAtMs = config.startAt === null ? 0 : Date.parse(config.startAt);
  const planId = planIdOf(config);
  let clockReading: ClockReading | null = null;
  let planEndAtMs = 0;
  try {
    const plan = planSteps(config);
    const estimate = estimateSeconds(plan, config);
    progress.note(
      `kvring bench: ${plan.length} steps over ${config.serverCounts.join(',')} server(s) × ${config.workloads.map((w) => w.name).join(', ')}` +
        (estimate === null ? '' : `, about ${Math.ceil(estimate)} s of measurement`),
    );
    placement = await decidePlacement(config);
    if (config.workerThreads < config.numThreads) {
      progress.note(`${config.numThreads} clients on ${config.workerThreads} worker thread(s): clients share a thread's event loop rather than wait for a core each (--worker_threads to change)`);
    }
    for (const warning of placement.warnings) progress.note(`note: ${warning}`);
    const plan0 = placement;
    if (plan0.pinned) {
      // Servers beyond the sweep's largest count stay idle and unpinned.
      set.place = async (index, pid) => {
        const cpus = plan0.serverCpus?.[index];
        if (cpus !== undefined) await pinProcess(pid, cpus);
      };
      progress.note(`placement: ${describePlacement(plan0)} (--placement off to let the scheduler decide)`);
    }
    if (set.kind !== 'external') progress.note(`starting ${config.numServers} ${set.kind} server(s)…`);
    // Said even with --quiet: it concerns someone else's data.
    else process.stderr.write(`${writesNote(config)}\n`);
    await startTargets(config, set);
    // Every thread of this process beside the servers; each worker thread then moves itself (and
    // the ticker it starts) to the generator's cores.
    if (plan0.pinned) await pinProcess(process.pid, plan0.helperCpus!);
    if (signal.aborted) throw new InterruptedError('a signal');
    const hooks: CoordinatorHooks = {
      onPreload: (n, keys) => progress.onPreload(n, keys),
      onWarmUp: (detail) => progress.onWarmUp(detail),
      onStepStart: (p, t, n) => progress.onStepStart(p, t, n),
      onInterval: (point) => progress.onInterval(point),
      onStepDone: (step) => progress.onStepDone(step),
      onFirstStep: () => chaos?.start(),
    };
    const c = await Coordinator.start(config, hooks, plan0.pinned ? formatCpuList(plan0.generatorCpus!) : null);
    coordinator = c;
    if (c.pinProblems.length > 0) {
      const warning = `worker threads could not be pinned to CPU ${formatCpuList(plan0.generatorCpus!)} (${c.pinProblems[0]}): they share the servers' cores`;
      placement.warnings.push(warning);
      progress.note(`note: ${warning}`);
    }
    if (part !== null) {
      const timeline = stepTimeline(plan, config);
      planEndAtMs = startAtMs + timeline.endMs;
      const clock = new WallClock();
      await c.warmUp(set.addresses, 0);
      const leadMs = startAtMs - clock.nowMs();
      progress.note(
        leadMs >= 0
          ? `generator ${part.index} of ${part.count} (plan ${planId}): waiting for the common start at ${config.startAt} (in ${(leadMs / 1000).toFixed(1)} s); the plan ends at ${new Date(planEndAtMs).toISOString()}`
          : `note: generator ${part.index} of ${part.count} (plan ${planId}) is ${(-leadMs / 1000).toFixed(1)} s late for the common start at ${config.startAt}: its steps start late and its results say by how much`,
      );
      if (part.count > 1 && config.servers.length > 0) {
        clockReading = await exchangeClocks({
          server: config.servers[0]!,
          keyPrefix: config.keyPrefix,
          startAtMs,
          planId,
          index: part.index,
          count: part.count,
          untilMs: startAtMs - CLOCK_EXCHANGE_ENDS_BEFORE_START_MS,
          nowMs: () => clock.nowMs(),
          signal,
          onSeen: (seen, count) => {
            if (seen === count) progress.note(`all ${count} generators are up`);
          },
        });
        const seen = new Set([part.index, ...Object.keys(clockReading.aheadAtMostMs).map(Number)]);
        const missing = Array.from({ length: part.count }, (_, i) => i).filter((i) => !seen.has(i));
        if (missing.length > 0 && clockReading.rounds > 0) progress.note(`note: generator(s) ${missing.join(', ')} did not show up before the start (${seen.size} of ${part.count} seen); merge will name any part that is missing`);
        for (const [other, ahead] of Object.entries(clockReading.aheadAtMostMs)) {
          if (ahead < -config.maxStartSkewMs) progress.note(`warning: this generator's clock is at least ${(-ahead).toFixed(1)} ms behind generator ${other}'s: their steps will not start together (check NTP on both machines)`);
        }
      }
      c.useTiming(new PlannedStarts(part, startAtMs, timeline.times, config.maxStartSkewMs, config.stepGapMs, clock));
    }
    if (config.chaos !== null) {
      chaos = new ChaosRunner(config.chaos, set.handles, () => c.elapsedSec(), (kind, detail, tSec) => c.addEvent(kind, detail, tSec));
      progress.note(`chaos: ${config.chaosText} (times from the start of the first measured step)`);
    }
    outcome = await c.runPlan(plan, set.addresses, signal, (addresses) => set.pidsOf(addresses));
  } finally {
    // Chaos first: a restart under way must finish (and be stopped) before the servers are stopped.
    await chaos?.stop();
    if (chaos !== null && coordinator !== null) {
      chaosResult = { schedule: config.chaosText ?? '', clockStartSec: chaos.clockStartSec, outages: chaosOutages(chaos.applied, coordinator.transitions) };
      outcome?.events.sort((a, b) => a.tSec - b.tSec);
    }
    progress.stop();
    await coordinator?.close();
    if (config.cleanup && outcome !== null && set.addresses.length > 0) {
      // A part deletes its own keys, after the plan's end: the others may still be measuring. A
      // whole run is the one part of itself.
      const split = part !== null && config.generators > 1;
      if (split) await waitUntil(new WallClock(), planEndAtMs, signal);
      const mine = part ?? { index: 0, count: 1, threads: config.numThreads };
      const keys = keysOfPart(mine, config.keyPrefix, config.keySpace, outcome.deleteCursors);
      if (split) keys.push(clockKey(config.keyPrefix, startAtMs, mine.index));
      try {
        const removed = await deleteKeys(set.addresses, keys, Math.max(config.timeoutMs, 5000));
        process.stderr.write(`cleanup: deleted ${removed} of the ${keys.length} key names this run may have written\n`);
      } catch (err) {
        process.stderr.write(`warning: cleanup did not finish (${(err as Error).message}); the run's keys start with "${config.keyPrefix}"\n`);
      }
    }
    await set.stop();
  }

  const result: RunResult = {
    schemaVersion: SCHEMA_VERSION,
    kvringVersion: await kvringVersion(),
    gitCommit: await gitCommit(),
    label: config.label,
    startedAt: startedAt.toISOString(),
    finishedAt: new Date().toISOString(),
    machine,
    target: config.target,
    servers: [...set.addresses],
    config: configRecord(config),
    steps: outcome.steps,
    intervals: outcome.intervals,
    slo: config.slo === null ? null : computeSlo(outcome.steps, config.slo, config.maxErrorRate),
    events: outcome.events,
    interrupted: outcome.interrupted,
    chaos: chaosResult,
    ...(placement === null ? {} : { placement }),
    ...(part === null || config.generators === 1 ? {} : { generator: generatorRecord(part, planId, config.startAt!, clockReading) }),
  };
  const runDir = await createRunDir(config.outDir, startedAt, config.label);
  await writeRunFiles(runDir, result, outcome.histograms);
  let reported = false;
  if (config.charts) {
    try {
      await writeReports(result, runDir);
      reported = true;
    } catch (err) {
      // Charts are a view of results.json, which is already safe on disk: warn, don't fail the run.
      progress.note(`warning: charts were not written (${(err as Error).message}); the results are in ${runDir}/results.json — rerun: npm run report -- ${runDir}`);
    }
  }
  // reports/latest is where a user looks for the last report: it moves only to a run that has one;
  // reports/latest-run is the last run whatever it wrote (scripts that render later read it).
  // Parts of a split run may share one folder (a volume of every pod): one link for all would
  // race, and the report to look at is the merged one.
  if (config.generators === 1) {
    await linkLatest(config.outDir, runDir, 'latest-run');
    if (reported) await linkLatest(config.outDir, runDir);
  }

  // Failures are reported only now, with the partial results already safe on disk.
  return { result, runDir, reported, failure: outcome.failure ?? (outcome.interrupted ? new InterruptedError('a signal') : errorRateFailure(result, config, runDir)) };
}

function generatorRecord(part: GeneratorPart, planId: string, startAt: string, clock: ClockReading | null): GeneratorRecord {
  return { index: part.index, count: part.count, planId, startAt, firstWorker: firstWorker(part), threads: part.threads, clock };
}

/** The run's failure when more requests failed than --max_error_rate allows, else null. */
function errorRateFailure(result: RunResult, config: BenchConfig, runDir: string): Error | null {
  const requests = result.steps.reduce((a, s) => a + s.requests, 0);
  const errors = result.steps.reduce((a, s) => a + totalErrors(s.errors), 0);
  const rate = requests === 0 ? 0 : errors / requests;
  if (rate <= config.maxErrorRate) return null;
  return new ErrorRateExceededError(
    `${errors} of ${requests} requests failed (${(rate * 100).toFixed(2)}% > --max_error_rate ${(config.maxErrorRate * 100).toFixed(2)}%); see errors per step in ${runDir}/results.json`,
  );
}

/** Where this run's processes go: the machine's CPU budget against the run's shape. */
async function decidePlacement(config: BenchConfig): Promise<PlacementRecord> {
  const budget = readCpuBudget();
  const serversStarted = config.target !== 'external';
  const plan = planPlacement({
    budget,
    maxServers: Math.max(...config.serverCounts),
    serversStarted,
    generatorThreads: config.workerThreads,
    mode: config.placement,
    canPin: config.placement === 'auto' ? await canPin() : false,
  });
  return { mode: config.placement, cpus: budget.cpus, quotaCores: budget.quotaCores, ...plan };
}

/** What a run against someone's servers will write there, said before the first step. */
function writesNote(config: BenchConfig): string {
  const first = sharedKeyName(config.keyPrefix, 0, config.keySpace);
  const last = sharedKeyName(config.keyPrefix, config.keySpace - 1, config.keySpace);
  return (
    `note: this run writes into ${config.servers.join(', ')}: up to ${config.keySpace} keys ${first} … ${last}` +
    (config.workloads.some((w) => w.mix.delete > 0) ? ` and DELETE keys ${deleteNamespace(config.keyPrefix, 0)}…` : '') +
    (config.cleanup ? '; --cleanup deletes them at the end' : '; add --cleanup to delete them at the end, --key_prefix to name them apart')
  );
}
