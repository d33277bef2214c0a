// The terminal summary of a run: a RunResult in, a string out (no colour codes, fits 120 columns).

import { DISTURBED_STEAL_FRACTION, disturbedBySteal } from '../analysis/steal-limit.js';
import { totalErrors, type RunResult, type StepResult } from '../results.js';
import { describePlacement } from '../placement-text.js';

function fmtOps(x: number | null): string {
  if (x === null) return '-';
  if (x >= 1_000_000) return `${(x / 1_000_000).toFixed(2)}M`;
  if (x >= 10_000) return `${(x / 1000).toFixed(1)}k`;
  return String(Math.round(x));
}

/** Microseconds as µs below 1 ms, else ms or s. */
export function fmtUs(us: number): string {
  if (us < 1000) return `${Math.round(us)}µs`;
  if (us < 1_000_000) return `${(us / 1000).toFixed(us < 10_000 ? 2 : 1)}ms`;
  return `${(us / 1_000_000).toFixed(2)}s`;
}

/** Server CPU per request: one decimal below 10 µs, '-' when unknown. */
function fmtCpu(us: number | null | undefined): string {
  if (typeof us !== 'number') return '-';
  return us < 10 ? `${us.toFixed(1)}µs` : fmtUs(us);
}

/** "max" for a max probe, else the load level as a percentage ("50%"). */
export function phaseLabel(s: Pick<StepResult, 'phase' | 'loadFraction'>): string {
  if (s.phase === 'max') return 'max';
  return `${Math.round((s.loadFraction ?? 0) * 100)}%`;
}

