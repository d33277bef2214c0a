import { connect } from 'node:net';
import { ReplyScanner } from '../../protocol/decoder.js';
import { RespWriter } from '../../protocol/encoder.js';
import { RESP_BULK } from '../../protocol/resp.js';

// Reads keys back after a restart, pipelined over a few connections, and says for each whether
// it came back with the expected value, missing, or different.

export const READ_OK = 0;
export const READ_MISSING = 1;
export const READ_WRONG = 2;

export interface ReadItem {
  key: string;
  expected: string;
}

/** GETs per write on each connection: large enough to amortise round trips, small enough to stay in socket buffers. */
const BATCH = 512;

/**
 * GETs every item's key and returns a status per item (READ_OK, READ_MISSING, READ_WRONG), in
 * item order. Rejects if a connection fails or no reply comes for `timeoutMs`.
 */
export async function readBack(host: string, port: number, items: readonly ReadItem[], connections = 4, timeoutMs = 10_000): Promise<Uint8Array> {
  const status = new Uint8Array(items.length);
  const per = Math.ceil(items.length / connections);
  const parts: Array<Promise<void>> = [];
  for (let c = 0; c < connections && c * per < items.length; c++) {
    parts.push(readRange(host, port, items, c * per, Math.min(items.length, (c + 1) * per), status, timeoutMs));
  }
  await Promise.all(parts);
  return status;
}

function readRange(host: string, port: number, items: readonly ReadItem[], from: number, to: number, status: Uint8Array, timeoutMs: number): Promise<void> {
  return new Promise((resolve, reject) => {
    const socket = connect({ host, port, noDelay: true });
    const out = new RespWriter(64 * 1024);
    const scanner = new ReplyScanner();
    let pending: Buffer = Buffer.alloc(0);
    let next = from;
    let answered = from;
    let timer: NodeJS.Timeout | null = null;
    let finished = false;
    const finish = (err: Error | null): void => {
      if (finished) return;
      finished = true;
      if (timer !== null) clearTimeout(timer);
      socket.destroy();
      if (err === null) resolve();
      else reject(err);
    };
    const armTimer = (): void => {
      if (timer !== null) clearTimeout(timer);
      timer = setTimeout(() => finish(new Error(`read-back from ${host}:${port} stalled: no reply for ${timeoutMs} ms (${answered - from} of ${to - from} keys read)`)), timeoutMs);
    };
    const sendBatch = (): void => {
      out.reset();
      const end = Math.min(to, next + BATCH);
      for (; next < end; next++) out.command(['GET', items[next]!.key]);
      socket.write(Buffer.from(out.view()));
    };
    socket.on('connect', () => {
      armTimer();
      if (from === to) finish(null);
      else sendBatch();
    });
    socket.on('data', (chunk: Buffer) => {
      armTimer();
      pending = pending.length === 0 ? chunk : Buffer.concat([pending, chunk]);
      let pos = 0;
      for (;;) {
        const end = scanner.scan(pending, pos, pending.length);
        if (end === -1) break;
        const item = items[answered]!;
        if (scanner.kind === RESP_BULK && scanner.valueStart >= 0) {
          const same = scanner.valueEnd - scanner.valueStart === item.expected.length && pending.latin1Slice(scanner.valueStart, scanner.valueEnd) === item.expected;
          status[answered] = same ? READ_OK : READ_WRONG;
        } else if (scanner.kind === RESP_BULK) {
          status[answered] = READ_MISSING;
        } else {
          finish(new Error(`GET ${item.key} answered ${pending.toString('latin1', pos, Math.min(end, pos + 200)).trim()}`));
          return;
        }
        answered++;
        pos = end;
      }
      pending = pending.subarray(pos);
      if (answered === to) finish(null);
      else if (answered === next) sendBatch();
    });
    socket.on('error', (err: NodeJS.ErrnoException) => finish(new Error(`read-back from ${host}:${port} failed: ${err.code ?? err.message}`)));
    socket.on('close', () => finish(answered === to ? null : new Error(`read-back connection to ${host}:${port} closed after ${answered - from} of ${to - from} keys`)));
  });
}
