// Sends a cost sequence (bench/costs/sequence.ts) to one server over one connection, one batch at
// a time: the next batch leaves only when every reply of the last one is in (closed loop), so the
// server reads exactly one batch per read however slow it runs (under valgrind, ~50× slower).
// Ends with SHUTDOWN NOSAVE, so the server exits at once and the same way every run (no final
// snapshot whose cost would depend on what the sequence left in the store) — when the caller says
// so: measure.ts shuts the four servers of a measurement down together.
// Not a hot path: the server under valgrind is the slow side, so Buffer.concat here costs nothing.

import { connect, type Socket } from 'node:net';
import { once } from 'node:events';
import { KvError } from '../../errors/kv-error.js';
import { ReplyScanner } from '../../protocol/decoder.js';
import { encodeCommand } from '../../protocol/encoder.js';
import { RESP_ERROR } from '../../protocol/resp.js';
import type { Batch } from './sequence.js';

/** The server misbehaved during a cost run (an error reply, a dropped connection): the counts would price something else. */
export class CostRunError extends KvError {
  readonly code = 'KV_ERR_COSTS_RUN';
  readonly exitCode = 2;
}

export interface DriveOutcome {
  requests: number;
  /** First error reply's text, or null. */
  firstError: string | null;
  errors: number;
}

const SHUTDOWN_NOSAVE = encodeCommand(['SHUTDOWN', 'NOSAVE']);

/**
 * Sends `batches` to host:port closed-loop, then — once `beforeShutdown` (called when the last
 * reply is in) resolves — SHUTDOWN NOSAVE; resolves once the server closed the connection.
 * Rejects with CostRunError if the connection fails or closes early.
 */
export async function driveSequence(host: string, port: number, batches: readonly Batch[], beforeShutdown: () => Promise<void> = () => Promise.resolve()): Promise<DriveOutcome> {
  const socket: Socket = connect({ host, port, noDelay: true });
  await Promise.race([once(socket, 'connect'), once(socket, 'error').then(([err]) => Promise.reject(new CostRunError(`cannot connect to ${host}:${port}: ${(err as Error).message}`)))]);
  const scanner = new ReplyScanner();
  let pending: Buffer = Buffer.alloc(0);
  let index = 0;
  let awaited = 0;
  let requests = 0;
  let errors = 0;
  let firstError: string | null = null;
  let shutdownSent = false;

  return new Promise<DriveOutcome>((resolve, reject) => {
    const sendNext = (): void => {
      if (index < batches.length) {
        const batch = batches[index++]!;
        awaited = batch.requests;
        socket.write(batch.bytes);
      } else {
        shutdownSent = true;
        void beforeShutdown().then(() => socket.write(SHUTDOWN_NOSAVE));
      }
    };
    socket.on('data', (chunk: Buffer) => {
      pending = pending.length === 0 ? chunk : Buffer.concat([pending, chunk]);
      let pos = 0;
      for (;;) {
        const next = scanner.scan(pending, pos, pending.length);
        if (next === -1) break;
        if (!shutdownSent) {
          requests++;
          awaited--;
          if (scanner.kind === RESP_ERROR) {
            errors++;
            firstError ??= pending.toString('latin1', scanner.valueStart, scanner.valueEnd);
          }
        }
        pos = next;
      }
      pending = pending.subarray(pos);
      if (awaited === 0 && !shutdownSent) sendNext();
    });
    socket.on('error', (err) => {
      // The server may reset the connection as it exits after SHUTDOWN: that is the end we asked for.
      if (!shutdownSent) reject(new CostRunError(`connection to ${host}:${port} failed after ${requests} replies: ${err.message}`));
    });
    socket.on('close', () => {
      if (!shutdownSent) reject(new CostRunError(`the server closed the connection after ${requests} replies, before the sequence ended`));
      else resolve({ requests, errors, firstError });
    });
    sendNext();
  });
}
