// Measures the consistent-hash ring against the legacy uhashring ring of the original Python
// project and the alternatives we tried, so the manual's choice can be checked on any machine
// (one script of ~530 lines: the alternatives we rejected live only here, as the evidence):
//   npx tsx scripts/ring-bench.ts            (or, after `npm run build`, node dist/scripts/ring-bench.js)
//   options: --sets 10 (random server-name sets per server count), --alt-sets 3 (sets for the
//   alternatives we rejected), --keys 1000000, --seed 1
// Prints markdown tables on stdout and progress (with CPU seconds) on stderr. A full run costs
// ~1 minute of CPU on this project's 2-core machine; wall time grows when neighbours are busy.
//
// Quality (balance, keys moved) is computed in this thread; lookup speed in one fresh worker thread
// per algorithm, so each timing loop sees a single ring class and key type, as a real client's call
// site does (mixing them in one thread slows every lookup by ~10 ns and would blur the comparison).

import { createHash } from 'node:crypto';
import { once } from 'node:events';
import { parseArgs } from 'node:util';
import { Worker, isMainThread, parentPort, workerData } from 'node:worker_threads';

import { fmix32, hash32, hashString } from '../client/hash.js';
import { DEFAULT_TABLE_SIZE, Ring } from '../client/ring.js';
import { UHASHRING_VNODES, UhashringRing } from '../client/uhashring-ring.js';
import { median } from '../bench/analysis/statistics.js';

const SERVER_COUNTS = [2, 3, 4, 8, 16, 32, 64] as const;
/** Distinct keys cycled by the timing loop: more than fit in L1, as on a real request stream. */
const TIMING_POOL_KEYS = 65536;
/** Time spent timing one ring (after warm-up), and the fewest passes over the pool. */
const TIMING_BUDGET_MS = 200;
const TIMING_MIN_PASSES = 5;
const VNODES_PER_SERVER = 1000;

// ---------------------------------------------------------------------------------------------
// The alternatives we measured before choosing Maglev; kept here, not in client/, because nothing
// but this benchmark uses them. Both take a precomputed 32-bit key hash, so a quality pass over a
// million keys stays cheap; `lookup` hashes the key for the timing loop.

/** Classic vnode ring (as in ketama / uhashring): 1000 murmur3 points per server, binary search. */
class VnodeRing {
  readonly nodes: readonly string[];
  private readonly points: Uint32Array;
  private readonly owners: Uint16Array;
  constructor(nodeIds: readonly string[]) {
    this.nodes = [...nodeIds].sort();
    const points: [number, number][] = [];
    this.nodes.forEach((id, node) => {
      for (let v = 0; v < VNODES_PER_SERVER; v++) points.push([hash32(`${id}#${v}`), node]);
    });
    points.sort((a, b) => a[0] - b[0] || a[1] - b[1]);
    this.points = Uint32Array.from(points, (p) => p[0]);
    this.owners = Uint16Array.from(points, (p) => p[1]);
  }
  lookup(key: string): number {
    return this.lookupHash(hashString(key));
  }
  lookupHash(keyHash: number): number {
    let low = 0;
    let high = this.points.length;
    while (low < high) {
      const mid = (low + high) >>> 1;
      if (this.points[mid]! < keyHash) low = mid + 1;
      else high = mid;
    }
    return this.owners[low === this.points.length ? 0 : low]!;
  }
}

/** Rendezvous (highest random weight) hashing: one mix per server per lookup. */
class RendezvousRing {
  readonly nodes: readonly string[];
  private readonly seeds: Uint32Array;
  constructor(nodeIds: readonly string[]) {
    this.nodes = [...nodeIds].sort();
    this.seeds = Uint32Array.from(this.nodes, (id) => hash32(id, 0x5eed));
  }
  lookup(key: string): number {
    return this.lookupHash(hashString(key));
  }
  lookupHash(keyHash: number): number {
    let best = 0;
    let bestScore = -1;
    for (let i = 0; i < this.seeds.length; i++) {
      const score = fmix32(keyHash ^ this.seeds[i]!);
      if (score > bestScore) {
        best = i;
        bestScore = score;
      }
    }
    return best;
  }
}

