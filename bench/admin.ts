// One command to one server over a short-lived connection, outside any hot path: PING of
// --servers before a run, INFO for the record. Uses the project's one RESP codec.

import { connect } from 'node:net';
import { ReplyDecoder, type RespValue } from '../server/protocol/decoder.js';
import { encodeCommand } from '../server/protocol/encoder.js';

/** "host:port" (as the ring names servers) → [host, port]. */
export function splitAddress(address: string): [string, number] {
  const i = address.lastIndexOf(':');
  return [address.slice(0, i), Number(address.slice(i + 1))];
}

/** Sends `args` to `address` ("host:port") and resolves with the reply; rejects on error or timeout. */
export function sendCommand(address: string, args: string[], timeoutMs: number): Promise<RespValue> {
  const [host, port] = splitAddress(address);
  return new Promise((resolve, reject) => {
    const socket = connect({ host, port });
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new Error(`no reply within ${timeoutMs} ms`));
    }, timeoutMs);
    const decoder = new ReplyDecoder((reply) => {
      clearTimeout(timer);
      socket.end();
      resolve(reply);
    });
    socket.on('connect', () => socket.write(encodeCommand(args)));
    socket.on('data', (chunk: Buffer) => {
      try {
        decoder.write(chunk);
      } catch (err) {
        clearTimeout(timer);
        socket.destroy();
        reject(err as Error);
      }
    });
    socket.on('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
  });
}
