import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { Store } from '../server/store.js';
import { AppendLog } from '../server/persistence/aof.js';
import { PersistenceError } from '../server/persistence/errors.js';
import { applyLogRecord } from '../server/persistence/log-records.js';
import { LOG_BLOCK_HEADER_BYTES, LOG_FILE_HEADER_BYTES } from '../server/persistence/log-format.js';
import { loadDataDir } from '../server/persistence/startup-load.js';
import { Prng } from '../bench/prng.js';
import { tempDir } from './helpers/persistence.js';

// The log's integrity promise, proven over every bit and every length of a small log: a log with
// one flipped bit, or cut at any point, is either loaded exactly as written (its whole blocks) or
// refused, naming the file and the offset of the damaged block; with --discard-corrupt it is cut
// there. Loading goes through the start-up path in-process (loadDataDir, what Persistence.open
// runs after its folder check), so a case costs well under a millisecond.

const silent = pino({ level: 'silent' });
const LOG_NAME = 'appendonly.1.aof';

/** Each turn's commands: written by the real log writer, one block per turn. */
const TURNS: string[][][] = [
  [['SET', 'a', '1'], ['SET', 'b', '\u0000\u00ff\r\n']],
  [['MSET', 'c', '3', 'd', '4'], ['DEL', 'a']],
  [['FLUSHALL'], ['SET', 'e', '5']],
  [['SET', 'f', 'x'.repeat(20)], ['DEL', 'e']],
];

interface Sample {
  bytes: Buffer;
  /** Where each block starts and ends, in file order. */
  blocks: Array<{ start: number; end: number }>;
  /** The store after the first k blocks, for k = 0 .. blocks. */
  stateAfter: Array<Map<string, string>>;
}

let sample: Sample;
/** Where the cases write: tmpfs if there is one (the sweep tests decisions, not the disk). */
const SWEEP_PARENT = existsSync('/dev/shm') ? '/dev/shm' : tmpdir();

before(async () => {
  const dir = await tempDir('kvring-log-sample-');
  const log = new AppendLog({ dir, generation: 1, fsync: 'everysec', log: silent });
  await log.open();
  const blocks: Sample['blocks'] = [];
  const model = new Store();
  const stateAfter = [new Map<string, string>()];
  let end = LOG_FILE_HEADER_BYTES;
  for (const turn of TURNS) {
    for (const c of turn) {
      log.append(c, c.length);
      assert.equal(applyLogRecord(model, c, c.length), null);
    }
    const before = log.appendedBytes;
    await log.flushForAck();
    // The turn's bytes (one block) are in the file now; appendedBytes counts log bytes after the header.
    blocks.push({ start: end, end: LOG_FILE_HEADER_BYTES + before });
    end = LOG_FILE_HEADER_BYTES + before;
    stateAfter.push(new Map(model.entries()));
  }
  assert.ok(await log.close());
  const bytes = await readFile(join(dir, LOG_NAME));
  assert.equal(bytes.length, end);
  for (const b of blocks) assert.equal(bytes.readUInt32LE(b.start + 1), b.end - b.start - LOG_BLOCK_HEADER_BYTES, 'one block per turn');
  sample = { bytes, blocks, stateAfter };
});

/** Loads a folder holding `log` as generation 1 the way start-up does: the contents, or the refusal. */
async function load(dir: string, log: Buffer, discardCorrupt = false): Promise<Map<string, string> | PersistenceError> {
  if (discardCorrupt) {
    await rm(dir, { recursive: true, force: true });
    await mkdir(dir);
  }
  await writeFile(join(dir, LOG_NAME), log);
  const store = new Store();
  try {
    await loadDataDir(store, { dir, appendOnly: true, discardCorrupt, log: silent });
  } catch (err) {
    if (err instanceof PersistenceError) return err;
    throw err;
  }
  return new Map(store.entries());
}

/** The block holding byte `at`, as an index; -1 for the file header. */
function blockOf(at: number): number {
  return sample.blocks.findIndex((b) => b.start <= at && at < b.end);
}

/** A fresh folder on SWEEP_PARENT, removed when the file ends. */
async function sweepDir(): Promise<string> {
  const parent = await mkdtemp(join(SWEEP_PARENT, 'kvring-log-sweep-'));
  after(() => rm(parent, { recursive: true, force: true }));
  const dir = join(parent, 'd');
  await mkdir(dir);
  return dir;
}

