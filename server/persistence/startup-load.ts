import { open, readdir, rename, stat, truncate } from 'node:fs/promises';
import { join } from 'node:path';
import type { Logger } from 'pino';
import type { Store } from '../store.js';
import { replayLog, type LogReplayResult } from './aof-replay.js';
import { SNAPSHOT_FILE, SNAPSHOT_TEMP_FILE, corruptFileName, logFileName, parseLogFileName } from './data-files.js';
import { PersistenceError, describeError } from './errors.js';
import { fsyncDir, unlinkIfExists } from './fs-durable.js';
import { applyLogRecord } from './log-records.js';
import { loadSnapshot } from './snapshot-loader.js';

// Start-up: the snapshot, then every log generation it does not cover, in order, into the store.
// What a crash can leave (a torn last block or record, a leftover temporary snapshot, obsolete
// generations) is repaired with a warning; anything else refuses to start, naming the file and
// offset, unless --discard-corrupt moves the damaged files aside.

export interface LoadOptions {
  dir: string;
  appendOnly: boolean;
  discardCorrupt: boolean;
  log: Logger;
}

/** What start-up found and did, for INFO. */
export interface LoadReport {
  keys: number;
  logRecords: number;
  durationMs: number;
}

export interface LoadedState {
  /** The generation this run's log starts (log on), or the one the next snapshot names (log off). */
  generation: number;
  /** Size of the loaded snapshot, 0 if none. */
  snapshotBytes: number;
  /** Start of the loaded snapshot (Unix ms), 0 if none. */
  lastSaveMs: number;
  /** Log bytes replayed after the snapshot (the compaction rule counts them). */
  logBytes: number;
  report: LoadReport;
  /** Records were kept from files moved aside: the state must be made durable on its own (a snapshot) once the log is open. */
  needsSnapshot: boolean;
}

/**
 * Loads --dir into `store`. Throws PersistenceError: KV_ERR_SNAPSHOT_CORRUPT,
 * KV_ERR_SNAPSHOT_UNREADABLE, KV_ERR_LOG_CORRUPT, KV_ERR_LOG_UNREADABLE, KV_ERR_DIR_UNWRITABLE
 * (a damaged file could not be moved aside).
 */
