// The bench's worker threads, seen from the main thread: starts the threads that host the
// --num_threads clients (client w on thread w mod K), sends each client its steps and preloads,
// and waits for every client's answer. Interval and node messages go to the listener as they
// arrive; a crashed thread fails whatever is being waited for.

import { Worker } from 'node:worker_threads';
import { WorkerFailedError } from '../errors.js';
import type { MainToWorker, StepSpec, WorkerSettings, WorkerStepReport, WorkerToMain } from '../messages.js';

interface Waiter<T> {
  resolve: (value: T) => void;
  reject: (err: Error) => void;
}

export type WorkerEvent = Extract<WorkerToMain, { type: 'interval' | 'node' }>;

export class WorkerPool {
  private readonly workers: Worker[] = [];
  /** Thread hosting each client. */
  private readonly threadOf: Worker[] = [];
  private clients = 0;
  private stepWaiter: (Waiter<WorkerStepReport[]> & { reports: WorkerStepReport[] }) | null = null;
  private preloadWaiter: (Waiter<number> & { done: number; keys: number; requestId: number }) | null = null;
  private nextRequestId = 1;
  private closing = false;
  /** The first failure (a worker crashed or reported one); every later wait rejects with it. */
  failure: Error | null = null;
  /** What kept worker threads from pinning themselves to the generator's cores (empty: nothing). */
  readonly pinProblems: string[] = [];

  private constructor(private readonly onEvent: (event: WorkerEvent) => void) {}

  /**
   * Starts `threads` worker threads hosting one client per settings entry (client w on thread
   * w mod threads) and waits until each is ready.
   */
  static async start(settings: readonly WorkerSettings[], onEvent: (event: WorkerEvent) => void, threads = settings.length, cpuList: string | null = null): Promise<WorkerPool> {
    const pool = new WorkerPool(onEvent);
    pool.clients = settings.length;
    const count = Math.max(1, Math.min(threads, settings.length));
    const ready = Array.from({ length: count }, (_, t) => {
      const hosted = settings.filter((_, w) => w % count === t);
      const worker = new Worker(new URL('../worker/thread.js', import.meta.url), { workerData: { clients: hosted, cpuList } });
      pool.workers.push(worker);
      for (const s of hosted) pool.threadOf[s.workerIndex] = worker;
      const started = new Promise<void>((resolve, reject) => {
        const onMessage = (m: WorkerToMain): void => {
          if (m.type === 'ready') {
            worker.off('message', onMessage);
            if (m.pinProblem !== null) pool.pinProblems.push(m.pinProblem);
            resolve();
          }
        };
        worker.on('message', onMessage);
        worker.once('error', reject);
      });
      worker.on('message', (m: WorkerToMain) => pool.onMessage(m));
      worker.on('error', (err) => pool.fail(new WorkerFailedError(`worker thread ${t} crashed: ${err.message}`)));
      worker.on('exit', (code) => {
        if (!pool.closing) pool.fail(new WorkerFailedError(`worker thread ${t} exited unexpectedly (code ${code})`));
      });
      return started;
    });
    try {
      await Promise.all(ready);
    } catch (err) {
      await pool.close();
      throw new WorkerFailedError(`a worker failed to start: ${(err as Error).message}`);
    }
    return pool;
  }

  /** Clients (--num_threads): each runs its share of every step. */
  get size(): number {
    return this.clients;
  }

  broadcast(message: MainToWorker): void {
    for (const w of this.workers) w.postMessage(message);
  }

  /** Runs one step on every worker (each its share: phase i / n); resolves with every worker's report. */
  runStep(spec: Omit<StepSpec, 'phase'>): Promise<WorkerStepReport[]> {
    if (this.failure !== null) return Promise.reject(this.failure);
    const done = new Promise<WorkerStepReport[]>((resolve, reject) => {
      this.stepWaiter = { resolve, reject, reports: [] };
    });
    this.threadOf.forEach((thread, w) => {
      const message: MainToWorker = { type: 'step', spec: { ...spec, phase: w / this.clients, workerIndex: w } };
      thread.postMessage(message);
    });
    return done;
  }

  /** Writes the key space into `servers` (each worker its share); resolves with the keys written. */
  preload(servers: string[]): Promise<number> {
    if (this.failure !== null) return Promise.reject(this.failure);
    const requestId = this.nextRequestId++;
    const done = new Promise<number>((resolve, reject) => {
      this.preloadWaiter = { resolve, reject, done: 0, keys: 0, requestId };
    });
    this.threadOf.forEach((thread, w) => {
      const message: MainToWorker = { type: 'preload', workerIndex: w, spec: { requestId, servers } };
      thread.postMessage(message);
    });
    return done;
  }

  private fail(err: Error): void {
    if (this.failure === null) this.failure = err;
    this.stepWaiter?.reject(err);
    this.preloadWaiter?.reject(err);
    this.stepWaiter = null;
    this.preloadWaiter = null;
  }

  private onMessage(m: WorkerToMain): void {
    switch (m.type) {
      case 'ready':
        return;
      case 'interval':
      case 'node':
        this.onEvent(m);
        return;
      case 'stepDone': {
        const waiter = this.stepWaiter;
        if (waiter === null) return;
        waiter.reports.push(m.report);
        if (waiter.reports.length === this.clients) {
          this.stepWaiter = null;
          waiter.resolve(waiter.reports);
        }
        return;
      }
      case 'preloaded': {
        const waiter = this.preloadWaiter;
        if (waiter === null || waiter.requestId !== m.requestId) return;
        waiter.done++;
        waiter.keys += m.keys;
        if (m.errors > 0) {
          this.fail(new WorkerFailedError(`preloading keys got ${m.errors} error replies from the servers; check their logs (memory limits?)`));
          return;
        }
        if (waiter.done === this.clients) {
          this.preloadWaiter = null;
          waiter.resolve(waiter.keys);
        }
        return;
      }
      case 'failed':
        this.fail(new WorkerFailedError(`worker ${m.workerIndex}: ${m.message}`));
        return;
    }
  }

  /** Stops every worker (gracefully, then terminate). */
  async close(): Promise<void> {
    this.closing = true;
    const exits = this.workers.map(
      (w) =>
        new Promise<void>((resolve) => {
          const timer = setTimeout(() => {
            void w.terminate().then(() => resolve());
          }, 2000);
          w.once('exit', () => {
            clearTimeout(timer);
            resolve();
          });
        }),
    );
    for (const w of this.workers) w.postMessage({ type: 'shutdown' } satisfies MainToWorker);
    await Promise.all(exits);
  }
}
