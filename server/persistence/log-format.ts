import { crc32 } from './crc32.js';
import { RESP_ARRAY } from '../../protocol/resp.js';

// The append-only log's file format (README "Log format and replay" has the byte tables).
//
//   version 2 (written since issue 12)
//     header  16 bytes: magic "KVRALOG\n", u32 version (2), u32 CRC-32 of the 12 bytes before it
//     blocks  each: u8 type 'R', u32 payload bytes P, u32 CRC-32 of the payload,
//             u32 CRC-32 of the 9 bytes before it, then P bytes of RESP commands
//   version 1 (read only): no header, plain RESP commands from the first byte ('*')
//
// All integers little-endian; CRC-32 is the snapshot's (crc32.ts). A block is what the writer
// hands to the kernel in one write: the commands of one event-loop turn, closed early at
// BLOCK_TARGET_PAYLOAD_BYTES. Why two checksums: the header's own CRC is checked before its
// length is believed, so a flipped length bit is damage, never mistaken for a block cut short
// by a crash; the payload CRC catches any flip inside the commands. CRC-32 detects every error
// of up to 32 consecutive bits, so every single-bit flip is found. Pure: bytes in, values out.

export const LOG_MAGIC = Buffer.from('KVRALOG\n', 'latin1');
export const LOG_FORMAT_VERSION = 2;
export const LOG_FILE_HEADER_BYTES = 16;
export const LOG_BLOCK_HEADER_BYTES = 13;
export const LOG_BLOCK_RECORDS = 0x52; // 'R'
/** A block is closed once its payload reaches this, so it holds at most this plus one record. */
export const BLOCK_TARGET_PAYLOAD_BYTES = 1024 * 1024;
/** Largest payload a block may claim: one record of the 512 MiB bulk ceiling plus its framing, rounded up. */
export const MAX_BLOCK_PAYLOAD_BYTES = 1024 * 1024 * 1024;

/** The v2 file header (the same 16 bytes in every v2 file). */
export const LOG_FILE_HEADER: Buffer = (() => {
  const buf = Buffer.alloc(LOG_FILE_HEADER_BYTES);
  LOG_MAGIC.copy(buf, 0);
  buf.writeUInt32LE(LOG_FORMAT_VERSION, 8);
  buf.writeUInt32LE(crc32(buf.subarray(0, 12)), 12);
  return buf;
})();

/**
 * Writes the header of a block whose payload is buf[at + LOG_BLOCK_HEADER_BYTES, at +
 * LOG_BLOCK_HEADER_BYTES + payloadBytes), in the 13 bytes reserved at `at`.
 */
export function sealBlockHeader(buf: Buffer, at: number, payloadBytes: number): void {
  const payloadStart = at + LOG_BLOCK_HEADER_BYTES;
  buf[at] = LOG_BLOCK_RECORDS;
  buf.writeUInt32LE(payloadBytes, at + 1);
  buf.writeUInt32LE(crc32(buf.subarray(payloadStart, payloadStart + payloadBytes)), at + 5);
  buf.writeUInt32LE(crc32(buf.subarray(at, at + 9)), at + 9);
}

/** What the first bytes of a log file say about it. */
export type LogFileStart =
  | { kind: 'empty' }
  /** Version 1: RESP from byte 0. */
  | { kind: 'v1' }
  /** Version 2: blocks start at LOG_FILE_HEADER_BYTES. */
  | { kind: 'v2' }
  /** Shorter than the header and a prefix of it: the file's creation was cut short by a crash. */
  | { kind: 'torn-header' }
  | { kind: 'damage'; problem: string; offsetBytes: number };

/**
 * Classifies a log file from its first min(LOG_FILE_HEADER_BYTES, fileBytes) bytes. Zero bytes
 * are not judged here (the caller checks for a zero-filled file).
 */
export function classifyLogStart(first: Buffer, fileBytes: number): LogFileStart {
  if (fileBytes === 0) return { kind: 'empty' };
  if (first[0] === RESP_ARRAY) return { kind: 'v1' };
  const n = Math.min(first.length, LOG_FILE_HEADER_BYTES);
  const magicBytes = Math.min(n, LOG_MAGIC.length);
  if (!first.subarray(0, magicBytes).equals(LOG_MAGIC.subarray(0, magicBytes))) {
    return { kind: 'damage', problem: `not a kvring append-only log (starts with neither the version 2 header nor a RESP command: ${JSON.stringify(first.latin1Slice(0, magicBytes))})`, offsetBytes: 0 };
  }
  if (fileBytes < LOG_FILE_HEADER_BYTES) {
    return first.subarray(0, n).equals(LOG_FILE_HEADER.subarray(0, n))
      ? { kind: 'torn-header' }
      : { kind: 'damage', problem: `a ${fileBytes}-byte file that is not a prefix of the log header`, offsetBytes: 0 };
  }
  const stored = first.readUInt32LE(12);
  if (stored !== crc32(first.subarray(0, 12))) return { kind: 'damage', problem: 'checksum mismatch in the log file header', offsetBytes: 0 };
  const version = first.readUInt32LE(8);
  if (version !== LOG_FORMAT_VERSION) {
    return { kind: 'damage', problem: `unknown log format version ${version} (this kvring reads versions 1 and 2; a newer kvring wrote it)`, offsetBytes: 8 };
  }
  return { kind: 'v2' };
}

/** A block header that passed its checksum. */
export interface LogBlockHeader {
  payloadBytes: number;
  payloadCrc: number;
}

/**
 * Checks a complete 13-byte block header; returns it, or what is wrong (the caller names the
 * offset). The length is believed only after the header's own checksum matched.
 */
export function decodeBlockHeader(bytes: Buffer): LogBlockHeader | string {
  if (bytes.readUInt32LE(9) !== crc32(bytes.subarray(0, 9))) return 'checksum mismatch in a block header';
  if (bytes[0] !== LOG_BLOCK_RECORDS) return `unknown block type 0x${bytes[0]!.toString(16).padStart(2, '0')}`;
  const payloadBytes = bytes.readUInt32LE(1);
  if (payloadBytes === 0 || payloadBytes > MAX_BLOCK_PAYLOAD_BYTES) return `block length ${payloadBytes} out of range (1..${MAX_BLOCK_PAYLOAD_BYTES})`;
  return { payloadBytes, payloadCrc: bytes.readUInt32LE(5) };
}

/** Whether a block's payload matches the checksum in its header. */
export function payloadMatches(payload: Uint8Array, header: LogBlockHeader): boolean {
  return crc32(payload) === header.payloadCrc;
}
