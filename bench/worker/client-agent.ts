// One load-generating client of the bench (one of --num_threads): its connections to the servers,
// its key and operation streams, its --verify history, its view of which servers are down, and
// the step it is running. A worker thread hosts one or more of them (worker/thread.ts): on a
// machine with fewer cores than clients, several clients share an event loop instead of each
// taking an OS thread that would only wait for a core — the sharing then costs what it costs in
// an event loop (a few µs per wake-up), not a context switch per batch of replies.

import { Ring } from '../../client/ring.js';
import { parseAddress } from '../../protocol/address.js';
import { DELETE_KEY_WIDTH, deleteNamespace, keyWidth } from '../key-names.js';
import type { StepSpec, WorkerSettings, WorkerStepReport, WorkerToMain } from '../messages.js';
import { deriveSeed } from '../prng.js';
import { LoadConnection } from './load-connection.js';
import { LoadStep, type StepEnvironment } from './load-step.js';
import { preload } from './preload.js';
import { ServerHealth } from './server-health.js';
import { createDelayMonitor } from './step-figures.js';
import type { Ticker } from './ticker.js';
import { VerifyState } from './verify.js';

export class ClientAgent {
  private readonly pool = new Map<string, LoadConnection[]>();
  private readonly rings = new Map<string, Ring>();
  private readonly verify: VerifyState | null;
  private readonly deleteCursor = { next: 0 };
  /** End of the DELETE-namespace keys this client has preloaded (some may be left when a step ends). */
  private deleteWrittenUpTo = 0;
  private readonly delay = createDelayMonitor();
  private readonly health: ServerHealth;
  private currentStep: LoadStep | null = null;
  private lastServersKey = '';

  /** `clientsOnThread`: how many clients share this thread's ticker (its send window follows their combined rate). */
  constructor(
    readonly settings: WorkerSettings,
    private readonly ticker: Ticker,
    private readonly clientsOnThread: number,
    private readonly post: (message: WorkerToMain) => void,
  ) {
    this.verify = settings.verify ? new VerifyState(settings.keySpace) : null;
    this.health = new ServerHealth(
      {
        onChange: (address, state, errors, atEpochMs) => post({ type: 'node', workerIndex: settings.workerIndex, address, state, errors, atEpochMs }),
      },
      settings.timeoutMs,
    );
    this.health.onUp = (address) => this.currentStep?.nodeUp(address);
  }

  /** The ticker fired: the running step sends what is due. */
  onDue(): void {
    this.currentStep?.onDue();
  }

  private ringFor(servers: string[]): Ring {
    const key = servers.join(',');
    let ring = this.rings.get(key);
    if (ring === undefined) {
      ring = new Ring(servers);
      this.rings.set(key, ring);
    }
    return ring;
  }

  /** Connections to every server of `ring`, in ring order; opens those that are closed. */
  private async connectionsFor(ring: Ring): Promise<LoadConnection[][]> {
    const result: LoadConnection[][] = [];
    const opening: Promise<void>[] = [];
    ring.nodes.forEach((address, s) => {
      let list = this.pool.get(address);
      if (list === undefined) {
        const { host, port } = parseAddress(address);
        list = Array.from({ length: this.settings.connections }, () => new LoadConnection(host, port, this.settings.pipeline));
        this.pool.set(address, list);
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

  private readonly reconnect = (conn: LoadConnection, delayMs: number, stillWanted: () => boolean): void => {
    const attempt = (): void => {
      if (!stillWanted() || conn.open) return;
      conn.connect().catch(() => {
        setTimeout(attempt, delayMs * 4).unref();
      });
    };
    setTimeout(attempt, delayMs).unref();
  };

  /** Under --verify, a new set of servers means keys may live elsewhere now: forget what we knew. */
  private noteServers(servers: string[]): void {
    const key = servers.join(',');
    if (key !== this.lastServersKey) {
      this.verify?.forget();
      this.lastServersKey = key;
    }
  }

  async runStep(spec: StepSpec): Promise<WorkerStepReport> {
    const settings = this.settings;
    this.noteServers(spec.servers);
    const ring = this.ringFor(spec.servers);
    const conns = await this.connectionsFor(ring);
    if (spec.deleteOnly && spec.deleteKeys > 0) {
      const first = this.deleteCursor.next;
      this.deleteWrittenUpTo = Math.max(this.deleteWrittenUpTo, first + spec.deleteKeys);
      await preload(
        ring,
        conns,
        { count: spec.deleteKeys, keyAt: (i) => first + i, prefix: Buffer.from(deleteNamespace(settings.keyPrefix, settings.workerIndex)), width: DELETE_KEY_WIDTH },
        { sizeMin: settings.valueSizeMin, sizeMax: settings.valueSizeMax, seed: deriveSeed(settings.seed, settings.workerIndex, spec.stepIndex, 7) },
        null,
        Math.max(settings.timeoutMs * 5, 10_000),
      );
    }
    const env: StepEnvironment = {
      settings,
      ring,
      conns,
      verify: this.verify,
      deleteCursor: this.deleteCursor,
      ticker: this.ticker,
      clientsOnThread: this.clientsOnThread,
      post: this.post,
      reconnect: this.reconnect,
      health: this.health,
    };
    const step = new LoadStep(env, spec, this.delay);
    this.currentStep = step;
    try {
      const report = await step.run();
      // Keys preloaded for DELETEs that the step did not get to still exist: --cleanup must know them.
      return { ...report, deleteCursor: Math.max(report.deleteCursor, this.deleteWrittenUpTo) };
    } finally {
      this.currentStep = null;
    }
  }

  /** Writes this client's share of the key space: keys w, w + T, w + 2T, … (together the clients cover it once). */
  async runPreload(servers: string[]): Promise<{ keys: number; errors: number }> {
    const { workerIndex, workerCount, keySpace } = this.settings;
    this.noteServers(servers);
    const ring = this.ringFor(servers);
    const conns = await this.connectionsFor(ring);
    const count = workerIndex < keySpace ? Math.ceil((keySpace - workerIndex) / workerCount) : 0;
    return preload(
      ring,
      conns,
      { count, keyAt: (i) => workerIndex + i * workerCount, prefix: Buffer.from(this.settings.keyPrefix), width: keyWidth(keySpace) },
      { sizeMin: this.settings.valueSizeMin, sizeMax: this.settings.valueSizeMax, seed: deriveSeed(this.settings.seed, workerIndex, 0x5eed) },
      this.verify,
      Math.max(this.settings.timeoutMs * 5, 10_000),
    );
  }

  /** Ctrl-C: the running step stops issuing; what is in flight still completes. */
  abort(): void {
    this.currentStep?.abort();
  }

  close(): void {
    this.currentStep?.abort();
    for (const list of this.pool.values()) for (const c of list) c.destroy();
    this.pool.clear();
    this.health.close();
  }
}
