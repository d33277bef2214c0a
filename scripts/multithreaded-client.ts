// `npm run multithreaded-client -- --num_threads 10`: the original Python project's multithreading client, on
// kvring's client library. T worker threads each PUT, GET and DELETE their own keys through the
// ring (one KvCluster per thread), check every GET returns what the thread wrote and every DELETE
// finds its key, and report per thread and in total: ops, errors, mismatches, ops/s.
// Exit 0 only if nothing failed; 1 on any error or mismatch; 2 on bad flags; 3 if no server is set.
//
// This is a correctness demo under concurrency, not a benchmark (that is `npm run bench`).

import { Worker, isMainThread, parentPort, workerData } from 'node:worker_threads';
import { randomBytes } from 'node:crypto';
import yargs from 'yargs';
import { KvCluster } from '../client/cluster.js';
import { resolveServers } from '../client/servers-file.js';
import { reportFailure } from '../cli/main.js';
import { UsageError } from '../errors/kv-error.js';

interface ThreadConfig {
  threadIndex: number;
  servers: string[];
  numKeys: number;
  pipeline: number;
  valueBytes: number;
  timeoutMs: number;
  /** Random per run, so keys of an earlier (maybe interrupted) run never collide with this one's. */
  runId: string;
}

interface OpCounts {
  ops: number;
  errors: number;
  mismatches: number;
}

/** Worker → main messages. */
type WorkerMessage =
  | {
      type: 'result';
      threadIndex: number;
      put: OpCounts;
      get: OpCounts;
      delete: OpCounts;
      elapsedMs: number;
      /** First failure seen, to tell the user what went wrong; null if none. */
      firstProblem: string | null;
    };

interface ThreadResult {
  threadIndex: number;
  ops: number;
  errors: number;
  mismatches: number;
  elapsedMs: number;
  firstProblem: string | null;
}

function keyOf(c: ThreadConfig, i: number): string {
  return `mt:${c.runId}:t${c.threadIndex}:k${i}`;
}

/** The value thread t writes for key i: unique per key and run, padded to valueBytes. */
function valueOf(c: ThreadConfig, i: number): string {
  const base = `v:${c.runId}:t${c.threadIndex}:k${i}:`;
  return base.length >= c.valueBytes ? base : base + 'x'.repeat(c.valueBytes - base.length);
}

/** Runs `body(i)` for i in [0, n) with `lanes` requests in flight at a time. */
async function inLanes(n: number, lanes: number, body: (i: number) => Promise<void>): Promise<void> {
  await Promise.all(
    Array.from({ length: Math.min(lanes, n) }, async (_, lane) => {
      for (let i = lane; i < n; i += lanes) await body(i);
    }),
  );
}

async function runThread(c: ThreadConfig): Promise<WorkerMessage> {
  const cluster = new KvCluster(c.servers, { requestTimeoutMs: c.timeoutMs });
  const counts = {
    put: { ops: 0, errors: 0, mismatches: 0 },
    get: { ops: 0, errors: 0, mismatches: 0 },
    delete: { ops: 0, errors: 0, mismatches: 0 },
  };
  let firstProblem: string | null = null;
  const problem = (text: string): void => {
    firstProblem ??= text;
  };
  const startMs = performance.now();

  await inLanes(c.numKeys, c.pipeline, async (i) => {
    counts.put.ops++;
    try {
      await cluster.put(keyOf(c, i), valueOf(c, i));
    } catch (err) {
      counts.put.errors++;
      problem(`PUT ${keyOf(c, i)}: ${(err as Error).message}`);
    }
  });
  await inLanes(c.numKeys, c.pipeline, async (i) => {
    counts.get.ops++;
    try {
      const got = await cluster.getString(keyOf(c, i));
      if (got !== valueOf(c, i)) {
        counts.get.mismatches++;
        problem(`GET ${keyOf(c, i)} returned ${got === null ? 'nothing' : `"${got.slice(0, 60)}"`}, not what this thread wrote`);
      }
    } catch (err) {
      counts.get.errors++;
      problem(`GET ${keyOf(c, i)}: ${(err as Error).message}`);
    }
  });
  await inLanes(c.numKeys, c.pipeline, async (i) => {
    counts.delete.ops++;
    try {
      if (!(await cluster.delete(keyOf(c, i)))) {
        counts.delete.mismatches++;
        problem(`DELETE ${keyOf(c, i)} found no key to delete`);
      }
    } catch (err) {
      counts.delete.errors++;
      problem(`DELETE ${keyOf(c, i)}: ${(err as Error).message}`);
    }
  });

  const elapsedMs = performance.now() - startMs;
  await cluster.close();
  return { type: 'result', threadIndex: c.threadIndex, ...counts, elapsedMs, firstProblem };
}

function total(m: Extract<WorkerMessage, { type: 'result' }>): ThreadResult {
  const sum = (k: keyof OpCounts): number => m.put[k] + m.get[k] + m.delete[k];
  return { threadIndex: m.threadIndex, ops: sum('ops'), errors: sum('errors'), mismatches: sum('mismatches'), elapsedMs: m.elapsedMs, firstProblem: m.firstProblem };
}

