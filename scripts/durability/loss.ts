// What a kill cost, and whether that is what the durability policy promises. Pure: the records
// of one round (writes acknowledged, which of them came back) in, losses and verdicts out.

/** The promise under test, from the server's --appendonly / --appendfsync flags. */
export type DurabilityPolicy = 'always' | 'everysec' | 'no' | 'snapshot-only';

export function policyOf(appendOnly: boolean, appendFsync: 'always' | 'everysec' | 'no'): DurabilityPolicy {
  return appendOnly ? appendFsync : 'snapshot-only';
}

/** One round: the server ran with writers for runMs, was killed, restarted and read back. */
export interface RoundRecord {
  /** 1-based kill number. */
  kill: number;
  /** How long the writers ran before the kill, ms. */
  runMs: number;
  /** Unix ms just before SIGKILL was sent. */
  killAtMs: number;
  /** SETs written to sockets in the round. */
  sent: number;
  /** SETs answered +OK. */
  acked: number;
  /** SETs answered with an error (not acknowledged). */
  errorReplies: number;
  /** Unix ms of acknowledgement of each acknowledged write of the round missing after the restart. */
  lostAckAtMs: number[];
  /** Acknowledged writes (this round or earlier) that came back with another value. */
  wrongValues: number;
  /** Writes sent but never answered (in flight at the kill). */
  inFlight: number;
  /** How many of those were found after the restart (either is allowed). */
  inFlightFound: number;
  /** Writes of earlier rounds, found after an earlier restart, missing after this one. */
  regressions: number;
  /** From SIGKILL to the restarted server's ready line, ms. */
  restartMs: number;
  /** DBSIZE after the restart. */
  keysAfterRestart: number;
  /** Start of the snapshot the restarted server loaded, Unix seconds (INFO rdb_last_save_time); 0 if none. */
  snapshotStartedAtSec: number;
}

export interface RoundLoss {
  lost: number;
  /** How far before the kill the oldest lost write was acknowledged, ms (0 if nothing was lost). */
  lossWindowMs: number;
  /** How far before the kill the newest lost write was acknowledged, ms (0 if nothing was lost). */
  newestLostAgeMs: number;
  /** Lost writes acknowledged before the loaded snapshot started: the snapshot should hold them. */
  lostBeforeSnapshot: number;
}

export function lossOf(round: RoundRecord): RoundLoss {
  let oldest = Infinity;
  let newest = -Infinity;
  let beforeSnapshot = 0;
  // rdb_last_save_time is whole seconds, floored: only a write acknowledged before that second
  // began is certainly older than the snapshot.
  const snapshotStartMs = round.snapshotStartedAtSec * 1000;
  for (const at of round.lostAckAtMs) {
    if (at < oldest) oldest = at;
    if (at > newest) newest = at;
    if (round.snapshotStartedAtSec > 0 && at < snapshotStartMs) beforeSnapshot++;
  }
  const lost = round.lostAckAtMs.length;
  return {
    lost,
    // An acknowledgement read just after the kill was sent (already on the wire) counts as age 0.
    lossWindowMs: lost === 0 ? 0 : Math.max(0, round.killAtMs - oldest),
    newestLostAgeMs: lost === 0 ? 0 : Math.max(0, round.killAtMs - newest),
    lostBeforeSnapshot: beforeSnapshot,
  };
}

/**
 * What in the round breaks the policy's promise (empty if nothing):
 * - every policy: a write acknowledged and later read back with another value; a write found
 *   after one restart and missing after a later one;
 * - always, everysec, no: any acknowledged write lost. SIGKILL is a process crash: a write is
 *   acknowledged only once the kernel has it, and the kernel outlives the process. Only an OS
 *   crash or power loss may cost everysec about the last second and "no" what the kernel had not
 *   flushed, and this tool does not cause those;
 * - snapshot-only: a lost write acknowledged before the loaded snapshot started.
 */
export function judgeRound(policy: DurabilityPolicy, round: RoundRecord): string[] {
  const problems: string[] = [];
  const loss = lossOf(round);
  if (round.wrongValues > 0) problems.push(`${round.wrongValues} acknowledged writes came back with a different value`);
  if (round.regressions > 0) problems.push(`${round.regressions} writes found after an earlier restart are gone after this one`);
  if (policy !== 'snapshot-only' && loss.lost > 0) {
    problems.push(`${loss.lost} acknowledged writes lost with appendfsync ${policy} on a process kill (acknowledged ${loss.newestLostAgeMs}-${loss.lossWindowMs} ms before the kill)`);
  }
  if (policy === 'snapshot-only' && loss.lostBeforeSnapshot > 0) {
    problems.push(`${loss.lostBeforeSnapshot} lost writes were acknowledged before the snapshot the server loaded had started (rdb_last_save_time ${round.snapshotStartedAtSec})`);
  }
  return problems;
}

export interface DurabilitySummary {
  policy: DurabilityPolicy;
  kills: number;
  /** Kills after which the server restarted and every check of the policy held. */
  killsSurvived: number;
  acked: number;
  lost: number;
  wrongValues: number;
  regressions: number;
  /** The largest lossWindowMs of any round. */
  maxLossWindowMs: number;
  inFlight: number;
  inFlightFound: number;
  maxRestartMs: number;
  /** "kill N: problem", for every problem of every round. */
  problems: string[];
}

export function summarize(policy: DurabilityPolicy, rounds: readonly RoundRecord[], extraProblems: readonly string[] = []): DurabilitySummary {
  const summary: DurabilitySummary = {
    policy,
    kills: rounds.length,
    killsSurvived: 0,
    acked: 0,
    lost: 0,
    wrongValues: 0,
    regressions: 0,
    maxLossWindowMs: 0,
    inFlight: 0,
    inFlightFound: 0,
    maxRestartMs: 0,
    problems: [...extraProblems],
  };
  for (const round of rounds) {
    const loss = lossOf(round);
    const problems = judgeRound(policy, round);
    if (problems.length === 0) summary.killsSurvived++;
    for (const p of problems) summary.problems.push(`kill ${round.kill}: ${p}`);
    summary.acked += round.acked;
    summary.lost += loss.lost;
    summary.wrongValues += round.wrongValues;
    summary.regressions += round.regressions;
    summary.maxLossWindowMs = Math.max(summary.maxLossWindowMs, loss.lossWindowMs);
    summary.inFlight += round.inFlight;
    summary.inFlightFound += round.inFlightFound;
    summary.maxRestartMs = Math.max(summary.maxRestartMs, round.restartMs);
  }
  return summary;
}
