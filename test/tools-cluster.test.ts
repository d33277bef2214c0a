import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { createServer, connect, type Server } from 'node:net';
import { existsSync, readdirSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { execa, type ResultPromise } from 'execa';
import { readClusterFile, isProcessAlive } from '../client/servers-file.js';

// scripts/cluster.ts end to end: real child processes, real ports, real signals.

const DIST = join(dirname(fileURLToPath(import.meta.url)), '..');
const CLUSTER_JS = join(DIST, 'scripts', 'cluster.js');
const CLI_JS = join(DIST, 'client', 'cli.js');

const workDir = await mkdtemp(join(tmpdir(), 'kvring-cluster-script-'));
after(() => rm(workDir, { recursive: true, force: true }));
const clusterFile = join(workDir, 'cluster.json');
const env = { KVRING_CLUSTER_FILE: clusterFile };

/** Listens on `port`; null if it is taken. */
function listen(port: number): Promise<Server | null> {
  return new Promise((resolve) => {
    const server = createServer();
    server.once('error', () => resolve(null));
    server.listen(port, '127.0.0.1', () => resolve(server));
  });
}

async function close(server: Server): Promise<void> {
  server.close();
  await once(server, 'close');
}

/**
 * Two free consecutive ports p, p+1, below Linux's ephemeral range (32768+): ports picked with
 * `listen(0)` by concurrently running tests are handed out near each other, so a pair found there
 * is soon taken again. If `keepSecond`, p+1 stays bound (returned as `held`, unref'd).
 */
async function consecutiveFreePorts(keepSecond = false): Promise<{ port: number; held: Server | null }> {
  for (let attempt = 0; attempt < 50; attempt++) {
    const port = 20_000 + Math.floor(Math.random() * 12_000);
    const first = await listen(port);
    if (first === null) continue;
    const second = await listen(port + 1);
    await close(first);
    if (second === null) continue;
    if (!keepSecond) {
      await close(second);
      return { port, held: null };
    }
    second.unref();
    return { port, held: second };
  }
  throw new Error('no two consecutive free ports found in 20000-32000');
}

function refused(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ port, host: '127.0.0.1' });
    socket.on('connect', () => {
      socket.destroy();
      resolve(false);
    });
    socket.on('error', () => resolve(true));
  });
}

/**
 * Starts the cluster script; resolves once it printed its ready line and the first status line
 * of each of its `serverCount` servers. Cleanup stops it the way a user would (SIGTERM: it stops
 * its servers), and as a safety net kills any server pid from its cluster file still alive.
 */
async function startCluster(args: string[], serverCount: number): Promise<{ child: ResultPromise; output: () => string }> {
  const child = execa(process.execPath, [CLUSTER_JS, ...args], { cwd: workDir, env, reject: false, timeout: 60_000, forceKillAfterDelay: 20_000 });
  let pids: number[] = [];
  after(async () => {
    child.kill('SIGTERM');
    await child;
    for (const pid of pids) if (isProcessAlive(pid)) process.kill(pid, 'SIGKILL');
  });
  let output = '';
  child.stderr?.on('data', (d: Buffer) => (output += d.toString()));
  const lines = createInterface({ input: child.stdout! });
  let statusLines = -1;
  const ready = new Promise<void>((resolve, reject) => {
    lines.on('line', (line) => {
      output += `${line}\n`;
      if (line.startsWith('cluster ready:')) statusLines = 0;
      else if (statusLines >= 0 && /^\s+127\.0\.0\.1:\d+\s+pid \d+/.test(line) && ++statusLines === serverCount) resolve();
    });
    void child.then((r) => reject(new Error(`cluster script exited before ready (code ${r.exitCode}):\n${output}`)));
  });
  await ready;
  pids = readClusterFile(clusterFile)?.pids ?? [];
  return { child, output: () => output };
}

function cli(args: string[]) {
  return execa(process.execPath, [CLI_JS, ...args], { cwd: workDir, env, reject: false, timeout: 20_000 });
}

