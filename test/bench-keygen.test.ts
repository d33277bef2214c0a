import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createKeyGenerator, SequentialKeys, writeKey, ZipfianKeys } from '../bench/worker/keygen.js';
import { keyWidth } from '../bench/key-names.js';
import { deriveSeed, Prng } from '../bench/prng.js';
import { ownKey } from '../bench/worker/request-generator.js';

test('the same seed gives the same sequence, different seeds different ones', () => {
  const a = new Prng(42);
  const b = new Prng(42);
  const c = new Prng(43);
  const sa = Array.from({ length: 100 }, () => a.nextU32());
  assert.deepEqual(sa, Array.from({ length: 100 }, () => b.nextU32()));
  assert.notDeepEqual(sa, Array.from({ length: 100 }, () => c.nextU32()));
});

test('derived seeds differ per worker and step and are stable', () => {
  assert.equal(deriveSeed(1, 0, 0), deriveSeed(1, 0, 0));
  const seeds = new Set<number>();
  for (let w = 0; w < 8; w++) for (let s = 0; s < 50; s++) seeds.add(deriveSeed(1, w, s));
  assert.equal(seeds.size, 400);
});

test('uniform keys stay in range and cover it evenly', () => {
  const g = createKeyGenerator('uniform', 10, 7);
  const counts = new Array<number>(10).fill(0);
  for (let i = 0; i < 100_000; i++) counts[g.next()]!++;
  for (const c of counts) assert.ok(c > 9_000 && c < 11_000, `count ${c}`);
});

test('sequential keys start at the worker\'s share and wrap at the key space', () => {
  const g = createKeyGenerator('sequential', 10, 1, 1, 2);
  assert.deepEqual(Array.from({ length: 7 }, () => g.next()), [5, 6, 7, 8, 9, 0, 1]);
  const s = new SequentialKeys(3);
  assert.deepEqual([s.next(), s.next(), s.next(), s.next()], [0, 1, 2, 0]);
});

test('zipfian keys are skewed like YCSB: key 0 hottest, ranks fall with popularity, all in range', () => {
  const keySpace = 1000;
  const g = new ZipfianKeys(keySpace, new Prng(3));
  const counts = new Array<number>(keySpace).fill(0);
  const n = 200_000;
  for (let i = 0; i < n; i++) {
    const k = g.next();
    assert.ok(k >= 0 && k < keySpace);
    counts[k]!++;
  }
  // P(0) = 1 / zeta(1000, 0.99) ≈ 0.13 for θ = 0.99.
  assert.ok(counts[0]! / n > 0.11 && counts[0]! / n < 0.15, `share of key 0: ${counts[0]! / n}`);
  assert.ok(counts[0]! > counts[1]! && counts[1]! > counts[10]! && counts[10]! > counts[500]!);
});

test('keys are written as prefix plus zero-padded decimal without allocation', () => {
  const out = new Uint8Array(32);
  const n = writeKey(out, Buffer.from('key:'), 42, keyWidth(100_000));
  assert.equal(Buffer.from(out.subarray(0, n)).toString(), 'key:00042');
  assert.equal(keyWidth(1), 1);
  assert.equal(keyWidth(10), 1);
  assert.equal(keyWidth(11), 2);
});

test('under --verify each worker maps every key index onto its own residue class', () => {
  for (const [space, workers] of [[10, 3], [7, 7], [100, 4]] as const) {
    for (let w = 0; w < workers; w++) {
      for (let k = 0; k < space; k++) {
        const own = ownKey(k, w, workers, space);
        assert.ok(own >= 0 && own < space, `${k}→${own}`);
        assert.equal(own % workers, w);
      }
    }
  }
});
