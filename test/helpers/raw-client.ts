import { connect, type Socket } from 'node:net';
import { once } from 'node:events';
import { ReplyDecoder, type RespValue } from '../../protocol/decoder.js';

/**
 * A bare socket to a server for protocol tests: send any bytes, await replies decoded by the
 * project's one codec, and see when the server closes the connection.
 */
export class RawClient {
  private readonly replies: RespValue[] = [];
  private waiters: Array<() => void> = [];
  closed = false;
  readonly closedPromise: Promise<void>;

  private constructor(readonly socket: Socket) {
    const decoder = new ReplyDecoder((r) => {
      this.replies.push(r);
      this.wake();
    });
    socket.on('data', (chunk: Buffer) => decoder.write(chunk));
    this.closedPromise = new Promise((resolve) => {
      socket.on('close', () => {
        this.closed = true;
        this.wake();
        resolve();
      });
    });
    socket.on('error', () => socket.destroy());
  }

  static async connect(port: number, host = '127.0.0.1'): Promise<RawClient> {
    const socket = connect({ port, host });
    await once(socket, 'connect');
    return new RawClient(socket);
  }

  send(bytes: string | Buffer): void {
    this.socket.write(bytes);
  }

  /** Resolves with the next `count` replies; rejects if the connection closes first or time runs out. */
  async read(count = 1, timeoutMs = 5000): Promise<RespValue[]> {
    const deadline = Date.now() + timeoutMs;
    while (this.replies.length < count) {
      if (this.closed) throw new Error(`connection closed after ${this.replies.length} of ${count} replies`);
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`timed out with ${this.replies.length} of ${count} replies`);
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, left);
        this.waiters.push(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
    return this.replies.splice(0, count);
  }

  async command(...args: string[]): Promise<RespValue> {
    const { encodeCommand } = await import('../../protocol/encoder.js');
    this.send(encodeCommand(args));
    const [reply] = await this.read(1);
    return reply!;
  }

  close(): void {
    this.socket.destroy();
  }

  private wake(): void {
    const waiters = this.waiters;
    this.waiters = [];
    for (const w of waiters) w();
  }
}
