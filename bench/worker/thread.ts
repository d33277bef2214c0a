// Bench worker thread entry: keeps connections to the servers, runs the steps and preloads the
// main thread asks for, and reports figures (histograms encoded, once per interval and per step).

import { parentPort, workerData } from 'node:worker_threads';
import { Ring } from '../../client/ring.js';
import { parseAddress } from '../../protocol/address.js';
import { LoadConnection } from './load-connection.js';
import { LoadStep, type StepEnvironment } from './load-step.js';
import { DELETE_KEY_WIDTH, deleteNamespace, keyWidth } from '../key-names.js';
import { VerifyState } from './verify.js';
import { createDelayMonitor } from './step-figures.js';
import type { MainToWorker, StepSpec, WorkerSettings, WorkerToMain } from '../messages.js';
import { deriveSeed } from '../prng.js';
import { ServerHealth } from './server-health.js';
import { preload } from './preload.js';
import { Ticker } from './ticker.js';
import { minimizeTimerSlack } from './timer-slack.js';

if (parentPort === null) throw new Error('bench/worker/thread.js runs as a worker thread, started by bench/run/worker-pool.js');
const port = parentPort;
const settings = workerData as WorkerSettings;

const post = (message: WorkerToMain): void => port.postMessage(message);
const pool = new Map<string, LoadConnection[]>();
const rings = new Map<string, Ring>();
const verify = settings.verify ? new VerifyState(settings.keySpace) : null;
const deleteCursor = { next: 0 };
/** End of the DELETE-namespace keys this worker has preloaded (some may be left when a step ends). */
let deleteWrittenUpTo = 0;
const delay = createDelayMonitor();
let currentStep: LoadStep | null = null;
let lastServersKey = '';
// The worker's own timeouts (epoll_wait) wake on time too.
minimizeTimerSlack();
const ticker = new Ticker(() => currentStep?.onDue());
const health = new ServerHealth(
  {
    onChange: (address, state, errors, atEpochMs) => post({ type: 'node', workerIndex: settings.workerIndex, address, state, errors, atEpochMs }),
  },
  settings.timeoutMs,
);
health.onUp = (address) => currentStep?.nodeUp(address);

function ringFor(servers: string[]): Ring {
  const key = servers.join(',');
  let ring = rings.get(key);
  if (ring === undefined) {
    ring = new Ring(servers);
    rings.set(key, ring);
  }
  return ring;
}

/** Connections to every server of `ring`, in ring order; opens those that are closed. */
async function connectionsFor(ring: Ring): Promise<LoadConnection[][]> {
  const result: LoadConnection[][] = [];
  const opening: Promise<void>[] = [];
  ring.nodes.forEach((address, s) => {
    let list = pool.get(address);
    if (list === undefined) {
      const { host, port: portNumber } = parseAddress(address);
      list = Array.from({ length: settings.connections }, () => new LoadConnection(host, portNumber, settings.pipeline));
      pool.set(address, list);
    }
    for (const c of list) {
      c.server = s;
      c.listener = null;
      c.clearInFlight();
      // A refused connection is not fatal here: the step counts its requests as connection errors.
      if (!c.open) opening.push(c.connect().catch(() => undefined));
    }
    result.push(list);
  });
  await Promise.all(opening);
  return result;
}

function reconnect(conn: LoadConnection, delayMs: number, stillWanted: () => boolean): void {
  const attempt = (): void => {
    if (!stillWanted() || conn.open) return;
    conn.connect().catch(() => {
      setTimeout(attempt, delayMs * 4).unref();
    });
  };
  setTimeout(attempt, delayMs).unref();
}

/** Under --verify, a new set of servers means keys may live elsewhere now: forget what we knew. */
function noteServers(servers: string[]): void {
  const key = servers.join(',');
  if (key !== lastServersKey) {
    verify?.forget();
    lastServersKey = key;
  }
}

async function runStep(spec: StepSpec): Promise<void> {
  noteServers(spec.servers);
  const ring = ringFor(spec.servers);
  const conns = await connectionsFor(ring);
  if (spec.deleteOnly && spec.deleteKeys > 0) {
    const first = deleteCursor.next;
    deleteWrittenUpTo = Math.max(deleteWrittenUpTo, first + spec.deleteKeys);
    await preload(
      ring,
      conns,
      { count: spec.deleteKeys, keyAt: (i) => first + i, prefix: Buffer.from(deleteNamespace(settings.keyPrefix, settings.workerIndex)), width: DELETE_KEY_WIDTH },
      { sizeMin: settings.valueSizeMin, sizeMax: settings.valueSizeMax, seed: deriveSeed(settings.seed, settings.workerIndex, spec.stepIndex, 7) },
      null,
      Math.max(settings.timeoutMs * 5, 10_000),
    );
  }
  const env: StepEnvironment = { settings, ring, conns, verify, deleteCursor, ticker, post, reconnect, health };
  const step = new LoadStep(env, spec, delay);
  currentStep = step;
  try {
    const report = await step.run();
    // Keys preloaded for DELETEs that the step did not get to still exist: --cleanup must know them.
    post({ type: 'stepDone', report: { ...report, deleteCursor: Math.max(report.deleteCursor, deleteWrittenUpTo) } });
  } finally {
    currentStep = null;
  }
}

async function runPreload(requestId: number, servers: string[]): Promise<void> {
  noteServers(servers);
  const ring = ringFor(servers);
  const conns = await connectionsFor(ring);
  const { workerIndex, workerCount, keySpace } = settings;
  // Worker w writes keys w, w + T, w + 2T, …: together the workers cover the key space once.
  const count = workerIndex < keySpace ? Math.ceil((keySpace - workerIndex) / workerCount) : 0;
  const outcome = await preload(
    ring,
    conns,
    { count, keyAt: (i) => workerIndex + i * workerCount, prefix: Buffer.from(settings.keyPrefix), width: keyWidth(keySpace) },
    { sizeMin: settings.valueSizeMin, sizeMax: settings.valueSizeMax, seed: deriveSeed(settings.seed, workerIndex, 0x5eed) },
    verify,
    Math.max(settings.timeoutMs * 5, 10_000),
  );
  post({ type: 'preloaded', requestId, workerIndex, keys: outcome.keys, errors: outcome.errors });
}

function fail(err: unknown): void {
  const message = err instanceof Error ? `${err.name}: ${err.message}` : String(err);
  post({ type: 'failed', workerIndex: settings.workerIndex, message });
}

function shutdown(): void {
  currentStep?.abort();
  for (const list of pool.values()) for (const c of list) c.destroy();
  pool.clear();
  health.close();
  ticker.close();
  port.close();
}

port.on('message', (message: MainToWorker) => {
  switch (message.type) {
    case 'step':
      runStep(message.spec).catch(fail);
      break;
    case 'preload':
      runPreload(message.spec.requestId, message.spec.servers).catch(fail);
      break;
    case 'abort':
      currentStep?.abort();
      break;
    case 'shutdown':
      shutdown();
      break;
  }
});

post({ type: 'ready', workerIndex: settings.workerIndex });
