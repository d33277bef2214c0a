import type { FileHandle } from 'node:fs/promises';
import { performance } from 'node:perf_hooks';
import { DEFAULT_REQUEST_LIMITS, MAX_BULK_BYTES_CEILING, RequestDecoder, type RequestLimits } from '../../protocol/decoder.js';
import { ProtocolError } from '../../protocol/errors.js';
import { RESP_ARRAY as STAR } from '../../protocol/resp.js';
import { openIfExists } from './fs-durable.js';
import { canonicalRecordBytes } from './log-records.js';
import { LOG_BLOCK_HEADER_BYTES, LOG_FILE_HEADER_BYTES, classifyLogStart, decodeBlockHeader, payloadMatches } from './log-format.js';

// Reads one append-only log file, version 2 (checksummed blocks) or version 1 (plain RESP), with
// the server's own RESP decoder, and hands each record to a callback. It only reads: what to do
// about a torn tail or damage (cut, refuse, move aside) is decided by the caller, which knows
// whether later generations exist.
//
// Version 2: a block's records are applied only after its checksums matched. What a crash can
// leave at the end (a block cut short, a zero-filled tail) is a torn tail; anything else that
// fails a check is damage, reported at the offset of the block (or record) where it starts.


/** A record that parses as RESP but is not byte for byte what kvring's log writer writes. */
const NOT_CANONICAL = 'not a RESP array of bulk strings as kvring writes them';

/** The next whole command from `decoder` into `args`: its argument count (0: none complete yet), or what is wrong with the bytes. */
function nextCommand(decoder: RequestDecoder, args: string[]): number | string {
  try {
    return decoder.next(args);
  } catch (err) {
    if (!(err instanceof ProtocolError || err instanceof RangeError)) throw err;
    return `not a RESP command (${err.message})`;
  }
}

export interface LogDamage {
  /** What is wrong, e.g. "checksum mismatch in a block". */
  problem: string;
  /** Where the first bad block (or record) starts. */
  offsetBytes: number;
}

export interface LogReplayResult {
  /** 2 (checksummed blocks), 1 (plain RESP), or null (empty, or only a torn header). */
  formatVersion: 1 | 2 | null;
  /** Records applied. */
  records: number;
  /** Bytes of whole, applied records (v1) or blocks (v2), header included: where the file should end. */
  validBytes: number;
  fileBytes: number;
  /**
   * An incomplete last record or block (a write cut short by a crash) or a zero-filled tail (what
   * some file systems leave after a crash), starting at validBytes; nothing was applied from it.
   */
  tornTail: { offsetBytes: number; droppedBytes: number; zeroFilled: boolean } | null;
  /** Bytes that fail a check and are not a crash artefact; records before them were applied. */
  damage: LogDamage | null;
  durationMs: number;
}

export interface LogReplayOptions {
  /** Read size (a version 2 block larger than it is read whole). */
  chunkBytes?: number;
}

export type ApplyRecord = (args: readonly string[], argc: number) => string | null;

/** Any value a server could have logged, whatever its --max-bulk-bytes. */
const REPLAY_LIMITS: RequestLimits = {
  ...DEFAULT_REQUEST_LIMITS,
  maxBulkBytes: MAX_BULK_BYTES_CEILING,
  maxArgs: 16 * 1024 * 1024,
  maxQueryBytes: Number.MAX_SAFE_INTEGER,
};

type Outcome = Pick<LogReplayResult, 'records' | 'validBytes' | 'tornTail' | 'damage'>;

/**
 * Replays the log at `path` through `apply(args, argc)`, which returns null or what is wrong with a
 * record (an unknown command counts as damage). Returns null if the file does not exist; throws
 * only I/O errors.
 */
