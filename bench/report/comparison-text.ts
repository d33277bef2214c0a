import { OUTCOME_EXIT_CODES, type Comparison, type Metric, type MetricComparison, type StepComparison } from '../analysis/compare.js';
import type { CostChange, CostComparison, CostMetric } from '../analysis/costs.js';
import { COST_OPERATIONS } from '../costs/sequence.js';
import { smallestOneSidedP } from '../analysis/statistics.js';
import { formatMs, formatOps } from './chart-data.js';

// A Comparison as text: the markdown summary (--markdown FILE, $GITHUB_STEP_SUMMARY) and the plain
// table compare prints on the terminal. Pure functions of the Comparison.

const METRIC_NAMES: Record<Metric, string> = { throughput: 'throughput', server_cpu: 'server CPU/request', p50: 'p50', p99: 'p99' };

export function formatPercent(fraction: number, digits = 1): string {
  if (!Number.isFinite(fraction)) return fraction > 0 ? '+∞%' : '−∞%';
  const v = fraction * 100;
  const s = Math.abs(v).toFixed(digits);
  if (Number(s) === 0) return `±${s}%`;
  return `${v > 0 ? '+' : '−'}${s}%`;
}

function formatValue(metric: Metric, value: number): string {
  if (metric === 'throughput') return formatOps(value);
  if (metric === 'server_cpu') return `${value >= 100 ? value.toFixed(0) : value.toFixed(1)} µs`;
  return formatMs(value);
}

function formatP(p: number | null): string {
  if (p === null) return 'untested';
  return p < 0.001 ? 'p<0.001' : `p=${p.toFixed(3)}`;
}

function formatDetectable(d: number | null): string {
  if (d === null) return '—';
  return Number.isFinite(d) ? `±${(d * 100).toFixed(1)}%` : 'none';
}

/** "41.2k → 37.1k (−9.9%)" or "—" when the step has no such metric. */
export function metricCell(m: MetricComparison | undefined): string {
  if (!m) return '—';
  return `${formatValue(m.metric, m.baselineMedian)} → ${formatValue(m.metric, m.candidateMedian)} (${formatPercent(m.change)})`;
}

/** The verdict of one step in words, naming the metrics that decided it. */
export function stepVerdictText(s: StepComparison): string {
  const describe = (m: MetricComparison): string => `${METRIC_NAMES[m.metric]} ${formatPercent(m.change)}${m.tested ? ` ${formatP(m.worsening > 0 ? m.pWorse : m.pBetter)}` : ''}`;
  const gated = s.metrics.filter((m) => m.gated);
  const parts: string[] = [];
  switch (s.verdict) {
    case 'regression':
      parts.push(`REGRESSION: ${gated.filter((m) => m.verdict === 'regression').map(describe).join(', ')}`);
      break;
    case 'not-significant':
      parts.push(`within noise: ${gated.filter((m) => m.verdict === 'not-significant').map(describe).join(', ')} not significant`);
      break;
    case 'untested':
      parts.push(`UNTESTED (${s.baselineTrials}/${s.candidateTrials} trials, too few to test): ${gated.filter((m) => m.verdict === 'untested').map(describe).join(', ')}`);
      break;
    case 'improvement':
      parts.push(`improved: ${gated.filter((m) => m.verdict === 'improvement').map(describe).join(', ')}`);
      break;
    case 'unchanged':
      if (gated.length > 0) parts.push('unchanged');
      break;
  }
  // An untested ungated metric is listed only when it moved beyond its threshold: the gated verdict
  // already says the step could not be tested.
  const ungated = s.metrics.filter(
    (m) => !m.gated && (m.verdict === 'regression' || m.verdict === 'improvement' || (m.verdict === 'untested' && Math.abs(m.worsening) > m.threshold)),
  );
  if (ungated.length > 0) {
    const list = ungated.map((m) => `${m.worsening > 0 ? 'worse' : 'better'} ${describe(m)}${m.verdict === 'untested' ? ' untested' : ''}`).join(', ');
    parts.push(parts.length > 0 ? `(not gated: ${list})` : `not gated: ${list}`);
  }
  if (parts.length === 0) parts.push('no gated metric, no change');
  if (s.clientBound) parts.push('[client-bound]');
  return parts.join(' ');
}

