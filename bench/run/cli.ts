#!/usr/bin/env node
// `npm run bench -- [flags]`: flags → config → run → summary (or JSON) and an exit code.
// Exit codes: 0 ok, 1 failure (message says what to do), 2 bad flags, 3 error rate above
// --max_error_rate, 130 interrupted (Ctrl-C / SIGTERM; servers stopped, partial results kept).

import { parseArgsWithPlan } from './plan-file.js';
import { BenchError, InterruptedError } from '../errors.js';
import { runBench } from './run.js';
import { reportFailure } from '../../cli/main.js';
import { formatSummary } from './summary.js';
import { join } from 'node:path';

async function main(): Promise<number> {
  let parsed;
  try {
    parsed = await parseArgsWithPlan(process.argv.slice(2));
  } catch (err) {
    return report(err);
  }
  if (parsed.kind === 'help') {
    process.stdout.write(`${parsed.text}\n`);
    return 0;
  }
  const config = parsed.config;
  const controller = new AbortController();
  let interrupts = 0;
  const onSignal = (signal: NodeJS.Signals): void => {
    interrupts++;
    if (interrupts === 1) {
      process.stderr.write(`\n${signal}: finishing the current step and stopping the servers (again to force)…\n`);
      controller.abort();
      return;
    }
    // Second signal: the run's finally blocks are already stopping servers; leave now.
    process.stderr.write(`${signal} again: exiting\n`);
    process.exit(130);
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  try {
    const outcome = await runBench(config, controller.signal);
    if (outcome.result !== null) {
      if (config.json) process.stdout.write(`${JSON.stringify(outcome.result)}\n`);
      else if (!config.quiet) process.stdout.write(`\n${formatSummary(outcome.result, outcome.runDir)}\n`);
      // Where to look next: on stderr with --json (stdout is the JSON), else after the summary.
      if (outcome.runDir !== null && !config.quiet) {
        const where = reportLocation(outcome.runDir, outcome.reported, config.generators > 1 ? null : config.outDir);
        (config.json ? process.stderr : process.stdout).write(`${where}\n`);
      }
    }
    if (outcome.failure !== null) return report(outcome.failure);
    return 0;
  } catch (err) {
    if (controller.signal.aborted && !(err instanceof BenchError)) return report(new InterruptedError('a signal'));
    return report(err);
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
}

/** The run's closing lines: where its report is, or how to draw one. */
export function reportLocation(runDir: string, reported: boolean, outDir: string | null): string {
  if (reported) return `Report: ${runDir}/index.html${outDir === null ? '' : ` (also ${join(outDir, 'latest', 'index.html')})`}`;
  return `No report was drawn (--no-charts): draw one with npm run report -- ${runDir}`;
}

function report(err: unknown): number {
  return reportFailure(err, 'bench');
}

main().then(
  (code) => {
    process.exitCode = code;
  },
  (err: unknown) => {
    process.exitCode = report(err);
  },
);
