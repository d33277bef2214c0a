import { totalErrors, type RunResult, type StepResult } from '../results.js';
import { describePlacement } from '../placement-text.js';
import { formatMs, formatOps, scalingData } from './chart-data.js';
import { serverCountColor } from './colors.js';
import { serversLabel } from '../analysis/step-groups.js';

// index.html of a results folder: the charts, the summary table, the SLO, the configuration and
// the machine. A pure function of the run and the chart file names; inline CSS, no scripts, no
// network, so it opens offline. The PNGs are referenced beside it, or embedded as data: URIs
// (report --self_contained) so that one file carries everything — a CI artifact, an e-mail.

export interface ChartRef {
  /** File name beside index.html. */
  file: string;
  /** The PNG as a data: URI to embed instead of referencing `file`; absent: referenced. */
  dataUri?: string;
  title: string;
  /** How to read it, one or two sentences. */
  caption: string;
}

export function escapeHtml(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;').replace(/'/g, '&#39;');
}

function ms(us: number): string {
  return formatMs(us / 1000);
}

function level(step: StepResult): string {
  if (step.phase === 'max') return 'max (closed loop)';
  if (step.loadFraction !== null) return `${Math.round(step.loadFraction * 1000) / 10}%`;
  return 'fixed rate';
}

function stepRow(step: StepResult): string {
  const l = step.total.latency;
  const cb = step.client.clientBound;
  const cells = [
    String(step.index),
    escapeHtml(step.workload),
    `<span class="dot" style="background:${serverCountColor(step.serverCount)}"></span>${step.serverCount}`,
    escapeHtml(level(step)),
    String(step.trial),
    step.targetOpsPerSec === null ? '—' : formatOps(step.targetOpsPerSec),
    formatOps(step.achievedOpsPerSec),
    ms(l.p50Us),
    ms(l.p90Us),
    ms(l.p99Us),
    ms(l.p999Us),
    ms(l.maxUs),
    String(totalErrors(step.errors)),
    [
      step.partial === true ? `<span class="warn" title="cut short by an interrupt after ${step.durationSec.toFixed(2)} s">partial</span>` : '',
      cb ? `<span class="warn" title="${escapeHtml(step.client.causes.join('; '))}">client-bound</span>` : '',
    ]
      .filter((x) => x !== '')
      .join(' '),
  ];
  return `<tr${cb || step.partial === true ? ' class="cb"' : ''}>${cells.map((c, i) => (i >= 5 && i <= 12 ? `<td class="num">${c}</td>` : `<td>${c}</td>`)).join('')}</tr>`;
}

function keyValueTable(rows: [string, string][]): string {
  return `<table class="kv">${rows.map(([k, v]) => `<tr><th>${escapeHtml(k)}</th><td>${escapeHtml(v)}</td></tr>`).join('')}</table>`;
}

function configValue(value: unknown): string {
  if (typeof value === 'string') return value;
  return JSON.stringify(value);
}

/** A fraction as the percentage a flag takes: 0.01 → 1, 0.255 → 25.5. */
function percentOf(fraction: number): number {
  return Number((fraction * 100).toPrecision(6));
}

/** Percentages a setting stores as fractions: one number, or a list (null when it is neither). */
function percents(value: unknown): number[] | null {
  if (typeof value === 'number') return [percentOf(value)];
  if (Array.isArray(value) && value.length > 0 && value.every((x) => typeof x === 'number')) return value.map((x: number) => percentOf(x));
  return null;
}

/**
 * Settings that results.json stores in another unit than their flag takes, shown in the flag's:
 * --max_error_rate and --load_levels are percentages on the command line, fractions in the file.
 */
const PERCENT_FLAGS: Record<string, string> = { maxErrorRate: 'max_error_rate', loadLevels: 'load_levels' };

/**
 * The configuration table's rows: every setting as results.json names it, in its flag's unit where
 * they differ, with the flag as it would be typed ("1% (--max_error_rate 1; stored as 0.01)").
 */
