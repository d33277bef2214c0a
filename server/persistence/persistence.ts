import { readdir, rename, stat, truncate, open } from 'node:fs/promises';
import { join } from 'node:path';
import type { Logger } from 'pino';
import type { Store } from '../store.js';
import { AppendLog, type AppendFsync } from './aof.js';
import { replayLog, type LogReplayResult } from './aof-replay.js';
import { SNAPSHOT_FILE, SNAPSHOT_TEMP_FILE, corruptFileName, logFileName, parseLogFileName } from './data-files.js';
import { PersistenceError, describeError } from './errors.js';
import { ensureWritableDir, fsyncDir, unlinkIfExists } from './fs-durable.js';
import { applyLogRecord } from './log-records.js';
import { loadSnapshot } from './snapshot-loader.js';
import { writeSnapshot, type SnapshotWriteStats } from './snapshot-writer.js';

// The server's one entry point to persistence: load at start-up, the log on every write, periodic
// and on-demand snapshots, INFO fields, and the final flush. How the pieces fit:
//
//   dump.kvsnap          the snapshot; its header names log generation G
//   appendonly.G.aof     every write since that snapshot started, then G+1, ... (one per start-up
//                        or snapshot); replayed in order after the snapshot
//
// A snapshot started at time T rotates the log to a new generation at T, in the same turn of the
// event loop in which it takes the store's iterator; once the snapshot is durable, generations
// before the new one are deleted. That is also how the log is compacted.

export type { AppendFsync };

export interface PersistenceOptions {
  /** --dir, created if missing. */
  dir: string;
  /** --snapshot-interval: seconds between snapshots, taken only if the store changed; 0 = off. */
  snapshotIntervalSec: number;
  /** --appendonly yes|no. */
  appendOnly: boolean;
  /** --appendfsync. */
  appendFsync: AppendFsync;
  /** --discard-corrupt: move damaged files aside and start without them instead of refusing to start. */
  discardCorrupt: boolean;
  log: Logger;
  /** Tuning (bench, tests): longest synchronous snapshot slice before yielding, ms. */
  snapshotSliceMs?: number;
  /** Tuning (bench, tests): snapshot block size, bytes. */
  snapshotBlockBytes?: number;
  /** Tuning (tests): delay before retrying a failed log write, ms. */
  logRetryDelayMs?: number;
}

/** Redis's auto-aof-rewrite-min-size: below this the log is never compacted for size. */
export const LOG_COMPACTION_MIN_BYTES = 64 * 1024 * 1024;
/** After a failed automatic snapshot, wait this long before the timers try again (Redis: 5 s). */
const SNAPSHOT_RETRY_DELAY_MS = 5000;

/**
 * The log compaction rule ("grows past twice the snapshot"): compact (take a snapshot, which
 * rotates the log and deletes older generations) once the log written since the last snapshot
 * exceeds max(64 MiB, 2 x that snapshot's size). Redis's auto-aof-rewrite-percentage 100 with
 * auto-aof-rewrite-min-size 64mb, for the same reason: the log stays within ~3x the data.
 */
export function logNeedsCompaction(logBytes: number, snapshotBytes: number, minBytes = LOG_COMPACTION_MIN_BYTES): boolean {
  return logBytes > Math.max(minBytes, 2 * snapshotBytes);
}

interface SnapshotOutcome {
  ok: boolean;
  error: string;
}

/** What start-up found and did, for INFO. */
interface LoadReport {
  keys: number;
  logRecords: number;
  durationMs: number;
}

export class Persistence {
  private readonly snapshotPath: string;
  private aof: AppendLog | null = null;
  /** Generation the next snapshot names (AOF off), or the one receiving writes (AOF on). */
  private generation = 1;
  private running: Promise<SnapshotOutcome> | null = null;
  private changesAtLastSave = 0;
  private lastSaveMs = 0;
  private lastStatus: 'ok' | 'err' = 'ok';
  private lastError = '';
  private lastFailureAtMs = 0;
  private lastStats: SnapshotWriteStats | null = null;
  private snapshotBytes = 0;
  /** Log bytes not covered by a snapshot: replayed at start-up, then appended since the last snapshot started. */
  private startupLogBytes = 0;
  private appendedAtLastSnapshot = 0;
  private snapshotTimer: NodeJS.Timeout | null = null;
  private cronTimer: NodeJS.Timeout | null = null;
  private closing: Promise<boolean> | null = null;
  private loadReport: LoadReport = { keys: 0, logRecords: 0, durationMs: 0 };

