// Requests generated but not yet sent because every connection slot of their server was busy:
// a growable FIFO in typed arrays (no object per request). Each keeps its intended send time, so
// the wait here counts in the corrected latency.

export class RequestQueue {
  private intended: Float64Array;
  private ops: Uint8Array;
  private keys: Int32Array;
  private sizes: Int32Array;
  private head = 0;
  count = 0;

  constructor(initialCapacity = 256) {
    this.intended = new Float64Array(initialCapacity);
    this.ops = new Uint8Array(initialCapacity);
    this.keys = new Int32Array(initialCapacity);
    this.sizes = new Int32Array(initialCapacity);
  }

  push(intendedMs: number, op: number, key: number, size: number): void {
    if (this.count === this.intended.length) this.grow();
    const cap = this.intended.length;
    let i = this.head + this.count;
    if (i >= cap) i -= cap;
    this.intended[i] = intendedMs;
    this.ops[i] = op;
    this.keys[i] = key;
    this.sizes[i] = size;
    this.count++;
  }

  /** Fields of the oldest entry; valid while count > 0. */
  headIntendedMs(): number {
    return this.intended[this.head]!;
  }
  headOp(): number {
    return this.ops[this.head]!;
  }
  headKey(): number {
    return this.keys[this.head]!;
  }
  headSize(): number {
    return this.sizes[this.head]!;
  }

  shift(): void {
    this.head++;
    if (this.head === this.intended.length) this.head = 0;
    this.count--;
  }

  clear(): void {
    this.head = 0;
    this.count = 0;
  }

  private grow(): void {
    const cap = this.intended.length;
    const next = cap * 2;
    const intended = new Float64Array(next);
    const ops = new Uint8Array(next);
    const keys = new Int32Array(next);
    const sizes = new Int32Array(next);
    for (let j = 0; j < this.count; j++) {
      let i = this.head + j;
      if (i >= cap) i -= cap;
      intended[j] = this.intended[i]!;
      ops[j] = this.ops[i]!;
      keys[j] = this.keys[i]!;
      sizes[j] = this.sizes[i]!;
    }
    this.intended = intended;
    this.ops = ops;
    this.keys = keys;
    this.sizes = sizes;
    this.head = 0;
  }
}
