import { connect, type Socket } from 'node:net';
import { ReplyDecoder, type RespValue } from '../../protocol/decoder.js';
import { encodeCommand } from '../../protocol/encoder.js';

export interface HealthResult {
  ok: boolean;
  /** Round trip of PING + GET canary, ms (also set when the answer was wrong). */
  rttMs: number;
  /** Why it is not ok: refused, timed out, wrong PING answer, canary missing or changed. */
  problem: string | null;
}

export interface Canary {
  key: string;
  value: string;
}

/**
 * Asks the server, on a fresh connection, PING and GET <canary key> in one write and checks the
 * answers are PONG and the canary value within `timeoutMs`. Never throws: every failure is a
 * problem in the result, since telling crash from wedge is the caller's job.
 */
export function checkHealth(host: string, port: number, canary: Canary, timeoutMs: number): Promise<HealthResult> {
  const startedMs = performance.now();
  return new Promise((resolve) => {
    let socket: Socket | null = null;
    let settled = false;
    const replies: RespValue[] = [];
    const finish = (problem: string | null): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      socket?.destroy();
      resolve({ ok: problem === null, rttMs: performance.now() - startedMs, problem });
    };
    const timer = setTimeout(() => finish(`no answer to PING + GET within ${timeoutMs} ms (${replies.length} of 2 replies)`), timeoutMs);
    const decoder = new ReplyDecoder((reply) => {
      replies.push(reply);
      if (replies.length < 2) return;
      if (replies[0] !== 'PONG') finish(`PING answered ${describe(replies[0]!)}`);
      else if (!(replies[1] instanceof Buffer)) finish(`GET ${canary.key} answered ${describe(replies[1]!)} instead of the canary value`);
      else if (replies[1].toString('latin1') !== canary.value) finish(`GET ${canary.key} answered a different value: ${describe(replies[1])}`);
      else finish(null);
    });
    socket = connect({ host, port, noDelay: true });
    socket.on('connect', () => socket!.write(Buffer.concat([encodeCommand(['PING']), encodeCommand(['GET', Buffer.from(canary.key, 'latin1')])])));
    socket.on('data', (chunk: Buffer) => {
      try {
        decoder.write(chunk);
      } catch (err) {
        finish(`malformed reply: ${(err as Error).message}`);
      }
    });
    socket.on('error', (err: NodeJS.ErrnoException) => finish(`connection failed: ${err.code ?? err.message}`));
    socket.on('close', () => finish(`connection closed after ${replies.length} of 2 replies`));
  });
}

function describe(reply: RespValue): string {
  if (reply instanceof Buffer) return JSON.stringify(reply.toString('latin1').slice(0, 80));
  if (reply instanceof Error) return `error "${reply.message}"`;
  return JSON.stringify(reply);
}
