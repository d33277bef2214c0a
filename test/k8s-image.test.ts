import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';

// The Dockerfile cannot be built here (no Docker engine), so what can go wrong without a build is
// checked by reading it: the build stage compiles with tsconfig.json, so it must copy every folder
// tsconfig.json compiles — a missing one fails `npm ci` (its prepare step runs tsc) in the image.

test('the image build copies every source folder tsconfig.json compiles, and the run stage has what the commands in k8s/ start', () => {
  const dockerfile = readFileSync('Dockerfile', 'utf8');
  const tsconfig = JSON.parse(readFileSync('tsconfig.json', 'utf8')) as { include: string[] };
  const folders = tsconfig.include.map((glob) => glob.split('/')[0]!);
  const copied = [...dockerfile.matchAll(/^COPY\s+(?!--from)(\S+)\s+\.\/(\S+)\s*$/gm)].map((m) => m[1]!);
  const missing = folders.filter((f) => !copied.includes(f));
  assert.deepEqual(missing, [], `Dockerfile does not COPY ${missing.join(', ')}`);
  assert.match(dockerfile, /^COPY package\.json package-lock\.json tsconfig\.json \.\/$/m);
  assert.match(dockerfile, /^COPY --from=build \/app\/dist \.\/dist$/m, 'the run stage has the compiled commands');
  assert.match(dockerfile, /^COPY --from=build \/app\/node_modules \.\/node_modules$/m);
});
