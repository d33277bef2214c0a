import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawnServer, type RunningServer } from '../server/spawn.js';
import { KvCluster } from '../client/cluster.js';
import { UhashringRing } from '../client/uhashring-ring.js';
import { unusedPort } from './helpers/ports.js';

// KvCluster against three real kvring servers: routing, a server SIGKILLed mid-run (failover,
// nothing hangs, node-down), the same server restarted on its port (node-up, its keys return).

const NO_SNAPSHOTS = ['--snapshot-interval', '0'];


/**
 * Starts `count` servers, each with its own data folder. `all` collects every server the test
 * starts (restarts too), so one cleanup stops them all before their folders are removed.
 */
async function startServers(count: number): Promise<{ servers: RunningServer[]; dirs: string[]; all: RunningServer[] }> {
  const dirs: string[] = [];
  const all: RunningServer[] = [];
  after(async () => {
    await Promise.all(all.map((s) => s.stop()));
    await Promise.all(dirs.map((d) => rm(d, { recursive: true, force: true })));
  });
  for (let i = 0; i < count; i++) dirs.push(await mkdtemp(join(tmpdir(), 'kvring-cluster-')));
  const servers = await Promise.all(
    dirs.map(async (dir) => {
      const server = await spawnServer({ dir, args: NO_SNAPSHOTS });
      all.push(server);
      return server;
    }),
  );
  return { servers, dirs, all };
}

test('keys spread over every server, each stored on the server the ring names', { timeout: 30_000 }, async () => {
  const { servers } = await startServers(3);
  const cluster = new KvCluster(servers.map((s) => s.address));
  after(() => cluster.destroy());
  const keys = Array.from({ length: 600 }, (_, i) => `key:${i}`);
  await Promise.all(keys.map((k) => cluster.put(k, `value-of-${k}`)));
  for (const s of servers) {
    const expected = keys.filter((k) => cluster.ownerOf(k) === s.address).length;
    assert.ok(expected > 100, `${s.address} owns only ${expected} of 600 keys`);
    assert.equal(await cluster.dbsize(s.address), expected, `${s.address} holds other keys than the ring assigns it`);
  }
  const values = await Promise.all(keys.map((k) => cluster.getString(k)));
  values.forEach((v, i) => assert.equal(v, `value-of-key:${i}`));
  const answered = await cluster.getWithServer('key:1');
  assert.equal(answered.server, cluster.ownerOf('key:1'));
  assert.equal(await cluster.delete('key:1'), true);
  assert.equal(await cluster.delete('key:1'), false);
  assert.equal(await cluster.get('key:1'), null);
  const binary = Buffer.from([0, 255, 13, 10, 36]);
  await cluster.put(binary, binary);
  assert.deepEqual(await cluster.get(binary), binary);
  for (const s of cluster.stats()) {
    assert.equal(s.up, true);
    assert.equal(s.timeouts + s.connectionErrors + s.replyErrors, 0);
  }
});

test('a server SIGKILLed mid-run: node-down fires, requests fail over, none fails or hangs; restarted, it rejoins and takes its keys back', { timeout: 60_000 }, async () => {
  const { servers, dirs, all } = await startServers(3);
  const cluster = new KvCluster(
    servers.map((s) => s.address),
    { requestTimeoutMs: 2000, probeIntervalMs: 50, probeMaxIntervalMs: 200 },
  );
  after(() => cluster.destroy());
  const victim = servers[1]!;
  const keys = Array.from({ length: 300 }, (_, i) => `k${i}`);
  const victimKeys = keys.filter((k) => cluster.ownerOf(k) === victim.address);
  assert.ok(victimKeys.length > 50);
  await Promise.all(keys.map((k) => cluster.put(k, 'v0')));

  // Load: 8 loops, each PUT then GET of its own keys, counting what goes wrong.
  let stop = false;
  let rejected = 0;
  let firstRejection = '';
  let mismatches = 0;
  let completedAfterDown = 0;
  let down = false;
  let resolveEnough: () => void = () => {};
  const enough = new Promise<void>((resolve) => (resolveEnough = resolve));
  const loops = Array.from({ length: 8 }, async (_, worker) => {
    for (let i = 0; !stop; i++) {
      const key = keys[(worker + i * 8) % keys.length]!;
      const value = `w${worker}-${i}`;
      const putWhileDown = down;
      try {
        await cluster.put(key, value);
        const got = await cluster.getString(key);
        // A PUT answered by the victim just before it died is lost with it; only pairs that
        // started after node-down must read their own write.
        if (putWhileDown && got !== value) mismatches++;
      } catch (err) {
        if (rejected++ === 0) firstRejection = (err as Error).message;
      }
      if (putWhileDown && ++completedAfterDown === 400) resolveEnough();
    }
  });

  const nodeDown = once(cluster, 'node-down');
  victim.kill('SIGKILL');
  const [downServer, downError] = (await nodeDown) as [string, Error & { code: string }];
  down = true;
  assert.equal(downServer, victim.address);
  assert.match(downError.code, /^KV_ERR_(CONNECTION|TIMEOUT)$/);
  await enough;
  stop = true;
  await Promise.all(loops);
  assert.equal(rejected, 0, `requests failed during failover, first: ${firstRejection}`);
  assert.equal(mismatches, 0);
  await victim.exited;

  // While it is down its keys live on the others, and reads and writes of them work.
  for (const k of victimKeys.slice(0, 20)) {
    const { server } = await cluster.putWithServer(k, 'while-down');
    assert.notEqual(server, victim.address);
    assert.equal(await cluster.getString(k), 'while-down');
  }
  const victimStats = cluster.stats().find((s) => s.server === victim.address)!;
  assert.equal(victimStats.up, false);
  assert.equal(victimStats.downs, 1);
  assert.ok(victimStats.connectionErrors + victimStats.timeouts >= 1);

  // Restarted on the same port: a probe finds it, and its keys route to it again.
  const nodeUp = once(cluster, 'node-up');
  const restarted = await spawnServer({ dir: dirs[1]!, port: victim.port, args: NO_SNAPSHOTS });
  all.push(restarted);
  const [upServer] = (await nodeUp) as [string];
  assert.equal(upServer, victim.address);
  for (const k of victimKeys) assert.equal(cluster.serverFor(k), victim.address);
  const sizeBefore = await cluster.dbsize(victim.address);
  await Promise.all(victimKeys.map((k) => cluster.put(k, 'back')));
  assert.equal(await cluster.dbsize(victim.address), sizeBefore + victimKeys.length);
  const { value, server } = await cluster.getWithServer(victimKeys[0]!);
  assert.equal(server, victim.address);
  assert.deepEqual(value, Buffer.from('back'));
});

