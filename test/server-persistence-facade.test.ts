import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFile, writeFile, appendFile, readdir, mkdir, unlink, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { Store } from '../server/store.js';
import { Persistence, logNeedsCompaction, LOG_COMPACTION_MIN_BYTES } from '../server/persistence/persistence.js';
import { PersistenceError } from '../server/persistence/errors.js';
import { encodeCommand } from '../protocol/encoder.js';
import { captureLog, tempDir, testOptions, openStore, write, storeContents, seededRandom, mountSmallTmpfs, logBlock } from './helpers/persistence.js';

function isCode(code: string, ...patterns: RegExp[]) {
  return (err: unknown): boolean => {
    assert.ok(err instanceof PersistenceError, `expected a PersistenceError, got ${String(err)}`);
    assert.equal(err.code, code);
    for (const p of patterns) assert.match(err.message, p);
    return true;
  };
}

/** A random SET/DEL/FLUSHALL workload over a small key space, applied and logged like the command layer does. */
function randomWrites(store: Store, p: Persistence, random: () => number, count: number): void {
  for (let i = 0; i < count; i++) {
    const key = `key:${Math.floor(random() * 3000)}`;
    const r = random();
    if (r < 0.0005) write(store, p, ['FLUSHALL']);
    else if (r < 0.2) write(store, p, ['DEL', key, `key:${Math.floor(random() * 3000)}`]);
    else write(store, p, ['SET', key, `v${i}:${'x'.repeat(Math.floor(random() * 50))}`]);
  }
}

test('SAVE then restart: the snapshot is loaded, LASTSAVE and INFO report it', async () => {
  const dir = await tempDir();
  const { log } = captureLog();
  const { store, p } = await openStore(testOptions(dir, log));
  for (let i = 0; i < 10_000; i++) store.set(`k${i}`, `v${i}`);
  assert.equal(p.lastSaveUnixSec, 0);
  await p.save();
  assert.ok(Math.abs(p.lastSaveUnixSec - Date.now() / 1000) < 5);
  const info = new Map(p.info());
  assert.equal(info.get('rdb_last_bgsave_status'), 'ok');
  assert.equal(info.get('rdb_changes_since_last_save'), 0);
  assert.equal(info.get('snapshot_last_keys'), 10_000);
  assert.equal(info.get('aof_enabled'), 0);
  assert.ok(await p.close({ save: false }));
  const again = await openStore(testOptions(dir, log));
  assert.deepEqual(storeContents(again.store), storeContents(store));
  assert.equal(new Map(again.p.info()).get('loading_keys'), 10_000);
  assert.equal(again.p.lastSaveUnixSec, p.lastSaveUnixSec);
});

test('close({ save: true }) takes the final snapshot only when something changed', async () => {
  const dir = await tempDir();
  const { log } = captureLog();
  const { store, p } = await openStore(testOptions(dir, log));
  assert.ok(await p.close({ save: true }));
  assert.deepEqual(await readdir(dir), [], 'nothing changed, nothing written');
  const second = await openStore(testOptions(dir, log));
  second.store.set('a', '1');
  assert.ok(await second.p.close({ save: true }));
  const third = await openStore(testOptions(dir, log));
  assert.equal(third.store.get('a'), '1');
  assert.equal(store.size, 0);
});

test('bgsave refuses a second concurrent snapshot; save waits for it and then takes its own', async () => {
  const dir = await tempDir();
  const { log } = captureLog();
  const { store, p } = await openStore(testOptions(dir, log, { snapshotSliceMs: 0.1, snapshotBlockBytes: 4096 }));
  for (let i = 0; i < 20_000; i++) store.set(`k${i}`, `v${i}`);
  assert.equal(p.bgsave(), true);
  assert.equal(p.bgsave(), false);
  assert.equal(new Map(p.info()).get('rdb_bgsave_in_progress'), 1);
  store.set('written after the bgsave started', 'yes');
  await p.save();
  assert.equal(new Map(p.info()).get('rdb_bgsave_in_progress'), 0);
  const again = await openStore(testOptions(dir, log));
  assert.equal(again.store.get('written after the bgsave started'), 'yes');
});

