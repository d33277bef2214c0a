import { ProtocolError, ReplyError } from './errors.js';
import { splitInlineArgs } from './inline.js';
import { CR, LF, RESP_ARRAY as STAR, RESP_BULK as DOLLAR, RESP_ERROR, RESP_INTEGER, RESP_SIMPLE } from './resp.js';

// The one RESP2 codec of kvring: RequestDecoder turns client bytes into commands (server side),
// ReplyDecoder turns server bytes into replies (client library, bench workers, tests).
// Both are resumable state machines over a byte buffer: a frame split across reads is never
// parsed twice, so a million-argument array arriving in many chunks costs linear time.
// One file (~430 lines) because the three share the byte-level line and number scanning, which
// stays module-private so that no caller can parse RESP a second way.


/** Limits a RequestDecoder enforces; each is a documented server flag. */
export interface RequestLimits {
  /** Largest bulk string accepted (`--max-bulk-bytes`). */
  maxBulkBytes: number;
  /** Most arguments in one command (`--max-args`). */
  maxArgs: number;
  /** Most bytes of one not-yet-complete command held for a client (`--max-query-bytes`). */
  maxQueryBytes: number;
  /** Longest inline command line. */
  maxInlineBytes: number;
}

/**
 * The largest bulk string kvring can hold at all: values are latin1 strings, and V8 strings hold
 * at most 2^29-24 one-byte chars. The ceiling of --max-bulk-bytes and of what a log may contain.
 */
export const MAX_BULK_BYTES_CEILING = 512 * 1024 * 1024;

export const DEFAULT_REQUEST_LIMITS: RequestLimits = {
  maxBulkBytes: 64 * 1024 * 1024,
  maxArgs: 1024 * 1024,
  maxQueryBytes: 256 * 1024 * 1024,
  maxInlineBytes: 64 * 1024,
};

/** A minus sign, in a decimal and as the first byte of an error reply. */
const MINUS = RESP_ERROR;

/** Longest `*<n>` / `$<n>` header line; Redis refuses longer ones the same way. */
const MAX_HEADER_LINE_BYTES = 32;
const INITIAL_BUFFER_BYTES = 16 * 1024;
/** Most a RequestDecoder reserves ahead for an announced bulk string, before its bytes arrive. */
const BULK_PREALLOC_BYTES = 1024 * 1024;
/** What an emptied decoder points at: shared, so dropping a buffer allocates nothing. Never written. */
const EMPTY = Buffer.alloc(0);

/**
 * Parses a decimal integer from buf[start, end); returns NaN if it is not one.
 * Hot path: no string is created.
 */
function parseDecimal(buf: Buffer, start: number, end: number): number {
  if (start >= end) return NaN;
  let i = start;
  let negative = false;
  if (buf[i] === MINUS) {
    negative = true;
    i++;
    if (i >= end) return NaN;
  }
  let value = 0;
  for (; i < end; i++) {
    const d = buf[i]! - 0x30;
    if (d < 0 || d > 9) return NaN;
    value = value * 10 + d;
  }
  return negative ? -value : value;
}

/** Index of the LF ending the line that starts at `from`, or -1 if it has not arrived yet. */
function findLineEnd(buf: Buffer, from: number, end: number): number {
  const i = buf.indexOf(LF, from);
  return i === -1 || i >= end ? -1 : i;
}

/**
 * The byte queue under both decoders. It borrows a socket's chunk when nothing is pending (no
 * copy on the common path, where a read holds whole frames), and copies only an incomplete tail
 * into a buffer of its own, so the socket's buffer is never retained and may be reused.
 */
abstract class BorrowingBuffer {
  protected buf: Buffer = EMPTY;
  /** Whether `buf` is our own (may be written into) or a borrowed socket chunk. */
  protected owned = false;
  protected pos = 0;
  protected end = 0;

  /** Adds bytes; `reserveBytes` is how much room the frame being read is known to need. */
  protected appendBytes(chunk: Buffer, reserveBytes = 0): void {
    if (this.pos === this.end) {
      // Nothing pending: parse the chunk in place.
      this.buf = chunk;
      this.owned = false;
      this.pos = 0;
      this.end = chunk.length;
      return;
    }
    const pending = this.end - this.pos;
    const needed = pending + chunk.length;
    if (!this.owned || this.pos + needed > this.buf.length) {
      let size = Math.max(INITIAL_BUFFER_BYTES, this.buf.length);
      while (size < needed) size *= 2;
      size = Math.max(size, reserveBytes);
      const next = Buffer.allocUnsafe(size);
      this.buf.copy(next, 0, this.pos, this.end);
      this.buf = next;
      this.owned = true;
      this.pos = 0;
      this.end = pending;
    }
    chunk.copy(this.buf, this.end);
    this.end += chunk.length;
  }

