import { open, type FileHandle } from 'node:fs/promises';
import { join } from 'node:path';
import type { Logger } from 'pino';
import { logFileName } from './data-files.js';
import { PersistenceError, describeError } from './errors.js';
import { fsyncDir, writeFullySync, writeFully, writevFully } from './fs-durable.js';
import { LOG_FILE_HEADER, LOG_FILE_HEADER_BYTES } from './log-format.js';
import { UnsyncedBytes } from './unsynced-bytes.js';

// The append-only log's file side: everything that touches the log files, in order. Queued
// segments are written on the thread pool ("the pump": one step at a time, so rotation, retries
// after a failure, fsyncs and closing obsolete generations never race); the everysec/no write of
// each event-loop turn goes straight to the file with write(2) (writeDirect) whenever the pump
// leaves the file alone. An fsync may run on the thread pool meanwhile; it covers what was
// written before it started.
//
// Offsets are the front's (aof.ts) logical offsets: writtenOffset and durableOffset say how far
// the appended bytes are in the kernel and on disk (or covered by a durable snapshot).

export type AppendFsync = 'always' | 'everysec' | 'no';

/** Sealed bytes (whole blocks) of one generation, in order; endOffset is the logical offset just past them. */
export interface Segment {
  gen: number;
  bytes: Buffer;
  endOffset: number;
}

export interface LogPumpOptions {
  dir: string;
  fsync: AppendFsync;
  log: Logger;
  /** Delay before retrying after a failed write or fsync. */
  retryDelayMs: number;
  /** writtenOffset or durableOffset moved. */
  onProgress: () => void;
  /** A write or fsync failed: nothing waiting can be acknowledged. */
  onFailure: (error: PersistenceError) => void;
}

interface OpenLog {
  gen: number;
  path: string;
  fh: FileHandle;
  /** File size once the writes so far complete. */
  writtenBytes: number;
  /** File size known to be on disk (fsynced). */
  durableBytes: number;
  /** A write or fsync failed: cut the file back to writtenBytes before writing again. */
  needsTruncate: boolean;
}

export class LogPump {
  writtenOffset = 0;
  durableOffset = 0;
  readonly stats = { writes: 0, fsyncs: 0, writeErrors: 0, lastWriteStatus: 'ok' as 'ok' | 'err', lastError: '' };
  private readonly queued: Segment[] = [];
  /** Written but not yet fsynced; kept (except with fsync "no") to rewrite after a failed fsync. */
  private readonly unsynced = new UnsyncedBytes();
  private file: OpenLog | null = null;
  private active = false;
  private running: Promise<void> = Promise.resolve();
  /** The pump is writing, truncating or switching files: a direct write must wait its turn. */
  private ownsFile = false;
  private fsyncWanted = false;
  private dropBelowGen = 0;
  private dropDone: Array<() => void> = [];
  /** Set while the log cannot be written; writes are refused until a retry succeeds. */
  private failure: { message: string; gen: number } | null = null;
  /** Stopped after a failure; waits for the retry timer. */
  private halted = false;
  private retryTimer: NodeJS.Timeout | null = null;
  private closed = false;
  /** The newest generation given to enqueue (named in a failure when no file is open). */
  private latestGen = 0;

  constructor(private readonly options: LogPumpOptions) {}

  get failed(): boolean {
    return this.failure !== null;
  }

  /** Why writes must be refused, or null. */
  blockedReason(): string | null {
    if (this.failure === null) return null;
    return `${this.failure.message}; writes are refused until it can be written again (free disk space or fix the disk; retried every ${this.options.retryDelayMs} ms)`;
  }

  /** KV_ERR_LOG_WRITE for what waits on the log: the failure, or that the log is closed. */
  blockedError(currentGen: number): PersistenceError {
    const path = join(this.options.dir, logFileName(this.failure?.gen ?? currentGen));
    return new PersistenceError('KV_ERR_LOG_WRITE', path, this.blockedReason() ?? `the append-only log ${path} is closed`);
  }

  /** Queues bytes for the pump (an empty segment creates the generation's file). Call run() after. */
  enqueue(segment: Segment): void {
    this.queued.push(segment);
    this.latestGen = segment.gen;
  }

  /** Whether bytes of `gen` may go to the file with writeDirect now. */
  canWriteDirect(gen: number): boolean {
    const file = this.file;
    return file !== null && file.gen === gen && !file.needsTruncate && this.queued.length === 0 && !this.ownsFile && this.failure === null && !this.closed;
  }

