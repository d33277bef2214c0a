import { open, type FileHandle } from 'node:fs/promises';
import { join } from 'node:path';
import type { Logger } from 'pino';
import { RespWriter } from '../../protocol/encoder.js';
import { logFileName } from './data-files.js';
import { PersistenceError, describeError } from './errors.js';
import { fsyncDir } from './fs-durable.js';

// The append-only log writer. Commands are appended as RESP bytes to an in-memory buffer (no
// syscall per command); one "pump" moves them to disk in order: write, then fsync according to
// the policy. Everything that touches the file goes through the pump, one step at a time, so
// rotation, retries after a failure, and deletion of obsolete generations never race.
//
// Offsets: every byte ever appended has a logical offset (appendedBytes counts them, over all
// generations). A waiter for "everything up to offset X is durable" resolves once durableOffset
// reaches X, either because the bytes were fsynced or because a durable snapshot covers them.

export type AppendFsync = 'always' | 'everysec' | 'no';

export interface AppendLogOptions {
  dir: string;
  /** The generation new writes go to (the file is created on the first write). */
  generation: number;
  fsync: AppendFsync;
  log: Logger;
  /** Delay before retrying after a failed write or fsync. */
  retryDelayMs?: number;
}

/** Sealed bytes of one generation, in order; endOffset is the logical offset just past them. */
interface Segment {
  gen: number;
  bytes: Buffer;
  endOffset: number;
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

interface Waiter {
  offset: number;
  promise: Promise<void>;
  resolve: () => void;
  reject: (err: Error) => void;
}

function newWaiter(): Waiter {
  let resolve!: () => void;
  let reject!: (err: Error) => void;
  const promise = new Promise<void>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { offset: 0, promise, resolve, reject };
}

const EMPTY = Buffer.alloc(0);
const WRITER_INITIAL_BYTES = 64 * 1024;
/** A writer buffer grown past this (one huge value) is replaced rather than kept. */
const WRITER_KEEP_BYTES = 4 * 1024 * 1024;

export class AppendLog {
  private writer = new RespWriter(WRITER_INITIAL_BYTES);
  private gen: number;
  /** Logical bytes appended since start-up, over all generations. */
  appendedBytes = 0;
  /** Logical offset up to which bytes are in the file (or covered by a snapshot). */
  private writtenOffset = 0;
  /** Logical offset up to which bytes are on disk (or covered by a snapshot). */
  durableOffset = 0;
  private readonly queued: Segment[] = [];
  /** Written but not yet fsynced; kept (except with fsync "no") to rewrite after a failed fsync. */
  private unsynced: Segment[] = [];
  private file: OpenLog | null = null;
  private pumpActive = false;
  private pumpPromise: Promise<void> = Promise.resolve();
  private kickScheduled = false;
  private batch: Waiter | null = null;
  private readonly waiters: Waiter[] = [];
  private fsyncWanted = false;
  private dropBelowGen = 0;
  private dropDone: Array<() => void> = [];
  /** Set while the log cannot be written; writes are refused until a retry succeeds. */
  private failure: { message: string; gen: number } | null = null;
  /** The pump stopped after a failure and waits for the retry timer. */
  private halted = false;
  private retryTimer: NodeJS.Timeout | null = null;
  private closed = false;
  private readonly retryDelayMs: number;
  readonly stats = { fsyncs: 0, writeErrors: 0, lastWriteStatus: 'ok' as 'ok' | 'err', lastError: '' };

  constructor(private readonly options: AppendLogOptions) {
    this.gen = options.generation;
    this.retryDelayMs = options.retryDelayMs ?? 1000;
  }

  /** The generation new writes go to. */
  get generation(): number {
    return this.gen;
  }

  /** Why writes must be refused, or null. */
  blockedReason(): string | null {
    if (this.failure === null) return null;
    return `${this.failure.message}; writes are refused until it can be written again (free disk space or fix the disk; retried every ${this.retryDelayMs} ms)`;
  }

  /** Appends one command (latin1 arguments). Hot path: buffer only; the write happens on setImmediate. */
  append(args: readonly string[], argc: number): void {
    const w = this.writer;
    const before = w.length;
    w.arrayHeader(argc);
    for (let i = 0; i < argc; i++) w.bulkLatin1(args[i]!);
    this.appendedBytes += w.length - before;
    this.schedule();
  }

