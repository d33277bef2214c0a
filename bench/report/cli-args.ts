// Flag parsing of `report`, `compare`, `merge` and the gate calibration: the one flag parser
// (cli/flags.ts) with files as positional arguments and every mistake a ReportUsageError (exit 2).

import { parseFlags, type FlagSpec, type FlagsOutcome } from '../../cli/flags.js';
import { ReportUsageError } from '../errors.js';

export function parseCliArgs(command: string, usage: string, specs: Record<string, FlagSpec>, args: string[]): FlagsOutcome {
  return parseFlags({ command, usage, specs, positional: true, usageError: (message) => new ReportUsageError(message) }, args);
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