  /**
   * Writes `bytes` of the current generation with write(2) on this thread (only when
   * canWriteDirect). `bytes` may be reused by the caller afterwards. On failure the bytes are
   * queued for the retry (after cutting the file back) and the failure is recorded.
   */
  writeDirect(bytes: Buffer, endOffset: number): void {
    const file = this.file!;
    try {
      writeFullySync(file.fh.fd, bytes);
    } catch (err) {
      file.needsTruncate = true;
      this.queued.push({ gen: file.gen, bytes: Buffer.from(bytes), endOffset });
      this.fail(err);
      return;
    }
    file.writtenBytes += bytes.length;
    this.stats.writes++;
    if (this.options.fsync === 'everysec') this.unsynced.add(file.gen, bytes, endOffset);
    this.writtenOffset = endOffset;
    this.options.onProgress();
  }

  /** Asks for an fsync of what was written (the everysec timer, close). */
  requestFsync(): void {
    this.fsyncWanted = true;
    void this.run();
  }

  /**
   * Forgets generations below `generation` because a durable snapshot covers them: their pending
   * bytes count as durable, their file is closed, a failure writing them is cleared.
   */
  dropBelow(generation: number): Promise<void> {
    this.dropBelowGen = Math.max(this.dropBelowGen, generation);
    const done = new Promise<void>((resolve) => this.dropDone.push(resolve));
    void this.run();
    return done;
  }

  /** Tries again now after a failure instead of waiting for the retry timer; resolves when that attempt ended. */
  retryNow(): Promise<void> {
    if (this.retryTimer !== null) clearTimeout(this.retryTimer);
    this.retryTimer = null;
    this.halted = false;
    return this.run();
  }

  /** Gives up after a failure at start-up: no retry, no further writes. */
  abandon(): void {
    this.closed = true;
    if (this.retryTimer !== null) clearTimeout(this.retryTimer);
    this.retryTimer = null;
  }

  /** Writes and fsyncs everything queued and closes the file; whether nothing failed. Never throws. */
  async close(): Promise<boolean> {
    this.closed = true;
    if (this.retryTimer !== null) clearTimeout(this.retryTimer);
    this.retryTimer = null;
    this.halted = false;
    this.fsyncWanted = true;
    await this.run();
    let ok = this.failure === null;
    const file = this.file;
    this.file = null;
    if (file !== null) {
      try {
        await file.fh.close();
      } catch (err) {
        ok = false;
        this.options.log.error({ err, file: file.path }, 'closing the append-only log failed');
      }
    }
    return ok;
  }

  /** Runs the pump unless it is running; resolves when it stops (idle, or halted by a failure). Never rejects. */
  run(): Promise<void> {
    if (!this.active) this.running = this.loop();
    return this.running;
  }

  private async loop(): Promise<void> {
    this.active = true;
    try {
      for (;;) {
        if (this.dropBelowGen > 0) {
          await this.processDrop();
          continue;
        }
        if (this.halted) return;
        // fsync before writing what arrived meanwhile: writing first would let a steady stream of
        // writes postpone the fsync, and every acknowledgement, indefinitely. This way each fsync
        // covers one write of everything that accumulated during the previous one (group commit).
        // One fsync per request: direct writes keep landing while it runs, and fsyncing again for
        // them would turn "once a second" into "all the time". Closing syncs until nothing is left.
        if ((this.fsyncWanted || this.closed) && this.file !== null && this.file.writtenBytes > this.file.durableBytes) {
          this.fsyncWanted = false;
          await this.syncFile();
          continue;
        }
        if (this.queued.length > 0) {
          await this.writeQueued();
          continue;
        }
        this.fsyncWanted = false;
        if (this.failure !== null) {
          this.options.log.info({ file: this.file?.path }, 'append-only log writable again: accepting writes');
          this.failure = null;
          this.stats.lastWriteStatus = 'ok';
        }
        return;
      }
    } catch (err) {
      this.fail(err);
    } finally {
      this.active = false;
      this.ownsFile = false;
    }
  }

  /** Writes the leading queued segments of one generation with one writev. */
  private async writeQueued(): Promise<void> {
    this.ownsFile = true;
    const gen = this.queued[0]!.gen;
    const file = await this.openFor(gen);
    if (file.needsTruncate) {
      await file.fh.truncate(file.writtenBytes);
      file.needsTruncate = false;
    }
    let n = 0;
    while (n < this.queued.length && this.queued[n]!.gen === gen) n++;
    const segments = this.queued.slice(0, n);
    let total = 0;
    for (const s of segments) total += s.bytes.length;
    try {
      if (total > 0) await writevFully(file.fh, segments.map((s) => s.bytes));
    } catch (err) {
      // Part of it may have reached the file: cut back before the retry, so no torn block ends
      // up in the middle of the log.
      file.needsTruncate = true;
      throw err;
    }
    this.ownsFile = false;
    this.queued.splice(0, n);
    file.writtenBytes += total;
    this.writtenOffset = Math.max(this.writtenOffset, segments[n - 1]!.endOffset);
    if (total > 0) {
      this.stats.writes++;
      if (this.options.fsync !== 'no') for (const s of segments) if (s.bytes.length > 0) this.unsynced.add(s.gen, s.bytes, s.endOffset);
      if (this.options.fsync === 'always') this.fsyncWanted = true;
    }
    this.options.onProgress();
  }

