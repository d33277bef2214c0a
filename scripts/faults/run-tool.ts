import { errorLine } from '../../cli/main.js';

/**
 * Runs a fault tool's `main` and sets the process exit code: what main resolves with (0 pass,
 * 1 the server misbehaved), or 2 when the tool itself failed, printed as every tool prints a
 * failure: one line `kvring <tool>: KV_ERR_…: message`.
 */
export function runTool(tool: string, main: () => Promise<number>): void {
  main().then(
    (code) => {
      process.exitCode = code;
    },
    (err: unknown) => {
      process.stderr.write(`${errorLine(tool, err).line}\n`);
      // 2: the tool could not judge (1 is kept for "the server misbehaved").
      process.exitCode = 2;
    },
  );
}
