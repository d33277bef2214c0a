import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { flagTableMarkdown } from '../bench/run/config.js';
import { compareFlagTable } from '../bench/report/compare-cli.js';
import { mergeFlagTable } from '../bench/report/merge-cli.js';
import { reportFlagTable } from '../bench/report/report-cli.js';
import { calibrationFlagTable } from '../scripts/gate-calibration.js';
import { serverHelpText } from '../server/config.js';

// README is the user's manual: these checks keep it from drifting away from the code.
// Paths are relative to the repository root, where `npm test` runs.

const readme = readFileSync('README.md', 'utf8');

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const path = join(dir, e.name);
    if (e.isDirectory()) return sourceFiles(path);
    return e.name.endsWith('.ts') && !e.name.endsWith('.d.ts') ? [path] : [];
  });
}

test('every KV_ERR_* error code in the code base is documented in README', () => {
  const codes = new Set<string>();
  for (const dir of ['errors', 'protocol', 'server', 'client', 'bench', 'scripts']) {
    for (const file of sourceFiles(dir)) {
      for (const m of readFileSync(file, 'utf8').matchAll(/KV_ERR_[A-Z_]+[A-Z]/g)) codes.add(m[0]);
    }
  }
  assert.ok(codes.size > 10, 'found the error codes');
  const missing = [...codes].filter((c) => !readme.includes(c)).sort();
  assert.deepEqual(missing, [], `codes missing from README: ${missing.join(', ')}`);
});

test("every server flag in --help is in README's flag table", async () => {
  const help = await serverHelpText();
  const flags = [...help.matchAll(/^\s+(--[a-z-]+)/gm)].map((m) => m[1]!).filter((f) => f !== '--help');
  assert.ok(flags.length > 10);
  const missing = flags.filter((f) => !readme.includes(`| \`${f}\``));
  assert.deepEqual(missing, []);
});

test('the flag tables of bench, report, compare, merge and gate-calibration in README are the ones the code generates', () => {
  // Regenerate with the same functions when a flag changes; a stale table misleads users.
  const tables: Record<string, string> = {
    bench: flagTableMarkdown(),
    report: reportFlagTable(),
    compare: compareFlagTable(),
    merge: mergeFlagTable(),
    'gate-calibration': calibrationFlagTable(),
  };
  const stale = Object.entries(tables)
    .filter(([, table]) => !readme.includes(table.trim()))
    .map(([name]) => name);
  assert.deepEqual(stale, [], `README has an outdated flag table for: ${stale.join(', ')}`);
});

test('README has no unfilled placeholder left from assembling it', () => {
  // Parts were written with markers such as CALIBRATION or `EXAMPLE_COMMAND` on a line of their own.
  const placeholders = readme.split('\n').filter((line) => /^`?[A-Z][A-Z_]{5,}`?:?$/.test(line.trim()));
  assert.deepEqual(placeholders, []);
});