  private constructor(
    private readonly store: Store,
    private readonly options: PersistenceOptions,
  ) {
    this.snapshotPath = join(options.dir, SNAPSHOT_FILE);
  }

  /**
   * Checks that the folder is writable (before the server listens), loads the snapshot and
   * replays the log into `store`. Throws PersistenceError: KV_ERR_DIR_UNWRITABLE,
   * KV_ERR_SNAPSHOT_CORRUPT, KV_ERR_SNAPSHOT_UNREADABLE, KV_ERR_LOG_CORRUPT, KV_ERR_LOG_UNREADABLE.
   */
  static async open(store: Store, options: PersistenceOptions): Promise<Persistence> {
    await ensureWritableDir(options.dir);
    const p = new Persistence(store, options);
    await p.load();
    return p;
  }

  /**
   * LASTSAVE: Unix seconds at which the last successful snapshot started (the moment whose state it
   * holds); at start-up, the loaded snapshot's; 0 if none.
   */
  get lastSaveUnixSec(): number {
    return Math.floor(this.lastSaveMs / 1000);
  }

  /** Starts the snapshot timer and the once-a-second timer (everysec fsync, log compaction rule). */
  start(): void {
    if (this.closing !== null || this.cronTimer !== null) return;
    if (this.options.snapshotIntervalSec > 0) {
      this.snapshotTimer = setInterval(() => this.snapshotIfChanged(), this.options.snapshotIntervalSec * 1000);
      this.snapshotTimer.unref();
    }
    this.cronTimer = setInterval(() => this.everySecond(), 1000);
    this.cronTimer.unref();
  }

  /** Logs a successful mutating command (latin1 args[0..argc)); a buffer append, no syscall. */
  logWrite(args: readonly string[], argc: number): void {
    if (this.aof !== null) this.aof.append(args, argc);
  }

  /** See AppendLog.flushForAck: a shared promise with appendfsync always, else null. */
  flushForAck(): Promise<void> | null {
    return this.aof === null ? null : this.aof.flushForAck();
  }

  /** Non-null while writes must be refused (the append-only log cannot be written). */
  writeBlockedReason(): string | null {
    return this.aof === null ? null : this.aof.blockedReason();
  }

  /**
   * SAVE: takes a snapshot now (after one already running ends, since that one may predate the
   * caller's writes); resolves once it is durable. Rejects with KV_ERR_SNAPSHOT_FAILED, keeping
   * the previous snapshot.
   */
  async save(): Promise<void> {
    while (this.running !== null) await this.running;
    if (this.closing !== null) throw new PersistenceError('KV_ERR_SNAPSHOT_FAILED', this.snapshotPath, 'the server is shutting down; its final snapshot is being taken');
    const outcome = await this.startSnapshot(this.options.snapshotSliceMs);
    if (!outcome.ok) {
      throw new PersistenceError(
        'KV_ERR_SNAPSHOT_FAILED',
        this.snapshotPath,
        `snapshot ${this.snapshotPath} could not be written: ${outcome.error}; the previous snapshot is kept; free disk space or fix --dir, then SAVE again`,
      );
    }
  }

  /** BGSAVE: starts a snapshot in the background; false if one is already running. */
  bgsave(): boolean {
    if (this.running !== null || this.closing !== null) return false;
    void this.startSnapshot(this.options.snapshotSliceMs);
    return true;
  }

