import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, readFile, writeFile, unlink, readdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { Store } from '../server/store.js';
import { AppendLog, type AppendFsync } from '../server/persistence/aof.js';
import type { LogAckWaiter } from '../server/persistence/ack-queue.js';
import { LOG_FILE_HEADER, LOG_FILE_HEADER_BYTES, LOG_BLOCK_HEADER_BYTES, BLOCK_TARGET_PAYLOAD_BYTES } from '../server/persistence/log-format.js';
import { replayLog } from '../server/persistence/aof-replay.js';
import { applyLogRecord, canonicalRecordBytes } from '../server/persistence/log-records.js';
import { PersistenceError } from '../server/persistence/errors.js';
import { encodeCommand } from '../protocol/encoder.js';
import { captureLog, tempDir, mountSmallTmpfs, seededRandom, binaryString, logFile } from './helpers/persistence.js';

async function newLog(dir: string, fsync: AppendFsync, generation = 1): Promise<AppendLog> {
  const log = new AppendLog({ dir, generation, fsync, log: captureLog().log, retryDelayMs: 60_000 });
  await log.open();
  return log;
}

async function replayInto(path: string): Promise<{ store: Store; result: NonNullable<Awaited<ReturnType<typeof replayLog>>> }> {
  const store = new Store();
  const result = await replayLog(path, (args, argc) => applyLogRecord(store, args, argc));
  assert.ok(result !== null, `${path} should exist`);
  return { store, result };
}

test('logged commands are written in log format 2 (a checksummed header, then checksummed blocks of RESP commands) and replay to the same state, binary-safe', async () => {
  const dir = await tempDir();
  const log = await newLog(dir, 'no');
  const random = seededRandom(5);
  const model = new Store();
  for (let i = 0; i < 3000; i++) {
    const key = binaryString(random, 1 + (i % 9));
    let args: string[];
    if (i % 10 === 9) args = ['DEL', key, 'other'];
    else if (i === 1500) args = ['FLUSHALL'];
    else args = [i % 3 === 0 ? 'set' : 'SET', key, binaryString(random, i % 200)];
    assert.equal(applyLogRecord(model, args, args.length), null);
    log.append(args, args.length);
  }
  assert.ok(await log.close());
  const path = join(dir, 'appendonly.1.aof');
  const bytes = await readFile(path);
  assert.ok(bytes.subarray(0, LOG_FILE_HEADER_BYTES).equals(LOG_FILE_HEADER));
  assert.equal(bytes.latin1Slice(LOG_FILE_HEADER_BYTES + LOG_BLOCK_HEADER_BYTES, LOG_FILE_HEADER_BYTES + LOG_BLOCK_HEADER_BYTES + 4), '*3\r\n', 'block payloads are plain RESP');
  const { store, result } = await replayInto(path);
  assert.equal(result.formatVersion, 2);
  assert.equal(result.records, 3000);
  assert.equal(result.tornTail, null);
  assert.equal(result.damage, null);
  assert.deepEqual(new Map(store.entries()), new Map(model.entries()));
});

test('canonicalRecordBytes matches the encoder byte for byte', () => {
  for (const args of [['SET', 'k', 'v'], ['DEL', ''], ['MSET', 'a'.repeat(10), 'b'.repeat(100), 'c', 'd'.repeat(12345)]]) {
    assert.equal(canonicalRecordBytes(args, args.length), encodeCommand(args).length);
  }
});

test('version 1 logs (plain RESP, before checksums) still load: a torn last record is reported with its offset and nothing of it is applied', async () => {
  const dir = await tempDir();
  const path = join(dir, 'appendonly.1.aof');
  const whole = Buffer.concat([encodeCommand(['SET', 'a', '1']), encodeCommand(['SET', 'b', '2'])]);
  const torn = encodeCommand(['SET', 'c', 'a long value that was being written']);
  for (let cut = 1; cut < torn.length; cut++) {
    await writeFile(path, Buffer.concat([whole, torn.subarray(0, cut)]));
    const { store, result } = await replayInto(path);
    assert.equal(result.damage, null, `cut at ${cut}`);
    assert.deepEqual(result.tornTail, { offsetBytes: whole.length, droppedBytes: cut, zeroFilled: false });
    assert.equal(result.validBytes, whole.length);
    assert.equal(store.size, 2);
  }
});

