import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { execa } from 'execa';
import { judgeRound, lossOf, policyOf, summarize, type RoundRecord } from '../scripts/durability/loss.js';
import { runDurability, type DurabilityOptions, type DurabilityRun } from '../scripts/durability/run.js';
import { durabilityKey, durabilityValue } from '../scripts/durability/keys.js';

const DURABILITY_JS = join(dirname(fileURLToPath(import.meta.url)), '..', 'scripts', 'durability.js');

function round(overrides: Partial<RoundRecord> = {}): RoundRecord {
  return {
    kill: 1,
    runMs: 1000,
    killAtMs: 1_700_000_010_000,
    sent: 100,
    acked: 90,
    errorReplies: 0,
    lostAckAtMs: [],
    wrongValues: 0,
    inFlight: 10,
    inFlightFound: 4,
    regressions: 0,
    restartMs: 300,
    keysAfterRestart: 94,
    snapshotStartedAtSec: 0,
    ...overrides,
  };
}

test('loss window: how long before the kill the oldest and newest lost writes were acknowledged', () => {
  const r = round({ lostAckAtMs: [1_700_000_009_200, 1_700_000_009_900, 1_700_000_010_003] });
  assert.deepEqual(lossOf(r), { lost: 3, lossWindowMs: 800, newestLostAgeMs: 0, lostBeforeSnapshot: 0 });
  assert.deepEqual(lossOf(round()), { lost: 0, lossWindowMs: 0, newestLostAgeMs: 0, lostBeforeSnapshot: 0 });
});

test('policies: a process kill loses no acknowledged write under always, everysec or no; snapshot-only only since the snapshot began', () => {
  const recent = round({ lostAckAtMs: [1_700_000_009_990] });
  for (const policy of ['always', 'everysec', 'no'] as const) {
    assert.deepEqual(judgeRound(policy, round()), [], policy);
    assert.match(judgeRound(policy, recent).join(), new RegExp(`1 acknowledged writes lost with appendfsync ${policy} on a process kill \\(acknowledged 10-10 ms before the kill\\)`), policy);
  }
  // The loaded snapshot began at ...008 s: a write acknowledged at ...007 s should be in it.
  assert.match(judgeRound('snapshot-only', round({ lostAckAtMs: [1_700_000_007_000], snapshotStartedAtSec: 1_700_000_008 })).join(), /1 lost writes were acknowledged before the snapshot/);
  assert.deepEqual(judgeRound('snapshot-only', round({ lostAckAtMs: [1_700_000_008_500], snapshotStartedAtSec: 1_700_000_008 })), []);
  assert.deepEqual(judgeRound('snapshot-only', round({ lostAckAtMs: [1_700_000_000_000], snapshotStartedAtSec: 0 })), [], 'no snapshot yet: everything may be lost');
  for (const policy of ['always', 'everysec', 'no', 'snapshot-only'] as const) {
    assert.match(judgeRound(policy, round({ wrongValues: 1 })).join(), /different value/);
    assert.match(judgeRound(policy, round({ regressions: 2 })).join(), /gone after this one/);
  }
  assert.equal(policyOf(true, 'everysec'), 'everysec');
  assert.equal(policyOf(false, 'always'), 'snapshot-only');
});

test('the summary adds up its rounds and counts a kill as survived only when every check held', () => {
  const rounds = [round({ kill: 1 }), round({ kill: 2, lostAckAtMs: [1_700_000_009_000], acked: 50 }), round({ kill: 3, restartMs: 900 })];
  const s = summarize('always', rounds, ['after a clean stop ...']);
  assert.equal(s.kills, 3);
  assert.equal(s.killsSurvived, 2);
  assert.equal(s.acked, 230);
  assert.equal(s.lost, 1);
  assert.equal(s.maxLossWindowMs, 1000);
  assert.equal(s.maxRestartMs, 900);
  assert.equal(s.inFlight, 30);
  assert.equal(s.inFlightFound, 12);
  assert.deepEqual(s.problems, ['after a clean stop ...', 'kill 2: 1 acknowledged writes lost with appendfsync always on a process kill (acknowledged 1000-1000 ms before the kill)']);
});

test('keys are unique per write and values are derived from them', () => {
  assert.equal(durabilityKey('t', 2, 3, 45), 'dur:t:2:3:45');
  assert.equal(durabilityValue('dur:t:2:3:45', 20), 'dur:t:2:3:45:vvvvvvv');
  assert.equal(durabilityValue('dur:t:2:3:45', 4), 'dur:t:2:3:45:');
});