  /** INFO "persistence" fields; Redis's names where Redis has the same thing. */
  info(): Array<[string, string | number]> {
    const s = this.lastStats;
    const aof = this.aof;
    return [
      ['rdb_changes_since_last_save', this.store.changes - this.changesAtLastSave],
      ['rdb_bgsave_in_progress', this.running === null ? 0 : 1],
      ['rdb_last_save_time', this.lastSaveUnixSec],
      ['rdb_last_bgsave_status', this.lastStatus],
      ['rdb_last_bgsave_time_sec', s === null ? -1 : Math.round(s.durationMs / 1000)],
      ['rdb_last_error', this.lastError],
      ['snapshot_file', this.snapshotPath],
      ['snapshot_last_keys', s === null ? 0 : s.keys],
      ['snapshot_last_bytes', this.snapshotBytes],
      ['snapshot_last_duration_ms', s === null ? 0 : Math.round(s.durationMs)],
      ['snapshot_max_stall_ms', s === null ? 0 : Math.round(s.maxSliceMs * 10) / 10],
      ['aof_enabled', aof === null ? 0 : 1],
      ['aof_rewrite_in_progress', aof !== null && this.running !== null ? 1 : 0],
      ['aof_last_write_status', aof === null ? 'ok' : aof.stats.lastWriteStatus],
      ['aof_last_error', aof === null ? '' : aof.stats.lastError],
      ['aof_fsync', this.options.appendFsync],
      ['aof_generation', aof === null ? 0 : aof.generation],
      ['aof_current_size', this.logBytes()],
      ['aof_base_size', this.snapshotBytes],
      ['aof_pending_bytes', aof === null ? 0 : aof.appendedBytes - aof.durableOffset],
      ['aof_fsyncs', aof === null ? 0 : aof.stats.fsyncs],
      ['aof_write_errors', aof === null ? 0 : aof.stats.writeErrors],
      ['loading_keys', this.loadReport.keys],
      ['loading_log_records', this.loadReport.logRecords],
      ['loading_duration_ms', Math.round(this.loadReport.durationMs)],
    ];
  }

  /**
   * Stops the timers; with save, takes a final snapshot if anything changed since the last one
   * (SHUTDOWN, SIGTERM); writes, fsyncs and closes the log. Resolves false if the snapshot or
   * the log could not be made durable (logged); never rejects.
   */
  close(options: { save: boolean }): Promise<boolean> {
    if (this.closing === null) this.closing = this.doClose(options.save);
    return this.closing;
  }

  private async doClose(save: boolean): Promise<boolean> {
    if (this.snapshotTimer !== null) clearInterval(this.snapshotTimer);
    if (this.cronTimer !== null) clearInterval(this.cronTimer);
    this.snapshotTimer = this.cronTimer = null;
    let ok = true;
    if (this.running !== null) await this.running;
    if (save && this.store.changes !== this.changesAtLastSave) {
      // Nothing else needs the event loop now: one slice, as fast as it goes.
      const outcome = await this.startSnapshot(Infinity);
      ok = outcome.ok;
    }
    if (this.aof !== null) ok = (await this.aof.close()) && ok;
    return ok;
  }

  private logBytes(): number {
    return this.aof === null ? 0 : this.startupLogBytes + this.aof.appendedBytes - this.appendedAtLastSnapshot;
  }

  private snapshotIfChanged(): void {
    if (this.store.changes === this.changesAtLastSave || this.recentlyFailed()) return;
    this.bgsave();
  }

  private everySecond(): void {
    if (this.aof === null) return;
    if (this.options.appendFsync === 'everysec') this.aof.requestFsync();
    if (this.running === null && !this.recentlyFailed() && logNeedsCompaction(this.logBytes(), this.snapshotBytes)) {
      this.options.log.info({ logBytes: this.logBytes(), snapshotBytes: this.snapshotBytes }, 'log compaction: the log outgrew max(64 MiB, 2 x snapshot); taking a snapshot');
      this.bgsave();
    }
  }

  private recentlyFailed(): boolean {
    return this.lastStatus === 'err' && Date.now() - this.lastFailureAtMs < SNAPSHOT_RETRY_DELAY_MS;
  }

