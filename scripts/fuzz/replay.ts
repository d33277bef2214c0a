import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { FaultToolError } from '../faults/errors.js';
import { checkHealth } from '../faults/health-check.js';
import { oneShot } from '../../protocol/one-shot.js';
import type { FaultTarget } from '../faults/target.js';
import { emptyKindCounts, type CloseMode, type ConnectionPlan } from './burst-plan.js';
import { CANARY_KEY } from './campaign.js';
import { playConnection } from './send-connection.js';

// Replays a case folder written by the fuzzer: the same bytes, cut and closed the same way, all
// connections at once; then each connection alone on a fresh server, to name the culprit.

interface PlanFile {
  connections: Array<{ file: string; closeMode: CloseMode; cuts: number[] }>;
}

export interface ReplayResult {
  /** Whether the whole burst again left the server unhealthy. */
  reproduced: boolean;
  problem: string | null;
  /** Connections that alone leave a fresh server unhealthy (only tried when reproduced). */
  culprits: Array<{ file: string; problem: string }>;
}

export async function loadCase(caseDir: string): Promise<Array<{ file: string; plan: ConnectionPlan }>> {
  let planFile: PlanFile;
  try {
    planFile = JSON.parse(await readFile(join(caseDir, 'plan.json'), 'utf8')) as PlanFile;
  } catch (err) {
    throw new FaultToolError('KV_ERR_FAULT_CASE', `cannot read ${join(caseDir, 'plan.json')}: ${(err as Error).message}; pass a folder the fuzzer wrote (it prints "case: <folder>")`, { cause: err });
  }
  return Promise.all(
    planFile.connections.map(async (c) => {
      const bytes = await readFile(join(caseDir, c.file));
      // The file holds exactly what was sent, so a cut-short connection becomes a reset after its last byte.
      const closeMode: CloseMode = c.closeMode === 'mid-send' ? 'reset' : c.closeMode;
      const plan: ConnectionPlan = { bytes, cuts: c.cuts.filter((x) => x > 0 && x < bytes.length), closeMode, stopAt: bytes.length, frames: 0, framesByKind: emptyKindCounts() };
      return { file: c.file, plan };
    }),
  );
}

export interface ReplayTimeouts {
  checkTimeoutMs: number;
  connectTimeoutMs: number;
  lingerMs: number;
}

/** Plays `connections` at once against `target`, then checks its health; null if healthy. */
async function playAndCheck(target: FaultTarget, connections: ConnectionPlan[], timeouts: ReplayTimeouts): Promise<string | null> {
  const canary = { key: CANARY_KEY, value: 'alive:replay' };
  await oneShot(target.host, target.port, [['SET', canary.key, canary.value]]);
  const outcomes = await Promise.all(connections.map((c) => playConnection(target.host, target.port, c, timeouts)));
  const problems = outcomes.flatMap((o, i) => [
    ...(o.badReply !== null ? [`connection ${i}: malformed reply: ${o.badReply}`] : []),
    ...(o.lingered ? [`connection ${i}: not closed by the server within ${timeouts.lingerMs} ms of our FIN`] : []),
  ]);
  const health = await checkHealth(target.host, target.port, canary, timeouts.checkTimeoutMs);
  if (!health.ok) {
    const status = target.exitStatus();
    problems.push(status === null ? `unhealthy: ${health.problem}` : `the server died (code ${status.code}, signal ${status.signal}): ${health.problem}`);
  }
  return problems.length === 0 ? null : problems.join('; ');
}

/**
 * Replays the case against `target`; if that reproduces the problem and the target is one we
 * spawned, replays each connection alone on a restarted server to find which ones suffice.
 */
export async function replayCase(caseDir: string, target: FaultTarget, timeouts: ReplayTimeouts): Promise<ReplayResult> {
  const connections = await loadCase(caseDir);
  const problem = await playAndCheck(target, connections.map((c) => c.plan), timeouts);
  const result: ReplayResult = { reproduced: problem !== null, problem, culprits: [] };
  if (problem === null || target.pid === null) return result;
  for (const c of connections) {
    await target.restart();
    const alone = await playAndCheck(target, [c.plan], timeouts);
    if (alone !== null) result.culprits.push({ file: c.file, problem: alone });
  }
  return result;
}
