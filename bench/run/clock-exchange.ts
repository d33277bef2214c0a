// Before the common start, the generators of a split run compare clocks through the one thing
// they all reach: the first server. Each writes "<planId> <its wall clock>" under its own key a
// few dozen times a second and reads everyone's keys. A value written at true time t1 and read
// back at t2 ≥ t1 gives (my clock at t2) − (its clock at t1) ≥ my clock − its clock, so the least
// of those differences is an upper bound on how far my clock is ahead of its clock; the other
// generator's readings bound it from the other side (merge puts the two together). A generator
// also sees who is up, and stops when another one, still writing, runs a different plan.
//
// The bound is only as tight as the freshest value read: a round trip plus the writer's period,
// about a millisecond on one machine — enough to catch a clock that is off by more than the
// --max_start_skew_ms a run tolerates. A kvring server has no TIME command; this needs only SET
// and MGET, so it works against any server of the protocol.

import { BenchError } from '../errors.js';
import { oneShot } from '../../protocol/one-shot.js';
import { parseAddress } from '../../protocol/address.js';
import type { ClockReading } from '../results.js';

/** Another generator writes under the same start instant but measures a different plan. */
export class GeneratorMismatchError extends BenchError {
  readonly code = 'KV_ERR_BENCH_GENERATOR_MISMATCH';
}

/** Key of generator `index`'s clock: named by the start instant, so runs with another start never meet. */
export function clockKey(prefix: string, startAtMs: number, index: number): string {
  return `${prefix}gen:${startAtMs}:clock:${index}`;
}

export function encodeClockValue(planId: string, clockMs: number): string {
  return `${planId} ${clockMs.toFixed(3)}`;
}

export function decodeClockValue(text: string): { planId: string; clockMs: number } | null {
  const m = /^(\S+) (\d+(?:\.\d+)?)$/.exec(text);
  return m === null ? null : { planId: m[1]!, clockMs: Number(m[2]) };
}

/** The readings of one generator: pure, fed by exchangeClocks or by tests. */
export class ClockBounds {
  readonly aheadAtMostMs = new Map<number, number>();
  /** Each other generator's last value, to tell a live writer (its value changes) from a stale key. */
  private readonly lastValue = new Map<number, string>();
  rounds = 0;

  constructor(
    private readonly self: number,
    private readonly planId: string,
  ) {}

  /**
   * One round: `values[i]` is generator i's key as read (null if absent), `myClockAtReadMs` this
   * generator's wall clock when the reply arrived, `myValue` what this generator wrote in the same
   * round. Returns the index of a live generator that runs another plan — this generator's own
   * index when another one writes under it — or null.
   */
  observe(values: readonly (string | null)[], myClockAtReadMs: number, myValue: string | null = null): number | null {
    this.rounds++;
    let mismatch: number | null = null;
    // Read right after this generator's own SET on the same connection: another value there is
    // another generator writing under the same index between the two.
    if (myValue !== null && values[this.self] !== undefined && values[this.self] !== myValue) mismatch = this.self;
    values.forEach((text, i) => {
      if (i === this.self || text === null) return;
      const live = this.lastValue.has(i) && this.lastValue.get(i) !== text;
      this.lastValue.set(i, text);
      const v = decodeClockValue(text);
      if (v === null) return;
      if (v.planId !== this.planId) {
        if (live) mismatch = i;
        return;
      }
      const ahead = myClockAtReadMs - v.clockMs;
      const best = this.aheadAtMostMs.get(i);
      if (best === undefined || ahead < best) this.aheadAtMostMs.set(i, ahead);
    });
    return mismatch;
  }

  /** Generators seen writing this plan so far (this one included). */
  seen(): number {
    return this.aheadAtMostMs.size + 1;
  }

  reading(via: string): ClockReading {
    const ahead: Record<string, number> = {};
    for (const [i, ms] of [...this.aheadAtMostMs].sort((a, b) => a[0] - b[0])) ahead[String(i)] = Math.round(ms * 1000) / 1000;
    return { via, rounds: this.rounds, aheadAtMostMs: ahead };
  }
}

export interface ExchangeOptions {
  server: string;
  keyPrefix: string;
  startAtMs: number;
  planId: string;
  index: number;
  count: number;
  /** Wall-clock ms at which to stop (before the start, so that the first step runs undisturbed). */
  untilMs: number;
  nowMs: () => number;
  signal: AbortSignal;
  /** Progress: called when the number of generators seen changes. */
  onSeen?: (seen: number, count: number) => void;
}

/** Milliseconds between rounds: more generators, fewer rounds each, so the server sees about the same load. */
export function roundIntervalMs(count: number): number {
  return Math.max(20, count);
}

/**
 * Runs rounds until `untilMs`; resolves with the readings (rounds 0 when there was no time).
 * A round that fails (a refused connection) is skipped: the run's own checks report the server.
 * Throws GeneratorMismatchError when a live generator writes another plan id.
 */
export async function exchangeClocks(o: ExchangeOptions): Promise<ClockReading> {
  const bounds = new ClockBounds(o.index, o.planId);
  const { host, port } = parseAddress(o.server);
  const keys = Array.from({ length: o.count }, (_, i) => clockKey(o.keyPrefix, o.startAtMs, i));
  const period = roundIntervalMs(o.count);
  let seen = 1;
  while (!o.signal.aborted && o.nowMs() + period < o.untilMs) {
    const roundStart = o.nowMs();
    try {
      const mine = encodeClockValue(o.planId, o.nowMs());
      const replies = await oneShot(host, port, [['SET', keys[o.index]!, mine], ['MGET', ...keys]], Math.max(period * 5, 1000));
      const readAt = o.nowMs();
      const list = replies[1];
      if (Array.isArray(list)) {
        const values = list.map((v) => (Buffer.isBuffer(v) ? v.toString('latin1') : typeof v === 'string' ? v : null));
        const other = bounds.observe(values, readAt, mine);
        if (other === o.index) {
          throw new GeneratorMismatchError(`another generator also runs as generator ${o.index}: give each generator its own --generator_index (an Indexed Job does)`);
        }
        if (other !== null) {
          throw new GeneratorMismatchError(
            `generator ${other} runs a different plan than this one (${o.planId}) with the same --start_at: give every generator the same flags, or the same file from npm run plan`,
          );
        }
        if (bounds.seen() !== seen) {
          seen = bounds.seen();
          o.onSeen?.(seen, o.count);
        }
      }
    } catch (err) {
      if (err instanceof GeneratorMismatchError) throw err;
      // Unreachable or slow server: this round tells nothing; the run's own checks will say why.
    }
    const waitMs = period - (o.nowMs() - roundStart);
    if (waitMs > 0) await new Promise((resolve) => setTimeout(resolve, waitMs));
  }
  return bounds.reading(o.server);
}
