import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseAllDocuments } from 'yaml';
import { Service } from 'kubernetes-models/v1/Service';
import { Pod } from 'kubernetes-models/v1/Pod';
import { PersistentVolumeClaim } from 'kubernetes-models/v1/PersistentVolumeClaim';
import { StatefulSet } from 'kubernetes-models/apps/v1/StatefulSet';
import { Job } from 'kubernetes-models/batch/v1/Job';
import { parseServerConfig } from '../server/config.js';
import { parseArgsWithPlan, type PlanFile } from '../bench/run/plan-file.js';
import { planFromArgs } from '../bench/run/plan-cli.js';
import { parseCliArgs } from '../bench/report/cli-args.js';
import { MERGE_OPTIONS } from '../bench/report/merge-cli.js';
import type { BenchConfig } from '../bench/run/config.js';

// The Kubernetes manifests in k8s/, checked offline: every object against the Kubernetes API
// schemas (kubernetes-models), every command line against kvring's own flag parsers, and the
// pieces against each other — the generators' Indexed Job against the plan, --servers against the
// StatefulSet's pod names, the results volume everywhere it is needed, one image throughout.
// Unknown field names are beyond these schemas: `kubectl apply --dry-run=server` catches those.

interface Container {
  name: string;
  image?: string;
  command?: string[];
  args?: string[];
  volumeMounts?: { name: string; mountPath: string }[];
  ports?: { containerPort: number }[];
  env?: unknown[];
}
interface PodSpec {
  containers: Container[];
  volumes?: { name: string; persistentVolumeClaim?: { claimName: string } }[];
  restartPolicy?: string;
}
interface K8sObject {
  apiVersion: string;
  kind: string;
  metadata: { name: string };
  spec: Record<string, unknown> & { template?: { spec: PodSpec } };
}

const MODELS: Record<string, new (data: never) => { validate(): void }> = {
  'v1/Service': Service,
  'v1/Pod': Pod,
  'v1/PersistentVolumeClaim': PersistentVolumeClaim,
  'apps/v1/StatefulSet': StatefulSet,
  'batch/v1/Job': Job,
};

const files = readdirSync('k8s').filter((f) => f.endsWith('.yaml')).sort();
const objects: { file: string; object: K8sObject }[] = files.flatMap((file) =>
  parseAllDocuments(readFileSync(join('k8s', file), 'utf8')).map((doc) => {
    assert.deepEqual(doc.errors, [], `${file}: YAML errors`);
    return { file, object: doc.toJS() as K8sObject };
  }),
);

function find(kind: string, name: string): K8sObject {
  const o = objects.find((x) => x.object.kind === kind && x.object.metadata.name === name);
  assert.ok(o, `k8s/ has no ${kind} ${name}`);
  return o.object;
}

function podSpec(o: K8sObject): PodSpec {
  return o.kind === 'Pod' ? (o.spec as unknown as PodSpec) : o.spec.template!.spec;
}

/** The image's ENTRYPOINT, from the Dockerfile: containers without a command run it. */
function entrypoint(): string[] {
  const m = /^ENTRYPOINT\s+(\[.*\])\s*$/m.exec(readFileSync('Dockerfile', 'utf8'));
  assert.ok(m, 'the Dockerfile has an exec-form ENTRYPOINT');
  return JSON.parse(m[1]!) as string[];
}

test('every object in k8s/ is valid against the Kubernetes schemas', () => {
  assert.deepEqual(files, ['generators.yaml', 'merge-job.yaml', 'plan-job.yaml', 'results-reader.yaml', 'results-volume.yaml', 'servers.yaml']);
  for (const { file, object } of objects) {
    const Model = MODELS[`${object.apiVersion}/${object.kind}`];
    assert.ok(Model, `${file}: ${object.apiVersion} ${object.kind} is not a kind these manifests should need`);
    assert.doesNotThrow(() => new Model(object as never).validate(), `${file}: ${object.kind} ${object.metadata.name}`);
  }
});

