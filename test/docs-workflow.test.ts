import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { validateWorkflow } from '@action-validator/core';
import { parsePerfGateArgs } from '../scripts/perf-gate.js';

// .github/workflows/perf.yml has never run anywhere but here: these checks are its CI. It must be
// a valid workflow (GitHub's schema, via action-validator), and a thin caller of
// scripts/perf-gate.ts whose flags that script accepts — the logic is tested in tools-perf-gate.
// Paths are relative to the repository root, where `npm test` runs.

const WORKFLOW = '.github/workflows/perf.yml';
const yaml = readFileSync(WORKFLOW, 'utf8');

/** Splits a shell command line into words the way sh would for plain and double-quoted words. */
function shellWords(line: string): string[] {
  return [...line.matchAll(/"([^"]*)"|'([^']*)'|(\S+)/g)].map((m) => m[1] ?? m[2] ?? m[3]!);
}

test('perf.yml is a valid GitHub Actions workflow', () => {
  const state = validateWorkflow(yaml);
  assert.equal(state.actionType, 'workflow');
  assert.deepEqual(state.errors, [], JSON.stringify(state.errors, null, 2));
});

test('the validator does catch a broken workflow (the check above is not vacuous)', () => {
  const broken = yaml.replace('runs-on: ubuntu-latest', 'runs_on: ubuntu-latest');
  assert.notDeepEqual(validateWorkflow(broken).errors, []);
});

test('perf.yml only calls scripts/perf-gate.ts, with flags the script accepts', () => {
  const calls = yaml.split('\n').filter((l) => l.includes('dist/scripts/perf-gate.js'));
  assert.equal(calls.length, 1, 'one gate step');
  const words = shellWords(calls[0]!.replace(/^\s*run:\s*/, ''));
  assert.deepEqual(words.slice(0, 2), ['node', 'dist/scripts/perf-gate.js']);
  const plan = parsePerfGateArgs(words.slice(2).map((w) => (w === '$BASE' ? 'origin/main' : w)));
  assert.ok(!('help' in plan));
  assert.deepEqual(plan.base, { ref: 'origin/main' });
  assert.ok(plan.rounds >= 3, 'enough rounds for p ≤ 0.05 to be reachable at all');
  // The rounds, the comparison and the summary are the script's: no loop or compare call here.
  assert.doesNotMatch(yaml, /for round|seq 1|npm run compare|bench\/run\/cli\.js|worktree add/);
});
