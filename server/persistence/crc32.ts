import * as zlib from 'node:zlib';

// CRC-32 (IEEE 802.3, the one zlib, gzip and PNG use) for snapshot and log blocks. zlib.crc32 is native
// and ~20x faster, but only exists from Node 20.15 / 22.2; older Node 20 gets the table-driven
// JS version below, which gives the same numbers (test/persistence-crc32.test.ts checks both).

type Crc32Fn = (data: Uint8Array, previous: number) => number;

const TABLE: Uint32Array = (() => {
  const table = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    table[n] = c >>> 0;
  }
  return table;
})();

/** Table-driven CRC-32 of `data`, continuing from `previous` (the CRC of the bytes before it). */
export function crc32Js(data: Uint8Array, previous = 0): number {
  let crc = (previous ^ 0xffffffff) >>> 0;
  for (let i = 0; i < data.length; i++) crc = TABLE[(crc ^ data[i]!) & 0xff]! ^ (crc >>> 8);
  return (crc ^ 0xffffffff) >>> 0;
}

const native: Crc32Fn | undefined = (zlib as { crc32?: Crc32Fn }).crc32;

/** Whether the native zlib.crc32 is used (reported by the snapshot bench). */
export const crc32IsNative = native !== undefined;

/**
 * CRC-32 of `data` as an unsigned 32-bit integer; pass the CRC of preceding bytes as `previous`
 * to checksum a sequence of pieces as if they were one buffer.
 */
export function crc32(data: Uint8Array, previous = 0): number {
  return native === undefined ? crc32Js(data, previous) : native(data, previous) >>> 0;
}
