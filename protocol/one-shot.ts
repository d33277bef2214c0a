// The one one-shot RESP client: a few commands to one server over a short-lived connection,
// outside any hot path — PING of --servers before a run, INFO for the record, health probes,
// setup and checks in the fault tools and tests. Uses the project's one RESP codec.

import { connect } from 'node:net';
import { parseAddress } from './address.js';
import { ReplyDecoder, type RespValue } from './decoder.js';
import { encodeCommand, type CommandArg } from './encoder.js';

/**
 * Sends `commands` pipelined in one write on a fresh connection and resolves with their replies in
 * order (an error reply is a ReplyError value, not a rejection), then closes. Rejects if the
 * connection fails, closes early, the server breaks the protocol, or `timeoutMs` passes first;
 * the message names the server and how many replies had arrived.
 */
export function oneShot(host: string, port: number, commands: readonly (readonly CommandArg[])[], timeoutMs = 5000): Promise<RespValue[]> {
  return new Promise((resolve, reject) => {
    const replies: RespValue[] = [];
    const socket = connect({ host, port, noDelay: true });
    let settled = false;
    const fail = (why: string): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      socket.destroy();
      reject(new Error(`${host}:${port}: ${why} (${replies.length} of ${commands.length} replies)`));
    };
    const timer = setTimeout(() => fail(`no complete answer within ${timeoutMs} ms`), timeoutMs);
    const decoder = new ReplyDecoder((reply) => {
      replies.push(reply);
      if (replies.length === commands.length && !settled) {
        settled = true;
        clearTimeout(timer);
        socket.destroy();
        resolve(replies);
      }
    });
    socket.on('connect', () => socket.write(Buffer.concat(commands.map((c) => encodeCommand(c)))));
    socket.on('data', (chunk: Buffer) => {
      try {
        decoder.write(chunk);
      } catch (err) {
        fail(`unreadable reply: ${(err as Error).message}`);
      }
    });
    socket.on('error', (err: NodeJS.ErrnoException) => fail(`connection failed: ${err.code ?? err.message}`));
    socket.on('close', () => {
      if (replies.length < commands.length) fail('connection closed');
    });
  });
}

/** One command to `address` ("host:port"); resolves with its reply (see oneShot for failures). */
export async function sendCommand(address: string, args: readonly CommandArg[], timeoutMs: number): Promise<RespValue> {
  const { host, port } = parseAddress(address);
  const [reply] = await oneShot(host, port, [args], timeoutMs);
  return reply!;
}
