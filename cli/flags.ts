// The one flag parser of kvring's command-line tools: each tool declares its flags once, in a
// table of specs (type, default, description), and that table drives --help, validation and the
// flag tables in the manual. Names are snake_case as in the original Python project
// (--num_servers), each with a kebab-case alias (--num-servers). A mistake never makes yargs
// print and exit: it becomes the tool's own usage error, so every tool reports it the same way.
// --help is laid out by cli/help.ts (word-wrapped to the terminal, never mid-word).

import yargs, { type Options } from 'yargs';
import { renderHelp, terminalWidth } from './help.js';

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
  /** The usage line(s); `$0` stands for `npm run <command> --`. Paragraphs separated by blank lines. */
  usage: string;
  /** Lines after the flags in --help (exit codes, examples). */
  epilogue?: string[];
  /** Also accept camelCase spellings of kebab-case flags (--maxClients for --max-clients). */
  camelCase?: boolean;
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

/** The --help text of a tool, laid out for `width` columns. */
export function flagsHelp(parser: FlagParser, width = terminalWidth()): string {
  const [first = '', ...rest] = parser.usage.replace(/\$0/g, `npm run ${parser.command} --`).split(/\n\s*\n/);
  const aliases = Object.fromEntries(Object.keys(parser.specs).filter((n) => kebab(n) !== n).map((n) => [n, [`--${kebab(n)}`]]));
  return renderHelp({ usage: first, description: rest, specs: parser.specs, aliases, defaults: parser.defaults, epilogue: parser.epilogue }, width);
}

/** Parses `args` (without node and the script): the flags, or the help text for --help. Throws parser.usageError. */
export function parseFlags(parser: FlagParser, args: readonly string[]): FlagsOutcome {
  if (args.includes('--help') || args.includes('-h')) return { kind: 'help', text: flagsHelp(parser) };
  let y = yargs([...args])
    .parserConfiguration({ 'camel-case-expansion': parser.camelCase === true, 'strip-aliased': true })
    .help(false)
    .version(false);
  y = parser.positional ? y.strictOptions() : y.strict();
  for (const [name, spec] of Object.entries(parser.specs)) {
    const override = parser.defaults?.[name];
    y = y.option(name, { ...spec, alias: kebab(name) === name ? undefined : kebab(name), ...(override !== undefined ? { default: override } : {}) });
  }
  let failure: string | null = null;
  let argv: ParsedFlags = { _: [] };
  y.exitProcess(false)
    .fail((message: string | undefined, err: Error | undefined) => {
      failure = message ?? err?.message ?? 'invalid arguments';
    })
    .parseSync([...args], {}, (err, parsed) => {
      if (err !== undefined && err !== null && failure === null) failure = err.message;
      argv = parsed as ParsedFlags;
    });
  if (failure !== null) throw parser.usageError(`${oneLine(failure)} (see npm run ${parser.command} -- --help)`);
  // A number flag given a word ("--num_servers three") parses as NaN: say what was given.
  for (const [name, spec] of Object.entries(parser.specs)) {
    const value = argv[name];
    if (spec.type === 'number' && typeof value === 'number' && Number.isNaN(value)) {
      throw parser.usageError(`--${name} must be a number, got "${rawFlagValue(args, name) ?? ''}" (see npm run ${parser.command} -- --help)`);
    }
  }
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

/** yargs' messages may span lines ("Unknown arguments: a, b\n..."): one line, as every error is. */
function oneLine(text: string): string {
  return text.replace(/\s*\n\s*/g, '; ').trim();
}

/**
 * The text given for flag `name` in raw `args` (either spelling, "--x v" or "--x=v"), before any
 * parsing: for error messages, and for flags that decide how the rest is parsed (--preset, --plan).
 */
export function rawFlagValue(args: readonly string[], name: string): string | undefined {
  for (const flag of new Set([`--${name}`, `--${kebab(name)}`])) {
    for (let i = 0; i < args.length; i++) {
      const a = args[i]!;
      if (a === flag && i + 1 < args.length) return args[i + 1]!;
      if (a.startsWith(`${flag}=`)) return a.slice(flag.length + 1);
    }
  }
  return undefined;
}
