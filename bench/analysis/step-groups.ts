import type { StepResult } from '../results.js';

// Steps that measure the same thing: the same workload, server count and load level, repeated
// once per trial (--trials). Charts plot one point per group; compare tests one group against the
// matching group of the other run.

export interface StepGroup {
  /** Stable identity used to match groups across runs. */
  key: string;
  /** Human-readable: "get · 2 servers · 60% load". */
  label: string;
  workload: string;
  serverCount: number;
  phase: StepResult['phase'];
  loadFraction: number | null;
  targetOpsPerSec: number | null;
  /** One step per trial, in trial order. */
  steps: StepResult[];
}

/** The load level part of a step's identity: "max", a fraction, or an absolute rate. */
function levelOf(step: StepResult): string {
  if (step.phase === 'max') return 'max';
  if (step.loadFraction !== null) return `f${round(step.loadFraction, 4)}`;
  return `r${step.targetOpsPerSec ?? 'unpaced'}`;
}

export function stepKey(step: StepResult): string {
  return `${step.workload}|${step.serverCount}|${step.mode}|${levelOf(step)}`;
}

/** "1 server", "3 servers". */
export function serversLabel(count: number): string {
  return `${count} server${count === 1 ? '' : 's'}`;
}

export function stepLabel(step: Pick<StepResult, 'workload' | 'serverCount' | 'phase' | 'loadFraction' | 'targetOpsPerSec'>): string {
  let level: string;
  if (step.phase === 'max') level = 'max (closed loop)';
  else if (step.loadFraction !== null) level = `${round(step.loadFraction * 100, 1)}% load`;
  else level = step.targetOpsPerSec === null ? 'unpaced' : `${step.targetOpsPerSec} ops/s`;
  return `${step.workload} · ${serversLabel(step.serverCount)} · ${level}`;
}

/** Groups steps by identity, in order of first appearance, trials sorted. */
export function groupSteps(steps: readonly StepResult[]): StepGroup[] {
  const groups = new Map<string, StepGroup>();
  for (const step of steps) {
    const key = stepKey(step);
    let g = groups.get(key);
    if (!g) {
      g = {
        key,
        label: stepLabel(step),
        workload: step.workload,
        serverCount: step.serverCount,
        phase: step.phase,
        loadFraction: step.loadFraction,
        targetOpsPerSec: step.targetOpsPerSec,
        steps: [],
      };
      groups.set(key, g);
    }
    g.steps.push(step);
  }
  for (const g of groups.values()) g.steps.sort((a, b) => a.trial - b.trial || a.index - b.index);
  return [...groups.values()];
}

function round(x: number, digits: number): number {
  const f = 10 ** digits;
  return Math.round(x * f) / f;
}