  /**
   * Takes a snapshot (sliceMs undefined: the writer's default); `running` is set before this
   * returns, so callers can wait on it. The log
   * rotation and the iterator are taken in the same synchronous step: every write before it is in
   * the store (so in the snapshot), every write after it is in the new generation.
   */
  private startSnapshot(sliceMs: number | undefined): Promise<SnapshotOutcome> {
    const startedAtMs = Date.now();
    const changesAtStart = this.store.changes;
    let generation = this.generation;
    let appendedAtStart = 0;
    if (this.aof !== null) {
      generation = this.generation + 1;
      this.aof.rotate(generation);
      this.generation = generation;
      appendedAtStart = this.aof.appendedBytes;
    }
    const entries = this.store.entries();
    const maxEntries = this.store.size;
    const run = async (): Promise<SnapshotOutcome> => {
      let stats: SnapshotWriteStats;
      try {
        stats = await writeSnapshot({
          dir: this.options.dir,
          entries,
          maxEntries,
          aofGeneration: generation,
          startedAtMs,
          sliceMs,
          blockBytes: this.options.snapshotBlockBytes,
          onCleanupError: (err, step) => this.options.log.warn({ err, step }, 'cleanup after a failed snapshot failed'),
        });
      } catch (err) {
        this.lastStatus = 'err';
        this.lastError = `${describeError(err)} (at ${new Date().toISOString()})`;
        this.lastFailureAtMs = Date.now();
        this.options.log.error({ err, file: this.snapshotPath }, 'snapshot failed; the previous snapshot is kept');
        return { ok: false, error: describeError(err) };
      }
      this.lastStatus = 'ok';
      this.lastError = '';
      this.lastStats = stats;
      this.snapshotBytes = stats.fileBytes;
      this.changesAtLastSave = changesAtStart;
      // The moment the snapshot stands for; the same value is read back from its header at start-up.
      this.lastSaveMs = startedAtMs;
      this.startupLogBytes = 0;
      this.appendedAtLastSnapshot = appendedAtStart;
      this.options.log.info(
        { keys: stats.keys, bytes: stats.fileBytes, ms: Math.round(stats.durationMs), maxStallMs: Math.round(stats.maxSliceMs * 10) / 10, generation },
        'snapshot written',
      );
      if (this.aof !== null) await this.aof.dropBelow(generation);
      await this.deleteLogsBelow(generation);
      return { ok: true, error: '' };
    };
    const running = run().finally(() => {
      if (this.running === running) this.running = null;
    });
    this.running = running;
    return running;
  }

  /** Deletes log generations below `generation` (a durable snapshot covers them); failures are logged. */
  private async deleteLogsBelow(generation: number): Promise<void> {
    try {
      let deleted = 0;
      for (const name of await readdir(this.options.dir)) {
        const gen = parseLogFileName(name);
        if (gen !== null && gen < generation && (await unlinkIfExists(join(this.options.dir, name)))) deleted++;
      }
      if (deleted > 0) await fsyncDir(this.options.dir);
    } catch (err) {
      this.options.log.warn({ err, dir: this.options.dir }, 'deleting obsolete log generations failed; they are ignored at start-up and retried after the next snapshot');
    }
  }

