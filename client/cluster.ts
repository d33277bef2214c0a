// KvCluster: a key-value client over N servers. Each key goes to the server the consistent-hash
// ring assigns it, over that server's persistent pipelined connection(s).
//
// Failover: a server that cannot be reached (connect refused/timed out, connection lost, request
// timed out) is marked down at once, 'node-down' is emitted, and its keys go to the next live
// server in the key's ring preference order (ring.lookupLive), which moves no other key. A
// background probe PINGs the down server with exponential, jittered backoff; when it answers it
// is marked up, 'node-up' is emitted, and its keys route to it again.
//
// A request in flight when its server fails: GET, PUT and DELETE are idempotent, so they are
// retried ONCE on the key's next live server (`failoverRetries`, default 1); if that also fails,
// or for commands sent to a named server (ping, info, shutdown) or through `command()`, the
// caller gets the error (ConnectionError / TimeoutError / NoLiveServerError). A promise never
// resolves unless a server answered it.
//
// No replication and no hand-off: writes made to a fallback server while the owner is down stay
// there; when the owner returns, reads of those keys see the owner's (older) copy again.
// ~490 lines: most of it is the public API (get/put/delete, their *WithServer forms, shutdown,
// stats) with its documentation; routing and failover are the short private part at the end.

import { EventEmitter } from 'node:events';
import { Ring, type KeyRouter, type RingOptions } from './ring.js';
import { DEFAULT_NODE_HEALTH, NodeHealth } from './node-health.js';
import { Connection, positive, type CommandArg, type ConnectionOptions, type RespValue } from './connection.js';
import {
  ConnectionError,
  InvalidOptionError,
  NoLiveServerError,
  ReplyError,
  ServerAddressError,
  TimeoutError,
  UnexpectedReplyError,
  describeReply,
  isUnreachable,
} from './errors.js';
import { canonicalAddress, parseAddress } from '../protocol/address.js';

export interface ClusterOptions extends Omit<ConnectionOptions, 'autoReconnect' | 'reconnectBaseDelayMs' | 'reconnectMaxDelayMs'> {
  /** Persistent connections per server, used round-robin (default 1; pipelining makes 1 enough for most loads). */
  readonly connectionsPerServer?: number;
  /** Retries on the key's next live server when its server is unreachable, for GET/PUT/DELETE (default 1; 0 = fail at once). */
  readonly failoverRetries?: number;
  /** First probe of a down server after this many ms (default 200); doubles per failed probe. */
  readonly probeIntervalMs?: number;
  /** Longest wait between probes of a down server, ms (default 5000). */
  readonly probeMaxIntervalMs?: number;
  /** Time a probe PING may take, ms (default 500). */
  readonly probeTimeoutMs?: number;
  /** Time SHUTDOWN may take (the server saves a final snapshot first), ms (default 30000). */
  readonly shutdownTimeoutMs?: number;
  /** Ring options (per-server weights, table size); see client/ring.ts. */
  readonly ring?: RingOptions;
  /**
   * Builds the key router from the canonical "host:port" ids instead of the default
   * `new Ring(ids, options.ring)`; e.g. `(ids) => new UhashringRing(ids)` to read data the original Python project placed.
   */
  readonly router?: (servers: readonly string[]) => KeyRouter;
}

export interface ClusterEvents {
  /** `server` was marked down; its keys now go to other servers. `error` is what showed it. */
  'node-down': [server: string, error: Error];
  /** `server` answered a probe and takes its keys again. */
  'node-up': [server: string];
}

/** Per-server counters from `stats()`. */
export interface ServerStats {
  server: string;
  up: boolean;
  /** Requests routed to this server (GET/PUT/DELETE/command), including failed ones. */
  requests: number;
  timeouts: number;
  /** Connection failures (refused, reset, closed) seen by requests. */
  connectionErrors: number;
  /** Error replies (`-ERR ...`) from this server. */
  replyErrors: number;
  /** Times this server was marked down. */
  downs: number;
  /** Requests currently awaiting a reply from it. */
  pending: number;
  /** Message of the last timeout/connection error, null if none. */
  lastError: string | null;
}