// ---------------------------------------------------------------------------------------------
// Pure helpers: data in, data out.

/** xorshift32: a reproducible stream of uint32 from a seed. */
function randomStream(seed: number): () => number {
  let state = seed >>> 0 || 0x9e3779b9;
  return () => {
    state ^= state << 13;
    state ^= state >>> 17;
    state ^= state << 5;
    return state >>> 0;
  };
}

/** `count` distinct server ids like "127.12.200.3:7123". */
function serverNames(count: number, next: () => number): string[] {
  const names = new Set<string>();
  while (names.size < count) names.add(serverName(next));
  return [...names];
}

function serverName(next: () => number): string {
  const r = next();
  return `127.${r & 0xff}.${(r >>> 8) & 0xff}.${(r >>> 16) & 0xff}:${7000 + (next() % 1000)}`;
}


/** Busiest node's keys over the mean; `owners[k]` is key k's node index among `nodeCount`. */
function maxOverMean(owners: Uint16Array, nodeCount: number): number {
  const counts = new Float64Array(nodeCount);
  for (let k = 0; k < owners.length; k++) counts[owners[k]!]!++;
  return Math.max(...counts) / (owners.length / nodeCount);
}

/** Fraction of keys whose node id differs between two placements over different node lists. */
function movedFraction(
  before: Uint16Array,
  beforeNodes: readonly string[],
  after: Uint16Array,
  afterNodes: readonly string[],
): number {
  // Translate "after" indexes into "before" indexes once (-1 for a node that is new).
  const position = new Map(beforeNodes.map((id, i) => [id, i]));
  const afterToBefore = Int32Array.from(afterNodes, (id) => position.get(id) ?? -1);
  let moved = 0;
  for (let k = 0; k < before.length; k++) if (afterToBefore[after[k]!] !== before[k]) moved++;
  return moved / before.length;
}

// ---------------------------------------------------------------------------------------------
// Quality: balance and keys moved, for every algorithm and server count.

interface Placer {
  readonly nodes: readonly string[];
  /** Node index of every benchmark key. */
  place(): Uint16Array;
}

interface Algorithm {
  readonly label: string;
  /** Measured on fewer server sets: context for the choice, not the thing being chosen. */
  readonly isAlternative: boolean;
  /** Whether removing/adding a server is meaningful (the random floor has no membership). */
  readonly hasMembership: boolean;
  build(nodeIds: readonly string[], setIndex: number): Placer;
  /** Worker-side timing kind, or null when timing it would say nothing. */
  readonly timing: TimingKind | null;
}

interface QualityRow {
  readonly algorithm: string;
  readonly servers: number;
  readonly balance: readonly number[];
  readonly addExtra: readonly number[];
  readonly removeExtra: readonly number[];
}

/** Node index of keys 0 … keyCount-1 (a plain loop: TypedArray.from with a callback measured ~15× slower). */
function placeAll(keyCount: number, nodeOf: (key: number) => number): Uint16Array {
  const owners = new Uint16Array(keyCount);
  for (let k = 0; k < keyCount; k++) owners[k] = nodeOf(k);
  return owners;
}

function keyData(keyCount: number): { keys: string[]; hashes: Uint32Array; digests: Buffer } {
  const keys = Array.from({ length: keyCount }, (_, i) => `key:${i}`);
  const hashes = Uint32Array.from(keys, (key) => hash32(key));
  const digests = Buffer.allocUnsafe(keyCount * 32);
  keys.forEach((key, i) => createHash('sha256').update(key).digest().copy(digests, i * 32));
  return { keys, hashes, digests };
}

