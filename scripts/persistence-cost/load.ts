import { execa } from 'execa';
import { readFile, rm } from 'node:fs/promises';

// The write load of the cost comparison: SETs of random keys over a fixed key space, one client
// thread, C connections, pipeline P, from memtier_benchmark or redis-benchmark. Only SETs: the log
// costs nothing on a read, so a mix would only dilute what is measured.

export type LoadTool = 'memtier' | 'redis-benchmark';

export interface LoadSpec {
  port: number;
  pipeline: number;
  connections: number;
  keySpace: number;
  valueBytes: number;
}

export interface LoadResult {
  requests: number;
  opsPerSec: number;
}


interface MemtierJson {
  'ALL STATS': { Totals: { Count: number; 'Ops/sec': number } };
}

/** Runs memtier_benchmark for `seconds`; throws with its output if it fails. */
export async function runMemtier(binary: string, spec: LoadSpec, seconds: number, jsonFile: string): Promise<LoadResult> {
  await rm(jsonFile, { force: true });
  const r = await execa(
    binary,
    [
      '-s', '127.0.0.1', '-p', String(spec.port), '--protocol=redis', '-t', '1', '-c', String(spec.connections),
      '--ratio=1:0', '--key-pattern=R:R', '--key-minimum=1', `--key-maximum=${spec.keySpace}`, `--data-size=${spec.valueBytes}`,
      // Without it every connection draws the same key sequence.
      '--distinct-client-seed', `--pipeline=${spec.pipeline}`, `--test-time=${seconds}`, '--hide-histogram', `--json-out-file=${jsonFile}`,
    ],
    { reject: false, timeout: (seconds + 120) * 1000 },
  );
  if (r.exitCode !== 0) throw new Error(`${binary} exited ${String(r.exitCode)}: ${String(r.stderr).slice(-2000)}`);
  const totals = (JSON.parse(await readFile(jsonFile, 'utf8')) as MemtierJson)['ALL STATS'].Totals;
  return { requests: totals.Count, opsPerSec: totals['Ops/sec'] };
}

/** Runs redis-benchmark -t set for `requests` SETs; throws with its output if it fails. */
export async function runRedisBenchmark(spec: LoadSpec, requests: number): Promise<LoadResult> {
  const r = await execa(
    'redis-benchmark',
    ['-h', '127.0.0.1', '-p', String(spec.port), '-t', 'set', '-n', String(requests), '-c', String(spec.connections), '-P', String(spec.pipeline), '-r', String(spec.keySpace), '-d', String(spec.valueBytes), '-q', '--csv'],
    { reject: false, timeout: 900_000 },
  );
  // "SET","110497.24","0.244",...
  const line = String(r.stdout).split('\n').find((l) => l.startsWith('"SET"'));
  const rps = line === undefined ? Number.NaN : Number(line.split(',')[1]!.replace(/"/g, ''));
  if (r.exitCode !== 0 || !Number.isFinite(rps)) throw new Error(`redis-benchmark exited ${String(r.exitCode)}: ${String(r.stdout).slice(-1000)} ${String(r.stderr).slice(-1000)}`);
  return { requests, opsPerSec: rps };
}