export function configRows(config: Record<string, unknown>): [string, string][] {
  return Object.entries(config).map(([key, value]) => {
    const flag = PERCENT_FLAGS[key];
    const pct = flag === undefined ? null : percents(value);
    if (pct === null) return [key, configValue(value)];
    return [key, `${pct.map((p) => `${p}%`).join(', ')} (--${flag} ${pct.join(',')}; stored as ${configValue(value)})`];
  });
}

/**
 * Causes that differ only in their measured numbers are one kind: "p99 send lateness 2165 µs >
 * 1000 µs: …" × 12 becomes its first example with "(12 steps)".
 */
export function summarizeCauses(causes: readonly string[]): string {
  const kinds = new Map<string, { example: string; count: number }>();
  for (const c of causes) {
    const key = c.replace(/\d+(\.\d+)?/g, '#');
    const k = kinds.get(key);
    if (k) k.count++;
    else kinds.set(key, { example: c, count: 1 });
  }
  return [...kinds.values()].map((k) => (k.count > 1 ? `${k.example} (and ${k.count - 1} more like it)` : k.example)).join('; ');
}

/** The whole page. `charts` in display order. */
export function renderIndexHtml(result: RunResult, charts: ChartRef[]): string {
  const title = `kvring bench: ${result.label || result.target} — ${result.startedAt.slice(0, 19).replace('T', ' ')}`;
  const scaling = scalingData(result);
  const headline = scaling.lines
    .map((line) => `<li><b>${escapeHtml(line.workload)}</b>: ${line.points.map((p) => `${serversLabel(p.serverCount)} <b>${formatOps(p.opsPerSec)}</b> ops/s${p.clientBound ? ' <span class="warn">(client-bound: the generator\'s limit, not the servers\')</span>' : ''}`).join(' · ')}</li>`)
    .join('');
  const clientBound = result.steps.filter((s) => s.client.clientBound);
  const placementWarnings = result.placement?.warnings ?? [];
  const placementNote = placementWarnings.length
    ? `<p class="warn-box"><b>Where this ran limits what it measures.</b> ${placementWarnings.map((w) => escapeHtml(w)).join('<br>')}</p>`
    : '';
  const placementRows: [string, string][] =
    result.placement === undefined
      ? []
      : [
          ['usable cores', `${result.placement.usableCores} (CPUs ${result.placement.cpus.join(',')}${result.placement.quotaCores === null ? '' : `, cgroup quota ${result.placement.quotaCores}`})`],
          [
            'placement',
            `${result.placement.pinned ? 'pinned: ' : ''}${describePlacement(result.placement)}`,
          ],
        ];
  const slo = result.slo
    ? `<h2>Service-level objective</h2><p>Objective <b>${escapeHtml(result.slo.objective)}</b> (p${result.slo.percentile} ≤ ${ms(result.slo.boundUs)} ms): highest measured throughput that meets it.</p>
<table><tr><th>workload</th><th>servers</th><th class="num">max ops/s within SLO</th><th class="num">step</th></tr>${result.slo.points
        .map((p) => `<tr><td>${escapeHtml(p.workload)}</td><td>${p.serverCount}</td><td class="num">${p.maxOpsPerSec === null ? 'none met it' : formatOps(p.maxOpsPerSec)}</td><td class="num">${p.stepIndex ?? '—'}</td></tr>`)
        .join('')}</table>`
    : '';
  const events = result.events.length
    ? `<h2>Events</h2><table><tr><th class="num">t (s)</th><th>kind</th><th>detail</th></tr>${result.events.map((e) => `<tr><td class="num">${e.tSec}</td><td>${escapeHtml(e.kind)}</td><td>${escapeHtml(e.detail)}</td></tr>`).join('')}</table>`
    : '';
  const m = result.machine;
  const machine = keyValueTable([
    ['CPU', m.cpuModel],
    ['cores', String(m.cores)],
    ['memory', `${(m.memoryBytes / 2 ** 30).toFixed(1)} GiB`],
    ['Node.js', m.nodeVersion],
    ['platform', m.platform],
    ['hostname', m.hostname],
    ...placementRows,
  ]);
  const run = keyValueTable([
    ['label', result.label],
    ['target', result.target],
    ['started', result.startedAt],
    ['finished', result.finishedAt],
    ['kvring', result.kvringVersion],
    ['git commit', result.gitCommit ?? 'unknown'],
    ['results schema', String(result.schemaVersion)],
  ]);
  const config = keyValueTable(configRows(result.config));
  // An embedded chart is not wrapped in a link: browsers refuse to open data: URIs as pages.
  const figures = charts
    .map((c) => {
      const img = `<img src="${escapeHtml(c.dataUri ?? c.file)}" alt="${escapeHtml(c.title)}" width="1200" height="700">`;
      return `<figure>${c.dataUri === undefined ? `<a href="${escapeHtml(c.file)}">${img}</a>` : img}<figcaption><b>${escapeHtml(c.title)}.</b> ${escapeHtml(c.caption)}</figcaption></figure>`;
    })
    .join('\n');
  const steps = result.steps.map(stepRow).join('\n');
  const cbNote = clientBound.length
    ? `<p class="warn-box">${clientBound.length} step${clientBound.length === 1 ? ' was' : 's were'} flagged <b>client-bound</b>: the load generator, not the server, limited them, so their latency is not the server's (drawn apart as crosses in the charts, not joined into the curves). Causes: ${escapeHtml(
        summarizeCauses(clientBound.flatMap((s) => s.client.causes)),
      )}.</p>`
    : '';
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${escapeHtml(title)}</title>
<style>
body { font: 15px/1.45 system-ui, -apple-system, "DejaVu Sans", Arial, sans-serif; color: #222; background: #fff; margin: 0 auto; max-width: 1240px; padding: 16px 20px 60px; }
h1 { font-size: 24px; margin: 8px 0 4px; } h2 { font-size: 19px; margin: 28px 0 8px; border-bottom: 1px solid #ddd; padding-bottom: 4px; }
.sub { color: #555; margin: 0 0 12px; }
figure { margin: 18px 0; } figure img { max-width: 100%; height: auto; border: 1px solid #e4e4e4; }
figcaption { color: #444; font-size: 14px; margin-top: 4px; }
table { border-collapse: collapse; font-size: 13.5px; margin: 6px 0; }
th, td { border-bottom: 1px solid #e8e8e8; padding: 3px 8px; text-align: left; vertical-align: top; }
th { background: #f6f6f6; } td.num, th.num { text-align: right; font-variant-numeric: tabular-nums; }
tr.cb td { background: #fff6e5; } .warn { color: #a15c00; font-weight: 600; }
.warn-box { background: #fff6e5; border-left: 4px solid #e69500; padding: 8px 12px; }
.dot { display: inline-block; width: 10px; height: 10px; border-radius: 5px; margin-right: 5px; }
table.kv th { width: 180px; font-weight: 600; } .cols { display: flex; gap: 40px; flex-wrap: wrap; }
.scroll { overflow-x: auto; }
</style>
</head>
<body>
<h1>${escapeHtml(title)}</h1>
<p class="sub">${escapeHtml(`${result.steps.length} steps, ${new Set(result.steps.map((s) => s.trial)).size} trial(s), target ${result.target}`)}</p>
<h2>Maximum throughput</h2>
<ul>${headline}</ul>
${placementNote}
${cbNote}
${slo}
<h2>Charts</h2>
${figures}
<h2>Steps</h2>
<p class="sub">Latency in ms, measured from each request's intended send time (coordinated omission corrected). Throughput in ops/s.</p>
<div class="scroll"><table>
<tr><th>#</th><th>workload</th><th>servers</th><th>load</th><th>trial</th><th class="num">target</th><th class="num">achieved</th><th class="num">p50</th><th class="num">p90</th><th class="num">p99</th><th class="num">p99.9</th><th class="num">max</th><th class="num">errors</th><th></th></tr>
${steps}
</table></div>
${events}
<div class="cols">
<div><h2>Run</h2>${run}</div>
<div><h2>Machine</h2>${machine}</div>
</div>
<h2>Configuration</h2>
${config}
<p class="sub">Generated from results.json; re-render with <code>npm run report -- results.json</code>${charts.some((c) => c.dataUri !== undefined) ? ' (charts embedded: this file is the whole report)' : ''}.</p>
</body>
</html>
`;
}
