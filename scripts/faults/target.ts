import { spawnServer, type ExitStatus, type RunningServer } from '../../server/spawn.js';

// The server a fault tool works against: one it spawned (so it can tell a crash from a wedge,
// read its memory, and restart it), or an external host:port (then a dead server ends the run).

export interface FaultTarget {
  readonly host: string;
  readonly port: number;
  /** The server's pid when we spawned it, else null. */
  readonly pid: number | null;
  /** "spawned" or "external host:port", for reports. */
  readonly description: string;
  /** How the spawned server ended, once it has; always null for an external one. */
  exitStatus(): ExitStatus | null;
  /** The tail of the spawned server's stderr (its log); '' for an external one. */
  stderrTail(): string;
  /** Kills a spawned server (SIGKILL) and starts a fresh one; false for an external server. */
  restart(): Promise<boolean>;
  /** Stops a spawned server; nothing for an external one. */
  close(): Promise<void>;
}

/** Parses "host:port" (IPv4 or a name); null if it is not one. */
export function parseHostPort(text: string): { host: string; port: number } | null {
  const m = /^(.+):(\d{1,5})$/.exec(text);
  if (m === null) return null;
  const port = Number(m[2]);
  return port > 0 && port <= 65535 ? { host: m[1]!, port } : null;
}

export function externalTarget(host: string, port: number): FaultTarget {
  return {
    host,
    port,
    pid: null,
    description: `external ${host}:${port}`,
    exitStatus: () => null,
    stderrTail: () => '',
    restart: () => Promise.resolve(false),
    close: () => Promise.resolve(),
  };
}

/** Spawns a kvring server with `args` (in a fresh temp dir) and keeps it replaceable. */
export async function spawnedTarget(args: string[]): Promise<FaultTarget> {
  let server: RunningServer = await spawnServer({ args });
  let status: ExitStatus | null = null;
  const watch = (s: RunningServer): void => {
    void s.exited.then((st) => {
      if (s === server) status = st;
    });
  };
  watch(server);
  return {
    get host() {
      return server.host;
    },
    get port() {
      return server.port;
    },
    get pid() {
      return server.pid;
    },
    description: 'spawned',
    exitStatus: () => status,
    stderrTail: () => server.stderrText().slice(-4000),
    async restart() {
      const old = server;
      old.kill('SIGKILL');
      await old.stop({ timeoutMs: 2000 });
      server = await spawnServer({ args });
      status = null;
      watch(server);
      return true;
    },
    async close() {
      await server.stop({ timeoutMs: 5000 });
    },
  };
}
