// The key hash of kvring's client side: 32-bit MurmurHash3 (x86_32) over a key's UTF-8 bytes.
//
// Why this hash: it reads 4 bytes per mixing step and ends with a full-avalanche finaliser, so
// sequential keys like `key:1`, `key:2` land as if at random (per-slot key counts over 1M keys have
// dispersion 1.009; 1.00 is random). In plain JS it costs ~17 ns for a 10-character ASCII string and
// ~10 ns for a 10-byte Buffer, allocating nothing; FNV-1a with the same finaliser measured no faster.
// It is a published function that other languages reproduce bit for bit. node:crypto digests cost
// 1.3–1.8 µs per key and TextEncoder.encode ~1 µs: ruled out on a per-request path.
// See README "The ring" and scripts/ring-bench.ts for the measurements.

const C1 = 0xcc9e2d51;
const C2 = 0x1b873593;

/**
 * Hashes a key to an unsigned 32-bit integer.
 *
 * A string is hashed as its UTF-8 bytes (lone surrogates as U+FFFD, like `Buffer.from(s, 'utf8')`),
 * so `hash32(s) === hash32(Buffer.from(s))` for every string. Allocates nothing.
 * Hot path: called once per request by the ring.
 */
export function hash32(key: string | Uint8Array, seed = 0): number {
  return typeof key === 'string' ? hashString(key, seed) : hashBytes(key, seed);
}

/** MurmurHash3_x86_32 of `bytes`; the reference algorithm, unchanged. Allocates nothing. */
export function hashBytes(bytes: Uint8Array, seed = 0): number {
  const byteLength = bytes.length;
  const blockEnd = byteLength & ~3;
  let h = seed | 0;
  let i = 0;
  for (; i < blockEnd; i += 4) {
    h = mixBlock(h, bytes[i]! | (bytes[i + 1]! << 8) | (bytes[i + 2]! << 16) | (bytes[i + 3]! << 24));
  }
  const rest = byteLength & 3;
  if (rest > 0) {
    let tail = bytes[i]!;
    if (rest > 1) tail |= bytes[i + 1]! << 8;
    if (rest > 2) tail |= bytes[i + 2]! << 16;
    h ^= mixTail(tail);
  }
  return finalize(h, byteLength);
}

/** MurmurHash3_x86_32 of the UTF-8 bytes of `key`, equal to `hashBytes(Buffer.from(key), seed)`. */
// Fast path for ASCII strings: four characters are four bytes, read straight from the string.
// The first non-ASCII character hands over to the UTF-8 streaming path, which continues the same
// hash state, so the result never depends on which path ran.
export function hashString(key: string, seed = 0): number {
  const charCount = key.length;
  const blockEnd = charCount & ~3;
  let h = seed | 0;
  let i = 0;
  for (; i < blockEnd; i += 4) {
    const c0 = key.charCodeAt(i);
    const c1 = key.charCodeAt(i + 1);
    const c2 = key.charCodeAt(i + 2);
    const c3 = key.charCodeAt(i + 3);
    if ((c0 | c1 | c2 | c3) >= 0x80) return hashUtf8From(key, i, h);
    h = mixBlock(h, c0 | (c1 << 8) | (c2 << 16) | (c3 << 24));
  }
  const rest = charCount & 3;
  if (rest > 0) {
    const c0 = key.charCodeAt(i);
    const c1 = rest > 1 ? key.charCodeAt(i + 1) : 0;
    const c2 = rest > 2 ? key.charCodeAt(i + 2) : 0;
    if ((c0 | c1 | c2) >= 0x80) return hashUtf8From(key, i, h);
    h ^= mixTail(c0 | (c1 << 8) | (c2 << 16));
  }
  return finalize(h, charCount);
}

// Continues the hash of `key` from character `start` (all earlier characters were ASCII and are
// already folded into `h` as whole blocks), encoding to UTF-8 on the fly instead of into a buffer.
function hashUtf8From(key: string, start: number, h: number): number {
  let byteLength = start;
  let pending = 0; // bytes not yet forming a whole 4-byte block, little-endian
  let pendingCount = 0;
  const charCount = key.length;
  for (let i = start; i < charCount; i++) {
    let cp = key.charCodeAt(i);
    let bytes: number; // up to 4 UTF-8 bytes packed little-endian in emission order
    let count: number;
    if (cp < 0x80) {
      bytes = cp;
      count = 1;
    } else if (cp < 0x800) {
      bytes = (0xc0 | (cp >> 6)) | ((0x80 | (cp & 0x3f)) << 8);
      count = 2;
    } else {
      if (cp >= 0xd800 && cp <= 0xdfff) {
        const next = i + 1 < charCount ? key.charCodeAt(i + 1) : 0;
        if (cp <= 0xdbff && next >= 0xdc00 && next <= 0xdfff) {
          cp = 0x10000 + ((cp - 0xd800) << 10) + (next - 0xdc00);
          i++;
        } else {
          cp = 0xfffd; // what Buffer.from(s, 'utf8') writes for a lone surrogate
        }
      }
      if (cp < 0x10000) {
        bytes = (0xe0 | (cp >> 12)) | ((0x80 | ((cp >> 6) & 0x3f)) << 8) | ((0x80 | (cp & 0x3f)) << 16);
        count = 3;
      } else {
        bytes =
          (0xf0 | (cp >> 18)) |
          ((0x80 | ((cp >> 12) & 0x3f)) << 8) |
          ((0x80 | ((cp >> 6) & 0x3f)) << 16) |
          ((0x80 | (cp & 0x3f)) << 24);
        count = 4;
      }
    }
    byteLength += count;
    for (let b = 0; b < count; b++) {
      pending |= ((bytes >>> (8 * b)) & 0xff) << (8 * pendingCount);
      if (++pendingCount === 4) {
        h = mixBlock(h, pending);
        pending = 0;
        pendingCount = 0;
      }
    }
  }
  if (pendingCount > 0) h ^= mixTail(pending);
  return finalize(h, byteLength);
}

function mixTail(k: number): number {
  k = Math.imul(k, C1);
  k = (k << 15) | (k >>> 17);
  return Math.imul(k, C2);
}

function mixBlock(h: number, k: number): number {
  h ^= mixTail(k);
  h = (h << 13) | (h >>> 19);
  return (Math.imul(h, 5) + 0xe6546b64) | 0;
}

function finalize(h: number, byteLength: number): number {
  return fmix32(h ^ byteLength);
}

/**
 * MurmurHash3's 32-bit finaliser: a bijection on uint32 with full avalanche.
 * Used to derive independent per-node scores from one key hash without rehashing the key.
 */
export function fmix32(h: number): number {
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}
