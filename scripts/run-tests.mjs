// Runs every compiled test file (dist/**/*.test.js) with node's test runner.
// A plain script, not `node --test dist/`, because Node 20 would also run helper modules as tests.
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { spawn } from 'node:child_process';

function findTests(dir) {
  const found = [];
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) found.push(...findTests(path));
    else if (entry.name.endsWith('.test.js')) found.push(path);
  }
  return found;
}

// Optional filters: `npm test -- ring codec` runs only files whose path contains one of the words.
const filters = process.argv.slice(2);
// A compiled test whose source was renamed or removed is a leftover of an earlier build: skip it.
const hasSource = (f) => existsSync(f.replace(/^dist[\\/]/, '').replace(/\.js$/, '.ts'));
const files = findTests('dist')
  .filter(hasSource)
  .filter((f) => filters.length === 0 || filters.some((w) => f.includes(w)))
  .sort();
if (files.length === 0) {
  console.error('run-tests: no compiled test files found under dist/ (did tsc run?)');
  process.exit(1);
}
const child = spawn(process.execPath, ['--test', ...files], { stdio: 'inherit' });
child.on('exit', (code, signal) => process.exit(code ?? (signal ? 1 : 0)));