test('every container runs one image, and a script the build produces', () => {
  const images = new Set<string>();
  for (const { file, object } of objects) {
    if (object.kind === 'Service' || object.kind === 'PersistentVolumeClaim') continue;
    for (const c of podSpec(object).containers) {
      images.add(c.image ?? '');
      const command = c.command ?? entrypoint();
      if (command[0] === 'node') assert.ok(existsSync(command[1]!.replace(/^dist\//, '').replace(/\.js$/, '.ts')), `${file}: ${command[1]} has no source`);
    }
  }
  assert.deepEqual([...images], ['kvring:0.1.0'], 'the image docs/distributed.md builds');
});

test('the servers: a StatefulSet behind a headless Service, whose command line the server accepts', () => {
  const service = find('Service', 'kvring');
  assert.equal(service.spec['clusterIP'], 'None', 'headless: one DNS name per pod');
  const sts = find('StatefulSet', 'kvring');
  assert.equal(sts.spec['serviceName'], 'kvring');
  const [server] = podSpec(sts).containers;
  const argv = [...entrypoint(), ...(server!.args ?? [])];
  assert.deepEqual(argv.slice(0, 2), ['node', 'dist/server/main.js']);
  const parsed = parseServerConfig(argv.slice(2));
  assert.equal(parsed.kind, 'config');
  if (parsed.kind !== 'config') return;
  assert.equal(parsed.config.bind, '0.0.0.0');
  assert.equal(parsed.config.port, server!.ports![0]!.containerPort);
  assert.equal(parsed.config.snapshotIntervalSec, 0);
  assert.equal(parsed.config.appendOnly, false);
});

test('plan, generators and merge: their command lines parse, the plan names the StatefulSet pods, and the Indexed Job honours JOB_COMPLETION_INDEX', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'kvring-k8s-'));
  after(() => rm(dir, { recursive: true, force: true }));
  // Run the plan Job's command for real (the results volume is a temporary folder here).
  const planJob = find('Job', 'kvring-plan');
  const [planner] = podSpec(planJob).containers;
  assert.deepEqual(planner!.command, ['node', 'dist/bench/run/plan-cli.js']);
  const localize = (a: string): string => a.replace(/\/results\b/g, dir);
  const outcome = planFromArgs(planner!.args!.map(localize), Date.now());
  assert.equal(outcome.kind, 'plan');
  if (outcome.kind !== 'plan') return;
  assert.equal(outcome.write, join(dir, 'plan.json'));
  await writeFile(outcome.write!, JSON.stringify(outcome.plan));
  const plan = JSON.parse(await readFile(join(dir, 'plan.json'), 'utf8')) as PlanFile;

  // --servers are the StatefulSet's pods, by their stable names, on the servers' port.
  const sts = find('StatefulSet', 'kvring');
  const replicas = sts.spec['replicas'] as number;
  const port = podSpec(sts).containers[0]!.ports![0]!.containerPort;
  const expected = Array.from({ length: replicas }, (_, i) => `kvring-${i}.${String(sts.spec['serviceName'])}:${port}`);

  const generators = find('Job', 'kvring-generators');
  assert.equal(generators.spec['completionMode'], 'Indexed');
  assert.equal(generators.spec['completions'], plan.generators, 'one pod per generator of the plan');
  assert.equal(generators.spec['parallelism'], plan.generators, 'all generators at once');
  assert.equal(podSpec(generators).restartPolicy, 'Never');
  const [gen] = podSpec(generators).containers;
  assert.deepEqual(gen!.command, ['node', 'dist/bench/run/cli.js']);
  const configs: BenchConfig[] = [];
  for (let i = 0; i < plan.generators; i++) {
    const parsed = await parseArgsWithPlan(gen!.args!.map(localize), { env: { JOB_COMPLETION_INDEX: String(i) } });
    assert.equal(parsed.kind, 'config');
    if (parsed.kind === 'config') configs.push(parsed.config);
  }
  assert.deepEqual(
    configs.map((c) => c.generatorIndex),
    Array.from({ length: plan.generators }, (_, i) => i),
  );
  assert.equal(new Set(configs.map((c) => c.label)).size, plan.generators, 'parts never share a folder');
  for (const c of configs) {
    assert.deepEqual(c.servers, expected);
    assert.equal(c.generators, plan.generators);
    assert.equal(c.outDir, join(dir, 'parts'));
  }

  const merge = find('Job', 'kvring-merge');
  const [merger] = podSpec(merge).containers;
  assert.deepEqual(merger!.command, ['node', 'dist/bench/report/merge-cli.js']);
  const m = parseCliArgs('merge', '', MERGE_OPTIONS, merger!.args!);
  assert.equal(m.kind, 'args');
  if (m.kind === 'args') assert.deepEqual(m.argv._.map(String), ['/results/parts'], 'merge reads the folder the generators write');
});

test('the plan, the generators, the merge and the reader share the results volume at /results', () => {
  const pvc = find('PersistentVolumeClaim', 'kvring-results');
  assert.ok(pvc);
  for (const [kind, name] of [
    ['Job', 'kvring-plan'],
    ['Job', 'kvring-generators'],
    ['Job', 'kvring-merge'],
    ['Pod', 'kvring-results'],
  ] as const) {
    const spec = podSpec(find(kind, name));
    const volume = spec.volumes?.find((v) => v.persistentVolumeClaim?.claimName === 'kvring-results');
    assert.ok(volume, `${name} mounts the results claim`);
    assert.ok(
      spec.containers[0]!.volumeMounts?.some((v) => v.name === volume.name && v.mountPath === '/results'),
      `${name} mounts it at /results`,
    );
  }
});
