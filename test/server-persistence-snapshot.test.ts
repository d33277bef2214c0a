import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFile, writeFile, readdir, mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import fc from 'fast-check';
import { Store } from '../server/store.js';
import { writeSnapshot } from '../server/persistence/snapshot-writer.js';
import { loadSnapshot } from '../server/persistence/snapshot-loader.js';
import { PersistenceError } from '../server/persistence/errors.js';
import { HEADER_BYTES, BLOCK_HEADER_BYTES } from '../server/persistence/snapshot-format.js';
import { SNAPSHOT_FILE } from '../server/persistence/data-files.js';
import { tempDir, seededRandom, binaryString } from './helpers/persistence.js';

async function snapshotOf(dir: string, entries: Iterable<[string, string]>, blockBytes?: number): Promise<Buffer> {
  await writeSnapshot({ dir, entries: entries[Symbol.iterator](), aofGeneration: 7, startedAtMs: 1_700_000_000_123, blockBytes });
  return readFile(join(dir, SNAPSHOT_FILE));
}

async function load(path: string): Promise<Map<string, string>> {
  const map = new Map<string, string>();
  const result = await loadSnapshot(path, (k, v) => map.set(k, v));
  assert.ok(result !== null);
  return map;
}

/** Loads `bytes` written to a file and returns the PersistenceError it must raise. */
async function loadError(dir: string, bytes: Buffer): Promise<PersistenceError> {
  const path = join(dir, 'bad.kvsnap');
  await writeFile(path, bytes);
  try {
    await loadSnapshot(path, () => undefined);
  } catch (err) {
    assert.ok(err instanceof PersistenceError, `expected a PersistenceError, got ${String(err)}`);
    return err;
  }
  assert.fail(`loading ${bytes.length} damaged bytes succeeded`);
}

test('a snapshot round-trips binary keys and values, empty strings, and entries larger than a block', async () => {
  const dir = await tempDir();
  const random = seededRandom(1);
  const entries = new Map<string, string>();
  entries.set('', 'empty key');
  entries.set('empty value', '');
  entries.set('\r\n*3\r\n$3\r\n', '\x00\xff\x80');
  for (let i = 0; i < 2000; i++) entries.set(binaryString(random, 1 + (i % 40)), binaryString(random, i % 300));
  entries.set('big', binaryString(random, 50_000));
  const bytes = await snapshotOf(dir, entries, 4096);
  const loaded = await load(join(dir, SNAPSHOT_FILE));
  assert.deepEqual(loaded, entries);
  const result = await loadSnapshot(join(dir, SNAPSHOT_FILE), () => undefined);
  assert.equal(result?.header.aofGeneration, 7);
  assert.equal(result?.header.startedAtMs, 1_700_000_000_123);
  assert.equal(result?.keys, entries.size);
  assert.equal(result?.fileBytes, bytes.length);
});

test('an empty store makes a valid snapshot that loads as empty', async () => {
  const dir = await tempDir();
  const bytes = await snapshotOf(dir, []);
  assert.equal(bytes.length, HEADER_BYTES + BLOCK_HEADER_BYTES + 16);
  assert.equal((await load(join(dir, SNAPSHOT_FILE))).size, 0);
});

test('a missing snapshot loads as "no snapshot", not as an error', async () => {
  const dir = await tempDir();
  assert.equal(await loadSnapshot(join(dir, SNAPSHOT_FILE), () => undefined), null);
});

