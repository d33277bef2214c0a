import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { parseAllDocuments } from 'yaml';
import { parseBenchArgs } from '../bench/run/config.js';
import { planFlagTable, planFromArgs } from '../bench/run/plan-cli.js';
import { parseCliArgs } from '../bench/report/cli-args.js';
import { MERGE_OPTIONS } from '../bench/report/merge-cli.js';

// docs/distributed.md walks a user from `kubectl apply` to the merged report: every command it
// shows is checked against what it refers to — the manifests, the names in them, kvring's own
// flag parsers — so the page cannot drift from k8s/ and the code.

const page = readFileSync(join('docs', 'distributed.md'), 'utf8');
const shellLines = [...page.matchAll(/```sh\n([\s\S]*?)```/g)].flatMap((m) => m[1]!.split('\n').map((l) => l.trim()).filter((l) => l !== ''));
const inline = [...page.matchAll(/`(npm run [a-z-]+ --[^`]*)`/g)].map((m) => m[1]!.replace(/\s+/g, ' '));

interface Named {
  kind: string;
  metadata: { name: string };
  spec?: { template?: { metadata?: { labels?: Record<string, string> }; spec?: { containers?: { image?: string; args?: string[] }[] } } };
}
const objects: Named[] = readdirSync('k8s')
  .filter((f) => f.endsWith('.yaml'))
  .flatMap((f) => parseAllDocuments(readFileSync(join('k8s', f), 'utf8')).map((d) => d.toJS() as Named));
const has = (kind: string, name: string): boolean => objects.some((o) => o.kind.toLowerCase() === kind.toLowerCase() && o.metadata.name === name);

/** `npm run <tool> -- args` → [tool, args], placeholders filled with example values. */
function npmCommand(line: string): [string, string[]] {
  const m = /^npm run ([a-z-]+) -- (.*)$/.exec(line);
  assert.ok(m, line);
  const args = m[2]!.replace(/<0…\d+>|<i>/g, '0').split(' ').filter((a) => a !== '');
  return [m[1]!, args];
}

test('the walk-through has its steps: build, apply, plan, generators, merge, copy out', () => {
  for (const needle of ['docker build -t kvring:0.1.0 .', 'kubectl apply -f k8s/plan-job.yaml', 'kubectl apply -f k8s/generators.yaml', 'kubectl apply -f k8s/merge-job.yaml', 'kubectl cp kvring-results:/results/merged ./merged']) {
    assert.ok(shellLines.includes(needle), `missing: ${needle}`);
  }
});

test("every kubectl line names files, objects and labels that k8s/ has, and the image the manifests use", () => {
  for (const line of shellLines) {
    for (const m of line.matchAll(/-f (k8s\/\S*)/g)) assert.ok(existsSync(m[1]!), `${line}: ${m[1]} does not exist`);
    for (const m of line.matchAll(/\b(job|statefulset|pod)\/([a-z0-9-]+)/g)) {
      const kind = { job: 'Job', statefulset: 'StatefulSet', pod: 'Pod' }[m[1] as 'job' | 'statefulset' | 'pod'];
      assert.ok(has(kind, m[2]!), `${line}: no ${kind} ${m[2]} in k8s/`);
    }
    const label = /-l ([\w./-]+)=([\w.-]+)/.exec(line);
    if (label !== null) {
      assert.ok(
        objects.some((o) => o.spec?.template?.metadata?.labels?.[label[1]!] === label[2]),
        `${line}: no pod template labelled ${label[1]}=${label[2]}`,
      );
    }
    const deleted = /^kubectl delete job (.*)$/.exec(line);
    if (deleted !== null) for (const name of deleted[1]!.split(' ')) assert.ok(has('Job', name), `${line}: no Job ${name}`);
    const cp = /^kubectl cp ([a-z0-9-]+):(\S+)/.exec(line);
    if (cp !== null) {
      assert.ok(has('Pod', cp[1]!), line);
      const merge = objects.find((o) => o.metadata.name === 'kvring-merge')!;
      assert.ok(merge.spec!.template!.spec!.containers![0]!.args!.includes(cp[2]!), `${line}: the merge Job does not write ${cp[2]}`);
    }
    const build = /^docker build -t (\S+) \.$/.exec(line);
    if (build !== null) {
      for (const o of objects) for (const c of o.spec?.template?.spec?.containers ?? []) assert.equal(c.image, build[1], `${o.metadata.name} runs another image`);
    }
  }
});

test('every npm command on the page is accepted by its own flag parser, and the local plan is the plan Job\'s', () => {
  assert.ok(inline.length >= 4, inline.join('\n'));
  for (const line of inline) {
    const [tool, args] = npmCommand(line);
    if (tool === 'plan') {
      const outcome = planFromArgs(args, Date.now());
      assert.equal(outcome.kind, 'plan', line);
      const job = objects.find((o) => o.metadata.name === 'kvring-plan')!;
      const jobArgs = job.spec!.template!.spec!.containers![0]!.args!.filter((a) => !a.startsWith('--write')).map((a) => a.replace(/^(--[a-z_]+)=/, '$1 ').split(' ')).flat();
      assert.deepEqual(args, jobArgs, 'the schedule shown locally is the one the plan Job writes');
    } else if (tool === 'bench') {
      assert.equal(parseBenchArgs(args, { env: {} }).kind, 'config', line);
    } else if (tool === 'merge') {
      assert.equal(parseCliArgs('merge', '', MERGE_OPTIONS, args).kind, 'args', line);
    } else if (tool === 'split-sim' || tool === 'merge-scale') {
      assert.ok(existsSync(join('bench', 'tools', tool === 'split-sim' ? 'split-run-sim.ts' : 'merge-scale.ts')), line);
    } else {
      assert.fail(`${line}: no check for npm run ${tool}`);
    }
  }
});

test("the plan command's flag table is the one the code generates", () => {
  assert.ok(page.includes(planFlagTable()), 'regenerate it with planFlagTable() from bench/run/plan-cli.ts');
});
