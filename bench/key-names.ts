// The names of the keys a run writes, in one place for the worker threads (which format them into
// buffers on the hot path) and the main thread (which announces them and, with --cleanup, deletes
// them). Every name starts with --key_prefix, so a run against someone's servers touches only keys
// it can name.

/** Default --key_prefix: the shared key space is key:000000 …. */
export const DEFAULT_KEY_PREFIX = 'key:';
/** Digits of a DELETE namespace key's number. */
export const DELETE_KEY_WIDTH = 10;
/** Longest --key_prefix (the worker formats keys into a 128-byte buffer). */
export const MAX_KEY_PREFIX_BYTES = 64;

/** Decimal digits needed for indexes below `count` (at least 1). */
export function keyWidth(count: number): number {
  return Math.max(1, String(Math.max(0, count - 1)).length);
}

/** Name of key `index` of the shared key space: <prefix><zero-padded index>. */
export function sharedKeyName(prefix: string, index: number, keySpace: number): string {
  return `${prefix}${String(index).padStart(keyWidth(keySpace), '0')}`;
}

/** Prefix of worker `worker`'s DELETE namespace: <prefix>del:<worker>: (keys get a 10-digit number). */
export function deleteNamespace(prefix: string, worker: number): string {
  return `${prefix}del:${worker}:`;
}

/** Name of key `n` of a worker's DELETE namespace. */
export function deleteKeyName(prefix: string, worker: number, n: number): string {
  return `${deleteNamespace(prefix, worker)}${String(n).padStart(DELETE_KEY_WIDTH, '0')}`;
}