function algorithms(data: ReturnType<typeof keyData>): Algorithm[] {
  const { keys, hashes, digests } = data;
  const byHash = (ring: VnodeRing | RendezvousRing): Placer => ({
    nodes: ring.nodes,
    place: () => placeAll(hashes.length, (k) => ring.lookupHash(hashes[k]!)),
  });
  return [
    {
      label: `**kvring Ring**: Maglev M=${DEFAULT_TABLE_SIZE}, murmur3`,
      isAlternative: false,
      hasMembership: true,
      timing: 'ring',
      build: (ids) => {
        const ring = new Ring(ids);
        return { nodes: ring.nodes, place: () => placeAll(keys.length, (k) => ring.lookup(keys[k]!)) };
      },
    },
    {
      label: `seed: uhashring sha256, ${UHASHRING_VNODES} vnodes (UhashringRing)`,
      isAlternative: false,
      hasMembership: true,
      timing: 'seed',
      build: (ids) => {
        const ring = new UhashringRing(ids);
        return {
          nodes: ring.nodes,
          place: () => placeAll(keys.length, (k) => ring.lookupDigest(digests, k * 32)),
        };
      },
    },
    {
      label: `vnode ring, murmur3, ${VNODES_PER_SERVER} vnodes`,
      isAlternative: true,
      hasMembership: true,
      timing: 'vnode',
      build: (ids) => byHash(new VnodeRing(ids)),
    },
    {
      label: 'rendezvous (HRW), murmur3',
      isAlternative: true,
      hasMembership: true,
      timing: 'rendezvous',
      build: (ids) => byHash(new RendezvousRing(ids)),
    },
    {
      // Each key on an independent uniformly random server: what sampling noise alone gives.
      label: 'floor: uniformly random placement',
      isAlternative: false,
      hasMembership: false,
      timing: null,
      build: (ids, setIndex) => {
        const next = randomStream(0xf100 + setIndex * 977 + ids.length);
        return { nodes: ids, place: () => placeAll(keys.length, () => next() % ids.length) };
      },
    },
  ];
}

function measureQuality(algorithm: Algorithm, servers: number, sets: number, seed: number): QualityRow {
  const next = randomStream(seed * 1000 + servers);
  const balance: number[] = [];
  const addExtra: number[] = [];
  const removeExtra: number[] = [];
  for (let set = 0; set < sets; set++) {
    // Draw the same names for every algorithm: the stream depends only on seed, count and set.
    const ids = serverNames(servers + 1, next);
    const members = ids.slice(0, servers);
    const base = algorithm.build(members, set);
    const owners = base.place();
    balance.push(maxOverMean(owners, servers));
    if (!algorithm.hasMembership) continue;
    const grown = algorithm.build(ids, set);
    addExtra.push(movedFraction(owners, base.nodes, grown.place(), grown.nodes) - 1 / (servers + 1));
    const removed = members[next() % servers]!;
    const shrunk = algorithm.build(members.filter((id) => id !== removed), set);
    removeExtra.push(movedFraction(owners, base.nodes, shrunk.place(), shrunk.nodes) - 1 / servers);
  }
  return { algorithm: algorithm.label, servers, balance, addExtra, removeExtra };
}

// ---------------------------------------------------------------------------------------------
// Speed: ns per lookup, hashing included, in a warm loop; one worker per kind.

type TimingKind = 'ring' | 'ring-bytes' | 'ring-live' | 'seed' | 'vnode' | 'rendezvous' | 'hash-murmur3' | 'hash-fnv1a' | 'hash-sha256';

interface TimingRequest {
  readonly kind: TimingKind;
  readonly serverCounts: readonly number[];
  readonly seed: number;
}

/** Per server count: fastest pass and median pass, ns per lookup. */
type TimingResult = Record<number, { bestNs: number; medianNs: number }>;

function timingKeys(): string[] {
  return Array.from({ length: TIMING_POOL_KEYS }, (_, i) => `key:${(i * 15 + 7) % 1_000_000}`);
}