  /**
   * With fsync "always": a promise for "everything appended so far is fsynced", shared by every
   * caller until the next turn of the event loop (one write + fsync for all of them), or null if
   * nothing is pending. Rejects with KV_ERR_LOG_WRITE if the log cannot be written. Other
   * policies: null (the write happens soon, the fsync later or never).
   */
  flushForAck(): Promise<void> | null {
    if (this.options.fsync !== 'always') {
      this.schedule();
      return null;
    }
    if (this.failure !== null) return Promise.reject(this.blockedError());
    if (this.durableOffset >= this.appendedBytes) return null;
    if (this.batch === null) {
      this.batch = newWaiter();
      this.schedule();
    }
    return this.batch.promise;
  }

  /**
   * Starts a new generation: what was appended so far belongs to the old one, which the pump
   * fsyncs and closes before the first write to the new one, so a crash can leave a torn tail
   * only in the newest generation.
   */
  rotate(newGeneration: number): void {
    if (newGeneration <= this.gen) throw new Error(`log generation must grow: ${newGeneration} <= ${this.gen}`);
    if (this.writer.length > 0) this.seal();
    this.gen = newGeneration;
    this.createCurrentFile();
    this.schedule();
  }

  /**
   * Creates the current generation's file now. Throws PersistenceError KV_ERR_DIR_UNWRITABLE if
   * it cannot be created (start-up: better to refuse than to accept writes that cannot be logged).
   */
  async open(): Promise<void> {
    this.createCurrentFile();
    await this.pump();
    if (this.failure !== null) {
      if (this.retryTimer !== null) clearTimeout(this.retryTimer);
      this.retryTimer = null;
      this.closed = true;
      const path = join(this.options.dir, logFileName(this.gen));
      throw new PersistenceError('KV_ERR_DIR_UNWRITABLE', path, `cannot create the append-only log ${path}: ${this.stats.lastError}; free disk space or point --dir at a writable folder`);
    }
  }

  /**
   * Queues an empty segment so the pump creates the generation's file even before its first
   * write: every generation from the snapshot's on has a file, so a missing one means lost data.
   */
  private createCurrentFile(): void {
    this.queued.push({ gen: this.gen, bytes: EMPTY, endOffset: this.appendedBytes });
  }

  /**
   * Forgets generations below `generation` because a durable snapshot covers them: their pending
   * bytes count as durable, their file is closed, a failure writing them is cleared. Resolves when
   * done; the caller then deletes their files.
   */
  dropBelow(generation: number): Promise<void> {
    this.dropBelowGen = Math.max(this.dropBelowGen, generation);
    const done = new Promise<void>((resolve) => this.dropDone.push(resolve));
    void this.pump();
    return done;
  }

  /** Asks for an fsync of what was written (the everysec timer). */
  requestFsync(): void {
    this.fsyncWanted = true;
    void this.pump();
  }

  /** Tries again now after a failure instead of waiting for the retry timer; resolves when that attempt ended. */
  retryNow(): Promise<void> {
    if (this.retryTimer !== null) clearTimeout(this.retryTimer);
    this.retryTimer = null;
    this.halted = false;
    return this.pump();
  }

  /**
   * Writes and fsyncs everything appended and closes the file. Returns whether all of it is on
   * disk; never throws (a failure is logged).
   */
  async close(): Promise<boolean> {
    this.closed = true;
    if (this.retryTimer !== null) clearTimeout(this.retryTimer);
    this.retryTimer = null;
    this.kick();
    this.halted = false;
    this.fsyncWanted = true;
    await this.pump();
    let ok = this.failure === null && this.durableOffset >= this.appendedBytes;
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
    for (const w of this.waiters.splice(0)) w.reject(this.blockedError());
    return ok;
  }

  private schedule(): void {
    if (this.kickScheduled || this.closed) return;
    this.kickScheduled = true;
    setImmediate(this.kick);
  }

  private readonly kick = (): void => {
    this.kickScheduled = false;
    const batch = this.batch;
    if (batch !== null) {
      this.batch = null;
      if (this.failure !== null) {
        batch.reject(this.blockedError());
      } else {
        batch.offset = this.appendedBytes;
        this.waiters.push(batch);
      }
    }
    void this.pump();
  };

  private blockedError(): PersistenceError {
    const path = join(this.options.dir, logFileName(this.failure?.gen ?? this.gen));
    return new PersistenceError('KV_ERR_LOG_WRITE', path, this.blockedReason() ?? `the append-only log ${path} is closed`);
  }

  /** Moves the buffered bytes into a segment of the current generation. */
  private seal(): void {
    const w = this.writer;
    const bytes = Buffer.allocUnsafe(w.length);
    w.buf.copy(bytes, 0, 0, w.length);
    if (w.buf.length > WRITER_KEEP_BYTES) this.writer = new RespWriter(WRITER_INITIAL_BYTES);
    else w.reset();
    this.queued.push({ gen: this.gen, bytes, endOffset: this.appendedBytes });
  }