test('version 1: a zero-filled tail (what a crash can leave) counts as torn, not as damage', async () => {
  const dir = await tempDir();
  const path = join(dir, 'appendonly.1.aof');
  const whole = encodeCommand(['SET', 'a', '1']);
  await writeFile(path, Buffer.concat([whole, Buffer.alloc(100_000)]));
  const { result } = await replayInto(path);
  assert.equal(result.damage, null);
  assert.deepEqual(result.tornTail, { offsetBytes: whole.length, droppedBytes: 100_000, zeroFilled: true });
});

test('version 1: garbage in the middle, inline commands and unknown commands are damage at the right offset', async () => {
  const dir = await tempDir();
  const path = join(dir, 'appendonly.1.aof');
  const first = encodeCommand(['SET', 'a', '1']);
  const after = encodeCommand(['SET', 'b', '2']);
  const cases: Array<[string, Buffer, RegExp]> = [
    ['random bytes', Buffer.from('\x07garbage\x00\xff'), /not a RESP/],
    ['an inline command', Buffer.from('SET x y\r\n'), /not a RESP array of bulk strings/],
    ['a blank line', Buffer.from('\r\n'), /not a RESP array of bulk strings/],
    ['a bad bulk length', Buffer.from('*3\r\n$3\r\nSET\r\n$x\r\n'), /invalid bulk length/],
    ['a non-write command', encodeCommand(['GET', 'a']), /unexpected command "GET"/],
    ['a SET with extra options', encodeCommand(['SET', 'a', '1', 'NX']), /SET record with 3 arguments/],
  ];
  for (const [name, junk, pattern] of cases) {
    await writeFile(path, Buffer.concat([first, junk, after]));
    const { store, result } = await replayInto(path);
    assert.ok(result.damage !== null, name);
    assert.equal(result.damage.offsetBytes, first.length, name);
    assert.match(result.damage.problem, pattern, name);
    assert.equal(store.get('a'), '1', `${name}: records before the damage are applied`);
    assert.equal(store.get('b'), undefined, `${name}: records after the damage are not`);
  }
  await writeFile(path, Buffer.concat([first, Buffer.from('trailing junk')]));
  const { result } = await replayInto(path);
  assert.match(result.damage?.problem ?? '', /not the start of a RESP command/);
});

test('appendfsync always: every batch of one event-loop turn shares one write and one fsync', async () => {
  const dir = await tempDir();
  const log = await newLog(dir, 'always');
  const before = { writes: log.stats.writes, fsyncs: log.stats.fsyncs };
  const acks: Array<Promise<void>> = [];
  for (let i = 0; i < 100; i++) {
    log.append(['SET', `k${i}`, 'v'], 3);
    const ack = log.flushForAck();
    assert.ok(ack !== null);
    acks.push(ack);
  }
  await Promise.all(acks);
  assert.equal(log.stats.writes - before.writes, 1);
  assert.equal(log.stats.fsyncs - before.fsyncs, 1);
  assert.equal(log.durableOffset, log.appendedBytes);
  assert.equal(log.flushForAck(), null, 'nothing pending: no wait');
  const { result } = await replayInto(join(dir, 'appendonly.1.aof'));
  assert.equal(result.records, 100);
  assert.ok(await log.close());
});

/** A batch of replies waiting for the log, as a connection is. */
class Batch implements LogAckWaiter {
  outcome: Error | null | undefined = undefined;
  logAcknowledged(error: Error | null): void {
    assert.equal(this.outcome, undefined, 'told once');
    this.outcome = error;
  }
}

const nextTurn = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

test('appendfsync always: fsyncs and acknowledgements keep coming while writes never pause', async () => {
  const dir = await tempDir();
  const log = await newLog(dir, 'always');
  let acked = 0;
  let turns = 0;
  // A new write every turn of the event loop, with no quiet moment for the log to catch up.
  while (log.stats.fsyncs < 5) {
    assert.ok(turns < 20_000, `only ${log.stats.fsyncs} fsyncs after ${turns} busy turns: fsync starved`);
    log.append(['SET', `k${turns}`, 'v'.repeat(1000)], 3);
    log.flushForAck()?.then(() => acked++, (err: unknown) => assert.fail(String(err)));
    turns++;
    await new Promise<void>((resolve) => setImmediate(resolve));
  }
  assert.ok(acked > 0);
  assert.ok(await log.close());
});

