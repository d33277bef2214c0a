// Optional peer programs the comparison scripts run beside kvring, found the same way by each:
// a flag, else an environment variable, else the PATH — never a path of one machine.

import { execa } from 'execa';
import { access, constants } from 'node:fs/promises';
import { delimiter, join } from 'node:path';
import { parseStatChildrenCpuNs } from '../bench/run/server-cpu.js';

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

/**
 * Runs a peer (or any command) under `sh`, which prints its own /proc stat after waiting for it:
 * the shell's cutime + cstime are then exactly the command's CPU time, start-up included.
 */
export async function runMeasured(cmd: string, args: readonly string[], timeoutMs = 600_000): Promise<{ stdout: string; cpuSec: number }> {
  const script = '"$@" 2>/dev/null; s=$?; cat /proc/$$/stat >&2; exit $s';
  const r = await execa('sh', ['-c', script, 'sh', cmd, ...args], { reject: false, timeout: timeoutMs });
  const statLine = (typeof r.stderr === 'string' ? r.stderr : '').trim().split('\n').pop() ?? '';
  if (r.exitCode !== 0) throw new Error(`${cmd} exited ${r.exitCode}: ${String(r.stdout).slice(-2000)}`);
  return { stdout: String(r.stdout), cpuSec: (parseStatChildrenCpuNs(statLine) ?? NaN) / 1e9 };
}
