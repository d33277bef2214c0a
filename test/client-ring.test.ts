// The ring's promises, as properties: determinism (across threads and input orders), balance,
// minimal disruption, failover semantics, and string/bytes equivalence of keys.
import test from 'node:test';
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { Worker } from 'node:worker_threads';
import fc from 'fast-check';

import { hash32 } from '../client/hash.js';
import { DEFAULT_TABLE_SIZE, Ring, RingConfigError } from '../client/ring.js';
import { UhashringRing } from '../client/uhashring-ring.js';

const MILLION_KEYS = Array.from({ length: 1_000_000 }, (_, i) => `key:${i}`);

function ports(count: number, first = 7001): string[] {
  return Array.from({ length: count }, (_, i) => `127.0.0.1:${first + i}`);
}

// Node id owning each key (ids, not indexes: indexes shift when the membership changes).
function owners(ring: Ring, keys: readonly string[]): string[] {
  return keys.map((key) => ring.nodes[ring.lookup(key)]!);
}

function movedFraction(before: readonly string[], after: readonly string[]): number {
  let moved = 0;
  for (let i = 0; i < before.length; i++) if (before[i] !== after[i]) moved++;
  return moved / before.length;
}

function maxOverMean(ring: Ring, keys: readonly string[]): number {
  const counts = new Float64Array(ring.nodes.length);
  for (const key of keys) counts[ring.lookup(key)]!++;
  return Math.max(...counts) / (keys.length / ring.nodes.length);
}

// Deterministic shuffle (xorshift32), so a failure can be replayed.
function shuffled<T>(items: readonly T[], seed: number): T[] {
  const out = [...items];
  let state = seed >>> 0 || 1;
  for (let i = out.length - 1; i > 0; i--) {
    state ^= state << 13;
    state ^= state >>> 17;
    state ^= state << 5;
    const j = (state >>> 0) % (i + 1);
    [out[i], out[j]] = [out[j]!, out[i]!];
  }
  return out;
}

test('hash32 is MurmurHash3_x86_32 of the UTF-8 bytes (reference vectors)', () => {
  assert.equal(hash32(''), 0);
  assert.equal(hash32('', 1), 0x514e28b7);
  assert.equal(hash32('test'), 0xba6bd213);
  assert.equal(hash32('Hello, world!'), 0xc0363e43);
  assert.equal(hash32('The quick brown fox jumps over the lazy dog'), 0x2e4ff723);
  assert.equal(hash32('aaaa', 0x9747b28c), 0x5a97808a);
});

test('a string key and the Buffer of its UTF-8 bytes hash and map alike, for any string', () => {
  const ring = new Ring(ports(5));
  const fixed = ['', 'é', 'kéy:1', '日本語キー', '😀', 'abc\ud800', '\udc00xyz', 'key:\ud83d\ude00\ud83d'];
  for (const key of fixed) {
    assert.equal(hash32(key), hash32(Buffer.from(key, 'utf8')), JSON.stringify(key));
    assert.equal(ring.lookup(key), ring.lookup(Buffer.from(key, 'utf8')), JSON.stringify(key));
  }
  fc.assert(
    fc.property(fc.string({ unit: 'binary', maxLength: 40 }), fc.integer(), (key, seed) => {
      const bytes = Buffer.from(key, 'utf8');
      return hash32(key, seed) === hash32(bytes, seed) && ring.lookup(key) === ring.lookup(new Uint8Array(bytes));
    }),
    { numRuns: 1000 },
  );
});

test('non-ASCII keys spread like ASCII ones', () => {
  const ring = new Ring(ports(4));
  const keys = Array.from({ length: 200_000 }, (_, i) => `clé-ключ-鍵:${i}`);
  assert.ok(maxOverMean(ring, keys) <= 1.02);
});

test('nodes are sorted and the mapping does not depend on the order the servers were listed in', () => {
  const ids = ports(12);
  const ring = new Ring(ids);
  assert.deepEqual(ring.nodes, [...ids].sort());
  const keys = MILLION_KEYS.slice(0, 20_000);
  const expected = owners(ring, keys);
  for (const seed of [1, 2, 3]) {
    const other = new Ring(shuffled(ids, seed));
    assert.deepEqual(other.nodes, ring.nodes);
    assert.deepEqual(owners(other, keys), expected);
  }
  for (const id of ids) assert.equal(ring.nodes[ring.indexOf(id)], id);
  assert.equal(ring.indexOf('127.0.0.1:1'), -1);
});