test('everysec and no: every batch of a turn is released after one write(2) of that turn, before any fsync, and the bytes are in the file', async () => {
  for (const fsync of ['everysec', 'no'] as const) {
    const dir = await tempDir();
    const log = await newLog(dir, fsync);
    const before = { writes: log.stats.writes, fsyncs: log.stats.fsyncs };
    const batches: Batch[] = [];
    for (let i = 0; i < 50; i++) {
      log.append(['SET', `k${i}`, 'v'], 3);
      const batch = new Batch();
      assert.equal(log.holdReplies(batch, true), 'this-turn', fsync);
      batches.push(batch);
    }
    assert.ok(batches.every((b) => b.outcome === undefined), `${fsync}: never released from within holdReplies`);
    await nextTurn();
    assert.ok(batches.every((b) => b.outcome === null), `${fsync}: released in the same turn`);
    assert.equal(log.stats.writes - before.writes, 1, fsync);
    assert.equal(log.stats.fsyncs - before.fsyncs, 0, `${fsync}: nothing waits for an fsync`);
    assert.equal(log.writtenOffset, log.appendedBytes);
    // In the kernel now: another reader of the file sees every record, whatever happens to this process.
    assert.equal((await replayInto(join(dir, 'appendonly.1.aof'))).result.records, 50, fsync);
    assert.ok(await log.close());
  }
});

test('everysec: one fsync per request, even while writes keep landing during it (they wait for the next request)', async () => {
  const dir = await tempDir();
  const log = await newLog(dir, 'everysec');
  const before = log.stats.fsyncs;
  log.append(['SET', 'k', 'v'], 3);
  await log.flushForAck();
  log.requestFsync();
  // A write every turn while that fsync runs, and 50 turns after it ended.
  let turnsAfter = 0;
  for (let i = 0; turnsAfter < 50; i++) {
    if (log.stats.fsyncs > before) turnsAfter++;
    log.append(['SET', `k${i}`, 'v'.repeat(100)], 3);
    await log.flushForAck();
  }
  // Let the pump go idle (retryNow runs it and resolves when it stops): had it kept fsyncing for
  // the writes that landed meanwhile, it would fsync once more now.
  await log.retryNow();
  assert.equal(log.stats.fsyncs - before, 1, 'the fsync covered what was written when it started; later writes wait for the next request');
  assert.ok(log.durableOffset > 0 && log.durableOffset < log.appendedBytes);
  assert.ok(await log.close());
  assert.equal(log.durableOffset, log.appendedBytes, 'closing fsyncs the rest');
});

test('everysec: a batch without writes waits while other batches\' writes are not yet written (a reply could show them), and not when nothing is pending', async () => {
  const dir = await tempDir();
  const log = await newLog(dir, 'everysec');
  assert.equal(log.mustHold(false), false);
  assert.equal(log.holdReplies(new Batch(), false), 'none', 'nothing pending: a read is answered at once');
  log.append(['SET', 'k', 'v'], 3);
  assert.equal(log.mustHold(false), true);
  const read = new Batch();
  assert.equal(log.holdReplies(read, false), 'this-turn');
  await nextTurn();
  assert.equal(read.outcome, null);
  assert.equal(log.mustHold(true), false);
  assert.ok(await log.close());
});

test('everysec: while the pump owns the file (a rotation), batches wait longer, in order, and their writes land in the new generation', async () => {
  const dir = await tempDir();
  const log = await newLog(dir, 'everysec');
  log.append(['SET', 'old', '1'], 3);
  log.rotate(2);
  log.append(['SET', 'new', '2'], 3);
  const batch = new Batch();
  assert.equal(log.holdReplies(batch, true), 'later');
  await log.flushForAck();
  assert.equal(batch.outcome, null);
  assert.equal((await replayInto(join(dir, 'appendonly.1.aof'))).result.records, 1);
  assert.equal((await replayInto(join(dir, 'appendonly.2.aof'))).result.records, 1);
  log.append(['SET', 'after', '3'], 3);
  assert.equal(log.holdReplies(new Batch(), true), 'this-turn', 'the direct write resumes once the pump lets go');
  assert.ok(await log.close());
});

