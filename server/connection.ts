import type { Socket } from 'node:net';
import { RequestDecoder, type RequestLimits } from '../protocol/decoder.js';
import { RespWriter } from '../protocol/encoder.js';
import { ProtocolError } from '../protocol/errors.js';
import { readWithoutStreams } from './socket-reader.js';
import { burn } from './cpu-burn.js';
import type { ClientState, CommandContext } from './command-context.js';
import { lookupCommand, type CommandSpec } from './commands.js';
import type { AckWait, LogAckWaiter } from './persistence/persistence.js';

/** What a connection needs from the server beyond the command context. */
export interface ConnectionHost {
  readonly ctx: CommandContext;
  readonly limits: RequestLimits;
  /** Logical end of the append-only log (0 without one): a batch that moved it logged writes. */
  logEnd(): number;
  /** Whether a batch's replies would have to wait for the log now (AppendLog.mustHold). */
  mustHoldReplies(loggedWrites: boolean): boolean;
  /** Holds a batch's replies until the log has its writes; calls waiter.logAcknowledged later (AppendLog.holdReplies). */
  holdReplies(waiter: LogAckWaiter, loggedWrites: boolean): AckWait;
  onClose(connection: Connection): void;
  /** --log-requests: called once per GET/SET/DEL when enabled. */
  logRequest(command: string, key: string, result: string, micros: number): void;
}

/**
 * One writer shared by every connection: the event loop serves one connection at a time, and a
 * batch's replies are handed to the socket before the next connection runs. When the socket
 * could not send them at once it keeps the buffer, and the writer starts a fresh one (detach).
 */
const sharedOut = new RespWriter();

/** Replies beyond this many bytes in the shared writer are sent before the batch ends. */
const FLUSH_THRESHOLD_BYTES = 256 * 1024;

let nextClientId = 1;

/**
 * One client connection: reads commands, runs them in order, and writes each read's replies in
 * one socket write. With the append-only log on, a batch's replies wait until the log has its
 * writes (in the kernel with everysec/no, on disk with always): acknowledged means logged.
 * Reading pauses while replies wait longer than this turn of the event loop (async commands,
 * group commit, a client that does not read its replies), which keeps memory per client bounded
 * and replies in order.
 */
export class Connection implements ClientState, LogAckWaiter {
  readonly id = nextClientId++;
  readonly address: string;
  name = '';
  authenticated: boolean;
  closeAfterReply = false;

  private readonly socket: Socket;
  private readonly decoder: RequestDecoder;
  /** Argument slots reused for every command of this connection. */
  private readonly args: string[] = [];
  /** Commands are not run while an earlier reply is still pending (async command, or the log). */
  private waiting = false;
  private closed = false;
  /** Reading was paused for a wait (not for a slow reader: that is afterSend's). */
  private readPaused = false;
  /** Log on: where each write command's reply starts and ends in the batch (replaced by an error if the log fails). */
  private readonly writeReplySpans: number[] = [];
  /** The batch's replies while they wait for the log. */
  private held: Buffer | null = null;
  /** An async command that followed replies waiting for the log: it runs once they are out. */
  private heldAsync: { command: CommandSpec; args: string[] } | null = null;

  constructor(
    accepted: Socket,
    private readonly host: ConnectionHost,
  ) {
    this.socket = readWithoutStreams(accepted, (chunk) => this.onData(chunk));
    const socket = this.socket;
    this.address = `${socket.remoteAddress}:${socket.remotePort}`;
    this.authenticated = host.ctx.config.requirePass === null;
    this.decoder = new RequestDecoder(host.limits);
    socket.on('drain', () => this.onDrain());
    socket.on('error', () => this.close());
    socket.on('close', () => this.close());
  }

  private onData(chunk: Buffer): void {
    try {
      this.decoder.append(chunk);
    } catch (err) {
      // Only an allocation can fail here: that client goes, everyone else stays served.
      this.host.ctx.log.error({ err, client: this.address }, 'cannot buffer a client\'s request; closing that connection');
      this.end(`ERR cannot buffer this request (${(err as Error).message}); connection closed`);
      return;
    }
    // The chunk is borrowed (a shared read buffer): keep nothing pointing into it. run() compacts
    // on every way out, so compact here only when it does not run.
    if (this.waiting) this.decoder.compact();
    else this.run();
  }

