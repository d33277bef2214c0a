// `npm run cluster -- --num_servers 3`: a local kvring cluster for demos and manual testing.
//
// Starts N servers (ports base_port, base_port+1, ...) through server/spawn.ts, each with its own
// data folder under --dir (kept between runs, so data survives a restart) and its log next to it
// (every request too with --log_requests); writes the cluster file the command-line client reads; shows one status line per
// server (address, pid, state, keys); on Ctrl-C / SIGTERM stops them all gracefully (each takes a
// final snapshot) and removes the cluster file. If one server fails to start, the others are
// stopped and the script exits 1 with that server's error. When every server has exited (e.g.
// `npm run client -- END --all_servers`), the script cleans up and exits too.

import { spawn } from 'node:child_process';
import { mkdirSync, readFileSync } from 'node:fs';
import { join, relative, resolve } from 'node:path';
import { flagsHelp, parseFlags, type FlagSpec } from '../cli/flags.js';
import { reportFailure } from '../cli/main.js';
import { KvError, UsageError } from '../errors/kv-error.js';
import { spawnServer, type ExitStatus, type RunningServer } from '../server/spawn.js';
import { KvCluster } from '../client/cluster.js';
import {
  clusterFilePath,
  isProcessAlive,
  readClusterFile,
  removeClusterFile,
  writeClusterFile,
} from '../client/servers-file.js';

interface Settings {
  numServers: number;
  basePort: number;
  host: string;
  dir: string;
  logRequests: boolean;
  statusIntervalSec: number;
  serverArgs: string[];
}

/** Per-server state shown in the status block. */
interface ServerStatus {
  server: RunningServer;
  logFile: string;
  keys: number | null;
  state: 'up' | 'unreachable' | 'exited';
  exit: ExitStatus | null;
}

