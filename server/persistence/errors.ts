import { KvError } from '../../errors/kv-error.js';

/**
 * Stable codes for persistence failures; README lists each with what to do.
 * - KV_ERR_DIR_UNWRITABLE: --dir is not a folder the server can create files in (checked before listening).
 * - KV_ERR_SNAPSHOT_CORRUPT: the snapshot fails a format check (magic, version, checksum, length).
 * - KV_ERR_SNAPSHOT_UNREADABLE: the snapshot exists but cannot be read (I/O error, not a file).
 * - KV_ERR_LOG_CORRUPT: an append-only log has bytes that are not whole RESP write commands, or a generation is missing.
 * - KV_ERR_LOG_UNREADABLE: an append-only log exists but cannot be read.
 * - KV_ERR_SNAPSHOT_FAILED: taking a snapshot failed (disk full, I/O error); the previous snapshot is kept.
 * - KV_ERR_LOG_WRITE: the append-only log could not be written or fsynced, so a write was not acknowledged.
 */
export type PersistenceErrorCode =
  | 'KV_ERR_DIR_UNWRITABLE'
  | 'KV_ERR_SNAPSHOT_CORRUPT'
  | 'KV_ERR_SNAPSHOT_UNREADABLE'
  | 'KV_ERR_LOG_CORRUPT'
  | 'KV_ERR_LOG_UNREADABLE'
  | 'KV_ERR_SNAPSHOT_FAILED'
  | 'KV_ERR_LOG_WRITE';

/**
 * A persistence failure. `path` is the file or folder concerned; the message names it, says what
 * is wrong and what the user can do.
 */
export class PersistenceError extends KvError {
  constructor(
    readonly code: PersistenceErrorCode,
    readonly path: string,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

/**
 * A format violation found by the pure snapshot/log decoders, at a byte offset in the file.
 * The I/O shells turn it into a PersistenceError that names the file.
 */
export class FormatError extends KvError {
  constructor(
    /** What is wrong, e.g. "checksum mismatch" (no file name, no advice). */
    readonly problem: string,
    /** Offset in the file where the damaged structure starts. */
    readonly offsetBytes: number,
  ) {
    super(`${problem} at byte ${offsetBytes}`);
  }
}

/** `err.message` for anything thrown, with the errno code when there is one (ENOSPC, EIO...). */
export function describeError(err: unknown): string {
  if (err instanceof Error) {
    const code = (err as NodeJS.ErrnoException).code;
    return code !== undefined && !err.message.includes(code) ? `${code}: ${err.message}` : err.message;
  }
  return String(err);
}
