import { writeSync } from 'node:fs';
import { mkdir, open, rename, stat, unlink, type FileHandle } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { PersistenceError, describeError } from './errors.js';
import { WRITE_PROBE_FILE } from './data-files.js';

// File-system steps whose order makes persistence crash-safe: a file is complete and fsynced
// before it is renamed into place, and the folder is fsynced after a rename, create or delete,
// because until then the directory entry itself may not survive a power loss.

/** fsyncs a folder so that renames, creations and deletions in it are durable. */
export async function fsyncDir(dir: string): Promise<void> {
  const fh = await open(dir, 'r');
  try {
    await fh.sync();
  } finally {
    await fh.close();
  }
}

/** Writes all of `data` at the file's current position (a regular file may accept less per call). */
export async function writeFully(fh: FileHandle, data: Uint8Array): Promise<void> {
  let offset = 0;
  while (offset < data.length) {
    const { bytesWritten } = await fh.write(data, offset, data.length - offset);
    if (bytesWritten <= 0) throw new Error(`write returned ${bytesWritten} bytes`);
    offset += bytesWritten;
  }
}

/** writev until every byte is written (a regular file may take less per call, e.g. as the disk fills). */
export async function writevFully(fh: FileHandle, buffers: Buffer[]): Promise<void> {
  let pending = buffers;
  while (pending.length > 0) {
    const { bytesWritten } = await fh.writev(pending);
    if (bytesWritten <= 0) throw new Error(`writev returned ${bytesWritten} bytes`);
    let skip = bytesWritten;
    const rest: Buffer[] = [];
    for (const b of pending) {
      if (skip >= b.length) {
        skip -= b.length;
      } else {
        rest.push(skip > 0 ? b.subarray(skip) : b);
        skip = 0;
      }
    }
    pending = rest;
  }
}

/**
 * Writes all of `data` to `fd` with write(2) on this thread, at the file's current position (or
 * its end, for a file opened to append). For the log's acknowledgement path: the bytes are in the
 * kernel when this returns. Throws the first error (ENOSPC, EIO); part of the data may be written.
 */
export function writeFullySync(fd: number, data: Uint8Array): void {
  let offset = 0;
  while (offset < data.length) {
    const written = writeSync(fd, data, offset, data.length - offset);
    if (written <= 0) throw new Error(`write returned ${written} bytes`);
    offset += written;
  }
}

/** Renames `from` over `to` and fsyncs their folder: afterwards `to` is the new file, durably. */
export async function renameDurable(from: string, to: string, dir: string): Promise<void> {
  await rename(from, to);
  await fsyncDir(dir);
}

/** Deletes a file; a file that is already gone is not an error. Returns whether it existed. */
export async function unlinkIfExists(path: string): Promise<boolean> {
  try {
    await unlink(path);
    return true;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return false;
    throw err;
  }
}

/** Opens a file for reading; a file that does not exist gives null, any other failure throws. */
export async function openIfExists(path: string): Promise<FileHandle | null> {
  try {
    return await open(path, 'r');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw err;
  }
}

/**
 * mkdir -p. Not `mkdir(dir, { recursive: true })`: on Node 20 that never returns for a path the
 * kernel refuses with ENOENT although the parent exists (e.g. /proc/x), which would hang start-up.
 */
async function makeDirs(dir: string): Promise<void> {
  try {
    await mkdir(dir);
    return;
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'EEXIST') return;
    const parent = dirname(dir);
    if (code !== 'ENOENT' || parent === dir) throw err;
  }
  await makeDirs(dirname(dir));
  try {
    await mkdir(dir);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
  }
}

/**
 * Creates `dir` if missing and proves the server can create, write, fsync and delete a file in it,
 * so a bad --dir fails at start-up, before the server listens, not at the first snapshot.
 * Throws PersistenceError KV_ERR_DIR_UNWRITABLE naming the folder and the reason.
 */
export async function ensureWritableDir(dir: string): Promise<void> {
  const fail = (why: string, cause?: unknown): PersistenceError =>
    new PersistenceError(
      'KV_ERR_DIR_UNWRITABLE',
      dir,
      `data folder ${dir} is not usable: ${why}; point --dir at a folder this user can create files in`,
      { cause },
    );
  try {
    await makeDirs(dir);
  } catch (err) {
    throw fail(`cannot create it (${describeError(err)})`, err);
  }
  let isDir: boolean;
  try {
    isDir = (await stat(dir)).isDirectory();
  } catch (err) {
    throw fail(describeError(err), err);
  }
  if (!isDir) throw fail('it exists but is not a folder');
  const probe = join(dir, WRITE_PROBE_FILE);
  try {
    const fh = await open(probe, 'w');
    try {
      await writeFully(fh, Buffer.from('kvring write probe\n'));
      await fh.sync();
    } finally {
      await fh.close();
    }
    await unlink(probe);
    await fsyncDir(dir);
  } catch (err) {
    throw fail(`cannot create, write and fsync a file in it (${describeError(err)})`, err);
  }
}