test('every kind of damage is refused with KV_ERR_SNAPSHOT_CORRUPT, naming the file, problem and offset', async () => {
  const dir = await tempDir();
  const entries = new Map(Array.from({ length: 300 }, (_, i): [string, string] => [`key:${i}`, `value:${i}`.repeat(3)]));
  const good = await snapshotOf(dir, entries, 2048);
  const cases: Array<[string, Buffer, RegExp]> = [
    ['empty file', Buffer.alloc(0), /empty file \(0 bytes\)/],
    ['wrong magic', Buffer.concat([Buffer.from('REDIS0011'), good.subarray(9)]), /not a kvring snapshot \(wrong magic/],
    ['unknown version', (() => { const b = Buffer.from(good); b.writeUInt32LE(9, 8); return b; })(), /unknown format version 9/],
    ['short header', good.subarray(0, 20), /truncated: 20 bytes/],
    ['header bit flip', (() => { const b = Buffer.from(good); b[13]! ^= 0x10; return b; })(), /checksum mismatch in the header/],
    ['cut inside a block', good.subarray(0, good.length - 100), /truncated/],
    ['cut at a block boundary (no end block)', good.subarray(0, good.length - (BLOCK_HEADER_BYTES + 16)), /ends without the end block/],
    ['cut inside the end block header', good.subarray(0, good.length - 20), /ends inside a block header/],
    ['payload bit flip', (() => { const b = Buffer.from(good); b[HEADER_BYTES + BLOCK_HEADER_BYTES + 5]! ^= 0x01; return b; })(), /checksum mismatch at byte 32\b/],
    ['trailing garbage', Buffer.concat([good, Buffer.from('junk')]), /4 unexpected bytes after the end block/],
    ['unknown block type', (() => { const b = Buffer.from(good); b[HEADER_BYTES] = 0x5a; return b; })(), /unknown block type 0x5a at byte 32/],
  ];
  for (const [name, bytes, pattern] of cases) {
    const err = await loadError(dir, bytes);
    assert.equal(err.code, 'KV_ERR_SNAPSHOT_CORRUPT', name);
    assert.match(err.message, pattern, name);
    assert.match(err.message, /snapshot .*bad\.kvsnap is corrupt: /, name);
    assert.match(err.message, /--discard-corrupt/, name);
  }
});

test('every single-bit flip anywhere in a small snapshot is detected', async () => {
  const dir = await tempDir();
  const good = await snapshotOf(dir, [['a', '1'], ['bb', '22'], ['ccc', '']], 16);
  const path = join(dir, 'flip.kvsnap');
  for (let bit = 0; bit < good.length * 8; bit++) {
    const bytes = Buffer.from(good);
    bytes[bit >> 3]! ^= 1 << (bit & 7);
    await writeFile(path, bytes);
    await assert.rejects(loadSnapshot(path, () => undefined), (err: unknown) => err instanceof PersistenceError && err.code === 'KV_ERR_SNAPSHOT_CORRUPT', `bit ${bit} flipped went unnoticed`);
  }
});

test('random multi-byte damage to a larger snapshot is always detected', async () => {
  const dir = await tempDir();
  const random = seededRandom(2);
  const good = await snapshotOf(dir, Array.from({ length: 500 }, (_, i): [string, string] => [`k${i}`, binaryString(random, 20)]), 1024);
  const path = join(dir, 'damaged.kvsnap');
  await fc.assert(
    fc.asyncProperty(fc.nat({ max: good.length - 1 }), fc.uint8Array({ minLength: 1, maxLength: 8 }), async (at, junk) => {
      const bytes = Buffer.from(good);
      Buffer.from(junk).copy(bytes, at);
      fc.pre(!bytes.equals(good));
      await writeFile(path, bytes);
      await assert.rejects(loadSnapshot(path, () => undefined), (err: unknown) => err instanceof PersistenceError && err.code === 'KV_ERR_SNAPSHOT_CORRUPT');
    }),
    { numRuns: 200, seed: 42 },
  );
});

test('a snapshot that is not a readable file is KV_ERR_SNAPSHOT_UNREADABLE', async () => {
  const dir = await tempDir();
  const path = join(dir, SNAPSHOT_FILE);
  await mkdir(path);
  await assert.rejects(loadSnapshot(path, () => undefined), (err: unknown) => {
    assert.ok(err instanceof PersistenceError);
    assert.equal(err.code, 'KV_ERR_SNAPSHOT_UNREADABLE');
    assert.match(err.message, /dump\.kvsnap cannot be read: EISDIR/);
    return true;
  });
});

test('a snapshot taken during concurrent writes holds every write made before it started, with that value or a later one', async () => {
  const dir = await tempDir();
  const random = seededRandom(3);
  const store = new Store();
  const keyCount = 20_000;
  for (let i = 0; i < keyCount; i++) store.set(`key:${i}`, `before:${i}`);
  /** Values each key took after the snapshot started; null = deleted. */
  const later = new Map<string, Array<string | null>>();
  const note = (key: string, value: string | null): void => {
    const list = later.get(key);
    if (list === undefined) later.set(key, [value]);
    else list.push(value);
  };
  let mutations = 0;
  let done = false;
  // Small blocks and slices: the snapshot yields often, and the writes below land in between.
  // maxEntries as Persistence passes it: the size at the start, which still covers every old key.
  const writing = writeSnapshot({ dir, entries: store.entries(), maxEntries: store.size, aofGeneration: 1, startedAtMs: Date.now(), sliceMs: 0.2, blockBytes: 8192 });
  const finished = writing.then((stats) => {
    done = true;
    return stats;
  });
  while (!done) {
    for (let j = 0; j < 50; j++) {
      const r = random();
      const key = r < 0.9 ? `key:${Math.floor(random() * keyCount)}` : `new:${Math.floor(random() * 5000)}`;
      if (random() < 0.2) {
        store.delete(key);
        note(key, null);
      } else {
        const value = `after:${mutations}`;
        store.set(key, value);
        note(key, value);
      }
      mutations++;
    }
    await new Promise<void>((resolve) => setImmediate(resolve));
  }
  const stats = await finished;
  assert.ok(stats.slices > 5, `the snapshot should have yielded many times, yielded ${stats.slices}`);
  assert.ok(mutations > 500, `writes should have interleaved with the snapshot, got ${mutations}`);
  assert.ok(stats.keys <= keyCount, 'keys inserted after the start do not prolong the snapshot past the old size');
  const snap = await load(join(dir, SNAPSHOT_FILE));
  for (let i = 0; i < keyCount; i++) {
    const key = `key:${i}`;
    const allowed = [`before:${i}`, ...(later.get(key) ?? [])];
    const got = snap.has(key) ? snap.get(key)! : null;
    assert.ok(allowed.includes(got), `${key}: snapshot has ${String(got)}, allowed ${allowed.join(', ')}`);
  }
  for (const [key, value] of snap) {
    if (key.startsWith('new:')) assert.ok(later.get(key)?.includes(value), `${key}=${value} was never written`);
  }
});

test('a snapshot ends even while new keys are inserted faster than it serializes', async () => {
  const dir = await tempDir();
  const store = new Store();
  for (let i = 0; i < 5000; i++) store.set(`old:${i}`, 'v');
  let inserted = 0;
  let done = false;
  const writing = writeSnapshot({ dir, entries: store.entries(), maxEntries: store.size, aofGeneration: 1, startedAtMs: 0, sliceMs: 0.05, blockBytes: 1024 })
    .finally(() => {
      done = true;
    });
  while (!done) {
    for (let j = 0; j < 2000; j++) store.set(`new:${inserted++}`, 'v');
    await new Promise<void>((resolve) => setImmediate(resolve));
  }
  const stats = await writing;
  assert.equal(stats.keys, 5000);
  const snap = await load(join(dir, SNAPSHOT_FILE));
  for (let i = 0; i < 5000; i++) assert.ok(snap.has(`old:${i}`));
});

test('a failed snapshot write leaves the old snapshot and no temporary file', async () => {
  const dir = await tempDir();
  await snapshotOf(dir, [['old', 'value']]);
  const before = await readFile(join(dir, SNAPSHOT_FILE));
  const failing: Iterator<[string, string]> = {
    next: (): IteratorResult<[string, string]> => {
      throw new Error('iteration failed');
    },
  };
  await assert.rejects(writeSnapshot({ dir, entries: failing, aofGeneration: 1, startedAtMs: 0 }), /iteration failed/);
  assert.deepEqual(await readdir(dir), [SNAPSHOT_FILE]);
  assert.ok((await readFile(join(dir, SNAPSHOT_FILE))).equals(before));
});
