import { createServer, type Server as NetServer, type Socket } from 'node:net';
import { once } from 'node:events';
import type { ServerConfig } from './config.js';
import type { Logger } from './log.js';
import { Store } from './store.js';
import { Connection, type ConnectionHost } from './connection.js';
import type { CommandContext, Durability, ServerStats } from './command-context.js';
import { calibrateBurn } from './cpu-burn.js';
import { DEFAULT_REQUEST_LIMITS, type RequestLimits } from '../protocol/decoder.js';
import type { AckWait, LogAckWaiter } from './persistence/persistence.js';

/** What the server needs from persistence beyond what commands use. */
export interface ServerDurability extends Durability {
  /** Logical end of the append-only log (0 without one). */
  logEnd(): number;
  /** Whether replies would have to wait for the log now. */
  mustHoldReplies(loggedWrites: boolean): boolean;
  /** Holds a batch's replies until the log has its writes. */
  holdReplies(waiter: LogAckWaiter, loggedWrites: boolean): AckWait;
  start(): void;
  close(options: { save: boolean }): Promise<boolean>;
}

/**
 * The KV server: one event loop serves every connection (the Redis model; scale-out is more
 * processes on the ring). Owns the listening socket, the connections and the shutdown sequence.
 */
export class KvServer implements ConnectionHost {
  readonly ctx: CommandContext;
  readonly limits: RequestLimits;
  private readonly net: NetServer;
  private readonly connections = new Set<Connection>();
  private opsLastSecond = 0;
  private commandsAtLastTick = 0;
  private readonly opsTimer: NodeJS.Timeout;
  private shuttingDown: Promise<string | null> | null = null;
  /** Called once the process should end, with its exit code. */
  onExit: (code: number) => void = (code) => process.exit(code);

  constructor(
    readonly config: ServerConfig,
    readonly store: Store,
    private readonly durability: ServerDurability,
    private readonly log: Logger,
  ) {
    this.limits = {
      maxBulkBytes: config.maxBulkBytes,
      maxArgs: config.maxArgs,
      maxQueryBytes: config.maxQueryBytes,
      maxInlineBytes: DEFAULT_REQUEST_LIMITS.maxInlineBytes,
    };
    const stats: ServerStats = {
      commandsProcessed: 0,
      connectionsReceived: 0,
      rejectedConnections: 0,
      keyspaceHits: 0,
      keyspaceMisses: 0,
      protocolErrors: 0,
      startedAtMs: Date.now(),
    };
    const server = this;
    this.ctx = {
      store,
      durability,
      config,
      stats,
      log,
      injectIterations: config.injectCpuUs > 0 ? Math.round(config.injectCpuUs * calibrateBurn()) : 0,
      shutdown: (save) => server.shutdown(save),
      connectedClients: () => server.connections.size,
      instantaneousOpsPerSec: () => server.opsLastSecond,
      boundPort: () => server.port,
    };
    this.net = createServer({ noDelay: true, pauseOnConnect: true }, (socket) => this.accept(socket));
    this.opsTimer = setInterval(() => {
      this.opsLastSecond = stats.commandsProcessed - this.commandsAtLastTick;
      this.commandsAtLastTick = stats.commandsProcessed;
    }, 1000);
    this.opsTimer.unref();
  }

  get port(): number {
    const address = this.net.address();
    return address !== null && typeof address === 'object' ? address.port : this.config.port;
  }

  async listen(): Promise<void> {
    this.net.listen({ port: this.config.port, host: this.config.bind, backlog: 4096 });
    // A failure to listen is the start-up failure main.ts reports in one line; only errors after
    // that are logged here.
    await Promise.race([once(this.net, 'listening'), once(this.net, 'error').then(([err]) => Promise.reject(err))]);
    this.net.on('error', (err) => this.log.error({ err }, 'listening socket error'));
    this.durability.start();
  }

  logEnd(): number {
    return this.durability.logEnd();
  }

  mustHoldReplies(loggedWrites: boolean): boolean {
    return this.durability.mustHoldReplies(loggedWrites);
  }

  holdReplies(waiter: LogAckWaiter, loggedWrites: boolean): AckWait {
    return this.durability.holdReplies(waiter, loggedWrites);
  }

  onClose(connection: Connection): void {
    this.connections.delete(connection);
  }

  logRequest(command: string, key: string, result: string, micros: number): void {
    this.log.info({ cmd: command, key, result, us: Math.round(micros * 10) / 10 }, 'request');
  }

  private accept(socket: Socket): void {
    this.ctx.stats.connectionsReceived++;
    if (this.shuttingDown !== null) {
      socket.destroy();
      return;
    }
    if (this.connections.size >= this.config.maxClients) {
      this.ctx.stats.rejectedConnections++;
      socket.on('error', () => socket.destroy());
      socket.end('-ERR max number of clients reached\r\n');
      return;
    }
    this.connections.add(new Connection(socket, this));
  }

  /**
   * Ends the server: stops accepting, takes the final snapshot (unless save is false; with save
   * null, only if persistence is on), flushes the log, closes every connection, then exits 0.
   * Resolves with an error message, and keeps serving, if an explicit SAVE snapshot failed.
   */
  shutdown(save: boolean | null): Promise<string | null> {
    if (this.shuttingDown !== null) return this.shuttingDown;
    this.shuttingDown = this.doShutdown(save);
    return this.shuttingDown;
  }

  private async doShutdown(save: boolean | null): Promise<string | null> {
    this.log.info({ save }, 'shutting down');
    if (save === true) {
      try {
        await this.durability.save();
      } catch (err) {
        this.shuttingDown = null;
        this.log.error({ err }, 'SHUTDOWN SAVE refused: the final snapshot failed');
        return `the final snapshot failed: ${(err as Error).message}`;
      }
    }
    // With no explicit mode the final snapshot is best effort: a failure is logged, the exit goes on.
    const closedCleanly = await this.durability.close({ save: save === null });
    clearInterval(this.opsTimer);
    this.net.close();
    // Let the SHUTDOWN reply go out before the connections are ended.
    setImmediate(() => {
      for (const c of this.connections) c.end();
      this.log.info({ keys: this.store.size, finalSnapshot: closedCleanly }, 'bye');
      // A failed final snapshot means writes since the last good one are gone: say so in the exit code.
      this.onExit(closedCleanly ? 0 : 1);
    });
    return null;
  }
}
