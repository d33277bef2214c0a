import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { execa } from 'execa';
import { spawnServer, type RunningServer } from '../server/spawn.js';
import { KvCluster } from '../client/cluster.js';
import { writeClusterFile } from '../client/servers-file.js';
import { unusedPort } from './helpers/ports.js';

// The command-line client end to end: `node dist/client/cli.js` as a child process against real
// kvring servers; output, --json, and every documented exit code.

const CLI = join(dirname(fileURLToPath(import.meta.url)), '..', 'client', 'cli.js');
const NO_SNAPSHOTS = ['--snapshot-interval', '0'];

interface CliResult {
  exitCode: number;
  stdout: string;
  stderr: string;
}

/** An empty working directory, so no stray .kvring/cluster.json is picked up. */
const workDir = await mkdtemp(join(tmpdir(), 'kvring-cli-'));
after(() => rm(workDir, { recursive: true, force: true }));

async function cli(args: string[], env: Record<string, string> = {}): Promise<CliResult> {
  const result = await execa(process.execPath, [CLI, ...args], {
    cwd: workDir,
    env: { KVRING_CLUSTER_FILE: '', ...env },
    reject: false,
    timeout: 20_000,
  });
  return { exitCode: result.exitCode ?? -1, stdout: String(result.stdout), stderr: String(result.stderr) };
}


async function startServers(count: number): Promise<RunningServer[]> {
  const servers: RunningServer[] = [];
  after(() => Promise.all(servers.map((s) => s.stop())));
  await Promise.all(Array.from({ length: count }, async () => servers.push(await spawnServer({ args: NO_SNAPSHOTS }))));
  return servers;
}

