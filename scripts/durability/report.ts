import { lossOf } from './loss.js';
import type { DurabilityRun } from './run.js';

// The durability run as text: one line per kill, then the totals and the verdict.

const EXPECTED: Record<string, string> = {
  always: 'no acknowledged write lost',
  everysec: 'no acknowledged write lost: a kill is a process crash, and a write is acknowledged only once the kernel has it (an OS crash could lose about the last second)',
  no: 'no acknowledged write lost: a kill is a process crash, and a write is acknowledged only once the kernel has it (an OS crash could lose what the kernel had not flushed)',
  'snapshot-only': 'only writes acknowledged after the last snapshot started lost',
};

export function formatDurabilityRun(run: DurabilityRun): string {
  const s = run.summary;
  const lines: string[] = [];
  lines.push(`server flags: ${run.serverArgs.join(' ')}`);
  lines.push(`seed ${run.seed}, data folder ${run.dir}${run.dirKept ? ' (kept)' : ' (removed)'}`);
  lines.push('');
  lines.push('kill  ran ms  acknowledged   lost  loss window ms  in-flight found  restart ms  keys after');
  for (const r of run.rounds) {
    const loss = lossOf(r);
    lines.push(
      `${String(r.kill).padStart(4)}  ${String(r.runMs).padStart(6)}  ${String(r.acked).padStart(12)}  ${String(loss.lost).padStart(5)}  ${String(loss.lossWindowMs).padStart(14)}  ${`${r.inFlightFound}/${r.inFlight}`.padStart(15)}  ${String(r.restartMs).padStart(10)}  ${String(r.keysAfterRestart).padStart(10)}`,
    );
  }
  lines.push('');
  lines.push(`policy: ${s.policy} (expected: ${EXPECTED[s.policy]})`);
  lines.push(`kills: ${s.kills}, survived: ${s.killsSurvived}`);
  lines.push(`acknowledged writes: ${s.acked}, lost: ${s.lost}, came back different: ${s.wrongValues}, lost after an earlier restart: ${s.regressions}`);
  lines.push(`loss window: ${s.maxLossWindowMs} ms (oldest lost write, acknowledged that long before its kill)`);
  lines.push(`writes in flight at a kill: ${s.inFlight}, found after the restart: ${s.inFlightFound} (either is allowed)`);
  lines.push(`slowest restart: ${s.maxRestartMs} ms; clean stop/start kept ${run.cleanRestartChecked} writes checked`);
  lines.push(`duration: ${(run.durationMs / 1000).toFixed(1)} s`);
  for (const p of s.problems) lines.push(`PROBLEM: ${p}`);
  lines.push(s.problems.length === 0 ? 'RESULT: PASS' : `RESULT: FAIL (data folder kept for inspection: ${run.dir})`);
  return `${lines.join('\n')}\n`;
}
