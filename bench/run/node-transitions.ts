// Servers going down and coming back, as the workers saw them, merged into one history: a server
// is down from the first worker that marked it down until the last one routes to it again.

import type { NodeTransition } from '../analysis/chaos-outages.js';
import type { WorkerToMain } from '../messages.js';

export class NodeTransitions {
  /** Node-down / node-up merged over workers (first down, last up). */
  readonly transitions: NodeTransition[] = [];
  /** Workers that consider each address down, and the failed requests of the open outage. */
  private readonly downBy = new Map<string, { workers: Set<number>; errorsWhileDown: number }>();

  /**
   * `runStartEpochMs`: when the run's clock started (ms since the epoch);
   * `addEvent` records a node-down / node-up event of the run.
   */
  constructor(
    private readonly runStartEpochMs: number,
    private readonly addEvent: (kind: string, detail: string, tSec: number) => void,
  ) {}

  add(m: Extract<WorkerToMain, { type: 'node' }>): void {
    const tSec = Math.round(m.atEpochMs - this.runStartEpochMs) / 1000;
    let d = this.downBy.get(m.address);
    if (m.state === 'down') {
      if (d === undefined) {
        d = { workers: new Set(), errorsWhileDown: 0 };
        this.downBy.set(m.address, d);
        this.transitions.push({ tSec, address: m.address, state: 'down', errors: m.errors });
        this.addEvent('node-down', `${m.address}: marked down by worker ${m.workerIndex}; its keys go to the next live server`, tSec);
      } else {
        // Another worker's failover errors belong to the same outage.
        for (let i = this.transitions.length - 1; i >= 0; i--) {
          const t = this.transitions[i]!;
          if (t.address === m.address && t.state === 'down') {
            t.errors += m.errors;
            break;
          }
        }
      }
      d.workers.add(m.workerIndex);
      return;
    }
    if (d === undefined) return;
    d.workers.delete(m.workerIndex);
    d.errorsWhileDown += m.errors;
    if (d.workers.size > 0) return;
    this.downBy.delete(m.address);
    this.transitions.push({ tSec, address: m.address, state: 'up', errors: d.errorsWhileDown });
    this.addEvent('node-up', `${m.address}: answers again; every worker routes its keys to it`, tSec);
  }
}
