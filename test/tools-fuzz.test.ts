import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { execa } from 'execa';
import { spawnServer, type RunningServer } from '../server/spawn.js';
import { externalTarget, spawnedTarget } from '../scripts/faults/target.js';
import { runCampaign, type FuzzOptions } from '../scripts/fuzz/campaign.js';
import { replayCase } from '../scripts/fuzz/replay.js';
import type { FuzzReport } from '../scripts/fuzz/report.js';
import { FaultToolError } from '../scripts/faults/errors.js';
import { oneShot } from '../protocol/one-shot.js';
import { keyPool } from '../scripts/fuzz/frames.js';

const FUZZ_JS = join(dirname(fileURLToPath(import.meta.url)), '..', 'scripts', 'fuzz.js');

async function tempDir(prefix: string): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), prefix));
  after(() => rm(dir, { recursive: true, force: true }));
  return dir;
}

function options(casesDir: string, overrides: Partial<FuzzOptions> = {}): FuzzOptions {
  return {
    seed: 1,
    seconds: 5,
    maxBursts: Infinity,
    connections: 16,
    maxFramesPerConnection: 16,
    maxFrameBytes: 16 * 1024,
    casesDir,
    checkTimeoutMs: 2000,
    connectTimeoutMs: 2000,
    lingerMs: 5000,
    maxCasesPerKind: 2,
    ...overrides,
  };
}

test('npm run fuzz for 5 s: frames sent over many connections, zero crashes, wedges, malformed replies or stuck connections; the report adds up', async (t) => {
  const casesDir = await tempDir('kvring-fuzz-test-');
  const jsonFile = join(casesDir, 'report.json');
  const run = await execa(process.execPath, [FUZZ_JS, '--seconds', '5', '--seed', '20240601', '--connections', '16', '--cases-dir', casesDir, '--json-out-file', jsonFile], {
    reject: false,
    timeout: 60_000,
  });
  // A finding prints its case folder; npm run fuzz -- --replay <folder> names the connection that did it.
  assert.equal(run.exitCode, 0, `the fuzzer found a problem:\n${run.stdout}\n${run.stderr}`);
  assert.match(run.stdout, /RESULT: PASS/);
  const report = JSON.parse(await readFile(jsonFile, 'utf8')) as FuzzReport;
  t.diagnostic(`${report.framesSent} frames, ${report.connectionsTried} connections, ${report.bursts} bursts, ${report.protocolErrors} protocol errors, RSS max ${((report.rss?.maxBytes ?? 0) / 1048576).toFixed(0)} MiB`);
  assert.equal(report.seed, 20240601);
  assert.equal(report.crashes + report.wedges + report.badReplies + report.lingeringConnections, 0);
  assert.ok(report.bursts > 0);
  assert.equal(report.connectionsTried, report.bursts * 16);
  assert.equal(report.health.checks, report.bursts);
  assert.equal(Object.values(report.framesByKind).reduce((s, n) => s + n, 0), report.framesSent);
  assert.ok(report.protocolErrors > 0 && report.protocolErrors <= report.replies);
  assert.deepEqual(await readdir(casesDir), ['report.json'], 'no case folder is written when nothing was found');
});

test('a server that stops answering is reported as a wedge, with a case folder that --replay can play back', async () => {
  const casesDir = await tempDir('kvring-fuzz-wedge-');
  const server: RunningServer = await spawnServer({ args: ['--snapshot-interval', '0'] });
  after(() => server.stop());
  // A real hang: the process is stopped, so the kernel still accepts connections nobody serves.
  const target = externalTarget(server.host, server.port);
  let stopped = false;
  after(() => {
    if (stopped) server.kill('SIGCONT');
  });
  const report = await runCampaign(target, options(casesDir, { maxBursts: 1, connections: 4, checkTimeoutMs: 500, lingerMs: 300 }), {
    beforeBurst: () => {
      server.kill('SIGSTOP');
      stopped = true;
    },
  });
  server.kill('SIGCONT');
  stopped = false;
  assert.equal(report.wedges, 1);
  assert.equal(report.crashes, 0);
  const wedge = report.findings.find((f) => f.kind === 'wedge')!;
  assert.match(wedge.detail, /did not answer/);
  assert.ok(wedge.caseDir !== null);
  const files = (await readdir(wedge.caseDir)).sort();
  assert.deepEqual(files, ['case.json', 'conn-00.bin', 'conn-01.bin', 'conn-02.bin', 'conn-03.bin', 'plan.json']);
  const caseInfo = JSON.parse(await readFile(join(wedge.caseDir, 'case.json'), 'utf8')) as { replay: string; seed: number; burst: number };
  assert.equal(caseInfo.replay, `npm run fuzz -- --replay ${wedge.caseDir}`);
  assert.equal(caseInfo.burst, 0);

  // On a healthy server the same bytes do no harm: the wedge came from the stop, not the input.
  const fresh = await spawnedTarget(['--snapshot-interval', '0']);
  after(() => fresh.close());
  const replay = await replayCase(wedge.caseDir, fresh, { checkTimeoutMs: 2000, connectTimeoutMs: 2000, lingerMs: 5000 });
  assert.deepEqual(replay, { reproduced: false, problem: null, culprits: [] });
});

test('an unreachable --server is a setup error (KV_ERR_FAULT_TARGET), not a finding', async () => {
  const casesDir = await tempDir('kvring-fuzz-unreachable-');
  const probe = await spawnServer({ args: ['--snapshot-interval', '0'] });
  const port = probe.port;
  await probe.stop();
  await assert.rejects(runCampaign(externalTarget('127.0.0.1', port), options(casesDir, { maxBursts: 1 })), (err: unknown) => err instanceof FaultToolError && err.code === 'KV_ERR_FAULT_TARGET' && /--server/.test(err.message));
});

test('what a fuzzed server wrote to its append-only log replays after SIGKILL: same DBSIZE, every key the fuzzer can name reads back the same', async (t) => {
  const casesDir = await tempDir('kvring-fuzz-aof-cases-');
  const dataDir = await tempDir('kvring-fuzz-aof-data-');
  const args = ['--appendonly', 'yes', '--appendfsync', 'always', '--snapshot-interval', '1', '--log-level', 'warn'];
  const server = await spawnServer({ dir: dataDir, args });
  after(() => server.stop());
  const report = await runCampaign(externalTarget(server.host, server.port), options(casesDir, { seconds: 3, connections: 8 }));
  assert.equal(report.crashes + report.wedges + report.badReplies, 0, JSON.stringify(report.findings));
  const keys = keyPool();
  const read = async (s: RunningServer): Promise<unknown[]> => oneShot(s.host, s.port, [['DBSIZE'], ...keys.map((k) => ['GET', k])], 20_000);
  const before = await read(server);
  server.kill('SIGKILL');
  await server.exited;
  const restarted = await spawnServer({ dir: dataDir, args });
  after(() => restarted.stop());
  const afterRestart = await read(restarted);
  t.diagnostic(`${report.framesSent} frames; ${String(before[0])} keys before the kill, ${String(afterRestart[0])} after the restart`);
  assert.ok((before[0] as number) > 0, 'the fuzzer wrote something');
  assert.deepEqual(afterRestart, before);
  await restarted.stop();
});
