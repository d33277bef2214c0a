import { open, type FileHandle } from 'node:fs/promises';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { setImmediate as yieldToEventLoop } from 'node:timers/promises';
import { SNAPSHOT_FILE, SNAPSHOT_TEMP_FILE } from './data-files.js';
import { renameDurable, unlinkIfExists, writeFully } from './fs-durable.js';
import { DEFAULT_BLOCK_BYTES, SnapshotBlockEncoder, encodeEndBlock, encodeHeader } from './snapshot-format.js';

// Writes a snapshot without freezing the server: the live Map is iterated in time slices of a
// few milliseconds, yielding to the event loop between them, and each ~1 MiB block goes to disk
// through the threadpool while the next one is filled. The result is a fuzzy snapshot: it holds
// every entry present when it started, each with the value it had then or a later one; with the
// append-only log replayed from the generation named in the header, that becomes exact.

/** Longest synchronous stretch of serialization before yielding to the event loop, by default. */
export const DEFAULT_SLICE_MS = 4;

export interface SnapshotWriteOptions {
  dir: string;
  /** A live iterator over the store (Store.entries()); it may see mutations made while we yield. */
  entries: Iterator<[string, string]>;
  /**
   * Stop after this many entries: the store's size when the snapshot started. A Map iterates in
   * insertion order, so every entry present at the start that still exists comes before any entry
   * inserted later; visiting that many covers them all, and a workload inserting new keys faster
   * than the snapshot serializes cannot keep it running forever (the log has those keys).
   */
  maxEntries?: number;
  aofGeneration: number;
  startedAtMs: number;
  /** Serialize at most this long before yielding; Infinity when nothing else needs the loop (shutdown). */
  sliceMs?: number;
  blockBytes?: number;
  /** Clock for slice accounting, ms; replaceable for tests. */
  nowMs?: () => number;
  /** Told about a failure while cleaning up after an earlier failure (which is the one thrown). */
  onCleanupError?: (err: unknown, step: string) => void;
}

export interface SnapshotWriteStats {
  keys: number;
  /** Size of the snapshot file. */
  fileBytes: number;
  /** Sum of key and value lengths written. */
  payloadBytes: number;
  durationMs: number;
  /** The longest synchronous stretch this snapshot held the event loop, ms. */
  maxSliceMs: number;
  slices: number;
}

function ignoreUntilAwaited(): void {
  // Intentionally nothing: see writeBlock.
}

/**
 * Writes `entries` to dir/dump.kvsnap.tmp, fsyncs it, renames it over dir/dump.kvsnap and fsyncs
 * the folder. On any failure the temporary file is removed, the old snapshot is untouched, and
 * the I/O error is rethrown.
 */
export async function writeSnapshot(options: SnapshotWriteOptions): Promise<SnapshotWriteStats> {
  const nowMs = options.nowMs ?? (() => performance.now());
  const sliceMs = options.sliceMs ?? DEFAULT_SLICE_MS;
  const tmpPath = join(options.dir, SNAPSHOT_TEMP_FILE);
  const finalPath = join(options.dir, SNAPSHOT_FILE);
  const startMs = nowMs();
  const encoder = new SnapshotBlockEncoder(options.blockBytes ?? DEFAULT_BLOCK_BYTES);
  let fh: FileHandle | null = null;
  let inFlight: Promise<void> | null = null;
  let keys = 0;
  let payloadBytes = 0;
  let fileBytes = 0;
  let maxSliceMs = 0;
  let slices = 1;
  let sliceStartMs = startMs;

  // Marks the end of a synchronous stretch: the loop is about to be given back.
  const endSlice = (): void => {
    const took = nowMs() - sliceStartMs;
    if (took > maxSliceMs) maxSliceMs = took;
  };
  const startSlice = (): void => {
    sliceStartMs = nowMs();
    slices++;
  };
  const writeBlock = async (block: Buffer): Promise<void> => {
    if (inFlight !== null) {
      endSlice();
      await inFlight;
      startSlice();
    }
    fileBytes += block.length;
    const write = writeFully(fh!, block);
    // A failed write is thrown where it is awaited (next block, or the end); this handler only
    // keeps it from counting as an unhandled rejection in between.
    write.catch(ignoreUntilAwaited);
    inFlight = write;
  };

  try {
    fh = await open(tmpPath, 'w');
    startSlice();
    const header = encodeHeader({ aofGeneration: options.aofGeneration, startedAtMs: options.startedAtMs });
    await writeBlock(header);
    const it = options.entries;
    const maxEntries = options.maxEntries ?? Infinity;
    while (keys < maxEntries) {
      const step = it.next();
      if (step.done === true) break;
      const [key, value] = step.value;
      encoder.add(key, value);
      keys++;
      payloadBytes += key.length + value.length;
      if (encoder.isFull) await writeBlock(encoder.seal());
      // Checking the clock every 16 entries keeps its cost negligible and the slice close to sliceMs.
      if ((keys & 15) === 0 && nowMs() - sliceStartMs >= sliceMs) {
        endSlice();
        await yieldToEventLoop();
        startSlice();
      }
    }
    if (encoder.entryCount > 0) await writeBlock(encoder.seal());
    await writeBlock(encodeEndBlock({ entries: keys, payloadBytes }));
    endSlice();
    await inFlight;
    await fh.sync();
    const closing = fh;
    fh = null;
    await closing.close();
    await renameDurable(tmpPath, finalPath, options.dir);
  } catch (err) {
    // The error that matters is the first one; cleanup failures are reported, not thrown.
    const report = (step: string) => (cleanupErr: unknown) => options.onCleanupError?.(cleanupErr, step);
    if (inFlight !== null) await (inFlight as Promise<void>).catch(report('finishing a block write'));
    if (fh !== null) await (fh as FileHandle).close().catch(report(`closing ${tmpPath}`));
    await unlinkIfExists(tmpPath).catch(report(`removing ${tmpPath}`));
    throw err;
  }
  return { keys, fileBytes, payloadBytes, durationMs: nowMs() - startMs, maxSliceMs, slices };
}
