import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { spawnServer } from '../../server/spawn.js';
import { parseStatChildrenCpuNs, processCpuNs } from '../../bench/run/server-cpu.js';
import { TargetStartError } from '../../bench/errors.js';
import { spawnRedis } from '../../bench/run/redis-server.js';
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
/** cutime + cstime of /proc/<pid>/stat: CPU of children the process waited for, ns. */
async function childrenCpuNs(pid: number): Promise<number> {
  return parseStatChildrenCpuNs(await readFile(`/proc/${pid}/stat`, 'utf8')) ?? NaN;
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

/** Starts redis-server with `log` (appendonly no, or yes with that appendfsync), RDB snapshots off. */
export async function startRedis(binary: string, log: LogSetting, parent: string): Promise<CostServer> {
  const args = log === 'off' ? ['--appendonly', 'no'] : ['--appendonly', 'yes', '--appendfsync', log];
  const outcome = await spawnRedis(binary, args, undefined, parent);
  if ('failure' in outcome) throw new TargetStartError(`${binary} ${args.join(' ')} did not get ready:\n${outcome.failure}`);
  return { server: 'redis', log, port: outcome.port, pid: outcome.pid, stop: () => outcome.stop(30_000) };
}