function checkConsistent(run: DurabilityRun): void {
  let cumulativeAcked = 0;
  for (const r of run.rounds) {
    assert.ok(r.acked + r.errorReplies <= r.sent, `kill ${r.kill}: answered <= sent`);
    assert.equal(r.inFlight, r.sent - r.acked - r.errorReplies, `kill ${r.kill}: in flight = sent - answered`);
    assert.ok(r.inFlightFound <= r.inFlight);
    assert.ok(r.lostAckAtMs.length <= r.acked);
    assert.ok(r.lostAckAtMs.every((t) => t <= r.killAtMs + 1000), 'no acknowledgement long after the kill');
    cumulativeAcked += r.acked - r.lostAckAtMs.length;
    assert.ok(r.keysAfterRestart >= cumulativeAcked, `kill ${r.kill}: DBSIZE ${r.keysAfterRestart} holds every surviving acknowledged write (${cumulativeAcked})`);
  }
  assert.equal(run.summary.acked, run.rounds.reduce((s, r) => s + r.acked, 0));
}

test('npm run durability -- --appendfsync always --kills 3: no acknowledged write lost over 3 SIGKILLs; the report adds up', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'kvring-durability-test-'));
  after(() => rm(dir, { recursive: true, force: true }));
  const jsonFile = join(dir, 'run.json');
  const dataDir = join(dir, 'data');
  const cli = await execa(
    process.execPath,
    [DURABILITY_JS, '--appendfsync', 'always', '--kills', '3', '--connections', '4', '--min-run-ms', '300', '--max-run-ms', '700', '--seed', '11', '--dir', dataDir, '--json-out-file', jsonFile],
    { reject: false, timeout: 60_000 },
  );
  assert.equal(cli.exitCode, 0, `${cli.stdout}\n${cli.stderr}`);
  assert.match(cli.stdout, /RESULT: PASS/);
  const run = JSON.parse(await readFile(jsonFile, 'utf8')) as DurabilityRun;
  t.diagnostic(`${run.summary.acked} acknowledged writes, ${run.summary.lost} lost, ${run.summary.killsSurvived}/${run.summary.kills} kills survived, slowest restart ${run.summary.maxRestartMs} ms`);
  assert.equal(run.summary.policy, 'always');
  assert.equal(run.summary.kills, 3);
  assert.equal(run.summary.killsSurvived, 3);
  assert.equal(run.summary.lost, 0);
  assert.equal(run.summary.wrongValues + run.summary.regressions, 0);
  assert.ok(run.summary.acked > 0);
  assert.deepEqual(run.summary.problems, []);
  assert.ok(run.cleanRestartChecked >= run.summary.acked, 'every acknowledged write survives a clean stop and start too');
  checkConsistent(run);
});

test('npm run durability -- --appendfsync everysec|no --kills 2: a kill loses no acknowledged write, and the report says why that is the rule', async (t) => {
  for (const policy of ['everysec', 'no'] as const) {
    const dir = await mkdtemp(join(tmpdir(), 'kvring-durability-test-'));
    after(() => rm(dir, { recursive: true, force: true }));
    const jsonFile = join(dir, 'run.json');
    const cli = await execa(
      process.execPath,
      [DURABILITY_JS, '--appendfsync', policy, '--kills', '2', '--connections', '4', '--min-run-ms', '300', '--max-run-ms', '600', '--seed', '12', '--dir', join(dir, 'data'), '--json-out-file', jsonFile],
      { reject: false, timeout: 60_000 },
    );
    assert.equal(cli.exitCode, 0, `${policy}: ${cli.stdout}\n${cli.stderr}`);
    assert.match(cli.stdout, new RegExp(`policy: ${policy} \\(expected: no acknowledged write lost: a kill is a process crash`));
    assert.match(cli.stdout, /RESULT: PASS/);
    const run = JSON.parse(await readFile(jsonFile, 'utf8')) as DurabilityRun;
    t.diagnostic(`${policy}: ${run.summary.acked} acknowledged writes, ${run.summary.lost} lost over ${run.summary.kills} kills`);
    assert.equal(run.summary.policy, policy);
    assert.equal(run.summary.lost, 0);
    assert.ok(run.summary.acked > 0);
    checkConsistent(run);
  }
});

test('the verifier sees real losses: snapshots off and no log, a kill loses every acknowledged write, which "always" would call a failure', async () => {
  const options: DurabilityOptions = {
    appendOnly: false,
    appendFsync: 'always',
    snapshotIntervalSec: 0,
    kills: 1,
    connections: 2,
    depth: 8,
    valueBytes: 32,
    minRunMs: 300,
    maxRunMs: 300,
    seed: 5,
    dir: null,
    keepDir: false,
    samePort: false,
    serverArgs: [],
  };
  const run = await runDurability(options);
  const [only] = run.rounds;
  assert.ok(only !== undefined && only.acked > 0);
  assert.equal(lossOf(only).lost, only.acked, 'nothing was persisted, so every acknowledged write is lost');
  assert.equal(only.keysAfterRestart, 0);
  assert.deepEqual(run.summary.problems, [], 'snapshot-only with no snapshot yet promises nothing');
  assert.match(judgeRound('always', only).join(), /acknowledged writes lost with appendfsync always/);
  checkConsistent(run);
});
