import type { FileHandle } from 'node:fs/promises';
import { performance } from 'node:perf_hooks';
import { DEFAULT_REQUEST_LIMITS, MAX_BULK_BYTES_CEILING, RequestDecoder } from '../../protocol/decoder.js';
import { ProtocolError } from '../../protocol/errors.js';
import { openIfExists } from './fs-durable.js';
import { canonicalRecordBytes } from './log-records.js';
import { RESP_ARRAY as STAR } from '../../protocol/resp.js';

// Reads one append-only log file with the server's own RESP decoder and hands each record to a
// callback. It only reads: what to do about a torn tail or damage (cut, refuse, move aside) is
// decided by the caller, which knows whether later generations exist.


export interface LogDamage {
  /** What is wrong, e.g. "not a RESP command (invalid bulk length)". */
  problem: string;
  /** Where the first bad record starts. */
  offsetBytes: number;
}

export interface LogReplayResult {
  /** Records applied. */
  records: number;
  /** Bytes of whole, applied records: where the file should end. */
  validBytes: number;
  fileBytes: number;
  /**
   * An incomplete last record (a write cut short by a crash) or a zero-filled tail (what some
   * file systems leave after a crash), starting at validBytes; nothing was applied from it.
   */
  tornTail: { offsetBytes: number; droppedBytes: number; zeroFilled: boolean } | null;
  /** Bytes that are not whole RESP records followed by more data; records before it were applied. */
  damage: LogDamage | null;
  durationMs: number;
}

export interface LogReplayOptions {
  /** Read size; the decoder carries records across reads. */
  chunkBytes?: number;
}

/**
 * Replays the log at `path` through `apply(args, argc)`, which returns null or what is wrong with a
 * record (an unknown command counts as damage). Returns null if the file does not exist; throws
 * only I/O errors.
 */
export async function replayLog(
  path: string,
  apply: (args: readonly string[], argc: number) => string | null,
  options: LogReplayOptions = {},
): Promise<LogReplayResult | null> {
  const startMs = performance.now();
  const fh = await openIfExists(path);
  if (fh === null) return null;
  try {
    const fileBytes = (await fh.stat()).size;
    const decoder = new RequestDecoder({
      ...DEFAULT_REQUEST_LIMITS,
      // Any value a server could have logged, whatever its --max-bulk-bytes.
      maxBulkBytes: MAX_BULK_BYTES_CEILING,
      maxArgs: 16 * 1024 * 1024,
      maxQueryBytes: Number.MAX_SAFE_INTEGER,
    });
    const chunk = Buffer.allocUnsafe(options.chunkBytes ?? 1024 * 1024);
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
        let argc: number;
        try {
          argc = decoder.next(args);
        } catch (err) {
          if (!(err instanceof ProtocolError || err instanceof RangeError)) throw err;
          damage = { problem: `not a RESP command (${err.message})`, offsetBytes: recordStart };
          break reading;
        }
        if (argc === 0) break;
        const recordEnd = position - decoder.bufferedBytes;
        if (recordEnd - recordStart !== canonicalRecordBytes(args, argc)) {
          damage = { problem: 'not a RESP array of bulk strings as kvring writes them', offsetBytes: recordStart };
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
    let tornTail: LogReplayResult['tornTail'] = null;
    if (damage !== null) {
      // Damage followed by nothing but zeros is a crash artefact, not corruption.
      if (await isAllZero(fh, damage.offsetBytes, fileBytes)) {
        tornTail = { offsetBytes: damage.offsetBytes, droppedBytes: fileBytes - damage.offsetBytes, zeroFilled: true };
        damage = null;
      }
    } else if (recordStart < fileBytes) {
      // The decoder wants more bytes: a prefix of a record. A RESP array prefix is a torn write;
      // anything else must be zeros to count as one.
      const first = Buffer.alloc(1);
      await fh.read(first, 0, 1, recordStart);
      const zeroFilled = first[0] !== STAR && (await isAllZero(fh, recordStart, fileBytes));
      if (first[0] === STAR || zeroFilled) {
        tornTail = { offsetBytes: recordStart, droppedBytes: fileBytes - recordStart, zeroFilled };
      } else {
        damage = { problem: 'bytes at the end are not the start of a RESP command', offsetBytes: recordStart };
      }
    }
    return { records, validBytes: recordStart, fileBytes, tornTail, damage, durationMs: performance.now() - startMs };
  } finally {
    await fh.close();
  }
}

async function isAllZero(fh: FileHandle, from: number, to: number): Promise<boolean> {
  const buf = Buffer.allocUnsafe(Math.min(1024 * 1024, Math.max(1, to - from)));
  for (let pos = from; pos < to;) {
    const { bytesRead } = await fh.read(buf, 0, Math.min(buf.length, to - pos), pos);
    if (bytesRead === 0) return false;
    for (let i = 0; i < bytesRead; i++) if (buf[i] !== 0) return false;
    pos += bytesRead;
  }
  return true;
}
