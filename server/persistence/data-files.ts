// The names of the files kvring keeps in --dir. Only names matching these patterns are ever
// created, renamed or deleted, so a --dir shared with other files is safe.

/** The snapshot. */
export const SNAPSHOT_FILE = 'dump.kvsnap';
/** A snapshot being written; renamed over SNAPSHOT_FILE once complete and fsynced. */
export const SNAPSHOT_TEMP_FILE = 'dump.kvsnap.tmp';
/** Created and removed at start-up to prove the folder is writable. */
export const WRITE_PROBE_FILE = 'kvring-write-probe.tmp';

const LOG_NAME = /^appendonly\.([1-9][0-9]{0,14})\.aof$/;

/** The append-only log of one generation: appendonly.<gen>.aof, gen = 1, 2, ... */
export function logFileName(generation: number): string {
  return `appendonly.${generation}.aof`;
}

/** The generation of a log file name, or null if the name is not one of ours. */
export function parseLogFileName(name: string): number | null {
  const m = LOG_NAME.exec(name);
  return m === null ? null : Number(m[1]);
}

/**
 * Where a damaged file is moved by --discard-corrupt: `<name>.corrupt-<UTC timestamp>`, e.g.
 * dump.kvsnap.corrupt-20250101T120000123Z. Never matches the live names, so it is never loaded.
 */
export function corruptFileName(name: string, nowMs: number): string {
  const stamp = new Date(nowMs).toISOString().replace(/[-:.]/g, '');
  return `${name}.corrupt-${stamp}`;
}
