// How a command-line tool of kvring ends: its exit code, and a failure printed as one line
// `code: message` on stderr (a kvring error's stable KV_ERR_* code, then what went wrong and what
// to do). Anything else is a bug and keeps its stack trace.

import { fileURLToPath } from 'node:url';

/** Prints a failure on stderr and returns the exit code it asks for (2 when it names none). */
export function reportFailure(err: unknown): number {
  if (err instanceof Error && 'code' in err && 'exitCode' in err && typeof err.exitCode === 'number') {
    process.stderr.write(`${String(err.code)}: ${err.message}\n`);
    return err.exitCode;
  }
  process.stderr.write(`${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  return 2;
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