test('snapshot + log replay is exact: writes continue during two snapshots, then restart', async () => {
  const dir = await tempDir();
  const { log } = captureLog();
  const options = testOptions(dir, log, { appendOnly: true, appendFsync: 'always', snapshotSliceMs: 0.2, snapshotBlockBytes: 4096 });
  const { store, p } = await openStore(options);
  const random = seededRandom(11);
  randomWrites(store, p, random, 5000);
  for (let round = 0; round < 2; round++) {
    assert.ok(p.bgsave());
    // Keep writing while the snapshot runs, turn by turn.
    while (new Map(p.info()).get('rdb_bgsave_in_progress') === 1) {
      randomWrites(store, p, random, 200);
      await new Promise<void>((resolve) => setImmediate(resolve));
    }
    randomWrites(store, p, random, 1000);
  }
  await p.flushForAck();
  assert.equal(new Map(p.info()).get('rdb_last_bgsave_status'), 'ok');
  const expected = storeContents(store);
  assert.ok(await p.close({ save: false }));
  const files = (await readdir(dir)).sort();
  assert.deepEqual(files, ['appendonly.3.aof', 'dump.kvsnap'], 'generations before the last snapshot are deleted');
  const again = await openStore(options);
  assert.deepEqual(storeContents(again.store), expected);
  assert.ok(new Map(again.p.info()).get('loading_log_records') as number > 0);
});

test('appendfsync always: a crash (no close) loses no acknowledged write', async () => {
  const dir = await tempDir();
  const { log } = captureLog();
  const options = testOptions(dir, log, { appendOnly: true, appendFsync: 'always' });
  const store = new Store();
  const p = await Persistence.open(store, options);
  const random = seededRandom(12);
  randomWrites(store, p, random, 3000);
  await p.flushForAck();
  const acknowledged = storeContents(store);
  // Not awaited and never flushed: what a kill -9 right now would lose, at most.
  write(store, p, ['SET', 'unacknowledged', 'maybe']);
  const again = await openStore(options);
  const recovered = storeContents(again.store);
  recovered.delete('unacknowledged');
  assert.deepEqual(recovered, acknowledged);
  await p.close({ save: false });
});

test('an unwritable --dir fails at open with KV_ERR_DIR_UNWRITABLE naming the folder', async () => {
  const dir = await tempDir();
  const file = join(dir, 'a-file');
  await writeFile(file, 'not a folder');
  const { log } = captureLog();
  for (const bad of [file, join(file, 'below-a-file'), '/proc/kvring-cannot-create-this']) {
    await assert.rejects(Persistence.open(new Store(), testOptions(bad, log)), isCode('KV_ERR_DIR_UNWRITABLE', new RegExp(`data folder ${bad} is not usable: `), /--dir/));
  }
});

test('a corrupt snapshot stops start-up and names the file and the problem', async () => {
  const dir = await tempDir();
  const { log } = captureLog();
  const { store, p } = await openStore(testOptions(dir, log));
  for (let i = 0; i < 1000; i++) store.set(`k${i}`, `v${i}`);
  await p.save();
  const path = join(dir, 'dump.kvsnap');
  const bytes = await readFile(path);
  bytes[500]! ^= 0x04;
  await writeFile(path, bytes);
  await assert.rejects(
    Persistence.open(new Store(), testOptions(dir, log)),
    isCode('KV_ERR_SNAPSHOT_CORRUPT', new RegExp(`snapshot ${path} is corrupt: checksum mismatch at byte 32;`), /--discard-corrupt/),
  );
});

test('--discard-corrupt moves a corrupt snapshot and its logs aside and starts empty', async () => {
  const dir = await tempDir();
  const { log, lines } = captureLog();
  const options = testOptions(dir, log, { appendOnly: true });
  const { store, p } = await openStore(options);
  write(store, p, ['SET', 'a', '1']);
  await p.save();
  write(store, p, ['SET', 'b', '2']);
  await p.close({ save: false });
  await writeFile(join(dir, 'dump.kvsnap'), 'garbage');
  const again = await openStore({ ...options, discardCorrupt: true });
  assert.equal(again.store.size, 0);
  assert.equal(again.store.changes, 0);
  const names = await readdir(dir);
  assert.ok(names.some((n) => /^dump\.kvsnap\.corrupt-\d{8}T\d{9}Z$/.test(n)), names.join(' '));
  assert.ok(names.some((n) => /^appendonly\.2\.aof\.corrupt-/.test(n)), names.join(' '));
  assert.ok(!names.includes('dump.kvsnap'));
  assert.ok(lines.some((l) => /--discard-corrupt/.test(l.msg)));
  // The server keeps working on a fresh log.
  write(again.store, again.p, ['SET', 'c', '3']);
  await again.p.close({ save: false });
  const third = await openStore(options);
  assert.deepEqual(storeContents(third.store), new Map([['c', '3']]));
});

test('a snapshot that cannot be read stops start-up with KV_ERR_SNAPSHOT_UNREADABLE', async () => {
  const dir = await tempDir();
  await mkdir(join(dir, 'dump.kvsnap'));
  const { log } = captureLog();
  await assert.rejects(Persistence.open(new Store(), testOptions(dir, log)), isCode('KV_ERR_SNAPSHOT_UNREADABLE', /dump\.kvsnap cannot be read/));
});