test('one turn of huge writes is cut into blocks: a block is closed once its payload reaches 1 MiB, so it holds at most that plus one record', async () => {
  const dir = await tempDir();
  const log = await newLog(dir, 'no');
  const value = 'x'.repeat(300 * 1024);
  for (let i = 0; i < 10; i++) log.append(['SET', `k${i}`, value], 3);
  log.append(['SET', 'huge', 'y'.repeat(3 * BLOCK_TARGET_PAYLOAD_BYTES)], 3);
  assert.ok(await log.close());
  const bytes = await readFile(join(dir, 'appendonly.1.aof'));
  const payloads: number[] = [];
  for (let at = LOG_FILE_HEADER_BYTES; at < bytes.length; at += LOG_BLOCK_HEADER_BYTES + payloads[payloads.length - 1]!) payloads.push(bytes.readUInt32LE(at + 1));
  // 4 x 300 KiB reach 1 MiB, twice; then 2 x 300 KiB and the 3 MiB record.
  assert.equal(payloads.length, 3, `blocks of ${payloads.join(', ')} bytes`);
  assert.ok(payloads.slice(0, 2).every((p) => p >= BLOCK_TARGET_PAYLOAD_BYTES && p < BLOCK_TARGET_PAYLOAD_BYTES + 300 * 1024 + 100));
  assert.ok(payloads[2]! > 3 * BLOCK_TARGET_PAYLOAD_BYTES);
  const { store, result } = await replayInto(join(dir, 'appendonly.1.aof'));
  assert.equal(result.records, 11);
  assert.equal(store.get('huge')?.length, 3 * BLOCK_TARGET_PAYLOAD_BYTES);
});

test('a version 2 log written by hand (test helper) replays like one the writer made', async () => {
  const dir = await tempDir();
  const path = join(dir, 'appendonly.1.aof');
  await writeFile(path, logFile([[['SET', 'a', '1'], ['MSET', 'b', '2', 'c', '3']], [['DEL', 'a']]]));
  const { store, result } = await replayInto(path);
  assert.equal(result.records, 3);
  assert.deepEqual(new Map(store.entries()), new Map([['b', '2'], ['c', '3']]));
});

test('rotation finishes the old generation before the new one gets data, and dropBelow forgets it', async () => {
  const dir = await tempDir();
  const log = await newLog(dir, 'always');
  log.append(['SET', 'old', '1'], 3);
  log.rotate(2);
  log.append(['SET', 'new', '2'], 3);
  await log.flushForAck();
  assert.equal((await replayInto(join(dir, 'appendonly.1.aof'))).result.records, 1);
  assert.equal((await replayInto(join(dir, 'appendonly.2.aof'))).result.records, 1);
  log.rotate(3);
  await log.dropBelow(3);
  assert.ok(await log.close());
  assert.deepEqual((await readdir(dir)).sort(), ['appendonly.1.aof', 'appendonly.2.aof', 'appendonly.3.aof'], 'the log itself never deletes files');
  assert.ok((await readFile(join(dir, 'appendonly.3.aof'))).equals(LOG_FILE_HEADER), 'a new generation gets its file at once, holding only the header');
});

const SMALL_DISK_BYTES = 1024 * 1024;
const tmpfs = mountSmallTmpfs(SMALL_DISK_BYTES);