/** The cluster could not start; `code` says why (KV_ERR_CLUSTER_RUNNING, KV_ERR_CLUSTER_START). */
class ClusterError extends KvError {
  constructor(
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

/** A flag the cluster cannot start with. */
const usageError = (message: string): UsageError => new UsageError('KV_ERR_CLUSTER_USAGE', message);

export const CLUSTER_OPTIONS = {
  num_servers: { type: 'number', default: 3, describe: 'how many servers to start' },
  base_port: { type: 'number', default: 7001, describe: 'port of the first server; the others follow (7001, 7002, ...)' },
  host: { type: 'string', default: '127.0.0.1', describe: 'address the servers listen on' },
  dir: { type: 'string', default: '.kvring/data', describe: 'data folder: one sub-folder (server-PORT/) and one log (server-PORT.log) per server; kept between runs' },
  log_requests: { type: 'boolean', default: false, describe: 'also log every request to server-PORT.log: for debugging, it slows the servers several-fold and grows the log by megabytes a second under load' },
  status_interval: { type: 'number', default: 2, describe: 'seconds between status refreshes (keys per server); 0 = show once' },
  server_args: { type: 'string', default: '', describe: 'extra flags for every server, e.g. "--appendonly yes --snapshot-interval 1"' },
} as const satisfies Record<string, FlagSpec>;

const PARSER = {
  command: 'cluster',
  usage: 'Usage: $0 [options]\n\nStarts a local kvring cluster and writes the server list where `npm run client` finds it. Ctrl-C stops it (final snapshots).',
  specs: CLUSTER_OPTIONS,
  positional: false,
  usageError,
};

/** `npm run cluster -- --help`. */
export function clusterHelpText(width?: number): string {
  return flagsHelp(PARSER, width);
}

function parseSettings(argv: string[]): Settings | 'help' {
  const outcome = parseFlags(PARSER, argv);
  if (outcome.kind === 'help') return 'help';
  const a = outcome.argv;
  const numServers = Number(a.num_servers);
  const basePort = Number(a.base_port);
  const statusIntervalSec = Number(a.status_interval);
  if (!Number.isSafeInteger(numServers) || numServers < 1 || numServers > 100) {
    throw usageError(`--num_servers must be a whole number from 1 to 100, got ${String(a.num_servers)}`);
  }
  if (!Number.isSafeInteger(basePort) || basePort < 1 || basePort + numServers - 1 > 65535) {
    throw usageError(`--base_port must be a port such that all ${numServers} servers fit below 65536, got ${String(a.base_port)}`);
  }
  if (!Number.isFinite(statusIntervalSec) || statusIntervalSec < 0) {
    throw usageError(`--status_interval must be a number of seconds ≥ 0, got ${String(a.status_interval)}`);
  }
  return {
    numServers,
    basePort,
    host: String(a.host),
    dir: resolve(String(a.dir)),
    logRequests: a.log_requests === true,
    statusIntervalSec,
    serverArgs: String(a.server_args).split(/\s+/).filter((x) => x !== ''),
  };
}

/**
 * Servers must not outlive this script even if it is killed with SIGKILL (when no handler of ours
 * runs). A small detached watchdog process holds a pipe from us: we tell it each server pid as it
 * starts; if the pipe closes without a final "done" line (we died), it SIGTERMs those servers
 * (they still take their final snapshots) and removes the cluster file if it is still ours.
 * Detached, so a Ctrl-C in the terminal does not reach it.
 */
const WATCHDOG_SOURCE = `
const [clusterFile, supervisorPid] = process.argv.slice(1);
const pids = [];
let done = false;
let rest = '';
process.stdin.setEncoding('utf8');
process.stdin.on('data', (text) => {
  const lines = (rest + text).split('\\n');
  rest = lines.pop();
  for (const line of lines) {
    if (line === 'done') done = true;
    else if (/^pid \\d+$/.test(line)) pids.push(Number(line.slice(4)));
  }
});
process.stdin.on('end', () => {
  if (done) return;
  for (const pid of pids) {
    try { process.kill(pid, 'SIGTERM'); } catch (err) { if (err.code !== 'ESRCH') throw err; }
  }
  const fs = require('node:fs');
  try {
    if (JSON.parse(fs.readFileSync(clusterFile, 'utf8')).supervisorPid === Number(supervisorPid)) fs.rmSync(clusterFile);
  } catch (err) {
    if (err.code !== 'ENOENT') throw err;
  }
});
`;

interface Watchdog {
  watch(pid: number): void;
  /** Normal exit: everything is already stopped; the watchdog leaves without acting. */
  disarm(): void;
}

function startWatchdog(clusterFile: string): Watchdog {
  const child = spawn(process.execPath, ['-e', WATCHDOG_SOURCE, clusterFile, String(process.pid)], {
    stdio: ['pipe', 'ignore', 'ignore'],
    detached: true,
  });
  child.unref();
  const pipe = child.stdin!;
  // If the watchdog cannot be started or dies, the script still works, just without this guard.
  pipe.on('error', (err) => process.stderr.write(`cluster: orphan watchdog unavailable: ${err.message}\n`));
  return {
    watch: (pid) => void pipe.write(`pid ${pid}\n`),
    disarm: () => pipe.end('done\n'),
  };
}

/** Last lines of a server's log file, for start-up errors that went there instead of stderr. */
function logTail(path: string, lines = 5): string {
  try {
    return readFileSync(path, 'utf8').trimEnd().split('\n').slice(-lines).join('\n');
  } catch (err) {
    return `(no log: ${(err as Error).message})`;
  }
}

function statusLines(statuses: readonly ServerStatus[], cwd: string): string[] {
  return statuses.map((s) => {
    const keys = s.keys === null ? '-' : String(s.keys);
    const state =
      s.state === 'exited' && s.exit !== null
        ? `exited (${s.exit.signal ?? `code ${s.exit.code}`})`
        : s.state;
    return `  ${s.server.address.padEnd(21)} pid ${String(s.server.pid).padEnd(8)} ${state.padEnd(18)} keys ${keys.padEnd(9)} log ${relative(cwd, s.logFile)}`;
  });
}

async function main(): Promise<number> {
  let settings: Settings;
  try {
    const parsed = parseSettings(process.argv.slice(2));
    if (parsed === 'help') {
      process.stdout.write(clusterHelpText());
      return 0;
    }
    settings = parsed;
  } catch (err) {
    return reportFailure(err, 'cluster');
  }
  const cwd = process.cwd();
  const clusterFile = clusterFilePath();

  const existing = readClusterFile(clusterFile);
  if (existing !== null && existing.supervisorPid !== process.pid && isProcessAlive(existing.supervisorPid)) {
    return reportFailure(
      new ClusterError(
        'KV_ERR_CLUSTER_RUNNING',
        `a cluster is already running (pid ${existing.supervisorPid}: ${existing.servers.join(', ')}); ` +
          `stop it with Ctrl-C in its terminal or \`kill ${existing.supervisorPid}\`, or set KVRING_CLUSTER_FILE for a second one`,
      ),
      'cluster',
    );
  }

  mkdirSync(settings.dir, { recursive: true });
  const watchdog = startWatchdog(clusterFile);
  const ports = Array.from({ length: settings.numServers }, (_, i) => settings.basePort + i);
  const logFiles = ports.map((port) => join(settings.dir, `server-${port}.log`));

  // Started in parallel; whatever happens, every server that did start is in `running`.
  const running: RunningServer[] = [];
  const started = await Promise.allSettled(
    ports.map(async (port, i) => {
      const logArgs = settings.logRequests ? ['--log-requests'] : [];
      const server = await spawnServer({
        port,
        host: settings.host,
        dir: join(settings.dir, `server-${port}`),
        keepDir: true,
        args: [...logArgs, '--log-file', logFiles[i]!, ...settings.serverArgs],
      });
      running.push(server);
      watchdog.watch(server.pid);
      return server;
    }),
  );
  const failedIndex = started.findIndex((r) => r.status === 'rejected');
  if (failedIndex !== -1) {
    await Promise.all(running.map((s) => s.stop()));
    watchdog.disarm();
    const reason = (started[failedIndex] as PromiseRejectedResult).reason as Error;
    const code = reportFailure(
      new ClusterError('KV_ERR_CLUSTER_START', `server on port ${ports[failedIndex]} failed to start (${reason.message.trim()}); the others were stopped; its log follows`),
      'cluster',
    );
    process.stderr.write(`last lines of ${relative(cwd, logFiles[failedIndex]!)}:\n${logTail(logFiles[failedIndex]!)}\n`);
    return code;
  }
  const servers = started.map((r) => (r as PromiseFulfilledResult<RunningServer>).value);
  const statuses: ServerStatus[] = servers.map((server, i) => ({ server, logFile: logFiles[i]!, keys: null, state: 'up', exit: null }));

  writeClusterFile(clusterFile, {
    servers: servers.map((s) => s.address),
    pids: servers.map((s) => s.pid),
    supervisorPid: process.pid,
    dataDir: settings.dir,
    startedAt: new Date().toISOString(),
  });

  const client = new KvCluster(servers.map((s) => s.address), { requestTimeoutMs: 1000, probeIntervalMs: 500 });
  const tty = process.stdout.isTTY === true;
  let shownLines = 0;
  let lastShown = '';
  const show = (): void => {
    const lines = statusLines(statuses, cwd);
    const text = lines.join('\n');
    if (text === lastShown) return;
    // On a terminal the block is redrawn in place; in a pipe or file it is appended when it changes.
    if (tty && shownLines > 0) process.stdout.write(`\x1b[${shownLines}F\x1b[J`);
    process.stdout.write(`${text}\n`);
    shownLines = lines.length;
    lastShown = text;
  };

  const refresh = async (): Promise<void> => {
    await Promise.all(
      statuses.map(async (s) => {
        if (s.state === 'exited') return;
        try {
          s.keys = await client.dbsize(s.server.address);
          s.state = 'up';
        } catch {
          // Shown in the status line: the server is busy, stopped (SIGSTOP) or gone.
          if (s.state === 'up') s.state = 'unreachable';
        }
      }),
    );
    show();
  };

  let stopping: Promise<number> | null = null;
  let refreshTimer: NodeJS.Timeout | null = null;

  /** Stops every server (final snapshots), removes the cluster file; resolves with the exit code. */
  const stopAll = (why: string): Promise<number> => {
    if (stopping !== null) return stopping;
    stopping = (async () => {
      if (refreshTimer !== null) clearInterval(refreshTimer);
      process.stdout.write(`cluster: ${why}; stopping ${servers.length} server(s) (final snapshots)...\n`);
      const exits = await Promise.all(servers.map((s) => s.stop({ timeoutMs: 15_000 })));
      client.destroy();
      removeClusterFile(clusterFile, process.pid);
      watchdog.disarm();
      const bad = exits
        .map((e, i) => ({ e, address: servers[i]!.address }))
        .filter(({ e }) => e.code !== 0);
      for (const { e, address } of bad) {
        process.stderr.write(`cluster: ${address} ended with ${e.signal ?? `exit code ${e.code}`}\n`);
      }
      process.stdout.write(`cluster: stopped; data kept in ${relative(cwd, settings.dir) || '.'}\n`);
      return bad.length === 0 ? 0 : 1;
    })();
    return stopping;
  };

  const done = new Promise<number>((resolveDone) => {
    for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
      process.on(signal, () => {
        void stopAll(`${signal} received`).then(resolveDone);
      });
    }
    for (const s of statuses) {
      void s.server.exited.then((exit) => {
        s.state = 'exited';
        s.exit = exit;
        if (stopping !== null) return;
        process.stderr.write(`cluster: ${s.server.address} (pid ${s.server.pid}) exited with ${exit.signal ?? `code ${exit.code}`}\n`);
        // The message went below the block: draw a fresh block under it rather than over it.
        shownLines = 0;
        lastShown = '';
        show();
        if (statuses.every((x) => x.state === 'exited')) void stopAll('every server has exited').then(resolveDone);
      });
    }
  });

  // The ready line comes first and the status block last, so a terminal can redraw the block in place.
  process.stdout.write(
    `cluster ready: ${servers.length} server(s); cluster file ${relative(cwd, clusterFile)}; data in ${relative(cwd, settings.dir) || '.'}\n` +
      `  try: npm run client -- PUT key1 value1   (Ctrl-C stops the cluster)\n`,
  );
  await refresh();
  if (settings.statusIntervalSec > 0) {
    refreshTimer = setInterval(() => void refresh(), settings.statusIntervalSec * 1000);
  }
  return done;
}

process.exitCode = await main();
