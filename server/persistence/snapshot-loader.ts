import type { FileHandle } from 'node:fs/promises';
import { performance } from 'node:perf_hooks';
import { FormatError, PersistenceError, describeError } from './errors.js';
import { openIfExists } from './fs-durable.js';
import {
  BLOCK_END,
  BLOCK_HEADER_BYTES,
  HEADER_BYTES,
  decodeBlockHeader,
  decodeEndPayload,
  decodeEntries,
  decodeHeader,
  verifyBlock,
  type SnapshotHeader,
} from './snapshot-format.js';

// Reads a snapshot block by block, verifying each block's checksum before any of its entries is
// handed out, so memory stays at one block (not the whole file) and the error names the offset.

export interface SnapshotLoadResult {
  header: SnapshotHeader;
  keys: number;
  fileBytes: number;
  durationMs: number;
}

const ADVICE = 'restore a good copy, or start with --discard-corrupt to move it aside and start empty';

/**
 * Loads the snapshot at `path`, calling `onEntry(key, value)` for every entry in file order
 * (a later entry for the same key replaces an earlier one). Returns null if there is no file.
 * Throws PersistenceError KV_ERR_SNAPSHOT_CORRUPT (format check failed, with the byte offset) or
 * KV_ERR_SNAPSHOT_UNREADABLE (I/O error); entries before the damage may already have been passed
 * to onEntry, so the caller discards them.
 */
export async function loadSnapshot(path: string, onEntry: (key: string, value: string) => void): Promise<SnapshotLoadResult | null> {
  const startMs = performance.now();
  const fh = await openIfExists(path).catch((err: unknown) => {
    throw unreadable(path, err);
  });
  if (fh === null) return null;
  try {
    const fileBytes = (await fh.stat()).size;
    const headerBuf = Buffer.alloc(Math.min(HEADER_BYTES, fileBytes));
    await readExactly(fh, headerBuf, 0);
    const header = decodeHeader(headerBuf, fileBytes);
    const blockHeaderBuf = Buffer.alloc(BLOCK_HEADER_BYTES);
    let payloadBuf = Buffer.allocUnsafe(1024 * 1024 + 64 * 1024);
    let offset = HEADER_BYTES;
    let keys = 0;
    let payloadBytes = 0;
    for (;;) {
      const headerBytes = Math.min(BLOCK_HEADER_BYTES, Math.max(0, fileBytes - offset));
      await readExactly(fh, blockHeaderBuf.subarray(0, headerBytes), offset);
      const block = decodeBlockHeader(blockHeaderBuf, offset, fileBytes);
      if (block.payloadBytes > payloadBuf.length) payloadBuf = Buffer.allocUnsafe(block.payloadBytes);
      const payload = payloadBuf.subarray(0, block.payloadBytes);
      await readExactly(fh, payload, offset + BLOCK_HEADER_BYTES);
      verifyBlock(blockHeaderBuf, payload, block, offset);
      if (block.type === BLOCK_END) {
        const totals = decodeEndPayload(payload);
        if (totals.entries !== keys || totals.payloadBytes !== payloadBytes) {
          throw new FormatError(`the end block counts ${totals.entries} entries / ${totals.payloadBytes} bytes but the file holds ${keys} / ${payloadBytes}`, offset);
        }
        const end = offset + BLOCK_HEADER_BYTES + block.payloadBytes;
        if (end !== fileBytes) throw new FormatError(`${fileBytes - end} unexpected bytes after the end block`, end);
        break;
      }
      payloadBytes += decodeEntries(payload, block.entryCount, offset + BLOCK_HEADER_BYTES, onEntry);
      keys += block.entryCount;
      offset += BLOCK_HEADER_BYTES + block.payloadBytes;
    }
    return { header, keys, fileBytes, durationMs: performance.now() - startMs };
  } catch (err) {
    if (err instanceof FormatError) {
      throw new PersistenceError('KV_ERR_SNAPSHOT_CORRUPT', path, `snapshot ${path} is corrupt: ${err.message}; ${ADVICE}`, { cause: err });
    }
    throw unreadable(path, err);
  } finally {
    await fh.close();
  }
}

function unreadable(path: string, err: unknown): PersistenceError {
  return new PersistenceError('KV_ERR_SNAPSHOT_UNREADABLE', path, `snapshot ${path} cannot be read: ${describeError(err)}; fix the file's permissions or disk, ${ADVICE}`, { cause: err });
}

/** Fills `buf` from `position`; a short read means the file shrank under us, an I/O problem. */
async function readExactly(fh: FileHandle, buf: Buffer, position: number): Promise<void> {
  let done = 0;
  while (done < buf.length) {
    const { bytesRead } = await fh.read(buf, done, buf.length - done, position + done);
    if (bytesRead === 0) throw new Error(`unexpected end of file at byte ${position + done} (the file changed while being read?)`);
    done += bytesRead;
  }
}