  private onDrain(): void {
    if (!this.waiting && !this.closed) {
      this.socket.resume();
      this.run();
    }
  }

  /**
   * Runs every buffered command, writes the replies, and decides whether to keep reading. Leaves
   * the decoder compacted (nothing points into a borrowed read buffer).
   */
  private run(): void {
    const out = sharedOut;
    out.reset();
    const logOn = this.host.ctx.config.appendOnly;
    const logStart = logOn ? this.host.logEnd() : 0;
    this.writeReplySpans.length = 0;
    const args = this.args;
    const ctx = this.host.ctx;
    while (!this.closed) {
      let argc: number;
      try {
        argc = this.decoder.next(args);
      } catch (err) {
        if (!(err instanceof ProtocolError)) throw err;
        ctx.stats.protocolErrors++;
        out.error(`ERR Protocol error: ${err.message}`);
        this.closeAfterReply = true;
        break;
      }
      if (argc === 0) break;
      ctx.stats.commandsProcessed++;
      const command = lookupCommand(args[0]!);
      if (command === undefined) {
        unknownCommand(out, args, argc);
        continue;
      }
      const problem = this.refusal(command, argc);
      if (problem !== null) {
        out.error(problem);
        continue;
      }
      command.calls++;
      if (command.async) {
        this.decoder.compact();
        this.runAsync(command, argc, out, logOn && this.host.logEnd() !== logStart);
        return;
      }
      const replyStart = out.length;
      try {
        if (ctx.config.logRequests || ctx.config.injectCpuUs > 0) this.runInstrumented(command, argc, out);
        else command.handler(ctx, this, args, argc, out);
      } catch (err) {
        // A bug in a handler must not take the server down with every other client.
        out.length = replyStart;
        out.error(`ERR internal error in '${command.name}': ${(err as Error).message}`);
        ctx.log.error({ err, command: command.name }, 'command failed');
      }
      if (logOn && command.write) this.writeReplySpans.push(replyStart, out.length);
      if (this.closeAfterReply) break;
      if (out.length > FLUSH_THRESHOLD_BYTES) {
        // Replies that must wait for the log cannot leave early: stop here; the rest of the
        // pipeline runs once they are out (resumeWith), which also bounds what is held.
        if (logOn && this.host.mustHoldReplies(this.host.logEnd() !== logStart)) break;
        this.send(out);
        out.reset();
        this.writeReplySpans.length = 0;
        if (this.socket.writableLength > ctx.config.maxOutputBytes) break;
      }
    }
    this.decoder.compact();
    if (out.length > 0 && logOn && this.hold(out, this.host.logEnd() !== logStart)) return;
    if (out.length > 0) this.send(out);
    this.afterSend();
  }

  /**
   * Keeps the batch's replies until the log has what they acknowledge (or, with everysec/no, what
   * they could show); false if they may leave now. Reading pauses only for a wait beyond this
   * turn of the event loop.
   */
  private hold(out: RespWriter, loggedWrites: boolean): boolean {
    const wait = this.host.holdReplies(this, loggedWrites);
    if (wait === 'none') return false;
    this.held = Buffer.from(out.view());
    out.reset();
    this.waiting = true;
    if (wait === 'later') this.pauseReading();
    return true;
  }

  /** The log has the held batch's writes (error null), or cannot have them: send the replies. */
  logAcknowledged(error: Error | null): void {
    const held = this.held ?? Buffer.alloc(0);
    this.held = null;
    const replies = error === null || this.writeReplySpans.length === 0 ? held : replaceWriteReplies(held, this.writeReplySpans, `ERR write not persisted, not acknowledged: ${error.message}`);
    const next = this.heldAsync;
    if (next === null) {
      this.resumeWith(replies);
      return;
    }
    this.heldAsync = null;
    if (this.closed) return;
    this.socket.write(replies);
    this.startAsync(next.command, next.args);
  }

  private resumeWith(replies: Buffer): void {
    this.waiting = false;
    if (this.closed) return;
    if (replies.length > 0) this.socket.write(replies);
    if (this.readPaused) {
      this.readPaused = false;
      this.socket.resume();
    }
    this.afterSend();
    if (!this.closed && this.decoder.bufferedBytes > 0 && this.socket.writableLength <= this.host.ctx.config.maxOutputBytes) this.run();
  }

