// Live display on stderr: a progress bar per step with the last interval's ops/s and p99 (on a
// terminal), or one line per finished step (pipes, CI logs). Silent with --quiet.

import cliProgress from 'cli-progress';
import type { CoordinatorHooks } from './coordinator.js';
import type { PlannedStep } from './plan.js';
import type { IntervalPoint, StepResult } from '../results.js';
import { fmtUs, phaseLabel } from './summary.js';

function stepLabel(p: PlannedStep): string {
  return `${p.serverCount} srv ${p.workload.name} ${phaseLabel(p)}${p.trial > 0 ? ` #${p.trial + 1}` : ''}`;
}

export class Progress implements CoordinatorHooks {
  private bar: cliProgress.SingleBar | null = null;
  private ticker: NodeJS.Timeout | null = null;
  private stepStartMs = 0;
  private done = 0;
  private current: PlannedStep | null = null;
  private readonly tty: boolean;

  constructor(
    private readonly enabled: boolean,
    private readonly stepDurationSec: number | null,
  ) {
    this.tty = process.stderr.isTTY === true;
  }

  note(text: string): void {
    if (this.enabled) process.stderr.write(`${text}\n`);
  }

  onPreload(serverCount: number, keys: number): void {
    this.note(`preloading ${keys} keys over ${serverCount} server(s)…`);
  }

  onWarmUp(detail: string): void {
    this.note(`warming up: ${detail}…`);
  }

  onStepStart(planned: PlannedStep, targetOpsPerSec: number | null, plannedCount: number): void {
    this.current = planned;
    if (!this.enabled || !this.tty) return;
    this.stepStartMs = performance.now();
    const label = `[${this.done + 1}/${plannedCount}] ${stepLabel(planned)}`.padEnd(30);
    this.bar = new cliProgress.SingleBar(
      {
        format: `${label} {bar} {elapsed}s | {ops} ops/s${targetOpsPerSec === null ? '' : ` (target ${Math.round(targetOpsPerSec)})`} | p99 {p99}`,
        stream: process.stderr,
        hideCursor: true,
        clearOnComplete: false,
        barsize: 20,
      },
      cliProgress.Presets.shades_classic,
    );
    const total = Math.round((this.stepDurationSec ?? 1) * 10);
    this.bar.start(total, 0, { ops: '-', p99: '-', elapsed: '0.0' });
    this.ticker = setInterval(() => {
      const elapsedSec = (performance.now() - this.stepStartMs) / 1000;
      this.bar?.update(Math.min(total, Math.round(elapsedSec * 10)), { elapsed: elapsedSec.toFixed(1) });
    }, 100);
    this.ticker.unref();
  }

  onInterval(point: IntervalPoint): void {
    this.bar?.update({ ops: String(point.opsPerSec), p99: fmtUs(point.p99Us) });
  }

  onStepDone(step: StepResult): void {
    this.done++;
    if (!this.enabled) return;
    const text = `${Math.round(step.achievedOpsPerSec)} ops/s, p99 ${fmtUs(step.total.latency.p99Us)}${step.client.clientBound ? ' [client_bound]' : ''}`;
    if (this.bar !== null) {
      if (this.ticker !== null) clearInterval(this.ticker);
      this.bar.update(this.bar.getTotal(), { ops: String(Math.round(step.achievedOpsPerSec)), p99: fmtUs(step.total.latency.p99Us) });
      this.bar.stop();
      this.bar = null;
      return;
    }
    if (this.current !== null) process.stderr.write(`step ${step.index}: ${stepLabel(this.current)}: ${text}\n`);
  }

  stop(): void {
    if (this.ticker !== null) clearInterval(this.ticker);
    this.bar?.stop();
    this.bar = null;
  }
}
