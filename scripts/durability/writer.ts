import { connect } from 'node:net';
import { ReplyScanner } from '../../protocol/decoder.js';
import { RespWriter } from '../../protocol/encoder.js';
import { durabilityKey, durabilityValue } from './keys.js';
import { RESP_SIMPLE } from '../../protocol/resp.js';

// One connection of unique-key SETs with a fixed number in flight, recording when each was
// acknowledged. It runs until the server dies under it (the point of the exercise) or stop().

export interface WriterSpec {
  runTag: string;
  round: number;
  conn: number;
  /** SETs in flight at once on this connection. */
  depth: number;
  valueBytes: number;
}

export interface WriterResult {
  /** SETs written to the socket (acknowledged or not). */
  sent: number;
  /** Unix ms at which write `seq` was acknowledged with +OK; NaN if it got an error reply. */
  ackAtMs: number[];
  errorReplies: number;
  firstError: string | null;
}

export interface Writer {
  /** Stops sending and closes the connection. */
  stop(): void;
  /** Resolves once the connection is closed (server killed, or stop()). */
  readonly done: Promise<WriterResult>;
}

/** Connects and starts writing at once; the promise resolves even if the connection fails. */
export function startWriter(host: string, port: number, spec: WriterSpec): Writer {
  const socket = connect({ host, port, noDelay: true });
  const result: WriterResult = { sent: 0, ackAtMs: [], errorReplies: 0, firstError: null };
  const out = new RespWriter(64 * 1024);
  const scanner = new ReplyScanner();
  let pending: Buffer = Buffer.alloc(0);
  let stopped = false;

  const sendUpTo = (count: number): void => {
    out.reset();
    for (let i = 0; i < count; i++) {
      const key = durabilityKey(spec.runTag, spec.round, spec.conn, result.sent + i);
      out.command(['SET', key, durabilityValue(key, spec.valueBytes)]);
    }
    result.sent += count;
    // A copy: the socket may hold on to the buffer after write() returns.
    socket.write(Buffer.from(out.view()));
  };

  socket.on('connect', () => {
    if (!stopped) sendUpTo(spec.depth);
  });
  socket.on('data', (chunk: Buffer) => {
    pending = pending.length === 0 ? chunk : Buffer.concat([pending, chunk]);
    let pos = 0;
    let acked = 0;
    const nowMs = Date.now();
    for (;;) {
      const next = scanner.scan(pending, pos, pending.length);
      if (next === -1) break;
      if (scanner.kind === RESP_SIMPLE) {
        result.ackAtMs.push(nowMs);
      } else {
        result.ackAtMs.push(Number.NaN);
        result.errorReplies++;
        result.firstError ??= pending.toString('latin1', pos, Math.min(next, pos + 200)).trim();
      }
      acked++;
      pos = next;
    }
    pending = pending.subarray(pos);
    if (acked > 0 && !stopped) sendUpTo(acked);
  });
  // Expected when the server is killed: the result records what was acknowledged before.
  socket.on('error', () => socket.destroy());
  const done = new Promise<WriterResult>((resolve) => socket.on('close', () => resolve(result)));
  return {
    stop() {
      stopped = true;
      socket.destroy();
    },
    done,
  };
}