// The worker loads the compiled module from dist/ under `npm test`; under tsx it registers tsx's
// loader first, because Node 20 does not apply the parent's --import hooks to a worker's entry.
const fromSource = import.meta.url.endsWith('.ts');
const WORKER_SOURCE = `
const { parentPort, workerData } = require('node:worker_threads');
(async () => {
  if (workerData.fromSource) (await import('tsx/esm/api')).register();
  const { Ring } = await import(workerData.ringUrl);
  const ring = new Ring(workerData.nodeIds);
  const owners = workerData.keys.map((key) => ring.nodes[ring.lookup(key)]);
  const ownersOfBytes = workerData.keys.map((key) => ring.nodes[ring.lookup(Buffer.from(key))]);
  parentPort.postMessage({ nodes: ring.nodes, owners, ownersOfBytes });
})();
`;

test('a worker thread building the same ring maps every key to the same server', async (t) => {
  const ids = ports(7);
  const keys = [...MILLION_KEYS.slice(0, 5000), 'é', '日本語', '😀', 'abc\ud800'];
  const ringUrl = new URL(`../client/ring.${fromSource ? 'ts' : 'js'}`, import.meta.url).href;
  const worker = new Worker(WORKER_SOURCE, {
    eval: true,
    workerData: { ringUrl, fromSource, nodeIds: shuffled(ids, 7), keys },
  });
  t.after(() => worker.terminate());
  const [reply] = (await once(worker, 'message')) as [{ nodes: string[]; owners: string[]; ownersOfBytes: string[] }];
  const ring = new Ring(ids);
  assert.deepEqual(reply.nodes, ring.nodes);
  const expected = keys.map((key) => ring.nodes[ring.lookup(key)]);
  assert.deepEqual(reply.owners, expected);
  assert.deepEqual(reply.ownersOfBytes, expected);
});

test('every node owns ⌊M/N⌋ or ⌈M/N⌉ table slots, for any node count', () => {
  for (const count of [1, 2, 3, 5, 8, 13, 16, 32, 64, 100]) {
    const counts = new Ring(ports(count, 9000)).slotCounts();
    const floor = Math.floor(DEFAULT_TABLE_SIZE / count);
    for (const slots of counts) assert.ok(slots === floor || slots === floor + 1, `${count} nodes: ${slots} slots`);
  }
});

test('over 1M keys the busiest server carries ≤ 1.01 × the mean at 2–16 servers and ≤ 1.02 at 64', () => {
  for (const count of [2, 3, 4, 8, 16]) {
    const ratio = maxOverMean(new Ring(ports(count)), MILLION_KEYS);
    assert.ok(ratio <= 1.01, `${count} servers: max/mean ${ratio}`);
  }
  const ratio = maxOverMean(new Ring(ports(64)), MILLION_KEYS);
  assert.ok(ratio <= 1.02, `64 servers: max/mean ${ratio}`);
});

// What is left over after exact table balance is the keys' own sampling noise, ~sqrt((N-1)/K) of
// the mean (0.4% at 16 servers, 0.8% at 64); no server set may do worse than 4 of those.
test('for any server names the imbalance stays within the sampling noise of the keys', () => {
  for (const count of [16, 64]) {
    const bound = 1 + 4 * Math.sqrt((count - 1) / MILLION_KEYS.length);
    for (const seed of [11, 12, 13]) {
      const ids = Array.from({ length: count }, (_, i) => `cache-${seed}-${i}.internal:6379`);
      const ratio = maxOverMean(new Ring(ids), MILLION_KEYS);
      assert.ok(ratio <= bound, `${count} servers, set ${seed}: max/mean ${ratio} > ${bound}`);
    }
  }
});

