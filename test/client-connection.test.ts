import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawnServer } from '../server/spawn.js';
import { Connection } from '../client/connection.js';
import { ConnectionError } from '../client/errors.js';
import { unusedPort } from './helpers/ports.js';

// A connection against real kvring servers (child processes on 127.0.0.1, port 0), crashed,
// hung (SIGSTOP) and restarted for real.

const NO_SNAPSHOTS = ['--snapshot-interval', '0'];


test('requests issued in one tick leave in one socket write and resolve in order', { timeout: 20_000 }, async () => {
  const server = await spawnServer({ args: NO_SNAPSHOTS });
  after(() => server.stop());
  const c = new Connection(server.host, server.port);
  after(() => c.destroy());
  await c.connect();
  const writesBefore = c.writes;
  const count = 500;
  const sets = Array.from({ length: count }, (_, i) => c.send(['SET', `k${i}`, `v${i}`]));
  const gets = Array.from({ length: count }, (_, i) => c.send(['GET', `k${i}`]));
  assert.equal(c.pendingCount, 2 * count);
  const [setReplies, getReplies] = await Promise.all([Promise.all(sets), Promise.all(gets)]);
  assert.equal(c.writes - writesBefore, 1, 'all 1000 commands should leave in one write');
  assert.ok(setReplies.every((r) => r === 'OK'));
  getReplies.forEach((r, i) => assert.deepEqual(r, Buffer.from(`v${i}`), `reply ${i} matched to the wrong request`));
  assert.equal(c.pendingCount, 0);
});

test('a batch larger than flushBytes is written as it grows, and every reply still matches', { timeout: 20_000 }, async () => {
  const server = await spawnServer({ args: NO_SNAPSHOTS });
  after(() => server.stop());
  const c = new Connection(server.host, server.port, { flushBytes: 4096 });
  after(() => c.destroy());
  await c.connect();
  const writesBefore = c.writes;
  const value = 'x'.repeat(100);
  const replies = await Promise.all(Array.from({ length: 2000 }, (_, i) => c.send(['ECHO', `${i}:${value}`])));
  assert.ok(c.writes - writesBefore > 10, 'a 250 KB batch should not wait for the end of the tick');
  replies.forEach((r, i) => assert.deepEqual(r, Buffer.from(`${i}:${value}`)));
});

test('binary values round trip byte for byte: every byte value, CR LF inside, empty, 1 MiB', { timeout: 20_000 }, async () => {
  const server = await spawnServer({ args: NO_SNAPSHOTS });
  after(() => server.stop());
  const c = new Connection(server.host, server.port);
  after(() => c.destroy());
  const everyByte = Buffer.from(Array.from({ length: 256 }, (_, i) => i));
  const big = Buffer.alloc(1024 * 1024);
  for (let i = 0; i < big.length; i++) big[i] = (i * 7919) & 0xff;
  const cases: [string | Buffer, Buffer][] = [
    [everyByte, everyByte],
    [Buffer.from('a\r\nb\r\n$3\r\n*1\r\n'), Buffer.from('a\r\nb\r\n$3\r\n*1\r\n')],
    [Buffer.alloc(0), Buffer.alloc(0)],
    ['héllo wörld ☃ 𝄞', Buffer.from('héllo wörld ☃ 𝄞', 'utf8')],
    [big, big],
  ];
  for (const [i, [value, expected]] of cases.entries()) {
    const key = Buffer.from([0xff, 0x00, 0x0d, 0x0a, i]);
    assert.equal(await c.send(['SET', key, value]), 'OK');
    assert.deepEqual(await c.send(['GET', key]), expected, `case ${i}`);
  }
});

test('an error reply rejects only its own request with KV_ERR_REPLY; the connection keeps working', { timeout: 20_000 }, async () => {
  const server = await spawnServer({ args: NO_SNAPSHOTS });
  after(() => server.stop());
  const c = new Connection(server.host, server.port);
  after(() => c.destroy());
  const before = c.send(['SET', 'a', '1']);
  const bad = c.send(['NOSUCHCOMMAND', 'x']);
  const afterwards = c.send(['GET', 'a']);
  assert.equal(await before, 'OK');
  await assert.rejects(bad, { code: 'KV_ERR_REPLY', name: 'ReplyError' });
  assert.deepEqual(await afterwards, Buffer.from('1'));
  assert.equal(c.connects, 1);
});

test('no server listening: requests reject with KV_ERR_CONNECTION in the connect phase', { timeout: 20_000 }, async () => {
  const port = await unusedPort();
  const c = new Connection('127.0.0.1', port, { autoReconnect: false });
  after(() => c.destroy());
  const err = await c.send(['PING']).then(
    () => assert.fail('PING to a closed port resolved'),
    (e: unknown) => e,
  );
  assert.ok(err instanceof ConnectionError);
  assert.equal(err.code, 'KV_ERR_CONNECTION');
  assert.equal(err.phase, 'connect');
  assert.match(err.message, /ECONNREFUSED/);
  assert.match(err.message, /check the server is running/);
  assert.equal(c.state, 'idle');
});

