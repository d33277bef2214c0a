import { connect, type Socket } from 'node:net';
import { setImmediate as nextTick } from 'node:timers/promises';
import { ReplyScanner } from '../../protocol/decoder.js';
import type { ConnectionPlan } from './burst-plan.js';
import { RESP_ERROR } from '../../protocol/resp.js';

// Plays one planned connection against a live server: connect, write the bytes in the planned
// pieces, end the way the plan says, and check that what came back is well-formed RESP.

export interface ConnectionOutcome {
  connected: boolean;
  /** Why the connection could not be opened (ECONNREFUSED...), if it was not. */
  connectError: string | null;
  bytesSent: number;
  replyBytes: number;
  replies: number;
  /** Replies starting "-ERR Protocol error": the decoder refused the input (expected often). */
  protocolErrors: number;
  /** Set if the server sent bytes that are not RESP: always a server bug. */
  badReply: string | null;
  /** The server closed the connection before we ended it (after a protocol error or QUIT). */
  serverClosed: boolean;
  /** A FIN'd connection the server had not closed within lingerMs (destroyed by us). */
  lingered: boolean;
}

export interface ConnectionTimeouts {
  connectTimeoutMs: number;
  /** How long a half-closed connection may stay open before it counts as lingering. */
  lingerMs: number;
}

/** Reply bytes kept for the well-formedness check; beyond it replies are counted, not checked. */
const MAX_CHECKED_REPLY_BYTES = 4 * 1024 * 1024;

const PROTOCOL_ERROR_PREFIX = Buffer.from('ERR Protocol error');

export async function playConnection(host: string, port: number, plan: ConnectionPlan, timeouts: ConnectionTimeouts): Promise<ConnectionOutcome> {
  const outcome: ConnectionOutcome = {
    connected: false,
    connectError: null,
    bytesSent: 0,
    replyBytes: 0,
    replies: 0,
    protocolErrors: 0,
    badReply: null,
    serverClosed: false,
    lingered: false,
  };
  const socket = connect({ host, port, noDelay: true });
  const checker = new ReplyChecker(outcome);
  let closedResolve: () => void = () => undefined;
  const closed = new Promise<void>((resolve) => {
    closedResolve = resolve;
  });
  let weClosed = false;
  socket.on('data', (chunk: Buffer) => checker.add(chunk));
  socket.on('error', (err: NodeJS.ErrnoException) => {
    // Resets and broken pipes after the server refused our input are normal here.
    if (!outcome.connected) outcome.connectError = err.code ?? err.message;
  });
  socket.on('end', () => {
    if (!weClosed) outcome.serverClosed = true;
  });
  socket.on('close', () => {
    if (!weClosed) outcome.serverClosed = true;
    closedResolve();
  });

  const connectTimer = setTimeout(() => {
    outcome.connectError ??= `no connection within ${timeouts.connectTimeoutMs} ms`;
    socket.destroy();
  }, timeouts.connectTimeoutMs);
  await Promise.race([new Promise<void>((resolve) => socket.once('connect', resolve)), closed]);
  clearTimeout(connectTimer);
  if (socket.destroyed || socket.connecting) return outcome;
  outcome.connected = true;

  const end = plan.closeMode === 'mid-send' ? plan.stopAt : plan.bytes.length;
  let from = 0;
  for (const cut of [...plan.cuts.filter((c) => c < end), end]) {
    if (socket.destroyed) break;
    if (cut > from) {
      socket.write(plan.bytes.subarray(from, cut));
      outcome.bytesSent += cut - from;
      // Give the loop a turn so pieces tend to leave as separate segments.
      if (plan.cuts.length > 0) await nextTick();
    }
    from = cut;
  }

  if (plan.closeMode === 'fin' && !socket.destroyed) {
    weClosed = true;
    socket.end();
    const lingerTimer = setTimeout(() => {
      outcome.lingered = true;
      socket.destroy();
    }, timeouts.lingerMs);
    await closed;
    clearTimeout(lingerTimer);
    checker.finish(outcome.lingered);
  } else {
    weClosed = true;
    if (!socket.destroyed) resetSocket(socket);
    await closed;
    checker.finish(true);
  }
  return outcome;
}

/** Aborts with RST rather than FIN where Node supports it (resetAndDestroy, Node >= 18.3). */
function resetSocket(socket: Socket): void {
  const withReset = socket as Socket & { resetAndDestroy?: () => Socket };
  if (typeof withReset.resetAndDestroy === 'function') withReset.resetAndDestroy();
  else socket.destroy();
}

/** Scans the reply stream as it arrives; the first malformed byte is recorded as a bad reply. */
class ReplyChecker {
  private buf: Buffer = Buffer.alloc(0);
  private readonly scanner = new ReplyScanner();
  private checking = true;

  constructor(private readonly outcome: ConnectionOutcome) {}

  add(chunk: Buffer): void {
    this.outcome.replyBytes += chunk.length;
    if (!this.checking) return;
    this.buf = this.buf.length === 0 ? chunk : Buffer.concat([this.buf, chunk]);
    let pos = 0;
    for (;;) {
      let next: number;
      try {
        next = this.scanner.scan(this.buf, pos, this.buf.length);
      } catch (err) {
        this.outcome.badReply = `${(err as Error).message} at reply byte ${this.outcome.replyBytes - this.buf.length + pos}: ${JSON.stringify(this.buf.toString('latin1', pos, pos + 40))}`;
        this.checking = false;
        return;
      }
      if (next === -1) break;
      this.outcome.replies++;
      if (this.scanner.kind === RESP_ERROR && this.buf.subarray(this.scanner.valueStart, this.scanner.valueStart + PROTOCOL_ERROR_PREFIX.length).equals(PROTOCOL_ERROR_PREFIX)) {
        this.outcome.protocolErrors++;
      }
      pos = next;
    }
    this.buf = this.buf.subarray(pos);
    if (this.buf.length > MAX_CHECKED_REPLY_BYTES) this.checking = false;
  }

  /** At close: a reply cut short is a bug only if the server closed a connection we let finish. */
  finish(weCutItShort: boolean): void {
    if (this.checking && this.buf.length > 0 && !weCutItShort && this.outcome.badReply === null) {
      this.outcome.badReply = `the server closed the connection in the middle of a reply (${this.buf.length} bytes of it: ${JSON.stringify(this.buf.toString('latin1', 0, 40))})`;
    }
  }
}
