// Open-loop pacing: when each request of a step is due. A pure function of the rate and the
// clock value passed in, so tests are exact; the worker feeds it performance.now().
//
// Request i of a worker is due at startMs + (i + phase) · periodMs. Latency is measured from
// that intended time (coordinated-omission correction, as wrk2 does): if the server stalls, the
// requests that could not be sent meanwhile still count from when they were due.

export class OpenLoopSchedule {
  /** Milliseconds between consecutive requests of this worker. */
  readonly periodMs: number;
  /** Requests this schedule issues in all. */
  readonly total: number;
  private readonly firstMs: number;

  /**
   * @param ratePerSec   this worker's share of the offered load, requests per second (> 0)
   * @param startMs      clock value at which the step starts
   * @param total        requests to issue (use requestsFor(rate, duration) for a timed step)
   * @param phase        0..1: offsets this worker's slots by a fraction of a period, so that
   *                     workers sharing a load interleave instead of sending in bursts together
   */
  constructor(
    readonly ratePerSec: number,
    readonly startMs: number,
    total: number,
    phase = 0,
  ) {
    if (!(ratePerSec > 0) || !Number.isFinite(ratePerSec)) throw new RangeError(`rate must be a positive number, got ${ratePerSec}`);
    this.periodMs = 1000 / ratePerSec;
    this.total = Math.max(0, Math.floor(total));
    this.firstMs = startMs + phase * this.periodMs;
  }

  /** Intended send time of request `i` (clock milliseconds). */
  intendedMs(i: number): number {
    return this.firstMs + i * this.periodMs;
  }

  /** How many requests are due at `nowMs` (intended ≤ now), at most `total`. */
  dueBy(nowMs: number): number {
    if (nowMs < this.firstMs) return 0;
    const due = Math.floor((nowMs - this.firstMs) / this.periodMs) + 1;
    return due < this.total ? due : this.total;
  }

  /** Intended time of request `i`, or Infinity once all requests were issued. */
  nextMs(i: number): number {
    return i >= this.total ? Infinity : this.intendedMs(i);
  }

  /** Clock value at which the schedule's last slot has passed: start + duration. */
  endMs(): number {
    return this.firstMs + this.total * this.periodMs;
  }
}

/** Requests a timed open-loop step issues: those due in [start, start + duration). */
export function requestsFor(ratePerSec: number, durationSec: number): number {
  return Math.max(1, Math.ceil(ratePerSec * durationSec - 1e-9));
}
