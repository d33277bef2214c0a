import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { writeFile, readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { spawnServer, ServerStartError, type RunningServer } from '../server/spawn.js';
import { encodeCommand } from '../protocol/encoder.js';
import { ReplyError } from '../protocol/errors.js';
import { RawClient } from './helpers/raw-client.js';
import { tempDir, mountSmallTmpfs } from './helpers/persistence.js';

// Persistence end to end: a real server child process, real sockets, real signals.

async function start(dir: string, args: string[] = []): Promise<RunningServer> {
  const server = await spawnServer({ dir, args: ['--snapshot-interval', '0', ...args] });
  after(() => server.stop());
  return server;
}

async function client(server: RunningServer): Promise<RawClient> {
  const c = await RawClient.connect(server.port);
  after(() => c.close());
  return c;
}

function infoField(info: unknown, name: string): string {
  assert.ok(Buffer.isBuffer(info));
  const m = new RegExp(`^${name}:(.*)\\r?$`, 'm').exec(info.toString('latin1'));
  assert.ok(m, `INFO has no ${name}`);
  return m[1]!.trim();
}

test('PUT, SIGTERM, restart on the same folder: the data is back, binary values intact', async () => {
  const dir = await tempDir();
  const first = await start(dir);
  const c = await client(first);
  const binary = Buffer.from([0, 255, 13, 10, 42, 36, 128]);
  c.send(Buffer.concat([
    encodeCommand(['PUT', 'greeting', 'hello']),
    encodeCommand(['SET', binary, binary]),
    encodeCommand(['SET', 'gone', 'soon']),
    encodeCommand(['DELETE', 'gone']),
  ]));
  assert.deepEqual(await c.read(4), ['OK', 'OK', 'OK', 1]);
  assert.deepEqual(await first.stop(), { code: 0, signal: null });
  assert.deepEqual(await readdir(dir), ['dump.kvsnap'], 'SIGTERM took the final snapshot');

  const second = await start(dir);
  const d = await client(second);
  d.send(Buffer.concat([encodeCommand(['GET', 'greeting']), encodeCommand(['GET', binary]), encodeCommand(['GET', 'gone']), encodeCommand(['DBSIZE'])]));
  assert.deepEqual(await d.read(4), [Buffer.from('hello'), binary, null, 2]);
  const lastSave = await d.command('LASTSAVE');
  assert.ok(typeof lastSave === 'number' && Math.abs(lastSave - Date.now() / 1000) < 60);
  const info = await d.command('INFO', 'persistence');
  assert.equal(infoField(info, 'loading_keys'), '2');
  assert.equal(infoField(info, 'rdb_last_bgsave_status'), 'ok');
  assert.equal(infoField(info, 'aof_enabled'), '0');
});

for (const fsync of ['always', 'everysec', 'no'] as const) {
  test(`kill -9 with appendfsync ${fsync} under concurrent writes on several connections loses no acknowledged write`, async () => {
    const dir = await tempDir();
    const server = await start(dir, ['--appendonly', 'yes', '--appendfsync', fsync]);
    const connections = 6;
    const pipelineDepth = 8;
    const acknowledged = new Map<string, string>();
    let ackedCount = 0;
    let bgsaveSent = false;
    const control = await client(server);
    let killed = false;
    const killWhen = 4000;
    const writers = await Promise.all(Array.from({ length: connections }, () => client(server)));
    const runs = writers.map(async (w, id) => {
      for (let round = 0; ; round++) {
        const keys = Array.from({ length: pipelineDepth }, (_, j) => `c${id}:r${round}:${j}`);
        w.send(Buffer.concat(keys.map((k) => encodeCommand(['SET', k, `value of ${k}`]))));
        let replies;
        try {
          replies = await w.read(pipelineDepth, 20_000);
        } catch (err) {
          // The server died with this pipeline in flight: none of it counts as acknowledged.
          assert.ok(killed, `connection ${id} failed before the kill: ${String(err)}`);
          return;
        }
        keys.forEach((k, j) => {
          assert.equal(replies[j], 'OK', k);
          acknowledged.set(k, `value of ${k}`);
        });
        ackedCount += pipelineDepth;
        if (!bgsaveSent && ackedCount >= killWhen / 3) {
          // A snapshot in the middle: the log rotates to a new generation under load.
          bgsaveSent = true;
          control.send(encodeCommand(['BGSAVE']));
        }
        if (!killed && ackedCount >= killWhen) {
          killed = true;
          server.kill('SIGKILL');
        }
      }
    });
    await Promise.all(runs);
    assert.deepEqual(await server.exited, { code: null, signal: 'SIGKILL' });

    const restarted = await start(dir, ['--appendonly', 'yes', '--appendfsync', fsync]);
    const r = await client(restarted);
    const keys = [...acknowledged.keys()];
    for (let i = 0; i < keys.length; i += 500) {
      const chunk = keys.slice(i, i + 500);
      const [values] = await (async () => {
        r.send(encodeCommand(['MGET', ...chunk]));
        return r.read(1);
      })();
      assert.ok(Array.isArray(values));
      chunk.forEach((k, j) => assert.deepEqual(values[j], Buffer.from(acknowledged.get(k)!), `acknowledged ${k} was lost`));
    }
    assert.ok(keys.length >= killWhen);
  });
}

test('a corrupt snapshot makes the server exit non-zero, naming the file in stderr', async () => {
  const dir = await tempDir();
  const first = await start(dir);
  const c = await client(first);
  assert.equal(await c.command('SET', 'k', 'v'), 'OK');
  assert.equal(await c.command('SAVE'), 'OK');
  await first.stop();
  await writeFile(join(dir, 'dump.kvsnap'), 'KVRSNAP\nthis is not a snapshot');
  await assert.rejects(spawnServer({ dir, args: ['--snapshot-interval', '0'] }), (err: unknown) => {
    assert.ok(err instanceof ServerStartError);
    assert.match(err.message, /exited before it was ready \(code 1/);
    assert.match(err.stderr, new RegExp(`snapshot ${join(dir, 'dump.kvsnap')} is corrupt: .*--discard-corrupt`));
    return true;
  });
  // --discard-corrupt starts empty and keeps the damaged file for inspection.
  const recovered = await start(dir, ['--discard-corrupt']);
  const d = await client(recovered);
  assert.equal(await d.command('DBSIZE'), 0);
  assert.ok((await readdir(dir)).some((n) => n.startsWith('dump.kvsnap.corrupt-')));
});

test('an unusable --dir stops start-up before listening, naming the folder', async () => {
  const dir = await tempDir();
  const file = join(dir, 'not-a-folder');
  await writeFile(file, 'x');
  await assert.rejects(spawnServer({ dir: file }), (err: unknown) => {
    assert.ok(err instanceof ServerStartError);
    assert.match(err.message, /code 1/);
    assert.match(err.stderr, new RegExp(`data folder ${file} is not usable`));
    return true;
  });
});

const tmpfs = mountSmallTmpfs(1024 * 1024);

test('disk full with appendfsync always: the write gets an error, never OK, then -MISCONF; reads keep working',
  { skip: 'skip' in tmpfs ? tmpfs.skip : false },
  async () => {
    assert.ok('dir' in tmpfs);
    const server = await start(join(tmpfs.dir, 'data'), ['--appendonly', 'yes', '--appendfsync', 'always']);
    const c = await client(server);
    assert.equal(await c.command('SET', 'small', 'value'), 'OK');
    const big = 'z'.repeat(50_000);
    let failed: unknown = null;
    let i = 0;
    for (; i < 100 && failed === null; i++) {
      const reply = await c.command('SET', `big${i}`, big);
      if (reply !== 'OK') failed = reply;
    }
    assert.ok(failed instanceof ReplyError, `expected an error reply once the disk is full, got ${String(failed)}`);
    assert.match(failed.message, /not acknowledged.*ENOSPC/);
    const refused = await c.command('SET', 'another', 'write');
    assert.ok(refused instanceof ReplyError);
    assert.match(refused.message, /^MISCONF .*ENOSPC/);
    assert.deepEqual(await c.command('GET', 'small'), Buffer.from('value'));
    const info = await c.command('INFO', 'persistence');
    assert.equal(infoField(info, 'aof_last_write_status'), 'err');
    await server.stop();
  });
