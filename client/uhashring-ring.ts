// The legacy uhashring placement of the original Python project (Single-Server-Key-Value-Store),
// reproduced so that benchmarks can show what it cost and a cluster it filled can still be read. Not for new deployments: see README "The ring" for its imbalance.
//
// That project used the Python library uhashring as `HashRing(nodes, hash_fn=sha256, vnodes=10)`:
// - each node of weight w gets 10·w points, at the SHA-256 digests of `"<node id>-<i>"` (i from 0);
// - a key sits at the SHA-256 digest of its UTF-8 bytes;
// - positions compare as 256-bit unsigned integers (a custom hash_fn's output is used as the
//   position as is, and that project's returned the digest as an int or its hex, which order alike);
// - a key belongs to the first point strictly after it (Python's bisect_right), wrapping to the
//   first point past the end.
// uhashring has no failover; lookupLive walks on clockwise to the next live node, as its
// `range(key)` iterator does.

import { createHash } from 'node:crypto';

import { RingConfigError, canonicalNodeIds, type KeyRouter } from './ring.js';

/** Points per node of weight 1 in the original project's configuration. */
export const UHASHRING_VNODES = 10;

const DIGEST_BYTES = 32;

export interface UhashringRingOptions {
  /** Points per node of weight 1 (uhashring's `vnodes`); the original project used 10. */
  readonly vnodes?: number;
  /** Integer weight per node id (uhashring multiplies the points); ids not listed weigh 1. */
  readonly weights?: Readonly<Record<string, number>>;
}

/** uhashring-compatible ring over SHA-256: 1–4 µs per lookup (node:crypto), against ~23 ns for Ring. */
export class UhashringRing implements KeyRouter {
  readonly nodes: readonly string[];
  /** Points in ring order: the first 6 digest bytes as a number, for a fast comparison. */
  private readonly pointPrefixes: Float64Array;
  /** Points in ring order: whole digests, 32 bytes each, for the rare equal prefixes. */
  private readonly pointDigests: Buffer;
  /** Points in ring order: owning node index. */
  private readonly pointNodes: Uint16Array;
  private readonly indexById: ReadonlyMap<string, number>;

  constructor(nodeIds: readonly string[], options: UhashringRingOptions = {}) {
    const vnodes = options.vnodes ?? UHASHRING_VNODES;
    if (!Number.isSafeInteger(vnodes) || vnodes < 1) {
      throw new RingConfigError(`vnodes must be an integer ≥ 1, got ${vnodes}`);
    }
    const nodes = canonicalNodeIds(nodeIds);
    const weightsById = options.weights ?? {};
    for (const id of Object.keys(weightsById)) {
      if (!nodes.includes(id)) throw new RingConfigError(`weights name "${id}", which is not one of the ring's node ids`);
    }

    const points: { digest: Buffer; node: number }[] = [];
    nodes.forEach((id, node) => {
      const weight = Object.hasOwn(weightsById, id) ? weightsById[id]! : 1;
      if (!Number.isSafeInteger(weight) || weight < 1) {
        throw new RingConfigError(`weight of "${id}" must be an integer ≥ 1 in a uhashring ring, got ${weight}`);
      }
      for (let i = 0; i < vnodes * weight; i++) {
        points.push({ digest: sha256(`${id}-${i}`), node });
      }
    });
    // Equal digests (never seen with SHA-256) would make uhashring keep one point per position; we
    // keep both, ordered by node, so that the result still does not depend on the caller's order.
    points.sort((a, b) => Buffer.compare(a.digest, b.digest) || a.node - b.node);

    this.nodes = nodes;
    this.indexById = new Map(nodes.map((id, index) => [id, index]));
    this.pointPrefixes = Float64Array.from(points, (p) => prefixOf(p.digest, 0));
    this.pointDigests = Buffer.concat(points.map((p) => p.digest));
    this.pointNodes = Uint16Array.from(points, (p) => p.node);
  }

  lookup(key: string | Uint8Array): number {
    return this.pointNodes[this.pointAfter(sha256(key), 0)]!;
  }

  lookupLive(key: string | Uint8Array, isLive: (index: number) => boolean): number {
    const start = this.pointAfter(sha256(key), 0);
    const pointCount = this.pointNodes.length;
    for (let step = 0; step < pointCount; step++) {
      const node = this.pointNodes[(start + step) % pointCount]!;
      if (isLive(node)) return node;
    }
    return -1;
  }

  /**
   * Node owning the key whose SHA-256 digest is `digests[offset .. offset+32)`: lets a benchmark
   * hash a million keys once and then place them on many rings.
   */
  lookupDigest(digests: Uint8Array, offset = 0): number {
    return this.pointNodes[this.pointAfter(digests, offset)]!;
  }

  indexOf(nodeId: string): number {
    return this.indexById.get(nodeId) ?? -1;
  }

  // Index of the first point strictly greater than the digest, 0 past the last (bisect_right + wrap).
  private pointAfter(digests: Uint8Array, offset: number): number {
    const prefix = prefixOf(digests, offset);
    let low = 0;
    let high = this.pointPrefixes.length;
    while (low < high) {
      const mid = (low + high) >>> 1;
      if (this.isAfter(mid, prefix, digests, offset)) high = mid;
      else low = mid + 1;
    }
    return low === this.pointPrefixes.length ? 0 : low;
  }

  // Whether point `index` lies strictly after the key's digest.
  private isAfter(index: number, keyPrefix: number, digests: Uint8Array, offset: number): boolean {
    const pointPrefix = this.pointPrefixes[index]!;
    if (pointPrefix !== keyPrefix) return pointPrefix > keyPrefix;
    const start = index * DIGEST_BYTES;
    return (
      this.pointDigests.compare(digests, offset, offset + DIGEST_BYTES, start, start + DIGEST_BYTES) > 0
    );
  }
}

// The first 6 bytes of a digest as an exact integer (< 2^48): orders digests unless they are equal.
function prefixOf(digests: Uint8Array, offset: number): number {
  const high16 = (digests[offset]! << 8) | digests[offset + 1]!;
  const low32 =
    ((digests[offset + 2]! << 24) | (digests[offset + 3]! << 16) | (digests[offset + 4]! << 8) | digests[offset + 5]!) >>> 0;
  return high16 * 2 ** 32 + low32;
}

function sha256(data: string | Uint8Array): Buffer {
  return createHash('sha256').update(data).digest();
}
