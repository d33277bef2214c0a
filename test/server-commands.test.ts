import { test } from 'node:test';
import assert from 'node:assert/strict';
import { globMatch, lookupCommand, allCommands } from '../server/commands.js';

test('CONFIG GET patterns match like Redis globs, case-insensitively', () => {
  assert.ok(globMatch('*', 'appendonly'));
  assert.ok(globMatch('append*', 'appendonly'));
  assert.ok(globMatch('APPEND*', 'appendonly'));
  assert.ok(globMatch('*only', 'appendonly'));
  assert.ok(globMatch('s?ve', 'save'));
  assert.ok(globMatch('*a*e*', 'save'));
  assert.ok(!globMatch('save?', 'save'));
  assert.ok(!globMatch('dir', 'dirs'));
  assert.ok(globMatch('', ''));
});

test('a hostile glob (*a*a*a... against a long name) is answered at once, not by exponential backtracking', () => {
  const pattern = `${'*a'.repeat(200)}b`;
  const started = process.hrtime.bigint();
  assert.equal(globMatch(pattern, 'a'.repeat(5000)), false);
  // A bound for liveness (the regular expression it replaced took minutes), not a performance target.
  assert.ok(process.hrtime.bigint() - started < 5_000_000_000n);
});

test('the original project\'s verbs are aliases of the Redis commands, in any letter case', () => {
  assert.equal(lookupCommand('PUT'), lookupCommand('set'));
  assert.equal(lookupCommand('delete'), lookupCommand('DEL'));
  assert.equal(lookupCommand('End'), lookupCommand('shutdown'));
  assert.equal(lookupCommand('nosuch'), undefined);
  assert.ok(allCommands().every((c) => c.name === c.name.toLowerCase()));
});