  /** Runs the pump unless it is running; resolves when it stops (idle, or halted by a failure). Never rejects. */
  private pump(): Promise<void> {
    if (!this.pumpActive) this.pumpPromise = this.runPump();
    return this.pumpPromise;
  }

  private async runPump(): Promise<void> {
    this.pumpActive = true;
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
        if (this.fsyncWanted && this.file !== null && this.file.writtenBytes > this.file.durableBytes) {
          await this.syncFile();
          continue;
        }
        if (this.writer.length > 0) this.seal();
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
      this.onFailure(err);
    } finally {
      this.pumpActive = false;
    }
  }

  /** Writes the leading queued segments of one generation with one writev. */
  private async writeQueued(): Promise<void> {
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
      // Part of it may have reached the file: cut back before the retry, so no torn record
      // ends up in the middle of the log.
      file.needsTruncate = true;
      throw err;
    }
    this.queued.splice(0, n);
    file.writtenBytes += total;
    this.writtenOffset = segments[n - 1]!.endOffset;
    if (total === 0) return;
    if (this.options.fsync !== 'no') for (const s of segments) this.unsynced.push(s);
    if (this.options.fsync === 'always') this.fsyncWanted = true;
  }

  /** The open file of `gen`, fsyncing and closing the previous generation's file first. */
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
      // The new file's directory entry must be durable before anything in it is acknowledged.
      await fsyncDir(this.options.dir);
      this.file = { gen, path, fh, writtenBytes: size, durableBytes: size, needsTruncate: false };
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
    try {
      await file.fh.datasync();
    } catch (err) {
      // After a failed fsync the kernel may have dropped the dirty pages (and would report the
      // next fsync as a success), so the unsynced bytes are cut off and rewritten from memory.
      if (this.options.fsync !== 'no') {
        file.needsTruncate = true;
        file.writtenBytes = file.durableBytes;
        this.queued.unshift(...this.unsynced);
        this.unsynced = [];
        this.writtenOffset = this.durableOffset;
      }
      throw err;
    }
    this.stats.fsyncs++;
    file.durableBytes = fileTarget;
    this.unsynced = [];
    if (target > this.durableOffset) this.durableOffset = target;
    this.resolveWaiters();
  }

  private async processDrop(): Promise<void> {
    const below = this.dropBelowGen;
    this.dropBelowGen = 0;
    let covered = -1;
    while (this.unsynced.length > 0 && this.unsynced[0]!.gen < below) covered = this.unsynced.shift()!.endOffset;
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
    this.resolveWaiters();
    for (const done of this.dropDone.splice(0)) done();
  }

  private resolveWaiters(): void {
    while (this.waiters.length > 0 && this.waiters[0]!.offset <= this.durableOffset) this.waiters.shift()!.resolve();
  }

  private onFailure(err: unknown): void {
    const gen = this.queued[0]?.gen ?? this.file?.gen ?? this.gen;
    const path = join(this.options.dir, logFileName(gen));
    this.stats.writeErrors++;
    this.stats.lastWriteStatus = 'err';
    this.stats.lastError = describeError(err);
    this.failure = { message: `cannot write the append-only log ${path}: ${describeError(err)}`, gen };
    this.halted = true;
    this.options.log.error({ err, file: path }, 'append-only log write failed: refusing writes until it succeeds');
    const error = this.blockedError();
    for (const w of this.waiters.splice(0)) w.reject(error);
    if (!this.closed && this.retryTimer === null) {
      this.retryTimer = setTimeout(() => {
        this.retryTimer = null;
        this.halted = false;
        void this.pump();
      }, this.retryDelayMs);
      this.retryTimer.unref();
    }
  }
}

/** writev until every byte is written (a regular file may take less per call, e.g. as the disk fills). */
async function writevFully(fh: FileHandle, buffers: Buffer[]): Promise<void> {
  let pending = buffers;
  while (pending.length > 0) {
    const { bytesWritten } = await fh.writev(pending);
    if (bytesWritten <= 0) throw new Error(`writev returned ${bytesWritten} bytes`);
    let skip = bytesWritten;
    const rest: Buffer[] = [];
    for (const b of pending) {
      if (skip >= b.length) {
        skip -= b.length;
      } else {
        rest.push(skip > 0 ? b.subarray(skip) : b);
        skip = 0;
      }
    }
    pending = rest;
  }
}
