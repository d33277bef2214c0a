import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { checkHealth, type Canary } from '../faults/health-check.js';
import { oneShot } from '../../protocol/one-shot.js';
import { readRssBytes } from '../faults/rss.js';
import type { FaultTarget } from '../faults/target.js';
import { FaultToolError } from '../faults/errors.js';
import { emptyKindCounts, planBurst, type BurstPlan } from './burst-plan.js';
import { playConnection, type ConnectionOutcome } from './send-connection.js';
import type { FuzzFinding, FuzzReport } from './report.js';

// The fuzz loop: plan a burst, play its connections at once, then ask the server on a separate
// connection whether it still answers PING and still holds the canary key. A dead server is a
// crash, a silent one a wedge; either way the burst's bytes go to a case folder for --replay.

export interface FuzzOptions {
  seed: number;
  /** Wall-clock budget; the burst running when it ends is finished. */
  seconds: number;
  /** Stop after this many bursts even if time is left (Infinity: time only). */
  maxBursts: number;
  connections: number;
  maxFramesPerConnection: number;
  maxFrameBytes: number;
  casesDir: string;
  checkTimeoutMs: number;
  connectTimeoutMs: number;
  lingerMs: number;
  /** Case folders written per finding kind at most (the counts go on). */
  maxCasesPerKind: number;
  /** Upper-case command names not generated as valid commands (--avoid). */
  avoidCommands?: ReadonlySet<string>;
}

export const CANARY_KEY = '__kvring_fuzz_canary__';

/** Called now and then with a one-line progress message (for stderr). */
export type ProgressFn = (line: string) => void;

export interface CampaignHooks {
  progress?: ProgressFn;
  /**
   * Awaited before each burst is played: a place to inject a fault of another kind at a known
   * moment (stop the server, fill its disk) and see how the campaign reports it.
   */
  beforeBurst?: (burst: number) => void | Promise<void>;
}

export async function runCampaign(target: FaultTarget, options: FuzzOptions, hooks: CampaignHooks = {}): Promise<FuzzReport> {
  const progress = hooks.progress ?? ((): void => undefined);
  const canary: Canary = { key: CANARY_KEY, value: `alive:${options.seed}` };
  await plantCanary(target, canary);
  const startedMs = Date.now();
  const deadlineMs = startedMs + options.seconds * 1000;
  const report: FuzzReport = {
    seed: options.seed,
    target: target.description,
    durationMs: 0,
    bursts: 0,
    framesSent: 0,
    framesByKind: emptyKindCounts(),
    bytesSent: 0,
    connectionsTried: 0,
    connectionsRefused: 0,
    replies: 0,
    protocolErrors: 0,
    serverClosedConnections: 0,
    lingeringConnections: 0,
    crashes: 0,
    wedges: 0,
    badReplies: 0,
    shutdowns: 0,
    restarts: 0,
    health: { checks: 0, maxRttMs: 0 },
    rss: target.pid === null ? null : { startBytes: readRssBytes(target.pid) ?? 0, maxBytes: 0, endBytes: 0 },
    findings: [],
    casesDir: options.casesDir,
  };
  const casesWritten = new Map<string, number>();
  let lastProgressMs = startedMs;

  for (let burst = 0; burst < options.maxBursts && Date.now() < deadlineMs; burst++) {
    const plan = planBurst(options.seed, burst, options);
    await hooks.beforeBurst?.(burst);
    const outcomes = await Promise.all(plan.connections.map((c) => playConnection(target.host, target.port, c, options)));
    report.bursts++;
    tally(report, plan, outcomes);

    const findings: FuzzFinding[] = [];
    outcomes.forEach((o, i) => {
      if (o.badReply !== null) findings.push({ kind: 'bad-reply', burst, connection: i, detail: o.badReply, caseDir: null });
      if (o.lingered) findings.push({ kind: 'stuck-connection', burst, connection: i, detail: `the server did not close a half-closed connection within ${options.lingerMs} ms`, caseDir: null });
    });
    const health = await checkHealth(target.host, target.port, canary, options.checkTimeoutMs);
    report.health.checks++;
    report.health.maxRttMs = Math.max(report.health.maxRttMs, health.rttMs);
    let needsRestart = false;
    if (!health.ok) {
      const status = target.exitStatus();
      if (status !== null && status.code === 0) {
        findings.push({ kind: 'shutdown', burst, connection: null, detail: `the server exited cleanly (code 0): an input spelled SHUTDOWN; health check: ${health.problem}`, caseDir: null });
      } else if (status !== null || (target.pid === null && /ECONNREFUSED|ECONNRESET/.test(health.problem ?? ''))) {
        const how = status === null ? 'it refuses connections' : `exit code ${status.code}, signal ${status.signal}`;
        findings.push({ kind: 'crash', burst, connection: null, detail: `the server died (${how}); health check: ${health.problem}`, caseDir: null });
      } else if (/canary|different value/.test(health.problem ?? '')) {
        findings.push({ kind: 'lost-key', burst, connection: null, detail: health.problem!, caseDir: null });
      } else {
        findings.push({ kind: 'wedge', burst, connection: null, detail: `the server is running but did not answer: ${health.problem}`, caseDir: null });
      }
      needsRestart = true;
    }
    if (needsRestart) {
      // Connections left open by a dead or stalled server are a symptom of it, not findings of their own.
      const stuck = findings.filter((f) => f.kind === 'stuck-connection').length;
      if (stuck > 0) {
        findings.splice(0, findings.length, ...findings.filter((f) => f.kind !== 'stuck-connection'));
        const main = findings[findings.length - 1]!;
        main.detail += `; ${stuck} of the burst's connections were left open`;
      }
    }
    for (const f of findings) {
      countFinding(report, f);
      const written = casesWritten.get(f.kind) ?? 0;
      if (written < options.maxCasesPerKind) {
        f.caseDir = await writeCase(options, plan, f, f.kind === 'crash' || f.kind === 'wedge' ? target.stderrTail() : '');
        casesWritten.set(f.kind, written + 1);
      }
      report.findings.push(f);
      progress(`burst ${burst}: ${f.kind}: ${f.detail}${f.caseDir === null ? '' : ` (case: ${f.caseDir})`}`);
    }
    if (target.pid !== null && report.rss !== null) report.rss.maxBytes = Math.max(report.rss.maxBytes, readRssBytes(target.pid) ?? 0);
    if (needsRestart) {
      if (!(await target.restart())) {
        progress('the external server no longer answers: stopping the campaign');
        break;
      }
      report.restarts++;
      await plantCanary(target, canary);
    }
    if (Date.now() - lastProgressMs >= 5000) {
      lastProgressMs = Date.now();
      progress(`${Math.round((lastProgressMs - startedMs) / 1000)} s: ${report.bursts} bursts, ${report.framesSent} frames, ${report.connectionsTried} connections, ${report.crashes} crashes, ${report.wedges} wedges`);
    }
  }
  report.durationMs = Date.now() - startedMs;
  if (target.pid !== null && report.rss !== null) {
    report.rss.endBytes = readRssBytes(target.pid) ?? 0;
    report.rss.maxBytes = Math.max(report.rss.maxBytes, report.rss.endBytes);
  }
  return report;
}

