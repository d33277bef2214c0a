import { FaultToolError } from './errors.js';

/**
 * Runs a fault tool's `main` and sets the process exit code: what main resolves with (0 pass,
 * 1 the server misbehaved), or 2 when the tool itself failed, printed as `<tool>: <message> [<code>]`.
 */
export function runTool(tool: string, main: () => Promise<number>): void {
  main().then(
    (code) => {
      process.exitCode = code;
    },
    (err: unknown) => {
      const code = err instanceof FaultToolError ? ` [${err.code}]` : '';
      process.stderr.write(`${tool}: ${(err as Error).message}${code}\n`);
      process.exitCode = 2;
    },
  );
}
