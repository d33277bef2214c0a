import { join } from 'node:path';
import type { Logger } from 'pino';
import { logFileName } from './data-files.js';
import { PersistenceError } from './errors.js';
import { AckQueue, PromiseWaiter, type LogAckWaiter } from './ack-queue.js';
import { LogPump, type AppendFsync } from './aof-pump.js';
import { LogBuffer } from './log-buffer.js';

// The append-only log as the server sees it: append a command (a buffer append, no syscall), and
// hold a batch of replies until the log has its writes. Once per turn of the event loop (a
// setImmediate "kick", after every connection that had data was served) what accumulated goes to
// the kernel as checksummed blocks (log-format.ts):
//
// - everysec / no: one write(2) on the main thread, then every batch of replies waiting for it is
//   released, as Redis's beforeSleep writes its AOF buffer before it sends the replies of that
//   iteration: a process crash never loses an acknowledged write. The everysec fsync runs on the
//   thread pool and never delays the write (Redis postpones its write while a slow fsync runs;
//   here that would postpone acknowledgements too).
// - always: the pump (aof-pump.ts) writes and fsyncs on the thread pool; replies wait for the
//   fsync, and one fsync covers everything that arrived while the previous one ran (group commit).
//
// While the pump owns the file (rotation, a retry after a failure) the turn's bytes are queued
// behind its work instead, in order, and replies wait longer.

export type { AppendFsync };

/** How long a batch's replies wait: not at all, until this turn's log write, or longer (pause reading). */
export type AckWait = 'none' | 'this-turn' | 'later';

export interface AppendLogOptions {
  dir: string;
  /** The generation new writes go to (the file is created on open or rotation). */
  generation: number;
  fsync: AppendFsync;
  log: Logger;
  /** Delay before retrying after a failed write or fsync. */
  retryDelayMs?: number;
}

const EMPTY = Buffer.alloc(0);

export class AppendLog {
  private readonly buffer = new LogBuffer();
  private readonly pump: LogPump;
  private readonly acks = new AckQueue();
  private gen: number;
  /** Logical bytes appended since start-up, over all generations (file headers not counted). */
  appendedBytes = 0;
  private kickScheduled = false;
  private closed = false;

  constructor(private readonly options: AppendLogOptions) {
    this.gen = options.generation;
    this.pump = new LogPump({
      dir: options.dir,
      fsync: options.fsync,
      log: options.log,
      retryDelayMs: options.retryDelayMs ?? 1000,
      onProgress: () => this.acks.release(this.ackedOffset()),
      onFailure: (error) => this.acks.failAll(error),
    });
  }

  /** The generation new writes go to. */
  get generation(): number {
    return this.gen;
  }

  /** Logical offset up to which appended bytes are in the kernel (or covered by a snapshot). */
  get writtenOffset(): number {
    return this.pump.writtenOffset;
  }

  /** Logical offset up to which appended bytes are on disk (or covered by a snapshot). */
  get durableOffset(): number {
    return this.pump.durableOffset;
  }

  /** Log writes (write(2) or writev calls), fsyncs and failures since start. */
  get stats(): LogPump['stats'] {
    return this.pump.stats;
  }

  /** Why writes must be refused, or null. */
  blockedReason(): string | null {
    return this.pump.blockedReason();
  }

  /** Appends one command (latin1 arguments). Hot path: buffer only; the write happens in this turn's kick. */
  append(args: readonly string[], argc: number): void {
    this.appendedBytes += this.buffer.append(args, argc);
    this.schedule();
  }

  /**
   * Whether a batch's replies must wait for the log. `loggedWrites`: the batch appended something.
   * - always: a batch that logged writes waits for the fsync; other batches never wait.
   * - everysec / no: every batch waits while appended bytes are not yet in the kernel, so no reply
   *   shows a write before it is logged (reads of it included, as in Redis); but while the log
   *   cannot be written, batches without writes do not wait (reads keep working).
   */
  mustHold(loggedWrites: boolean): boolean {
    if (this.options.fsync === 'always') return loggedWrites && this.pump.durableOffset < this.appendedBytes;
    return this.pump.writtenOffset < this.appendedBytes && (loggedWrites || !this.pump.failed);
  }

