import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { connect, type Socket } from 'node:net';
import { once } from 'node:events';
import { spawnServer } from '../server/spawn.js';
import { encodeCommand } from '../protocol/encoder.js';
import { ReplyError } from '../protocol/errors.js';
import { RawClient } from './helpers/raw-client.js';

test('500 concurrent connections doing pipelined PUT/GET/DELETE: every reply correct and in order', async () => {
  const server = await spawnServer({ args: ['--snapshot-interval', '0'] });
  after(() => server.stop());
  const connections = 500;
  const rounds = 20;
  const clients = await Promise.all(Array.from({ length: connections }, () => RawClient.connect(server.port)));
  after(() => clients.forEach((c) => c.close()));
  await Promise.all(
    clients.map(async (c, id) => {
      for (let round = 0; round < rounds; round++) {
        const key = `c${id}:r${round}`;
        const value = `value-${id}-${round}-${'x'.repeat(id % 50)}`;
        // One write carries the whole pipeline: SET, GET, DEL, GET.
        c.send(Buffer.concat([encodeCommand(['PUT', key, value]), encodeCommand(['GET', key]), encodeCommand(['DELETE', key]), encodeCommand(['GET', key])]));
        const replies = await c.read(4, 20_000);
        assert.deepEqual(replies, ['OK', Buffer.from(value), 1, null], `connection ${id} round ${round}`);
      }
    }),
  );
  const check = await RawClient.connect(server.port);
  after(() => check.close());
  assert.equal(await check.command('DBSIZE'), 0);
});

test('holds 10,000 idle connections and still answers', async () => {
  const server = await spawnServer({ args: ['--snapshot-interval', '0', '--max-clients', '10100'] });
  after(() => server.stop());
  const sockets: Socket[] = [];
  after(() => sockets.forEach((s) => s.destroy()));
  for (let batch = 0; batch < 20; batch++) {
    const opened = Array.from({ length: 500 }, () => {
      const s = connect({ port: server.port, host: '127.0.0.1' });
      s.on('error', () => s.destroy());
      sockets.push(s);
      return once(s, 'connect');
    });
    await Promise.all(opened);
  }
  const probe = await RawClient.connect(server.port);
  after(() => probe.close());
  assert.equal(await probe.command('PING'), 'PONG');
  const info = (await probe.command('INFO', 'clients')) as Buffer;
  const connected = Number(/connected_clients:(\d+)/.exec(info.toString())![1]);
  assert.equal(connected, 10_001);
});

test('beyond --max-clients a connection gets an error and is closed, the others keep working', async () => {
  const server = await spawnServer({ args: ['--snapshot-interval', '0', '--max-clients', '3'] });
  after(() => server.stop());
  const kept = await Promise.all([1, 2, 3].map(() => RawClient.connect(server.port)));
  after(() => kept.forEach((c) => c.close()));
  assert.equal(await kept[0]!.command('PING'), 'PONG');
  const extra = await RawClient.connect(server.port);
  after(() => extra.close());
  const [reply] = await extra.read(1);
  assert.ok(reply instanceof ReplyError);
  assert.equal(reply.message, 'ERR max number of clients reached');
  await extra.closedPromise;
  assert.equal(await kept[2]!.command('PING'), 'PONG');
});

test('--requirepass makes AUTH mandatory', async () => {
  const server = await spawnServer({ args: ['--snapshot-interval', '0', '--requirepass', 's3cret'] });
  after(() => server.stop());
  const c = await RawClient.connect(server.port);
  after(() => c.close());
  const refused = await c.command('GET', 'k');
  assert.ok(refused instanceof ReplyError);
  assert.equal(refused.message, 'NOAUTH Authentication required.');
  assert.match(((await c.command('AUTH', 'wrong')) as ReplyError).message, /^WRONGPASS/);
  assert.equal(await c.command('AUTH', 's3cret'), 'OK');
  assert.equal(await c.command('GET', 'k'), null);
});

test('END (SHUTDOWN) answers OK and the server exits 0', async () => {
  const server = await spawnServer({ args: ['--snapshot-interval', '0'] });
  after(() => server.stop());
  const c = await RawClient.connect(server.port);
  after(() => c.close());
  c.send('END\r\n');
  const [reply] = await c.read(1);
  assert.equal(reply, 'OK');
  assert.deepEqual(await server.exited, { code: 0, signal: null });
});