// One liveness predicate for every ring timed, as a client has one per cluster: a predicate that
// changes from call to call costs ~10 ns more (the call to it can no longer be inlined).
let liveFlags = new Uint8Array(0);
const isLiveFlag = (index: number): boolean => liveFlags[index] === 1;

function fnv1aMixed(key: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < key.length; i++) h = Math.imul(h ^ key.charCodeAt(i), 16777619);
  return fmix32(h);
}

/** Builds one timed pass for `kind` over `servers` servers: looks up the pool's keys, returns a sink value. */
function timedLookup(kind: TimingKind, servers: number, seed: number): (keys: readonly string[], bytes: readonly Buffer[]) => number {
  const ids = serverNames(servers + 1, randomStream(seed * 1000 + servers)).slice(0, servers);
  switch (kind) {
    case 'ring': {
      const ring = new Ring(ids);
      return (keys) => {
        let sink = 0;
        for (let i = 0; i < keys.length; i++) sink ^= ring.lookup(keys[i]!);
        return sink;
      };
    }
    case 'ring-bytes': {
      const ring = new Ring(ids);
      return (_keys, bytes) => {
        let sink = 0;
        for (let i = 0; i < bytes.length; i++) sink ^= ring.lookup(bytes[i]!);
        return sink;
      };
    }
    case 'ring-live': {
      const ring = new Ring(ids);
      liveFlags = new Uint8Array(servers).fill(1);
      return (keys) => {
        let sink = 0;
        for (let i = 0; i < keys.length; i++) sink ^= ring.lookupLive(keys[i]!, isLiveFlag);
        return sink;
      };
    }
    case 'seed': {
      const ring = new UhashringRing(ids);
      return (keys) => {
        let sink = 0;
        for (let i = 0; i < keys.length; i += 16) sink ^= ring.lookup(keys[i]!); // 1/16 of the pool: it is slow
        return sink;
      };
    }
    case 'vnode':
    case 'rendezvous': {
      const ring = kind === 'vnode' ? new VnodeRing(ids) : new RendezvousRing(ids);
      return (keys) => {
        let sink = 0;
        for (let i = 0; i < keys.length; i++) sink ^= ring.lookup(keys[i]!);
        return sink;
      };
    }
    case 'hash-murmur3':
      return (keys) => {
        let sink = 0;
        for (let i = 0; i < keys.length; i++) sink ^= hashString(keys[i]!);
        return sink;
      };
    case 'hash-fnv1a':
      return (keys) => {
        let sink = 0;
        for (let i = 0; i < keys.length; i++) sink ^= fnv1aMixed(keys[i]!);
        return sink;
      };
    case 'hash-sha256':
      return (keys) => {
        let sink = 0;
        for (let i = 0; i < keys.length; i += 16) sink ^= createHash('sha256').update(keys[i]!).digest().readUInt32BE(0);
        return sink;
      };
  }
}

function runTiming(request: TimingRequest): TimingResult {
  const keys = timingKeys();
  const bytes = keys.map((key) => Buffer.from(key));
  const lookupsPerPass = request.kind === 'seed' || request.kind === 'hash-sha256' ? keys.length / 16 : keys.length;
  const result: TimingResult = {};
  for (const servers of request.serverCounts) {
    const pass = timedLookup(request.kind, servers, request.seed);
    let sink = pass(keys, bytes) ^ pass(keys, bytes); // warm-up: let the JIT optimise the loop
    const passNs: number[] = [];
    const start = process.hrtime.bigint();
    while (passNs.length < TIMING_MIN_PASSES || Number(process.hrtime.bigint() - start) < TIMING_BUDGET_MS * 1e6) {
      const t0 = process.hrtime.bigint();
      sink ^= pass(keys, bytes);
      passNs.push(Number(process.hrtime.bigint() - t0) / lookupsPerPass);
    }
    if (sink === 0.5) console.error('unreachable; keeps the loop from being optimised away');
    result[servers] = { bestNs: Math.min(...passNs), medianNs: median(passNs) };
  }
  return result;
}

