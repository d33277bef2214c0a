#!/usr/bin/env node
// npm run durability -- [options]: SIGKILL a kvring server under write load, restart it, and
// count the acknowledged writes it lost. Flags → options → run → report; exit 1 if the losses
// break the promise of the chosen --appendonly/--appendfsync policy: with the log on, under every
// fsync policy, a process kill loses no acknowledged write (only an OS crash may).
import { writeFile } from 'node:fs/promises';
import yargs from 'yargs';
import { hideBin } from 'yargs/helpers';
import { freshSeed } from '../bench/prng.js';
import { FaultToolError } from './faults/errors.js';
import { runTool } from './faults/run-tool.js';
import { formatDurabilityRun } from './durability/report.js';
import { runDurability, type DurabilityOptions } from './durability/run.js';

function declareOptions(argv: string[]) {
  return yargs(argv)
    .scriptName('npm run durability --')
    .usage('$0 [options]\n\nDrives unique-key SETs over several connections, records every acknowledged write, kills the server with SIGKILL at random moments, restarts it on the same data folder and reads every write back. Reports acknowledged writes, lost writes and the loss window.')
    .option('appendonly', { type: 'string', choices: ['yes', 'no'], default: 'yes', describe: 'server --appendonly; "no" tests snapshots alone' })
    .option('appendfsync', { type: 'string', choices: ['always', 'everysec', 'no'], default: 'always', describe: 'server --appendfsync' })
    .option('snapshot-interval', { type: 'number', default: 1, describe: 'server --snapshot-interval, seconds (0 = none); snapshots also rotate the log, so kills land during them' })
    .option('kills', { type: 'number', default: 20, describe: 'how many times the server is killed and restarted' })
    .option('connections', { type: 'number', default: 8, describe: 'writing connections' })
    .option('depth', { type: 'number', default: 16, describe: 'SETs in flight per connection' })
    .option('value-bytes', { type: 'number', default: 64, describe: 'size of each value, bytes (at least the key length)' })
    .option('min-run-ms', { type: 'number', default: 300, describe: 'shortest time the writers run before a kill' })
    .option('max-run-ms', { type: 'number', describe: 'longest time the writers run before a kill (default: 1500, or 2.5 x the snapshot interval with --appendonly no)' })
    .option('seed', { type: 'number', describe: 'seed for the kill moments (default: random, printed)' })
    .option('dir', { type: 'string', describe: 'data folder to use (kept); default: a fresh temporary folder, removed unless a problem was found' })
    .option('keep-dir', { type: 'boolean', default: false, describe: 'keep the temporary data folder even if the run passed' })
    .option('same-port', { type: 'boolean', default: false, describe: 'restart on the same port instead of a new free one' })
    .option('server-args', { type: 'string', default: '', describe: 'extra server flags, space-separated; use the = form: --server-args="--max-clients 100"' })
    .option('json-out-file', { type: 'string', describe: 'also write the rounds and the summary as JSON to this file' })
    .check((a) => {
      for (const name of ['kills', 'connections', 'depth', 'value-bytes', 'min-run-ms'] as const) {
        const v = a[name];
        if (!Number.isInteger(v) || v <= 0) throw new Error(`--${name} must be a positive integer, got ${String(v)}`);
      }
      if (!Number.isFinite(a['snapshot-interval']) || a['snapshot-interval'] < 0) throw new Error('--snapshot-interval must be a number >= 0');
      if (a['max-run-ms'] !== undefined && (!Number.isInteger(a['max-run-ms']) || a['max-run-ms'] < a['min-run-ms'])) {
        throw new Error('--max-run-ms must be an integer >= --min-run-ms');
      }
      if (a.seed !== undefined && !Number.isInteger(a.seed)) throw new Error(`--seed must be an integer, got ${a.seed}`);
      return true;
    })
    .strict()
    .wrap(null)
    .help()
    .version(false);
}

async function main(): Promise<number> {
  const a = declareOptions(hideBin(process.argv)).parseSync();
  const appendOnly = a.appendonly === 'yes';
  const snapshotIntervalSec = a['snapshot-interval'];
  if (!appendOnly && snapshotIntervalSec === 0) {
    throw new FaultToolError('KV_ERR_FAULT_OPTIONS', '--appendonly no with --snapshot-interval 0 keeps nothing at all: give a --snapshot-interval (e.g. 1)');
  }
  const defaultMaxRunMs = appendOnly ? 1500 : Math.max(1500, Math.round(snapshotIntervalSec * 2500));
  const options: DurabilityOptions = {
    appendOnly,
    appendFsync: a.appendfsync as DurabilityOptions['appendFsync'],
    snapshotIntervalSec,
    kills: a.kills,
    connections: a.connections,
    depth: a.depth,
    valueBytes: a['value-bytes'],
    minRunMs: a['min-run-ms'],
    maxRunMs: Math.max(a['min-run-ms'], a['max-run-ms'] ?? defaultMaxRunMs),
    seed: a.seed ?? freshSeed(),
    dir: a.dir ?? null,
    keepDir: a['keep-dir'],
    samePort: a['same-port'],
    serverArgs: a['server-args'].split(/\s+/).filter((x) => x.length > 0),
  };
  process.stderr.write(`durability: ${options.kills} kills, appendonly ${a.appendonly}, appendfsync ${options.appendFsync}, snapshot every ${snapshotIntervalSec} s, seed ${options.seed}\n`);
  let run;
  try {
    run = await runDurability(options, (line) => process.stderr.write(`${line}\n`));
  } catch (err) {
    throw new FaultToolError('KV_ERR_FAULT_TARGET', `cannot run the kvring server: ${(err as Error).message}; run npm run build first`, { cause: err });
  }
  process.stdout.write(formatDurabilityRun(run));
  if (a['json-out-file'] !== undefined) await writeFile(a['json-out-file'], `${JSON.stringify({ options, ...run }, null, 2)}\n`);
  return run.summary.problems.length === 0 ? 0 : 1;
}

runTool('durability', main);