  /**
   * The open file of `gen`, fsyncing and closing the previous generation's file first. A new file
   * gets the version 2 header; a file left by an earlier failed attempt to create it holds at
   * most that header and is started again.
   */
  private async openFor(gen: number): Promise<OpenLog> {
    if (this.file !== null && this.file.gen === gen) return this.file;
    if (this.file !== null) {
      if (this.file.writtenBytes > this.file.durableBytes) await this.syncFile();
      const old = this.file;
      this.file = null;
      await old.fh.close();
    }
    const path = join(this.options.dir, logFileName(gen));
    const fh = await open(path, 'a');
    try {
      const size = (await fh.stat()).size;
      if (size > LOG_FILE_HEADER_BYTES) throw new Error(`${path} already holds ${size} bytes; a new log generation must start empty`);
      if (size > 0) await fh.truncate(0);
      await writeFully(fh, LOG_FILE_HEADER);
      // The new file's directory entry must be durable before anything in it is acknowledged.
      await fsyncDir(this.options.dir);
      this.file = { gen, path, fh, writtenBytes: LOG_FILE_HEADER_BYTES, durableBytes: 0, needsTruncate: false };
    } catch (err) {
      await fh.close().catch((closeErr: unknown) => this.options.log.warn({ err: closeErr, file: path }, 'closing the log after a failure failed'));
      throw err;
    }
    return this.file;
  }

  private async syncFile(): Promise<void> {
    const file = this.file!;
    const fileTarget = file.writtenBytes;
    const target = this.writtenOffset;
    // Direct writes may land while the fsync runs: only segments written before it count as synced.
    const coveredWrites = this.unsynced.count;
    try {
      await file.fh.datasync();
    } catch (err) {
      // After a failed fsync the kernel may have dropped the dirty pages (and would report the
      // next fsync as a success), so the unsynced bytes are cut off and rewritten from memory.
      if (this.options.fsync !== 'no') {
        file.needsTruncate = true;
        file.writtenBytes = file.durableBytes;
        this.queued.unshift(...this.unsynced.takeAll());
        this.writtenOffset = this.durableOffset;
      }
      throw err;
    }
    this.stats.fsyncs++;
    file.durableBytes = Math.max(file.durableBytes, fileTarget);
    this.unsynced.dropFirst(coveredWrites);
    if (target > this.durableOffset) this.durableOffset = target;
    this.options.onProgress();
  }

  private async processDrop(): Promise<void> {
    const below = this.dropBelowGen;
    this.dropBelowGen = 0;
    let covered = this.unsynced.dropBelow(below);
    while (this.queued.length > 0 && this.queued[0]!.gen < below) covered = this.queued.shift()!.endOffset;
    if (covered > this.writtenOffset) this.writtenOffset = covered;
    if (covered > this.durableOffset) this.durableOffset = covered;
    if (this.file !== null && this.file.gen < below) {
      const old = this.file;
      this.file = null;
      try {
        await old.fh.close();
      } catch (err) {
        this.options.log.warn({ err, file: old.path }, 'closing an obsolete log generation failed');
      }
    }
    if (this.failure !== null && this.failure.gen < below) {
      this.options.log.info({ generation: this.failure.gen }, 'append-only log failure cleared: a snapshot now covers that generation');
      this.failure = null;
      this.stats.lastWriteStatus = 'ok';
      this.halted = false;
      if (this.retryTimer !== null) clearTimeout(this.retryTimer);
      this.retryTimer = null;
    }
    this.options.onProgress();
    for (const done of this.dropDone.splice(0)) done();
  }

  /** Records a failure: refuse writes, fail what waits, retry after retryDelayMs. */
  private fail(err: unknown): void {
    const gen = this.queued[0]?.gen ?? this.file?.gen ?? this.latestGen;
    const path = join(this.options.dir, logFileName(gen));
    this.stats.writeErrors++;
    this.stats.lastWriteStatus = 'err';
    this.stats.lastError = describeError(err);
    this.failure = { message: `cannot write the append-only log ${path}: ${describeError(err)}`, gen };
    this.halted = true;
    this.options.log.error({ err, file: path }, 'append-only log write failed: refusing writes until it succeeds');
    this.options.onFailure(this.blockedError(gen));
    if (!this.closed && this.retryTimer === null) {
      this.retryTimer = setTimeout(() => {
        this.retryTimer = null;
        this.halted = false;
        void this.run();
      }, this.options.retryDelayMs);
      this.retryTimer.unref();
    }
  }
}
