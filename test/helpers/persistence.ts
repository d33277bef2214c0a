import { after } from 'node:test';
import { spawnSync } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino, type Logger } from 'pino';
import { Store } from '../../server/store.js';
import { Persistence, type PersistenceOptions } from '../../server/persistence/persistence.js';
import { LogBuffer } from '../../server/persistence/log-buffer.js';
import { LOG_FILE_HEADER } from '../../server/persistence/log-format.js';

// Shared by the persistence tests: temp folders cleaned up by after(), a logger whose lines the
// test can read, a small real tmpfs for disk-full cases, and a seeded random generator.

export interface CapturedLog {
  log: Logger;
  lines: Array<{ level: number; msg: string } & Record<string, unknown>>;
}

/** A pino logger that keeps its JSON lines in memory instead of printing them. */
export function captureLog(): CapturedLog {
  const lines: CapturedLog['lines'] = [];
  const log = pino({ level: 'debug' }, { write: (line: string) => void lines.push(JSON.parse(line) as CapturedLog['lines'][number]) });
  return { log, lines };
}

/** A fresh temporary folder, removed when the test file ends. */
export async function tempDir(prefix = 'kvring-persist-'): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), prefix));
  after(() => rm(dir, { recursive: true, force: true }));
  return dir;
}

/**
 * Mounts a tmpfs of `sizeBytes` on a fresh folder and returns it (unmounted and removed when the
 * test file ends), or a string saying why that is not possible here (tests skip with it).
 */
export function mountSmallTmpfs(sizeBytes: number): { dir: string } | { skip: string } {
  if (process.platform !== 'linux') return { skip: 'tmpfs mounts need Linux' };
  const dir = mkdtempSync(join(tmpdir(), 'kvring-tmpfs-'));
  const r = spawnSync('mount', ['-t', 'tmpfs', '-o', `size=${sizeBytes}`, 'tmpfs', dir], { encoding: 'utf8' });
  if (r.status !== 0) {
    rmSync(dir, { recursive: true, force: true });
    return { skip: `cannot mount a tmpfs to fill up (needs root / CAP_SYS_ADMIN): ${(r.stderr || r.error?.message || '').trim()}` };
  }
  after(() => {
    // Lazy: a server child still holding a file open must not make the unmount fail.
    spawnSync('umount', ['-l', dir]);
    rmSync(dir, { recursive: true, force: true });
  });
  return { dir };
}

/** Persistence options for tests: no timers unless asked, quick retries. */
export function testOptions(dir: string, log: Logger, overrides: Partial<PersistenceOptions> = {}): PersistenceOptions {
  return {
    dir,
    snapshotIntervalSec: 0,
    appendOnly: false,
    appendFsync: 'everysec',
    discardCorrupt: false,
    log,
    logRetryDelayMs: 60_000,
    ...overrides,
  };
}

/** Opens persistence on a new store; closes it (without a final snapshot) when the test file ends. */
export async function openStore(options: PersistenceOptions): Promise<{ store: Store; p: Persistence }> {
  const store = new Store();
  const p = await Persistence.open(store, options);
  after(() => p.close({ save: false }));
  return { store, p };
}

/** What the command layer does for a write: apply it to the store, then log it. */
export function write(store: Store, p: Persistence, args: string[]): void {
  const name = args[0]!.toUpperCase();
  if (name === 'SET') store.set(args[1]!, args[2]!);
  else if (name === 'DEL') for (const k of args.slice(1)) store.delete(k);
  else if (name === 'FLUSHALL') store.clear();
  else throw new Error(`test helper cannot apply ${name}`);
  p.logWrite(args, args.length);
}

export function storeContents(store: Store): Map<string, string> {
  return new Map(store.entries());
}

export { seededRandom } from '../../bench/prng.js';

/** A latin1 string of `length` bytes drawn from all 256 byte values. */
export function binaryString(random: () => number, length: number): string {
  let s = '';
  for (let i = 0; i < length; i++) s += String.fromCharCode(Math.floor(random() * 256));
  return s;
}

/** One version 2 log block holding `commands`, byte for byte as the log writer frames a turn's writes. */
export function logBlock(commands: readonly string[][]): Buffer {
  const buffer = new LogBuffer();
  for (const c of commands) buffer.append(c, c.length);
  return Buffer.from(buffer.take());
}

/** A whole version 2 log file: the header, then one block per element of `blocks`. */
export function logFile(blocks: readonly string[][][]): Buffer {
  return Buffer.concat([LOG_FILE_HEADER, ...blocks.map(logBlock)]);
}
