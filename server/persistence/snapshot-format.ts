import { crc32 } from './crc32.js';
import { FormatError } from './errors.js';

// The snapshot file format, version 1 (README "Snapshot file format" has the byte table).
//
//   header  32 bytes: magic "KVRSNAP\n", u32 version, u32 log generation, u64 start time (ms),
//           u32 reserved (0), u32 CRC-32 of the 28 bytes before it
//   blocks  each: u8 type ('D' data, 'E' end), u32 payload bytes, u32 entry count,
//           u32 CRC-32 of (the 9 bytes before it + the payload), then the payload
//           'D' payload: count x (u32 key bytes, key, u32 value bytes, value)
//           'E' payload: u64 total entries, u64 total key+value bytes; the file ends right after it
//
// All integers little-endian. A checksum per block (~1 MiB) lets the writer checksum as it goes and
// the loader name the damaged block's offset; the end block makes truncation at a block boundary
// detectable. Pure: bytes in, values or FormatError out.

export const SNAPSHOT_MAGIC = Buffer.from('KVRSNAP\n', 'latin1');
export const SNAPSHOT_VERSION = 1;
export const HEADER_BYTES = 32;
export const BLOCK_HEADER_BYTES = 13;
export const BLOCK_DATA = 0x44; // 'D'
export const BLOCK_END = 0x45; // 'E'
export const END_PAYLOAD_BYTES = 16;
/** Per-entry overhead inside a data block: two u32 lengths. */
export const ENTRY_OVERHEAD_BYTES = 8;
/** Data blocks are sealed once they reach this size (one entry larger than it gets a block of its own). */
export const DEFAULT_BLOCK_BYTES = 1024 * 1024;

export interface SnapshotHeader {
  version: number;
  /** Log generations numbered >= this are replayed after loading; lower ones are obsolete. */
  aofGeneration: number;
  /** When the snapshot started (Unix ms): it holds every write acknowledged before then. */
  startedAtMs: number;
}

export function encodeHeader(header: Omit<SnapshotHeader, 'version'>): Buffer {
  const buf = Buffer.alloc(HEADER_BYTES);
  SNAPSHOT_MAGIC.copy(buf, 0);
  buf.writeUInt32LE(SNAPSHOT_VERSION, 8);
  buf.writeUInt32LE(header.aofGeneration, 12);
  buf.writeBigUInt64LE(BigInt(Math.max(0, Math.floor(header.startedAtMs))), 16);
  buf.writeUInt32LE(0, 24);
  buf.writeUInt32LE(crc32(buf.subarray(0, 28)), 28);
  return buf;
}

/**
 * Checks and decodes the header. `buf` holds the file's first min(HEADER_BYTES, fileBytes) bytes.
 * Throws FormatError for an empty file, a short file, a wrong magic, an unknown version or a
 * header checksum mismatch.
 */
export function decodeHeader(buf: Buffer, fileBytes: number): SnapshotHeader {
  if (fileBytes === 0) throw new FormatError('empty file (0 bytes)', 0);
  const magicBytes = Math.min(buf.length, SNAPSHOT_MAGIC.length);
  if (!buf.subarray(0, magicBytes).equals(SNAPSHOT_MAGIC.subarray(0, magicBytes))) {
    throw new FormatError(`not a kvring snapshot (wrong magic ${JSON.stringify(buf.latin1Slice(0, magicBytes))})`, 0);
  }
  if (fileBytes < HEADER_BYTES) throw new FormatError(`truncated: ${fileBytes} bytes, shorter than the ${HEADER_BYTES}-byte header`, fileBytes);
  const version = buf.readUInt32LE(8);
  if (version !== SNAPSHOT_VERSION) {
    throw new FormatError(`unknown format version ${version} (this kvring reads version ${SNAPSHOT_VERSION}; a newer kvring wrote it, or the header is damaged)`, 8);
  }
  const stored = buf.readUInt32LE(28);
  const actual = crc32(buf.subarray(0, 28));
  if (stored !== actual) throw new FormatError('checksum mismatch in the header', 0);
  return {
    version,
    aofGeneration: buf.readUInt32LE(12),
    startedAtMs: Number(buf.readBigUInt64LE(16)),
  };
}