  /**
   * Holds a batch's replies (see mustHold): `waiter.logAcknowledged` is called later, never from
   * within this call, with null once everything appended so far is logged as the policy
   * promises, or with a PersistenceError KV_ERR_LOG_WRITE if it cannot be. Returns how long the
   * wait is expected to be.
   */
  holdReplies(waiter: LogAckWaiter, loggedWrites: boolean): AckWait {
    if (!this.mustHold(loggedWrites)) return 'none';
    this.acks.push(waiter, this.appendedBytes);
    if (this.closed) {
      setImmediate(() => this.acks.failAll(this.pump.blockedError(this.gen)));
      return 'later';
    }
    this.schedule();
    return this.options.fsync !== 'always' && this.pump.canWriteDirect(this.gen) ? 'this-turn' : 'later';
  }

  /**
   * A promise for "everything appended so far is logged as the policy promises" (fsynced with
   * always, in the kernel otherwise), or null if it already is. Rejects with KV_ERR_LOG_WRITE.
   * For tests and tools; the server's connections use holdReplies.
   */
  flushForAck(): Promise<void> | null {
    if (this.pump.failed) return Promise.reject(this.pump.blockedError(this.gen));
    const waiter = new PromiseWaiter();
    return this.holdReplies(waiter, true) === 'none' ? null : waiter.promise;
  }

  /**
   * Starts a new generation: what was appended so far belongs to the old one, which the pump
   * fsyncs and closes before the first write to the new one, so a crash can leave a torn tail
   * only in the newest generation.
   */
  rotate(newGeneration: number): void {
    if (newGeneration <= this.gen) throw new Error(`log generation must grow: ${newGeneration} <= ${this.gen}`);
    this.seal();
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
    await this.pump.run();
    if (this.pump.failed) {
      this.closed = true;
      this.pump.abandon();
      const path = join(this.options.dir, logFileName(this.gen));
      throw new PersistenceError('KV_ERR_DIR_UNWRITABLE', path, `cannot create the append-only log ${path}: ${this.pump.stats.lastError}; free disk space or point --dir at a writable folder`);
    }
  }

  /** See LogPump.dropBelow: a durable snapshot covers generations below `generation`. */
  dropBelow(generation: number): Promise<void> {
    return this.pump.dropBelow(generation);
  }

  /** Asks for an fsync of what was written (the everysec timer). */
  requestFsync(): void {
    this.pump.requestFsync();
  }

  /** Tries again now after a failure instead of waiting for the retry timer; resolves when that attempt ended. */
  retryNow(): Promise<void> {
    return this.pump.retryNow();
  }

  /**
   * Writes and fsyncs everything appended and closes the file. Returns whether all of it is on
   * disk; never throws (a failure is logged).
   */
  async close(): Promise<boolean> {
    this.closed = true;
    this.seal();
    const ok = (await this.pump.close()) && this.pump.durableOffset >= this.appendedBytes;
    this.acks.failAll(this.pump.blockedError(this.gen));
    return ok;
  }

  /** Every generation gets its file (with its header) when it starts, even before its first write. */
  private createCurrentFile(): void {
    this.pump.enqueue({ gen: this.gen, bytes: EMPTY, endOffset: this.appendedBytes });
  }

  private schedule(): void {
    if (this.kickScheduled || this.closed) return;
    this.kickScheduled = true;
    setImmediate(this.kick);
  }

  /** Once per turn of the event loop with something appended or waiting: hand it to the kernel. */
  private readonly kick = (): void => {
    this.kickScheduled = false;
    if (this.pump.failed) {
      this.acks.failAll(this.pump.blockedError(this.gen));
    } else if (this.options.fsync !== 'always' && this.pump.canWriteDirect(this.gen)) {
      if (this.buffer.length > 0) {
        this.pump.writeDirect(this.buffer.take(), this.appendedBytes);
        this.buffer.reset();
      } else {
        this.acks.release(this.ackedOffset());
      }
      return;
    }
    // The pump owns the file or does the writing (always): queue the turn's bytes behind its work.
    this.seal();
    void this.pump.run();
  };

  private ackedOffset(): number {
    return this.options.fsync === 'always' ? this.pump.durableOffset : this.pump.writtenOffset;
  }

  /** Moves the buffered bytes into a queued segment of the current generation. */
  private seal(): void {
    if (this.buffer.length === 0) return;
    const bytes = Buffer.from(this.buffer.take());
    this.buffer.reset();
    this.pump.enqueue({ gen: this.gen, bytes, endOffset: this.appendedBytes });
  }
}