function metricOf(s: StepComparison, metric: Metric): MetricComparison | undefined {
  return s.metrics.find((m) => m.metric === metric);
}

const COST_NAMES: Record<CostMetric, string> = { instructions: 'instructions', syscalls: 'system calls' };

/** A count per request as every summary prints it: instructions whole, system calls to 3 places. */
export function formatCount(metric: CostMetric, v: number): string {
  return metric === 'instructions' ? Math.round(v).toLocaleString('en-US') : v.toFixed(3);
}

/** "12,498 → 12,750 (+2.0%)". */
export function costCell(ch: CostChange | undefined): string {
  if (!ch) return '—';
  return `${formatCount(ch.metric, ch.baseline)} → ${formatCount(ch.metric, ch.candidate)} (${formatPercent(ch.change)})`;
}

/** The verdict of one operation's counts in words, naming the system calls that moved. */
export function costVerdictText(changes: readonly CostChange[]): string {
  const worse = changes.filter((ch) => ch.verdict === 'regression');
  const better = changes.filter((ch) => ch.verdict === 'improvement');
  const moved = changes.flatMap((ch) => (ch.movedNames ?? []).map((m) => `${m.name} ${m.baseline.toFixed(3)} → ${m.candidate.toFixed(3)}`));
  const parts: string[] = [];
  if (worse.length > 0) parts.push(`REGRESSION: ${worse.map((ch) => `${COST_NAMES[ch.metric]} ${formatPercent(ch.change)}`).join(', ')}`);
  if (better.length > 0) parts.push(`improved: ${better.map((ch) => `${COST_NAMES[ch.metric]} ${formatPercent(ch.change)}`).join(', ')}`);
  if (parts.length === 0) parts.push('unchanged');
  if (moved.length > 0) parts.push(`(per request: ${moved.join(', ')})`);
  return parts.join(' ');
}

/** Which gate judged, in one sentence (the deterministic one, or the timed fallback and why); '' when no counts were given. */
export function gateText(c: Comparison): string {
  const k = c.costs;
  if (c.gateKind === 'counts' && k !== null) {
    const thresholds = k.judged.map((m) => `${COST_NAMES[m]} ${formatPercent(k.thresholds[m]).replace('+', '')}`).join(', ');
    const unjudged = k.unjudged.map((u) => ` ${COST_NAMES[u.metric]} not judged: ${u.why}.`).join('');
    return (
      `Gate: ${k.judged.map((m) => COST_NAMES[m]).join(' and ')} per request of ${COST_OPERATIONS.map((o) => o.toUpperCase()).join(', ')}, counted (valgrind's cachegrind and strace under node --predictable), not timed: ` +
      `a count above the baseline's by more than its threshold (${thresholds}) is a regression; one build's counts repeat within the threshold (up to 1.4 % apart in calibration), so no test of significance is needed.${unjudged} ` +
      'The timed figures are information, not gated.'
    );
  }
  if (c.timedFallback !== null) {
    const syscalls = k !== null && k.judged.includes('syscalls') ? ' System calls per request are still gated (exact on both sides).' : '';
    return `Gate: TIMED (fallback) — ${c.timedFallback}.${syscalls}`;
  }
  return '';
}

function costChangesOf(k: CostComparison, op: string): CostChange[] {
  return k.changes.filter((ch) => ch.operation === op);
}

/** The counts table in markdown; '' without counts. */
export function costsMarkdown(c: Comparison): string {
  const k = c.costs;
  if (k === null || k.judged.length === 0) return '';
  const lines = ['| operation | instructions / request | system calls / request | verdict |', '|---|---|---|---|'];
  for (const op of COST_OPERATIONS) {
    const changes = costChangesOf(k, op);
    const verdict = costVerdictText(changes);
    const mark = changes.some((ch) => ch.verdict === 'regression') ? '❌ ' : changes.some((ch) => ch.verdict === 'improvement') ? '🟢 ' : '';
    lines.push(`| ${op.toUpperCase()} | ${costCell(changes.find((ch) => ch.metric === 'instructions'))} | ${costCell(changes.find((ch) => ch.metric === 'syscalls'))} | ${mark}${verdict.replace(/\|/g, '\\|')} |`);
  }
  return `${lines.join('\n')}\n`;
}

