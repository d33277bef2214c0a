import { connect } from 'node:net';
import { ReplyDecoder, type RespValue } from '../../server/protocol/decoder.js';
import { encodeCommand, type CommandArg } from '../../server/protocol/encoder.js';

/**
 * Sends `commands` pipelined on a fresh connection and resolves with their replies in order,
 * then closes. Rejects if the connection fails, closes early, or `timeoutMs` passes first.
 * For setup and checks in the fault tools, not for load.
 */
export function oneShot(host: string, port: number, commands: CommandArg[][], timeoutMs = 5000): Promise<RespValue[]> {
  return new Promise((resolve, reject) => {
    const replies: RespValue[] = [];
    const socket = connect({ host, port, noDelay: true });
    const fail = (why: string): void => {
      clearTimeout(timer);
      socket.destroy();
      reject(new Error(`${host}:${port}: ${why} (${replies.length} of ${commands.length} replies)`));
    };
    const timer = setTimeout(() => fail(`no complete answer within ${timeoutMs} ms`), timeoutMs);
    const decoder = new ReplyDecoder((reply) => {
      replies.push(reply);
      if (replies.length === commands.length) {
        clearTimeout(timer);
        socket.destroy();
        resolve(replies);
      }
    });
    socket.on('connect', () => socket.write(Buffer.concat(commands.map((c) => encodeCommand(c)))));
    socket.on('data', (chunk: Buffer) => decoder.write(chunk));
    socket.on('error', (err: NodeJS.ErrnoException) => fail(`connection failed: ${err.code ?? err.message}`));
    socket.on('close', () => {
      if (replies.length < commands.length) fail('connection closed');
    });
  });
}