test('a torn last log record is cut off at start-up with a warning naming the file and byte offset', async () => {
  const dir = await tempDir();
  const { log, lines } = captureLog();
  const options = testOptions(dir, log, { appendOnly: true, appendFsync: 'always' });
  const { store, p } = await openStore(options);
  write(store, p, ['SET', 'a', '1']);
  write(store, p, ['SET', 'b', '2']);
  await p.flushForAck();
  await p.close({ save: false });
  const path = join(dir, 'appendonly.1.aof');
  const goodBytes = (await stat(path)).size;
  // What a crash in the middle of writing the next block leaves: a prefix of it.
  await appendFile(path, logBlock([['SET', 'c', 'cut short']]).subarray(0, 17));
  const again = await openStore(options);
  assert.deepEqual(storeContents(again.store), new Map([['a', '1'], ['b', '2']]));
  assert.equal((await stat(path)).size, goodBytes, 'the file is cut back to its whole blocks');
  const warning = lines.find((l) => l.level === 40 && /incomplete last record/.test(l.msg));
  assert.ok(warning, 'a warning is logged');
  assert.match(warning.msg, new RegExp(`${path} at byte ${goodBytes}`));
  assert.equal(warning['offsetBytes'], goodBytes);
});

test('garbage in the middle of the log stops start-up naming the file and offset', async () => {
  const dir = await tempDir();
  const { log } = captureLog();
  const options = testOptions(dir, log, { appendOnly: true, appendFsync: 'always' });
  const { store, p } = await openStore(options);
  write(store, p, ['SET', 'a', '1']);
  await p.flushForAck();
  await p.close({ save: false });
  const path = join(dir, 'appendonly.1.aof');
  const offset = (await stat(path)).size;
  await appendFile(path, Buffer.concat([Buffer.from('#garbage#\r\n'), encodeCommand(['SET', 'b', '2'])]));
  await assert.rejects(
    Persistence.open(new Store(), options),
    isCode('KV_ERR_LOG_CORRUPT', new RegExp(`append-only log ${path} is corrupt: .* at byte ${offset} \\(records before byte ${offset} are intact\\)`), /--discard-corrupt/),
  );
  // --discard-corrupt keeps what came before the damage and makes it durable in a snapshot.
  const kept = await openStore({ ...options, discardCorrupt: true });
  assert.deepEqual(storeContents(kept.store), new Map([['a', '1']]));
  const names = await readdir(dir);
  assert.ok(names.includes('dump.kvsnap'));
  assert.ok(names.some((n) => n.startsWith('appendonly.1.aof.corrupt-')));
  await kept.p.close({ save: false });
  const third = await openStore(options);
  assert.deepEqual(storeContents(third.store), new Map([['a', '1']]));
});

test('a torn record followed by a later generation with data, or a missing generation, is refused', async () => {
  const dir = await tempDir();
  const { log } = captureLog();
  const options = testOptions(dir, log, { appendOnly: true, appendFsync: 'always' });
  const { store, p } = await openStore(options);
  write(store, p, ['SET', 'a', '1']);
  await p.flushForAck();
  await p.close({ save: false });
  // The next start writes generation 2; tear generation 1 and give 2 some data.
  await appendFile(join(dir, 'appendonly.1.aof'), Buffer.from('*3\r\n$3\r\nSE'));
  await writeFile(join(dir, 'appendonly.2.aof'), encodeCommand(['SET', 'b', '2']));
  await assert.rejects(Persistence.open(new Store(), options), isCode('KV_ERR_LOG_CORRUPT', /appendonly\.1\.aof is corrupt: an incomplete record although a later generation has data/));
  await writeFile(join(dir, 'appendonly.1.aof'), encodeCommand(['SET', 'a', '1']));
  await writeFile(join(dir, 'appendonly.3.aof'), encodeCommand(['SET', 'c', '3']));
  await unlink(join(dir, 'appendonly.2.aof'));
  await assert.rejects(Persistence.open(new Store(), options), isCode('KV_ERR_LOG_CORRUPT', /log generation 2 \(appendonly\.2\.aof\) is missing before appendonly\.3\.aof/));
});

test('leftovers of a crash are cleaned at start-up: a half-written snapshot and obsolete generations', async () => {
  const dir = await tempDir();
  const { log } = captureLog();
  const options = testOptions(dir, log, { appendOnly: true });
  const { store, p } = await openStore(options);
  write(store, p, ['SET', 'a', '1']);
  await p.save();
  await p.close({ save: false });
  await writeFile(join(dir, 'dump.kvsnap.tmp'), 'half a snapshot');
  await writeFile(join(dir, 'appendonly.1.aof'), encodeCommand(['SET', 'a', 'stale']));
  await writeFile(join(dir, 'unrelated.txt'), 'not ours');
  const again = await openStore(options);
  assert.equal(again.store.get('a'), '1', 'a generation the snapshot covers is not replayed');
  const names = (await readdir(dir)).sort();
  assert.deepEqual(names, ['appendonly.2.aof', 'appendonly.3.aof', 'dump.kvsnap', 'unrelated.txt']);
});