/** The counts table for the terminal; '' without counts. */
export function costsText(c: Comparison): string {
  const k = c.costs;
  if (k === null || k.judged.length === 0) return '';
  const header = ['operation', 'instructions/request', 'system calls/request', 'verdict'];
  const rows = COST_OPERATIONS.map((op) => {
    const changes = costChangesOf(k, op);
    return [op.toUpperCase(), costCell(changes.find((ch) => ch.metric === 'instructions')), costCell(changes.find((ch) => ch.metric === 'syscalls')), costVerdictText(changes)];
  });
  return `${textTable(header, rows).join('\n')}\n`;
}

/** Columns padded to their widest cell (the last one left ragged), a dashed rule under the header. */
function textTable(header: readonly string[], rows: readonly string[][]): string[] {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const fmt = (r: readonly string[]): string => r.map((cell, i) => (i === r.length - 1 ? cell : cell.padEnd(widths[i]!))).join('  ');
  return [fmt(header), fmt(widths.map((w) => '-'.repeat(w))), ...rows.map(fmt)];
}

/** One sentence on how the verdicts were reached: test, α, thresholds, trials, noise floor. */
export function methodText(c: Comparison): string {
  const gate = gateText(c);
  if (c.gateKind === 'counts') return `${gate} Timed figures: ${timedMethodText(c)}`;
  return gate === '' ? timedMethodText(c) : `${gate} ${timedMethodText(c)}`;
}

/** How the timed metrics were compared (gated or, under the counts gate, reported). */
export function timedMethodText(c: Comparison): string {
  const o = c.options;
  const trials = `${Math.min(...c.steps.map((s) => s.baselineTrials))}–${Math.max(...c.steps.map((s) => s.baselineTrials))} baseline and ${Math.min(...c.steps.map((s) => s.candidateTrials))}–${Math.max(...c.steps.map((s) => s.candidateTrials))} candidate trials per step`.replace(/(\d+)–\1/g, '$1');
  const thresholds = (Object.keys(c.thresholds) as Metric[]).map((m) => `${m} ${formatPercent(c.thresholds[m]).replace('+', '')}`).join(', ');
  const floor = c.options.noiseFloor
    ? ` Noise floor of this machine (A/A: ${c.options.noiseFloor.source}): ${(Object.entries(c.options.noiseFloor.byMetric) as [Metric, number][]).map(([m, v]) => `${m} ${formatPercent(v).replace('+', '')}`).join(', ')}; thresholds were raised to it.`
    : ' No A/A noise floor given (--noise): thresholds are --max_regression.';
  const gateNames = c.gateKind === 'counts' ? 'none (the counts judge)' : o.gate.length ? o.gate.join(', ') : 'nothing';
  return (
    `${c.gateKind === 'counts' ? 'Timed gate' : 'Gate'}: ${gateNames}. A metric regresses when its median over trials is worse by more than the threshold (${thresholds}) ` +
    `and a one-sided Mann–Whitney U test over ≥ ${o.minTrials} trials a side gives p ≤ ${o.alpha}${o.failUntested ? ' (with fewer trials: the threshold alone, --fail_untested)' : '; with fewer trials a step is untested, which is not a pass'}. ${trials}.${floor}`
  );
}

/**
 * How many trials a side would make the comparison conclusive, in words: enough to test at all,
 * and enough for the noise measured here to let a change of the threshold show. Empty when every
 * gated metric was tested and none was too noisy.
 */
