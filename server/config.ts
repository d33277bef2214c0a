import yargs from 'yargs';
import type { AppendFsync } from './persistence/persistence.js';
import { DEFAULT_REQUEST_LIMITS, MAX_BULK_BYTES_CEILING } from '../protocol/decoder.js';

/** Every server setting, after defaults and validation. */
export interface ServerConfig {
  port: number;
  bind: string;
  dir: string;
  snapshotIntervalSec: number;
  appendOnly: boolean;
  appendFsync: AppendFsync;
  discardCorrupt: boolean;
  maxClients: number;
  maxBulkBytes: number;
  maxArgs: number;
  maxQueryBytes: number;
  maxOutputBytes: number;
  requirePass: string | null;
  logLevel: string;
  logFile: string | null;
  logRequests: boolean;
  injectCpuUs: number;
  stopOnStdinEof: boolean;
}

const MiB = 1024 * 1024;

/**
 * The server's flags, declared once: `--help`, validation and README's table come from here.
 * Both snake_case-free kebab names and camelCase work (yargs), e.g. --max-clients / --maxClients.
 */
function declareOptions(argv: string[]) {
  return yargs(argv)
    .scriptName('kvring-server')
    .usage('$0 [options]\n\nA RESP2 key-value server: GET/SET(PUT)/DEL(DELETE) over TCP, snapshots and an optional append-only log.')
    .option('port', { type: 'number', default: 7001, describe: 'TCP port; 0 picks a free one (see the ready line)' })
    .option('bind', { type: 'string', default: '127.0.0.1', describe: 'address to listen on; 0.0.0.0 exposes the server to the network' })
    .option('dir', { type: 'string', default: './data', describe: 'data folder for the snapshot and the log; created if missing' })
    .option('snapshot-interval', { type: 'number', default: 5, describe: 'seconds between snapshots (taken only if something changed); 0 = off' })
    .option('appendonly', { type: 'string', choices: ['yes', 'no'], default: 'no', describe: 'also log every write to an append-only file, replayed at start-up' })
    .option('appendfsync', { type: 'string', choices: ['always', 'everysec', 'no'], default: 'everysec', describe: 'when the log is fsynced: before each reply (always), once a second, or by the OS' })
    .option('discard-corrupt', { type: 'boolean', default: false, describe: 'instead of refusing to start on a corrupt snapshot or log: move the damaged files aside (*.corrupt-<time>) and start from what is intact (empty, for a corrupt snapshot)' })
    .option('max-clients', { type: 'number', default: 10000, describe: 'connections beyond this get "-ERR max number of clients reached" and are closed' })
    .option('max-bulk-bytes', { type: 'number', default: DEFAULT_REQUEST_LIMITS.maxBulkBytes, describe: 'largest bulk string (key or value) accepted, bytes' })
    .option('max-args', { type: 'number', default: DEFAULT_REQUEST_LIMITS.maxArgs, describe: 'most arguments in one command' })
    .option('max-query-bytes', { type: 'number', default: DEFAULT_REQUEST_LIMITS.maxQueryBytes, describe: 'most bytes of one incomplete command held for a client' })
    .option('max-output-bytes', { type: 'number', default: 64 * MiB, describe: 'replies pending for a client that does not read; beyond it the server stops reading that client until it catches up' })
    .option('requirepass', { type: 'string', describe: 'password that AUTH must give before any other command' })
    .option('log-level', { type: 'string', choices: ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'], default: 'info', describe: 'pino log level' })
    .option('log-file', { type: 'string', describe: 'write logs to this file instead of stderr' })
    .option('log-requests', { type: 'boolean', default: false, describe: 'log every GET/SET/DEL with key, result and microseconds (slow: for debugging)' })
    .option('stop-on-stdin-eof', { type: 'boolean', default: false, describe: 'shut down (with the final snapshot) when standard input closes: how spawned servers never outlive the process that started them, even one killed with SIGKILL' })
    .option('inject-cpu-us', { type: 'number', default: 0, describe: 'testing aid: add a fixed amount of CPU work per command, sized at start-up to take this many microseconds, to simulate a slower build' })
    .check((a) => {
      const nonNegative = ['port', 'snapshot-interval', 'inject-cpu-us'] as const;
      for (const name of nonNegative) {
        const v = a[name];
        if (!Number.isFinite(v) || v < 0) throw new Error(`--${name} must be a number >= 0, got ${String(v)}`);
      }
      if (!Number.isInteger(a.port) || a.port > 65535) throw new Error(`--port must be an integer from 0 to 65535, got ${a.port}`);
      const positive = ['max-clients', 'max-bulk-bytes', 'max-args', 'max-query-bytes', 'max-output-bytes'] as const;
      for (const name of positive) {
        const v = a[name];
        if (!Number.isInteger(v) || v <= 0) throw new Error(`--${name} must be a positive integer, got ${String(v)}`);
      }
      if (a['max-bulk-bytes'] > MAX_BULK_BYTES_CEILING) throw new Error(`--max-bulk-bytes can be at most ${MAX_BULK_BYTES_CEILING} (512 MiB)`);
      return true;
    })
    .strict()
    .wrap(100)
    .help()
    .version(false);
}

/** Parses command-line flags; exits with usage help on invalid input (yargs' behaviour). */
export function parseServerConfig(argv: string[]): ServerConfig {
  const a = declareOptions(argv).parseSync();
  return {
    port: a.port,
    bind: a.bind,
    dir: a.dir,
    snapshotIntervalSec: a['snapshot-interval'],
    appendOnly: a.appendonly === 'yes',
    appendFsync: a.appendfsync as AppendFsync,
    discardCorrupt: a['discard-corrupt'],
    maxClients: a['max-clients'],
    maxBulkBytes: a['max-bulk-bytes'],
    maxArgs: a['max-args'],
    maxQueryBytes: a['max-query-bytes'],
    maxOutputBytes: a['max-output-bytes'],
    requirePass: a.requirepass ?? null,
    logLevel: a['log-level'],
    logFile: a['log-file'] ?? null,
    logRequests: a['log-requests'],
    injectCpuUs: a['inject-cpu-us'],
    stopOnStdinEof: a['stop-on-stdin-eof'],
  };
}

/** The help text, for README generation and tests. */
export function serverHelpText(): Promise<string> {
  return declareOptions([]).getHelp();
}
