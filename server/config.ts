import { flagsHelp, parseFlags, type FlagSpec } from '../cli/flags.js';
import { UsageError } from '../errors/kv-error.js';
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

/** A flag the server cannot start with; the message names it. */
const usageError = (message: string): UsageError => new UsageError('KV_ERR_SERVER_USAGE', message);

/**
 * The server's flags, declared once: `--help`, validation and the manual's table come from here.
 * Names are kebab-case as Redis's; camelCase spellings work too (--max-clients / --maxClients).
 */
export const SERVER_OPTIONS = {
  port: { type: 'number', default: 7001, describe: 'TCP port; 0 picks a free one (see the ready line)' },
  bind: { type: 'string', default: '127.0.0.1', describe: 'address to listen on; 0.0.0.0 exposes the server to the network' },
  dir: { type: 'string', default: './data', describe: 'data folder for the snapshot and the log; created if missing' },
  'snapshot-interval': { type: 'number', default: 5, describe: 'seconds between snapshots (taken only if something changed); 0 = off' },
  appendonly: { type: 'string', choices: ['yes', 'no'], default: 'no', describe: 'also log every write to an append-only file, replayed at start-up' },
  appendfsync: { type: 'string', choices: ['always', 'everysec', 'no'], default: 'everysec', describe: 'when the log is fsynced: before each reply (always), once a second, or by the OS' },
  'discard-corrupt': { type: 'boolean', default: false, describe: 'instead of refusing to start on a corrupt snapshot or log: move the damaged files aside (*.corrupt-<time>) and start from what is intact (empty, for a corrupt snapshot)' },
  'max-clients': { type: 'number', default: 10000, describe: 'connections beyond this get "-ERR max number of clients reached" and are closed' },
  'max-bulk-bytes': { type: 'number', default: DEFAULT_REQUEST_LIMITS.maxBulkBytes, describe: 'largest bulk string (key or value) accepted, bytes' },
  'max-args': { type: 'number', default: DEFAULT_REQUEST_LIMITS.maxArgs, describe: 'most arguments in one command' },
  'max-query-bytes': { type: 'number', default: DEFAULT_REQUEST_LIMITS.maxQueryBytes, describe: 'most bytes of one incomplete command held for a client' },
  'max-output-bytes': { type: 'number', default: 64 * MiB, describe: 'replies pending for a client that does not read; beyond it the server stops reading that client until it catches up' },
  requirepass: { type: 'string', describe: 'password that AUTH must give before any other command' },
  'log-level': { type: 'string', choices: ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'], default: 'info', describe: 'pino log level; at debug or trace a start-up failure is also logged with its stack' },
  'log-file': { type: 'string', describe: 'write logs to this file instead of stderr' },
  'log-requests': { type: 'boolean', default: false, describe: 'log every GET/SET/DEL with key, result and microseconds (slow: for debugging)' },
  'stop-on-stdin-eof': { type: 'boolean', default: false, describe: 'shut down (with the final snapshot) when standard input closes: how spawned servers never outlive the process that started them, even one killed with SIGKILL' },
  'inject-cpu-us': { type: 'number', default: 0, describe: 'testing aid: add a fixed amount of CPU work per command, sized at start-up to take this many microseconds, to simulate a slower build' },
} as const satisfies Record<string, FlagSpec>;

const PARSER = {
  command: 'server',
  usage: 'Usage: $0 [options]\n\nA RESP2 key-value server: GET/SET(PUT)/DEL(DELETE) over TCP, snapshots and an optional append-only log.',
  epilogue: ['Exit codes: 0 stopped cleanly, 1 could not start (the one line on stderr says why), 2 bad flag.'],
  specs: SERVER_OPTIONS,
  positional: false,
  camelCase: true,
  usageError,
};

export type ServerArgs = { kind: 'config'; config: ServerConfig } | { kind: 'help'; text: string };

function check(ok: boolean, message: string): void {
  if (!ok) throw usageError(message);
}

/** Parses command-line flags; throws a UsageError (KV_ERR_SERVER_USAGE) naming the flag. */
export function parseServerConfig(argv: string[]): ServerArgs {
  const outcome = parseFlags(PARSER, argv);
  if (outcome.kind === 'help') return outcome;
  const a = outcome.argv;
  const num = (name: keyof typeof SERVER_OPTIONS): number => Number(a[name]);
  for (const name of ['port', 'snapshot-interval', 'inject-cpu-us'] as const) {
    check(Number.isFinite(num(name)) && num(name) >= 0, `--${name} must be a number >= 0, got ${String(a[name])}`);
  }
  check(Number.isInteger(num('port')) && num('port') <= 65535, `--port must be an integer from 0 to 65535, got ${String(a.port)}`);
  for (const name of ['max-clients', 'max-bulk-bytes', 'max-args', 'max-query-bytes', 'max-output-bytes'] as const) {
    check(Number.isInteger(num(name)) && num(name) > 0, `--${name} must be a positive integer, got ${String(a[name])}`);
  }
  check(num('max-bulk-bytes') <= MAX_BULK_BYTES_CEILING, `--max-bulk-bytes can be at most ${MAX_BULK_BYTES_CEILING} (512 MiB)`);
  const str = (name: keyof typeof SERVER_OPTIONS): string | null => (typeof a[name] === 'string' ? (a[name] as string) : null);
  return {
    kind: 'config',
    config: {
      port: num('port'),
      // parseFlags applied SERVER_OPTIONS' defaults: these are always strings.
      bind: String(a.bind),
      dir: String(a.dir),
      snapshotIntervalSec: num('snapshot-interval'),
      appendOnly: a.appendonly === 'yes',
      appendFsync: a.appendfsync as AppendFsync,
      discardCorrupt: a['discard-corrupt'] === true,
      maxClients: num('max-clients'),
      maxBulkBytes: num('max-bulk-bytes'),
      maxArgs: num('max-args'),
      maxQueryBytes: num('max-query-bytes'),
      maxOutputBytes: num('max-output-bytes'),
      requirePass: str('requirepass'),
      logLevel: String(a['log-level']),
      logFile: str('log-file'),
      logRequests: a['log-requests'] === true,
      injectCpuUs: num('inject-cpu-us'),
      stopOnStdinEof: a['stop-on-stdin-eof'] === true,
    },
  };
}

/** The help text, for the manual's checks and tests. */
export function serverHelpText(width?: number): Promise<string> {
  return Promise.resolve(flagsHelp(PARSER, width));
}
