import { readFileSync } from 'node:fs';

/**
 * Resident set size of process `pid` in bytes, from /proc/<pid>/status (VmRSS), or null where
 * /proc is not available (not Linux) or the process is gone. Synchronous: one small file read.
 */
export function readRssBytes(pid: number): number | null {
  let status: string;
  try {
    status = readFileSync(`/proc/${pid}/status`, 'latin1');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ESRCH' || code === 'EACCES') return null;
    throw err;
  }
  const match = /^VmRSS:\s+(\d+)\s+kB$/m.exec(status);
  return match === null ? null : Number(match[1]) * 1024;
}
