// Precise wake-ups for open-loop pacing inside a worker thread.
//
// Why a thread: an event loop's timers have millisecond resolution (libuv rounds every timeout),
// so a request due in 150 µs would leave up to ~1 ms late, and that lateness lands in the
// corrected latency. A helper thread sleeping in Atomics.wait (a futex with a microsecond
// timeout) posts a message at the deadline; the worker's event loop wakes on it like on socket
// data. Delivery takes ~70–150 µs on a 2-vCPU VM, so the ticker fires early by a margin learnt
// from the delays it sees (`earlyMs`), and the worker issues requests due within that margin at
// once. A request that leaves before its slot has its latency counted from its actual send, never
// from the (later) slot: early sends never shorten a latency. Spinning instead (setImmediate
// until the slot) would be more exact but burns a core per worker, taken from the servers.

import { MessageChannel, Worker, type MessagePort } from 'node:worker_threads';

export const TICKER_GENERATION = 0;
export const TICKER_STOP = 1;
/** Bumped by the worker on every arming. */
export const TICKER_SEQUENCE = 2;
/** 1 while the thread sleeps with nothing armed (it needs a notify to see a new deadline). */
export const TICKER_IDLE = 3;

export interface TickerShared {
  /** Int32 [generation, stop, sequence, idle]. */
  control: SharedArrayBuffer;
  /** Float64 [deadline in the worker's performance.now() milliseconds, NaN = disarmed]. */
  deadline: SharedArrayBuffer;
}

/** Never arm the ticker closer than this to its previous firing: bounds wake-ups at high rates. */
const MIN_TICK_GAP_MS = 0.2;
/** Bounds of the early-wake margin. */
const MIN_MARGIN_MS = 0.02;
const MAX_MARGIN_MS = 0.25;

// Protocol: the worker writes the deadline, then bumps SEQUENCE and GENERATION and notifies; the
// thread fires once per sequence number whose deadline has passed. The worker only ever moves a
// pending deadline earlier, so the thread never wakes for nothing. IDLE (the thread sleeping with
// nothing armed) is kept for diagnostics and for the re-check that makes a lost wake-up impossible.
export class Ticker {
  private readonly control: Int32Array;
  private readonly deadline: Float64Array;
  private readonly thread: Worker;
  private readonly port: MessagePort;
  private writtenMs = Infinity;
  private lastFireMs = -Infinity;
  /** Early-wake margin: exponentially weighted estimate of the delivery delay. */
  private marginMs = 0.05;

  /** `onDue` runs once the clock reaches the time passed to `wakeAt`. */
  constructor(private readonly onDue: () => void) {
    const shared: TickerShared = { control: new SharedArrayBuffer(16), deadline: new SharedArrayBuffer(8) };
    this.control = new Int32Array(shared.control);
    this.deadline = new Float64Array(shared.deadline);
    this.deadline[0] = NaN;
    const channel = new MessageChannel();
    this.port = channel.port1;
    this.thread = new Worker(new URL('./ticker-thread.js', import.meta.url), {
      workerData: { shared, port: channel.port2, workerTimeOrigin: performance.timeOrigin },
      transferList: [channel.port2],
    });
    this.thread.unref();
    this.port.on('message', () => this.onTick());
    this.port.unref();
  }

  /** How early requests may be issued: the current estimate of the wake-up delivery delay. */
  get earlyMs(): number {
    return this.marginMs;
  }

  /** Asks for `onDue` at about clock time `dueMs` (performance.now() ms); replaces an earlier request. */
  wakeAt(dueMs: number): void {
    const armMs = Math.max(dueMs - this.marginMs, this.lastFireMs + MIN_TICK_GAP_MS);
    // A pending earlier deadline stays: moving it later would wake the thread once per request
    // just to go back to sleep; an early tick costs one check and bounds ticks to 1/MIN_TICK_GAP.
    if (armMs >= this.writtenMs) return;
    this.deadline[0] = armMs;
    this.writtenMs = armMs;
    Atomics.add(this.control, TICKER_SEQUENCE, 1);
    // The thread sleeps until a later deadline or idly: either way it must look again now.
    Atomics.add(this.control, TICKER_GENERATION, 1);
    Atomics.notify(this.control, TICKER_GENERATION);
  }

  /** Forgets the pending request (the step ended). */
  cancel(): void {
    this.deadline[0] = NaN;
    this.writtenMs = Infinity;
    Atomics.add(this.control, TICKER_SEQUENCE, 1);
  }

  close(): void {
    this.cancel();
    Atomics.store(this.control, TICKER_STOP, 1);
    Atomics.add(this.control, TICKER_GENERATION, 1);
    Atomics.notify(this.control, TICKER_GENERATION);
    this.port.close();
  }

  private onTick(): void {
    const now = performance.now();
    this.lastFireMs = now;
    if (Number.isFinite(this.writtenMs)) {
      // Learn the delivery delay (armed time → here), bounded so one stall cannot inflate it.
      const delay = Math.min(Math.max(now - this.writtenMs, 0), MAX_MARGIN_MS);
      this.marginMs = Math.min(MAX_MARGIN_MS, Math.max(MIN_MARGIN_MS, this.marginMs * 0.9 + delay * 0.1));
    }
    this.writtenMs = Infinity;
    this.onDue();
  }
}
