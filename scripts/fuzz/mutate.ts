import type { Prng } from '../../bench/prng.js';

// Structure-aware mutations of a frame: the decoder's interesting branches sit at the length
// numbers and the CRLFs, so besides blind bit flips the mutator rewrites digit runs with boundary
// values and moves, drops and doubles line endings. Pure: same Prng state, same result.

/** Numbers that sit on a boundary of some integer type or of a server limit. */
export const BOUNDARY_NUMBERS: readonly string[] = [
  '0', '1', '-1', '-2', '-0', '+1', '01', ' 1', '1 ',
  '32', '1024', '65535', '65536', '1048576', '1048577',
  '2147483647', '2147483648', '4294967295', '4294967296',
  '9007199254740991', '9007199254740993', '18446744073709551616',
  '99999999999999999999999999999999', '1e3', '0x10', '', '-',
];

/** Short byte sequences that change how a parser reads what follows. */
const TOKENS: readonly string[] = ['\r\n', '\r', '\n', '*', '$', '$-1\r\n', '*-1\r\n', '*1\r\n', '$0\r\n\r\n', '"', "'", '\\', '\\x', ' ', '\x00', ':1\r\n', '+OK\r\n'];

const MUTATIONS = 10;
const CRLF = Buffer.from('\r\n');

/**
 * Returns a mutated copy of `frame`: 1 to 4 mutations, each one of bit flip, byte replacement,
 * insertion, deletion, duplication, truncation, digit-run rewrite, CRLF damage, or splitting the
 * frame's tail onto another copy. The result is at most `maxBytes` long.
 */
export function mutateFrame(rng: Prng, frame: Buffer, maxBytes: number): Buffer {
  let bytes: Buffer = Buffer.from(frame);
  const rounds = rng.between(1, 4);
  for (let i = 0; i < rounds; i++) bytes = mutateOnce(rng, bytes);
  return bytes.length > maxBytes ? bytes.subarray(0, maxBytes) : bytes;
}

function mutateOnce(rng: Prng, bytes: Buffer): Buffer {
  const at = (): number => rng.nextBelow(bytes.length + 1);
  switch (rng.nextBelow(MUTATIONS)) {
    case 0: {
      if (bytes.length === 0) return bytes;
      const i = rng.nextBelow(bytes.length);
      bytes[i] = bytes[i]! ^ (1 << rng.nextBelow(8));
      return bytes;
    }
    case 1: {
      if (bytes.length === 0) return bytes;
      bytes[rng.nextBelow(bytes.length)] = rng.chance(0.5) ? rng.nextU32() & 0xff : Buffer.from(rng.pick(TOKENS), 'latin1')[0] ?? 0;
      return bytes;
    }
    case 2: {
      const i = at();
      const insert = rng.chance(0.6) ? Buffer.from(rng.pick(TOKENS), 'latin1') : rng.bytes(rng.between(1, 16));
      return Buffer.concat([bytes.subarray(0, i), insert, bytes.subarray(i)]);
    }
    case 3: {
      const i = at();
      const j = Math.min(bytes.length, i + rng.between(1, 8));
      return Buffer.concat([bytes.subarray(0, i), bytes.subarray(j)]);
    }
    case 4: {
      const i = at();
      const j = Math.min(bytes.length, i + rng.between(1, 64));
      return Buffer.concat([bytes.subarray(0, j), bytes.subarray(i, j), bytes.subarray(j)]);
    }
    case 5:
      return bytes.subarray(0, at());
    case 6:
    case 7:
      return rewriteNumber(rng, bytes);
    case 8:
      return damageLineEnding(rng, bytes);
    default: {
      // Another copy of the frame's tail: a header whose body arrives twice, or a second command cut short.
      const i = at();
      return Buffer.concat([bytes, bytes.subarray(i)]);
    }
  }
}

/** Replaces one run of ASCII digits (a length, a count or an argument) with a boundary number or ±1. */
export function rewriteNumber(rng: Prng, bytes: Buffer): Buffer {
  const text = bytes.latin1Slice(0, bytes.length);
  const runs: Array<[number, number]> = [];
  for (const m of text.matchAll(/[0-9]+/g)) runs.push([m.index, m.index + m[0].length]);
  if (runs.length === 0) return bytes;
  const [start, end] = rng.pick(runs);
  let replacement: string;
  if (rng.chance(0.4) && end - start <= 15) {
    const n = Number(text.slice(start, end));
    replacement = String(n + rng.pick([-1, 1, -2, 2]));
  } else {
    replacement = rng.pick(BOUNDARY_NUMBERS);
  }
  return Buffer.concat([bytes.subarray(0, start), Buffer.from(replacement, 'latin1'), bytes.subarray(end)]);
}

/** Turns one CRLF into LF, CR, LFCR, CRCRLF, or removes it. */
function damageLineEnding(rng: Prng, bytes: Buffer): Buffer {
  const ends: number[] = [];
  for (let i = bytes.indexOf(CRLF); i !== -1; i = bytes.indexOf(CRLF, i + 1)) ends.push(i);
  if (ends.length === 0) return bytes;
  const i = rng.pick(ends);
  const replacement = Buffer.from(rng.pick(['\n', '\r', '\n\r', '\r\r\n', '', '\r\n\r\n']), 'latin1');
  return Buffer.concat([bytes.subarray(0, i), replacement, bytes.subarray(i + 2)]);
}

