#!/usr/bin/env node
// kvring server entry: flags → config → persistence (load) → listen → one ready line on stdout.
import { parseServerConfig } from './config.js';
import { createLogger } from './log.js';
import { Store } from './store.js';
import { KvServer } from './server.js';
import { Persistence } from './persistence/persistence.js';

/** Start-up failures the user can fix: printed as one clear line, exit code 1, no stack trace. */
function startupMessage(err: unknown, port: number, bind: string): string {
  const e = err as NodeJS.ErrnoException;
  if (e.code === 'EADDRINUSE') return `port ${port} on ${bind} is already in use: stop the other process, or pick another with --port (0 = any free port)`;
  if (e.code === 'EADDRNOTAVAIL') return `cannot listen on ${bind}: no such local address (see --bind)`;
  if (e.code === 'EACCES') return `not allowed to listen on ${bind}:${port} (ports below 1024 need privileges)`;
  return e.message;
}

async function main(): Promise<void> {
  const config = parseServerConfig(process.argv.slice(2));
  const log = createLogger(config.logLevel, config.logFile);
  const store = new Store();
  let server: KvServer;
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
    log.info({ keys: store.size, ms: Date.now() - loadStartedMs, dir: config.dir }, 'data loaded');
    server = new KvServer(config, store, persistence, log);
    await server.listen();
  } catch (err) {
    const message = startupMessage(err, config.port, config.bind);
    log.fatal({ err }, message);
    process.stderr.write(`kvring-server: ${message}\n`);
    process.exit(1);
  }
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