export interface BlockHeader {
  type: number;
  payloadBytes: number;
  entryCount: number;
  storedCrc: number;
}

/**
 * Decodes the block header found at `offsetBytes` of a file of `fileBytes`; `buf` holds the
 * min(BLOCK_HEADER_BYTES, remaining) bytes there. Throws FormatError if the file ends inside it,
 * the type is unknown, or the payload would run past the end of the file.
 */
export function decodeBlockHeader(buf: Buffer, offsetBytes: number, fileBytes: number): BlockHeader {
  const remaining = fileBytes - offsetBytes;
  if (remaining <= 0) throw new FormatError('truncated: the file ends without the end block', offsetBytes);
  if (remaining < BLOCK_HEADER_BYTES) throw new FormatError(`truncated: the file ends inside a block header (${remaining} of ${BLOCK_HEADER_BYTES} bytes)`, offsetBytes);
  const type = buf[0]!;
  if (type !== BLOCK_DATA && type !== BLOCK_END) throw new FormatError(`unknown block type 0x${type.toString(16).padStart(2, '0')}`, offsetBytes);
  const payloadBytes = buf.readUInt32LE(1);
  const entryCount = buf.readUInt32LE(5);
  const storedCrc = buf.readUInt32LE(9);
  if (payloadBytes > remaining - BLOCK_HEADER_BYTES) {
    throw new FormatError(`truncated or damaged: the block claims ${payloadBytes} payload bytes but only ${remaining - BLOCK_HEADER_BYTES} remain`, offsetBytes);
  }
  if (type === BLOCK_END && (payloadBytes !== END_PAYLOAD_BYTES || entryCount !== 0)) {
    throw new FormatError('damaged end block (wrong length or count)', offsetBytes);
  }
  return { type, payloadBytes, entryCount, storedCrc };
}

/** Throws FormatError unless the stored CRC matches the block's first 9 header bytes + payload. */
export function verifyBlock(headerBytes: Buffer, payload: Buffer, block: BlockHeader, offsetBytes: number): void {
  const actual = crc32(payload, crc32(headerBytes.subarray(0, 9)));
  if (actual !== block.storedCrc) throw new FormatError('checksum mismatch', offsetBytes);
}

/**
 * Calls `onEntry(key, value)` (latin1 strings) for each of `count` entries of a verified data
 * block. `payloadOffsetBytes` is where the payload starts in the file, for error offsets.
 * Returns the key+value bytes decoded.
 */
export function decodeEntries(
  payload: Buffer,
  count: number,
  payloadOffsetBytes: number,
  onEntry: (key: string, value: string) => void,
): number {
  let pos = 0;
  let dataBytes = 0;
  const end = payload.length;
  for (let i = 0; i < count; i++) {
    if (end - pos < 4) throw new FormatError(`entry ${i} of ${count} overruns its block`, payloadOffsetBytes + pos);
    const keyBytes = payload.readUInt32LE(pos);
    if (end - pos - 4 < keyBytes + 4) throw new FormatError(`entry ${i} of ${count} overruns its block`, payloadOffsetBytes + pos);
    const key = payload.latin1Slice(pos + 4, pos + 4 + keyBytes);
    pos += 4 + keyBytes;
    const valueBytes = payload.readUInt32LE(pos);
    if (end - pos - 4 < valueBytes) throw new FormatError(`entry ${i} of ${count} overruns its block`, payloadOffsetBytes + pos);
    const value = payload.latin1Slice(pos + 4, pos + 4 + valueBytes);
    pos += 4 + valueBytes;
    dataBytes += keyBytes + valueBytes;
    onEntry(key, value);
  }
  if (pos !== end) throw new FormatError(`${end - pos} stray bytes after the last entry of the block`, payloadOffsetBytes + pos);
  return dataBytes;
}

export interface SnapshotTotals {
  entries: number;
  payloadBytes: number;
}

