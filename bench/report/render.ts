import type { RunResult } from '../results.js';

/**
 * Writes every report for one run into its folder (charts, index.html) and returns the paths.
 * Placeholder until the chart renderer lands: writes nothing.
 */
export async function writeReports(result: RunResult, runDir: string): Promise<string[]> {
  void result;
  void runDir;
  return [];
}
