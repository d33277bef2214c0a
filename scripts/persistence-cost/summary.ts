import { median } from '../../bench/analysis/statistics.js';

// What the append-only log costs, kvring against Redis: measurements in, medians and ratios out,
// then a markdown rendering. Pure. A ratio is taken within one round (the configurations of a
// round run back to back, so the machine's drift cancels), then its median over the rounds.
//
// The target (issue 12): kvring's everysec costs no more over its own log-off figure than
// Redis's everysec does over Redis's appendonly no, i.e. ratio of ratios <= 1.1, where a cost
// ratio is server CPU per request (everysec / off) or slowdown (ops/s off / ops/s everysec).

export type ServerKind = 'kvring' | 'redis';
/** The log setting: off (appendonly no) or appendonly yes with this appendfsync. */
export type LogSetting = 'off' | 'no' | 'everysec' | 'always';

export interface CostMeasurement {
  round: number;
  pipeline: number;
  server: ServerKind;
  log: LogSetting;
  /** Requests the load tool completed. */
  requests: number;
  opsPerSec: number;
  /** Server CPU (all its threads, and children such as Redis's AOF rewrite) per request, µs. */
  serverCpuUsPerRequest: number;
}

export interface SettingFigures {
  server: ServerKind;
  log: LogSetting;
  rounds: number;
  opsPerSec: number;
  serverCpuUsPerRequest: number;
  /** Median over rounds of ops/s (off) / ops/s (this setting): how much slower the log makes it. */
  slowdown: number;
  /** Median over rounds of CPU µs/request (this setting) / (off): how much dearer each request gets. */
  cpuRatio: number;
}

export interface PipelineSummary {
  pipeline: number;
  settings: SettingFigures[];
  /** Per log setting: median over rounds of kvring's ratio / Redis's ratio (slowdown and CPU). */
  ratioOfRatios: Array<{ log: LogSetting; slowdown: number; cpu: number }>;
}

/** The target for everysec's ratio of ratios. */
export const RATIO_OF_RATIOS_TARGET = 1.1;

function find(ms: readonly CostMeasurement[], round: number, server: ServerKind, log: LogSetting): CostMeasurement | undefined {
  return ms.find((m) => m.round === round && m.server === server && m.log === log);
}

/** Per round, f(this setting's measurement, the same server's log-off measurement); NaN-free. */
function perRound(ms: readonly CostMeasurement[], server: ServerKind, log: LogSetting, f: (m: CostMeasurement, off: CostMeasurement) => number): number[] {
  const out: number[] = [];
  for (const m of ms) {
    if (m.server !== server || m.log !== log) continue;
    const off = find(ms, m.round, server, 'off');
    if (off !== undefined) out.push(f(m, off));
  }
  return out;
}

const slowdownOf = (m: CostMeasurement, off: CostMeasurement): number => off.opsPerSec / m.opsPerSec;
const cpuRatioOf = (m: CostMeasurement, off: CostMeasurement): number => m.serverCpuUsPerRequest / off.serverCpuUsPerRequest;

/** Medians and ratios per pipeline depth, settings in the order they first appear. */
export function summarizeCost(measurements: readonly CostMeasurement[]): PipelineSummary[] {
  const pipelines = [...new Set(measurements.map((m) => m.pipeline))];
  return pipelines.map((pipeline) => {
    const ms = measurements.filter((m) => m.pipeline === pipeline);
    const keys = [...new Map(ms.map((m) => [`${m.server}|${m.log}`, { server: m.server, log: m.log }])).values()];
    const settings = keys.map(({ server, log }): SettingFigures => {
      const mine = ms.filter((m) => m.server === server && m.log === log);
      return {
        server,
        log,
        rounds: mine.length,
        opsPerSec: median(mine.map((m) => m.opsPerSec)),
        serverCpuUsPerRequest: median(mine.map((m) => m.serverCpuUsPerRequest)),
        slowdown: median(perRound(ms, server, log, slowdownOf)),
        cpuRatio: median(perRound(ms, server, log, cpuRatioOf)),
      };
    });
    const logs = [...new Set(ms.filter((m) => m.log !== 'off').map((m) => m.log))];
    const ratioOfRatios = logs.map((log) => {
      const rounds = [...new Set(ms.map((m) => m.round))];
      const slow: number[] = [];
      const cpu: number[] = [];
      for (const round of rounds) {
        const k = find(ms, round, 'kvring', log);
        const ko = find(ms, round, 'kvring', 'off');
        const r = find(ms, round, 'redis', log);
        const ro = find(ms, round, 'redis', 'off');
        if (k === undefined || ko === undefined || r === undefined || ro === undefined) continue;
        slow.push(slowdownOf(k, ko) / slowdownOf(r, ro));
        cpu.push(cpuRatioOf(k, ko) / cpuRatioOf(r, ro));
      }
      return { log, slowdown: median(slow), cpu: median(cpu) };
    });
    return { pipeline, settings, ratioOfRatios };
  });
}

const fixed = (v: number, digits: number): string => (Number.isFinite(v) ? v.toFixed(digits) : '-');

/** The summary as markdown: one table of figures and one of ratios of ratios per pipeline depth. */
export function renderCostMarkdown(summaries: readonly PipelineSummary[]): string {
  const lines: string[] = [];
  lines.push('| P | server | log | rounds | ops/s | server CPU µs/req | slowdown vs log off | CPU/req vs log off |');
  lines.push('|---:|---|---|---:|---:|---:|---:|---:|');
  for (const s of summaries) {
    for (const f of s.settings) {
      const vsOff = f.log === 'off';
      lines.push(`| ${s.pipeline} | ${f.server} | ${f.log} | ${f.rounds} | ${Math.round(f.opsPerSec)} | ${fixed(f.serverCpuUsPerRequest, 2)} | ${vsOff ? '1' : fixed(f.slowdown, 3)} | ${vsOff ? '1' : fixed(f.cpuRatio, 3)} |`);
    }
  }
  lines.push('');
  lines.push(`| P | log | ratio of ratios, slowdown (kvring/Redis) | ratio of ratios, CPU/req (kvring/Redis) | everysec target ≤ ${RATIO_OF_RATIOS_TARGET} |`);
  lines.push('|---:|---|---:|---:|---|');
  for (const s of summaries) {
    for (const r of s.ratioOfRatios) {
      const verdict = r.log !== 'everysec' ? '' : r.cpu <= RATIO_OF_RATIOS_TARGET && r.slowdown <= RATIO_OF_RATIOS_TARGET ? 'met' : 'MISSED';
      lines.push(`| ${s.pipeline} | ${r.log} | ${fixed(r.slowdown, 3)} | ${fixed(r.cpu, 3)} | ${verdict} |`);
    }
  }
  return `${lines.join('\n')}\n`;
}
