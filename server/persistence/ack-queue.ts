// Batches of replies waiting for the log, in the order their writes were appended. A waiter is
// registered with the log offset its batch needs; the log releases every waiter up to the offset
// it reached (written, or fsynced) or fails them all. Hot path: with the log on, one waiter per
// batch of replies, so waiters and offsets live in two reused arrays (no object per waiter).

/** Told once the log holds a batch's writes as the fsync policy promises, or that it cannot. */
export interface LogAckWaiter {
  logAcknowledged(error: Error | null): void;
}

/** Waiters beyond the head are compacted away once this many were released. */
const COMPACT_AFTER = 1024;

export class AckQueue {
  private readonly waiters: LogAckWaiter[] = [];
  private readonly offsets: number[] = [];
  private head = 0;
  /** Set while callbacks run: a nested release must not compact under the outer loop. */
  private releasing = false;

  get size(): number {
    return this.waiters.length - this.head;
  }

  /** Adds a waiter needing every log byte before `offset`; offsets must not decrease. */
  push(waiter: LogAckWaiter, offset: number): void {
    this.waiters.push(waiter);
    this.offsets.push(offset);
  }

  /**
   * Tells every waiter whose offset is at most `reached`, in order. A waiter added by one of the
   * callbacks is considered too (it needs a later offset, so it normally stays).
   */
  release(reached: number): void {
    this.drain(reached, null);
  }

  /** Tells every waiter that its writes cannot be logged. */
  failAll(error: Error): void {
    this.drain(Infinity, error);
  }

  private drain(reached: number, error: Error | null): void {
    const outer = !this.releasing;
    this.releasing = true;
    try {
      while (this.head < this.waiters.length && this.offsets[this.head]! <= reached) {
        const waiter = this.waiters[this.head]!;
        this.head++;
        waiter.logAcknowledged(error);
      }
    } finally {
      if (outer) {
        this.releasing = false;
        this.compact();
      }
    }
  }

  private compact(): void {
    if (this.head === this.waiters.length) {
      this.waiters.length = 0;
      this.offsets.length = 0;
      this.head = 0;
    } else if (this.head >= COMPACT_AFTER) {
      this.waiters.splice(0, this.head);
      this.offsets.splice(0, this.head);
      this.head = 0;
    }
  }
}

/** A waiter as a promise, for callers off the hot path (tests, tools). */
export class PromiseWaiter implements LogAckWaiter {
  readonly promise: Promise<void>;
  private resolve!: () => void;
  private reject!: (err: Error) => void;

  constructor() {
    this.promise = new Promise<void>((resolve, reject) => {
      this.resolve = resolve;
      this.reject = reject;
    });
  }

  logAcknowledged(error: Error | null): void {
    if (error === null) this.resolve();
    else this.reject(error);
  }
}
