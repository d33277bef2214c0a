// The servers a run measures: N kvring servers (through server/spawn.ts, the one way to start
// one), N redis-server processes, or servers that already run (--servers). Everything started
// here is registered in a TargetSet the moment it exists, so that one `stop()` — at the end, on
// an error, on Ctrl-C — leaves no process and no temporary folder behind.

import { execa } from 'execa';
import { spawnServer, type RunningServer } from '../../server/spawn.js';
import { spawnRedis } from './redis-server.js';
import { sendCommand } from '../../protocol/one-shot.js';
import type { BenchConfig } from './config.js';
import { RedisNotInstalledError, TargetStartError, TargetUnreachableError } from '../errors.js';
import type { TargetKind } from '../results.js';

const READY_TIMEOUT_MS = 15_000;
const STOP_TIMEOUT_MS = 5_000;

/** What --chaos may do to a server this run started (bench/run/chaos-runner.ts). */
export interface ServerHandle {
  readonly address: string;
  /** Sends `signal` to the server's current process (SIGKILL, SIGSTOP, SIGCONT). */
  signal(signal: NodeJS.Signals): void;
  /** Starts it again on the same port with the same data folder; resolves once it is ready. */
  restart(): Promise<void>;
}

/** Servers of one run, in sweep order; stop() stops those this run started. Idempotent. */
export class TargetSet {
  readonly addresses: string[] = [];
  /** Child process ids, for tests and diagnostics. */
  readonly pids: number[] = [];
  /** Servers this run started, in sweep order (none for --servers). */
  readonly handles: ServerHandle[] = [];
  private readonly stoppers: (() => Promise<void>)[] = [];
  private stopping: Promise<void> | null = null;

  /** Places server `index` (start order), new or restarted, on its cores (run/placement.ts); none: unpinned. */
  place: ((index: number, pid: number) => Promise<void>) | null = null;

  constructor(readonly kind: TargetKind) {}

  /** Applies `place` to server `index` once its process `pid` runs. */
  async placeServer(index: number, pid: number | null): Promise<void> {
    if (this.place !== null && pid !== null) await this.place(index, pid);
  }

  /** The process serving each address now (it changes when --chaos restarts a server). */
  private readonly currentPid = new Map<string, () => number | null>();

  add(address: string, pid: number | null, stop: (() => Promise<void>) | null, currentPid: () => number | null = () => pid): void {
    this.addresses.push(address);
    if (pid !== null) this.pids.push(pid);
    if (stop !== null) this.stoppers.push(stop);
    this.currentPid.set(address, currentPid);
  }

  /** The process id serving each of `addresses` now; null for servers this run did not start. */
  pidsOf(addresses: readonly string[]): (number | null)[] {
    return addresses.map((a) => this.currentPid.get(a)?.() ?? null);
  }

  /** Registers a cleanup for something not yet in `addresses` (a server still starting). */
  onStop(stop: () => Promise<void>): void {
    this.stoppers.push(stop);
  }

  get stopped(): boolean {
    return this.stopping !== null;
  }

  stop(): Promise<void> {
    if (this.stopping === null) {
      this.stopping = Promise.allSettled(this.stoppers.map((s) => s())).then(() => undefined);
    }
    return this.stopping;
  }
}

/**
 * Starts (or checks) the run's servers into `set`. On failure everything started so far is
 * stopped and the error says which server failed and what it printed.
 */
export async function startTargets(config: BenchConfig, set: TargetSet): Promise<void> {
  try {
    if (set.kind === 'external') await checkExternal(config.servers, set, config.timeoutMs);
    else if (set.kind === 'redis') await startRedis(config, set);
    else await startKvring(config, set);
  } catch (err) {
    await set.stop();
    throw err;
  }
}

async function checkExternal(addresses: string[], set: TargetSet, timeoutMs: number): Promise<void> {
  for (const address of addresses) {
    try {
      await sendCommand(address, ['PING'], Math.min(timeoutMs, 5000));
    } catch (err) {
      throw new TargetUnreachableError(address, (err as Error).message);
    }
    set.add(address, null, null);
  }
}

async function startKvring(config: BenchConfig, set: TargetSet): Promise<void> {
  // One at a time: on two cores parallel start-ups only compete, and a failure stops the rest.
  for (let i = 0; i < config.numServers; i++) {
    try {
      const server = await spawnServer({ args: config.serverFlags, readyTimeoutMs: READY_TIMEOUT_MS });
      let current: RunningServer = server;
      await set.placeServer(i, server.pid);
      const restarted: RunningServer[] = [];
      set.add(
        server.address,
        server.pid,
        async () => {
          // Restarts share the first one's folder (keepDir): stop them first, the first one removes it.
          await Promise.all(restarted.map((r) => r.stop({ timeoutMs: STOP_TIMEOUT_MS })));
          await server.stop({ timeoutMs: STOP_TIMEOUT_MS });
        },
        () => current.pid,
      );
      set.handles.push({
        address: server.address,
        signal: (signal) => current.kill(signal),
        restart: async () => {
          const again = await spawnServer({ port: server.port, dir: server.dir, keepDir: true, args: config.serverFlags, readyTimeoutMs: READY_TIMEOUT_MS });
          restarted.push(again);
          current = again;
          await set.placeServer(i, again.pid);
          // The run is already stopping its servers: this one must not outlive it.
          if (set.stopped) await again.stop({ timeoutMs: STOP_TIMEOUT_MS });
        },
      });
    } catch (err) {
      throw new TargetStartError(`kvring server ${i + 1} of ${config.numServers} did not start (flags: ${config.serverFlags.join(' ') || 'none'}):\n${(err as Error).message}`);
    }
  }
}

async function ensureRedisInstalled(binary: string): Promise<void> {
  const probe = await execa(binary, ['--version'], { reject: false, timeout: 10_000 });
  if (probe.failed && (probe.code === 'ENOENT' || probe.exitCode === undefined || probe.exitCode === 127)) throw new RedisNotInstalledError(binary);
}

async function startRedis(config: BenchConfig, set: TargetSet): Promise<void> {
  await ensureRedisInstalled(config.redisServer);
  for (let i = 0; i < config.numServers; i++) {
    let lastError = '';
    let started = false;
    for (let attempt = 0; attempt < 3 && !started; attempt++) {
      const outcome = await startOneRedis(config.redisServer, set, i);
      if (outcome === null) started = true;
      else lastError = outcome;
    }
    if (!started) throw new TargetStartError(`redis-server ${i + 1} of ${config.numServers} did not start:\n${lastError}`);
  }
}

/** Starts one redis-server on loopback into `set`; null once ready, else what it printed. */
async function startOneRedis(binary: string, set: TargetSet, index: number): Promise<string | null> {
  const outcome = await spawnRedis(binary, ['--appendonly', 'no'], (stop) => set.onStop(stop));
  if ('failure' in outcome) return outcome.failure;
  set.add(`127.0.0.1:${outcome.port}`, outcome.pid, null);
  await set.placeServer(index, outcome.pid);
  return null;
}
