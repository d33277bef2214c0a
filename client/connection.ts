// One persistent, pipelined RESP connection to one server.
//
// - Pipelining: commands are appended to one RespWriter; everything issued before the next
//   process.nextTick (or beyond `flushBytes`) leaves in ONE socket write. Replies are parsed by
//   the shared ReplyDecoder and matched, in order, to a FIFO of pending requests.
// - Timeouts: every request has a deadline; one timer (armed for the earliest deadline, not one
//   per request) checks them. Because replies are matched by order only, a connection with an
//   unanswered request can no longer tell which reply belongs to whom: on a timeout the timed-out
//   request rejects with TimeoutError, the connection is destroyed, every other request still
//   pending on it rejects with ConnectionError, and a new connection is opened.
// - Failure: on socket error/close every pending request is rejected (a request never hangs and
//   never reports a success it did not get). With `autoReconnect` the connection reopens after an
//   exponential, jittered, capped backoff; while it waits, new requests fail at once (fail fast)
//   instead of piling up. Without it, the next request reconnects.
// One class (~430 lines): the FIFO, the timeout timer and the reconnect state change together on
// every failure, and splitting them would spread one invariant (no request hangs) over files.

import { EventEmitter } from 'node:events';
import { connect, type Socket } from 'node:net';
import { ReplyDecoder, type RespValue } from '../protocol/decoder.js';
import { RespWriter, type CommandArg } from '../protocol/encoder.js';
import { ReplyError } from '../protocol/errors.js';
import { backoffDelayMs } from './backoff.js';
import { ClientClosedError, ConnectionError, InvalidOptionError, TimeoutError } from './errors.js';
import { Fifo } from './fifo.js';

export type { RespValue } from '../protocol/decoder.js';
export type { CommandArg } from '../protocol/encoder.js';

export interface ConnectionOptions {
  /** Time a request may wait for its reply, ms (default 2000). Overridable per request. */
  readonly requestTimeoutMs?: number;
  /** Time a TCP connect may take, ms (default 1000). */
  readonly connectTimeoutMs?: number;
  /** Reopen a lost connection in the background (default true). If false, the next request reopens it. */
  readonly autoReconnect?: boolean;
  /** First reconnect delay, ms (default 50); doubles per failed attempt. */
  readonly reconnectBaseDelayMs?: number;
  /** Largest reconnect delay, ms (default 2000). */
  readonly reconnectMaxDelayMs?: number;
  /** Write at once, without waiting for the end of the tick, when this many bytes are queued (default 64 KiB). */
  readonly flushBytes?: number;
  /** Largest bulk reply accepted, bytes (default 512 MiB): bounds what a broken server can make us allocate. */
  readonly maxBulkBytes?: number;
  /** Source of reconnect jitter in [0, 1) (default Math.random); replaceable for reproducible tests. */
  readonly random?: () => number;
}

export type ConnectionState =
  /** No socket; the next request opens one (autoReconnect off, or nothing sent yet). */
  | 'idle'
  | 'connecting'
  | 'ready'
  /** Lost; a reconnect is scheduled. Requests fail fast until it succeeds. */
  | 'waiting'
  /** close() or destroy() was called; requests are refused. */
  | 'closed';

export interface ConnectionEvents {
  /** A TCP connection was established. */
  connect: [];
  /**
   * The connection was lost; every request pending on it has been rejected. `error` says why:
   * a TimeoutError if it was closed because a request timed out, else a ConnectionError.
   */
  disconnect: [error: ConnectionError | TimeoutError];
}

const DEFAULTS = {
  requestTimeoutMs: 2000,
  connectTimeoutMs: 1000,
  reconnectBaseDelayMs: 50,
  reconnectMaxDelayMs: 2000,
  flushBytes: 64 * 1024,
  maxBulkBytes: 512 * 1024 * 1024,
} as const;

/** Flushes smaller than this are copied into a right-sized buffer so the writer can keep its own. */
const COPY_FLUSH_BELOW_BYTES = 16 * 1024;
/** Request records kept for reuse; beyond this, finished ones are left to the GC. */
const MAX_FREE_RECORDS = 1024;

/** One request waiting for its reply. Records are pooled; `settle` is bound once per record. */
class PendingRequest {
  resolve: (value: RespValue) => void = noop;
  reject: (error: Error) => void = noop;
  deadlineMs = 0;
  timeoutMs = 0;
  /** Promise executor bound once per record, so issuing a request creates no closure of ours. */
  readonly capture = (resolve: (value: RespValue) => void, reject: (error: Error) => void): void => {
    this.resolve = resolve;
    this.reject = reject;
  };
}