export function trialsNeededText(c: Comparison): string {
  const t = c.trialsNeeded;
  if (t === null) return '';
  const untestedSteps = c.steps.filter((s) => s.verdict === 'untested');
  const fewest = untestedSteps.length > 0 ? untestedSteps.reduce((a, b) => (Math.min(b.baselineTrials, b.candidateTrials) < Math.min(a.baselineTrials, a.candidateTrials) ? b : a)) : null;
  const parts: string[] = [];
  if (fewest !== null) {
    const p = smallestOneSidedP(fewest.baselineTrials, fewest.candidateTrials);
    parts.push(
      `Trials needed: ≥ ${t.toTest} a side to test at all (with ${fewest.baselineTrials} and ${fewest.candidateTrials} the smallest possible p is ${p.toFixed(3)}${p > c.options.alpha ? ` > α ${c.options.alpha}` : ''}${c.options.minTrials > fewest.baselineTrials || c.options.minTrials > fewest.candidateTrials ? `, and --min_trials is ${c.options.minTrials}` : ''}).`,
    );
  }
  if (t.toDetect !== null && t.noisiest !== null) {
    const needed = Number.isFinite(t.toDetect) ? `≈ ${t.toDetect} trials a side` : 'no number of trials';
    const have = Math.min(...c.steps.map((s) => Math.min(s.baselineTrials, s.candidateTrials)));
    if (fewest !== null || t.toDetect > have) {
      parts.push(
        `With the noise measured here (one trial of ${METRIC_NAMES[t.noisiest.metric]} in "${t.noisiest.step}" varies by ${(t.noisiest.cv * 100).toFixed(1)}%), ${needed} would catch a ${(t.noisiest.threshold * 100).toFixed(1)}% regression with 80% probability.`,
      );
    }
  } else if (fewest !== null) {
    parts.push(`How noisy single trials are cannot be measured from one trial a side: rerun with ≥ ${t.toTest} trials a side and compare will say how many catch a ${(Math.max(...Object.values(c.thresholds)) * 100).toFixed(1)}% regression.`);
  }
  return parts.join(' ');
}

/** The one-line verdict of the whole comparison, with the exit code compare returns for it. */
export function resultLine(c: Comparison): string {
  const code = OUTCOME_EXIT_CODES[c.outcome];
  switch (c.outcome) {
    case 'regression':
      return `RESULT: ${c.regressions} regression${c.regressions === 1 ? '' : 's'} (exit ${code})`;
    case 'untested':
      return c.untested > 0
        ? `RESULT: UNTESTED — ${c.untested} step${c.untested === 1 ? '' : 's'} could not be tested (too few trials); this is not a pass (exit ${code})`
        : `RESULT: UNTESTED — no compared step carries a gated metric (--gate ${c.options.gate.join(',')}); this is not a pass (exit ${code})`;
    case 'pass':
      return `RESULT: no regression${c.improvements ? ` (${c.improvements} improvement${c.improvements === 1 ? '' : 's'})` : ''} (exit ${code})`;
  }
}

