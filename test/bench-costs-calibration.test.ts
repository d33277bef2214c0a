import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { candidatePatches } from '../scripts/cost-gate-calibration.js';

// The deterministic gate's calibration builds its slower candidates by patching copies of dist/
// (scripts/cost-gate-calibration.ts). A server change that moves the patched lines would make the
// calibration stop with an error after its first minutes: caught here instead, from the built files.

const DIST = fileURLToPath(new URL('..', import.meta.url));

test('every calibration patch applies exactly once to the built server', async () => {
  const patches = candidatePatches(12);
  assert.deepEqual(Object.keys(patches).sort(), ['extra', 'md5', 'syscall']);
  for (const [build, list] of Object.entries(patches)) {
    for (const p of list) {
      const text = await readFile(`${DIST}${p.file}`, 'utf8');
      const first = text.indexOf(p.find);
      assert.ok(first !== -1, `${build}: "${p.find}" is in dist/${p.file}`);
      assert.equal(text.indexOf(p.find, first + 1), -1, `${build}: "${p.find}" is in dist/${p.file} once`);
    }
  }
  assert.match(patches.extra[0]!.replace, /i < 12; i\+\+/, 'the loop has the asked iterations');
});