function runWorker(config: ThreadConfig): Promise<ThreadResult> {
  return new Promise((resolve) => {
    const worker = new Worker(new URL(import.meta.url), { workerData: config });
    let result: ThreadResult | null = null;
    worker.on('message', (m: WorkerMessage) => {
      if (m.type === 'result') result = total(m);
    });
    // A crashed thread counts as one error, with its message, rather than hanging the run.
    worker.on('error', (err) => {
      result = { threadIndex: config.threadIndex, ops: 0, errors: 1, mismatches: 0, elapsedMs: 0, firstProblem: `thread crashed: ${err.message}` };
    });
    worker.on('exit', (code) => {
      resolve(
        result ?? { threadIndex: config.threadIndex, ops: 0, errors: 1, mismatches: 0, elapsedMs: 0, firstProblem: `thread exited with code ${code} without a result` },
      );
    });
  });
}

function formatTable(results: readonly ThreadResult[], wallMs: number): string {
  const header = ['thread', 'ops', 'errors', 'mismatches', 'ops/s'];
  const rows = results.map((r) => [String(r.threadIndex), String(r.ops), String(r.errors), String(r.mismatches), String(Math.round(r.ops / (r.elapsedMs / 1000 || 1)))]);
  const sum = (f: (r: ThreadResult) => number): number => results.reduce((a, r) => a + f(r), 0);
  const totalOps = sum((r) => r.ops);
  rows.push(['total', String(totalOps), String(sum((r) => r.errors)), String(sum((r) => r.mismatches)), String(Math.round(totalOps / (wallMs / 1000)))]);
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (cells: string[]): string => cells.map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join('  ');
  return [line(header), ...rows.map(line)].join('\n');
}


function oneLine(text: string): string {
  return text.replace(/\s*\n\s*/g, '; ');
}

async function main(): Promise<number> {
  let exitCode = 0;
  const parsed = await yargs(process.argv.slice(2))
    .scriptName('npm run multithreaded-client --')
    .usage('$0 [options]\n\nT threads each PUT, GET and DELETE their own keys through the ring\nand check what they read back.')
    .option('num-threads', { alias: 'num_threads', type: 'number', default: 10, describe: 'worker threads' })
    .option('num-keys', { alias: 'num_keys', type: 'number', default: 1000, describe: 'keys per thread (each is PUT, GET and DELETEd once)' })
    .option('pipeline', { type: 'number', default: 1, describe: 'requests each thread keeps in flight' })
    .option('value-bytes', { alias: 'value_bytes', type: 'number', default: 32, describe: 'value size, bytes (at least the key-specific prefix)' })
    .option('servers', { type: 'string', describe: 'comma-separated host:port list; default: the running local cluster (npm run cluster)' })
    .option('timeout-ms', { alias: 'timeout_ms', type: 'number', default: 2000, describe: 'request timeout, ms' })
    .option('json', { type: 'boolean', default: false, describe: 'print the summary as one JSON object' })
    .check((a) => {
      for (const [name, min, max] of [['num-threads', 1, 256], ['num-keys', 1, 10_000_000], ['pipeline', 1, 10_000], ['value-bytes', 1, 64 * 1024 * 1024]] as const) {
        const v = a[name];
        if (!Number.isSafeInteger(v) || v < min || v > max) throw new Error(`--${name} must be a whole number from ${min} to ${max}, got ${v}`);
      }
      if (!(a['timeout-ms'] > 0)) throw new Error(`--timeout-ms must be > 0, got ${a['timeout-ms']}`);
      return true;
    })
    .fail((message: string | undefined, err: Error | undefined) => {
      exitCode = reportFailure(new UsageError('KV_ERR_MULTITHREADED_USAGE', `${oneLine(message ?? err?.message ?? 'bad arguments')} (see npm run multithreaded-client -- --help)`), 'multithreaded-client');
    })
    .strict()
    .help()
    .version(false)
    // yargs' ESM build wraps help text mid-word (cliui's minimal wrap); unwrapped lines read better.
    .wrap(null)
    .parseAsync();
  if (exitCode !== 0) return exitCode;

  let servers: string[];
  try {
    servers = resolveServers(parsed.servers).servers;
  } catch (err) {
    reportFailure(err, 'multithreaded-client');
    return 3;
  }
  const runId = randomBytes(4).toString('hex');
  const threads = parsed['num-threads'];
  process.stderr.write(`multithreaded-client: ${threads} threads × ${parsed['num-keys']} keys × PUT/GET/DELETE against ${servers.join(', ')}\n`);
  const startMs = performance.now();
  const results = await Promise.all(
    Array.from({ length: threads }, (_, threadIndex) =>
      runWorker({
        threadIndex,
        servers,
        numKeys: parsed['num-keys'],
        pipeline: parsed.pipeline,
        valueBytes: parsed['value-bytes'],
        timeoutMs: parsed['timeout-ms'],
        runId,
      }),
    ),
  );
  const wallMs = performance.now() - startMs;
  const failed = results.filter((r) => r.errors > 0 || r.mismatches > 0);
  if (parsed.json) {
    const totals = { ops: 0, errors: 0, mismatches: 0 };
    for (const r of results) {
      totals.ops += r.ops;
      totals.errors += r.errors;
      totals.mismatches += r.mismatches;
    }
    process.stdout.write(`${JSON.stringify({ servers, threads: results, total: { ...totals, wallMs, opsPerSec: totals.ops / (wallMs / 1000) } })}\n`);
  } else {
    process.stdout.write(`${formatTable(results, wallMs)}\n`);
  }
  for (const r of failed) process.stderr.write(`thread ${r.threadIndex}: ${r.firstProblem}\n`);
  return failed.length === 0 ? 0 : 1;
}

if (isMainThread) {
  process.exitCode = await main();
} else {
  parentPort!.postMessage(await runThread(workerData as ThreadConfig));
}
