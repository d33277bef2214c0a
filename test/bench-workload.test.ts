import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { isDeleteOnly, needsKeySpacePreload, operationsOf, parseWorkload, PRESET_NAMES } from '../bench/workload.js';
import { BenchConfigError } from '../bench/errors.js';

test('single operations are workloads of their own', () => {
  for (const op of ['put', 'get', 'delete'] as const) {
    const w = parseWorkload(op.toUpperCase());
    assert.equal(w.name, op);
    assert.deepEqual(operationsOf(w), [op]);
  }
});

test('mixes accept aliases and weights, and are named by their percentages', () => {
  const w = parseWorkload('read:9, update:1');
  assert.deepEqual(w.mix, { put: 1, get: 9, delete: 0 });
  assert.equal(w.name, 'mix-put10-get90');
  assert.equal(parseWorkload('get:1,set:1,del:2').name, 'mix-put25-get25-delete50');
});

test('YCSB presets come from the data files and carry their key distribution', () => {
  assert.deepEqual(PRESET_NAMES.sort(), ['ycsb-a', 'ycsb-b', 'ycsb-c']);
  const a = parseWorkload('a');
  assert.equal(a.name, 'ycsb-a');
  assert.deepEqual(a.mix, { put: 50, get: 50, delete: 0 });
  assert.equal(a.keyDist, 'zipfian');
  assert.deepEqual(parseWorkload('ycsb-c').mix, { put: 0, get: 100, delete: 0 });
});

test('every workload file says first what it models', () => {
  // From dist/test/ (compiled) or test/ (tsx): the source folder is two or one level up.
  const candidates = [new URL('../../bench/workloads/', import.meta.url), new URL('../bench/workloads/', import.meta.url)];
  const base = candidates.find((u) => existsSync(u))!;
  const files = readdirSync(base);
  assert.ok(files.length >= 3);
  for (const f of files.filter((x) => x.endsWith('.json'))) {
    const text = readFileSync(new URL(f, base), 'utf8');
    assert.equal(Object.keys(JSON.parse(text) as object)[0], 'models', f);
  }
});

test('bad mixes are refused with a message that shows the right form', () => {
  for (const bad of ['get:x', 'fetch:1', 'get:0,put:0', 'nonsense', 'get:-1', 'get:1:2']) {
    assert.throws(() => parseWorkload(bad), (e: unknown) => e instanceof BenchConfigError && /get:90,put:10/.test(e.message), bad);
  }
});

test('DELETE-only workloads use their own preloaded keys; reads need the key space preloaded', () => {
  assert.ok(isDeleteOnly(parseWorkload('delete')));
  assert.ok(!needsKeySpacePreload(parseWorkload('delete')));
  assert.ok(needsKeySpacePreload(parseWorkload('get')));
  assert.ok(needsKeySpacePreload(parseWorkload('put:1,delete:1')));
  assert.ok(!needsKeySpacePreload(parseWorkload('put')));
});
