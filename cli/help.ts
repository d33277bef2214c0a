// --help text of every kvring tool, laid out here rather than by yargs: its ESM build wraps lines
// in the middle of words ("threa/ds") and ignores the terminal's width. Pure: specs and a width in,
// text out, so tests check the layout at 80 and 120 columns exactly.

import type { FlagSpec } from './flags.js';

export interface HelpCommand {
  usage: string;
  describe: string;
}

export interface HelpLayout {
  /** First line(s): how to call the tool. */
  usage: string;
  /** Paragraphs under the usage line. */
  description?: string[];
  /** Sub-commands (the command-line client's verbs). */
  commands?: HelpCommand[];
  /** Flags by name (snake_case or kebab-case); `group` sets the heading. */
  specs: Record<string, FlagSpec>;
  /** Flag aliases shown after the name, e.g. { num_servers: ['--num-servers'] }. */
  aliases?: Record<string, string[]>;
  /** Defaults that replace the declared ones in the text (a preset). */
  defaults?: Readonly<Record<string, unknown>>;
  /** Lines after the flags (exit codes, examples). */
  epilogue?: string[];
}

/** The width to lay help out for: the terminal's, at most 120 (long lines read badly), 80 when unknown. */
export function terminalWidth(stream: { columns?: number } = process.stdout): number {
  const columns = stream.columns;
  return Math.max(40, Math.min(120, columns !== undefined && columns > 0 ? columns : 80));
}

/**
 * Words of `text` in lines of at most `width` characters: the first line of each paragraph
 * prefixed by `indent`, the lines it wraps onto by `hanging`. A word longer than a line stays whole.
 */
export function wrapWords(text: string, width: number, indent = '', hanging = indent): string[] {
  const lines: string[] = [];
  for (const paragraph of text.split('\n')) {
    const words = paragraph.split(/\s+/).filter((w) => w !== '');
    let prefix = indent;
    let line = '';
    for (const word of words) {
      if (line !== '' && prefix.length + line.length + 1 + word.length > width) {
        lines.push(prefix + line);
        prefix = hanging;
        line = word;
      } else {
        line = line === '' ? word : `${line} ${word}`;
      }
    }
    lines.push(line === '' ? '' : prefix + line);
  }
  return lines;
}

function defaultText(spec: FlagSpec, override: unknown): string | null {
  if (spec.defaultDescription !== undefined) return spec.defaultDescription;
  const value = override !== undefined ? override : spec.default;
  if (value === undefined || value === '' || value === false) return null;
  return typeof value === 'string' ? `"${value}"` : JSON.stringify(value);
}

/** The whole --help text, every line at most `width` characters unless a single word is longer. */
export function renderHelp(layout: HelpLayout, width: number): string {
  const out: string[] = [...wrapWords(layout.usage, width)];
  for (const paragraph of layout.description ?? []) out.push('', ...wrapWords(paragraph, width));
  if (layout.commands !== undefined && layout.commands.length > 0) {
    out.push('', 'Commands:');
    for (const c of layout.commands) {
      out.push(`  ${c.usage}`, ...wrapWords(c.describe, width, '      '));
    }
  }
  const groups = new Map<string, [string, FlagSpec][]>();
  for (const [name, spec] of Object.entries(layout.specs)) {
    const group = spec.group ?? 'Options:';
    groups.set(group, [...(groups.get(group) ?? []), [name, spec]]);
  }
  groups.set('Options:', [...(groups.get('Options:') ?? []), ['help', { type: 'boolean', describe: 'show this help and exit' }]]);
  for (const [group, flags] of groups) {
    out.push('', group);
    for (const [name, spec] of flags) {
      const names = [`--${name}`, ...(layout.aliases?.[name] ?? [])].join(', ');
      const type = Array.isArray(spec.choices) ? spec.choices.join('|') : String(spec.type ?? '');
      const def = defaultText(spec, layout.defaults?.[name]);
      out.push(...wrapWords(`${names} <${type}>${def === null ? '' : `  (default: ${def})`}`, width, '  ', '        '));
      out.push(...wrapWords(spec.describe, width, '      '));
    }
  }
  for (const line of layout.epilogue ?? []) out.push('', ...wrapWords(line, width));
  return `${out.join('\n')}\n`;
}