test('with appendonly off, logs left from an appendonly run are replayed, then deleted by the next snapshot', async () => {
  const dir = await tempDir();
  const { log } = captureLog();
  const on = await openStore(testOptions(dir, log, { appendOnly: true, appendFsync: 'always' }));
  write(on.store, on.p, ['SET', 'a', '1']);
  await on.p.flushForAck();
  await on.p.close({ save: false });
  const off = await openStore(testOptions(dir, log));
  assert.equal(off.store.get('a'), '1');
  assert.equal(new Map(off.p.info()).get('rdb_changes_since_last_save'), 1);
  await off.p.save();
  assert.deepEqual(await readdir(dir), ['dump.kvsnap']);
});

test('the log compaction rule: past max(64 MiB, 2 x snapshot size)', () => {
  assert.equal(logNeedsCompaction(LOG_COMPACTION_MIN_BYTES, 0), false);
  assert.equal(logNeedsCompaction(LOG_COMPACTION_MIN_BYTES + 1, 0), true);
  assert.equal(logNeedsCompaction(150e6, 100e6), false);
  assert.equal(logNeedsCompaction(200e6 + 1, 100e6), true);
});

const tmpfs = mountSmallTmpfs(1024 * 1024);
const skipTmpfs = { skip: 'skip' in tmpfs ? tmpfs.skip : false };

test('disk full during a snapshot keeps the old snapshot, reports the error in INFO, and keeps serving', skipTmpfs, async () => {
  assert.ok('dir' in tmpfs);
  const dir = join(tmpfs.dir, 'snap');
  const { log, lines } = captureLog();
  const options = testOptions(dir, log);
  const { store, p } = await openStore(options);
  for (let i = 0; i < 2000; i++) store.set(`k${i}`, `v${i}`);
  await p.save();
  const before = await readFile(join(dir, 'dump.kvsnap'));
  for (let i = 0; i < 30; i++) store.set(`big${i}`, 'x'.repeat(50_000));
  await assert.rejects(p.save(), isCode('KV_ERR_SNAPSHOT_FAILED', /ENOSPC/, /previous snapshot is kept/));
  assert.ok(p.bgsave(), 'BGSAVE is accepted again after a failure');
  await assert.rejects(p.save(), /ENOSPC/);
  const info = new Map(p.info());
  assert.equal(info.get('rdb_last_bgsave_status'), 'err');
  assert.match(String(info.get('rdb_last_error')), /ENOSPC/);
  assert.ok(lines.some((l) => l.level === 50 && /snapshot failed/.test(l.msg)));
  assert.deepEqual(await readdir(dir), ['dump.kvsnap'], 'no temporary file is left behind');
  assert.ok((await readFile(join(dir, 'dump.kvsnap'))).equals(before));
  assert.equal(p.writeBlockedReason(), null, 'a failed snapshot does not block writes');
  // Space comes back: the next snapshot succeeds and the status recovers.
  for (let i = 0; i < 30; i++) store.delete(`big${i}`);
  await p.save();
  assert.equal(new Map(p.info()).get('rdb_last_bgsave_status'), 'ok');
  await p.close({ save: false });
});

test('disk full with appendfsync always: the write is not acknowledged and writes are blocked until a snapshot covers the log', skipTmpfs, async () => {
  assert.ok('dir' in tmpfs);
  const dir = join(tmpfs.dir, 'aof');
  const filler = join(tmpfs.dir, 'filler.bin');
  await writeFile(filler, Buffer.alloc(600 * 1024));
  const { log } = captureLog();
  const { store, p } = await openStore(testOptions(dir, log, { appendOnly: true, appendFsync: 'always' }));
  let failure: unknown = null;
  for (let i = 0; i < 100 && failure === null; i++) {
    write(store, p, ['SET', `k${i}`, 'y'.repeat(20_000)]);
    const ack = p.flushForAck();
    assert.ok(ack !== null);
    await ack.catch((err: unknown) => {
      failure = err;
    });
  }
  assert.ok(failure instanceof PersistenceError, 'the disk should have filled up');
  assert.equal(failure.code, 'KV_ERR_LOG_WRITE');
  assert.match(p.writeBlockedReason() ?? '', /appendonly\.1\.aof: ENOSPC/);
  assert.equal(new Map(p.info()).get('aof_last_write_status'), 'err');
  await unlink(filler);
  await p.save();
  assert.equal(p.writeBlockedReason(), null, 'the snapshot covers the generation that failed');
  write(store, p, ['SET', 'after', 'ok']);
  await p.flushForAck();
  assert.ok(await p.close({ save: false }));
});