  /**
   * Keeps only unconsumed bytes, copying them out of a borrowed chunk; drops the buffer once it
   * is empty, so an idle connection holds no memory.
   */
  protected compactBytes(): void {
    if (this.pos === this.end) {
      this.dropBytes();
    } else if (!this.owned) {
      const rest = Buffer.allocUnsafe(Math.max(INITIAL_BUFFER_BYTES, this.end - this.pos));
      this.buf.copy(rest, 0, this.pos, this.end);
      this.buf = rest;
      this.owned = true;
      this.end -= this.pos;
      this.pos = 0;
    }
  }

  /** Forgets every buffered byte. */
  protected dropBytes(): void {
    this.buf = EMPTY;
    this.owned = false;
    this.pos = this.end = 0;
  }
}

/**
 * Accumulates bytes from one connection and yields complete commands, RESP arrays of bulk strings
 * or inline lines. Arguments are latin1 strings (one char per byte: binary-safe and compact).
 *
 * Usage per 'data' event: `append(chunk)`, then call `next(args)` until it returns 0, then
 * `compact()`. `next` fills `args[0..n)` and returns n; it throws ProtocolError on bad input,
 * after which the connection must be closed.
 */
export class RequestDecoder extends BorrowingBuffer {
  // Resumable state of a RESP array being read.
  private argc = -1;
  private argi = 0;
  private bulkLen = -1;
  /** Bytes of the current, incomplete command already turned into arguments. */
  private pendingArgBytes = 0;

  constructor(private readonly limits: RequestLimits = DEFAULT_REQUEST_LIMITS) {
    super();
  }

  /** Bytes received but not yet consumed (the query buffer). */
  get bufferedBytes(): number {
    return this.end - this.pos;
  }

  append(chunk: Buffer): void {
    // A bulk whose length is known is reserved up front, but only up to BULK_PREALLOC_BYTES:
    // past that the buffer doubles as bytes arrive, so a client that merely announces 64 MiB
    // values on many connections cannot make the server reserve 64 MiB for each.
    const reserve = this.bulkLen >= 0 ? Math.min(this.bulkLen + 2 + (this.end - this.pos), BULK_PREALLOC_BYTES) : 0;
    this.appendBytes(chunk, reserve);
  }

  /** Call after the last `next` of a read: nothing may point into the read's chunk afterwards. */
  compact(): void {
    this.compactBytes();
  }

  /** Returns the number of arguments written into `args`, or 0 if no whole command is buffered. */
  next(args: string[]): number {
    const buf = this.buf;
    const end = this.end;
    if (this.argc < 0) {
      // Skip blank lines between commands, as Redis does for inline input.
      while (this.pos < end && (buf[this.pos] === CR || buf[this.pos] === LF)) this.pos++;
      if (this.pos >= end) return 0;
      if (buf[this.pos] !== STAR) return this.nextInline(args);
      const lineEnd = findLineEnd(buf, this.pos, end);
      if (lineEnd === -1) {
        if (end - this.pos > MAX_HEADER_LINE_BYTES) throw new ProtocolError('too big mbulk count string');
        return 0;
      }
      const count = parseDecimal(buf, this.pos + 1, lineEnd - 1);
      if (buf[lineEnd - 1] !== CR || !Number.isSafeInteger(count) || count > this.limits.maxArgs) {
        throw new ProtocolError('invalid multibulk length');
      }
      this.pos = lineEnd + 1;
      if (count <= 0) return this.next(args); // `*0` and `*-1` are empty: skip, like Redis.
      this.argc = count;
      this.argi = 0;
      this.bulkLen = -1;
      this.pendingArgBytes = 0;
    }
    while (this.argi < this.argc) {
      if (this.bulkLen < 0) {
        if (this.pos >= end) return this.incomplete();
        if (buf[this.pos] !== DOLLAR) {
          throw new ProtocolError(`expected '$', got '${String.fromCharCode(buf[this.pos]!)}'`);
        }
        const lineEnd = findLineEnd(buf, this.pos, end);
        if (lineEnd === -1) {
          if (end - this.pos > MAX_HEADER_LINE_BYTES) throw new ProtocolError('too big bulk count string');
          return this.incomplete();
        }
        const len = parseDecimal(buf, this.pos + 1, lineEnd - 1);
        if (buf[lineEnd - 1] !== CR || !Number.isSafeInteger(len) || len < 0 || len > this.limits.maxBulkBytes) {
          throw new ProtocolError('invalid bulk length');
        }
        this.bulkLen = len;
        this.pos = lineEnd + 1;
      }
      if (end - this.pos < this.bulkLen + 2) return this.incomplete();
      const argEnd = this.pos + this.bulkLen;
      if (buf[argEnd] !== CR || buf[argEnd + 1] !== LF) throw new ProtocolError('bulk string not terminated by CRLF');
      args[this.argi++] = buf.latin1Slice(this.pos, argEnd);
      this.pendingArgBytes += this.bulkLen;
      this.pos = argEnd + 2;
      this.bulkLen = -1;
    }
    const n = this.argc;
    this.argc = -1;
    return n;
  }