export interface ShutdownOutcome {
  server: string;
  /** null if the server confirmed it is shutting down. */
  error: Error | null;
}

/** A key: strings are sent (and hashed) as UTF-8; Buffers as they are. */
export type Key = string | Buffer;

const DEFAULTS = {
  connectionsPerServer: 1,
  failoverRetries: 1,
  shutdownTimeoutMs: 30000,
} as const;

class Node {
  up = true;
  requests = 0;
  timeouts = 0;
  connectionErrors = 0;
  replyErrors = 0;
  downs = 0;
  lastError: string | null = null;
  private nextConnection = 0;

  constructor(
    readonly id: string,
    readonly index: number,
    readonly connections: readonly Connection[],
  ) {}

  /** Round-robin over the server's connections. */
  pick(): Connection {
    const connections = this.connections;
    if (connections.length === 1) return connections[0]!;
    const connection = connections[this.nextConnection]!;
    this.nextConnection = (this.nextConnection + 1) % connections.length;
    return connection;
  }
}

function wholeNumber(name: string, value: number, min: number): number {
  if (!Number.isSafeInteger(value) || value < min) {
    throw new InvalidOptionError(`${name} must be a whole number ≥ ${min}, got ${value}`);
  }
  return value;
}

/** Where a request was answered; filled in by the *WithServer methods. */
interface Answered {
  server: string;
}

export class KvCluster extends EventEmitter<ClusterEvents> {
  /** "host:port" of every server, in the ring's canonical (sorted) order. */
  readonly servers: readonly string[];
  private readonly ring: KeyRouter;
  private readonly nodes: Node[];
  /** 1 = live, per ring index; read on every request by `isLive`. */
  private readonly live: Uint8Array;
  private readonly failoverRetries: number;
  private readonly health: NodeHealth;
  private readonly shutdownTimeoutMs: number;
  private closed = false;

  /** `servers`: "host:port" strings, e.g. ["127.0.0.1:7001", "127.0.0.1:7002"]. */
  constructor(servers: readonly string[], options: ClusterOptions = {}) {
    super();
    if (servers.length === 0) throw new ServerAddressError('a cluster needs at least one server: pass ["host:port", ...]');
    const canonical = servers.map(canonicalAddress);
    this.ring = options.router ? options.router(canonical) : new Ring(canonical, options.ring);
    this.servers = this.ring.nodes;
    const perServer = wholeNumber('connectionsPerServer', options.connectionsPerServer ?? DEFAULTS.connectionsPerServer, 1);
    this.failoverRetries = wholeNumber('failoverRetries', options.failoverRetries ?? DEFAULTS.failoverRetries, 0);
    this.shutdownTimeoutMs = positive('shutdownTimeoutMs', options.shutdownTimeoutMs ?? DEFAULTS.shutdownTimeoutMs);
    // The cluster runs its own probes, so connections don't reconnect by themselves: a down
    // server's connection stays closed until a probe (or a request addressed to it) reopens it.
    const connectionOptions: ConnectionOptions = { ...options, autoReconnect: false };
    this.nodes = this.servers.map((id, index) => {
      const { host, port } = parseAddress(id);
      const connections = Array.from({ length: perServer }, () => new Connection(host, port, connectionOptions));
      const node = new Node(id, index, connections);
      for (const connection of connections) {
        // A lost connection means the server may be gone: route around it now rather than
        // making the next request find out. A probe brings it back within probeIntervalMs if not.
        connection.on('disconnect', (error) => this.markDown(node, error));
      }
      return node;
    });
    this.live = new Uint8Array(this.nodes.length).fill(1);
    const byId = new Map(this.nodes.map((node) => [node.id, node]));
    this.health = new NodeHealth(
      {
        probeIntervalMs: positive('probeIntervalMs', options.probeIntervalMs ?? DEFAULT_NODE_HEALTH.probeIntervalMs),
        probeMaxIntervalMs: positive('probeMaxIntervalMs', options.probeMaxIntervalMs ?? DEFAULT_NODE_HEALTH.probeMaxIntervalMs),
        probeTimeoutMs: positive('probeTimeoutMs', options.probeTimeoutMs ?? DEFAULT_NODE_HEALTH.probeTimeoutMs),
        random: options.random,
      },
      (server, timeoutMs) => this.probe(byId.get(server)!, timeoutMs),
      {
        onUp: (server) => this.markUp(byId.get(server)!),
        onProbeFailed: (server, err) => {
          byId.get(server)!.lastError = (err as Error).message;
        },
      },
    );
  }