test('every single-bit flip anywhere in a small log is refused, naming the file and the offset of the damaged block (never loaded changed)', async (t) => {
  const dir = await sweepDir();
  const path = join(dir, LOG_NAME);
  const bits = sample.bytes.length * 8;
  for (let bit = 0; bit < bits; bit++) {
    const bytes = Buffer.from(sample.bytes);
    bytes[bit >> 3]! ^= 1 << (bit & 7);
    const result = await load(dir, bytes);
    assert.ok(result instanceof PersistenceError, `bit ${bit} (byte ${bit >> 3}) was loaded`);
    assert.equal(result.code, 'KV_ERR_LOG_CORRUPT', `bit ${bit}: ${result.message}`);
    const block = blockOf(bit >> 3);
    const offset = block < 0 ? 0 : sample.blocks[block]!.start;
    assert.ok(result.message.startsWith(`append-only log ${path} is corrupt: `), result.message);
    assert.match(result.message, new RegExp(` at byte ${offset} \\(records before byte ${offset} are intact\\)`), `bit ${bit}: ${result.message}`);
  }
  t.diagnostic(`${bits} single-bit flips in a ${sample.bytes.length}-byte log of ${sample.blocks.length} blocks: ${bits} refused, 0 loaded`);
});

test('--discard-corrupt cuts at the damaged block: a flip in every byte loads exactly the blocks before it', async (t) => {
  const dir = await sweepDir();
  // One bit per byte (a different one each byte): the sweep above already shows every bit is caught.
  for (let byte = 0; byte < sample.bytes.length; byte++) {
    const bit = byte * 8 + (byte % 8);
    const bytes = Buffer.from(sample.bytes);
    bytes[bit >> 3]! ^= 1 << (bit & 7);
    const result = await load(dir, bytes, true);
    assert.ok(!(result instanceof PersistenceError), `bit ${bit}: ${result instanceof PersistenceError ? result.message : ''}`);
    const kept = Math.max(0, blockOf(bit >> 3));
    assert.deepEqual(result, sample.stateAfter[kept], `bit ${bit}: the ${kept} blocks before the damage`);
    const names = await readdir(dir);
    assert.ok(!names.includes(LOG_NAME) && names.some((n) => n.startsWith(`${LOG_NAME}.corrupt-`)), `bit ${bit}: the damaged file is moved aside (${names.join(' ')})`);
  }
  t.diagnostic(`${sample.bytes.length} single-bit flips (one per byte) with --discard-corrupt: each kept exactly the whole blocks before the damaged one`);
});

test('every truncation point of a small log loads exactly the whole blocks before the cut and cuts the file there', async (t) => {
  const dir = await sweepDir();
  const path = join(dir, LOG_NAME);
  for (let length = 0; length <= sample.bytes.length; length++) {
    const result = await load(dir, sample.bytes.subarray(0, length));
    assert.ok(!(result instanceof PersistenceError), `cut to ${length}: ${result instanceof PersistenceError ? result.message : ''}`);
    const whole = sample.blocks.filter((b) => b.end <= length);
    assert.deepEqual(result, sample.stateAfter[whole.length], `cut to ${length}: ${whole.length} whole blocks`);
    const expectedSize = length < LOG_FILE_HEADER_BYTES ? 0 : whole.length === 0 ? LOG_FILE_HEADER_BYTES : whole[whole.length - 1]!.end;
    assert.equal((await stat(path)).size, expectedSize, `cut to ${length}: the file is cut back to its last whole block`);
  }
  t.diagnostic(`${sample.bytes.length + 1} truncation points of a ${sample.bytes.length}-byte log: each loaded exactly its whole blocks`);
});

test('a zero-filled tail after any whole block (what a power loss can leave) is cut, not refused', async () => {
  const dir = await sweepDir();
  for (const [i, block] of sample.blocks.entries()) {
    for (const zeros of [1, LOG_BLOCK_HEADER_BYTES, 4096]) {
      // Zeros over the rest of the file from inside block i: its header, its payload, or past it.
      for (const from of [block.start, block.start + 5, block.end - 1]) {
        const bytes = Buffer.concat([sample.bytes.subarray(0, from), Buffer.alloc(Math.max(zeros, sample.bytes.length - from))]);
        const result = await load(dir, bytes);
        assert.ok(!(result instanceof PersistenceError), `zeros from ${from}: ${result instanceof PersistenceError ? result.message : ''}`);
        assert.deepEqual(result, sample.stateAfter[i], `zeros from byte ${from}: the ${i} blocks before`);
      }
    }
  }
});

test('random multi-byte damage (bursts of 1-64 random bytes) is always refused', async () => {
  const dir = await sweepDir();
  const rng = new Prng(12);
  for (let i = 0; i < 200; i++) {
    const bytes = Buffer.from(sample.bytes);
    const length = 1 + rng.nextBelow(64);
    const at = rng.nextBelow(bytes.length - 1);
    let changed = false;
    for (let j = at; j < Math.min(bytes.length, at + length); j++) {
      const value = rng.nextBelow(256);
      changed ||= value !== bytes[j];
      bytes[j] = value;
    }
    // The last byte of a whole log is never zero: damage that ends the file in zeros reads as a power loss.
    if (!changed || bytes[bytes.length - 1] === 0) continue;
    const result = await load(dir, bytes);
    assert.ok(result instanceof PersistenceError, `${length} random bytes at ${at} were loaded`);
  }
});
