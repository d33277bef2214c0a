// The fixed request sequence of a cost measurement (bench/costs/measure.ts): the same bytes on
// every run and every machine, drawn by the bench's own generator (RequestGenerator, seeded) and
// encoded by its own encoder, cut into batches of `pipeline` requests that the driver sends one
// batch at a time (closed loop), so the server reads the same batches whatever the timing. Pure.
//
// A measurement runs four sequences against four fresh servers. Each is
//   preload (every shared key, and the DELETE keys) → PUT phase → GET phase → DELETE phase
// with `shortRequests` requests in each phase, except that one phase of the "put", "get" and
// "delete" sequences has `longRequests`. The difference of a long sequence and the "base" one is
// what that many more requests of one operation cost: start-up, preload and shutdown cancel out.

import type { StepSpec, WorkerSettings } from '../messages.js';
import type { Operation } from '../results.js';
import { DEFAULT_KEY_PREFIX, DELETE_KEY_WIDTH, deleteNamespace, keyWidth } from '../key-names.js';
import { RespWriter } from '../../protocol/encoder.js';
import { writeKey } from '../worker/keygen.js';
import { constantValue, RequestGenerator } from '../worker/request-generator.js';
import { encodeRequest, OP_DELETE, OP_GET, OP_PUT } from '../worker/request-encoder.js';

/** The operations a measurement prices, in the order of their phases. */
export const COST_OPERATIONS = ['put', 'get', 'delete'] as const satisfies readonly Operation[];
export type CostOperation = (typeof COST_OPERATIONS)[number];

/** The four sequences of a measurement: "base" (every phase short) and one long phase each. */
export const COST_SEQUENCES = ['base', ...COST_OPERATIONS] as const;
export type CostSequenceName = (typeof COST_SEQUENCES)[number];

export interface CostSequenceSpec {
  /** Seed of the generator's streams (--seed of the bench). */
  seed: number;
  /** Shared keys, all preloaded, so GETs hit and PUTs overwrite (the store's size stays put). */
  keySpace: number;
  valueBytes: number;
  /** Requests per batch: > 1, or replies sent one write each could not be told from batched ones. */
  pipeline: number;
  /** Requests of each short phase. */
  shortRequests: number;
  /** Requests of the long phase; long − short is what the difference prices. */
  longRequests: number;
  /**
   * GETs and DELETEs sent after the preload, before the measured phases, so every operation's code
   * is compiled by V8's tiers before the phases begin (tier-up left inside a phase was the largest
   * run-to-run wobble here).
   */
  warmupRequests: number;
}

/**
 * The default sequence, sized for Node under valgrind (≈ 50× slower than native; a run's start-up
 * alone is ~12 s there). What moves between runs of one build is not a share of each request but
 * a sum per run that follows its wall time: the server's 1 s timer (~70 k instructions a tick) and
 * the event loop's extra turns on a loaded machine (~300 instructions each: clock reads, libuv's
 * metrics lock, an epoll call). Hence 32 requests a batch (one loop turn per 32 requests) and
 * 30,000 extra requests of each operation (~200 M instructions), which leave it at a few tenths of
 * a percent. A server that writes each reply on its own makes 32 writes a batch instead of one.
 */
export const DEFAULT_COST_SEQUENCE: CostSequenceSpec = { seed: 1, keySpace: 1000, valueBytes: 64, pipeline: 32, shortRequests: 2000, longRequests: 32000, warmupRequests: 1000 };

/** One batch: the bytes written at once, and how many replies they ask for. */
export interface Batch {
  bytes: Buffer;
  requests: number;
}

export interface CostSequence {
  name: CostSequenceName;
  batches: Batch[];
  /** Requests of the preload and the warm-up. */
  preloadRequests: number;
}

/** Throws RangeError naming the field when the spec cannot make a measurement. */
export function checkSequenceSpec(spec: CostSequenceSpec, label: (field: keyof CostSequenceSpec) => string = (field) => field): void {
  const positive = (name: keyof CostSequenceSpec, min: number): void => {
    const v = spec[name];
    if (!Number.isInteger(v) || v < min) throw new RangeError(`${label(name)} must be an integer ≥ ${min}, got ${v}`);
  };
  positive('keySpace', 1);
  positive('valueBytes', 1);
  positive('pipeline', 2);
  positive('shortRequests', 1);
  positive('longRequests', spec.shortRequests + 1);
  positive('warmupRequests', 0);
  if (!Number.isInteger(spec.seed)) throw new RangeError(`${label('seed')} must be an integer, got ${spec.seed}`);
}

