// The consistent-hash ring: which server owns a key. Pure: node ids in, node indexes out.
//
// Algorithm: Maglev hashing (Eisenbud et al., NSDI 2016) with a rendezvous-hash fallback for
// failover. Chosen from measurements (README "The ring", `npx tsx scripts/ring-bench.ts`):
// - a lookup is one key hash plus one typed-array read, ~23 ns at any server count, where a vnode
//   ring adds a binary search (~10× slower) and rendezvous hashing one hash per server;
// - the table gives every server ⌊M/N⌋ or ⌈M/N⌉ of its M slots, so what imbalance remains is the
//   keys' own sampling noise (max/mean 1.000–1.018 over 1M keys, the same as a uniformly random
//   placement), where the legacy uhashring ring's 10 sha256 vnodes per server gave 1.07–1.83;
// - adding or removing a server moves the ideal share plus at most ~0.55 percentage points.
// Every process and thread builds the same table from the same set of ids: ids are sorted first and
// only ids' hashes, never their positions in the caller's list, decide the placement.

import { KvError } from '../errors/kv-error.js';
import { fmix32, hash32, hashBytes, hashString } from './hash.js';

/**
 * Maglev table size used when none is given: prime, ≥ 1000 slots per server up to 64 servers.
 * Fixed, not derived from the node count: a new table size re-deals every slot, so growing from 64
 * to 65 servers would move nearly every key. Larger clusters pass a larger prime (e.g. 655373).
 */
export const DEFAULT_TABLE_SIZE = 65537;

/** Most servers a ring can hold: the table stores node indexes as uint16. */
export const MAX_NODES = 65535;

/** Largest table accepted: 2^24 slots (32 MiB), far past the ~1000 slots per server needed. */
export const MAX_TABLE_SIZE = 2 ** 24;

// Seeds that make the three per-node hashes independent of each other and of key hashes.
const OFFSET_SEED = 0x6b76_0001;
const SKIP_SEED = 0x6b76_0002;
const FALLBACK_SEED = 0x6b76_0003;

const TWO_POW_32 = 4294967296;

export interface RingOptions {
  /**
   * Relative capacity of each server, by node id (e.g. `{ '127.0.0.1:7002': 2 }` gives that server
   * twice the keys of a weight-1 server). Ids not listed weigh 1. Weights must be finite and > 0.
   */
  readonly weights?: Readonly<Record<string, number>>;
  /**
   * Maglev lookup-table size in slots; must be prime and ≥ the node count. Balance and disruption
   * improve with slots per server: keep it ≥ 1000 × the node count for the documented bounds.
   */
  readonly tableSize?: number;
}

/** What routing code needs from a ring; the legacy uhashring ring implements it too. */
export interface KeyRouter {
  /** Node ids in canonical (sorted) order; every index below refers to this array. */
  readonly nodes: readonly string[];
  /** Index of the node that owns `key`. */
  lookup(key: string | Uint8Array): number;
  /**
   * Index of the first node in `key`'s preference order for which `isLive(index)` is true, -1 if
   * none is. The first preference is `lookup(key)`, so keys of live nodes never move.
   */
  lookupLive(key: string | Uint8Array, isLive: (index: number) => boolean): number;
  /** Index of `nodeId` in `nodes`, -1 if it is not in the ring. */
  indexOf(nodeId: string): number;
}

/** A ring was configured with input it cannot use; the message names the input and the fix. */
export class RingConfigError extends KvError {
  readonly code = 'KV_ERR_RING_CONFIG';
}

/**
 * Maglev consistent hashing over a fixed set of servers.
 *
 * lookupLive's preference order after the Maglev owner is rendezvous (highest-random-weight) order
 * over the other nodes: a down node's keys spread over all live nodes in proportion to their
 * weights, no live node's keys move, and it costs nothing extra while the owner is live.
 */