test('adding or removing one of N servers moves at most the ideal share plus one point of the keys', () => {
  const keys = MILLION_KEYS.slice(0, 200_000);
  for (const count of [1, 2, 3, 4, 8, 16, 32, 64]) {
    const ids = ports(count);
    const before = owners(new Ring(ids), keys);
    const added = movedFraction(before, owners(new Ring([...ids, '127.0.0.1:9999']), keys));
    assert.ok(added <= 1 / (count + 1) + 0.01, `add to ${count}: moved ${added}`);
    if (count > 1) {
      const removedId = ids[count >> 1]!;
      const after = owners(new Ring(ids.filter((id) => id !== removedId)), keys);
      const removed = movedFraction(before, after);
      assert.ok(removed <= 1 / count + 0.01, `remove from ${count}: moved ${removed}`);
      // Every key of the removed server moved; that is the ideal share, the rest is Maglev's churn.
      for (let i = 0; i < keys.length; i++) if (before[i] === removedId) assert.notEqual(after[i], removedId);
    }
  }
});

test('lookupLive: with all nodes live it is lookup', () => {
  const ring = new Ring(ports(9));
  for (const key of MILLION_KEYS.slice(0, 50_000)) assert.equal(ring.lookupLive(key, () => true), ring.lookup(key));
});

test('lookupLive: keys of live nodes stay, keys of a down node spread evenly over all the others', () => {
  const ring = new Ring(ports(5));
  const down = 2;
  const received = new Float64Array(5);
  let orphans = 0;
  for (const key of MILLION_KEYS.slice(0, 500_000)) {
    const owner = ring.lookup(key);
    const live = ring.lookupLive(key, (i) => i !== down);
    if (owner !== down) {
      assert.equal(live, owner);
    } else {
      orphans++;
      received[live]!++;
    }
  }
  assert.equal(received[down], 0);
  for (let i = 0; i < 5; i++) {
    if (i !== down) assert.ok(Math.abs(received[i]! / (orphans / 4) - 1) < 0.03, `node ${i} got ${received[i]}`);
  }
});

test('lookupLive: another node going down moves only the keys that were on it (a per-key preference order)', () => {
  const ring = new Ring(ports(6));
  const downFirst = (i: number): boolean => i !== 1;
  const downBoth = (i: number): boolean => i !== 1 && i !== 4;
  for (const key of MILLION_KEYS.slice(0, 100_000)) {
    const before = ring.lookupLive(key, downFirst);
    const after = ring.lookupLive(key, downBoth);
    if (before !== 4) assert.equal(after, before);
    else assert.ok(after !== 1 && after !== 4 && after >= 0);
  }
});

test('lookupLive returns -1 when every node is down, and the last live node when only one is', () => {
  const ring = new Ring(ports(4));
  for (const key of MILLION_KEYS.slice(0, 2000)) {
    assert.equal(ring.lookupLive(key, () => false), -1);
    assert.equal(ring.lookupLive(key, (i) => i === 3), 3);
  }
});

test('weights set each node’s share of the table and of a down node’s keys', () => {
  const weights = { '127.0.0.1:7002': 2, '127.0.0.1:7004': 0.5 };
  const ring = new Ring(ports(4), { weights });
  const weightOf = ring.nodes.map((id) => (weights as Record<string, number>)[id] ?? 1);
  const weightSum = weightOf.reduce((a, b) => a + b);
  const slots = ring.slotCounts();
  for (let i = 0; i < 4; i++) {
    const share = slots[i]! / ring.tableSize;
    assert.ok(Math.abs(share / (weightOf[i]! / weightSum) - 1) < 0.001, `${ring.nodes[i]} share ${share}`);
  }
  const received = new Float64Array(4);
  for (const key of MILLION_KEYS) if (ring.lookup(key) === 0) received[ring.lookupLive(key, (i) => i !== 0)]!++;
  const orphans = received.reduce((a, b) => a + b);
  const otherWeight = weightSum - weightOf[0]!;
  for (let i = 1; i < 4; i++) {
    const expected = (orphans * weightOf[i]!) / otherWeight;
    assert.ok(Math.abs(received[i]! / expected - 1) < 0.04, `${ring.nodes[i]} got ${received[i]}, expected ${expected}`);
  }
});