/** Requests of each phase in sequence `name`: every phase short, the named one long. */
export function phaseRequestsOf(spec: CostSequenceSpec, name: CostSequenceName): Record<CostOperation, number> {
  const n = (op: CostOperation): number => (name === op ? spec.longRequests : spec.shortRequests);
  return { put: n('put'), get: n('get'), delete: n('delete') };
}

const OP_CODES: Record<CostOperation, number> = { put: OP_PUT, get: OP_GET, delete: OP_DELETE };

/** Cuts the encoded requests into batches of `pipeline` (the last one may be shorter). */
class Batcher {
  readonly batches: Batch[] = [];
  private writer = new RespWriter(4096);
  private inBatch = 0;

  constructor(private readonly pipeline: number) {}

  get w(): RespWriter {
    return this.writer;
  }

  /** Call after encoding one request into `w`. */
  added(): void {
    if (++this.inBatch === this.pipeline) this.flush();
  }

  /** Ends the open batch: phases never share a batch, so each phase's batching is its own. */
  flush(): void {
    if (this.inBatch === 0) return;
    this.batches.push({ bytes: Buffer.from(this.writer.view()), requests: this.inBatch });
    this.writer.reset();
    this.inBatch = 0;
  }
}

/** The batches of sequence `name` of `spec`. Same spec and name → the same bytes. */
export function buildCostSequence(spec: CostSequenceSpec, name: CostSequenceName): CostSequence {
  checkSequenceSpec(spec);
  const phases = phaseRequestsOf(spec, name);
  const settings: WorkerSettings = {
    workerIndex: 0,
    workerCount: 1,
    seed: spec.seed,
    keySpace: spec.keySpace,
    valueSizeMin: spec.valueBytes,
    valueSizeMax: spec.valueBytes,
    verify: false,
    connections: 1,
    pipeline: spec.pipeline,
    timeoutMs: 0,
    intervalMs: 0,
    keyPrefix: DEFAULT_KEY_PREFIX,
  };
  const value = constantValue(spec.valueBytes);
  const b = new Batcher(spec.pipeline);
  const key = Buffer.alloc(128);

  // Preload: every shared key, then as many DELETE keys as the longest DELETE phase and the warm-up
  // delete; then the warm-up. The same in all four sequences, so the difference removes it.
  const sharedPrefix = Buffer.from(DEFAULT_KEY_PREFIX);
  const sharedWidth = keyWidth(spec.keySpace);
  for (let i = 0; i < spec.keySpace; i++) {
    encodeRequest(b.w, OP_PUT, key, writeKey(key, sharedPrefix, i, sharedWidth), value, spec.valueBytes);
    b.added();
  }
  const deletePrefix = Buffer.from(deleteNamespace(DEFAULT_KEY_PREFIX, 0));
  for (let i = 0; i < spec.longRequests + spec.warmupRequests; i++) {
    encodeRequest(b.w, OP_PUT, key, writeKey(key, deletePrefix, i, DELETE_KEY_WIDTH), value, spec.valueBytes);
    b.added();
  }
  b.flush();
  for (let i = 0; i < spec.warmupRequests; i++) {
    encodeRequest(b.w, OP_GET, key, writeKey(key, sharedPrefix, i % spec.keySpace, sharedWidth), value, 0);
    b.added();
  }
  b.flush();
  // The DELETE phase deletes keys 0, 1, … of the namespace: the warm-up deletes the ones after them.
  for (let i = 0; i < spec.warmupRequests; i++) {
    encodeRequest(b.w, OP_DELETE, key, writeKey(key, deletePrefix, spec.longRequests + i, DELETE_KEY_WIDTH), value, 0);
    b.added();
  }
  b.flush();
  const preloadRequests = spec.keySpace + spec.longRequests + 3 * spec.warmupRequests;

  const deleteCursor = { next: 0 };
  COST_OPERATIONS.forEach((op, phase) => {
    const step: StepSpec = {
      stepIndex: phase,
      servers: [],
      mode: 'closed',
      ratePerSec: null,
      phase: 0,
      durationMs: null,
      numRequests: phases[op],
      mix: { put: op === 'put' ? 1 : 0, get: op === 'get' ? 1 : 0, delete: op === 'delete' ? 1 : 0 },
      keyDist: 'uniform',
      deleteOnly: op === 'delete',
      deleteKeys: spec.longRequests,
    };
    const gen = new RequestGenerator(settings, step, false, deleteCursor);
    for (let i = 0; i < phases[op]; i++) {
      gen.generate();
      if (gen.op !== OP_CODES[op]) throw new Error(`the generator drew op ${gen.op} in the ${op} phase`);
      encodeRequest(b.w, gen.op, gen.keyBuf, gen.keyLength, value, gen.size);
      b.added();
    }
    b.flush();
  });
  return { name, batches: b.batches, preloadRequests };
}