export class Ring implements KeyRouter {
  readonly nodes: readonly string[];
  readonly tableSize: number;
  /** slot → node index. */
  private readonly table: Uint16Array;
  /** tableSize / 2^32: turns a uint32 hash into a slot with a multiply, not a division. */
  private readonly slotPerHash: number;
  private readonly indexById: ReadonlyMap<string, number>;
  /** Per-node seed of the rendezvous fallback. */
  private readonly fallbackSeeds: Uint32Array;
  /** Per-node weights, or null when all are equal (the fallback then skips the logarithm). */
  private readonly fallbackWeights: Float64Array | null;

  constructor(nodeIds: readonly string[], options: RingOptions = {}) {
    const tableSize = options.tableSize ?? DEFAULT_TABLE_SIZE;
    const nodes = canonicalNodeIds(nodeIds);
    validateTableSize(tableSize, nodes.length);
    const weights = nodeWeights(nodes, options.weights ?? {});

    this.nodes = nodes;
    this.tableSize = tableSize;
    this.slotPerHash = tableSize / TWO_POW_32;
    this.indexById = new Map(nodes.map((id, index) => [id, index]));
    this.table = buildMaglevTable(nodes, weights, tableSize);
    this.fallbackSeeds = Uint32Array.from(nodes, (id) => hash32(id, FALLBACK_SEED));
    this.fallbackWeights = weights.every((w) => w === weights[0]) ? null : Float64Array.from(weights);
  }

  // Hot path: one hash and one table read per request; no allocation. Strings and bytes go through
  // separate methods so each keeps monomorphic type feedback: a caller mixing both kinds of key
  // measured ~10 ns slower per lookup with one shared hash call.
  lookup(key: string | Uint8Array): number {
    return typeof key === 'string' ? this.ownerOfString(key) : this.ownerOfBytes(key);
  }

  // Hot path while the owner is live: the same work as lookup plus one isLive call.
  lookupLive(key: string | Uint8Array, isLive: (index: number) => boolean): number {
    const keyHash = typeof key === 'string' ? hashString(key, 0) : hashBytes(key, 0);
    const owner = this.table[(keyHash * this.slotPerHash) | 0]!;
    if (isLive(owner)) return owner;
    return this.fallback(keyHash, owner, isLive);
  }

  indexOf(nodeId: string): number {
    return this.indexById.get(nodeId) ?? -1;
  }

  /**
   * Slots of the lookup table owned by each node (indexes as in `nodes`): a node's expected share
   * of keys is its count / tableSize. For diagnostics and tests; allocates.
   */
  slotCounts(): Uint32Array {
    const counts = new Uint32Array(this.nodes.length);
    for (const node of this.table) counts[node]!++;
    return counts;
  }

  private ownerOfString(key: string): number {
    return this.table[(hashString(key, 0) * this.slotPerHash) | 0]!;
  }

  private ownerOfBytes(key: Uint8Array): number {
    return this.table[(hashBytes(key, 0) * this.slotPerHash) | 0]!;
  }

  // Rendezvous hashing over the live nodes other than the owner: the highest score wins.
  // Unweighted scores are the uint32 mixes themselves; weighted ones use w / -ln(u), whose argmax
  // picks each node with probability proportional to its weight.
  private fallback(keyHash: number, owner: number, isLive: (index: number) => boolean): number {
    const seeds = this.fallbackSeeds;
    const weights = this.fallbackWeights;
    let best = -1;
    let bestScore = -1;
    for (let i = 0; i < seeds.length; i++) {
      if (i === owner || !isLive(i)) continue;
      const mixed = fmix32(keyHash ^ seeds[i]!);
      const score = weights === null ? mixed : weights[i]! / -Math.log((mixed + 0.5) / TWO_POW_32);
      if (score > bestScore) {
        best = i;
        bestScore = score;
      }
    }
    return best;
  }
}

/**
 * Sorted copy of the ids, so a placement depends on the set of ids and never on their order.
 * Throws RingConfigError for an empty list, an empty or repeated id, or more than MAX_NODES ids.
 */
