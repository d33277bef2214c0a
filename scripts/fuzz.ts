#!/usr/bin/env node
// npm run fuzz -- [options]: hostile RESP and inline input against a live kvring server.
// Flags → options → campaign (or replay) → report on stdout; exit 1 if the server misbehaved.
import { writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import yargs from 'yargs';
import { hideBin } from 'yargs/helpers';
import { freshSeed } from '../bench/prng.js';
import { FaultToolError } from './faults/errors.js';
import { runTool } from './faults/run-tool.js';
import { externalTarget, parseHostPort, spawnedTarget, type FaultTarget } from './faults/target.js';
import { runCampaign, type FuzzOptions } from './fuzz/campaign.js';
import { formatFuzzReport, fuzzFailed } from './fuzz/report.js';
import { replayCase } from './fuzz/replay.js';

function declareOptions(argv: string[]) {
  return yargs(argv)
    .scriptName('npm run fuzz --')
    .usage('$0 [options]\n\nSends random and mutated RESP and inline frames over many connections to a kvring server, checking after each burst that it still answers PING and still holds a known key. Inputs that crash or wedge it are saved as replayable cases.')
    .option('seconds', { type: 'number', default: 60, describe: 'how long to fuzz (the last burst is finished)' })
    .option('seed', { type: 'number', describe: 'seed of the random frames; the same seed sends the same bytes (default: random, printed)' })
    .option('server', { type: 'string', describe: 'fuzz this host:port instead of spawning a kvring server (a crash then ends the run)' })
    .option('server-args', { type: 'string', default: '', describe: 'extra flags for the spawned server, space-separated; use the = form: --server-args="--appendonly yes"' })
    .option('connections', { type: 'number', default: 32, describe: 'connections opened at once in each burst' })
    .option('frames-per-connection', { type: 'number', default: 16, describe: 'each connection pipelines 1 to this many frames' })
    .option('max-frame-bytes', { type: 'number', default: 64 * 1024, describe: 'largest frame generated, bytes' })
    .option('max-bursts', { type: 'number', describe: 'stop after this many bursts even if time is left' })
    .option('cases-dir', { type: 'string', default: join(tmpdir(), 'kvring-fuzz-cases'), describe: 'where inputs that crashed or wedged the server are written (one folder per case)' })
    .option('max-cases', { type: 'number', default: 5, describe: 'case folders written per kind of finding' })
    .option('check-timeout-ms', { type: 'number', default: 2000, describe: 'how long the health check (PING + GET on a fresh connection) may take before the server counts as wedged' })
    .option('linger-ms', { type: 'number', default: 5000, describe: 'how long the server may keep a connection open after our FIN before it counts as stuck' })
    .option('avoid', { type: 'array', string: true, default: [] as string[], describe: 'command names not to generate as valid commands (e.g. --avoid CONFIG), to fuzz past a known bug' })
    .option('replay', { type: 'string', describe: 'replay a case folder written by an earlier run instead of fuzzing' })
    .option('json-out-file', { type: 'string', describe: 'also write the report as JSON to this file' })
    .check((a) => {
      for (const name of ['seconds', 'connections', 'frames-per-connection', 'max-frame-bytes', 'check-timeout-ms', 'linger-ms', 'max-cases'] as const) {
        const v = a[name];
        if (!Number.isFinite(v) || v <= 0) throw new Error(`--${name} must be a number > 0, got ${String(v)}`);
      }
      if (a['max-frame-bytes'] < 64) throw new Error('--max-frame-bytes must be at least 64');
      if (a.seed !== undefined && !Number.isInteger(a.seed)) throw new Error(`--seed must be an integer, got ${a.seed}`);
      if (a['max-bursts'] !== undefined && (!Number.isInteger(a['max-bursts']) || a['max-bursts'] <= 0)) throw new Error('--max-bursts must be a positive integer');
      if (a.server !== undefined && parseHostPort(a.server) === null) throw new Error(`--server must be host:port, got ${a.server}`);
      return true;
    })
    .strict()
    .wrap(null)
    .help()
    .version(false);
}

async function openTarget(server: string | undefined, serverArgs: string): Promise<FaultTarget> {
  if (server !== undefined) {
    const { host, port } = parseHostPort(server)!;
    return externalTarget(host, port);
  }
  const extra = serverArgs.split(/\s+/).filter((a) => a.length > 0);
  try {
    return await spawnedTarget(['--snapshot-interval', '0', '--log-level', 'warn', ...extra]);
  } catch (err) {
    throw new FaultToolError('KV_ERR_FAULT_TARGET', `cannot start a kvring server: ${(err as Error).message}; run npm run build first, or pass --server host:port`, { cause: err });
  }
}

async function main(): Promise<number> {
  const a = declareOptions(hideBin(process.argv)).parseSync();
  const target = await openTarget(a.server, a['server-args']);
  try {
    if (a.replay !== undefined) {
      const result = await replayCase(a.replay, target, { checkTimeoutMs: a['check-timeout-ms'], connectTimeoutMs: 2000, lingerMs: a['linger-ms'] });
      process.stdout.write(`${JSON.stringify(result, null, 2)}\n`);
      return result.reproduced ? 1 : 0;
    }
    const options: FuzzOptions = {
      seed: a.seed ?? freshSeed(),
      seconds: a.seconds,
      maxBursts: a['max-bursts'] ?? Infinity,
      connections: a.connections,
      maxFramesPerConnection: a['frames-per-connection'],
      maxFrameBytes: a['max-frame-bytes'],
      casesDir: a['cases-dir'],
      checkTimeoutMs: a['check-timeout-ms'],
      connectTimeoutMs: 2000,
      lingerMs: a['linger-ms'],
      maxCasesPerKind: a['max-cases'],
      avoidCommands: new Set(a.avoid.map((name) => String(name).toUpperCase())),
    };
    process.stderr.write(`fuzzing ${target.description === 'spawned' ? `a spawned kvring server on ${target.host}:${target.port}` : target.description} for ${options.seconds} s, seed ${options.seed}\n`);
    const report = await runCampaign(target, options, { progress: (line) => process.stderr.write(`${line}\n`) });
    process.stdout.write(formatFuzzReport(report));
    if (a['json-out-file'] !== undefined) await writeFile(a['json-out-file'], `${JSON.stringify(report, null, 2)}\n`);
    return fuzzFailed(report) ? 1 : 0;
  } finally {
    await target.close();
  }
}

runTool('fuzz', main);
