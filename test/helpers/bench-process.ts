// Runs `node dist/bench/run/cli.js` as a real child process for the bench's end-to-end tests, and
// looks at what it leaves behind (child processes, ports, temporary folders).
import { spawn, type ChildProcess } from 'node:child_process';
import { connect } from 'node:net';
import { readdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

export const BENCH_CLI = fileURLToPath(new URL('../../bench/run/cli.js', import.meta.url));

export interface BenchExit {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

export interface BenchChild {
  child: ChildProcess;
  /** Resolves with the first stderr line matching `pattern`. */
  waitForStderr(pattern: RegExp, timeoutMs?: number): Promise<string>;
  exited: Promise<BenchExit>;
}

/** Starts the bench CLI; the caller must await `exited` (or kill it) — register cleanup with after(). */
export function startBench(args: string[], env: Record<string, string> = {}, timeoutMs = 60_000): BenchChild {
  const child = spawn(process.execPath, [BENCH_CLI, ...args], { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  const waiters: { pattern: RegExp; resolve: (line: string) => void }[] = [];
  child.stdout!.setEncoding('utf8').on('data', (t: string) => {
    stdout += t;
  });
  child.stderr!.setEncoding('utf8').on('data', (t: string) => {
    stderr += t;
    for (const w of [...waiters]) {
      const line = stderr.split('\n').find((l) => w.pattern.test(l));
      if (line !== undefined) {
        waiters.splice(waiters.indexOf(w), 1);
        w.resolve(line);
      }
    }
  });
  const killer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
  const exited = new Promise<BenchExit>((resolve) => {
    child.on('exit', (code, signal) => {
      clearTimeout(killer);
      // 'exit' may come before the pipes are drained: wait for 'close' too.
      child.on('close', () => resolve({ code, signal, stdout, stderr }));
    });
  });
  return {
    child,
    exited,
    waitForStderr(pattern, waitMs = 30_000) {
      return new Promise((resolve, reject) => {
        const existing = stderr.split('\n').find((l) => pattern.test(l));
        if (existing !== undefined) {
          resolve(existing);
          return;
        }
        const timer = setTimeout(() => reject(new Error(`no stderr line matching ${pattern} within ${waitMs} ms; stderr so far:\n${stderr}`)), waitMs);
        waiters.push({
          pattern,
          resolve: (line) => {
            clearTimeout(timer);
            resolve(line);
          },
        });
        void exited.then(() => {
          clearTimeout(timer);
          reject(new Error(`bench exited before printing ${pattern}; stderr:\n${stderr}`));
        });
      });
    },
  };
}

export async function runBenchCli(args: string[], env: Record<string, string> = {}, timeoutMs = 60_000): Promise<BenchExit> {
  return startBench(args, env, timeoutMs).exited;
}

/** Direct children of `pid` with their command lines (Linux /proc). */
export function childProcesses(pid: number): { pid: number; cmdline: string[] }[] {
  const found: { pid: number; cmdline: string[] }[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      if (ppid !== pid) continue;
      const cmdline = readFileSync(`/proc/${entry}/cmdline`, 'utf8').split('\0').filter((s) => s !== '');
      found.push({ pid: Number(entry), cmdline });
    } catch (err) {
      // The process ended while we looked: not a child any more.
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT' && (err as NodeJS.ErrnoException).code !== 'ESRCH') throw err;
    }
  }
  return found;
}

/** Whether a process exists (zombies included). */
export function processExists(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ESRCH') return false;
    throw err;
  }
}

/** Resolves true if nothing accepts connections at host:port any more. */
export function portClosed(address: string): Promise<boolean> {
  const i = address.lastIndexOf(':');
  return new Promise((resolve) => {
    const s = connect({ host: address.slice(0, i), port: Number(address.slice(i + 1)) });
    s.once('connect', () => {
      s.destroy();
      resolve(false);
    });
    s.once('error', () => resolve(true));
  });
}
