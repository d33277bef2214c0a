import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
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
  for (const dir of ['server', 'client', 'bench', 'scripts']) {
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
