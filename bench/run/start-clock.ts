// Starting steps at planned wall-clock instants, so that generators on different machines, which
// never talk to each other during the run, start each step together. The wall clock is the one
// thing they share (NTP keeps machines' clocks within a millisecond or so); this file waits for an
// instant on it and turns the threads' start times into what results.json records.
//
// Two clocks are involved: the wall clock (Date.now(), what --start_at is written in, adjusted by
// NTP) and performance.now() (monotonic, sub-millisecond, what worker threads time themselves
// with). wallNowMs() reads the wall clock at sub-millisecond resolution by anchoring the second to
// the first; the anchor is renewed when the two drift apart by more than a millisecond.

import type { StepStart } from '../results.js';

/** The two clocks, replaceable in tests. */
export interface Clocks {
  /** Wall clock, ms since the epoch, whole milliseconds (Date.now()). */
  dateNowMs(): number;
  /** Monotonic clock, ms, sub-millisecond (performance.now()). */
  perfNowMs(): number;
}

export const SYSTEM_CLOCKS: Clocks = { dateNowMs: () => Date.now(), perfNowMs: () => performance.now() };

/** Below this much time left, the wait spins instead of sleeping: a timer can fire a millisecond or more late. */
const SPIN_BELOW_MS = 1;
/** Longest single sleep, so that an abort or a clock step is noticed within a second. */
const MAX_SLEEP_MS = 1000;

/** The wall clock at sub-millisecond resolution: Date.now() anchored to performance.now(). */
export class WallClock {
  private offsetMs: number;

  constructor(private readonly clocks: Clocks = SYSTEM_CLOCKS) {
    this.offsetMs = this.anchor();
  }

  /** Wall-clock ms since the epoch, with performance.now()'s resolution. */
  nowMs(): number {
    const estimate = this.clocks.perfNowMs() + this.offsetMs;
    // Date.now() truncates to the millisecond: the estimate may lead it by up to 1 ms, never trail.
    const date = this.clocks.dateNowMs();
    if (estimate < date - 0.5 || estimate > date + 1.5) this.offsetMs = this.anchor();
    return this.clocks.perfNowMs() + this.offsetMs;
  }

  /** Wall-clock ms of a performance.now() reading taken in this process. */
  fromPerfMs(perfMs: number): number {
    return perfMs + this.offsetMs;
  }

  /**
   * The offset wall − perf, found by waiting for Date.now() to tick to the next millisecond (at
   * most 1 ms of spinning): at the tick the wall clock is exactly that whole millisecond.
   */
  private anchor(): number {
    const start = this.clocks.dateNowMs();
    const giveUpPerfMs = this.clocks.perfNowMs() + 5;
    for (;;) {
      const date = this.clocks.dateNowMs();
      const perf = this.clocks.perfNowMs();
      if (date !== start) return date - perf;
      // A clock that does not tick (a test's frozen clock): take it as it is.
      if (perf > giveUpPerfMs) return date - perf;
    }
  }
}

/** How a wait ended: the wall-clock and monotonic readings at the moment it returned. */
export interface Release {
  /** The instant waited for, wall-clock ms. */
  plannedAtMs: number;
  releasedAtMs: number;
  releasedPerfMs: number;
}

/**
 * Resolves at wall-clock `instantMs` (at once if it has passed): sleeps while far away, spins the
 * last SPIN_BELOW_MS. An aborted `signal` ends the wait early (the caller checks it).
 */
export async function waitUntil(clock: WallClock, instantMs: number, signal: AbortSignal, clocks: Clocks = SYSTEM_CLOCKS): Promise<Release> {
  for (;;) {
    if (signal.aborted) break;
    const leftMs = instantMs - clock.nowMs();
    if (leftMs <= SPIN_BELOW_MS) break;
    await sleep(Math.min(leftMs - SPIN_BELOW_MS, MAX_SLEEP_MS), signal);
  }
  while (!signal.aborted && clock.nowMs() < instantMs) {
    // Spin: a few milliseconds of one core buys a start that is late by microseconds, not by a timer tick.
  }
  const releasedPerfMs = clocks.perfNowMs();
  return { plannedAtMs: instantMs, releasedAtMs: clock.fromPerfMs(releasedPerfMs), releasedPerfMs };
}

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const done = (): void => {
      clearTimeout(timer);
      signal.removeEventListener('abort', done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal.addEventListener('abort', done, { once: true });
  });
}

/**
 * What results.json records about a step's start: the threads' start times (performance.now()
 * ms of this process; a thread that reported none counts as starting at the release) against the
 * planned instant. Pure.
 */
export function stepStartRecord(release: Release, threadStartsPerfMs: readonly number[]): StepStart {
  const starts = threadStartsPerfMs.length > 0 ? threadStartsPerfMs : [release.releasedPerfMs];
  // Wall time of a perf reading: the release pairs the two clocks.
  const lateMs = starts.map((perf) => release.releasedAtMs + (perf - release.releasedPerfMs) - release.plannedAtMs);
  const round = (ms: number): number => Math.round(ms * 1000) / 1000;
  return {
    plannedAtMs: round(release.plannedAtMs),
    releaseLateMs: round(release.releasedAtMs - release.plannedAtMs),
    firstThreadLateMs: round(Math.min(...lateMs)),
    lastThreadLateMs: round(Math.max(...lateMs)),
  };
}

/**
 * --start_at as wall-clock ms: ISO 8601 with a zone ("2026-05-01T12:00:00Z", "…+02:00") or ms
 * since the epoch. `nowMs` (npm run plan only) also allows "+90s", "+2m", "+1500ms" from now.
 * Returns null for text it cannot read; the caller names the flag.
 */
export function parseStartAt(text: string, nowMs: number | null): number | null {
  const t = text.trim();
  if (/^\d{10,}$/.test(t)) return Number(t);
  const relative = /^\+(\d+(?:\.\d+)?)(ms|s|m|h)$/.exec(t);
  if (relative !== null) {
    if (nowMs === null) return null;
    const unitMs = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 }[relative[2] as 'ms' | 's' | 'm' | 'h'];
    // Whole milliseconds: every generator reads the same number back from the plan.
    return Math.ceil(nowMs + Number(relative[1]) * unitMs);
  }
  // A zone is required: a local time would mean a different instant on each machine.
  if (!/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:\d{2})$/.test(t)) return null;
  const ms = Date.parse(t);
  return Number.isNaN(ms) ? null : ms;
}
