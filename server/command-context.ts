// What a command handler can reach: the store, persistence, configuration, statistics and the
// client it serves. Kept apart from the command table so that INFO (info.ts) and the server can
// name these types without importing the table, and the table can import INFO without a cycle.

import type { Store } from './store.js';
import type { ServerConfig } from './config.js';
import type { Logger } from './log.js';

/** What INFO reads besides the command context's store, stats and persistence. */
export interface InfoSource {
  /** Connections open right now. */
  connectedClients(): number;
  /** Commands per second over the last full second. */
  instantaneousOpsPerSec(): number;
  /** The port actually bound (differs from config.port when that was 0). */
  boundPort(): number;
}

/** What a command may ask of persistence; implemented by persistence/persistence.ts. */
export interface Durability {
  logWrite(args: readonly string[], argc: number): void;
  writeBlockedReason(): string | null;
  save(): Promise<void>;
  bgsave(): boolean;
  readonly lastSaveUnixSec: number;
  info(): Array<[string, string | number]>;
}

/** Per-connection state that commands read or change. */
export interface ClientState {
  readonly id: number;
  readonly address: string;
  name: string;
  authenticated: boolean;
  /** Set by QUIT: close the connection once the reply is written. */
  closeAfterReply: boolean;
}

export interface ServerStats {
  commandsProcessed: number;
  connectionsReceived: number;
  rejectedConnections: number;
  keyspaceHits: number;
  keyspaceMisses: number;
  protocolErrors: number;
  startedAtMs: number;
}

/** Everything a command handler can reach, besides its arguments and the reply writer. */
export interface CommandContext extends InfoSource {
  readonly store: Store;
  readonly durability: Durability;
  readonly config: ServerConfig;
  readonly stats: ServerStats;
  readonly log: Logger;
  /** Loop iterations of cpu-burn.ts per command that make up --inject-cpu-us (0: off). */
  readonly injectIterations: number;
  /** Ends the server: final snapshot unless save is false; resolves with an error message if it refused. */
  shutdown(save: boolean | null): Promise<string | null>;
}
