import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawnServer, type RunningServer } from '../../server/spawn.js';
import { Prng } from '../../bench/prng.js';
import { oneShot } from '../../protocol/one-shot.js';
import { durabilityKey, durabilityValue } from './keys.js';
import { judgeRound, lossOf, policyOf, summarize, type DurabilitySummary, type RoundRecord } from './loss.js';
import { READ_MISSING, READ_OK, READ_WRONG, readBack, type ReadItem } from './readback.js';
import { startWriter, type WriterResult } from './writer.js';

// The durability verifier's loop: start the server on a data folder, write unique keys over
// several connections recording every acknowledgement, SIGKILL it at a random moment, restart it
// on the same folder, read back every write, and judge the losses against the policy.

export interface DurabilityOptions {
  appendOnly: boolean;
  appendFsync: 'always' | 'everysec' | 'no';
  /** Passed to the server as --snapshot-interval (0 = no periodic snapshots). */
  snapshotIntervalSec: number;
  kills: number;
  connections: number;
  /** SETs in flight per connection. */
  depth: number;
  valueBytes: number;
  /** Each round runs a random time in [minRunMs, maxRunMs] before the kill. */
  minRunMs: number;
  maxRunMs: number;
  seed: number;
  /** Data folder to use; null: a fresh temporary folder. */
  dir: string | null;
  /** Keep the data folder at the end (it is always kept when a problem was found). */
  keepDir: boolean;
  /** Restart on the port the first server got instead of a new free port. */
  samePort: boolean;
  /** Extra server flags. */
  serverArgs: string[];
}

export interface DurabilityRun {
  seed: number;
  dir: string;
  dirKept: boolean;
  serverArgs: string[];
  rounds: RoundRecord[];
  summary: DurabilitySummary;
  /** Writes found after the last kill that were still there after a clean stop and start. */
  cleanRestartChecked: number;
  durationMs: number;
}

/** Per connection of a round: what was sent, when each write was answered, what we found later. */
interface ConnWrites {
  sent: number;
  ackAtMs: number[];
  /** Per write: 0 not checked yet, FOUND (must stay), ABSENT (lost or never acknowledged). */
  state: Uint8Array;
}

const FOUND = 1;
const ABSENT = 2;

export type ProgressFn = (line: string) => void;

/** Runs the whole verification; throws only if the first server cannot start (a setup problem). */
export async function runDurability(options: DurabilityOptions, progress: ProgressFn = () => undefined): Promise<DurabilityRun> {
  const startedMs = Date.now();
  const dir = options.dir ?? (await mkdtemp(join(tmpdir(), 'kvring-durability-')));
  const runTag = `${options.seed.toString(36)}${Date.now().toString(36)}`;
  const serverArgs = [
    '--appendonly', options.appendOnly ? 'yes' : 'no',
    '--appendfsync', options.appendFsync,
    '--snapshot-interval', String(options.snapshotIntervalSec),
    '--log-level', 'warn',
    ...options.serverArgs,
  ];
  const policy = policyOf(options.appendOnly, options.appendFsync);
  const rng = new Prng(options.seed);
  const writes: ConnWrites[][] = [];
  const rounds: RoundRecord[] = [];
  const fatal: string[] = [];
  let port = 0;
  let cleanRestartChecked = 0;

  let server: RunningServer = await spawnServer({ dir, args: serverArgs, readyTimeoutMs: 60_000 });
  port = server.port;
  try {
    for (let kill = 1; kill <= options.kills; kill++) {
      const round = kill - 1;
      const runMs = rng.between(options.minRunMs, options.maxRunMs);
      const writers = Array.from({ length: options.connections }, (_, conn) =>
        startWriter(server.host, server.port, { runTag, round, conn, depth: options.depth, valueBytes: options.valueBytes }),
      );
      // The writers' pace is the workload; the kill moment is drawn from the seed.
      await new Promise((resolve) => setTimeout(resolve, runMs));
      const killAtMs = Date.now();
      server.kill('SIGKILL');
      await server.exited;
      const results: WriterResult[] = await Promise.all(writers.map((w) => w.done));
      writes.push(results.map((r) => ({ sent: r.sent, ackAtMs: r.ackAtMs, state: new Uint8Array(r.sent) })));

      let restarted: RunningServer;
      try {
        restarted = await spawnServer({ dir, port: options.samePort ? port : 0, args: serverArgs, readyTimeoutMs: 60_000 });
      } catch (err) {
        fatal.push(`kill ${kill}: the server did not restart on ${dir}: ${(err as Error).message}`);
        progress(`kill ${kill}: restart FAILED: ${(err as Error).message}`);
        break;
      }
      server = restarted;
      const restartMs = Date.now() - killAtMs;
      // Before the read-back: a snapshot taken meanwhile would change rdb_last_save_time.
      const info = await serverFacts(server);
      const record = await verifyRound(server, writes, round, options.valueBytes, runTag);
      const full: RoundRecord = {
        kill,
        runMs,
        killAtMs,
        sent: results.reduce((s, r) => s + r.sent, 0),
        acked: results.reduce((s, r) => s + r.ackAtMs.filter((t) => !Number.isNaN(t)).length, 0),
        errorReplies: results.reduce((s, r) => s + r.errorReplies, 0),
        restartMs,
        keysAfterRestart: info.keys,
        snapshotStartedAtSec: info.snapshotStartedAtSec,
        ...record,
      };
      rounds.push(full);
      const loss = lossOf(full);
      const problems = judgeRound(policy, full);
      const firstError = results.find((r) => r.firstError !== null)?.firstError;
      progress(
        `kill ${kill}/${options.kills} after ${runMs} ms: ${full.acked} acknowledged, ${loss.lost} lost` +
          `${loss.lost > 0 ? ` (acknowledged ${loss.newestLostAgeMs}-${loss.lossWindowMs} ms before the kill)` : ''}, ` +
          `${full.inFlightFound}/${full.inFlight} in-flight found, restart ${restartMs} ms` +
          `${full.errorReplies > 0 ? `, ${full.errorReplies} error replies (${firstError})` : ''}${problems.length > 0 ? ` — PROBLEM: ${problems.join('; ')}` : ''}`,
      );
    }

    if (fatal.length === 0) {
      // Last check: a clean stop and start keeps every write found after the last kill.
      await server.stop({ timeoutMs: 30_000 });
      server = await spawnServer({ dir, args: serverArgs, readyTimeoutMs: 60_000 });
      const { items } = collectFound(writes, options.valueBytes, runTag);
      const status = await readBack(server.host, server.port, items);
      const missing = status.reduce((n, s) => n + (s === READ_OK ? 0 : 1), 0);
      cleanRestartChecked = items.length;
      if (missing > 0) fatal.push(`after a clean stop (SIGTERM) and start, ${missing} of ${items.length} writes found after the last kill were missing or different`);
    }
  } finally {
    await server.stop({ timeoutMs: 30_000 });
  }
  const summary = summarize(policy, rounds, fatal);
  const dirKept = options.keepDir || summary.problems.length > 0 || options.dir !== null;
  if (!dirKept) await rm(dir, { recursive: true, force: true });
  return { seed: options.seed, dir, dirKept, serverArgs, rounds, summary, cleanRestartChecked, durationMs: Date.now() - startedMs };
}

