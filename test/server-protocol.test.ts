import { test, after, before } from 'node:test';
import assert from 'node:assert/strict';
import { execFile, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { Redis } from 'ioredis';
import { spawnServer, type RunningServer } from '../server/spawn.js';
import { encodeCommand } from '../protocol/encoder.js';
import { ReplyError } from '../protocol/errors.js';
import { RawClient } from './helpers/raw-client.js';
import { hasCommand } from './helpers/system.js';

const run = promisify(execFile);
let server: RunningServer;

before(async () => {
  server = await spawnServer({ args: ['--snapshot-interval', '0'] });
});
after(async () => {
  await server.stop();
});

async function raw(): Promise<RawClient> {
  const c = await RawClient.connect(server.port);
  after(() => c.close());
  return c;
}

test('ioredis, a third-party client, works unchanged: GET/SET/DEL/EXISTS/PING/ECHO/DBSIZE/INFO', async () => {
  const redis = new Redis({ port: server.port, host: '127.0.0.1', lazyConnect: true, maxRetriesPerRequest: 0 });
  after(() => redis.disconnect());
  await redis.connect();
  assert.equal(await redis.set('io:key', 'value'), 'OK');
  assert.equal(await redis.get('io:key'), 'value');
  assert.equal(await redis.exists('io:key', 'io:missing'), 1);
  assert.equal(await redis.ping(), 'PONG');
  assert.equal(await redis.echo('hi'), 'hi');
  assert.ok((await redis.dbsize()) >= 1);
  const binary = Buffer.from([0, 1, 2, 13, 10, 255, 254]);
  await redis.set(Buffer.from([0xff, 0x00]), binary);
  assert.deepEqual(await redis.getBuffer(Buffer.from([0xff, 0x00])), binary);
  assert.equal(await redis.set('utf8:ключ', 'значение ✓'), 'OK');
  assert.equal(await redis.get('utf8:ключ'), 'значение ✓');
  assert.equal(await redis.del('io:key', 'io:missing'), 1);
  assert.equal(await redis.get('io:key'), null);
  const info = await redis.info();
  assert.match(info, /# Server\r\n/);
  assert.match(info, /connected_clients:\d+/);
  assert.match(info, /total_commands_processed:\d+/);
  assert.match(info, /db0:keys=\d+/);
  assert.deepEqual(await redis.config('GET', 'appendonly'), ['appendonly', 'no']);
  assert.equal(await redis.client('SETNAME', 'tester'), 'OK');
  assert.equal(await redis.client('GETNAME'), 'tester');
  // Pipelined through ioredis' own pipeline.
  const results = await redis.pipeline().set('p1', 'a').get('p1').del('p1').get('p1').exec();
  assert.deepEqual(results?.map(([err, v]) => [err, v]), [[null, 'OK'], [null, 'a'], [null, 1], [null, null]]);
});

test('inline commands typed into nc work, with the original project\'s verbs PUT/GET/DELETE and quotes', async () => {
  const c = await raw();
  c.send('PUT key1 value1\r\nGET key1\r\nput "key 2" \'two words\'\nget "key 2"\r\nDELETE key1\r\nGET key1\r\n');
  const replies = await c.read(6);
  assert.deepEqual(replies, ['OK', Buffer.from('value1'), 'OK', Buffer.from('two words'), 1, null]);
});

test('a pipelined batch of 3,000 commands in one write gets every reply, in order', async () => {
  const c = await raw();
  const frames: Buffer[] = [];
  for (let i = 0; i < 1000; i++) {
    frames.push(encodeCommand(['SET', `pipe:${i}`, `v${i}`]), encodeCommand(['GET', `pipe:${i}`]), encodeCommand(['DEL', `pipe:${i}`]));
  }
  c.send(Buffer.concat(frames));
  const replies = await c.read(3000);
  for (let i = 0; i < 1000; i++) {
    assert.equal(replies[3 * i], 'OK');
    assert.deepEqual(replies[3 * i + 1], Buffer.from(`v${i}`));
    assert.equal(replies[3 * i + 2], 1);
  }
});

test('unknown commands and wrong arity get the errors Redis gives, and the connection stays open', async () => {
  const c = await raw();
  const unknown = await c.command('FOO', 'a', 'b');
  assert.ok(unknown instanceof ReplyError);
  assert.equal(unknown.message, "ERR unknown command 'FOO', with args beginning with: 'a' 'b'");
  const arity = await c.command('GET');
  assert.ok(arity instanceof ReplyError);
  assert.equal(arity.message, "ERR wrong number of arguments for 'get' command");
  const arity2 = await c.command('SET', 'only-key');
  assert.equal((arity2 as ReplyError).message, "ERR wrong number of arguments for 'set' command");
  assert.equal(await c.command('PING'), 'PONG');
});

test('malformed frames get "-ERR Protocol error: ..." and close only that connection', async () => {
  const cases: Array<[string, string]> = [
    ['*1\r\n$4294967296\r\n', 'ERR Protocol error: invalid bulk length'],
    ['*3000000000\r\n', 'ERR Protocol error: invalid multibulk length'],
    ['*1\r\n+PING\r\n', "ERR Protocol error: expected '$', got '+'"],
    ['*2\r\n$3\r\nGET\r\n$1\r\nab\r\n', 'ERR Protocol error: bulk string not terminated by CRLF'],
    ['SET "unbalanced\r\n', 'ERR Protocol error: unbalanced quotes in request'],
  ];
  const bystander = await raw();
  for (const [bytes, message] of cases) {
    const c = await raw();
    c.send(bytes);
    const [reply] = await c.read(1);
    assert.ok(reply instanceof ReplyError, `reply to ${JSON.stringify(bytes)}`);
    assert.equal(reply.message, message);
    await c.closedPromise;
  }
  assert.equal(await bystander.command('PING'), 'PONG');
});

test('SET options NX/XX/GET work and expiry options are refused clearly', async () => {
  const c = await raw();
  assert.equal(await c.command('SET', 'opt', 'a', 'NX'), 'OK');
  assert.equal(await c.command('SET', 'opt', 'b', 'NX'), null);
  assert.deepEqual(await c.command('SET', 'opt', 'c', 'XX', 'GET'), Buffer.from('a'));
  assert.equal(await c.command('SET', 'nope', 'c', 'XX'), null);
  const ex = await c.command('SET', 'opt', 'x', 'EX', '10');
  assert.ok(ex instanceof ReplyError);
  assert.match(ex.message, /no expiry/);
});

test('COMMAND, HELLO 2, SELECT 0 and CONFIG GET answer as the Redis tools expect', async () => {
  const c = await raw();
  const count = await c.command('COMMAND', 'COUNT');
  assert.equal(typeof count, 'number');
  assert.deepEqual(await c.command('COMMAND', 'DOCS'), []);
  const hello = (await c.command('HELLO', '2')) as unknown[];
  assert.deepEqual(hello.slice(0, 2), [Buffer.from('server'), Buffer.from('redis')]);
  assert.ok((await c.command('HELLO', '3')) instanceof ReplyError);
  assert.equal(await c.command('SELECT', '0'), 'OK');
  assert.ok((await c.command('SELECT', '1')) instanceof ReplyError);
  assert.deepEqual(await c.command('CONFIG', 'GET', 'save'), [Buffer.from('save'), Buffer.from('')]);
});

test('redis-cli works unchanged', { skip: hasCommand('redis-cli') ? false : 'redis-cli not installed (apt-get install redis-tools)' }, async () => {
  const cli = (...args: string[]) => run('redis-cli', ['-p', String(server.port), ...args], { timeout: 10_000 });
  assert.equal((await cli('SET', 'cli:k', 'hello world')).stdout.trim(), 'OK');
  assert.equal((await cli('GET', 'cli:k')).stdout.trim(), 'hello world');
  assert.equal((await cli('DEL', 'cli:k')).stdout.trim(), '1');
  assert.match((await cli('INFO', 'keyspace')).stdout, /# Keyspace/);
});

test('redis-benchmark runs to the end against kvring', { skip: hasCommand('redis-benchmark') ? false : 'redis-benchmark not installed (apt-get install redis-tools)' }, async () => {
  const { stdout } = await run('redis-benchmark', ['-p', String(server.port), '-t', 'set,get', '-n', '2000', '-c', '5', '-P', '4', '-q', '--csv'], { timeout: 30_000 });
  assert.match(stdout, /"SET"/);
  assert.match(stdout, /"GET"/);
});

test('a server that cannot start prints one error line and nothing else: a port in use exits 1, a bad flag exits 2', async () => {
  const first = await spawnServer({ args: ['--snapshot-interval', '0'] });
  after(() => first.stop());
  const main = join(dirname(fileURLToPath(import.meta.url)), '..', 'server', 'main.js');
  const dir = mkdtempSync(join(tmpdir(), 'kvring-start-'));
  after(() => rmSync(dir, { recursive: true, force: true }));
  const busy = spawnSync(process.execPath, [main, '--port', String(first.port), '--dir', dir], { encoding: 'utf8', timeout: 20_000 });
  assert.equal(busy.status, 1);
  assert.equal(busy.stdout, '');
  assert.equal(busy.stderr, `kvring server: KV_ERR_SERVER_LISTEN: port ${first.port} on 127.0.0.1 is already in use: stop the other process, or pick another with --port (0 = any free port)\n`);
  const bad = spawnSync(process.execPath, [main, '--max-clients', 'many'], { encoding: 'utf8', timeout: 20_000 });
  assert.equal(bad.status, 2);
  assert.equal(bad.stderr, 'kvring server: KV_ERR_SERVER_USAGE: --max-clients must be a number, got "many" (see npm run server -- --help)\n');
});
