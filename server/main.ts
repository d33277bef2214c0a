#!/usr/bin/env node
// kvring server entry: flags → config → persistence (load) → listen → one ready line on stdout.
import { reportFailure } from '../cli/main.js';
import { KvError } from '../errors/kv-error.js';
import { parseServerConfig, type ServerConfig } from './config.js';
import { createLogger } from './log.js';
import { Store } from './store.js';
import { KvServer } from './server.js';
import { Persistence } from './persistence/persistence.js';

/** The server could not listen on its address; the message says why and what to change. */
export class ListenError extends KvError {
  readonly code = 'KV_ERR_SERVER_LISTEN';
}

/**
 * A start-up failure as the user can fix it: a listen failure named as such, persistence failures
 * (they carry their own KV_ERR_* code and name the file) as they are.
 */
function startupFailure(err: unknown, config: ServerConfig): unknown {
  const e = err as NodeJS.ErrnoException;
  const { port, bind } = config;
  if (e.code === 'EADDRINUSE') return new ListenError(`port ${port} on ${bind} is already in use: stop the other process, or pick another with --port (0 = any free port)`);
  if (e.code === 'EADDRNOTAVAIL') return new ListenError(`cannot listen on ${bind}: no such local address (see --bind)`);
  if (e.code === 'EACCES') return new ListenError(`not allowed to listen on ${bind}:${port} (ports below 1024 need privileges)`);
  return err;
}

async function main(): Promise<void> {
  let args;
  try {
    args = parseServerConfig(process.argv.slice(2));
  } catch (err) {
    process.exit(reportFailure(err, 'server'));
  }
  if (args.kind === 'help') {
    process.stdout.write(args.text);
    return;
  }
  const config = args.config;
  const log = createLogger(config.logLevel, config.logFile);
  const store = new Store();
  let server: KvServer;
  let loadedMs = 0;
  try {
    const loadStartedMs = Date.now();
    const persistence = await Persistence.open(store, {
      dir: config.dir,
      snapshotIntervalSec: config.snapshotIntervalSec,
      appendOnly: config.appendOnly,
      appendFsync: config.appendFsync,
      discardCorrupt: config.discardCorrupt,
      log,
    });
    loadedMs = Date.now() - loadStartedMs;
    server = new KvServer(config, store, persistence, log);
    await server.listen();
  } catch (err) {
    // One line for the user; the stack only for those who asked for it (--log-level debug).
    if (config.logLevel === 'debug' || config.logLevel === 'trace') log.fatal({ err }, 'start-up failed');
    process.exit(reportFailure(startupFailure(err, config), 'server'));
  }
  // Logged once listening, so that a failed start prints only its one error line.
  log.info({ keys: store.size, ms: loadedMs, dir: config.dir }, 'data loaded');
  const ready = { event: 'ready', port: server.port, pid: process.pid, host: config.bind };
  process.stdout.write(`${JSON.stringify(ready)}\n`);
  log.info({ port: server.port, bind: config.bind, appendonly: config.appendOnly, snapshotIntervalSec: config.snapshotIntervalSec }, 'ready');

  for (const signal of ['SIGTERM', 'SIGINT'] as const) {
    process.on(signal, () => {
      log.info({ signal }, 'signal received');
      void server.shutdown(null);
    });
  }
  if (config.stopOnStdinEof) {
    // The parent holds the other end of this pipe; it closes when the parent exits, however it dies.
    process.stdin.on('end', () => {
      log.info('standard input closed: the process that started this server is gone');
      void server.shutdown(null);
    });
    process.stdin.on('error', () => void server.shutdown(null));
    process.stdin.resume();
  }
  process.on('uncaughtException', (err) => {
    // A bug, never client input (that is answered with an error reply): log it and stop cleanly.
    log.fatal({ err }, 'uncaught exception');
    process.exit(70);
  });
}

void main();
