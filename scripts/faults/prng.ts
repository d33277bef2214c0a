/**
 * A small seeded pseudo-random generator (sfc32), so that a fuzz campaign or a kill schedule is
 * reproducible from its --seed: the same seed gives the same frames and the same kill moments.
 * Not cryptographic; fast and with a period far beyond any run.
 */
export class Prng {
  private a: number;
  private b: number;
  private c: number;
  private d: number;

  /** `seed` is any 32-bit integer; `stream` derives independent sequences from one seed (burst, connection). */
  constructor(seed: number, stream = 0) {
    this.a = 0x9e3779b9;
    this.b = 0x243f6a88 ^ (stream | 0);
    this.c = 0xb7e15162;
    this.d = seed | 0;
    // Discard the first outputs: sfc32 mixes poorly in its first few rounds.
    for (let i = 0; i < 15; i++) this.nextUint32();
  }

  /** A uniformly distributed integer in [0, 2^32). */
  nextUint32(): number {
    const t = (((this.a + this.b) | 0) + this.d) | 0;
    this.d = (this.d + 1) | 0;
    this.a = this.b ^ (this.b >>> 9);
    this.b = (this.c + (this.c << 3)) | 0;
    this.c = (this.c << 21) | (this.c >>> 11);
    this.c = (this.c + t) | 0;
    return t >>> 0;
  }

  /** A float in [0, 1). */
  next(): number {
    return this.nextUint32() / 4294967296;
  }

  /** An integer in [0, n); n must be a positive integer up to 2^32. */
  int(n: number): number {
    return Math.floor(this.next() * n);
  }

  /** An integer in [min, max], both included. */
  between(min: number, max: number): number {
    return min + this.int(max - min + 1);
  }

  /** True with probability p. */
  chance(p: number): boolean {
    return this.next() < p;
  }

  pick<T>(items: readonly T[]): T {
    if (items.length === 0) throw new RangeError('Prng.pick needs at least one item');
    return items[this.int(items.length)]!;
  }

  /** `length` random bytes. */
  bytes(length: number): Buffer {
    const out = Buffer.allocUnsafe(length);
    let i = 0;
    for (; i + 4 <= length; i += 4) out.writeUInt32LE(this.nextUint32(), i);
    for (; i < length; i++) out[i] = this.nextUint32() & 0xff;
    return out;
  }
}

/** A random 31-bit seed for runs started without --seed (printed so the run can be repeated). */
export function freshSeed(): number {
  return Math.floor(Math.random() * 0x7fffffff);
}