export function canonicalNodeIds(nodeIds: readonly string[]): string[] {
  if (nodeIds.length === 0) {
    throw new RingConfigError('a ring needs at least one node id; pass the servers as ["host:port", ...]');
  }
  if (nodeIds.length > MAX_NODES) {
    throw new RingConfigError(`a ring holds at most ${MAX_NODES} nodes, got ${nodeIds.length}`);
  }
  const nodes = [...nodeIds].sort();
  for (let i = 0; i < nodes.length; i++) {
    if (typeof nodes[i] !== 'string' || nodes[i] === '') {
      throw new RingConfigError('node ids must be non-empty strings like "127.0.0.1:7001"');
    }
    if (i > 0 && nodes[i] === nodes[i - 1]) {
      throw new RingConfigError(`node id "${nodes[i]}" is listed twice; list each server once`);
    }
  }
  return nodes;
}

function validateTableSize(tableSize: number, nodeCount: number): void {
  const usable =
    Number.isSafeInteger(tableSize) && tableSize >= Math.max(2, nodeCount) && tableSize <= MAX_TABLE_SIZE;
  if (!usable || !isPrime(tableSize)) {
    throw new RingConfigError(
      `tableSize must be a prime ≥ the node count (${nodeCount}) and ≤ ${MAX_TABLE_SIZE}, got ${tableSize}; ` +
        `the default ${DEFAULT_TABLE_SIZE} suits up to ~64 nodes, 655373 up to ~640`,
    );
  }
}

function nodeWeights(nodes: readonly string[], byId: Readonly<Record<string, number>>): number[] {
  const known = new Set(nodes);
  for (const id of Object.keys(byId)) {
    if (!known.has(id)) throw new RingConfigError(`weights name "${id}", which is not one of the ring's node ids`);
  }
  return nodes.map((id) => {
    const weight = Object.hasOwn(byId, id) ? byId[id]! : 1;
    if (!Number.isFinite(weight) || weight <= 0) {
      throw new RingConfigError(`weight of "${id}" must be a finite number > 0, got ${weight}`);
    }
    return weight;
  });
}

function isPrime(n: number): boolean {
  if (n < 2) return false;
  if (n % 2 === 0) return n === 2;
  for (let d = 3; d * d <= n; d += 2) if (n % d === 0) return false;
  return true;
}

/**
 * Fills a Maglev lookup table: each node walks its own permutation of the slots (offset and skip
 * from hashes of its id) and, in turns, claims its next unclaimed slot until every slot is claimed.
 * A node of weight w takes w / max weight turns per round, so slot counts follow the weights; with
 * equal weights every node ends with ⌊M/N⌋ or ⌈M/N⌉ slots.
 */
function buildMaglevTable(nodes: readonly string[], weights: readonly number[], tableSize: number): Uint16Array {
  const nodeCount = nodes.length;
  const maxWeight = Math.max(...weights);
  const turnsPerRound = weights.map((w) => w / maxWeight);
  const credit = new Float64Array(nodeCount);
  const position = new Uint32Array(nodeCount);
  const skip = new Uint32Array(nodeCount);
  for (let i = 0; i < nodeCount; i++) {
    position[i] = hash32(nodes[i]!, OFFSET_SEED) % tableSize;
    skip[i] = (hash32(nodes[i]!, SKIP_SEED) % (tableSize - 1)) + 1;
  }

  const unclaimed = 0xffff; // never a node index: MAX_NODES is 65535, so indexes stop at 65534
  const table = new Uint16Array(tableSize).fill(unclaimed);
  let claimed = 0;
  while (claimed < tableSize) {
    for (let i = 0; i < nodeCount && claimed < tableSize; i++) {
      credit[i]! += turnsPerRound[i]!;
      while (credit[i]! >= 1 && claimed < tableSize) {
        credit[i]! -= 1;
        let slot = position[i]!;
        while (table[slot] !== unclaimed) {
          slot += skip[i]!;
          if (slot >= tableSize) slot -= tableSize;
        }
        table[slot] = i;
        claimed++;
        slot += skip[i]!;
        position[i] = slot >= tableSize ? slot - tableSize : slot;
      }
    }
  }
  return table;
}
