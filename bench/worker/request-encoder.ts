// RESP encoding of the bench's three requests straight into a connection's RespWriter.
// Hot path: the fixed part of each command is pre-encoded, the key and value are copied in;
// no strings and no allocation per request.

import type { RespWriter } from '../../protocol/encoder.js';

export const OP_PUT = 0;
export const OP_GET = 1;
export const OP_DELETE = 2;

const SET_PREFIX = Buffer.from('*3\r\n$3\r\nSET\r\n');
const GET_PREFIX = Buffer.from('*2\r\n$3\r\nGET\r\n');
const DEL_PREFIX = Buffer.from('*2\r\n$3\r\nDEL\r\n');
const PREFIXES = [SET_PREFIX, GET_PREFIX, DEL_PREFIX];

/** Writes "$<n>\r\n" at `pos`; returns the position after it. */
function writeBulkHeader(buf: Buffer, pos: number, n: number): number {
  buf[pos++] = 0x24;
  if (n < 10) {
    buf[pos++] = 0x30 + n;
  } else {
    let digits = 1;
    for (let x = n; x >= 10; x = Math.floor(x / 10)) digits++;
    let x = n;
    for (let i = pos + digits - 1; i >= pos; i--) {
      buf[i] = 0x30 + (x % 10);
      x = Math.floor(x / 10);
    }
    pos += digits;
  }
  buf[pos++] = 0x0d;
  buf[pos++] = 0x0a;
  return pos;
}

function copyBytes(from: Uint8Array, length: number, to: Buffer, pos: number): number {
  if (length <= 32) {
    for (let i = 0; i < length; i++) to[pos + i] = from[i]!;
  } else {
    to.set(from.subarray(0, length), pos);
  }
  return pos + length;
}

/**
 * Appends one request: SET key value (OP_PUT), GET key, DEL key. `key[0, keyLength)` is the key;
 * `value[0, valueLength)` the value of a SET.
 */
export function encodeRequest(w: RespWriter, op: number, key: Uint8Array, keyLength: number, value: Uint8Array, valueLength: number): void {
  const prefix = PREFIXES[op]!;
  w.ensure(prefix.length + keyLength + valueLength + 32);
  const buf = w.buf;
  let pos = w.length;
  pos = copyBytes(prefix, prefix.length, buf, pos);
  pos = writeBulkHeader(buf, pos, keyLength);
  pos = copyBytes(key, keyLength, buf, pos);
  buf[pos++] = 0x0d;
  buf[pos++] = 0x0a;
  if (op === OP_PUT) {
    pos = writeBulkHeader(buf, pos, valueLength);
    pos = copyBytes(value, valueLength, buf, pos);
    buf[pos++] = 0x0d;
    buf[pos++] = 0x0a;
  }
  w.length = pos;
}

function writeDecimal(out: Uint8Array, pos: number, n: number, end: number): number {
  const text = String(n);
  for (let i = 0; i < text.length && pos < end; i++) out[pos++] = text.charCodeAt(i);
  return pos;
}

/**
 * The value --verify writes for version `version` of key `key`, `size` bytes into `out`:
 * "<version>:<key>:" then 'v' padding (cut to `size`). Distinct versions of a key differ
 * whenever size leaves room for the version digits (≥ ~12 bytes for realistic runs).
 */
export function writeVerifyValue(out: Uint8Array, key: number, version: number, size: number): void {
  let pos = writeDecimal(out, 0, version, size);
  if (pos < size) out[pos++] = 0x3a;
  pos = writeDecimal(out, pos, key, size);
  if (pos < size) out[pos++] = 0x3a;
  out.fill(0x76, pos, size);
}