export async function replayLog(path: string, apply: ApplyRecord, options: LogReplayOptions = {}): Promise<LogReplayResult | null> {
  const startMs = performance.now();
  const fh = await openIfExists(path);
  if (fh === null) return null;
  try {
    const fileBytes = (await fh.stat()).size;
    const first = Buffer.alloc(Math.min(LOG_FILE_HEADER_BYTES, fileBytes));
    if (first.length > 0) await readFully(fh, first, 0);
    const start = classifyLogStart(first, fileBytes);
    let formatVersion: LogReplayResult['formatVersion'] = null;
    let outcome: Outcome;
    if (start.kind === 'empty') {
      outcome = { records: 0, validBytes: 0, tornTail: null, damage: null };
    } else if (start.kind === 'v1') {
      formatVersion = 1;
      outcome = await replayV1(fh, fileBytes, apply, options.chunkBytes ?? 1024 * 1024);
    } else if (start.kind === 'v2') {
      formatVersion = 2;
      outcome = await replayV2(fh, fileBytes, apply, options.chunkBytes ?? 1024 * 1024);
    } else if (start.kind === 'torn-header') {
      outcome = { records: 0, validBytes: 0, tornTail: { offsetBytes: 0, droppedBytes: fileBytes, zeroFilled: false }, damage: null };
    } else {
      const zeroFilled = (await zeroTailStart(fh, fileBytes)) === 0;
      outcome = zeroFilled
        ? { records: 0, validBytes: 0, tornTail: { offsetBytes: 0, droppedBytes: fileBytes, zeroFilled: true }, damage: null }
        : { records: 0, validBytes: 0, tornTail: null, damage: { problem: start.problem, offsetBytes: start.offsetBytes } };
    }
    return { formatVersion, ...outcome, fileBytes, durationMs: performance.now() - startMs };
  } finally {
    await fh.close();
  }
}

/** Version 2: checksummed blocks after the file header. */
async function replayV2(fh: FileHandle, fileBytes: number, apply: ApplyRecord, chunkBytes: number): Promise<Outcome> {
  const file = new FileWindow(fh, fileBytes, chunkBytes);
  const args: string[] = [];
  let records = 0;
  let pos = LOG_FILE_HEADER_BYTES;
  const torn = (zeroFilled: boolean): Outcome => ({ records, validBytes: pos, tornTail: { offsetBytes: pos, droppedBytes: fileBytes - pos, zeroFilled }, damage: null });
  /**
   * A block failed a check: a crash artefact if the file ends in zeros that begin inside this
   * block (a written block never ends in a zero byte: its last byte is RESP's LF), else damage.
   */
  const failed = async (problem: string, blockEnd: number): Promise<Outcome> => {
    const zeroStart = await zeroTailStart(fh, fileBytes);
    if (zeroStart < fileBytes && zeroStart <= blockEnd) return torn(true);
    return { records, validBytes: pos, tornTail: null, damage: { problem, offsetBytes: pos } };
  };
  while (pos < fileBytes) {
    if (fileBytes - pos < LOG_BLOCK_HEADER_BYTES) return torn((await zeroTailStart(fh, fileBytes)) <= pos);
    const block = decodeBlockHeader(await file.view(pos, LOG_BLOCK_HEADER_BYTES));
    if (typeof block === 'string') return failed(block, pos + LOG_BLOCK_HEADER_BYTES);
    const payloadStart = pos + LOG_BLOCK_HEADER_BYTES;
    const blockEnd = payloadStart + block.payloadBytes;
    if (blockEnd > fileBytes) return torn(false);
    const payload = await file.view(payloadStart, block.payloadBytes);
    if (!payloadMatches(payload, block)) return failed('checksum mismatch in a block', blockEnd);
    // A fresh decoder per block: it parses the payload in place and no state crosses blocks.
    const decoder = new RequestDecoder(REPLAY_LIMITS);
    decoder.append(payload);
    let recordStart = 0;
    for (;;) {
      const argc = nextCommand(decoder, args);
      if (typeof argc === 'string') return { records, validBytes: pos, tornTail: null, damage: { problem: argc, offsetBytes: payloadStart + recordStart } };
      if (argc === 0) break;
      const recordEnd = block.payloadBytes - decoder.bufferedBytes;
      const problem = recordEnd - recordStart !== canonicalRecordBytes(args, argc) ? NOT_CANONICAL : apply(args, argc);
      if (problem !== null) return { records, validBytes: pos, tornTail: null, damage: { problem, offsetBytes: payloadStart + recordStart } };
      records++;
      recordStart = recordEnd;
    }
    if (recordStart !== block.payloadBytes) {
      return { records, validBytes: pos, tornTail: null, damage: { problem: 'a block ends inside a command', offsetBytes: payloadStart + recordStart } };
    }
    pos = blockEnd;
  }
  return { records, validBytes: pos, tornTail: null, damage: null };
}

/**
 * Sequential reads of a file in large chunks: blocks are often small (one event-loop turn's
 * writes), and a read per block header and payload would cost two thread-pool round trips each.
 */
class FileWindow {
  private buf: Buffer;
  /** File offset of buf[0], and how many bytes of buf are valid. */
  private start = 0;
  private filled = 0;