async function plantCanary(target: FaultTarget, canary: Canary): Promise<void> {
  try {
    const [reply] = await oneShot(target.host, target.port, [['SET', canary.key, canary.value]]);
    if (reply !== 'OK') throw new Error(`SET answered ${String(reply)}`);
  } catch (err) {
    throw new FaultToolError('KV_ERR_FAULT_TARGET', `cannot set the canary key on ${target.host}:${target.port}: ${(err as Error).message}; is a RESP server listening there (see --server)?`, { cause: err });
  }
}

function tally(report: FuzzReport, plan: BurstPlan, outcomes: ConnectionOutcome[]): void {
  plan.connections.forEach((c, i) => {
    const o = outcomes[i]!;
    report.connectionsTried++;
    if (!o.connected) {
      report.connectionsRefused++;
      return;
    }
    report.framesSent += c.frames;
    for (const [kind, n] of Object.entries(c.framesByKind) as Array<[keyof typeof c.framesByKind, number]>) report.framesByKind[kind] += n;
    report.bytesSent += o.bytesSent;
    report.replies += o.replies;
    report.protocolErrors += o.protocolErrors;
    if (o.serverClosed) report.serverClosedConnections++;
  });
}

function countFinding(report: FuzzReport, finding: FuzzFinding): void {
  if (finding.kind === 'crash') report.crashes++;
  else if (finding.kind === 'wedge' || finding.kind === 'lost-key') report.wedges++;
  else if (finding.kind === 'bad-reply') report.badReplies++;
  else if (finding.kind === 'shutdown') report.shutdowns++;
  else if (finding.kind === 'stuck-connection') report.lingeringConnections++;
}

/**
 * Writes the burst as a case folder: conn-NN.bin (the bytes each connection sent), plan.json
 * (how they were cut and closed), case.json (the finding, the server log tail, how to replay).
 */
async function writeCase(options: FuzzOptions, plan: BurstPlan, finding: FuzzFinding, stderrTail: string): Promise<string> {
  const suffix = finding.connection === null ? '' : `-conn${finding.connection}`;
  const dir = join(options.casesDir, `seed${plan.seed}-burst${plan.burst}-${finding.kind}${suffix}`);
  await mkdir(dir, { recursive: true });
  const connections = plan.connections.map((c, i) => {
    const file = `conn-${String(i).padStart(2, '0')}.bin`;
    return { file, closeMode: c.closeMode, cuts: c.cuts, stopAt: c.stopAt, frames: c.frames };
  });
  await Promise.all(plan.connections.map((c, i) => writeFile(join(dir, connections[i]!.file), c.bytes.subarray(0, c.closeMode === 'mid-send' ? c.stopAt : c.bytes.length))));
  await writeFile(join(dir, 'plan.json'), `${JSON.stringify({ seed: plan.seed, burst: plan.burst, connections }, null, 2)}\n`);
  const caseInfo = {
    finding,
    seed: plan.seed,
    burst: plan.burst,
    options: { connections: options.connections, maxFramesPerConnection: options.maxFramesPerConnection, maxFrameBytes: options.maxFrameBytes, avoid: [...(options.avoidCommands ?? [])] },
    replay: `npm run fuzz -- --replay ${dir}`,
    serverLogTail: stderrTail,
  };
  await writeFile(join(dir, 'case.json'), `${JSON.stringify(caseInfo, null, 2)}\n`);
  return dir;
}