  /** Bound once: the ring's liveness callback on every request. */
  private readonly isLive = (index: number): boolean => this.live[index] === 1;

  /** Value of `key`, null if it does not exist. */
  get(key: Key): Promise<Buffer | null> {
    return this.routed(key, ['GET', key], null, true).then(this.getReply);
  }

  /** Value of `key` decoded as text (UTF-8 unless `encoding` says otherwise), null if it does not exist. */
  async getString(key: Key, encoding: BufferEncoding = 'utf8'): Promise<string | null> {
    const value = await this.get(key);
    return value === null ? null : value.toString(encoding);
  }

  /** Stores `value` under `key`; resolves once the server confirmed it. */
  put(key: Key, value: string | Buffer): Promise<void> {
    return this.routed(key, ['SET', key, value], null, true).then(this.setReply);
  }

  /** Deletes `key`; true if the server that answered had it. */
  delete(key: Key): Promise<boolean> {
    return this.routed(key, ['DEL', key], null, true).then(this.delReply);
  }

  // Reply checks bound once, so get/put/delete chain them without a closure per request.
  private readonly getReply = (reply: RespValue): Buffer | null => this.bulkOrNull(reply, 'GET');
  private readonly setReply = (reply: RespValue): void => this.expectOk(reply, 'SET');
  private readonly delReply = (reply: RespValue): boolean => this.integer(reply, 'DEL') > 0;

  /** Like get(), also telling which server answered (after any failover). */
  async getWithServer(key: Key): Promise<{ value: Buffer | null; server: string }> {
    const answered: Answered = { server: '' };
    const reply = await this.routed(key, ['GET', key], answered, true);
    return { value: this.bulkOrNull(reply, 'GET', answered.server), server: answered.server };
  }

  /** Like put(), also telling which server answered. */
  async putWithServer(key: Key, value: string | Buffer): Promise<{ server: string }> {
    const answered: Answered = { server: '' };
    this.expectOk(await this.routed(key, ['SET', key, value], answered, true), 'SET', answered.server);
    return { server: answered.server };
  }

  /** Like delete(), also telling which server answered. */
  async deleteWithServer(key: Key): Promise<{ deleted: boolean; server: string }> {
    const answered: Answered = { server: '' };
    const deleted = this.integer(await this.routed(key, ['DEL', key], answered, true), 'DEL', answered.server) > 0;
    return { deleted, server: answered.server };
  }

  /**
   * Sends any command to the server owning `key` (e.g. ['EXISTS', key]); the raw reply.
   * Not retried on failover: the library cannot know whether an arbitrary command is idempotent.
   */
  command(key: Key, args: readonly CommandArg[]): Promise<RespValue> {
    return this.routed(key, args, null, false);
  }

  /** The server `key` is routed to now (its owner, or a fallback while the owner is down); null if none is live. */
  serverFor(key: Key): string | null {
    const index = this.ring.lookupLive(key, this.isLive);
    return index < 0 ? null : this.servers[index]!;
  }

  /** The server that owns `key` when all servers are up. */
  ownerOf(key: Key): string {
    return this.servers[this.ring.lookup(key)]!;
  }

  /** PINGs one server; resolves with the round-trip time in ms (of an open connection: connecting is not timed). */
  async ping(server: string): Promise<number> {
    const node = this.node(server);
    const connection = node.connections[0]!;
    if (connection.state !== 'ready') await this.direct(node, ['PING'], connection);
    const startMs = performance.now();
    const reply = await this.direct(node, ['PING'], connection);
    if (reply !== 'PONG') throw new UnexpectedReplyError(node.id, 'PING', describeReply(reply));
    return performance.now() - startMs;
  }

