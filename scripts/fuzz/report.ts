import type { FrameKind } from './frames.js';

// A fuzz campaign's result as plain data, and its rendering as text (one function of the data).

export type FindingKind =
  /** The server process died (or, external, stopped accepting connections). */
  | 'crash'
  /** The server runs but did not answer PING + GET on a fresh connection in time. */
  | 'wedge'
  /** The canary key was gone or changed although no frame could have touched it. */
  | 'lost-key'
  /** The server sent bytes that are not RESP, or closed in the middle of a reply. */
  | 'bad-reply'
  /** The server kept a half-closed connection open past the linger time. */
  | 'stuck-connection'
  /** A frame spelled SHUTDOWN through an inline escape; the server exited 0 as asked (not a bug). */
  | 'shutdown';

export interface FuzzFinding {
  kind: FindingKind;
  burst: number;
  /** Index of the connection in the burst, when the finding is about one. */
  connection: number | null;
  detail: string;
  /** Where the reproducible case was written, or null once enough cases of this kind exist. */
  caseDir: string | null;
}

export interface FuzzReport {
  seed: number;
  target: string;
  durationMs: number;
  bursts: number;
  framesSent: number;
  framesByKind: Record<FrameKind, number>;
  bytesSent: number;
  connectionsTried: number;
  connectionsRefused: number;
  replies: number;
  protocolErrors: number;
  serverClosedConnections: number;
  /** Connections a healthy server kept open past the linger time after our FIN. */
  lingeringConnections: number;
  crashes: number;
  /** Wedges and lost canary keys. */
  wedges: number;
  badReplies: number;
  shutdowns: number;
  restarts: number;
  health: { checks: number; maxRttMs: number };
  /** Server memory (spawned servers only). */
  rss: { startBytes: number; maxBytes: number; endBytes: number } | null;
  findings: FuzzFinding[];
  casesDir: string;
}

/** Whether the campaign found a server bug (the fuzzer then exits non-zero). */
export function fuzzFailed(report: FuzzReport): boolean {
  return report.crashes > 0 || report.wedges > 0 || report.badReplies > 0 || report.lingeringConnections > 0;
}

const MiB = 1024 * 1024;

/** The report as an aligned text table plus one line per finding. */
export function formatFuzzReport(report: FuzzReport): string {
  const k = report.framesByKind;
  const rows: Array<[string, string]> = [
    ['seed', String(report.seed)],
    ['target', report.target],
    ['duration', `${(report.durationMs / 1000).toFixed(1)} s`],
    ['bursts', String(report.bursts)],
    ['frames sent', `${report.framesSent} (resp ${k.resp}, inline ${k.inline}, mutated ${k.mutated}, noise ${k.noise}, hostile ${k.hostile})`],
    ['bytes sent', `${(report.bytesSent / MiB).toFixed(1)} MiB`],
    ['connections tried', `${report.connectionsTried} (refused ${report.connectionsRefused}, closed by the server ${report.serverClosedConnections})`],
    ['replies checked', `${report.replies} (protocol errors ${report.protocolErrors})`],
    ['health checks', `${report.health.checks} (slowest ${report.health.maxRttMs.toFixed(1)} ms)`],
    ['crashes', String(report.crashes)],
    ['wedges', String(report.wedges)],
    ['malformed replies', String(report.badReplies)],
    ['stuck connections', String(report.lingeringConnections)],
    ['clean shutdowns', String(report.shutdowns)],
  ];
  if (report.rss !== null) {
    rows.push(['server RSS', `${(report.rss.startBytes / MiB).toFixed(0)} MiB at start, ${(report.rss.maxBytes / MiB).toFixed(0)} MiB max, ${(report.rss.endBytes / MiB).toFixed(0)} MiB at end`]);
  }
  const width = Math.max(...rows.map(([name]) => name.length));
  const lines = rows.map(([name, value]) => `${name.padEnd(width)}  ${value}`);
  for (const f of report.findings) lines.push(`${f.kind} in burst ${f.burst}${f.connection === null ? '' : ` connection ${f.connection}`}: ${f.detail}${f.caseDir === null ? '' : `\n  case: ${f.caseDir}`}`);
  lines.push(fuzzFailed(report) ? 'RESULT: FAIL (see the cases above; replay one with npm run fuzz -- --replay <case>)' : 'RESULT: PASS (no crash, wedge, malformed reply or stuck connection)');
  return `${lines.join('\n')}\n`;
}
