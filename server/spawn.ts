import { execa, type Options, type ResultPromise } from 'execa';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createInterface } from 'node:readline';
import { KvError } from '../errors/kv-error.js';

// The one way to start a kvring server as a child process: tests, the local cluster script and
// the bench harness all come through here. The child prints one JSON ready line on stdout once
// it listens; everything else it says goes to stderr, kept here for error messages.

const MAIN_JS = join(dirname(fileURLToPath(import.meta.url)), 'main.js');

export interface SpawnOptions {
  /** 0 (default) lets the server pick a free port; the ready line says which. */
  port?: number;
  host?: string;
  /** Data folder; default: a fresh temporary folder, removed by stop() unless keepDir. */
  dir?: string;
  keepDir?: boolean;
  /** Extra server flags, e.g. ['--appendonly', 'yes']. */
  args?: string[];
  readyTimeoutMs?: number;
  /** Extra environment for the child. */
  env?: Record<string, string>;
  /** The server build to run (default: this build's dist/server/main.js), e.g. another checkout's. */
  main?: string;
  /** Node flags before the script, e.g. ['--predictable']. */
  nodeArgs?: readonly string[];
  /** A program that runs node, with its flags, e.g. ['strace', '-f', '-o', 'out']. */
  launcher?: readonly string[];
  /** Kills the child after this long, ready or not (default: never). */
  timeoutMs?: number;
}

export interface ExitStatus {
  code: number | null;
  signal: string | null;
}

export interface RunningServer {
  readonly host: string;
  readonly port: number;
  readonly pid: number;
  /** "host:port", as the ring and the CLI name servers. */
  readonly address: string;
  readonly dir: string;
  /** Graceful stop (SIGTERM: final snapshot), escalating to SIGKILL after timeoutMs; removes a temp dir. */
  stop(options?: { signal?: NodeJS.Signals; timeoutMs?: number }): Promise<ExitStatus>;
  /** Sends a signal and returns at once (SIGKILL to crash it, SIGSTOP/SIGCONT to hang it). */
  kill(signal?: NodeJS.Signals): void;
  readonly exited: Promise<ExitStatus>;
  /** What the server wrote on stderr so far (its log, unless --log-file), last 64 KiB. */
  stderrText(): string;
}

export class ServerStartError extends KvError {
  readonly code = 'KV_ERR_SERVER_START';
  constructor(
    message: string,
    readonly stderr: string,
  ) {
    super(message);
  }
}

const STDERR_KEEP_BYTES = 64 * 1024;

interface ReadyLine {
  event: 'ready';
  port: number;
  pid: number;
  host: string;
}

function isReadyLine(value: unknown): value is ReadyLine {
  return typeof value === 'object' && value !== null && (value as { event?: unknown }).event === 'ready' && typeof (value as { port?: unknown }).port === 'number';
}

/**
 * Servers run in a session of their own (setsid). Linux's autogroup scheduling gives each session
 * a fair share of a core as a whole, where threads of one session compete one by one: in the
 * bench's session a server shares its core with the bench's own helper threads (main thread, V8's
 * and libuv's), whose short bursts then preempt it. Measured on 2 vCPUs, GET at 24k/s against a
 * redis-server pinned beside those threads, 3 runs each: p99 2.6–3.3 ms and p99.9 9–10 ms with the
 * server in the bench's session, 0.8–1.7 ms and 2.9–3.8 ms in its own. Without autogroup
 * (disabled, or processes in cgroups of their own as under systemd) it changes nothing.
 */
const OWN_SESSION = process.platform !== 'win32';

/** Something that can be killed: a child process. */
interface Killable {
  kill(signal?: NodeJS.Signals): boolean;
}

const ownSessionChildren = new Set<Killable>();
let reaperInstalled = false;

function killOwnSessionChildren(): void {
  for (const child of ownSessionChildren) child.kill('SIGKILL');
}

/**
 * Kills `child` when this process exits or dies of SIGINT, SIGTERM or SIGHUP — what execa's
 * `cleanup` does, which skips detached children (as signal-exit does: a signal this process
 * handles itself, like the bench's Ctrl-C, is left to that handler, whose exit then kills).
 * Returns the function that forgets the child once it has ended.
 */
function killWithThisProcess(child: Killable): () => void {
  if (!reaperInstalled) {
    reaperInstalled = true;
    process.on('exit', killOwnSessionChildren);
    for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
      const onSignal = (): void => {
        if (process.listenerCount(signal) > 1) return;
        killOwnSessionChildren();
        // Die of the signal as if this handler had never been there.
        process.off(signal, onSignal);
        process.kill(process.pid, signal);
      };
      process.on(signal, onSignal);
    }
  }
  ownSessionChildren.add(child);
  return () => {
    ownSessionChildren.delete(child);
  };
}