// The worker is this same file: under tsx it first registers tsx's loader, which Node 20 does not
// pass on to a worker's entry module.
const WORKER_SOURCE = `
const { workerData } = require('node:worker_threads');
(async () => {
  if (workerData.fromSource) (await import('tsx/esm/api')).register();
  await import(workerData.scriptUrl);
})();
`;

async function timeInWorker(request: TimingRequest): Promise<TimingResult> {
  const scriptUrl = import.meta.url;
  const worker = new Worker(WORKER_SOURCE, {
    eval: true,
    workerData: { fromSource: scriptUrl.endsWith('.ts'), scriptUrl, request },
  });
  const [result] = (await once(worker, 'message')) as [TimingResult];
  await worker.terminate();
  return result;
}

// ---------------------------------------------------------------------------------------------
// Rendering: results in, markdown out.

function fixed(value: number, digits: number): string {
  return value.toFixed(digits);
}

function balanceCell(values: readonly number[]): string {
  return `${fixed(median(values), 3)} [${fixed(Math.max(...values), 3)}]`;
}

function extraCell(values: readonly number[]): string {
  if (values.length === 0) return '–';
  const pp = (v: number): string => `${v >= 0 ? '+' : '−'}${fixed(Math.abs(v * 100), 2)}`;
  return `${pp(median(values))} [${pp(Math.max(...values))}]`;
}

function speedCell(timing: TimingResult | undefined, servers: number): string {
  const entry = timing?.[servers];
  if (!entry) return '–';
  const digits = entry.bestNs >= 100 ? 0 : 1;
  return `${fixed(entry.bestNs, digits)} [${fixed(entry.medianNs, digits)}]`;
}

function qualityTable(rows: readonly QualityRow[], timings: ReadonlyMap<string, TimingResult>): string {
  const lines = [
    '| servers | algorithm | max/mean load: median [worst] | moved on add − ideal, pp: median [worst] | moved on remove − ideal, pp | ns/lookup: best [median] |',
    '|---:|---|---:|---:|---:|---:|',
  ];
  for (const row of rows) {
    lines.push(
      `| ${row.servers} | ${row.algorithm} | ${balanceCell(row.balance)} | ${extraCell(row.addExtra)} | ${extraCell(row.removeExtra)} | ${speedCell(timings.get(row.algorithm), row.servers)} |`,
    );
  }
  return lines.join('\n');
}

/** Variance over mean of per-slot key counts (1.00 for a random hash; more means clumping). */
function slotDispersion(hashOf: (key: string) => number, keys: readonly string[]): number {
  const counts = new Float64Array(DEFAULT_TABLE_SIZE);
  const slotPerHash = DEFAULT_TABLE_SIZE / 2 ** 32;
  for (const key of keys) counts[Math.floor(hashOf(key) * slotPerHash)]!++;
  const mean = keys.length / DEFAULT_TABLE_SIZE;
  let squares = 0;
  for (const count of counts) squares += (count - mean) ** 2;
  return squares / DEFAULT_TABLE_SIZE / mean;
}

