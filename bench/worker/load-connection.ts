// One load-generating connection of a worker: a raw net.Socket, the requests in flight on it (a
// FIFO in typed arrays, capacity = --pipeline), its write buffer, and bytes of a reply split
// across reads. What happens with replies is the listener's business (bench/worker/load-step.ts).

import { connect, type Socket } from 'node:net';
import { RespWriter } from '../../protocol/encoder.js';

export interface ConnectionListener {
  /** `length` bytes arrived in `buf` (reused for the next read: consume or copy now). */
  onData(conn: LoadConnection, buf: Buffer, length: number): void;
  /** The connection (re)opened and can take requests. */
  onOpen(conn: LoadConnection): void;
  /** The connection closed or failed; requests in flight on it are lost. */
  onLost(conn: LoadConnection): void;
}

/** Read buffer per connection: a pipeline of small replies fits in one read. */
const READ_BUFFER_BYTES = 64 * 1024;

export class LoadConnection {
  socket: Socket | null = null;
  /** Connected and not closed: requests may be written. */
  open = false;
  /** The last connection attempt failed (refused, unreachable): its server counts as down. */
  down = false;
  /** Index of this connection's server in the current step's ring. */
  server = 0;
  listener: ConnectionListener | null = null;
  /** Requests encoded since the last flush. */
  readonly writer = new RespWriter(16 * 1024);
  /** Set while the connection waits in its step's list of connections to flush. */
  dirty = false;

  // In-flight FIFO (oldest at head); a slot per request sent and not yet answered.
  readonly capacity: number;
  readonly intendedMs: Float64Array;
  readonly sentMs: Float64Array;
  readonly op: Uint8Array;
  readonly key: Int32Array;
  /** --verify: the version the reply must show (see load-step.ts), or a "do not check" mark. */
  readonly expect: Int32Array;
  readonly expectSize: Int32Array;
  head = 0;
  count = 0;

  /** Bytes of an incomplete reply kept from the previous read. */
  pending: Buffer = Buffer.alloc(0);
  pendingLength = 0;
  /** End of the bytes `absorb` returned. */
  scanEnd = 0;

  private readonly readBuffer = Buffer.allocUnsafe(READ_BUFFER_BYTES);

  constructor(
    readonly host: string,
    readonly port: number,
    pipeline: number,
  ) {
    this.capacity = pipeline;
    this.intendedMs = new Float64Array(pipeline);
    this.sentMs = new Float64Array(pipeline);
    this.op = new Uint8Array(pipeline);
    this.key = new Int32Array(pipeline);
    this.expect = new Int32Array(pipeline);
    this.expectSize = new Int32Array(pipeline);
  }

  /** Opens the socket; resolves once connected, rejects with the socket error otherwise. */
  connect(): Promise<void> {
    // One attempt at a time: a newer attempt replaces an older one still in flight.
    this.destroy();
    this.pendingLength = 0;
    return new Promise((resolve, reject) => {
      const socket = connect({
        host: this.host,
        port: this.port,
        noDelay: true,
        // Reads land in one reused buffer and skip the stream machinery ('data' events).
        onread: {
          buffer: this.readBuffer,
          callback: (bytes: number, buf: Uint8Array): boolean => {
            this.listener?.onData(this, buf as Buffer, bytes);
            return true;
          },
        },
      });
      this.socket = socket;
      let settled = false;
      socket.once('connect', () => {
        if (this.socket !== socket) {
          settled = true;
          socket.destroy();
          reject(new Error('superseded by a newer connection attempt'));
          return;
        }
        settled = true;
        this.open = true;
        this.down = false;
        resolve();
        this.listener?.onOpen(this);
      });
      socket.on('error', (err) => {
        if (!settled) {
          settled = true;
          if (this.socket === socket) this.down = true;
          reject(err);
        }
        // After connect, 'close' follows every error and reports the loss.
      });
      socket.on('close', () => {
        // A socket replaced or destroyed on purpose is no news: its owner already counted the loss.
        if (this.socket !== socket) return;
        this.socket = null;
        const wasOpen = this.open;
        this.open = false;
        if (wasOpen) this.listener?.onLost(this);
      });
    });
  }

  /**
   * The bytes to scan after a read: `buf` itself, or the kept partial reply followed by `buf`.
   * Sets scanEnd. Pass what was not consumed to keepRest before returning from the read.
   */
  absorb(buf: Buffer, length: number): Buffer {
    if (this.pendingLength === 0) {
      this.scanEnd = length;
      return buf;
    }
    const needed = this.pendingLength + length;
    if (this.pending.length < needed) {
      const grown = Buffer.allocUnsafe(Math.max(needed, this.pending.length * 2, 4096));
      this.pending.copy(grown, 0, 0, this.pendingLength);
      this.pending = grown;
    }
    buf.copy(this.pending, this.pendingLength, 0, length);
    this.scanEnd = needed;
    return this.pending;
  }

  /** Keeps data[pos, end) (an incomplete reply) for the next read. */
  keepRest(data: Buffer, pos: number, end: number): void {
    const rest = end - pos;
    if (rest === 0) {
      this.pendingLength = 0;
      return;
    }
    if (data === this.pending) {
      if (pos > 0) data.copyWithin(0, pos, end);
    } else {
      if (this.pending.length < rest) this.pending = Buffer.allocUnsafe(Math.max(rest, 4096));
      data.copy(this.pending, 0, pos, end);
    }
    this.pendingLength = rest;
  }

  /** Sends what was encoded since the last flush in one write. */
  flush(): void {
    const n = this.writer.length;
    if (n === 0) return;
    if (this.open && this.socket !== null) {
      // A copy, because the socket may keep the buffer until the kernel takes it.
      const out = Buffer.allocUnsafe(n);
      this.writer.buf.copy(out, 0, 0, n);
      this.socket.write(out);
    }
    this.writer.reset();
  }

  /** Drops everything in flight (the caller counted them) and empties the FIFO. */
  clearInFlight(): void {
    this.head = 0;
    this.count = 0;
    this.pendingLength = 0;
    this.writer.reset();
  }

  /** Closes the socket without telling the listener: the caller handles the loss. */
  destroy(): void {
    const socket = this.socket;
    this.socket = null;
    this.open = false;
    socket?.destroy();
  }
}