function noop(): void {}

/** `value` if it is a finite number > 0; else throws InvalidOptionError naming the option. */
export function positive(name: string, value: number): number {
  if (!Number.isFinite(value) || value <= 0) {
    throw new InvalidOptionError(`${name} must be a finite number > 0, got ${value}`);
  }
  return value;
}

/**
 * A pipelined connection to one RESP server. Create it, then `send()`; it connects on first use.
 * `send` resolves with the reply, or rejects with ReplyError (the server answered `-ERR ...`),
 * TimeoutError, ConnectionError or ClientClosedError.
 */
export class Connection extends EventEmitter<ConnectionEvents> {
  /** "host:port", as used in error messages and by the cluster. */
  readonly server: string;
  /** Socket writes made; with pipelining, usually far fewer than requests. */
  writes = 0;
  /** Connections opened, including reconnects. */
  connects = 0;

  private readonly requestTimeoutMs: number;
  private readonly connectTimeoutMs: number;
  private readonly autoReconnect: boolean;
  private readonly reconnectBaseDelayMs: number;
  private readonly reconnectMaxDelayMs: number;
  private readonly flushBytes: number;
  private readonly random: () => number;

  private stateValue: ConnectionState = 'idle';
  private socket: Socket | null = null;
  /** Whether the current socket reached 'connect' (decides ConnectionError's phase). */
  private socketConnected = false;
  private lastSocketError: Error | null = null;
  private readonly writer = new RespWriter(COPY_FLUSH_BELOW_BYTES);
  private readonly decoder: ReplyDecoder;
  private readonly pending = new Fifo<PendingRequest>(64);
  private readonly freeRecords: PendingRequest[] = [];
  private flushScheduled = false;
  private failedAttempts = 0;
  private connectTimer: NodeJS.Timeout | null = null;
  private reconnectTimer: NodeJS.Timeout | null = null;
  private deadlineTimer: NodeJS.Timeout | null = null;
  private deadlineTimerAtMs = Infinity;
  private closeWaiters: (() => void)[] = [];
  private closing: Promise<void> | null = null;

  constructor(
    readonly host: string,
    readonly port: number,
    options: ConnectionOptions = {},
  ) {
    super();
    this.server = `${host}:${port}`;
    this.requestTimeoutMs = positive('requestTimeoutMs', options.requestTimeoutMs ?? DEFAULTS.requestTimeoutMs);
    this.connectTimeoutMs = positive('connectTimeoutMs', options.connectTimeoutMs ?? DEFAULTS.connectTimeoutMs);
    this.autoReconnect = options.autoReconnect ?? true;
    this.reconnectBaseDelayMs = positive('reconnectBaseDelayMs', options.reconnectBaseDelayMs ?? DEFAULTS.reconnectBaseDelayMs);
    this.reconnectMaxDelayMs = positive('reconnectMaxDelayMs', options.reconnectMaxDelayMs ?? DEFAULTS.reconnectMaxDelayMs);
    this.flushBytes = positive('flushBytes', options.flushBytes ?? DEFAULTS.flushBytes);
    this.random = options.random ?? Math.random;
    this.decoder = new ReplyDecoder(this.onReply, positive('maxBulkBytes', options.maxBulkBytes ?? DEFAULTS.maxBulkBytes));
  }

  get state(): ConnectionState {
    return this.stateValue;
  }

  /** Requests sent or queued that have no reply yet. */
  get pendingCount(): number {
    return this.pending.length;
  }

  /** Opens the connection now instead of on the first request; resolves once connected. */
  async connect(): Promise<void> {
    if (this.stateValue === 'ready') return;
    await this.send(['PING']);
  }

