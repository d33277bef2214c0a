/**
 * The in-memory hash table. Keys and values are latin1 strings (one char per byte): binary-safe,
 * and V8 keeps them as one-byte strings, which costs far less memory per entry than a Buffer
 * (a Buffer carries an ArrayBuffer and a JS object of ~100 bytes each).
 *
 * `changes` counts mutations, so persistence can skip a snapshot when nothing changed
 * (Redis's `dirty` counter).
 */
export class Store {
  private readonly map = new Map<string, string>();
  /** Mutations since start-up; persistence remembers the value at its last snapshot. */
  changes = 0;
  /** Sum of key and value lengths, in bytes: the payload, without per-entry overhead. */
  payloadBytes = 0;

  get size(): number {
    return this.map.size;
  }

  get(key: string): string | undefined {
    return this.map.get(key);
  }

  has(key: string): boolean {
    return this.map.has(key);
  }

  set(key: string, value: string): void {
    const old = this.map.get(key);
    if (old === undefined) this.payloadBytes += key.length + value.length;
    else this.payloadBytes += value.length - old.length;
    this.map.set(key, value);
    this.changes++;
  }

  /** Returns whether the key existed. */
  delete(key: string): boolean {
    const old = this.map.get(key);
    if (old === undefined) return false;
    this.map.delete(key);
    this.payloadBytes -= key.length + old.length;
    this.changes++;
    return true;
  }

  clear(): void {
    if (this.map.size > 0) this.changes++;
    this.map.clear();
    this.payloadBytes = 0;
  }

  /**
   * Live iteration in insertion order. Safe under concurrent mutation (a Map iterator skips
   * deleted entries and visits added ones), which is what a fuzzy, time-sliced snapshot needs.
   */
  entries(): IterableIterator<[string, string]> {
    return this.map.entries();
  }

  /** Loads an entry at start-up without counting it as a change. */
  restore(key: string, value: string): void {
    const old = this.map.get(key);
    if (old === undefined) this.payloadBytes += key.length + value.length;
    else this.payloadBytes += value.length - old.length;
    this.map.set(key, value);
  }
}
