// Optional peer programs the comparison scripts run beside kvring, found the same way by each:
// a flag, else an environment variable, else the PATH — never a path of one machine.

import { access, constants } from 'node:fs/promises';
import { delimiter, join } from 'node:path';

/**
 * The memtier_benchmark binary: `flag` if given (an empty flag counts as not given), else $MEMTIER, else memtier_benchmark on PATH;
 * null if none of them is an executable file.
 */
export async function findMemtier(flag: string | undefined, env: NodeJS.ProcessEnv = process.env): Promise<string | null> {
  const candidates = flag !== undefined && flag !== '' ? [flag] : env.MEMTIER !== undefined && env.MEMTIER !== '' ? [env.MEMTIER] : (env.PATH ?? '').split(delimiter).filter((d) => d !== '').map((d) => join(d, 'memtier_benchmark'));
  for (const path of candidates) {
    try {
      await access(path, constants.X_OK);
      return path;
    } catch {
      // Not there or not executable: try the next candidate.
    }
  }
  return null;
}
