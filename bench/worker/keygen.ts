// Key choice for the bench: the key distributions behind one interface, drawing from the one
// seeded PRNG (bench/prng.ts). Pure: the same seed gives the same sequence on every machine, so
// runs are reproducible.

import { Prng } from '../prng.js';
import type { KeyDistribution } from '../workload.js';


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