test('a hung server: the late request rejects with KV_ERR_TIMEOUT, those behind it with KV_ERR_CONNECTION, then it reconnects', { timeout: 20_000 }, async () => {
  const server = await spawnServer({ args: NO_SNAPSHOTS });
  after(() => server.stop());
  const c = new Connection(server.host, server.port, { reconnectBaseDelayMs: 20 });
  after(() => c.destroy());
  await c.connect();
  server.kill('SIGSTOP');
  const disconnected = once(c, 'disconnect');
  const reconnected = once(c, 'connect');
  const late = c.send(['PING'], 200);
  const behind = c.send(['PING'], 10_000);
  await assert.rejects(late, { code: 'KV_ERR_TIMEOUT', timeoutMs: 200 });
  // Replies are matched by order, so a reply arriving now could be mistaken for the next one's:
  // the connection is dropped and everything still pending on it fails.
  await assert.rejects(behind, { code: 'KV_ERR_CONNECTION', phase: 'open' });
  await disconnected;
  server.kill('SIGCONT');
  await reconnected;
  assert.equal(await c.send(['PING']), 'PONG');
  assert.equal(c.connects, 2);
});

test('every pending request rejects when the server is killed; none hangs', { timeout: 20_000 }, async () => {
  const server = await spawnServer({ args: NO_SNAPSHOTS });
  after(() => server.stop());
  const c = new Connection(server.host, server.port, { requestTimeoutMs: 30_000, autoReconnect: false });
  after(() => c.destroy());
  await c.connect();
  // Stopped first, so the requests are certainly still pending when it dies.
  server.kill('SIGSTOP');
  const pending = Array.from({ length: 200 }, (_, i) => c.send(['SET', `k${i}`, 'v']));
  await new Promise<void>((resolve) => setImmediate(resolve)); // let the batch be written
  assert.equal(c.pendingCount, 200);
  server.kill('SIGKILL');
  const results = await Promise.allSettled(pending);
  for (const r of results) {
    assert.equal(r.status, 'rejected');
    assert.equal((r.reason as ConnectionError).code, 'KV_ERR_CONNECTION');
    assert.equal((r.reason as ConnectionError).phase, 'open');
  }
  assert.equal(c.pendingCount, 0);
});

test('reconnects by itself after the server restarts on the same port; fails fast while it is away', { timeout: 30_000 }, async () => {
  const dir = await mkdtemp(join(tmpdir(), 'kvring-client-'));
  after(() => rm(dir, { recursive: true, force: true }));
  const first = await spawnServer({ dir, args: NO_SNAPSHOTS });
  after(() => first.stop());
  const c = new Connection(first.host, first.port, { reconnectBaseDelayMs: 20, reconnectMaxDelayMs: 100 });
  after(() => c.destroy());
  assert.equal(await c.send(['SET', 'k', 'before']), 'OK');

  const disconnected = once(c, 'disconnect');
  await first.stop();
  const [error] = (await disconnected) as [ConnectionError];
  assert.equal(error.code, 'KV_ERR_CONNECTION');
  // While waiting to reconnect, a request is refused at once instead of queueing.
  await assert.rejects(c.send(['PING']), { code: 'KV_ERR_CONNECTION', phase: 'connect' });

  const reconnected = once(c, 'connect');
  const second = await spawnServer({ dir, port: first.port, args: NO_SNAPSHOTS });
  after(() => second.stop());
  await reconnected;
  assert.equal(await c.send(['SET', 'k', 'after']), 'OK');
  assert.deepEqual(await c.send(['GET', 'k']), Buffer.from('after'));
});

test('close() waits for pending replies; requests after it reject with KV_ERR_CLIENT_CLOSED', { timeout: 20_000 }, async () => {
  const server = await spawnServer({ args: NO_SNAPSHOTS });
  after(() => server.stop());
  const c = new Connection(server.host, server.port);
  const replies = Promise.all(Array.from({ length: 100 }, (_, i) => c.send(['ECHO', String(i)])));
  const closed = c.close();
  await assert.rejects(c.send(['PING']), { code: 'KV_ERR_CLIENT_CLOSED' });
  const got = await replies;
  await closed;
  assert.deepEqual(got.map(String), Array.from({ length: 100 }, (_, i) => String(i)));
  assert.equal(c.state, 'closed');
});

test('options out of range are refused with KV_ERR_INVALID_OPTION naming the option', async () => {
  const c = new Connection('127.0.0.1', 1, { autoReconnect: false });
  after(() => c.destroy());
  await assert.rejects(c.send(['PING'], Number.POSITIVE_INFINITY), { code: 'KV_ERR_INVALID_OPTION', message: /timeoutMs/ });
  assert.equal(c.pendingCount, 0);
  assert.throws(() => new Connection('127.0.0.1', 1, { requestTimeoutMs: 0 }), { code: 'KV_ERR_INVALID_OPTION', message: /requestTimeoutMs/ });
  assert.throws(() => new Connection('127.0.0.1', 1, { connectTimeoutMs: Number.NaN }), { code: 'KV_ERR_INVALID_OPTION', message: /connectTimeoutMs/ });
});