test('PUT, GET, DELETE: upper- or lower-case verbs, the answering server named, exit 1 when the key is missing', { timeout: 60_000 }, async () => {
  const servers = await startServers(2);
  const list = servers.map((s) => s.address).join(',');
  const owner = new KvCluster(servers.map((s) => s.address)).ownerOf('key1');

  const put = await cli(['PUT', 'key1', 'value 1', '--servers', list]);
  assert.equal(put.exitCode, 0, put.stderr);
  assert.equal(put.stdout, `OK (${owner})`);

  const get = await cli(['--servers', list, 'get', 'key1']);
  assert.equal(get.exitCode, 0, get.stderr);
  assert.equal(get.stdout, `value 1 (${owner})`);

  // Positional numbers stay text: "007" is not the number 7.
  assert.equal((await cli(['put', 'n', '007', '--servers', list])).exitCode, 0);
  assert.match((await cli(['get', 'n', '--servers', list])).stdout, /^007 \(/);

  const del = await cli(['DELETE', 'key1', '--servers', list]);
  assert.equal(del.exitCode, 0, del.stderr);
  assert.equal(del.stdout, `deleted (${owner})`);

  const delAgain = await cli(['del', 'key1', '--servers', list]);
  assert.equal(delAgain.exitCode, 1);
  assert.equal(delAgain.stdout, `(not found) (${owner})`);

  const missing = await cli(['GET', 'key1', '--servers', list]);
  assert.equal(missing.exitCode, 1);
  assert.equal(missing.stdout, `(not found) (${owner})`);
});

test('--json prints one object per run, for values, misses and errors', { timeout: 60_000 }, async () => {
  const servers = await startServers(1);
  const server = servers[0]!.address;
  assert.equal((await cli(['put', 'k', 'héllo', '--servers', server])).exitCode, 0);

  const hit = await cli(['get', 'k', '--json', '--servers', server]);
  assert.deepEqual(JSON.parse(hit.stdout), { ok: true, verb: 'get', key: 'k', server, owner: server, found: true, value: 'héllo', exitCode: 0 });

  const miss = await cli(['get', 'nope', '--json', '--servers', server]);
  assert.equal(miss.exitCode, 1);
  assert.deepEqual(JSON.parse(miss.stdout), { ok: true, verb: 'get', key: 'nope', server, owner: server, found: false, exitCode: 1 });

  const put = await cli(['put', 'k2', 'v', '--json', '--servers', server]);
  assert.deepEqual(JSON.parse(put.stdout), { ok: true, verb: 'put', key: 'k2', server, owner: server, exitCode: 0 });

  const dead = await cli(['get', 'k', '--json', '--servers', `127.0.0.1:${await unusedPort()}`]);
  assert.equal(dead.exitCode, 3);
  const parsed = JSON.parse(dead.stdout) as { ok: boolean; error: { code: string; message: string }; exitCode: number };
  assert.equal(parsed.ok, false);
  assert.equal(parsed.exitCode, 3);
  assert.equal(parsed.error.code, 'KV_ERR_NO_LIVE_SERVER');
  assert.match(parsed.error.message, /ECONNREFUSED/);

  const usage = await cli(['frobnicate', '--json']);
  assert.equal(usage.exitCode, 2);
  assert.equal((JSON.parse(usage.stdout) as { error: { code: string } }).error.code, 'KV_ERR_USAGE');
});

test('exit 2 for bad arguments, with a message saying what is wrong', { timeout: 60_000 }, async () => {
  const cases: [string[], RegExp][] = [
    [[], /give a verb/],
    [['frobnicate', 'x'], /unknown verb "frobnicate"; use put, get, delete, end or ping/],
    [['get', 'k', '--no-such-flag', '--servers', '127.0.0.1:7001'], /Unknown argument/],
    [['put', 'only-a-key', '--servers', '127.0.0.1:7001'], /Not enough non-option arguments/],
    [['get', 'k', '--servers', 'localhost'], /"localhost" is not a server address; write host:port/],
    [['get', 'k', '--timeout-ms', '0', '--servers', '127.0.0.1:7001'], /--timeout-ms must be a number > 0/],
    [['end', '--servers', '127.0.0.1:7001,127.0.0.1:7002'], /END addresses one server: name it with --server host:port .* or pass --all-servers/],
    [['end', '--server', '127.0.0.1:9', '--servers', '127.0.0.1:7001'], /--server 127\.0\.0\.1:9 is not one of the servers/],
  ];
  const results = await Promise.all(cases.map(([args]) => cli(args)));
  results.forEach((r, i) => {
    const [args, message] = cases[i]!;
    assert.equal(r.exitCode, 2, `${args.join(' ')}: ${r.stderr}`);
    assert.match(r.stderr, message, args.join(' '));
    assert.equal(r.stdout, '');
  });
});

test('exit 3 when the server is unreachable or no cluster is running, saying how to start one', { timeout: 60_000 }, async () => {
  const port = await unusedPort();
  const dead = await cli(['get', 'k', '--servers', `127.0.0.1:${port}`]);
  assert.equal(dead.exitCode, 3);
  assert.match(dead.stderr, new RegExp(`cannot connect to 127\\.0\\.0\\.1:${port} \\(connect ECONNREFUSED`));
  assert.match(dead.stderr, /KV_ERR_NO_LIVE_SERVER/);

  const none = await cli(['get', 'k']);
  assert.equal(none.exitCode, 3);
  assert.match(none.stderr, /no local cluster running/);
  assert.match(none.stderr, /npm run cluster -- --num_servers 3/);
});

test('servers come from the cluster file when --servers is absent; a stale file is reported', { timeout: 60_000 }, async () => {
  const servers = await startServers(2);
  const file = join(workDir, 'cluster-file-test.json');
  writeClusterFile(file, {
    servers: servers.map((s) => s.address),
    pids: servers.map((s) => s.pid),
    supervisorPid: process.pid,
    dataDir: workDir,
    startedAt: new Date().toISOString(),
  });
  const put = await cli(['put', 'a', 'b'], { KVRING_CLUSTER_FILE: file });
  assert.equal(put.exitCode, 0, put.stderr);
  assert.equal((await cli(['get', 'a'], { KVRING_CLUSTER_FILE: file })).stdout.split(' ')[0], 'b');

  // A file left behind by a cluster script that is gone (its pid no longer exists).
  const gone = execa(process.execPath, ['-e', '']);
  const { pid } = gone;
  await gone;
  writeClusterFile(file, { servers: ['127.0.0.1:7001'], pids: [], supervisorPid: pid!, dataDir: workDir, startedAt: '' });
  const stale = await cli(['get', 'a'], { KVRING_CLUSTER_FILE: file });
  assert.equal(stale.exitCode, 3);
  assert.match(stale.stderr, /is stale: its cluster script \(pid \d+\) is not running; delete the file/);
});

test('with one of two servers killed, GET and PUT still work and say who answered in its place', { timeout: 60_000 }, async () => {
  const servers = await startServers(2);
  const list = servers.map((s) => s.address).join(',');
  const cluster = new KvCluster(servers.map((s) => s.address));
  const victim = servers[0]!;
  const key = Array.from({ length: 100 }, (_, i) => `key${i}`).find((k) => cluster.ownerOf(k) === victim.address)!;
  victim.kill('SIGKILL');
  await victim.exited;

  const put = await cli(['put', key, 'v', '--servers', list]);
  assert.equal(put.exitCode, 0, put.stderr);
  assert.equal(put.stdout, `OK (${servers[1]!.address})`);
  assert.match(put.stderr, new RegExp(`note: ${victim.address} \\(the owner of "${key}"\\) is unreachable; ${servers[1]!.address} answered in its place`));
  const get = await cli(['get', key, '--servers', list]);
  assert.equal(get.stdout, `v (${servers[1]!.address})`);
  // A miss on the stand-in is not "missing": the owner may hold the key. Its own exit code says so.
  const other = Array.from({ length: 100 }, (_, i) => `other${i}`).find((k) => cluster.ownerOf(k) === victim.address)!;
  const miss = await cli(['get', other, '--servers', list]);
  assert.equal(miss.exitCode, 5, miss.stderr);
  assert.equal(miss.stdout, `(not found) (${servers[1]!.address})`);
  assert.match(miss.stderr, new RegExp(`note: ${victim.address} \\(the owner of "${other}"\\) is unreachable`));

  const end = await cli(['end', '--server', victim.address, '--servers', list]);
  assert.equal(end.exitCode, 3);
  assert.match(end.stderr, /KV_ERR_CONNECTION/);
});

test('END stops the one named server (final snapshot, exit 0); --all_servers stops them all', { timeout: 60_000 }, async () => {
  const servers = await startServers(3);
  const list = servers.map((s) => s.address).join(',');
  const one = await cli(['END', '--server', servers[0]!.address, '--servers', list]);
  assert.equal(one.exitCode, 0, one.stderr);
  assert.equal(one.stdout, `OK (${servers[0]!.address})`);
  assert.deepEqual(await servers[0]!.exited, { code: 0, signal: null });

  const rest = servers.slice(1).map((s) => s.address).join(',');
  const all = await cli(['end', '--all_servers', '--json', '--servers', rest]);
  assert.equal(all.exitCode, 0, all.stderr);
  const parsed = JSON.parse(all.stdout) as { servers: { server: string; ok: boolean }[] };
  assert.deepEqual(parsed.servers.map((s) => s.ok), [true, true]);
  for (const s of servers.slice(1)) assert.deepEqual(await s.exited, { code: 0, signal: null });
});
