import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { execa } from 'execa';
import { spawnServer, type RunningServer } from '../server/spawn.js';
import { KvCluster } from '../client/cluster.js';
import { unusedPort } from './helpers/ports.js';

// scripts/multithreaded-client.ts as a child process against real servers: its summary adds up,
// and it exits non-zero when requests fail.

const SCRIPT = join(dirname(fileURLToPath(import.meta.url)), '..', 'scripts', 'multithreaded-client.js');

interface Summary {
  servers: string[];
  threads: { threadIndex: number; ops: number; errors: number; mismatches: number; elapsedMs: number }[];
  total: { ops: number; errors: number; mismatches: number; wallMs: number; opsPerSec: number };
}


test('T threads PUT, GET and DELETE their own keys through the ring: every read matches, totals add up', { timeout: 60_000 }, async () => {
  const servers: RunningServer[] = [];
  after(() => Promise.all(servers.map((s) => s.stop())));
  await Promise.all([0, 1].map(async () => servers.push(await spawnServer({ args: ['--snapshot-interval', '0'] }))));
  const list = servers.map((s) => s.address).join(',');
  const r = await execa(process.execPath, [SCRIPT, '--num_threads', '3', '--num_keys', '50', '--pipeline', '4', '--servers', list, '--json'], { reject: false, timeout: 40_000 });
  assert.equal(r.exitCode, 0, String(r.stderr));
  const summary = JSON.parse(String(r.stdout)) as Summary;
  assert.equal(summary.threads.length, 3);
  for (const t of summary.threads) assert.deepEqual([t.ops, t.errors, t.mismatches], [150, 0, 0]);
  assert.equal(summary.total.ops, summary.threads.reduce((a, t) => a + t.ops, 0));
  assert.ok(summary.total.opsPerSec > 0 && summary.total.opsPerSec <= summary.total.ops / (Math.max(...summary.threads.map((t) => t.elapsedMs)) / 1000) + 1e-6);
  // Every thread deleted what it wrote.
  const cluster = new KvCluster(servers.map((s) => s.address));
  after(() => cluster.destroy());
  for (const s of servers) assert.equal(await cluster.dbsize(s.address), 0);
});

test('an unreachable server makes it report the errors and exit 1', { timeout: 60_000 }, async () => {
  const port = await unusedPort();
  const r = await execa(process.execPath, [SCRIPT, '--num_threads', '2', '--num_keys', '5', '--servers', `127.0.0.1:${port}`], { reject: false, timeout: 40_000 });
  assert.equal(r.exitCode, 1);
  assert.match(String(r.stdout), /^total\s+30\s+30\s+0\s/m);
  assert.match(String(r.stderr), /thread 0: PUT .*ECONNREFUSED/);
});
