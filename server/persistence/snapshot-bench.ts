// Measures the snapshot on a large store: how long writing and loading take, and the longest
// event-loop stall while a snapshot runs (the number that matters for a server that must keep
// answering). Runs in-process on the real code path (writeSnapshot / loadSnapshot, real files).
//
//   npx tsx server/persistence/snapshot-bench.ts                 # 1M keys, 16-byte keys, 100-byte values
//   node dist/server/persistence/snapshot-bench.js --keys 200000 --json
import { mkdtemp, rm, mkdir } from 'node:fs/promises';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { monitorEventLoopDelay, performance } from 'node:perf_hooks';
import yargs from 'yargs';
import { hideBin } from 'yargs/helpers';
import { Store } from '../store.js';
import { writeSnapshot, DEFAULT_SLICE_MS } from './snapshot-writer.js';
import { loadSnapshot } from './snapshot-loader.js';
import { DEFAULT_BLOCK_BYTES } from './snapshot-format.js';
import { crc32IsNative } from './crc32.js';
import { SNAPSHOT_FILE } from './data-files.js';

const argv = yargs(hideBin(process.argv))
  .scriptName('snapshot-bench')
  .usage('$0 [options]\n\nWrites and loads one snapshot of a synthetic store and reports times and event-loop stalls.')
  .option('keys', { type: 'number', default: 1_000_000, describe: 'entries in the store' })
  .option('key-bytes', { type: 'number', default: 16, describe: 'bytes per key' })
  .option('value-bytes', { type: 'number', default: 100, describe: 'bytes per value' })
  .option('slice-ms', { type: 'number', default: DEFAULT_SLICE_MS, describe: 'longest synchronous serialization stretch before yielding' })
  .option('block-bytes', { type: 'number', default: DEFAULT_BLOCK_BYTES, describe: 'snapshot block size' })
  .option('write-load', { type: 'boolean', default: false, describe: 'keep overwriting random keys (200 per event-loop turn) while the snapshot runs' })
  .option('dir', { type: 'string', describe: 'folder for the snapshot (default: a temp folder, removed afterwards)' })
  .option('json', { type: 'boolean', default: false, describe: 'print the result as JSON' })
  .check((a) => {
    for (const name of ['keys', 'key-bytes', 'value-bytes', 'slice-ms', 'block-bytes'] as const) {
      if (!Number.isFinite(a[name]) || a[name] <= 0) throw new Error(`--${name} must be a number > 0, got ${String(a[name])}`);
    }
    if (a['key-bytes'] < 8) throw new Error('--key-bytes must be at least 8 (keys are numbered)');
    return true;
  })
  .strict()
  .help()
  .parseSync();

/** Longest gap between ticks of a 1 ms interval timer, minus the 1 ms: a direct stall probe. */
function startStallProbe(): () => number {
  let last = performance.now();
  let worst = 0;
  const timer = setInterval(() => {
    const now = performance.now();
    worst = Math.max(worst, now - last - 1);
    last = now;
  }, 1);
  return () => {
    clearInterval(timer);
    return Math.max(0, worst);
  };
}

function makeKey(i: number, bytes: number): string {
  return `k${i.toString(16)}`.padEnd(bytes, '.');
}