function table(header: string[], rows: string[][]): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (cells: string[]): string => cells.map((c, i) => (i < 3 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join('  ').trimEnd();
  return [line(header), line(widths.map((w) => '-'.repeat(w))), ...rows.map(line)].join('\n');
}

/** Other processes' share of the machine above which the summary calls a step's machine busy. */
const BUSY_MACHINE_FRACTION = 0.05;

export function formatSummary(result: RunResult, runDir: string | null): string {
  const out: string[] = [];
  const trials = Math.max(1, ...result.steps.map((s) => s.trial + 1));
  out.push(
    `kvring bench — ${result.label}: ${result.target} target, ${result.servers.length} server(s), ${result.steps.length} steps` +
      (trials > 1 ? ` (${trials} trials each)` : '') +
      (result.interrupted ? ' — INTERRUPTED, partial results' : ''),
  );
  out.push(`${result.machine.cpuModel}, ${result.machine.cores} cores, Node ${result.machine.nodeVersion}, commit ${result.gitCommit ?? 'unknown'}`);
  const placement = result.placement;
  if (placement !== undefined) {
    out.push(
      `placement: ${describePlacement(placement)}`,
    );
    for (const w of placement.warnings) out.push(`NOTE: ${w}`);
  }
  out.push('');
  const rows = result.steps.map((s) => [
    String(s.serverCount),
    s.workload,
    phaseLabel(s) + (trials > 1 ? `#${s.trial + 1}` : ''),
    fmtOps(s.targetOpsPerSec),
    fmtOps(s.achievedOpsPerSec),
    fmtCpu(s.serverCpuUsPerRequest),
    fmtUs(s.total.latency.p50Us),
    fmtUs(s.total.latency.p99Us),
    fmtUs(s.total.latency.p999Us),
    fmtUs(s.total.latency.maxUs),
    fmtUs(s.total.serviceTime.p99Us),
    totalErrors(s.errors) === 0 ? '0' : `${totalErrors(s.errors)} (${(s.errorRate * 100).toFixed(2)}%)`,
    [s.partial === true ? 'partial' : '', s.client.clientBound ? 'client_bound' : ''].filter((x) => x !== '').join(' '),
  ]);
  out.push(table(['srv', 'workload', 'step', 'target/s', 'ops/s', 'cpu/req', 'p50', 'p99', 'p99.9', 'max', 'svc p99', 'errors', 'note'], rows));
  out.push('');
  out.push('Latency counts from each request\'s intended send time (coordinated omission corrected); "svc p99" from its actual send.');
  const partial = result.steps.filter((s) => s.partial === true);
  if (partial.length > 0) out.push(`partial: ${partial.map((s) => `step ${s.index}`).join(', ')} was cut short by the interrupt (${partial.map((s) => `${s.durationSec.toFixed(2)} s`).join(', ')} measured): not comparable with whole steps.`);
  if (result.steps.some((s) => typeof s.serverCpuUsPerRequest === 'number')) out.push('"cpu/req": CPU time the servers spent per request (all their threads, from /proc).');

  const stolen = result.steps.filter((s) => disturbedBySteal(s.stealFraction));
  if (stolen.length > 0) {
    const worst = Math.max(...stolen.map((s) => s.stealFraction!));
    out.push(
      `steal: in ${stolen.length} step(s) the hypervisor gave more than ${DISTURBED_STEAL_FRACTION * 100}% of this machine's CPU to other tenants (worst ${(worst * 100).toFixed(0)}%): ` +
        'their numbers describe a neighbour as much as the servers (compare leaves such trials out).',
    );
  }

  const busy = result.steps.filter((s) => typeof s.otherCpuFraction === 'number' && s.otherCpuFraction > BUSY_MACHINE_FRACTION);
  if (busy.length > 0) {
    const worst = Math.max(...busy.map((s) => s.otherCpuFraction!));
    out.push(
      `busy machine: in ${busy.length} step(s) other processes took more than ${BUSY_MACHINE_FRACTION * 100}% of this machine's CPU (worst ${(worst * 100).toFixed(0)}%): ` +
        'their latency tails describe the sharing as much as the servers; rerun on a quiet machine to compare.',
    );
  }

  const bound = result.steps.filter((s) => s.client.clientBound);
  if (bound.length > 0) {
    out.push('');
    out.push(`client_bound: ${bound.length} step(s) measured the load generator's limit, not the servers':`);
    for (const s of bound.slice(0, 8)) out.push(`  step ${s.index} (${s.serverCount} srv ${s.workload} ${phaseLabel(s)}): ${s.client.causes.join('; ')}`);
    if (bound.length > 8) out.push(`  … and ${bound.length - 8} more (see results.json steps[].client)`);
  }

  const maxSteps = result.steps.filter((s) => s.phase === 'max' && s.serverCount > 1 && s.trial === 0);
  if (maxSteps.length > 0) {
    out.push('');
    out.push('Per server at the max probe (share of keys, requests, p99):');
    for (const s of maxSteps) {
      const parts = s.servers.map((v) => `${v.server} ${(v.keyShare * 100).toFixed(1)}% ${fmtOps(v.requests)} ${fmtUs(v.latency.p99Us)}`);
      out.push(`  ${s.serverCount} srv ${s.workload}: ${parts.join(' | ')}`);
    }
  }

  if (result.slo !== null) {
    out.push('');
    out.push(`SLO ${result.slo.objective}: highest measured throughput that meets it`);
    for (const p of result.slo.points) {
      const value = p.maxOpsPerSec === null ? 'no level met it' : `${fmtOps(p.maxOpsPerSec)} ops/s (p${result.slo.percentile} ${fmtUs(p.latencyUs ?? 0)})`;
      out.push(`  ${p.serverCount} srv ${p.workload}: ${value}${p.clientBound ? ' [client_bound: may be the generator\'s limit]' : ''}`);
    }
  }
  if (result.chaos !== undefined && result.chaos !== null) {
    out.push('');
    out.push(`Chaos ${result.chaos.schedule} (times from the first measured step, at ${result.chaos.clockStartSec ?? '-'} s of the run):`);
    const ms = (x: number | null): string => (x === null ? '-' : `${Math.round(x)} ms`);
    for (const o of result.chaos.outages) {
      out.push(
        `  ${o.action} server ${o.server} (${o.address}) at ${o.atSec.toFixed(2)} s: failover ${ms(o.failoverMs)}, ${o.errorsBeforeFailover} errors before it, ${o.errorsWhileDown} while down; ` +
          (o.recovery === null ? 'not recovered' : `${o.recovery} at ${(o.recoveryAtSec ?? 0).toFixed(2)} s, rejoined after ${ms(o.rejoinMs)}`),
      );
    }
  }
  const requests = result.steps.reduce((a, s) => a + s.requests, 0);
  const errors = result.steps.reduce((a, s) => a + totalErrors(s.errors), 0);
  out.push('');
  out.push(`${requests} requests, ${errors} errors (${requests === 0 ? '0.00' : ((errors / requests) * 100).toFixed(2)}%).`);
  if (runDir !== null) out.push(`Results: ${runDir}/results.json`);
  return out.join('\n');
}