type RoundChecks = Pick<RoundRecord, 'lostAckAtMs' | 'wrongValues' | 'inFlight' | 'inFlightFound' | 'regressions'>;

/**
 * Reads back every write of the round just killed, and every write of earlier rounds that was
 * found before; updates each write's state and returns the round's losses.
 */
async function verifyRound(server: RunningServer, writes: ConnWrites[][], round: number, valueBytes: number, runTag: string): Promise<RoundChecks> {
  const items: ReadItem[] = [];
  const refs: Array<[ConnWrites, number, number]> = []; // writes, seq, round
  for (let r = 0; r <= round; r++) {
    writes[r]!.forEach((w, conn) => {
      for (let seq = 0; seq < w.sent; seq++) {
        if (r < round && w.state[seq] !== FOUND) continue;
        const key = durabilityKey(runTag, r, conn, seq);
        items.push({ key, expected: durabilityValue(key, valueBytes) });
        refs.push([w, seq, r]);
      }
    });
  }
  const status = await readBack(server.host, server.port, items);
  const checks: RoundChecks = { lostAckAtMs: [], wrongValues: 0, inFlight: 0, inFlightFound: 0, regressions: 0 };
  refs.forEach(([w, seq, r], i) => {
    const s = status[i]!;
    const ackAtMs = seq < w.ackAtMs.length ? w.ackAtMs[seq]! : Number.NaN;
    const acknowledged = !Number.isNaN(ackAtMs);
    if (s === READ_WRONG && (acknowledged || r < round)) checks.wrongValues++;
    if (r < round) {
      if (s === READ_MISSING) checks.regressions++;
      if (s !== READ_OK) w.state[seq] = ABSENT;
      return;
    }
    if (seq >= w.ackAtMs.length) {
      checks.inFlight++;
      if (s === READ_OK) checks.inFlightFound++;
    } else if (acknowledged && s === READ_MISSING) {
      checks.lostAckAtMs.push(ackAtMs);
    }
    w.state[seq] = s === READ_OK ? FOUND : ABSENT;
  });
  return checks;
}

/** Every write currently known to be in the store. */
function collectFound(writes: ConnWrites[][], valueBytes: number, runTag: string): { items: ReadItem[] } {
  const items: ReadItem[] = [];
  writes.forEach((round, r) =>
    round.forEach((w, conn) => {
      for (let seq = 0; seq < w.sent; seq++) {
        if (w.state[seq] !== FOUND) continue;
        const key = durabilityKey(runTag, r, conn, seq);
        items.push({ key, expected: durabilityValue(key, valueBytes) });
      }
    }),
  );
  return { items };
}

/** DBSIZE and the loaded snapshot's start (INFO persistence rdb_last_save_time). */
async function serverFacts(server: RunningServer): Promise<{ keys: number; snapshotStartedAtSec: number }> {
  const [keys, info] = await oneShot(server.host, server.port, [['DBSIZE'], ['INFO', 'persistence']]);
  const text = info instanceof Buffer ? info.toString('latin1') : '';
  const match = /rdb_last_save_time:(\d+)/.exec(text);
  return { keys: typeof keys === 'number' ? keys : -1, snapshotStartedAtSec: match === null ? 0 : Number(match[1]) };
}