export async function loadDataDir(store: Store, options: LoadOptions): Promise<LoadedState> {
  const { dir, log } = options;
  const startMs = Date.now();
  if (await unlinkIfExists(join(dir, SNAPSHOT_TEMP_FILE))) {
    log.warn({ file: join(dir, SNAPSHOT_TEMP_FILE) }, 'removed an unfinished snapshot left by a crash');
  }
  const generations = (await readdir(dir)).map(parseLogFileName).filter((g): g is number => g !== null).sort((a, b) => a - b);
  const highestSeen = generations.length > 0 ? generations[generations.length - 1]! : 0;
  const snapshotPath = join(dir, SNAPSHOT_FILE);

  let snapshotKeys = 0;
  let snapshotBytes = 0;
  let lastSaveMs = 0;
  let baseGeneration = generations.length > 0 ? generations[0]! : 1;
  let hasSnapshot = false;
  try {
    const loaded = await loadSnapshot(snapshotPath, (k, v) => store.restore(k, v));
    if (loaded !== null) {
      hasSnapshot = true;
      snapshotKeys = loaded.keys;
      baseGeneration = loaded.header.aofGeneration;
      snapshotBytes = loaded.fileBytes;
      lastSaveMs = loaded.header.startedAtMs;
      log.info({ file: snapshotPath, keys: loaded.keys, bytes: loaded.fileBytes, ms: Math.round(loaded.durationMs), generation: baseGeneration }, 'snapshot loaded');
    }
  } catch (err) {
    if (!(err instanceof PersistenceError) || !options.discardCorrupt) throw err;
    // The logs continue the lost snapshot's state; alone they would give a partial state.
    log.error({ err, file: snapshotPath }, '--discard-corrupt: moving the damaged snapshot and all log generations aside and starting empty');
    store.clear();
    store.changes = 0;
    await moveAside(dir, SNAPSHOT_FILE, log);
    for (const gen of generations) await moveAside(dir, logFileName(gen), log);
    return { generation: highestSeen + 1, snapshotBytes: 0, lastSaveMs: 0, logBytes: 0, report: { keys: 0, logRecords: 0, durationMs: Date.now() - startMs }, needsSnapshot: false };
  }

  const obsolete = generations.filter((g) => g < baseGeneration);
  const live = generations.filter((g) => g >= baseGeneration);
  const sizes = await Promise.all(
    live.map(async (g) => {
      const path = join(dir, logFileName(g));
      try {
        return (await stat(path)).size;
      } catch (err) {
        throw logUnreadable(path, err);
      }
    }),
  );
  let logRecords = 0;
  let logBytes = 0;
  let keptPrefix = false;
  if (live.length > 0 && !options.appendOnly) {
    log.warn({ generations: live }, 'appendonly is off, but log generations newer than the snapshot exist: replaying them so no acknowledged write is lost; the next snapshot deletes them');
  }
  for (let i = 0; i < live.length; i++) {
    const gen = live[i]!;
    const path = join(dir, logFileName(gen));
    const expected = i === 0 ? (hasSnapshot ? baseGeneration : gen) : live[i - 1]! + 1;
    if (gen !== expected) {
      const problem = `log generation ${expected} (${logFileName(expected)}) is missing before ${logFileName(gen)}`;
      await onLogDamage(options, path, problem, null, live.slice(i));
      keptPrefix = true;
      break;
    }
    let result: LogReplayResult | null;
    try {
      result = await replayLog(path, (args, argc) => applyLogRecord(store, args, argc));
    } catch (err) {
      throw logUnreadable(path, err);
    }
    if (result === null) continue;
    if (result.formatVersion === 1) log.info({ file: path }, 'replaying a version 1 log (no checksums); new generations are written in version 2');
    logRecords += result.records;
    logBytes += result.validBytes;
    const laterHasData = sizes.slice(i + 1).some((size) => size > 0);
    let damage = result.damage;
    if (damage === null && result.tornTail !== null) {
      if (laterHasData) {
        damage = { problem: 'an incomplete record although a later generation has data', offsetBytes: result.tornTail.offsetBytes };
      } else {
        await cutTornTail(path, result.validBytes);
        log.warn(
          { file: path, offsetBytes: result.tornTail.offsetBytes, droppedBytes: result.tornTail.droppedBytes, zeroFilled: result.tornTail.zeroFilled },
          `cut an incomplete last record (a write interrupted by a crash) from ${path} at byte ${result.tornTail.offsetBytes}`,
        );
      }
    }
    if (damage !== null) {
      await onLogDamage(options, path, `${damage.problem} at byte ${damage.offsetBytes}`, damage.offsetBytes, live.slice(i));
      keptPrefix = true;
      break;
    }
  }

  // Generations a durable snapshot covers: left by a crash between its rename and their deletion.
  for (const gen of obsolete) await unlinkIfExists(join(dir, logFileName(gen)));
  if (obsolete.length > 0) await fsyncDir(dir);

  if (logRecords > 0) log.info({ records: logRecords, bytes: logBytes, keys: store.size }, 'append-only log replayed');
  return {
    generation: Math.max(baseGeneration, highestSeen + 1),
    snapshotBytes,
    lastSaveMs,
    logBytes,
    report: { keys: snapshotKeys, logRecords, durationMs: Date.now() - startMs },
    needsSnapshot: keptPrefix,
  };
}

/**
 * A damaged or missing log generation: refuse to start, or (--discard-corrupt) keep the records
 * before the damage and move this generation and every later one aside.
 */
async function onLogDamage(options: LoadOptions, path: string, problem: string, offsetBytes: number | null, fromHere: number[]): Promise<void> {
  if (!options.discardCorrupt) {
    const intact = offsetBytes === null ? '' : ` (records before byte ${offsetBytes} are intact)`;
    throw new PersistenceError(
      'KV_ERR_LOG_CORRUPT',
      path,
      `append-only log ${path} is corrupt: ${problem}${intact}; restore a good copy, or start with --discard-corrupt to keep the records before the damage and move this file and later generations aside`,
    );
  }
  options.log.error({ file: path, problem, movedAside: fromHere.map(logFileName) }, '--discard-corrupt: keeping the records before the damage, moving the damaged log generation and later ones aside');
  for (const gen of fromHere) await moveAside(options.dir, logFileName(gen), options.log);
}

async function moveAside(dir: string, name: string, log: Logger): Promise<void> {
  const from = join(dir, name);
  const to = join(dir, corruptFileName(name, Date.now()));
  try {
    await rename(from, to);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return;
    throw new PersistenceError('KV_ERR_DIR_UNWRITABLE', from, `cannot move ${from} aside to ${to}: ${describeError(err)}`, { cause: err });
  }
  await fsyncDir(dir);
  log.warn({ from, to }, 'moved a damaged file aside');
}

function logUnreadable(path: string, err: unknown): PersistenceError {
  return new PersistenceError('KV_ERR_LOG_UNREADABLE', path, `append-only log ${path} cannot be read: ${describeError(err)}; fix the file's permissions or disk`, { cause: err });
}

/** Truncates a log to its whole records and fsyncs it, so the cut survives a crash. */
async function cutTornTail(path: string, validBytes: number): Promise<void> {
  await truncate(path, validBytes);
  const fh = await open(path, 'r+');
  try {
    await fh.sync();
  } finally {
    await fh.close();
  }
}
