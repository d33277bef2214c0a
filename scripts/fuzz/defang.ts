// Commands that legitimately end, empty, stall or load the server. A mutated or random frame
// could spell one of them by chance; the fuzzer would then report the intended effect as a
// crash (SHUTDOWN/END), a lost key (FLUSHALL), a wedge (DEBUG SLEEP) or slowness (SAVE).
const DANGEROUS_WORDS: readonly string[] = ['shutdown', 'end', 'flushall', 'flushdb', 'debug', 'save'];
const DANGEROUS = new RegExp(DANGEROUS_WORDS.join('|'), 'gi');

/**
 * Changes, in place, the first byte of every case-insensitive occurrence of a dangerous command
 * name to 'X', keeping the frame's length (and so its RESP lengths) intact. Returns the count.
 * Inline escapes (`"\x45ND"`) can still spell them; the fuzzer treats a clean exit as a
 * SHUTDOWN, not a crash, for that reason.
 */
export function defang(frame: Buffer): number {
  // A regex over the latin1 view is far faster than a byte loop in JS (frames reach 64 KiB).
  const text = frame.latin1Slice(0, frame.length);
  let changed = 0;
  DANGEROUS.lastIndex = 0;
  for (let m = DANGEROUS.exec(text); m !== null; m = DANGEROUS.exec(text)) {
    frame[m.index] = 0x58;
    changed++;
  }
  return changed;
}
