// Log bytes written to a file but not yet fsynced, kept in memory because after a failed fsync
// the kernel may have dropped those pages (and would report the next fsync as a success): the
// pump cuts the file back and writes them again from here.
//
// Hot path with everysec (one add per event-loop turn): the bytes are copied into one growable
// buffer and each write is three numbers in reused arrays, so nothing is allocated per write.
// (A Buffer per write, kept alive for up to a second, cost about 0.5 µs of CPU per request at
// pipeline 1 in garbage collection: measured with scripts/persistence-cost.ts.)

import type { Segment } from './aof-pump.js';

const INITIAL_BYTES = 1024 * 1024;
/** Once empty, a buffer grown past this is let go instead of kept. */
const KEEP_BYTES = 16 * 1024 * 1024;

export class UnsyncedBytes {
  private buf = Buffer.allocUnsafe(INITIAL_BYTES);
  private bytes = 0;
  /** Per write, in order: where its bytes end in buf, its generation, its logical end offset. */
  private readonly ends: number[] = [];
  private readonly gens: number[] = [];
  private readonly endOffsets: number[] = [];

  /** Writes held. */
  get count(): number {
    return this.ends.length;
  }

  /** Keeps a copy of one write (`data` may be reused by the caller afterwards). */
  add(gen: number, data: Uint8Array, endOffset: number): void {
    if (this.bytes + data.length > this.buf.length) {
      let size = this.buf.length * 2;
      while (size < this.bytes + data.length) size *= 2;
      const next = Buffer.allocUnsafe(size);
      this.buf.copy(next, 0, 0, this.bytes);
      this.buf = next;
    }
    this.buf.set(data, this.bytes);
    this.bytes += data.length;
    this.ends.push(this.bytes);
    this.gens.push(gen);
    this.endOffsets.push(endOffset);
  }

  /** Forgets the first `n` writes (an fsync covered them). */
  dropFirst(n: number): void {
    if (n <= 0) return;
    if (n >= this.ends.length) {
      this.clear();
      return;
    }
    const cut = this.ends[n - 1]!;
    this.buf.copyWithin(0, cut, this.bytes);
    this.bytes -= cut;
    this.ends.splice(0, n);
    this.gens.splice(0, n);
    this.endOffsets.splice(0, n);
    for (let i = 0; i < this.ends.length; i++) this.ends[i]! -= cut;
  }

  /** Forgets the writes of generations below `gen` (a snapshot covers them); returns the last one's end offset, or -1. */
  dropBelow(gen: number): number {
    let n = 0;
    while (n < this.gens.length && this.gens[n]! < gen) n++;
    const covered = n > 0 ? this.endOffsets[n - 1]! : -1;
    this.dropFirst(n);
    return covered;
  }

  /** Every write held, as segments (copies), oldest first; then holds nothing. */
  takeAll(): Segment[] {
    const segments: Segment[] = [];
    let start = 0;
    for (let i = 0; i < this.ends.length; i++) {
      segments.push({ gen: this.gens[i]!, bytes: Buffer.from(this.buf.subarray(start, this.ends[i]!)), endOffset: this.endOffsets[i]! });
      start = this.ends[i]!;
    }
    this.clear();
    return segments;
  }

  private clear(): void {
    this.bytes = 0;
    this.ends.length = 0;
    this.gens.length = 0;
    this.endOffsets.length = 0;
    if (this.buf.length > KEEP_BYTES) this.buf = Buffer.allocUnsafe(INITIAL_BYTES);
  }
}
