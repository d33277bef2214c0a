// The one seeded pseudo-random generator of kvring (mulberry32): the bench's key, operation and
// value-size streams, the statistics' bootstrap, the fault tools' frames and kill schedules and
// the tests' fixtures all draw from it, so a seed means the same sequence everywhere. Small and
// fast enough for the per-request path; not cryptographic.

export class Prng {
  private state: number;

  /**
   * `seed`: any 32-bit integer. `stream` (optional) derives an independent sequence from the same
   * seed (a fuzz burst, a connection); stream 0 is the plain sequence of `seed`.
   */
  constructor(seed: number, stream = 0) {
    this.state = (stream === 0 ? seed : deriveSeed(seed, stream)) | 0;
  }

  /** Uniform unsigned 32-bit integer. */
  nextU32(): number {
    let t = (this.state = (this.state + 0x6d2b79f5) | 0);
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return (t ^ (t >>> 14)) >>> 0;
  }

  /** Uniform in [0, 1). */
  nextFloat(): number {
    return this.nextU32() / 4294967296;
  }

  /** Uniform integer in [0, n), n a positive integer ≤ 2^32. */
  nextBelow(n: number): number {
    return Math.floor(this.nextFloat() * n);
  }

  /** Uniform integer in [min, max], both included. */
  between(min: number, max: number): number {
    return min + this.nextBelow(max - min + 1);
  }

  /** True with probability p. */
  chance(p: number): boolean {
    return this.nextFloat() < p;
  }

  pick<T>(items: readonly T[]): T {
    if (items.length === 0) throw new RangeError('Prng.pick needs at least one item');
    return items[this.nextBelow(items.length)]!;
  }

  /** `length` random bytes. */
  bytes(length: number): Buffer {
    const out = Buffer.allocUnsafe(length);
    let i = 0;
    for (; i + 4 <= length; i += 4) out.writeUInt32LE(this.nextU32(), i);
    for (; i < length; i++) out[i] = this.nextU32() & 0xff;
    return out;
  }
}

/** A `() => number` in [0, 1) over one Prng, for APIs that take a random function (bootstrap, jitter). */
export function seededRandom(seed: number): () => number {
  const prng = new Prng(seed);
  return () => prng.nextFloat();
}

/**
 * A seed for one stream, derived from the run's --seed and the stream's coordinates (worker,
 * step, purpose), so streams are independent and each is reproducible on its own.
 */
export function deriveSeed(seed: number, ...parts: number[]): number {
  let h = (seed ^ 0x9e3779b9) >>> 0;
  for (const part of parts) {
    h = Math.imul(h ^ (part >>> 0), 0x85ebca6b) >>> 0;
    h = (h ^ (h >>> 13)) >>> 0;
    h = Math.imul(h, 0xc2b2ae35) >>> 0;
    h = (h ^ (h >>> 16)) >>> 0;
  }
  return h;
}

/** A random 31-bit seed for runs started without --seed (printed so the run can be repeated). */
export function freshSeed(): number {
  return Math.floor(Math.random() * 0x7fffffff);
}
