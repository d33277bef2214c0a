// What a worker sends next: the operation, the key and the value size of each request, drawn from
// streams seeded on their own (reproducible whatever the timing), and the key's bytes formatted in
// place for the ring to hash. Hot path: generate() allocates nothing.

import { deriveSeed, Prng } from '../prng.js';
import type { StepSpec, WorkerSettings } from '../messages.js';
import { DELETE_KEY_WIDTH, deleteNamespace, keyWidth } from '../key-names.js';
import { createKeyGenerator, writeKey, type KeyGenerator } from './keygen.js';
import { OP_DELETE, OP_GET, OP_PUT } from './request-encoder.js';


/** A constant value buffer: PUTs send its first `size` bytes. */
export function constantValue(size: number): Buffer {
  return Buffer.alloc(Math.max(1, size), 0x78);
}

/** Under --verify each worker owns the keys ≡ workerIndex (mod workerCount): maps any index to one. */
export function ownKey(key: number, workerIndex: number, workerCount: number, keySpace: number): number {
  const k = key - (key % workerCount) + workerIndex;
  return k < keySpace ? k : k - workerCount;
}

export class RequestGenerator {
  /** The request drawn last by generate(). */
  op = 0;
  key = 0;
  size = 0;
  /** Key bytes formatted by formatKey: keyBuf[0, keyLength). */
  readonly keyBuf = Buffer.alloc(128);
  keyLength = 0;

  private readonly opPrng: Prng;
  private readonly sizePrng: Prng;
  private readonly keys: KeyGenerator;
  private readonly singleOp: number;
  private readonly opCut: Float64Array;
  private readonly keyView: Uint8Array;
  private readonly keyWidth: number;
  private readonly keyPrefix: Buffer;
  private readonly deletePrefix: Buffer;
  private readonly deleteView: Uint8Array;
  private readonly sizeMin: number;
  private readonly sizeSpan: number;
  private readonly deleteOnly: boolean;
  private readonly verify: boolean;
  private readonly workerIndex: number;
  private readonly workerCount: number;
  private readonly keySpace: number;

  /** `deleteCursor`: the next unused key of this worker's DELETE namespace, advanced across steps. */
  constructor(
    settings: WorkerSettings,
    spec: StepSpec,
    verify: boolean,
    private readonly deleteCursor: { next: number },
  ) {
    const seedBase = deriveSeed(settings.seed, settings.workerIndex, spec.stepIndex);
    this.opPrng = new Prng(deriveSeed(seedBase, 1));
    this.sizePrng = new Prng(deriveSeed(seedBase, 2));
    this.keys = createKeyGenerator(spec.keyDist, settings.keySpace, deriveSeed(seedBase, 3), settings.workerIndex, settings.workerCount);
    const weights = [spec.mix.put, spec.mix.get, spec.mix.delete];
    const total = weights[0]! + weights[1]! + weights[2]!;
    const present = weights.filter((w) => w > 0).length;
    this.singleOp = present === 1 ? weights.findIndex((w) => w > 0) : -1;
    this.opCut = new Float64Array([weights[0]! / total, (weights[0]! + weights[1]!) / total, 1]);
    this.keyWidth = keyWidth(settings.keySpace);
    this.keyPrefix = Buffer.from(settings.keyPrefix);
    this.keyView = this.keyBuf.subarray(0, this.keyPrefix.length + this.keyWidth);
    this.deletePrefix = Buffer.from(deleteNamespace(settings.keyPrefix, settings.workerIndex));
    this.deleteView = this.keyBuf.subarray(0, this.deletePrefix.length + DELETE_KEY_WIDTH);
    this.sizeMin = settings.valueSizeMin;
    this.sizeSpan = settings.valueSizeMax - settings.valueSizeMin + 1;
    this.deleteOnly = spec.deleteOnly;
    this.verify = verify;
    this.workerIndex = settings.workerIndex;
    this.workerCount = settings.workerCount;
    this.keySpace = settings.keySpace;
  }

  private pickOp(): number {
    if (this.singleOp >= 0) return this.singleOp;
    const u = this.opPrng.nextFloat();
    return u < this.opCut[0]! ? OP_PUT : u < this.opCut[1]! ? OP_GET : OP_DELETE;
  }

  /** Formats key `key` of op `op` into keyBuf; returns the exact-length view the ring hashes. */
  formatKey(op: number, key: number): Uint8Array {
    if (op === OP_DELETE && this.deleteOnly) {
      this.keyLength = writeKey(this.keyBuf, this.deletePrefix, key, DELETE_KEY_WIDTH);
      return this.deleteView;
    }
    this.keyLength = writeKey(this.keyBuf, this.keyPrefix, key, this.keyWidth);
    return this.keyView;
  }

  /** Draws the next request into op/key/size and formats its key; returns the key's bytes. */
  generate(): Uint8Array {
    const op = this.pickOp();
    let key: number;
    if (op === OP_DELETE && this.deleteOnly) {
      key = this.deleteCursor.next++;
    } else {
      key = this.keys.next();
      if (this.verify) key = ownKey(key, this.workerIndex, this.workerCount, this.keySpace);
    }
    this.op = op;
    this.key = key;
    this.size = op === OP_PUT ? (this.sizeSpan === 1 ? this.sizeMin : this.sizeMin + this.sizePrng.nextBelow(this.sizeSpan)) : 0;
    return this.formatKey(op, key);
  }
}