test('a hung server (SIGSTOP) is routed around after one request timeout', { timeout: 30_000 }, async () => {
  const { servers } = await startServers(2);
  const cluster = new KvCluster(servers.map((s) => s.address), { requestTimeoutMs: 300, probeIntervalMs: 100, probeTimeoutMs: 100 });
  after(() => cluster.destroy());
  const hung = servers[0]!;
  const key = Array.from({ length: 100 }, (_, i) => `h${i}`).find((k) => cluster.ownerOf(k) === hung.address)!;
  await cluster.put(key, 'v');
  hung.kill('SIGSTOP');
  const nodeDown = once(cluster, 'node-down');
  // Times out on the hung owner, then is retried on the other server (which never had the key).
  const { value, server } = await cluster.getWithServer(key);
  assert.equal(value, null);
  assert.equal(server, servers[1]!.address);
  const [, error] = (await nodeDown) as [string, Error & { code: string }];
  assert.equal(error.code, 'KV_ERR_TIMEOUT');
  assert.equal(cluster.stats()[cluster.servers.indexOf(hung.address)]!.timeouts, 1);
  const nodeUp = once(cluster, 'node-up');
  hung.kill('SIGCONT');
  await nodeUp;
  assert.equal(await cluster.getString(key), 'v');
});

test('a custom router decides placement: with the legacy uhashring ring, keys land where the original Python project put them', { timeout: 30_000 }, async () => {
  const { servers } = await startServers(2);
  const uhashringRing = new UhashringRing(servers.map((s) => s.address));
  const cluster = new KvCluster(servers.map((s) => s.address), { router: (ids) => new UhashringRing(ids) });
  after(() => cluster.destroy());
  const keys = Array.from({ length: 200 }, (_, i) => `seed:${i}`);
  await Promise.all(keys.map((k) => cluster.put(k, 'v')));
  for (const s of servers) {
    const expected = keys.filter((k) => uhashringRing.nodes[uhashringRing.lookup(k)] === s.address).length;
    assert.equal(await cluster.dbsize(s.address), expected);
  }
});

test('no server reachable: the first request fails with the connection error, later ones at once with KV_ERR_NO_LIVE_SERVER', { timeout: 20_000 }, async () => {
  const ports = [await unusedPort()];
  while (ports.length < 2) {
    const port = await unusedPort();
    if (port !== ports[0]) ports.push(port);
  }
  const cluster = new KvCluster(ports.map((p) => `127.0.0.1:${p}`), { probeIntervalMs: 60_000 });
  after(() => cluster.destroy());
  const downs: string[] = [];
  cluster.on('node-down', (server) => downs.push(server));
  await assert.rejects(cluster.get('a'), { code: 'KV_ERR_CONNECTION', phase: 'connect' });
  assert.equal(downs.length, 2, 'the owner and the failover server are both marked down');
  await assert.rejects(cluster.put('a', 'b'), { code: 'KV_ERR_NO_LIVE_SERVER', message: /npm run cluster/ });
  await assert.rejects(cluster.connect(), { code: 'KV_ERR_NO_LIVE_SERVER' });
});

test('bad server names and options are refused with KV_ERR_SERVER_ADDRESS / KV_ERR_INVALID_OPTION', async () => {
  const cluster = new KvCluster(['127.0.0.1:7001']);
  after(() => cluster.destroy());
  await assert.rejects(cluster.ping('127.0.0.1:7999'), { code: 'KV_ERR_SERVER_ADDRESS', message: /not one of this cluster's servers \(127\.0\.0\.1:7001\)/ });
  assert.throws(() => new KvCluster([]), { code: 'KV_ERR_SERVER_ADDRESS' });
  assert.throws(() => new KvCluster(['nope']), { code: 'KV_ERR_SERVER_ADDRESS' });
  assert.throws(() => new KvCluster(['127.0.0.1:1'], { failoverRetries: -1 }), { code: 'KV_ERR_INVALID_OPTION', message: /failoverRetries/ });
});
