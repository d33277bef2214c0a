import { test, after, before } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { cp, mkdir, mkdtemp, readdir, readFile, rm, stat, truncate, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { spawnServer, ServerStartError, type RunningServer } from '../server/spawn.js';
import { Store } from '../server/store.js';
import { Persistence } from '../server/persistence/persistence.js';
import { PersistenceError } from '../server/persistence/errors.js';
import { SNAPSHOT_FILE, logFileName, parseLogFileName } from '../server/persistence/data-files.js';
import { BLOCK_HEADER_BYTES, HEADER_BYTES, decodeBlockHeader } from '../server/persistence/snapshot-format.js';
import { LOG_BLOCK_HEADER_BYTES, LOG_FILE_HEADER, LOG_FILE_HEADER_BYTES } from '../server/persistence/log-format.js';
import { Prng } from '../bench/prng.js';
import { oneShot } from '../protocol/one-shot.js';

// Damaged data files at start-up, as a crash, a full disk or a bad sector leaves them. What the
// server promises: a damaged or unreadable snapshot stops start-up (exit code 1, the file and the
// problem named on stderr); --discard-corrupt moves it aside and starts empty; a torn LAST log
// block is cut off with a warning; damage in the middle of the log stops start-up.
//
// Part one starts real server processes on damaged folders. Part two sweeps truncation points and
// bit flips through the same load path in-process (Persistence.open, what main.ts calls), where a
// case costs milliseconds instead of a process start.

const SNAPSHOT_KEYS = 300;
const LOG_KEYS = 40;

interface Fixture {
  /** A folder with a snapshot of SNAPSHOT_KEYS keys and a log of LOG_KEYS later writes. */
  dir: string;
  snapshot: Buffer;
  logName: string;
  log: Buffer;
  /** The log's blocks, from the file's own structure. */
  blocks: LogBlockSpan[];
  /** Everything the folder holds, as the server should load it. */
  expected: Map<string, string>;
}

interface LogBlockSpan {
  start: number;
  end: number;
  /** Records (SETs) in the block. */
  records: number;
}

/** The blocks of a version 2 log, walked with the format's own header fields. */
function logBlocks(log: Buffer): LogBlockSpan[] {
  assert.ok(log.subarray(0, LOG_FILE_HEADER_BYTES).equals(LOG_FILE_HEADER), 'the server writes log format 2');
  const blocks: LogBlockSpan[] = [];
  for (let at = LOG_FILE_HEADER_BYTES; at < log.length;) {
    const end = at + LOG_BLOCK_HEADER_BYTES + log.readUInt32LE(at + 1);
    blocks.push({ start: at, end, records: countRecords(log.subarray(at + LOG_BLOCK_HEADER_BYTES, end)) });
    at = end;
  }
  return blocks;
}

/** Folders made by this file; removed once it ends (after the servers using them stopped). */
const madeDirs: string[] = [];
after(() => Promise.all(madeDirs.map((d) => rm(d, { recursive: true, force: true }))));

async function tempDir(prefix: string, parent = tmpdir()): Promise<string> {
  const dir = await mkdtemp(join(parent, prefix));
  madeDirs.push(dir);
  return dir;
}

/**
 * Where the sweeps write their thousand small folders: tmpfs if there is one, because each load
 * fsyncs a probe file and the folder, and the sweeps test decisions, not the disk.
 */
const SWEEP_PARENT = existsSync('/dev/shm') ? '/dev/shm' : tmpdir();

let fixture: Fixture;

// One real server writes the files every case starts from: SETs, SAVE, more SETs, then SIGKILL.
before(async () => {
  const dir = await tempDir('kvring-corrupt-fixture-');
  const server = await spawnServer({ dir, args: ['--appendonly', 'yes', '--appendfsync', 'always', '--snapshot-interval', '0'] });
  const expected = new Map<string, string>();
  const sets: string[][] = [];
  for (let i = 0; i < SNAPSHOT_KEYS; i++) sets.push(['SET', `snap:${i}`, `value-${i}-${'s'.repeat(i % 40)}`]);
  await oneShot(server.host, server.port, [...sets, ['SAVE']]);
  const later: string[][] = [];
  for (let i = 0; i < LOG_KEYS; i++) later.push(['SET', `log:${i}`, `after-snapshot-${i}`]);
  // Several round trips, so the log holds several blocks (one per turn of the server's event loop).
  for (let i = 0; i < LOG_KEYS; i += LOG_KEYS / 8) await oneShot(server.host, server.port, later.slice(i, i + LOG_KEYS / 8));
  for (const [, k, v] of [...sets, ...later]) expected.set(k!, v!);
  server.kill('SIGKILL');
  await server.exited;
  await server.stop();
  const names = await readdir(dir);
  const logNames = names.filter((n) => parseLogFileName(n) !== null).sort((a, b) => parseLogFileName(a)! - parseLogFileName(b)!);
  const logName = logNames[logNames.length - 1]!;
  const log = await readFile(join(dir, logName));
  fixture = { dir, snapshot: await readFile(join(dir, SNAPSHOT_FILE)), logName, log, blocks: logBlocks(log), expected };
  assert.ok(fixture.blocks.length >= 2, `the newest log ${logName} holds the writes after SAVE in several blocks (files: ${names.join(' ')})`);
});

/** A copy of the fixture folder, with `damage` applied to it; removed when the file ends. */
async function damagedCopy(damage: (dir: string) => Promise<void>): Promise<string> {
  const dir = await tempDir('kvring-corrupt-case-');
  await cp(fixture.dir, dir, { recursive: true });
  await damage(dir);
  return dir;
}

/** Starts a server on `dir` expecting it to refuse; returns its stderr. */
async function expectRefusal(dir: string, extraArgs: string[] = []): Promise<string> {
  let server: RunningServer | null = null;
  try {
    server = await spawnServer({ dir, args: ['--appendonly', 'yes', '--snapshot-interval', '0', ...extraArgs] });
  } catch (err) {
    assert.ok(err instanceof ServerStartError, String(err));
    // Exit code 1 is a refusal with a message; 70 would be an uncaught exception (a crash).
    assert.match(err.message, /exited before it was ready \(code 1, signal null\)/);
    return err.stderr;
  } finally {
    await server?.stop();
  }
  assert.fail('the server started on a damaged folder');
}

async function startOn(dir: string, extraArgs: string[] = []): Promise<RunningServer> {
  const server = await spawnServer({ dir, args: ['--appendonly', 'yes', '--snapshot-interval', '0', ...extraArgs] });
  after(() => server.stop());
  return server;
}

async function dbsize(server: RunningServer): Promise<number> {
  const [n] = await oneShot(server.host, server.port, [['DBSIZE']]);
  return n as number;
}

// ---- Part one: real server processes ------------------------------------------------------

test('an empty snapshot file stops start-up: exit code 1, the file and "empty file" named on stderr', async () => {
  const dir = await damagedCopy((d) => writeFile(join(d, SNAPSHOT_FILE), ''));
  const stderr = await expectRefusal(dir);
  assert.match(stderr, new RegExp(`snapshot ${join(dir, SNAPSHOT_FILE)} is corrupt: empty file \\(0 bytes\\)`));
  assert.match(stderr, /--discard-corrupt/);
});

test('a truncated snapshot stops start-up naming the file and the truncation', async () => {
  const dir = await damagedCopy((d) => truncate(join(d, SNAPSHOT_FILE), Math.floor(fixture.snapshot.length / 2)));
  const stderr = await expectRefusal(dir);
  assert.match(stderr, new RegExp(`snapshot ${join(dir, SNAPSHOT_FILE)} is corrupt: truncated`));
});

test('a bit-flipped snapshot stops start-up naming the file, the checksum mismatch and the offset', async () => {
  const dir = await damagedCopy(async (d) => {
    const bytes = Buffer.from(fixture.snapshot);
    bytes[HEADER_BYTES + BLOCK_HEADER_BYTES + 100]! ^= 0x10;
    await writeFile(join(d, SNAPSHOT_FILE), bytes);
  });
  const stderr = await expectRefusal(dir);
  assert.match(stderr, new RegExp(`snapshot ${join(dir, SNAPSHOT_FILE)} is corrupt: checksum mismatch at byte ${HEADER_BYTES}`));
});

test('a snapshot that cannot be read (a folder in its place) stops start-up naming the file', async () => {
  const dir = await damagedCopy(async (d) => {
    await rm(join(d, SNAPSHOT_FILE));
    await mkdir(join(d, SNAPSHOT_FILE));
  });
  const stderr = await expectRefusal(dir);
  assert.match(stderr, new RegExp(`snapshot ${join(dir, SNAPSHOT_FILE)} cannot be read`));
});

test('--discard-corrupt moves a corrupt snapshot aside, starts empty, and what is written next survives a restart', async () => {
  const dir = await damagedCopy(async (d) => {
    const bytes = Buffer.from(fixture.snapshot);
    bytes[bytes.length - 3]! ^= 0x01;
    await writeFile(join(d, SNAPSHOT_FILE), bytes);
  });
  const server = await startOn(dir, ['--discard-corrupt']);
  assert.equal(await dbsize(server), 0);
  const names = await readdir(dir);
  assert.ok(names.some((n) => /^dump\.kvsnap\.corrupt-\d{8}T\d{9}Z$/.test(n)), names.join(' '));
  assert.match(server.stderrText(), /--discard-corrupt/);
  assert.deepEqual(await oneShot(server.host, server.port, [['SET', 'fresh', 'start']]), ['OK']);
  await server.stop();
  const again = await startOn(dir);
  assert.deepEqual(await oneShot(again.host, again.port, [['DBSIZE'], ['GET', 'fresh']]), [1, Buffer.from('start')]);
});

test('a torn last log block is cut off with a warning naming the file and offset; the server starts with every whole block', async () => {
  const cutAt = fixture.log.length - 7;
  const dir = await damagedCopy((d) => truncate(join(d, fixture.logName), cutAt));
  const server = await startOn(dir);
  const last = fixture.blocks[fixture.blocks.length - 1]!;
  assert.equal(await dbsize(server), fixture.expected.size - last.records, 'only the torn block\'s records are lost');
  assert.deepEqual(await oneShot(server.host, server.port, [['GET', `log:${LOG_KEYS - 1}`], ['GET', `log:${LOG_KEYS - 1 - last.records}`]]), [null, Buffer.from(fixture.expected.get(`log:${LOG_KEYS - 1 - last.records}`)!)]);
  const path = join(dir, fixture.logName);
  assert.match(server.stderrText(), new RegExp(`cut an incomplete last record .* from ${path} at byte ${last.start}`));
  assert.equal((await stat(path)).size, last.start, 'the file is cut back to its whole blocks');
});

test('an empty log file is a normal empty generation: the server starts with the snapshot', async () => {
  const dir = await damagedCopy((d) => writeFile(join(d, fixture.logName), ''));
  const server = await startOn(dir);
  assert.equal(await dbsize(server), SNAPSHOT_KEYS);
});

test('garbage in the middle of the log stops start-up naming the file and the damaged block\'s offset; --discard-corrupt keeps the blocks before it', async () => {
  const garbageAt = fixture.log.indexOf('*3\r\n', Math.floor(fixture.log.length / 2));
  const damaged = fixture.blocks.findIndex((b) => b.start <= garbageAt && garbageAt < b.end);
  const blockAt = fixture.blocks[damaged]!.start;
  const dir = await damagedCopy(async (d) => {
    const bytes = Buffer.from(fixture.log);
    bytes.write('#garbage#', garbageAt, 'latin1');
    await writeFile(join(d, fixture.logName), bytes);
  });
  const stderr = await expectRefusal(dir);
  const path = join(dir, fixture.logName);
  assert.match(stderr, new RegExp(`append-only log ${path} is corrupt: checksum mismatch in a block at byte ${blockAt} \\(records before byte ${blockAt} are intact\\)`));

  const server = await startOn(dir, ['--discard-corrupt']);
  const recordsBefore = fixture.blocks.slice(0, damaged).reduce((n, b) => n + b.records, 0);
  assert.equal(await dbsize(server), SNAPSHOT_KEYS + recordsBefore);
  assert.ok((await readdir(dir)).some((n) => n.startsWith(`${fixture.logName}.corrupt-`)));
});

function countRecords(log: Buffer): number {
  let n = 0;
  for (let i = log.indexOf('*3\r\n'); i !== -1; i = log.indexOf('*3\r\n', i + 1)) n++;
  return n;
}

// ---- Part two: sweeps through the load path -----------------------------------------------

const silent = pino({ level: 'silent' });

/** Loads a folder the way main.ts does; returns the contents, or the PersistenceError it refused with. */
async function load(dir: string, discardCorrupt = false): Promise<Map<string, string> | PersistenceError> {
  const store = new Store();
  let p: Persistence;
  try {
    p = await Persistence.open(store, { dir, snapshotIntervalSec: 0, appendOnly: true, appendFsync: 'always', discardCorrupt, log: silent });
  } catch (err) {
    if (err instanceof PersistenceError) return err;
    throw err;
  }
  await p.close({ save: false });
  return new Map(store.entries());
}

/** A scratch folder holding exactly the given files (the log under the fixture's name). */
async function scratch(dir: string, snapshot: Buffer, log: Buffer): Promise<void> {
  await rm(dir, { recursive: true, force: true });
  await mkdir(dir);
  await writeFile(join(dir, SNAPSHOT_FILE), snapshot);
  await writeFile(join(dir, fixture.logName), log);
}

/** Offsets of every block header in the snapshot, from the file's own structure. */
function blockOffsets(snapshot: Buffer): number[] {
  const offsets: number[] = [];
  for (let at = HEADER_BYTES; at < snapshot.length;) {
    offsets.push(at);
    const block = decodeBlockHeader(snapshot.subarray(at, at + BLOCK_HEADER_BYTES), at, snapshot.length);
    at += BLOCK_HEADER_BYTES + block.payloadBytes;
  }
  return offsets;
}

test('every truncation of the snapshot is refused as corrupt (never loaded in part)', async (t) => {
  const dir = join(await tempDir('kvring-sweep-', SWEEP_PARENT), 'd');
  const rng = new Prng(1);
  const lengths = new Set<number>();
  for (let i = 0; i < HEADER_BYTES + 2 * BLOCK_HEADER_BYTES; i++) lengths.add(i);
  for (const at of blockOffsets(fixture.snapshot)) for (let d = -2; d <= BLOCK_HEADER_BYTES + 2; d++) lengths.add(at + d);
  for (let d = 1; d <= 40; d++) lengths.add(fixture.snapshot.length - d);
  for (let i = 0; i < 100; i++) lengths.add(rng.nextBelow(fixture.snapshot.length));
  for (const length of lengths) {
    if (length < 0 || length >= fixture.snapshot.length) continue;
    await scratch(dir, fixture.snapshot.subarray(0, length), fixture.log);
    const result = await load(dir);
    assert.ok(result instanceof PersistenceError, `a snapshot cut to ${length} of ${fixture.snapshot.length} bytes was loaded`);
    assert.equal(result.code, 'KV_ERR_SNAPSHOT_CORRUPT', `cut to ${length}: ${result.message}`);
    assert.ok(result.message.includes(join(dir, SNAPSHOT_FILE)));
  }
  t.diagnostic(`${lengths.size} truncation points of a ${fixture.snapshot.length}-byte snapshot, all refused`);
});

test('every single-bit flip in the snapshot header and block headers, and 400 random ones, is refused as corrupt', async (t) => {
  const dir = join(await tempDir('kvring-sweep-', SWEEP_PARENT), 'd');
  const rng = new Prng(2);
  const bits = new Set<number>();
  for (let b = 0; b < HEADER_BYTES * 8; b++) bits.add(b);
  for (const at of blockOffsets(fixture.snapshot)) for (let b = 0; b < BLOCK_HEADER_BYTES * 8; b++) bits.add(at * 8 + b);
  for (let i = 0; i < 400; i++) bits.add(rng.nextBelow(fixture.snapshot.length * 8));
  for (const bit of bits) {
    const bytes = Buffer.from(fixture.snapshot);
    bytes[bit >> 3]! ^= 1 << (bit & 7);
    await scratch(dir, bytes, fixture.log);
    const result = await load(dir);
    assert.ok(result instanceof PersistenceError, `a snapshot with bit ${bit} flipped was loaded`);
    assert.ok(result.code === 'KV_ERR_SNAPSHOT_CORRUPT', `bit ${bit}: ${result.code} ${result.message}`);
  }
  t.diagnostic(`${bits.size} single-bit flips in a ${fixture.snapshot.length}-byte snapshot, all refused`);
});

test('every truncation of the log starts the server with exactly the records of the whole blocks before the cut', async (t) => {
  const dir = join(await tempDir('kvring-sweep-', SWEEP_PARENT), 'd');
  const snapshotOnly = new Map([...fixture.expected].filter(([k]) => k.startsWith('snap:')));
  let cases = 0;
  for (let length = 0; length < fixture.log.length; length += length < 200 || length > fixture.log.length - 200 ? 1 : 7) {
    await scratch(dir, fixture.snapshot, fixture.log.subarray(0, length));
    const result = await load(dir);
    assert.ok(!(result instanceof PersistenceError), `log cut to ${length}: refused: ${result instanceof PersistenceError ? result.message : ''}`);
    const whole = fixture.blocks.filter((b) => b.end <= length).reduce((n, b) => n + b.records, 0);
    assert.equal(result.size, snapshotOnly.size + whole, `log cut to ${length} bytes holds ${whole} records in whole blocks`);
    for (let i = 0; i < whole; i++) assert.equal(result.get(`log:${i}`), fixture.expected.get(`log:${i}`));
    cases++;
  }
  t.diagnostic(`${cases} truncation points of a ${fixture.log.length}-byte log (${fixture.blocks.length} blocks), each loaded with exactly its whole blocks`);
});

test('300 random bit flips in the log: every one refused as corrupt, naming the file and the damaged block\'s offset (the whole-log sweep is in server-persistence-log-sweep)', async (t) => {
  const dir = join(await tempDir('kvring-sweep-', SWEEP_PARENT), 'd');
  const rng = new Prng(3);
  for (let i = 0; i < 300; i++) {
    const bit = rng.nextBelow(fixture.log.length * 8);
    const bytes = Buffer.from(fixture.log);
    bytes[bit >> 3]! ^= 1 << (bit & 7);
    await scratch(dir, fixture.snapshot, bytes);
    const result = await load(dir);
    assert.ok(result instanceof PersistenceError, `bit ${bit} (byte ${bit >> 3}) was loaded`);
    assert.equal(result.code, 'KV_ERR_LOG_CORRUPT', `bit ${bit}: ${result.message}`);
    const block = fixture.blocks.find((b) => b.start <= bit >> 3 && bit >> 3 < b.end);
    const offset = block === undefined ? 0 : block.start;
    assert.ok(result.message.includes(`${join(dir, fixture.logName)} is corrupt: `), result.message);
    assert.match(result.message, new RegExp(` at byte ${offset} `), `bit ${bit}`);
  }
  t.diagnostic(`300 random bit flips in a ${fixture.log.length}-byte log: 300 refused`);
});

test('a log file name the server did not write is ignored, and so is a moved-aside file', async () => {
  const dir = await damagedCopy(async (d) => {
    await writeFile(join(d, `${logFileName(99)}.corrupt-20250101T000000000Z`), 'garbage');
    await writeFile(join(d, 'appendonly.x.aof'), 'garbage');
  });
  const result = await load(dir);
  assert.ok(!(result instanceof PersistenceError), result instanceof PersistenceError ? result.message : '');
  assert.deepEqual(result, fixture.expected);
});
