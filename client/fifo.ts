// The queue of requests waiting for replies on one connection. Replies come back in the order the
// commands were sent, so matching them is a FIFO pop. A ring buffer over a power-of-two array:
// push and shift are O(1) with no allocation once it has grown (Array#shift is O(n) on large arrays).

export class Fifo<T> {
  private items: (T | undefined)[];
  private head = 0;
  private count = 0;
  private mask: number;

  /** `initialCapacity` is rounded up to a power of two; the queue grows by doubling. */
  constructor(initialCapacity = 16) {
    let capacity = 2;
    while (capacity < initialCapacity) capacity *= 2;
    this.items = new Array<T | undefined>(capacity);
    this.mask = capacity - 1;
  }

  get length(): number {
    return this.count;
  }

  push(item: T): void {
    if (this.count === this.items.length) this.grow();
    this.items[(this.head + this.count) & this.mask] = item;
    this.count++;
  }

  /** Removes and returns the oldest item, undefined if empty. */
  shift(): T | undefined {
    if (this.count === 0) return undefined;
    const item = this.items[this.head];
    this.items[this.head] = undefined; // let the item be collected
    this.head = (this.head + 1) & this.mask;
    this.count--;
    return item;
  }

  /** The `i`-th oldest item (0 = next to be shifted), undefined if out of range. */
  at(i: number): T | undefined {
    if (i < 0 || i >= this.count) return undefined;
    return this.items[(this.head + i) & this.mask];
  }

  private grow(): void {
    const old = this.items;
    const next = new Array<T | undefined>(old.length * 2);
    for (let i = 0; i < this.count; i++) next[i] = old[(this.head + i) & this.mask];
    this.items = next;
    this.head = 0;
    this.mask = next.length - 1;
  }
}