  /** The INFO text of one server. */
  async info(server: string): Promise<string> {
    const node = this.node(server);
    const reply = await this.direct(node, ['INFO']);
    if (!Buffer.isBuffer(reply)) throw new UnexpectedReplyError(node.id, 'INFO', describeReply(reply));
    return reply.toString('utf8');
  }

  /** Number of keys on one server. */
  async dbsize(server: string): Promise<number> {
    const node = this.node(server);
    return this.integer(await this.direct(node, ['DBSIZE']), 'DBSIZE', node.id);
  }

  /**
   * Asks one server to shut down (END / SHUTDOWN: it saves a final snapshot and exits).
   * Resolves when the server confirmed it (+OK, or, like Redis, closed the connection after
   * receiving the command); rejects if it could not be reached. The server is then marked down.
   */
  async shutdown(server: string): Promise<void> {
    const node = this.node(server);
    try {
      const reply = await node.pick().send(['SHUTDOWN'], this.shutdownTimeoutMs);
      if (reply !== 'OK') throw new UnexpectedReplyError(node.id, 'SHUTDOWN', describeReply(reply));
    } catch (err) {
      const closedAfterSending = err instanceof ConnectionError && err.phase === 'open';
      if (!closedAfterSending) {
        this.count(node, err);
        throw err;
      }
    }
    this.markDown(node, new ConnectionError(node.id, 'open', 'shut down by this client'));
  }

  /** Shuts every server down, in parallel; one outcome per server (never rejects). */
  async shutdownAll(): Promise<ShutdownOutcome[]> {
    return Promise.all(
      this.servers.map(async (server) => {
        try {
          await this.shutdown(server);
          return { server, error: null };
        } catch (err) {
          return { server, error: err as Error };
        }
      }),
    );
  }

  /**
   * PINGs every server now; unreachable ones are marked down (and probed). Resolves with the live
   * servers; rejects with NoLiveServerError if none answered. Optional: requests connect lazily.
   */
  async connect(): Promise<string[]> {
    let lastError: unknown;
    await Promise.all(
      this.nodes.map(async (node) => {
        try {
          await this.direct(node, ['PING']);
        } catch (err) {
          lastError = err;
        }
      }),
    );
    const live = this.nodes.filter((n) => n.up).map((n) => n.id);
    if (live.length === 0) throw new NoLiveServerError(this.servers, { cause: lastError });
    return live;
  }

  /** Counters per server, in `servers` order. */
  stats(): ServerStats[] {
    return this.nodes.map((node) => ({
      server: node.id,
      up: node.up,
      requests: node.requests,
      timeouts: node.timeouts,
      connectionErrors: node.connectionErrors,
      replyErrors: node.replyErrors,
      downs: node.downs,
      pending: node.connections.reduce((sum, c) => sum + c.pendingCount, 0),
      lastError: node.lastError,
    }));
  }

  /** Stops probing, waits for pending requests (each bounded by its timeout), closes every connection. */
  async close(): Promise<void> {
    this.closed = true;
    this.health.close();
    await Promise.all(this.nodes.flatMap((node) => node.connections.map((c) => c.close())));
  }

  /** Closes everything at once; pending requests reject with ClientClosedError. */
  destroy(): void {
    this.closed = true;
    this.health.close();
    for (const node of this.nodes) {
      for (const connection of node.connections) connection.destroy();
    }
  }

