// The --chaos schedule and what it did, as data: `parseChaos` turns "kill:2@10s,restart:2@20s"
// into checked actions, `chaosOutages` pairs the actions the run carried out with the node-down /
// node-up transitions the workers observed, giving time to failover, errors and time to rejoin.
// Processes and timers live in bench/run/chaos-runner.ts; this file only takes data and returns data.

import { BenchConfigError } from '../errors.js';
import { CHAOS_ACTIONS, type ChaosActionKind } from '../results.js';


export interface ChaosAction {
  action: ChaosActionKind;
  /** 1-based, in the order the run started the servers (server 1 is the first address). */
  server: number;
  /** Seconds since the start of the first measured step. */
  atSec: number;
}

/**
 * Parses "kill:2@10s,restart:2@20s" (times in s or ms; a bare number is seconds). Checks that
 * each action makes sense where it happens: restart follows a kill of that server, cont follows
 * a stop, a killed server is not stopped. `numServers` bounds the server numbers. Sorted by time
 * (ties keep the order given).
 */
export function parseChaos(text: string, numServers: number): ChaosAction[] {
  const parts = text.split(',').map((s) => s.trim()).filter((s) => s !== '');
  if (parts.length === 0) throw new BenchConfigError('--chaos is empty: give e.g. kill:2@10s,restart:2@20s');
  const actions = parts.map((part) => {
    const m = /^([a-z]+):(\d+)@(\d+(?:\.\d+)?)(s|ms)?$/i.exec(part);
    if (m === null) throw new BenchConfigError(`--chaos entry "${part}" is not action:server@time, e.g. kill:2@10s (actions: ${CHAOS_ACTIONS.join(', ')}; time in s or ms)`);
    const action = m[1]!.toLowerCase();
    if (!(CHAOS_ACTIONS as readonly string[]).includes(action)) throw new BenchConfigError(`--chaos entry "${part}": unknown action "${m[1]}"; use one of ${CHAOS_ACTIONS.join(', ')}`);
    const server = Number(m[2]);
    if (!(server >= 1 && server <= numServers)) throw new BenchConfigError(`--chaos entry "${part}": server ${server} does not exist; servers are numbered 1 to ${numServers} in start order`);
    const value = Number(m[3]);
    const atSec = (m[4] ?? 's').toLowerCase() === 'ms' ? value / 1000 : value;
    return { action: action as ChaosActionKind, server, atSec };
  });
  const sorted = actions.map((a, i) => ({ a, i })).sort((x, y) => x.a.atSec - y.a.atSec || x.i - y.i).map((x) => x.a);
  const state = new Map<number, 'up' | 'killed' | 'stopped'>();
  for (const a of sorted) {
    const now = state.get(a.server) ?? 'up';
    const where = `--chaos ${a.action}:${a.server}@${a.atSec}s`;
    if (a.action === 'kill' || a.action === 'stop') {
      if (now === 'killed') throw new BenchConfigError(`${where}: server ${a.server} is already killed then; restart it first`);
      if (a.action === 'stop' && now === 'stopped') throw new BenchConfigError(`${where}: server ${a.server} is already stopped then; cont it first`);
      state.set(a.server, a.action === 'kill' ? 'killed' : 'stopped');
    } else if (a.action === 'restart') {
      if (now !== 'killed') throw new BenchConfigError(`${where}: restart needs an earlier kill of server ${a.server}`);
      state.set(a.server, 'up');
    } else {
      if (now !== 'stopped') throw new BenchConfigError(`${where}: cont needs an earlier stop of server ${a.server}`);
      state.set(a.server, 'up');
    }
  }
  return sorted;
}