  /**
   * Sends one command; resolves with its reply. Error replies reject with ReplyError.
   * `timeoutMs` overrides the connection's request timeout for this request.
   * Hot path: one pooled record, one Promise, no closures.
   */
  send(args: readonly CommandArg[], timeoutMs: number = this.requestTimeoutMs): Promise<RespValue> {
    // An infinite or NaN timeout would let a request wait forever: refused, like a bad option.
    if (!(timeoutMs > 0 && timeoutMs < Infinity)) {
      return Promise.reject(new InvalidOptionError(`timeoutMs must be a finite number > 0, got ${timeoutMs}`));
    }
    switch (this.stateValue) {
      case 'ready':
      case 'connecting':
        break;
      case 'idle':
        this.open();
        break;
      case 'waiting':
        return Promise.reject(
          new ConnectionError(this.server, 'connect', `reconnecting after: ${this.lastSocketError?.message ?? 'connection lost'}`),
        );
      case 'closed':
        return Promise.reject(new ClientClosedError(this.server));
    }
    const record = this.freeRecords.pop() ?? new PendingRequest();
    const promise = new Promise<RespValue>(record.capture);
    record.timeoutMs = timeoutMs;
    record.deadlineMs = performance.now() + timeoutMs;
    this.pending.push(record);
    this.writer.command(args);
    if (record.deadlineMs < this.deadlineTimerAtMs) this.armDeadlineTimer(record.deadlineMs);
    if (this.writer.length >= this.flushBytes) {
      this.flush();
    } else if (!this.flushScheduled) {
      this.flushScheduled = true;
      process.nextTick(this.flushOnTick);
    }
    return promise;
  }

  /**
   * Stops accepting requests, waits for the pending ones to settle (each is bounded by its
   * timeout), then closes the socket. Resolves when the socket is closed.
   */
  close(): Promise<void> {
    this.closing ??= this.closeGracefully();
    return this.closing;
  }

  private async closeGracefully(): Promise<void> {
    this.stateValue = 'closed';
    this.clearReconnectTimer();
    if (this.socket !== null && this.pending.length > 0) {
      await new Promise<void>((resolve) => this.closeWaiters.push(resolve));
    }
    this.destroy();
  }

  /** Closes at once; pending requests reject with ClientClosedError. */
  destroy(): void {
    this.stateValue = 'closed';
    this.clearReconnectTimer();
    this.clearConnectTimer();
    const socket = this.socket;
    this.socket = null;
    socket?.destroy();
    this.rejectAll(new ClientClosedError(this.server), null);
    this.decoder.reset();
    this.writer.reset();
    this.wakeCloseWaiters();
  }

  private open(): void {
    this.stateValue = 'connecting';
    this.socketConnected = false;
    this.lastSocketError = null;
    this.connects++;
    const socket = connect({ host: this.host, port: this.port, noDelay: true });
    this.socket = socket;
    // Timers that only matter while a socket exists are unref'd: the socket itself keeps the
    // process alive, and a forgotten client must not hold it open for a timeout's length.
    this.connectTimer = setTimeout(() => {
      this.lose(socket, `no TCP connection within ${this.connectTimeoutMs} ms`, null);
    }, this.connectTimeoutMs).unref();
    socket.on('connect', () => {
      if (socket !== this.socket) return;
      this.clearConnectTimer();
      this.socketConnected = true;
      this.failedAttempts = 0;
      if (this.stateValue === 'connecting') this.stateValue = 'ready';
      this.emit('connect');
      this.flush();
    });
    socket.on('data', (chunk: Buffer) => {
      if (socket !== this.socket) return;
      try {
        this.decoder.write(chunk);
      } catch (err) {
        // The byte stream can no longer be trusted: drop the connection and everything on it.
        this.lose(socket, `unreadable reply: ${(err as Error).message}`, err);
      }
    });
    // 'close' always follows 'error'; the error is kept to explain the close.
    socket.on('error', (err: Error) => {
      if (socket === this.socket) this.lastSocketError = err;
    });
    socket.on('close', () => {
      this.lose(socket, this.lastSocketError?.message ?? 'closed by the server', this.lastSocketError);
    });
  }

  /** Matches one reply to the oldest pending request. Bound once: the decoder's callback. */
  private readonly onReply = (reply: RespValue): void => {
    const record = this.pending.shift();
    if (record === undefined) {
      if (this.socket) this.lose(this.socket, 'a reply arrived for no request (is this a RESP server?)', null);
      return;
    }
    if (reply instanceof ReplyError) record.reject(reply);
    else record.resolve(reply);
    this.recycle(record);
    if (this.pending.length === 0 && this.closeWaiters.length > 0) this.wakeCloseWaiters();
  };

  private readonly flushOnTick = (): void => {
    this.flushScheduled = false;
    this.flush();
  };

  private flush(): void {
    const socket = this.socket;
    if (this.stateValue !== 'ready' && this.stateValue !== 'closed') return;
    if (socket === null || !this.socketConnected || this.writer.length === 0) return;
    this.writes++;
    if (this.writer.length < COPY_FLUSH_BELOW_BYTES) {
      // Small batches are copied (from Node's buffer pool) so the writer reuses its buffer.
      const out = Buffer.allocUnsafe(this.writer.length);
      this.writer.buf.copy(out, 0, 0, this.writer.length);
      this.writer.reset();
      socket.write(out);
    } else {
      socket.write(this.writer.view());
      this.writer.detach();
    }
  }