  /**
   * Routes one keyed command, failing over as described at the top of this file.
   * Hot path: one ring lookup and one connection send per attempt; `answered` is null unless
   * the caller asked which server answered.
   */
  private routed(key: Key, args: readonly CommandArg[], answered: Answered | null, idempotent: boolean): Promise<RespValue> {
    // First attempt without an async frame: the common case costs one lookup, one send and one
    // catch handler (measured: ~15% more GETs/s than an async loop; scripts/client-overhead.ts).
    let node: Node;
    let sent: Promise<RespValue>;
    try {
      const index = this.ring.lookupLive(key, this.isLive);
      if (index < 0) return Promise.reject(new NoLiveServerError(this.servers));
      node = this.nodes[index]!;
      node.requests++;
      sent = node.pick().send(args);
    } catch (err) {
      // A key or value the encoder cannot take (e.g. undefined from untyped callers): reject, never throw.
      return Promise.reject(err);
    }
    if (answered !== null) answered.server = node.id;
    return sent.catch((err: unknown) => this.afterFailure(err, node, key, args, answered, idempotent));
  }

  /** A first attempt failed: counts it, then fails over (idempotent commands only) or rethrows. */
  private async afterFailure(err: unknown, node: Node, key: Key, args: readonly CommandArg[], answered: Answered | null, idempotent: boolean): Promise<RespValue> {
    this.count(node, err);
    const retries = idempotent ? this.failoverRetries : 0;
    if (!isUnreachable(err) || retries === 0) throw err;
    return this.retried(key, args, answered, retries, err);
  }

  private async retried(key: Key, args: readonly CommandArg[], answered: Answered | null, retries: number, firstError: unknown): Promise<RespValue> {
    let lastError: unknown = firstError;
    for (let attempt = 1; ; attempt++) {
      const index = this.ring.lookupLive(key, this.isLive);
      if (index < 0) throw new NoLiveServerError(this.servers, { cause: lastError });
      const node = this.nodes[index]!;
      node.requests++;
      try {
        const reply = await node.pick().send(args);
        if (answered !== null) answered.server = node.id;
        return reply;
      } catch (err) {
        this.count(node, err);
        if (!isUnreachable(err) || attempt >= retries) throw err;
        lastError = err;
      }
    }
  }

  /** Sends to one named server regardless of its health; an unreachable server is marked down. */
  private async direct(node: Node, args: readonly CommandArg[], connection: Connection = node.pick()): Promise<RespValue> {
    try {
      return await connection.send(args);
    } catch (err) {
      this.count(node, err);
      throw err;
    }
  }

  private count(node: Node, err: unknown): void {
    if (err instanceof ReplyError) {
      node.replyErrors++;
    } else if (isUnreachable(err)) {
      if (err instanceof TimeoutError) node.timeouts++;
      else node.connectionErrors++;
      this.markDown(node, err);
    }
  }

  private markDown(node: Node, error: Error): void {
    node.lastError = error.message;
    if (this.closed || !this.health.markDown(node.id)) return;
    node.up = false;
    this.live[node.index] = 0;
    node.downs++;
    this.emit('node-down', node.id, error);
  }

  /** The health policy's probe: any reply, even an error reply, proves the server is there. */
  private async probe(node: Node, timeoutMs: number): Promise<void> {
    try {
      await node.connections[0]!.send(['PING'], timeoutMs);
    } catch (err) {
      if (isUnreachable(err)) throw err;
    }
  }

  private markUp(node: Node): void {
    if (this.closed || node.up) return;
    node.up = true;
    this.live[node.index] = 1;
    this.emit('node-up', node.id);
  }

  private node(server: string): Node {
    const index = this.ring.indexOf(canonicalAddress(server));
    if (index < 0) {
      throw new ServerAddressError(`${server} is not one of this cluster's servers (${this.servers.join(', ')})`);
    }
    return this.nodes[index]!;
  }

  private bulkOrNull(reply: RespValue, command: string, server = ''): Buffer | null {
    if (reply === null || Buffer.isBuffer(reply)) return reply;
    throw new UnexpectedReplyError(server || 'the server', command, describeReply(reply));
  }

  private expectOk(reply: RespValue, command: string, server = ''): void {
    if (reply !== 'OK') throw new UnexpectedReplyError(server || 'the server', command, describeReply(reply));
  }

  private integer(reply: RespValue, command: string, server = ''): number {
    if (typeof reply !== 'number') throw new UnexpectedReplyError(server || 'the server', command, describeReply(reply));
    return reply;
  }
}
