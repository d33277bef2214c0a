// --chaos figures: each kill or stop paired with the failover the workers made and each restart or
// cont with the rejoin. Pure: the actions carried out and the workers' merged node transitions in,
// the outages of results.json out.

import type { ChaosActionKind, ChaosOutage } from '../results.js';

/** An action as carried out: when (seconds since the run started) and on which address. */
export interface ChaosApplied {
  tSec: number;
  action: ChaosActionKind;
  server: number;
  address: string;
}

/**
 * The workers' view of a server, merged over workers: `down` when the first worker marked it
 * down, `up` when the last one routes to it again. `errors`: for down, requests to that server
 * that failed before the workers marked it down; for up, those that failed while it was down.
 */
export interface NodeTransition {
  tSec: number;
  address: string;
  state: 'down' | 'up';
  errors: number;
}

const ms = (sec: number): number => Math.round(sec * 1_000_000) / 1000;

/** Pairs outages with transitions. Transitions before an action belong to earlier outages. */
export function chaosOutages(applied: readonly ChaosApplied[], transitions: readonly NodeTransition[]): ChaosOutage[] {
  const outages: ChaosOutage[] = [];
  for (let i = 0; i < applied.length; i++) {
    const a = applied[i]!;
    if (a.action !== 'kill' && a.action !== 'stop') continue;
    const next = applied.slice(i + 1).find((b) => b.server === a.server);
    const recovery = next !== undefined && (next.action === 'restart' || next.action === 'cont') ? next : null;
    const endSec = applied.slice(i + 1).find((b) => b.server === a.server && (b.action === 'kill' || b.action === 'stop'))?.tSec ?? Infinity;
    const mine = transitions.filter((t) => t.address === a.address && t.tSec >= a.tSec && t.tSec < endSec);
    const down = mine.find((t) => t.state === 'down');
    const up = recovery === null ? undefined : mine.find((t) => t.state === 'up' && t.tSec >= recovery.tSec);
    outages.push({
      action: a.action,
      server: a.server,
      address: a.address,
      atSec: a.tSec,
      failoverMs: down === undefined ? null : ms(down.tSec - a.tSec),
      errorsBeforeFailover: mine.filter((t) => t.state === 'down').reduce((n, t) => n + t.errors, 0),
      errorsWhileDown: mine.filter((t) => t.state === 'up').reduce((n, t) => n + t.errors, 0),
      recovery: recovery === null ? null : (recovery.action as 'restart' | 'cont'),
      recoveryAtSec: recovery?.tSec ?? null,
      rejoinMs: up === undefined || recovery === null ? null : ms(up.tSec - recovery.tSec),
    });
  }
  return outages;
}
