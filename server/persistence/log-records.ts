import type { Store } from '../store.js';

// What may appear in the append-only log, and what each record does when replayed. Only blind
// writes are logged (SET/MSET/DEL/FLUSHALL): each one's effect does not depend on the state it
// is applied to, which is what makes "fuzzy snapshot + replay from its start" exact. A command
// whose effect depends on the old value (an INCR, say) must be logged as the SET it amounts to.

/**
 * Applies one logged command to `store`. Arguments are latin1 strings; the name is matched
 * case-insensitively, aliases included. Returns null, or what is wrong with the record.
 */
export function applyLogRecord(store: Store, args: readonly string[], argc: number): string | null {
  switch (args[0]!.toUpperCase()) {
    case 'SET':
    case 'PUT':
      if (argc !== 3) return `SET record with ${argc - 1} arguments (expected 2)`;
      store.set(args[1]!, args[2]!);
      return null;
    case 'MSET':
      if (argc < 3 || argc % 2 === 0) return `MSET record with ${argc - 1} arguments (expected key/value pairs)`;
      for (let i = 1; i < argc; i += 2) store.set(args[i]!, args[i + 1]!);
      return null;
    case 'DEL':
    case 'DELETE':
      if (argc < 2) return 'DEL record without keys';
      for (let i = 1; i < argc; i++) store.delete(args[i]!);
      return null;
    case 'FLUSHALL':
    case 'FLUSHDB':
      if (argc > 2) return `FLUSHALL record with ${argc - 1} arguments`;
      store.clear();
      return null;
    default:
      return `unexpected command ${JSON.stringify(args[0]!.slice(0, 40))} (only SET, MSET, DEL and FLUSHALL are logged)`;
  }
}

function decimalDigits(n: number): number {
  let digits = 1;
  while (n >= 10) {
    n = Math.floor(n / 10);
    digits++;
  }
  return digits;
}

/**
 * Bytes of the canonical RESP encoding of a command (`*<argc>\r\n` then `$<len>\r\n<arg>\r\n` per
 * argument), which is exactly what the log writer produces. Replay compares each record's span with
 * it, so inline commands, blank lines or padded numbers in the file are detected as damage.
 */
export function canonicalRecordBytes(args: readonly string[], argc: number): number {
  let bytes = 3 + decimalDigits(argc);
  for (let i = 0; i < argc; i++) {
    const len = args[i]!.length;
    bytes += 5 + decimalDigits(len) + len;
  }
  return bytes;
}