// ---------------------------------------------------------------------------------------------

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      sets: { type: 'string', default: '10' },
      'alt-sets': { type: 'string', default: '3' },
      keys: { type: 'string', default: '1000000' },
      seed: { type: 'string', default: '1' },
    },
  });
  const sets = positiveInteger('--sets', values.sets);
  const altSets = positiveInteger('--alt-sets', values['alt-sets']);
  const keyCount = positiveInteger('--keys', values.keys);
  const seed = positiveInteger('--seed', values.seed);
  const startedMs = Date.now();
  // CPU time beside wall time: on a shared machine the wall clock says more about the neighbours.
  const progress = (message: string): void => {
    const cpu = process.cpuUsage();
    const cpuS = ((cpu.user + cpu.system) / 1e6).toFixed(1);
    process.stderr.write(`ring-bench [${((Date.now() - startedMs) / 1000).toFixed(1)} s, cpu ${cpuS} s]: ${message}\n`);
  };

  progress(`hashing ${keyCount} keys (murmur3 and sha256)…`);
  const data = keyData(keyCount);
  const algos = algorithms(data);

  const timings = new Map<string, TimingResult>();
  for (const algorithm of algos) {
    if (algorithm.timing === null) continue;
    progress(`timing ${algorithm.label}…`);
    timings.set(algorithm.label, await timeInWorker({ kind: algorithm.timing, serverCounts: SERVER_COUNTS, seed }));
  }
  const extraTimings = new Map<string, TimingResult>();
  for (const kind of ['ring-bytes', 'ring-live', 'hash-murmur3', 'hash-fnv1a', 'hash-sha256'] as const) {
    progress(`timing ${kind}…`);
    const counts = kind.startsWith('hash-') ? [SERVER_COUNTS[0]] : SERVER_COUNTS;
    extraTimings.set(kind, await timeInWorker({ kind, serverCounts: counts, seed }));
  }

  const rows: QualityRow[] = [];
  for (const servers of SERVER_COUNTS) {
    for (const algorithm of algos) {
      const setCount = algorithm.isAlternative ? Math.min(sets, altSets) : sets;
      progress(`${servers} servers: ${algorithm.label} × ${setCount} sets…`);
      rows.push(measureQuality(algorithm, servers, setCount, seed));
    }
  }

  const out: string[] = [];
  out.push(
    `Keys \`key:0\` … \`key:${keyCount - 1}\`; ${sets} random server-name sets per row, ${Math.min(sets, altSets)} for the ` +
      `alternatives (vnode ring, rendezvous), seed ${seed}; ` +
      `Node ${process.versions.node}. Ideal share moved: 1/(N+1) on add, 1/N on remove. ` +
      `ns/lookup: string keys, hashing included, ${TIMING_POOL_KEYS} distinct keys in a warm loop, best [median] pass.`,
    '',
    qualityTable(rows, timings),
    '',
    '| kvring Ring, other paths (ns/lookup, best [median]) | ' + SERVER_COUNTS.join(' | ') + ' |',
    '|---|' + SERVER_COUNTS.map(() => '---:').join('|') + '|',
    `| lookup, Buffer keys | ${SERVER_COUNTS.map((n) => speedCell(extraTimings.get('ring-bytes'), n)).join(' | ')} |`,
    `| lookupLive, all live | ${SERVER_COUNTS.map((n) => speedCell(extraTimings.get('ring-live'), n)).join(' | ')} |`,
    '',
    `| key hash | ns/key: best [median] | slot dispersion over the ${keyCount} keys (1.00 = random) |`,
    '|---|---:|---:|',
    `| murmur3 x86_32 (hash32) | ${speedCell(extraTimings.get('hash-murmur3'), SERVER_COUNTS[0])} | ${fixed(slotDispersion(hashString, data.keys), 3)} |`,
    `| FNV-1a + murmur3 finaliser | ${speedCell(extraTimings.get('hash-fnv1a'), SERVER_COUNTS[0])} | ${fixed(slotDispersion(fnv1aMixed, data.keys), 3)} |`,
    `| sha256 (node:crypto) | ${speedCell(extraTimings.get('hash-sha256'), SERVER_COUNTS[0])} | – |`,
  );
  process.stdout.write(out.join('\n') + '\n');
}

function positiveInteger(flag: string, text: string): number {
  const value = Number(text);
  if (!Number.isSafeInteger(value) || value < 1) {
    throw new Error(`${flag} must be a positive integer, got "${text}"`);
  }
  return value;
}

if (isMainThread) {
  await main();
} else {
  const { request } = workerData as { request: TimingRequest };
  parentPort!.postMessage(runTiming(request));
}