  private pauseReading(): void {
    if (this.readPaused) return;
    this.readPaused = true;
    this.socket.pause();
  }

  private afterSend(): void {
    if (this.closeAfterReply) {
      this.socket.end();
      this.close();
    } else if (this.socket.writableLength > this.host.ctx.config.maxOutputBytes) {
      // The client is not reading its replies: stop reading its requests until it catches up.
      this.socket.pause();
    }
  }

  /** Replies so far go first (after the log has their writes); the async reply follows in order once it is ready. */
  private runAsync(command: CommandSpec, argc: number, out: RespWriter, loggedWrites: boolean): void {
    const args = this.args.slice(0, argc);
    if (out.length > 0 && this.host.ctx.config.appendOnly && this.hold(out, loggedWrites)) {
      this.heldAsync = { command, args };
      this.pauseReading();
      return;
    }
    if (out.length > 0) this.send(out);
    out.reset();
    this.startAsync(command, args);
  }

  private startAsync(command: CommandSpec, args: string[]): void {
    this.waiting = true;
    this.pauseReading();
    const own = new RespWriter(256);
    Promise.resolve(command.handler(this.host.ctx, this, args, args.length, own)).then(
      () => this.resumeWith(Buffer.from(own.view())),
      (err: unknown) => {
        own.reset();
        own.error(`ERR ${(err as Error).message}`);
        this.resumeWith(Buffer.from(own.view()));
      },
    );
  }

  private runInstrumented(command: CommandSpec, argc: number, out: RespWriter): void {
    const started = process.hrtime.bigint();
    const before = out.length;
    command.handler(this.host.ctx, this, this.args, argc, out);
    if (this.host.ctx.injectIterations > 0) burn(this.host.ctx.injectIterations);
    if (this.host.ctx.config.logRequests && (command.name === 'get' || command.name === 'set' || command.name === 'del')) {
      const micros = Number(process.hrtime.bigint() - started) / 1000;
      const reply = out.buf.toString('latin1', before, Math.min(out.length, before + 40)).split('\r\n')[0]!;
      this.host.logRequest(command.name, this.args[1]!, reply, micros);
    }
  }

  /** Null if the command may run now, else the error reply. */
  private refusal(command: CommandSpec, argc: number): string | null {
    if (command.arity > 0 ? argc !== command.arity : argc < -command.arity) {
      return `ERR wrong number of arguments for '${command.name}' command`;
    }
    if (!this.authenticated && !command.noAuth) return 'NOAUTH Authentication required.';
    if (command.write) {
      const blocked = this.host.ctx.durability.writeBlockedReason();
      if (blocked !== null) return `MISCONF ${blocked}`;
    }
    return null;
  }

  private send(out: RespWriter): void {
    this.socket.write(out.view());
    // A write the kernel took whole leaves nothing queued; otherwise the socket now owns the buffer.
    if (this.socket.writableLength > 0) out.detach();
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    if (!this.socket.destroyed && !this.socket.writableEnded) this.socket.destroy();
    this.host.onClose(this);
  }

  /** Ends the connection from the server side (shutdown, limits). */
  end(reply?: string): void {
    if (this.closed) return;
    if (reply !== undefined) this.socket.end(`-${reply}\r\n`);
    else this.socket.end();
    this.closed = true;
    this.host.onClose(this);
  }
}

function unknownCommand(out: RespWriter, args: string[], argc: number): void {
  const shown = args.slice(1, Math.min(argc, 4)).map((a) => `'${a.length > 64 ? `${a.slice(0, 64)}...` : a}'`).join(' ');
  const name = args[0]!.length > 128 ? `${args[0]!.slice(0, 128)}...` : args[0]!;
  out.error(`ERR unknown command '${name}', with args beginning with: ${shown}`);
}

/** Rebuilds a batch's replies with every write command's reply replaced by an error. */
function replaceWriteReplies(replies: Buffer, spans: number[], message: string): Buffer {
  const out = new RespWriter(replies.length + 64);
  let at = 0;
  for (let i = 0; i < spans.length; i += 2) {
    out.raw(replies.subarray(at, spans[i]!));
    out.error(message);
    at = spans[i + 1]!;
  }
  out.raw(replies.subarray(at));
  return Buffer.from(out.view());
}