async function main(): Promise<void> {
  const keys = argv.keys;
  const ownDir = argv.dir === undefined;
  const dir = argv.dir ?? (await mkdtemp(join(tmpdir(), 'kvring-snapbench-')));
  await mkdir(dir, { recursive: true });
  try {
    const store = new Store();
    const valueTemplate = 'v'.repeat(argv['value-bytes']);
    const buildStart = performance.now();
    for (let i = 0; i < keys; i++) {
      // Distinct value strings (as from the network), not one shared string.
      store.set(makeKey(i, argv['key-bytes']), `${i}`.concat(valueTemplate).slice(0, argv['value-bytes']));
    }
    const buildMs = performance.now() - buildStart;
    (globalThis as { gc?: () => void }).gc?.();

    const histogram = monitorEventLoopDelay({ resolution: 1 });
    const stopProbe = startStallProbe();
    let writes = 0;
    let writing = true;
    const load = async (): Promise<void> => {
      while (writing) {
        for (let j = 0; j < 200; j++) {
          store.set(makeKey(Math.floor(Math.random() * keys), argv['key-bytes']), valueTemplate);
          writes++;
        }
        await new Promise<void>((resolve) => setImmediate(resolve));
      }
    };
    histogram.enable();
    const loadDone = argv['write-load'] ? load() : Promise.resolve();
    const stats = await writeSnapshot({
      dir,
      entries: store.entries(),
      maxEntries: store.size,
      aofGeneration: 1,
      startedAtMs: Date.now(),
      sliceMs: argv['slice-ms'],
      blockBytes: argv['block-bytes'],
    });
    writing = false;
    await loadDone;
    histogram.disable();
    const probeMaxMs = stopProbe();

    // The same probes for as long again with no snapshot: what GC and the machine's other load
    // cost anyway, so the snapshot's own share of a stall can be told apart.
    const baseline = monitorEventLoopDelay({ resolution: 1 });
    const stopBaselineProbe = startStallProbe();
    baseline.enable();
    await new Promise<void>((resolve) => setTimeout(resolve, Math.max(100, stats.durationMs)));
    baseline.disable();
    const baselineProbeMaxMs = stopBaselineProbe();

    const loaded = new Store();
    const loadStart = performance.now();
    const result = await loadSnapshot(join(dir, SNAPSHOT_FILE), (k, v) => loaded.restore(k, v));
    const loadMs = performance.now() - loadStart;
    if (result === null || loaded.size !== store.size) throw new Error(`loaded ${loaded.size} keys, expected ${store.size}`);

    const report = {
      node: process.version,
      crc32: crc32IsNative ? 'zlib (native)' : 'js',
      keys,
      keyBytes: argv['key-bytes'],
      valueBytes: argv['value-bytes'],
      sliceMs: argv['slice-ms'],
      blockBytes: argv['block-bytes'],
      writeLoad: argv['write-load'],
      concurrentWrites: writes,
      buildStoreMs: Math.round(buildMs),
      snapshotFileBytes: stats.fileBytes,
      writeMs: Math.round(stats.durationMs),
      writeMiBPerSec: Math.round(stats.fileBytes / 1048576 / (stats.durationMs / 1000)),
      slices: stats.slices,
      maxSliceMs: round1(stats.maxSliceMs),
      eventLoopDelayMaxMs: round1(histogram.max / 1e6),
      eventLoopDelayP99Ms: round1(histogram.percentile(99) / 1e6),
      stallProbeMaxMs: round1(probeMaxMs),
      idleEventLoopDelayMaxMs: round1(baseline.max / 1e6),
      idleStallProbeMaxMs: round1(baselineProbeMaxMs),
      loadAverage1m: round1(loadavg()[0]!),
      loadMs: Math.round(loadMs),
      loadKeysPerSec: Math.round(keys / (loadMs / 1000)),
    };
    if (argv.json) {
      process.stdout.write(`${JSON.stringify(report, null, 2)}\n`);
    } else {
      const lines = [
        `snapshot of ${keys} keys (${report.keyBytes} B keys, ${report.valueBytes} B values), node ${report.node}, crc32 ${report.crc32}`,
        `  write:  ${report.writeMs} ms, ${(report.snapshotFileBytes / 1048576).toFixed(1)} MiB, ${report.writeMiBPerSec} MiB/s, ${report.slices} slices of <= ${report.sliceMs} ms`,
        `  stall:  longest slice ${report.maxSliceMs} ms; event-loop delay max ${report.eventLoopDelayMaxMs} ms (p99 ${report.eventLoopDelayP99Ms} ms); 1 ms probe worst gap ${report.stallProbeMaxMs} ms`,
        `  idle:   same probes for as long without a snapshot: event-loop delay max ${report.idleEventLoopDelayMaxMs} ms; probe worst gap ${report.idleStallProbeMaxMs} ms (machine load average ${report.loadAverage1m})`,
        `  load:   ${report.loadMs} ms (${report.loadKeysPerSec} keys/s)`,
      ];
      if (report.writeLoad) lines.push(`  writes during the snapshot: ${report.concurrentWrites}`);
      process.stdout.write(`${lines.join('\n')}\n`);
    }
  } finally {
    if (ownDir) await rm(dir, { recursive: true, force: true });
  }
}

function round1(n: number): number {
  return Math.round(n * 10) / 10;
}

main().catch((err: unknown) => {
  process.stderr.write(`snapshot-bench: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
});