  private incomplete(): number {
    if (this.pendingArgBytes + (this.end - this.pos) > this.limits.maxQueryBytes) {
      throw new ProtocolError('query buffer limit exceeded');
    }
    return 0;
  }

  private nextInline(args: string[]): number {
    const lineEnd = findLineEnd(this.buf, this.pos, this.end);
    if (lineEnd === -1) {
      if (this.end - this.pos > this.limits.maxInlineBytes) throw new ProtocolError('too big inline request');
      return 0;
    }
    const textEnd = lineEnd > this.pos && this.buf[lineEnd - 1] === CR ? lineEnd - 1 : lineEnd;
    const parts = splitInlineArgs(this.buf, this.pos, textEnd);
    this.pos = lineEnd + 1;
    if (parts.length === 0) return this.next(args);
    if (parts.length > this.limits.maxArgs) throw new ProtocolError('invalid multibulk length');
    for (let i = 0; i < parts.length; i++) args[i] = parts[i]!;
    return parts.length;
  }
}

/** A decoded RESP2 reply. Bulk strings are Buffers (binary-safe); null is the nil bulk/array. */
export type RespValue = string | number | Buffer | null | ReplyError | RespValue[];

/** Receives each complete top-level reply, in order. */
export type ReplyHandler = (reply: RespValue) => void;

interface ArrayFrame {
  items: RespValue[];
  remaining: number;
}

/**
 * Turns a server's byte stream into replies, calling `onReply` once per top-level reply in order.
 * Throws ProtocolError if the server sends something that is not RESP2.
 *
 * `maxBulkBytes` bounds what a misbehaving server can make the client allocate.
 */
export class ReplyDecoder extends BorrowingBuffer {
  private readonly stack: ArrayFrame[] = [];

  constructor(
    private readonly onReply: ReplyHandler,
    private readonly maxBulkBytes = MAX_BULK_BYTES_CEILING,
  ) {
    super();
  }

  /** Feeds bytes; calls the handler for every reply they complete. */
  write(chunk: Buffer): void {
    this.appendBytes(chunk);
    while (this.pos < this.end) {
      const value = this.parseOne();
      if (value === INCOMPLETE) break;
      this.emit(value);
    }
    this.compactBytes();
  }

  /** Drops any partial reply, e.g. after the connection was lost. */
  reset(): void {
    this.dropBytes();
    this.stack.length = 0;
  }

  private emit(value: RespValue): void {
    // Fold the value into the innermost open array; complete arrays fold outward.
    let v = value;
    while (this.stack.length > 0) {
      const frame = this.stack[this.stack.length - 1]!;
      frame.items.push(v);
      if (--frame.remaining > 0) return;
      this.stack.pop();
      v = frame.items;
    }
    this.onReply(v);
  }

