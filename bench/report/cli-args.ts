import { fileURLToPath } from 'node:url';
import yargs, { type Options } from 'yargs';
import { ReportUsageError } from './errors.js';

// Flag parsing shared by `report`, `compare` and `merge`: yargs declared from one spec table per
// command (the same table prints README's flag list), snake_case names with kebab-case aliases as
// in `npm run bench`, and every mistake a ReportUsageError (exit 2) instead of yargs exiting.

export type OptionSpec = Options & { describe: string };

export type ParsedArgs = Record<string, unknown> & { _: (string | number)[] };

export type ArgsOutcome = { kind: 'args'; argv: ParsedArgs } | { kind: 'help'; text: string };

function kebab(name: string): string {
  return name.replace(/_/g, '-');
}

export function parseCliArgs(command: string, usage: string, specs: Record<string, OptionSpec>, args: string[]): ArgsOutcome {
  let parser = yargs(args)
    .scriptName(`npm run ${command} --`)
    .usage(usage)
    .parserConfiguration({ 'camel-case-expansion': false, 'strip-aliased': true })
    .strictOptions()
    .help('help')
    .alias('help', 'h')
    .version(false)
    .wrap(Math.min(120, process.stdout.columns ?? 100));
  for (const [name, spec] of Object.entries(specs)) {
    parser = parser.option(name, { ...spec, alias: kebab(name) === name ? undefined : kebab(name) });
  }
  let failure: string | null = null;
  let helpText: string | null = null;
  let argv: ParsedArgs = { _: [] };
  parser
    .exitProcess(false)
    .fail((message: string | undefined, err: Error | undefined) => {
      failure = message ?? err?.message ?? 'invalid arguments';
    })
    .parseSync(args, {}, (err, parsed, output) => {
      if (err !== undefined && err !== null && failure === null) failure = err.message;
      if (output !== '' && failure === null) helpText = output;
      argv = parsed as ParsedArgs;
    });
  if (failure !== null) throw new ReportUsageError(`${failure} (see npm run ${command} -- --help)`);
  if (helpText !== null) return { kind: 'help', text: helpText };
  return { kind: 'args', argv };
}

/** README's flag table for one command, from the same specs --help prints. */
export function flagTable(specs: Record<string, OptionSpec>): string {
  const rows = ['| flag | type | default | description |', '|---|---|---|---|'];
  for (const [name, spec] of Object.entries(specs)) {
    const alias = kebab(name) === name ? '' : ` (\`--${kebab(name)}\`)`;
    const def = 'default' in spec ? JSON.stringify(spec.default) : '';
    rows.push(`| \`--${name}\`${alias} | ${String(spec.type)} | ${def.replace(/\|/g, '\\|')} | ${spec.describe.replace(/\|/g, '\\|')} |`);
  }
  return rows.join('\n');
}

/** "5%", "5" → 0.05; percent, never a fraction, so "0.5" is half a percent. Throws naming the flag. */
export function parsePercent(flag: string, value: unknown): number {
  const text = String(value).trim();
  const m = /^(\d+(?:\.\d+)?)\s*%?$/.exec(text);
  if (!m) throw new ReportUsageError(`--${flag} must be a percentage like 5% or 2.5, got "${text}"`);
  const pct = Number(m[1]);
  if (pct >= 100) throw new ReportUsageError(`--${flag} must be below 100%, got "${text}"`);
  return pct / 100;
}

/** Prints a ReportError-like failure as `code: message` on stderr and returns its exit code. */
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
