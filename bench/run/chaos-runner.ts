// Carries out a --chaos schedule during a run: from the start of the first measured step, at each
// action's time, kill -9 / SIGSTOP / SIGCONT a server the run started, or restart it on the same
// port with the same data folder. Every action becomes an event of the run (chaos-kill,
// chaos-stop, chaos-cont, chaos-restart) and a ChaosApplied record for bench/run/chaos.ts.

import type { ChaosApplied } from '../analysis/chaos-outages.js';
import type { ChaosAction } from './chaos.js';
import type { ServerHandle } from './targets.js';

export type RecordEvent = (kind: string, detail: string, tSec?: number) => void;

const SIGNALS = { kill: 'SIGKILL', stop: 'SIGSTOP', cont: 'SIGCONT' } as const;

export class ChaosRunner {
  readonly applied: ChaosApplied[] = [];
  private readonly timers: NodeJS.Timeout[] = [];
  private readonly running = new Set<Promise<void>>();
  private readonly done = new Set<number>();
  private started = false;
  private stopped = false;
  /** Run-clock second at which the schedule started, or null if no step ever started. */
  clockStartSec: number | null = null;

  constructor(
    private readonly actions: readonly ChaosAction[],
    private readonly handles: readonly ServerHandle[],
    private readonly nowSec: () => number,
    private readonly record: RecordEvent,
  ) {}

  /** Starts the schedule's clock (idempotent). */
  start(): void {
    if (this.started || this.stopped) return;
    this.started = true;
    this.clockStartSec = this.nowSec();
    this.actions.forEach((a, i) => {
      this.timers.push(setTimeout(() => this.apply(a, i), a.atSec * 1000));
    });
  }

  private apply(a: ChaosAction, i: number): void {
    if (this.stopped) return;
    this.done.add(i);
    const handle = this.handles[a.server - 1]!;
    const tSec = this.nowSec();
    this.applied.push({ tSec, action: a.action, server: a.server, address: handle.address });
    if (a.action !== 'restart') {
      handle.signal(SIGNALS[a.action]);
      this.record(`chaos-${a.action}`, `server ${a.server} (${handle.address}): ${SIGNALS[a.action]}`, tSec);
      return;
    }
    this.record('chaos-restart', `server ${a.server} (${handle.address}): starting again on the same port and data folder`, tSec);
    const p = handle.restart().then(
      () => this.record('chaos-ready', `server ${a.server} (${handle.address}): ready after ${Math.round((this.nowSec() - tSec) * 1000)} ms`),
      (err: unknown) => this.record('chaos-restart-failed', `server ${a.server} (${handle.address}): ${(err as Error).message.split('\n')[0]}`),
    );
    this.running.add(p);
    void p.finally(() => this.running.delete(p));
  }

  /** Cancels what has not happened yet (recorded as chaos-skipped) and waits for restarts under way. */
  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    for (const t of this.timers) clearTimeout(t);
    this.actions.forEach((a, i) => {
      if (!this.done.has(i) && this.started) this.record('chaos-skipped', `${a.action}:${a.server}@${a.atSec}s: the run ended first`);
    });
    await Promise.all([...this.running]);
  }
}
