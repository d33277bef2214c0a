// The one flag parser of kvring's command-line tools: each tool declares its flags once, in a
// table of specs (type, default, description), and that table drives --help, validation and the
// flag tables in the manual. Names are snake_case as in the original Python project
// (--num_servers), each with a kebab-case alias (--num-servers). A mistake never makes yargs
// print and exit: it becomes the tool's own usage error, so every tool reports it the same way.

import yargs, { type Options } from 'yargs';

export type FlagSpec = Options & {
  describe: string;
  /** Heading the flag is listed under in --help. */
  group?: string;
  /** What the default column of the manual says when the default depends on the machine. */
  defaultDescription?: string;
};

export type ParsedFlags = Record<string, unknown> & { _: (string | number)[] };

export type FlagsOutcome = { kind: 'args'; argv: ParsedFlags } | { kind: 'help'; text: string };

export interface FlagParser {
  /** npm script name, as in `npm run <command> --`. */
  command: string;
  usage: string;
  specs: Record<string, FlagSpec>;
  /** Whether the tool takes positional arguments (files); unknown flags are refused either way. */
  positional: boolean;
  /** Defaults that replace the declared ones (a preset); explicit flags still win. */
  defaults?: Readonly<Record<string, unknown>>;
  /** The tool's usage error for `message` (its code and exit status). */
  usageError: (message: string) => Error;
}

/** snake_case → kebab-case. */
export function kebab(name: string): string {
  return name.replace(/_/g, '-');
}

/** Width --help is laid out for: the terminal's, capped so long lines stay readable. */
export function helpWidth(): number {
  return Math.min(120, process.stdout.columns ?? 100);
}

/** Parses `args` (without node and the script): the flags, or the help text for --help. Throws parser.usageError. */
export function parseFlags(parser: FlagParser, args: readonly string[]): FlagsOutcome {
  let y = yargs([...args])
    .scriptName(`npm run ${parser.command} --`)
    .usage(parser.usage)
    .parserConfiguration({ 'camel-case-expansion': false, 'strip-aliased': true })
    .help('help')
    .alias('help', 'h')
    .version(false)
    .wrap(helpWidth());
  y = parser.positional ? y.strictOptions() : y.strict();
  for (const [name, spec] of Object.entries(parser.specs)) {
    const override = parser.defaults?.[name];
    y = y.option(name, { ...spec, alias: kebab(name) === name ? undefined : kebab(name), ...(override !== undefined ? { default: override } : {}) });
  }
  let failure: string | null = null;
  let helpText: string | null = null;
  let argv: ParsedFlags = { _: [] };
  y.exitProcess(false)
    .fail((message: string | undefined, err: Error | undefined) => {
      failure = message ?? err?.message ?? 'invalid arguments';
    })
    .parseSync([...args], {}, (err, parsed, output) => {
      if (err !== undefined && err !== null && failure === null) failure = err.message;
      if (output !== '' && failure === null) helpText = output;
      argv = parsed as ParsedFlags;
    });
  if (failure !== null) throw parser.usageError(`${failure} (see npm run ${parser.command} -- --help)`);
  if (helpText !== null) return { kind: 'help', text: helpText };
  return { kind: 'args', argv };
}

/** The manual's flag table for one tool, from the same specs --help prints. */
export function flagTable(specs: Record<string, FlagSpec>): string {
  const rows = ['| flag | type | default | description |', '|---|---|---|---|'];
  for (const [name, spec] of Object.entries(specs)) {
    const alias = kebab(name) === name ? '' : ` (\`--${kebab(name)}\`)`;
    const choices = Array.isArray(spec.choices) ? ` (${spec.choices.join(' \\| ')})` : '';
    const def = spec.defaultDescription ?? ('default' in spec ? JSON.stringify(spec.default) : '');
    rows.push(`| \`--${name}\`${alias} | ${String(spec.type)}${choices} | ${def.replace(/\|/g, '\\|')} | ${spec.describe.replace(/\|/g, '\\|')} |`);
  }
  return rows.join('\n');
}