test('two servers: the CLI finds them through the cluster file; SIGINT stops them all, leaving no process and no file; data survives a restart', { timeout: 90_000 }, async () => {
  const { port: basePort } = await consecutiveFreePorts();
  const dataDir = join(workDir, 'data');
  const args = ['--num_servers', '2', '--base_port', String(basePort), '--dir', dataDir, '--status-interval', '0'];
  const { child, output } = await startCluster(args, 2);

  const file = readClusterFile(clusterFile)!;
  assert.deepEqual(file.servers, [`127.0.0.1:${basePort}`, `127.0.0.1:${basePort + 1}`]);
  assert.equal(file.supervisorPid, child.pid);
  assert.ok(file.pids.every(isProcessAlive));
  assert.match(output(), new RegExp(`127\\.0\\.0\\.1:${basePort}\\s+pid ${file.pids[0]}\\s+up\\s+keys 0`));

  const put = await cli(['PUT', 'key1', 'value1']);
  assert.equal(put.exitCode, 0, String(put.stderr));
  const get = await cli(['GET', 'key1']);
  assert.match(String(get.stdout), /^value1 \(127\.0\.0\.1:\d+\)$/);

  // A second cluster on the same cluster file is refused while this one runs.
  const second = await execa(process.execPath, [CLUSTER_JS, ...args], { cwd: workDir, env, reject: false, timeout: 30_000 });
  assert.equal(second.exitCode, 1);
  assert.match(String(second.stderr), /a cluster is already running/);

  child.kill('SIGINT');
  const result = await child;
  assert.equal(result.exitCode, 0, output());
  for (const pid of file.pids) assert.equal(isProcessAlive(pid), false, `server pid ${pid} outlived the cluster`);
  assert.equal(existsSync(clusterFile), false, 'the cluster file should be removed');
  assert.ok(readdirSync(dataDir).includes(`server-${basePort}.log`));
  assert.equal((await cli(['get', 'key1'])).exitCode, 3, 'no cluster: unreachable');

  // Same ports, same folder: the final snapshots bring key1 back; END --all_servers ends the script too.
  const restarted = await startCluster(args, 2);
  const again = await cli(['get', 'key1']);
  assert.match(String(again.stdout), /^value1 /, String(again.stderr));
  const pids = readClusterFile(clusterFile)!.pids;
  const end = await cli(['END', '--all_servers']);
  assert.equal(end.exitCode, 0, String(end.stderr));
  const ended = await restarted.child;
  assert.equal(ended.exitCode, 0, restarted.output());
  for (const pid of pids) assert.equal(isProcessAlive(pid), false);
  assert.equal(existsSync(clusterFile), false);
});

/** Waits until `pid` no longer exists; there is no exit event for a process that is not our child. */
async function waitGone(pid: number, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (isProcessAlive(pid)) {
    if (Date.now() > deadline) return false;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  return true;
}

test('the cluster script killed with SIGKILL: its watchdog still stops the servers and removes the cluster file', { timeout: 60_000 }, async () => {
  const { port: basePort } = await consecutiveFreePorts();
  const { child } = await startCluster(['--num_servers', '2', '--base_port', String(basePort), '--dir', join(workDir, 'data-kill'), '--status-interval', '0'], 2);
  const pids = readClusterFile(clusterFile)!.pids;
  child.kill('SIGKILL');
  await child;
  for (const pid of pids) assert.equal(await waitGone(pid, 20_000), true, `server pid ${pid} was orphaned`);
  assert.equal(existsSync(clusterFile), false);
});

test('a server that cannot start (port taken): the others are stopped, exit 1 with its error', { timeout: 60_000 }, async () => {
  const { port: basePort, held: blocker } = await consecutiveFreePorts(true);
  after(() => close(blocker!));
  const r = await execa(
    process.execPath,
    [CLUSTER_JS, '--num_servers', '2', '--base_port', String(basePort), '--dir', join(workDir, 'data-fail'), '--status-interval', '0'],
    { cwd: workDir, env, reject: false, timeout: 30_000 },
  );
  assert.equal(r.exitCode, 1);
  assert.match(String(r.stderr), new RegExp(`kvring cluster: KV_ERR_CLUSTER_START: server on port ${basePort + 1} failed to start .*the others were stopped`));
  assert.match(String(r.stderr), /already in use/);
  assert.equal(await refused(basePort), true, 'the server that did start must have been stopped');
  assert.equal(existsSync(clusterFile), false);
});

test('bad flags are refused before anything starts', { timeout: 30_000 }, async () => {
  const r = await execa(process.execPath, [CLUSTER_JS, '--num-servers', '0'], { cwd: workDir, env, reject: false, timeout: 20_000 });
  assert.equal(r.exitCode, 2, 'a usage error exits 2, as in every tool');
  assert.equal(String(r.stderr).trim(), 'kvring cluster: KV_ERR_CLUSTER_USAGE: --num_servers must be a whole number from 1 to 100, got 0', 'one line');
});
