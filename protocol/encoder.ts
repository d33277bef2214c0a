import { CR, LF, RESP_ARRAY, RESP_BULK, RESP_ERROR, RESP_INTEGER, RESP_SIMPLE } from './resp.js';
// RESP2 encoding for both directions: replies (server) and commands (client, bench workers).
// RespWriter appends into one growable buffer so that a whole pipeline batch leaves in one
// socket write. Hot path: no per-call allocation for the common replies.

const OK = Buffer.from('+OK\r\n');
const PONG = Buffer.from('+PONG\r\n');
const NULL_BULK = Buffer.from('$-1\r\n');
const NULL_ARRAY = Buffer.from('*-1\r\n');
const EMPTY_ARRAY = Buffer.from('*0\r\n');
/** Pre-encoded `:0\r\n` .. `:99\r\n`: DEL and EXISTS answer these almost always. */
const SMALL_INTEGERS: Buffer[] = Array.from({ length: 100 }, (_, i) => Buffer.from(`:${i}\r\n`));
const INITIAL_BYTES = 64 * 1024;

/** A command argument as given by a caller: strings are sent as UTF-8, Buffers as they are. */
export type CommandArg = string | Buffer | number;

export class RespWriter {
  buf: Buffer;
  /** Bytes written so far; the frame to send is buf[0, length). */
  length = 0;

  constructor(initialBytes = INITIAL_BYTES) {
    this.buf = Buffer.allocUnsafe(initialBytes);
  }

  /** Makes room for `bytes` more bytes. */
  ensure(bytes: number): void {
    const needed = this.length + bytes;
    if (needed <= this.buf.length) return;
    let size = this.buf.length * 2;
    while (size < needed) size *= 2;
    const next = Buffer.allocUnsafe(size);
    this.buf.copy(next, 0, 0, this.length);
    this.buf = next;
  }

  /**
   * Hands out what was written and starts over. The returned view shares memory with this
   * writer: call `detach()` instead if the consumer (e.g. a socket) may hold on to it.
   */
  view(): Buffer {
    return this.buf.subarray(0, this.length);
  }

  /** Starts a fresh buffer because the old one now belongs to someone else (a pending write). */
  detach(): void {
    this.buf = Buffer.allocUnsafe(Math.min(this.buf.length, INITIAL_BYTES * 4));
    this.length = 0;
  }

  reset(): void {
    this.length = 0;
  }

  raw(bytes: Buffer): void {
    this.ensure(bytes.length);
    bytes.copy(this.buf, this.length);
    this.length += bytes.length;
  }

  /** `+text\r\n`; text must not contain CR or LF. */
  simple(text: string): void {
    this.ensure(text.length * 3 + 3);
    this.buf[this.length++] = RESP_SIMPLE;
    this.length += this.buf.utf8Write(text, this.length);
    this.crlf();
  }

  ok(): void {
    this.raw(OK);
  }

  pong(): void {
    this.raw(PONG);
  }

  /** `-message\r\n`; line breaks in the message are replaced so the frame stays valid. */
  error(message: string): void {
    const text = /[\r\n]/.test(message) ? message.replace(/[\r\n]+/g, ' ') : message;
    this.ensure(text.length * 3 + 3);
    this.buf[this.length++] = RESP_ERROR;
    this.length += this.buf.utf8Write(text, this.length);
    this.crlf();
  }

  integer(n: number): void {
    if (n >= 0 && n < SMALL_INTEGERS.length) {
      this.raw(SMALL_INTEGERS[n]!);
      return;
    }
    const text = String(n);
    this.ensure(text.length + 3);
    this.buf[this.length++] = RESP_INTEGER;
    this.length += this.buf.latin1Write(text, this.length);
    this.crlf();
  }

  /** A bulk string from a latin1 string (one char per byte: how the store keeps values). */
  bulkLatin1(value: string): void {
    const n = value.length;
    this.ensure(n + 16);
    this.header(RESP_BULK, n);
    this.length += this.buf.latin1Write(value, this.length);
    this.crlf();
  }

  /** A bulk string from a user string, sent as UTF-8. */
  bulkUtf8(value: string): void {
    const n = Buffer.byteLength(value, 'utf8');
    this.ensure(n + 16);
    this.header(RESP_BULK, n);
    this.length += this.buf.utf8Write(value, this.length);
    this.crlf();
  }

  bulkBuffer(value: Buffer): void {
    this.ensure(value.length + 16);
    this.header(RESP_BULK, value.length);
    value.copy(this.buf, this.length);
    this.length += value.length;
    this.crlf();
  }

  nullBulk(): void {
    this.raw(NULL_BULK);
  }

  nullArray(): void {
    this.raw(NULL_ARRAY);
  }

  arrayHeader(count: number): void {
    if (count === 0) {
      this.raw(EMPTY_ARRAY);
      return;
    }
    this.ensure(16);
    this.header(RESP_ARRAY, count);
  }

  /** Encodes a command as a RESP array of bulk strings: what every client sends. */
  command(args: readonly CommandArg[]): void {
    this.arrayHeader(args.length);
    for (const arg of args) {
      if (typeof arg === 'string') this.bulkUtf8(arg);
      else if (typeof arg === 'number') this.bulkUtf8(String(arg));
      else this.bulkBuffer(arg);
    }
  }

  private header(type: number, n: number): void {
    this.buf[this.length++] = type;
    if (n < 10) {
      this.buf[this.length++] = 0x30 + n;
    } else {
      this.length += this.buf.latin1Write(String(n), this.length);
    }
    this.crlf();
  }

  private crlf(): void {
    this.buf[this.length++] = CR;
    this.buf[this.length++] = LF;
  }
}

/** One command as a standalone frame; convenient outside hot paths (tests, CLI). */
export function encodeCommand(args: readonly CommandArg[]): Buffer {
  const w = new RespWriter(256);
  w.command(args);
  return Buffer.from(w.view());
}