  constructor(
    private readonly fh: FileHandle,
    private readonly fileBytes: number,
    private readonly chunkBytes: number,
  ) {
    this.buf = Buffer.allocUnsafe(Math.min(chunkBytes, Math.max(1, fileBytes)));
  }

  /** File bytes [position, position + length), which must exist; valid until the next call. */
  async view(position: number, length: number): Promise<Buffer> {
    if (position < this.start || position + length > this.start + this.filled) {
      const want = Math.min(this.fileBytes - position, Math.max(this.chunkBytes, length));
      if (this.buf.length < want) this.buf = Buffer.allocUnsafe(want);
      await readFully(this.fh, this.buf.subarray(0, want), position);
      this.start = position;
      this.filled = want;
    }
    return this.buf.subarray(position - this.start, position - this.start + length);
  }
}

/** Version 1: RESP commands from byte 0, no checksums (files written before issue 12). */
async function replayV1(fh: FileHandle, fileBytes: number, apply: ApplyRecord, chunkBytes: number): Promise<Outcome> {
  const decoder = new RequestDecoder(REPLAY_LIMITS);
  const chunk = Buffer.allocUnsafe(chunkBytes);
  const args: string[] = [];
  let position = 0;
  let recordStart = 0;
  let records = 0;
  let damage: LogDamage | null = null;
  reading: while (position < fileBytes) {
    const { bytesRead } = await fh.read(chunk, 0, Math.min(chunk.length, fileBytes - position), position);
    if (bytesRead === 0) break;
    // The decoder parses a chunk in place and copies out what it keeps (compact), so the chunk
    // buffer can be reused for the next read.
    decoder.append(bytesRead === chunk.length ? chunk : chunk.subarray(0, bytesRead));
    position += bytesRead;
    for (;;) {
      const argc = nextCommand(decoder, args);
      if (typeof argc === 'string') {
        damage = { problem: argc, offsetBytes: recordStart };
        break reading;
      }
      if (argc === 0) break;
      const recordEnd = position - decoder.bufferedBytes;
      if (recordEnd - recordStart !== canonicalRecordBytes(args, argc)) {
        damage = { problem: NOT_CANONICAL, offsetBytes: recordStart };
        break reading;
      }
      const problem = apply(args, argc);
      if (problem !== null) {
        damage = { problem, offsetBytes: recordStart };
        break reading;
      }
      records++;
      recordStart = recordEnd;
    }
    decoder.compact();
  }
  let tornTail: Outcome['tornTail'] = null;
  if (damage !== null) {
    // Damage followed by nothing but zeros is a crash artefact, not corruption.
    if ((await zeroTailStart(fh, fileBytes)) <= damage.offsetBytes) {
      tornTail = { offsetBytes: damage.offsetBytes, droppedBytes: fileBytes - damage.offsetBytes, zeroFilled: true };
      damage = null;
    }
  } else if (recordStart < fileBytes) {
    // The decoder wants more bytes: a prefix of a record. A RESP array prefix is a torn write;
    // anything else must be zeros to count as one.
    const first = Buffer.alloc(1);
    await readFully(fh, first, recordStart);
    const zeroFilled = first[0] !== STAR && (await zeroTailStart(fh, fileBytes)) <= recordStart;
    if (first[0] === STAR || zeroFilled) {
      tornTail = { offsetBytes: recordStart, droppedBytes: fileBytes - recordStart, zeroFilled };
    } else {
      damage = { problem: 'bytes at the end are not the start of a RESP command', offsetBytes: recordStart };
    }
  }
  return { records, validBytes: recordStart, tornTail, damage };
}

async function readFully(fh: FileHandle, into: Buffer, position: number): Promise<void> {
  let done = 0;
  while (done < into.length) {
    const { bytesRead } = await fh.read(into, done, into.length - done, position + done);
    if (bytesRead === 0) throw new Error(`unexpected end of file at byte ${position + done}`);
    done += bytesRead;
  }
}

/** Where the run of zero bytes that ends the file begins (fileBytes if the last byte is not zero). */
async function zeroTailStart(fh: FileHandle, fileBytes: number): Promise<number> {
  const buf = Buffer.allocUnsafe(Math.min(1024 * 1024, Math.max(1, fileBytes)));
  let end = fileBytes;
  while (end > 0) {
    const from = Math.max(0, end - buf.length);
    const n = end - from;
    await readFully(fh, buf.subarray(0, n), from);
    for (let i = n - 1; i >= 0; i--) if (buf[i] !== 0) return from + i + 1;
    end = from;
  }
  return 0;
}
