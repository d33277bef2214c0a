import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { flagTableMarkdown } from '../bench/run/config.js';
import { compareFlagTable } from '../bench/report/compare-cli.js';
import { mergeFlagTable } from '../bench/report/merge-cli.js';
import { reportFlagTable } from '../bench/report/report-cli.js';
import { calibrationFlagTable } from '../scripts/gate-calibration.js';
import { perfGateFlagTable } from '../scripts/perf-gate.js';
import { costsFlagTable } from '../bench/costs/costs-cli.js';
import { costCalibrationFlagTable } from '../scripts/cost-gate-calibration.js';
import { fidelityFlagTable } from '../scripts/fidelity.js';
import { persistenceCostFlagTable } from '../scripts/persistence-cost.js';
import { serverHelpText } from '../server/config.js';

// The manual (README.md, the front door, and one page per part in docs/) is what users read
// instead of the code: these checks keep it from drifting away from the code.
// Paths are relative to the repository root, where `npm test` runs.

function read(path: string): string {
  return readFileSync(path, 'utf8');
}

const docPages = readdirSync('docs').filter((f) => f.endsWith('.md')).sort().map((f) => join('docs', f));
const manual = new Map<string, string>([['README.md', read('README.md')], ...docPages.map((p) => [p, read(p)] as [string, string])]);
const allText = [...manual.values()].join('\n');

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const path = join(dir, e.name);
    if (e.isDirectory()) return sourceFiles(path);
    return e.name.endsWith('.ts') && !e.name.endsWith('.d.ts') ? [path] : [];
  });
}

test('the manual has the pages README links to: one per part', () => {
  for (const page of ['server', 'client', 'bench', 'reports', 'reliability', 'file-formats', 'performance', 'measuring']) {
    assert.ok(manual.has(join('docs', `${page}.md`)), `docs/${page}.md is missing`);
  }
});

test('every KV_ERR_* error code in the code base is documented in README.md or docs/', () => {
  const codes = new Set<string>();
  for (const dir of ['errors', 'protocol', 'cli', 'server', 'client', 'bench', 'scripts']) {
    for (const file of sourceFiles(dir)) {
      for (const m of read(file).matchAll(/KV_ERR_[A-Z_]+[A-Z]/g)) codes.add(m[0]);
    }
  }
  assert.ok(codes.size > 10, 'found the error codes');
  const missing = [...codes].filter((c) => !allText.includes(c)).sort();
  assert.deepEqual(missing, [], `codes missing from README.md and docs/: ${missing.join(', ')}`);
});

test("every server flag in --help is in docs/server.md's flag table", async () => {
  const serverPage = manual.get(join('docs', 'server.md'))!;
  const help = await serverHelpText();
  const flags = [...help.matchAll(/^\s+(--[a-z-]+)/gm)].map((m) => m[1]!).filter((f) => f !== '--help');
  assert.ok(flags.length > 10);
  const missing = flags.filter((f) => !serverPage.includes(`| \`${f}\``));
  assert.deepEqual(missing, [], `flags missing from docs/server.md: ${missing.join(', ')}`);
});

test('the flag tables of bench, report, compare, merge, the gates, their calibrations, costs, fidelity and persistence-cost in docs/ are the ones the code generates', () => {
  // Regenerate with the same functions when a flag changes (after `npx tsc -p tsconfig.json`,
  // import them from dist/; `node dist/bench/run/flags-doc.js` prints the bench's): a stale table misleads users.
  const tables: { name: string; page: string; table: string }[] = [
    { name: 'bench', page: 'bench.md', table: flagTableMarkdown() },
    { name: 'report', page: 'reports.md', table: reportFlagTable() },
    { name: 'compare', page: 'reports.md', table: compareFlagTable() },
    { name: 'merge', page: 'reports.md', table: mergeFlagTable() },
    { name: 'gate-calibration', page: 'reports.md', table: calibrationFlagTable() },
    { name: 'perf-gate', page: 'reports.md', table: perfGateFlagTable() },
    { name: 'costs', page: 'reports.md', table: costsFlagTable() },
    { name: 'cost-gate-calibration', page: 'reports.md', table: costCalibrationFlagTable() },
    { name: 'fidelity', page: 'measuring.md', table: fidelityFlagTable() },
    { name: 'persistence-cost', page: 'performance.md', table: persistenceCostFlagTable() },
  ];
  const stale = tables.filter(({ page, table }) => !manual.get(join('docs', page))!.includes(table.trim())).map(({ name, page }) => `${name} (docs/${page})`);
  assert.deepEqual(stale, [], `outdated flag tables: ${stale.join(', ')}`);
});

test('no page of the manual has an unfilled placeholder left from assembling it', () => {
  // Parts were written with markers such as CALIBRATION or `EXAMPLE_COMMAND` on a line of their
  // own, or @@NAME@@ where a generated table goes; a stub says so in words instead.
  const found: string[] = [];
  for (const [path, text] of manual) {
    text.split('\n').forEach((line, i) => {
      const t = line.trim();
      if (/^`?[A-Z][A-Z_]{5,}`?:?$/.test(t) || /@@[A-Z_]+@@/.test(t) || /\b(TODO|TBD|FIXME)\b/.test(t)) found.push(`${path}:${i + 1}: ${t}`);
    });
  }
  assert.deepEqual(found, []);
});

test('the manual sends no reader to a file outside the repository, and names the original Python project as such', () => {
  const found: string[] = [];
  for (const [path, text] of manual) {
    text.split('\n').forEach((line, i) => {
      if (/BENCHMARKING\.md|\/work\//.test(line)) found.push(`${path}:${i + 1}: points outside the repository: ${line.trim()}`);
      // Generated flag rows quote --help, which is not prose.
      if (!line.startsWith('| `--') && /\bthe seed\b/i.test(line)) found.push(`${path}:${i + 1}: "the seed": say "the original Python project": ${line.trim()}`);
    });
  }
  assert.deepEqual(found, []);
});