test('disk full with appendfsync always: acks reject, writes are blocked, and a retry after freeing space resumes with no torn record',
  { skip: 'skip' in tmpfs ? tmpfs.skip : false },
  async () => {
    assert.ok('dir' in tmpfs);
    const dir = tmpfs.dir;
    const filler = join(dir, 'filler.bin');
    await writeFile(filler, Buffer.alloc(SMALL_DISK_BYTES / 2));
    const captured = captureLog();
    const log = new AppendLog({ dir, generation: 1, fsync: 'always', log: captured.log, retryDelayMs: 60_000 });
    await log.open();
    const value = 'v'.repeat(20_000);
    let acked = 0;
    let appended = 0;
    let rejection: unknown = null;
    while (rejection === null && appended < 200) {
      log.append(['SET', `k${appended}`, value], 3);
      appended++;
      try {
        await log.flushForAck();
        acked++;
      } catch (err) {
        rejection = err;
      }
    }
    assert.ok(rejection instanceof PersistenceError, `the disk should have filled up (acked ${acked})`);
    assert.equal(rejection.code, 'KV_ERR_LOG_WRITE');
    assert.match(rejection.message, /ENOSPC/);
    const reason = log.blockedReason();
    assert.ok(reason !== null);
    assert.match(reason, /appendonly\.1\.aof: ENOSPC.*writes are refused/);
    assert.equal(log.stats.lastWriteStatus, 'err');
    const whileBlocked = log.flushForAck();
    assert.ok(whileBlocked !== null);
    await assert.rejects(whileBlocked, /ENOSPC/);
    assert.ok(captured.lines.some((l) => l.level === 50 && /append-only log write failed/.test(l.msg)));

    await unlink(filler);
    await log.retryNow();
    assert.equal(log.blockedReason(), null);
    assert.equal(log.stats.lastWriteStatus, 'ok');
    log.append(['SET', 'after', 'recovery'], 3);
    await log.flushForAck();
    assert.ok(await log.close());
    // Every appended record is in the file exactly once (the failed one was cut back and rewritten).
    const { store, result } = await replayInto(join(dir, 'appendonly.1.aof'));
    assert.equal(result.damage, null);
    assert.equal(result.tornTail, null);
    assert.equal(result.records, appended + 1);
    assert.equal(store.get('after'), 'recovery');
  });

test('disk full with appendfsync everysec: the turn\'s write fails, its batches get an error (never an acknowledgement), writes are blocked, and the retry writes each record once',
  { skip: 'skip' in tmpfs ? tmpfs.skip : false },
  async () => {
    assert.ok('dir' in tmpfs);
    // The small disk is shared with the test before: start it empty.
    for (const name of await readdir(tmpfs.dir)) await rm(join(tmpfs.dir, name), { recursive: true, force: true });
    const dir = join(tmpfs.dir, 'everysec');
    await mkdir(dir);
    const filler = join(tmpfs.dir, 'filler-everysec.bin');
    await writeFile(filler, Buffer.alloc(SMALL_DISK_BYTES / 2));
    const log = new AppendLog({ dir, generation: 1, fsync: 'everysec', log: captureLog().log, retryDelayMs: 60_000 });
    await log.open();
    const value = 'v'.repeat(20_000);
    let appended = 0;
    let failed: Batch | null = null;
    while (failed === null && appended < 200) {
      log.append(['SET', `k${appended}`, value], 3);
      appended++;
      const batch = new Batch();
      log.holdReplies(batch, true);
      await nextTurn();
      assert.notEqual(batch.outcome, undefined, 'every batch is answered in its turn');
      if (batch.outcome !== null) failed = batch;
    }
    assert.ok(failed !== null, 'the disk should have filled up');
    assert.ok(failed.outcome instanceof PersistenceError);
    assert.equal(failed.outcome.code, 'KV_ERR_LOG_WRITE');
    assert.match(failed.outcome.message, /appendonly\.1\.aof: ENOSPC/);
    assert.match(log.blockedReason() ?? '', /writes are refused/);
    assert.equal(log.mustHold(false), false, 'reads do not wait while the log cannot be written');

    await unlink(filler);
    await log.retryNow();
    assert.equal(log.blockedReason(), null);
    log.append(['SET', 'after', 'recovery'], 3);
    await log.flushForAck();
    assert.ok(await log.close());
    const { store, result } = await replayInto(join(dir, 'appendonly.1.aof'));
    assert.equal(result.damage, null);
    assert.equal(result.tornTail, null);
    assert.equal(result.records, appended + 1, 'the failed write was cut back and written again, once');
    assert.equal(store.get('after'), 'recovery');
  });