  private parseOne(): RespValue | typeof INCOMPLETE {
    const buf = this.buf;
    const lineEnd = findLineEnd(buf, this.pos, this.end);
    if (lineEnd === -1) return INCOMPLETE;
    if (buf[lineEnd - 1] !== CR) throw new ProtocolError('reply line not terminated by CRLF');
    const type = buf[this.pos];
    const start = this.pos + 1;
    const stop = lineEnd - 1;
    switch (type) {
      case RESP_SIMPLE:
        this.pos = lineEnd + 1;
        return buf.latin1Slice(start, stop);
      case RESP_ERROR:
        this.pos = lineEnd + 1;
        return new ReplyError(buf.toString('utf8', start, stop));
      case RESP_INTEGER: {
        const n = parseDecimal(buf, start, stop);
        if (Number.isNaN(n)) throw new ProtocolError('invalid integer reply');
        this.pos = lineEnd + 1;
        return n;
      }
      case DOLLAR: {
        const len = parseDecimal(buf, start, stop);
        if (Number.isNaN(len) || len < -1 || len > this.maxBulkBytes) throw new ProtocolError('invalid bulk length in reply');
        if (len === -1) {
          this.pos = lineEnd + 1;
          return null;
        }
        const dataStart = lineEnd + 1;
        if (this.end - dataStart < len + 2) return INCOMPLETE;
        this.pos = dataStart + len + 2;
        // A copy, not a view: the caller may keep it while this buffer is reused.
        return Buffer.from(buf.subarray(dataStart, dataStart + len));
      }
      case STAR: {
        const count = parseDecimal(buf, start, stop);
        if (Number.isNaN(count) || count < -1) throw new ProtocolError('invalid multibulk length in reply');
        this.pos = lineEnd + 1;
        if (count === -1) return null;
        if (count === 0) return [];
        this.stack.push({ items: [], remaining: count });
        return this.parseOneAfterArrayHeader();
      }
      default:
        throw new ProtocolError(`unexpected reply type byte 0x${(type ?? 0).toString(16)}`);
    }
  }

  /** After an array header, its first element follows; an empty remainder means "wait". */
  private parseOneAfterArrayHeader(): RespValue | typeof INCOMPLETE {
    if (this.pos >= this.end) return INCOMPLETE;
    return this.parseOne();
  }
}

const INCOMPLETE: unique symbol = Symbol('incomplete');

/**
 * Zero-allocation reply scanning for load generators: finds where one complete reply ends and
 * what it was, without creating strings or Buffers. After `scan` returns a position, `kind` is the
 * reply's type byte ('+', '-', ':', '$', '*'), `valueStart`/`valueEnd` delimit a simple string,
 * error text or bulk payload (valueStart = -1 for a nil bulk or array), and `integer` holds an
 * integer reply or an array's length. Arrays, nested or not, are skipped whole.
 */
export class ReplyScanner {
  kind = 0;
  valueStart = -1;
  valueEnd = -1;
  integer = 0;

  /** Returns the offset just past one complete reply starting at `pos`, or -1 if it is incomplete. */
  scan(buf: Buffer, pos: number, end: number): number {
    if (pos >= end) return -1;
    const lineEnd = findLineEnd(buf, pos, end);
    if (lineEnd === -1) return -1;
    if (buf[lineEnd - 1] !== CR) throw new ProtocolError('reply line not terminated by CRLF');
    const type = buf[pos]!;
    this.kind = type;
    switch (type) {
      case RESP_SIMPLE:
      case RESP_ERROR:
        this.valueStart = pos + 1;
        this.valueEnd = lineEnd - 1;
        return lineEnd + 1;
      case RESP_INTEGER: {
        const n = parseDecimal(buf, pos + 1, lineEnd - 1);
        if (Number.isNaN(n)) throw new ProtocolError('invalid integer reply');
        this.integer = n;
        this.valueStart = this.valueEnd = -1;
        return lineEnd + 1;
      }
      case DOLLAR: {
        const len = parseDecimal(buf, pos + 1, lineEnd - 1);
        if (Number.isNaN(len) || len < -1) throw new ProtocolError('invalid bulk length in reply');
        if (len === -1) {
          this.valueStart = this.valueEnd = -1;
          return lineEnd + 1;
        }
        const dataStart = lineEnd + 1;
        if (end - dataStart < len + 2) return -1;
        this.valueStart = dataStart;
        this.valueEnd = dataStart + len;
        return dataStart + len + 2;
      }
      case STAR: {
        const count = parseDecimal(buf, pos + 1, lineEnd - 1);
        if (Number.isNaN(count) || count < -1) throw new ProtocolError('invalid multibulk length in reply');
        let next = lineEnd + 1;
        for (let i = 0; i < count; i++) {
          next = this.scan(buf, next, end);
          if (next === -1) return -1;
        }
        this.kind = STAR;
        this.integer = count;
        this.valueStart = this.valueEnd = -1;
        return next;
      }
      default:
        throw new ProtocolError(`unexpected reply type byte 0x${type.toString(16)}`);
    }
  }
}