/** The markdown summary for a pull request or $GITHUB_STEP_SUMMARY. `charts`: overlay PNG paths written. */
export function comparisonMarkdown(c: Comparison, extras: { charts?: string[]; baselinePaths?: string[]; candidatePaths?: string[]; skipTrials?: number } = {}): string {
  const head =
    c.outcome === 'regression'
      ? `❌ ${c.regressions} regression${c.regressions === 1 ? '' : 's'}`
      : c.outcome === 'untested'
        ? `⚠️ untested — ${c.untested > 0 ? `${c.untested} step${c.untested === 1 ? '' : 's'} could not be tested` : 'nothing gated was measured'}, not a pass`
        : `✅ no regression${c.improvements ? `, ${c.improvements} improvement${c.improvements === 1 ? '' : 's'}` : ''}`;
  const lines: string[] = [];
  lines.push(`## kvring perf: \`${c.candidateLabel}\` vs baseline \`${c.baselineLabel}\` — ${head}`, '');
  const needed = trialsNeededText(c);
  if (c.outcome === 'untested' && needed !== '') lines.push(`**${needed}**`, '');
  lines.push(methodText(c) + (extras.skipTrials ? ` The first ${extras.skipTrials} trial(s) of every run were skipped as warm-up.` : ''), '');
  if (c.warnings.length) {
    for (const w of c.warnings) lines.push(`> ⚠️ ${w}`);
    lines.push('');
  }
  const counts = costsMarkdown(c);
  if (counts !== '') lines.push(counts);
  if (c.gateKind === 'counts') lines.push('Timed figures (information, not gated):', '');
  lines.push('| step | trials (base/cand) | throughput ops/s | server CPU/request | p50 ms | p99 ms | verdict |', '|---|---|---|---|---|---|---|');
  for (const s of c.steps) {
    const verdict = stepVerdictText(s);
    const mark = s.verdict === 'regression' ? '❌ ' : s.verdict === 'improvement' ? '🟢 ' : s.verdict === 'untested' ? '⚠️ ' : '';
    lines.push(
      `| ${s.label} | ${s.baselineTrials}/${s.candidateTrials} | ${metricCell(metricOf(s, 'throughput'))} | ${metricCell(metricOf(s, 'server_cpu'))} | ${metricCell(metricOf(s, 'p50'))} | ${metricCell(metricOf(s, 'p99'))} | ${mark}${verdict.replace(/\|/g, '\\|')} |`,
    );
  }
  lines.push('');
  const tested = c.steps.flatMap((s) => s.metrics.filter((m) => m.tested).map((m) => ({ s, m })));
  if (tested.length > 0) {
    lines.push('<details><summary>p-values and 95% bootstrap intervals of candidate/baseline</summary>', '');
    lines.push('| step | metric | baseline trials | candidate trials | change | 95% interval | p (worse) | detectable¹ | verdict |', '|---|---|---|---|---|---|---|---|---|');
    for (const { s, m } of tested) {
      const ci = m.ratioInterval ? `${formatPercent(m.ratioInterval.low - 1)} … ${formatPercent(m.ratioInterval.high - 1)}` : '—';
      lines.push(
        `| ${s.label} | ${m.metric}${m.gated ? ' (gated)' : ''} | ${m.baseline.map((v) => formatValue(m.metric, v)).join(', ')} | ${m.candidate.map((v) => formatValue(m.metric, v)).join(', ')} | ${formatPercent(m.change)} | ${ci} | ${formatP(m.pWorse)} | ${formatDetectable(m.detectableChange)} | ${m.verdict} |`,
      );
    }
    lines.push('', '¹ smallest change these trials catch with 80% probability, from their spread; a pass says nothing about smaller ones.', '', '</details>', '');
  }
  if (c.onlyInBaseline.length || c.onlyInCandidate.length) {
    lines.push(`Not compared — only in baseline: ${c.onlyInBaseline.join(', ') || 'none'}; only in candidate: ${c.onlyInCandidate.join(', ') || 'none'}.`, '');
  }
  if (extras.charts?.length) lines.push(`Overlay charts: ${extras.charts.map((p) => `\`${p}\``).join(', ')}`, '');
  if (extras.baselinePaths?.length) lines.push(`Baseline: ${extras.baselinePaths.map((p) => `\`${p}\``).join(', ')}  `);
  if (extras.candidatePaths?.length) lines.push(`Candidate: ${extras.candidatePaths.map((p) => `\`${p}\``).join(', ')}`);
  return `${lines.join('\n').trimEnd()}\n`;
}

/** A fixed-width table for the terminal: one row per compared step. */
export function comparisonText(c: Comparison): string {
  const header = ['step', 'trials', 'throughput ops/s', 'server CPU/req', 'p50 ms', 'p99 ms', 'verdict'];
  const rows = c.steps.map((s) => [
    s.label,
    `${s.baselineTrials}/${s.candidateTrials}`,
    metricCell(metricOf(s, 'throughput')),
    metricCell(metricOf(s, 'server_cpu')),
    metricCell(metricOf(s, 'p50')),
    metricCell(metricOf(s, 'p99')),
    stepVerdictText(s),
  ]);
  const counts = costsText(c);
  const out = [`candidate "${c.candidateLabel}" vs baseline "${c.baselineLabel}"`];
  if (counts !== '') out.push(counts);
  if (c.gateKind === 'counts') out.push('timed figures (information, not gated):');
  out.push(...textTable(header, rows), '');
  out.push(methodText(c));
  for (const w of c.warnings) out.push(`warning: ${w}`);
  const needed = trialsNeededText(c);
  if (needed !== '') out.push(needed);
  out.push(resultLine(c));
  return `${out.join('\n')}\n`;
}