/**
 * Starts a server process (kvring's or redis-server) the one way: in a session of its own
 * (OWN_SESSION), killed with this process (killWithThisProcess).
 */
export function startServerProcess(file: string, args: readonly string[], options: Options): ResultPromise {
  const child: ResultPromise = execa(file, args, { ...options, detached: OWN_SESSION });
  const forget = killWithThisProcess(child);
  void child.then(forget, forget);
  return child;
}

/** Starts `node dist/server/main.js` and resolves once it printed its ready line. */
export async function spawnServer(options: SpawnOptions = {}): Promise<RunningServer> {
  const host = options.host ?? '127.0.0.1';
  const ownDir = options.dir === undefined;
  const dir = options.dir ?? (await mkdtemp(join(tmpdir(), 'kvring-')));
  const removeDir = ownDir && options.keepDir !== true;
  const node = [process.execPath, ...(options.nodeArgs ?? []), options.main ?? MAIN_JS, '--port', String(options.port ?? 0), '--bind', host, '--dir', dir, '--stop-on-stdin-eof', ...(options.args ?? [])];
  const [file, ...args] = [...(options.launcher ?? []), ...node];
  const child: ResultPromise = startServerProcess(file!, args, {
    // Kept open and never written: when this process dies, the server sees EOF and stops itself.
    stdin: 'pipe',
    stdout: 'pipe',
    stderr: 'pipe',
    reject: false,
    buffer: false,
    env: options.env,
    ...(options.timeoutMs === undefined ? {} : { timeout: options.timeoutMs }),
  });
  let stderr = '';
  child.stderr?.setEncoding('utf8');
  child.stderr?.on('data', (text: string) => {
    stderr += text;
    if (stderr.length > STDERR_KEEP_BYTES * 2) stderr = stderr.slice(-STDERR_KEEP_BYTES);
  });
  const exited: Promise<ExitStatus> = child.then((r) => ({ code: r.exitCode ?? null, signal: r.signal ?? null }));
  const cleanupDir = async (): Promise<void> => {
    if (removeDir) await rm(dir, { recursive: true, force: true });
  };

  const lines = createInterface({ input: child.stdout! });
  const timeoutMs = options.readyTimeoutMs ?? 15_000;
  let timer: NodeJS.Timeout | undefined;
  try {
    const ready = await new Promise<ReadyLine>((resolve, reject) => {
      timer = setTimeout(() => reject(new Error(`no ready line within ${timeoutMs} ms`)), timeoutMs);
      lines.on('line', (line) => {
        try {
          const parsed: unknown = JSON.parse(line);
          if (isReadyLine(parsed)) resolve(parsed);
        } catch {
          // Not JSON: the server prints only the ready line on stdout, so this is noise; ignore it.
        }
      });
      void exited.then((s) => reject(new Error(`exited before it was ready (code ${s.code}, signal ${s.signal})`)));
    });
    lines.removeAllListeners('line');
    // Keep draining stdout so the child never blocks on a full pipe.
    child.stdout?.resume();
    const address = `${host}:${ready.port}`;
    let stopping: Promise<ExitStatus> | null = null;
    return {
      host,
      port: ready.port,
      pid: ready.pid,
      address,
      dir,
      exited,
      stderrText: () => stderr.slice(-STDERR_KEEP_BYTES),
      kill: (signal = 'SIGKILL') => {
        child.kill(signal);
      },
      stop: (stopOptions = {}) => {
        if (stopping !== null) return stopping;
        stopping = (async () => {
          const killTimer = setTimeout(() => child.kill('SIGKILL'), stopOptions.timeoutMs ?? 10_000);
          // A stopped (SIGSTOP) server cannot act on SIGTERM until it is continued.
          child.kill('SIGCONT');
          child.kill(stopOptions.signal ?? 'SIGTERM');
          const status = await exited;
          clearTimeout(killTimer);
          await cleanupDir();
          return status;
        })();
        return stopping;
      },
    };
  } catch (err) {
    child.kill('SIGKILL');
    await exited;
    await cleanupDir();
    throw new ServerStartError(`kvring server failed to start: ${(err as Error).message}\n${stderr.trim()}`, stderr);
  } finally {
    clearTimeout(timer);
  }
}
