// Whatever happens to a run — Ctrl-C in the middle, a server that cannot start — no child process
// and no temporary folder survives it.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readFileSync, readdirSync, readlinkSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { RunResult } from '../bench/results.js';
import { childProcesses, processExists, runBenchCli, startBench } from './helpers/bench-process.js';

function scratch(): { root: string; tmp: string; out: string } {
  const root = mkdtempSync(join(tmpdir(), 'kvring-bench-cleanup-'));
  after(() => rmSync(root, { recursive: true, force: true }));
  const tmp = join(root, 'tmp');
  mkdirSync(tmp);
  return { root, tmp, out: join(root, 'reports') };
}

/** Processes anywhere on the machine whose command line mentions `text`. */
function processesMentioning(text: string): number[] {
  const found: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      if (readFileSync(`/proc/${entry}/cmdline`, 'utf8').includes(text)) found.push(Number(entry));
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT' && (err as NodeJS.ErrnoException).code !== 'ESRCH') throw err;
    }
  }
  return found;
}

test('SIGINT in the middle of a run stops every server, removes their folders and keeps partial results', async () => {
  const { tmp, out } = scratch();
  const bench = startBench(['--num_servers', '2', '--workloads', 'put', '--load_levels', '50,100', '--step_duration', '1', '--key_space', '100', '--out', out, '--no-charts'], { TMPDIR: tmp });
  after(() => bench.child.kill('SIGKILL'));
  await bench.waitForStderr(/^step 0:/);
  const servers = childProcesses(bench.child.pid!).filter((c) => c.cmdline.some((a) => a.endsWith('server/main.js')));
  assert.equal(servers.length, 2, 'two kvring servers run as children');
  const dirs = servers.map((s) => s.cmdline[s.cmdline.indexOf('--dir') + 1]!);
  for (const d of dirs) assert.ok(d.startsWith(tmp), `server folder ${d} is under TMPDIR`);
  bench.child.kill('SIGINT');
  const exit = await bench.exited;
  assert.equal(exit.code, 130, exit.stderr);
  assert.match(exit.stderr, /KV_ERR_BENCH_INTERRUPTED/);
  for (const s of servers) assert.equal(processExists(s.pid), false, `server ${s.pid} was stopped`);
  assert.deepEqual(readdirSync(tmp), [], 'no temporary folder is left');
  const result = JSON.parse(readFileSync(join(out, readlinkSync(join(out, 'latest-run')), 'results.json'), 'utf8')) as RunResult;
  assert.equal(result.interrupted, true);
  assert.ok(result.steps.length >= 1 && result.steps.length < 6, `${result.steps.length} steps finished before the interrupt`);
});

test('a server that cannot start fails the run with its own error output, leaving nothing behind', async () => {
  const { tmp, out } = scratch();
  const r = await runBenchCli(['--num_servers', '2', '--server_flags=--no-such-server-flag', '--out', out, '--quiet'], { TMPDIR: tmp });
  assert.equal(r.code, 1);
  assert.match(r.stderr, /KV_ERR_BENCH_TARGET_START: kvring server 1 of 2 did not start/);
  assert.match(r.stderr, /no-such-server-flag/, 'the server\'s own complaint is shown');
  assert.deepEqual(readdirSync(tmp), []);
  assert.deepEqual(processesMentioning(tmp), []);
});
