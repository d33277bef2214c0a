// How a command-line tool of kvring ends: its exit code, and a failure printed as ONE line on
// stderr in the same form for every tool —
//   kvring <tool>: KV_ERR_<CODE>: what went wrong; what to do
// A kvring error carries its stable code (and, for usage errors, exit code 2); anything else is a
// bug, printed with its stack so it can be reported.

import { basename, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The tool's name in error lines, from the script that was started (bench/run/cli.js → "bench"). */
export function toolName(script: string = process.argv[1] ?? 'kvring'): string {
  const file = basename(script).replace(/\.[cm]?[jt]s$/, '');
  if (file === 'cli') return basename(dirname(dirname(script))) === 'bench' ? 'bench' : basename(dirname(script));
  if (file === 'main') return 'server';
  return file.replace(/-cli$/, '');
}

/** The error line for `err`, and the exit code it asks for (1 when it names none). */
export function errorLine(tool: string, err: unknown): { line: string; exitCode: number } {
  if (err instanceof Error && 'code' in err && typeof err.code === 'string' && err.code.startsWith('KV_ERR_')) {
    const exitCode = 'exitCode' in err && typeof err.exitCode === 'number' ? err.exitCode : 1;
    return { line: `kvring ${tool}: ${err.code}: ${err.message.replace(/\s*\n\s*/g, ' — ')}`, exitCode };
  }
  const detail = err instanceof Error ? (err.stack ?? err.message) : String(err);
  return { line: `kvring ${tool}: KV_ERR_INTERNAL: unexpected failure (a bug; please report it with this text): ${detail}`, exitCode: 1 };
}

/** Prints a failure's one line on stderr and returns its exit code. */
export function reportFailure(err: unknown, tool: string = toolName()): number {
  const { line, exitCode } = errorLine(tool, err);
  process.stderr.write(`${line}\n`);
  return exitCode;
}

/**
 * The entry point of a command: when `moduleUrl` is the script node was started with, runs `main`
 * with the command-line arguments and sets the exit code it returns (or reportFailure's).
 */
export function runIfMain(moduleUrl: string, main: (args: string[]) => Promise<number>): void {
  if (process.argv[1] !== fileURLToPath(moduleUrl)) return;
  main(process.argv.slice(2)).then(
    (code) => {
      process.exitCode = code;
    },
    (err: unknown) => {
      process.exitCode = reportFailure(err);
    },
  );
}