test('bad configurations are refused with KV_ERR_RING_CONFIG and a message naming the input', () => {
  const refuses = (build: () => unknown, words: RegExp): void =>
    assert.throws(build, (error: unknown) => error instanceof RingConfigError && error.code === 'KV_ERR_RING_CONFIG' && words.test(error.message));
  refuses(() => new Ring([]), /at least one node/);
  refuses(() => new Ring(['a:1', 'b:2', 'a:1']), /"a:1" is listed twice/);
  refuses(() => new Ring(['a:1', '']), /non-empty/);
  refuses(() => new Ring(['a:1'], { tableSize: 65536 }), /tableSize must be a prime/);
  refuses(() => new Ring(ports(10), { tableSize: 7 }), /≥ the node count \(10\)/);
  refuses(() => new Ring(['a:1'], { tableSize: 16_777_259 }), /≤ 16777216/);
  refuses(() => new Ring(['a:1'], { weights: { 'b:2': 1 } }), /weights name "b:2"/);
  refuses(() => new Ring(['a:1'], { weights: { 'a:1': 0 } }), /weight of "a:1"/);
  refuses(() => new Ring(['a:1'], { weights: { 'a:1': Number.NaN } }), /weight of "a:1"/);
  refuses(() => new UhashringRing(['a:1', 'a:1']), /"a:1" is listed twice/);
  refuses(() => new UhashringRing(['a:1'], { weights: { 'a:1': 1.5 } }), /integer ≥ 1 in a uhashring ring/);
  refuses(() => new UhashringRing(['a:1'], { vnodes: 0 }), /vnodes must be an integer ≥ 1/);
});

test('a smaller prime table size works and stays exactly balanced', () => {
  const ring = new Ring(ports(3), { tableSize: 1009 });
  assert.deepEqual([...ring.slotCounts()].sort(), [336, 336, 337]);
  assert.ok(ring.lookup('key:1') >= 0 && ring.lookup('key:1') < 3);
});

// Expected placements below were produced by uhashring 2.4 (Python) as
// HashRing(nodes, hash_fn=lambda k: int(sha256(k.encode()).hexdigest(), 16), vnodes=10).
test('UhashringRing reproduces the uhashring placement of the original Python project', () => {
  const three = new UhashringRing(['127.0.0.1:7003', '127.0.0.1:7001', '127.0.0.1:7002']);
  const firstEight = MILLION_KEYS.slice(0, 8).map((key) => three.nodes[three.lookup(key)]);
  assert.deepEqual(firstEight, [
    '127.0.0.1:7003', '127.0.0.1:7001', '127.0.0.1:7001', '127.0.0.1:7002',
    '127.0.0.1:7001', '127.0.0.1:7002', '127.0.0.1:7003', '127.0.0.1:7002',
  ]);
  const counts = new Map<string, number>();
  for (const key of MILLION_KEYS.slice(0, 20_000)) {
    const id = three.nodes[three.lookup(key)]!;
    counts.set(id, (counts.get(id) ?? 0) + 1);
  }
  assert.deepEqual(Object.fromEntries(counts), { '127.0.0.1:7001': 7058, '127.0.0.1:7002': 7743, '127.0.0.1:7003': 5199 });

  const sixteen = new UhashringRing(Array.from({ length: 16 }, (_, i) => `127.0.1.${i + 1}:6379`));
  const nonAscii = ['é', '日本語', '😀', 'kéy:1'].map((key) => sixteen.nodes[sixteen.lookup(key)]);
  assert.deepEqual(nonAscii, ['127.0.1.15:6379', '127.0.1.11:6379', '127.0.1.9:6379', '127.0.1.4:6379']);

  const weighted = new UhashringRing(['a:1', 'b:2', 'c:3'], { weights: { 'b:2': 2, 'c:3': 3 } });
  const weightedCounts = [0, 0, 0];
  for (const key of MILLION_KEYS.slice(0, 20_000)) weightedCounts[weighted.lookup(key)]!++;
  assert.deepEqual(weightedCounts, [5965, 5894, 8141]);
});

test('UhashringRing.lookupLive walks clockwise to the next live node; keys of live nodes stay', () => {
  const ring = new UhashringRing(ports(4));
  for (const key of MILLION_KEYS.slice(0, 5000)) {
    const owner = ring.lookup(key);
    assert.equal(ring.lookupLive(key, () => true), owner);
    const live = ring.lookupLive(key, (i) => i !== 0);
    if (owner !== 0) assert.equal(live, owner);
    else assert.notEqual(live, 0);
    assert.equal(ring.lookupLive(key, () => false), -1);
    assert.equal(ring.lookup(Buffer.from(key)), owner);
  }
});
