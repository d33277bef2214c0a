import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import type { Logger } from 'pino';
import type { Store } from '../store.js';
import { AppendLog, type AckWait, type AppendFsync } from './aof.js';
import type { LogAckWaiter } from './ack-queue.js';
import { SNAPSHOT_FILE, parseLogFileName } from './data-files.js';
import { PersistenceError, describeError } from './errors.js';
import { ensureWritableDir, fsyncDir, unlinkIfExists } from './fs-durable.js';
import { loadDataDir, type LoadReport } from './startup-load.js';
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

export type { AckWait, AppendFsync, LogAckWaiter };

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

  /** Logical end of the append-only log (0 without one): a batch that moved it logged writes. */
  logEnd(): number {
    return this.aof === null ? 0 : this.aof.appendedBytes;
  }

  /** See AppendLog.mustHold; false without a log. */
  mustHoldReplies(loggedWrites: boolean): boolean {
    return this.aof !== null && this.aof.mustHold(loggedWrites);
  }

  /** See AppendLog.holdReplies; 'none' without a log. */
  holdReplies(waiter: LogAckWaiter, loggedWrites: boolean): AckWait {
    return this.aof === null ? 'none' : this.aof.holdReplies(waiter, loggedWrites);
  }

  /** See AppendLog.flushForAck (tests and tools); null without a log. */
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
      ['aof_writes', aof === null ? 0 : aof.stats.writes],
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
    const loaded = await loadDataDir(this.store, this.options);
    this.generation = loaded.generation;
    this.snapshotBytes = loaded.snapshotBytes;
    this.lastSaveMs = loaded.lastSaveMs;
    this.startupLogBytes = loaded.logBytes;
    this.changesAtLastSave = 0;
    this.loadReport = loaded.report;
    await this.openLog();
    if (loaded.needsSnapshot) {
      // The state now includes records from files that were moved aside: make it durable on its own.
      await this.save();
    }
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