  private async load(): Promise<void> {
    const { dir, log } = this.options;
    const startMs = Date.now();
    if (await unlinkIfExists(join(dir, SNAPSHOT_TEMP_FILE))) {
      log.warn({ file: join(dir, SNAPSHOT_TEMP_FILE) }, 'removed an unfinished snapshot left by a crash');
    }
    const generations = (await readdir(dir)).map(parseLogFileName).filter((g): g is number => g !== null).sort((a, b) => a - b);
    const highestSeen = generations.length > 0 ? generations[generations.length - 1]! : 0;

    let snapshotKeys = 0;
    let baseGeneration = generations.length > 0 ? generations[0]! : 1;
    let hasSnapshot = false;
    try {
      const loaded = await loadSnapshot(this.snapshotPath, (k, v) => this.store.restore(k, v));
      if (loaded !== null) {
        hasSnapshot = true;
        snapshotKeys = loaded.keys;
        baseGeneration = loaded.header.aofGeneration;
        this.snapshotBytes = loaded.fileBytes;
        this.lastSaveMs = loaded.header.startedAtMs;
        log.info({ file: this.snapshotPath, keys: loaded.keys, bytes: loaded.fileBytes, ms: Math.round(loaded.durationMs), generation: baseGeneration }, 'snapshot loaded');
      }
    } catch (err) {
      if (!(err instanceof PersistenceError) || !this.options.discardCorrupt) throw err;
      // The logs continue the lost snapshot's state; alone they would give a partial state.
      log.error({ err, file: this.snapshotPath }, '--discard-corrupt: moving the damaged snapshot and all log generations aside and starting empty');
      resetStore(this.store);
      await this.moveAside(SNAPSHOT_FILE);
      for (const gen of generations) await this.moveAside(logFileName(gen));
      this.generation = highestSeen + 1;
      await this.openLog();
      this.loadReport = { keys: 0, logRecords: 0, durationMs: Date.now() - startMs };
      return;
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
    if (live.length > 0 && !this.options.appendOnly) {
      log.warn({ generations: live }, 'appendonly is off, but log generations newer than the snapshot exist: replaying them so no acknowledged write is lost; the next snapshot deletes them');
    }
    for (let i = 0; i < live.length; i++) {
      const gen = live[i]!;
      const path = join(dir, logFileName(gen));
      const expected = i === 0 ? (hasSnapshot ? baseGeneration : gen) : live[i - 1]! + 1;
      if (gen !== expected) {
        const problem = `log generation ${expected} (${logFileName(expected)}) is missing before ${logFileName(gen)}`;
        await this.onLogDamage(path, problem, null, live.slice(i));
        keptPrefix = true;
        break;
      }
      let result: LogReplayResult | null;
      try {
        result = await replayLog(path, (args, argc) => applyLogRecord(this.store, args, argc));
      } catch (err) {
        throw logUnreadable(path, err);
      }
      if (result === null) continue;
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
        await this.onLogDamage(path, `${damage.problem} at byte ${damage.offsetBytes}`, damage.offsetBytes, live.slice(i));
        keptPrefix = true;
        break;
      }
    }

    // Generations a durable snapshot covers: left by a crash between its rename and their deletion.
    for (const gen of obsolete) await unlinkIfExists(join(dir, logFileName(gen)));
    if (obsolete.length > 0) await fsyncDir(dir);

    this.generation = Math.max(baseGeneration, highestSeen + 1);
    this.startupLogBytes = logBytes;
    this.changesAtLastSave = 0;
    this.loadReport = { keys: snapshotKeys, logRecords, durationMs: Date.now() - startMs };
    if (logRecords > 0) log.info({ records: logRecords, bytes: logBytes, keys: this.store.size }, 'append-only log replayed');
    await this.openLog();
    if (keptPrefix) {
      // The state now includes records from files that were moved aside: make it durable on its own.
      await this.save();
    }
  }

  /**
   * A damaged or missing log generation: refuse to start, or (--discard-corrupt) keep the records
   * before the damage and move this generation and every later one aside.
   */
  private async onLogDamage(path: string, problem: string, offsetBytes: number | null, fromHere: number[]): Promise<void> {
    if (!this.options.discardCorrupt) {
      const intact = offsetBytes === null ? '' : ` (records before byte ${offsetBytes} are intact)`;
      throw new PersistenceError(
        'KV_ERR_LOG_CORRUPT',
        path,
        `append-only log ${path} is corrupt: ${problem}${intact}; restore a good copy, or start with --discard-corrupt to keep the records before the damage and move this file and later generations aside`,
      );
    }
    this.options.log.error({ file: path, problem, movedAside: fromHere.map(logFileName) }, '--discard-corrupt: keeping the records before the damage, moving the damaged log generation and later ones aside');
    for (const gen of fromHere) await this.moveAside(logFileName(gen));
  }

  private async moveAside(name: string): Promise<void> {
    const from = join(this.options.dir, name);
    const to = join(this.options.dir, corruptFileName(name, Date.now()));
    try {
      await rename(from, to);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return;
      throw new PersistenceError('KV_ERR_DIR_UNWRITABLE', from, `cannot move ${from} aside to ${to}: ${describeError(err)}`, { cause: err });
    }
    await fsyncDir(this.options.dir);
    this.options.log.warn({ from, to }, 'moved a damaged file aside');
  }

  private async openLog(): Promise<void> {
    if (!this.options.appendOnly) return;
    const aof = new AppendLog({
      dir: this.options.dir,
      generation: this.generation,
      fsync: this.options.appendFsync,
      log: this.options.log,
      retryDelayMs: this.options.logRetryDelayMs,
    });
    await aof.open();
    this.aof = aof;
  }
}

function logUnreadable(path: string, err: unknown): PersistenceError {
  return new PersistenceError('KV_ERR_LOG_UNREADABLE', path, `append-only log ${path} cannot be read: ${describeError(err)}; fix the file's permissions or disk`, { cause: err });
}

/** Empties the store after a partial load, as if nothing had been loaded. */
function resetStore(store: Store): void {
  store.clear();
  store.changes = 0;
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