export function decodeEndPayload(payload: Buffer): SnapshotTotals {
  return { entries: Number(payload.readBigUInt64LE(0)), payloadBytes: Number(payload.readBigUInt64LE(8)) };
}

/** The end block: the file's last bytes, carrying the totals the loader checks. */
export function encodeEndBlock(totals: SnapshotTotals): Buffer {
  const buf = Buffer.alloc(BLOCK_HEADER_BYTES + END_PAYLOAD_BYTES);
  buf[0] = BLOCK_END;
  buf.writeUInt32LE(END_PAYLOAD_BYTES, 1);
  buf.writeUInt32LE(0, 5);
  buf.writeBigUInt64LE(BigInt(totals.entries), BLOCK_HEADER_BYTES);
  buf.writeBigUInt64LE(BigInt(totals.payloadBytes), BLOCK_HEADER_BYTES + 8);
  const crc = crc32(buf.subarray(BLOCK_HEADER_BYTES), crc32(buf.subarray(0, 9)));
  buf.writeUInt32LE(crc, 9);
  return buf;
}

/**
 * Builds data blocks into two alternating buffers, so one block can be written to disk while the
 * next is being filled. A view returned by `seal()` stays valid until the following `seal()`.
 * Hot path: one bounds check and two latin1 copies per entry, no allocation.
 */
export class SnapshotBlockEncoder {
  private buf: Buffer;
  private spare: Buffer;
  private pos = BLOCK_HEADER_BYTES;
  private count = 0;
  private readonly capacityBytes: number;

  constructor(readonly targetBlockBytes: number = DEFAULT_BLOCK_BYTES) {
    // Slack so that an entry arriving just below the target rarely needs a larger buffer.
    this.capacityBytes = targetBlockBytes + BLOCK_HEADER_BYTES + 64 * 1024;
    this.buf = Buffer.allocUnsafe(this.capacityBytes);
    this.spare = Buffer.allocUnsafe(this.capacityBytes);
  }

  get entryCount(): number {
    return this.count;
  }

  /** Whether the block reached its target size and should be sealed. */
  get isFull(): boolean {
    return this.pos - BLOCK_HEADER_BYTES >= this.targetBlockBytes;
  }

  add(key: string, value: string): void {
    const keyBytes = key.length;
    const valueBytes = value.length;
    const needed = ENTRY_OVERHEAD_BYTES + keyBytes + valueBytes;
    if (this.pos + needed > this.buf.length) this.grow(this.pos + needed);
    const buf = this.buf;
    let pos = this.pos;
    buf.writeUInt32LE(keyBytes, pos);
    pos += 4;
    pos += buf.latin1Write(key, pos);
    buf.writeUInt32LE(valueBytes, pos);
    pos += 4;
    pos += buf.latin1Write(value, pos);
    this.pos = pos;
    this.count++;
  }

  /** Finishes the current block (header and CRC) and returns it; later adds go to the other buffer. */
  seal(): Buffer {
    const buf = this.buf;
    const end = this.pos;
    buf[0] = BLOCK_DATA;
    buf.writeUInt32LE(end - BLOCK_HEADER_BYTES, 1);
    buf.writeUInt32LE(this.count, 5);
    buf.writeUInt32LE(crc32(buf.subarray(BLOCK_HEADER_BYTES, end), crc32(buf.subarray(0, 9))), 9);
    // The spare's write has completed by the time the caller adds again (see SnapshotWriter);
    // a spare grown for one huge entry is dropped rather than kept for the rest of the snapshot.
    this.buf = this.spare.length > this.capacityBytes ? Buffer.allocUnsafe(this.capacityBytes) : this.spare;
    this.spare = buf;
    this.pos = BLOCK_HEADER_BYTES;
    this.count = 0;
    return buf.subarray(0, end);
  }

  private grow(neededBytes: number): void {
    const next = Buffer.allocUnsafe(neededBytes);
    this.buf.copy(next, 0, 0, this.pos);
    this.buf = next;
  }
}
