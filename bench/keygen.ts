// Key choice for the bench: a seeded PRNG and the key distributions behind one interface.
// Pure: the same seed gives the same sequence on every machine, so runs are reproducible.

/** mulberry32: a small, fast 32-bit PRNG with a 2^32 period; plenty for choosing keys. */
export class Prng {
  private state: number;

  constructor(seed: number) {
    this.state = seed | 0;
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

  /** Uniform integer in [0, n), n ≤ 2^32. */
  nextBelow(n: number): number {
    return Math.floor(this.nextFloat() * n);
  }
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

export const KEY_DISTRIBUTIONS = ['uniform', 'zipfian', 'sequential'] as const;
export type KeyDistribution = (typeof KEY_DISTRIBUTIONS)[number];

/** Produces key indexes in [0, keySpace). */
export interface KeyGenerator {
  readonly keySpace: number;
  next(): number;
}

export class UniformKeys implements KeyGenerator {
  constructor(
    readonly keySpace: number,
    private readonly prng: Prng,
  ) {}

  next(): number {
    return this.prng.nextBelow(this.keySpace);
  }
}

/** 0, 1, 2, … from `start`, wrapping at keySpace (memtier's --key-pattern S). */
export class SequentialKeys implements KeyGenerator {
  private cursor: number;

  constructor(
    readonly keySpace: number,
    start = 0,
  ) {
    this.cursor = start % keySpace;
  }

  next(): number {
    const k = this.cursor;
    this.cursor = k + 1 === this.keySpace ? 0 : k + 1;
    return k;
  }
}

/** YCSB's default skew: item i is chosen with probability ∝ 1 / (i + 1)^θ. */
export const ZIPFIAN_THETA = 0.99;

/**
 * Zipfian key indexes, as YCSB's ZipfianGenerator (Gray et al., "Quickly generating
 * billion-record synthetic databases", SIGMOD 1994): index 0 is the most popular key.
 * Construction is O(keySpace) (the zeta sum), each draw O(1).
 */
export class ZipfianKeys implements KeyGenerator {
  private readonly alpha: number;
  private readonly zetaN: number;
  private readonly eta: number;
  private readonly halfPowTheta: number;

  constructor(
    readonly keySpace: number,
    private readonly prng: Prng,
    theta = ZIPFIAN_THETA,
  ) {
    const zeta2 = zeta(2, theta);
    this.zetaN = zeta(keySpace, theta);
    this.alpha = 1 / (1 - theta);
    this.eta = (1 - Math.pow(2 / keySpace, 1 - theta)) / (1 - zeta2 / this.zetaN);
    this.halfPowTheta = 1 + Math.pow(0.5, theta);
  }

  next(): number {
    const u = this.prng.nextFloat();
    const uz = u * this.zetaN;
    if (uz < 1) return 0;
    if (uz < this.halfPowTheta) return Math.min(1, this.keySpace - 1);
    const k = Math.floor(this.keySpace * Math.pow(this.eta * u - this.eta + 1, this.alpha));
    return k >= this.keySpace ? this.keySpace - 1 : k;
  }
}

function zeta(n: number, theta: number): number {
  let sum = 0;
  for (let i = 1; i <= n; i++) sum += 1 / Math.pow(i, theta);
  return sum;
}

/**
 * The generator for one worker: `seed` should come from deriveSeed. Sequential workers start at
 * evenly spaced offsets so that together they sweep the key space instead of repeating each other.
 */
export function createKeyGenerator(
  distribution: KeyDistribution,
  keySpace: number,
  seed: number,
  workerIndex = 0,
  workerCount = 1,
): KeyGenerator {
  switch (distribution) {
    case 'uniform':
      return new UniformKeys(keySpace, new Prng(seed));
    case 'zipfian':
      return new ZipfianKeys(keySpace, new Prng(seed));
    case 'sequential':
      return new SequentialKeys(keySpace, Math.floor((keySpace * workerIndex) / workerCount));
  }
}

/**
 * Writes `prefix` followed by `index` as zero-padded decimal of `width` digits into `out` at 0;
 * returns the key's length in bytes. Allocation-free: keys are made per request.
 */
export function writeKey(out: Uint8Array, prefix: Uint8Array, index: number, width: number): number {
  const p = prefix.length;
  for (let i = 0; i < p; i++) out[i] = prefix[i]!;
  let n = index;
  for (let i = p + width - 1; i >= p; i--) {
    out[i] = 0x30 + (n % 10);
    n = Math.floor(n / 10);
  }
  return p + width;
}

/** Decimal digits needed for indexes below `count` (at least 1). */
export function keyWidth(count: number): number {
  return Math.max(1, String(Math.max(0, count - 1)).length);
}
