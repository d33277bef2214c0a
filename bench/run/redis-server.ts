// The one way kvring starts a redis-server to measure beside its own: on loopback, in its own
// temporary folder, RDB snapshots off, in the foreground so it dies with us, ready once it says
// "Ready to accept connections". Used by the bench (--target redis) and the comparison scripts.

import { mkdtemp, rm } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { startServerProcess } from '../../server/spawn.js';

const READY_TIMEOUT_MS = 15_000;

export interface RunningRedis {
  port: number;
  pid: number;
  /** SIGTERM, SIGKILL after `timeoutMs`; removes the folder. Idempotent. */
  stop(timeoutMs?: number): Promise<void>;
}

/** A loopback port that was free a moment ago (the server may still lose a race for it: retry). */
export function freePort(): Promise<number> {
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

/**
 * Starts `binary` with `args` after the fixed ones (e.g. ['--appendonly', 'yes']); resolves with
 * the running server, or with what it printed when it did not get ready. `onStarted` gets the stop
 * function as soon as the process exists, so an interrupt during start-up can stop it too.
 */
export async function spawnRedis(binary: string, args: readonly string[], onStarted: (stop: () => Promise<void>) => void = () => undefined, parent: string = tmpdir()): Promise<RunningRedis | { failure: string }> {
  const port = await freePort();
  const dir = await mkdtemp(join(parent, 'kvring-redis-'));
  const fixed = ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--dir', dir, '--daemonize', 'no', '--logfile', '', '--protected-mode', 'no'];
  const child = startServerProcess(binary, [...fixed, ...args], { stdin: 'ignore', stdout: 'pipe', stderr: 'pipe', reject: false, buffer: false });
  const exited = child.then(() => undefined);
  let stopped: Promise<void> | null = null;
  const stop = (timeoutMs = 5000): Promise<void> => {
    if (stopped === null) {
      stopped = (async () => {
        const killer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
        child.kill('SIGTERM');
        await exited;
        clearTimeout(killer);
        await rm(dir, { recursive: true, force: true });
      })();
    }
    return stopped;
  };
  onStarted(() => stop());
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
    void exited.then(() => {
      clearTimeout(timer);
      resolve(false);
    });
  });
  lines.removeAllListeners('line');
  child.stdout?.resume();
  if (!ready || child.pid === undefined) {
    await stop();
    return { failure: output.trim().split('\n').slice(-20).join('\n') };
  }
  return { port, pid: child.pid, stop };
}