  /**
   * The connection is gone (error, close, connect timeout, request timeout, protocol error):
   * rejects everything pending on it and schedules the reconnect. Ignores stale sockets.
   */
  private lose(socket: Socket, detail: string, cause: unknown, reason: TimeoutError | null = null): void {
    if (socket !== this.socket) return;
    this.socket = null;
    this.clearConnectTimer();
    socket.destroy();
    const error = new ConnectionError(this.server, this.socketConnected ? 'open' : 'connect', detail, { cause });
    this.decoder.reset();
    this.writer.reset();
    this.rejectAll(error, null);
    this.wakeCloseWaiters();
    if (this.stateValue !== 'closed') {
      if (this.autoReconnect) {
        this.stateValue = 'waiting';
        const delayMs = backoffDelayMs(this.failedAttempts++, this.reconnectBaseDelayMs, this.reconnectMaxDelayMs, this.random);
        this.reconnectTimer = setTimeout(this.reconnect, delayMs);
      } else {
        this.stateValue = 'idle';
      }
    }
    this.emit('disconnect', reason ?? error);
  }

  private readonly reconnect = (): void => {
    this.reconnectTimer = null;
    if (this.stateValue === 'waiting') this.open();
  };

  /**
   * Rejects every pending request: timed-out ones (deadline ≤ nowMs) with TimeoutError, the rest
   * with `error`. Returns the first TimeoutError, null if none.
   */
  private rejectAll(error: Error, nowMs: number | null): TimeoutError | null {
    this.clearDeadlineTimer();
    let firstTimeout: TimeoutError | null = null;
    let record: PendingRequest | undefined;
    while ((record = this.pending.shift()) !== undefined) {
      if (nowMs !== null && record.deadlineMs <= nowMs) {
        const timeout = new TimeoutError(this.server, record.timeoutMs);
        firstTimeout ??= timeout;
        record.reject(timeout);
      } else {
        record.reject(error);
      }
      this.recycle(record);
    }
    return firstTimeout;
  }

  private armDeadlineTimer(atMs: number): void {
    this.clearDeadlineTimer();
    this.deadlineTimerAtMs = atMs;
    // +1: timers may fire a fraction early; firing late by 1 ms is harmless.
    this.deadlineTimer = setTimeout(this.checkDeadlines, Math.max(0, atMs - performance.now()) + 1).unref();
  }

  /** Timer callback: fails the connection if any request is past its deadline, else re-arms. */
  private readonly checkDeadlines = (): void => {
    this.deadlineTimer = null;
    this.deadlineTimerAtMs = Infinity;
    const nowMs = performance.now();
    let earliestMs = Infinity;
    let expired = false;
    for (let i = 0; i < this.pending.length; i++) {
      const deadlineMs = this.pending.at(i)!.deadlineMs;
      if (deadlineMs <= nowMs) {
        expired = true;
        break;
      }
      if (deadlineMs < earliestMs) earliestMs = deadlineMs;
    }
    if (!expired) {
      if (earliestMs !== Infinity) this.armDeadlineTimer(earliestMs);
      return;
    }
    const detail = 'closed because an earlier request on it timed out (replies are matched by order)';
    const error = new ConnectionError(this.server, this.socketConnected ? 'open' : 'connect', detail);
    const reason = this.rejectAll(error, nowMs);
    if (this.socket) this.lose(this.socket, detail, reason, reason);
    this.wakeCloseWaiters();
  };

  private recycle(record: PendingRequest): void {
    record.resolve = noop;
    record.reject = noop;
    if (this.freeRecords.length < MAX_FREE_RECORDS) this.freeRecords.push(record);
  }

  private wakeCloseWaiters(): void {
    const waiters = this.closeWaiters;
    if (waiters.length === 0) return;
    this.closeWaiters = [];
    for (const wake of waiters) wake();
  }

  private clearConnectTimer(): void {
    if (this.connectTimer) clearTimeout(this.connectTimer);
    this.connectTimer = null;
  }

  private clearReconnectTimer(): void {
    if (this.reconnectTimer) clearTimeout(this.reconnectTimer);
    this.reconnectTimer = null;
  }

  private clearDeadlineTimer(): void {
    if (this.deadlineTimer) clearTimeout(this.deadlineTimer);
    this.deadlineTimer = null;
    this.deadlineTimerAtMs = Infinity;
  }
}
