import { execa } from 'execa';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { spawnServer } from '../../server/spawn.js';
import { processCpuNs } from '../../bench/run/server-cpu.js';
import { TargetStartError } from '../../bench/errors.js';
import type { LogSetting, ServerKind } from './summary.js';

// The servers the cost comparison measures: kvring (through server/spawn.ts) and redis-server,
// each with its log setting and its own data folder under `parent`, on loopback. Everything
// started is stopped by stop(), which also removes the folder.

export interface CostServer {
  readonly server: ServerKind;
  readonly log: LogSetting;
  readonly port: number;
  readonly pid: number;
  stop(): Promise<void>;
}

const READY_TIMEOUT_MS = 30_000;
/** /proc/<pid>/stat clock ticks (USER_HZ). */
const NS_PER_TICK = 1e9 / 100;

/** cutime + cstime of /proc/<pid>/stat: CPU of children the process waited for, ns. */
async function childrenCpuNs(pid: number): Promise<number> {
  const text = await readFile(`/proc/${pid}/stat`, 'utf8');
  const fields = text.slice(text.lastIndexOf(')') + 2).split(' ');
  // After the name, field 3 is index 0: cutime (16) and cstime (17) are 13 and 14.
  return (Number(fields[13]) + Number(fields[14])) * NS_PER_TICK;
}

/**
 * CPU a server used so far, ns: every thread (schedstat), plus children it waited for (Redis's
 * AOF rewrite runs in a forked child; kvring's compaction runs in-process). Throws if the process
 * is gone: a measurement must not silently read 0.
 */
export async function readCpuNs(pid: number): Promise<number> {
  const own = processCpuNs(pid);
  if (own === null) throw new Error(`cannot read the CPU time of process ${pid} from /proc (has it exited?)`);
  return own + (await childrenCpuNs(pid));
}

/** Starts kvring with `log`, snapshots off (only the log is measured). */
export async function startKvring(log: LogSetting, parent: string): Promise<CostServer> {
  const dir = await mkdtemp(join(parent, `kvring-${log}-`));
  const args = ['--snapshot-interval', '0', '--log-level', 'warn', ...(log === 'off' ? ['--appendonly', 'no'] : ['--appendonly', 'yes', '--appendfsync', log])];
  let server;
  try {
    server = await spawnServer({ dir, args, readyTimeoutMs: READY_TIMEOUT_MS });
  } catch (err) {
    await rm(dir, { recursive: true, force: true });
    throw new TargetStartError(`kvring (${args.join(' ')}) did not start: ${(err as Error).message}; run npm run build first`);
  }
  const running = server;
  return {
    server: 'kvring',
    log,
    port: running.port,
    pid: running.pid,
    stop: async () => {
      await running.stop({ timeoutMs: 30_000 });
      await rm(dir, { recursive: true, force: true });
    },
  };
}

/** A loopback port that was free a moment ago. */
function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const probe = createServer();
    probe.once('error', reject);
    probe.listen(0, '127.0.0.1', () => {
      const address = probe.address();
      const port = typeof address === 'object' && address !== null ? address.port : 0;
      probe.close(() => resolve(port));
    });
  });
}

/** Starts redis-server with `log` (appendonly no, or yes with that appendfsync), RDB snapshots off. */
export async function startRedis(binary: string, log: LogSetting, parent: string): Promise<CostServer> {
  const dir = await mkdtemp(join(parent, `redis-${log}-`));
  const port = await freePort();
  const args = ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--dir', dir, '--daemonize', 'no', '--logfile', '', '--protected-mode', 'no',
    ...(log === 'off' ? ['--appendonly', 'no'] : ['--appendonly', 'yes', '--appendfsync', log])];
  const child = execa(binary, args, { stdin: 'ignore', stdout: 'pipe', stderr: 'pipe', reject: false, buffer: false, cleanup: true });
  const exited = child.then(() => undefined);
  const stop = async (): Promise<void> => {
    const killer = setTimeout(() => child.kill('SIGKILL'), 30_000);
    child.kill('SIGTERM');
    await exited;
    clearTimeout(killer);
    await rm(dir, { recursive: true, force: true });
  };
  let output = '';
  child.stderr?.setEncoding('utf8');
  child.stderr?.on('data', (t: string) => {
    output += t;
  });
  const lines = createInterface({ input: child.stdout! });
  const ready = await new Promise<boolean>((resolve) => {
    const timer = setTimeout(() => resolve(false), READY_TIMEOUT_MS);
    lines.on('line', (line) => {
      output += `${line}\n`;
      if (line.includes('Ready to accept connections')) {
        clearTimeout(timer);
        resolve(true);
      }
    });
    void exited.then(() => resolve(false));
  });
  lines.removeAllListeners('line');
  child.stdout?.resume();
  if (!ready || child.pid === undefined) {
    await stop();
    throw new TargetStartError(`${binary} ${args.join(' ')} did not get ready:\n${output.trim().split('\n').slice(-20).join('\n')}`);
  }
  return { server: 'redis', log, port, pid: child.pid, stop };
}
