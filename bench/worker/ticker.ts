// Precise wake-ups for open-loop pacing inside a worker thread.
//
// Why a thread: an event loop's timers have millisecond resolution (libuv rounds every timeout),
// so a request due in 150 µs would leave 0.6 ms late at the median and 1.1 ms at p99, and that
// lateness lands in the corrected latency. A helper thread sleeping in Atomics.wait (a futex with a
// microsecond timeout, its timer slack set to 1 ns) posts a message at the deadline; the worker's
// event loop wakes on it like on socket data.
//
// The send window: each wake-up sends every request due within the next `windowMs`, and the next
// wake-up is never armed sooner than `windowMs` after the last. A wake-up on this kind of VM comes
// 50–300 µs late (futex oversleep, the message hop, a vCPU waking from idle), so waking a window
// early and sending what falls in it keeps requests on time (measured: send-lateness p99 60–80 µs
// at 2k–24k/s, against 170–450 µs without the window); a request that leaves before its slot
// counts its latency from its actual send, so an early send never shortens a latency. The window
// is two request periods, at most 0.5 ms: at high rates it shrinks, so requests leave in bursts of
// about two rather than of a dozen. Spinning (setImmediate until the slot) is more exact but burns
// a whole core per worker (measured: ~500 µs of CPU per request at 2k/s), so the worker spins only
// at high rates on a core of its own (SPIN_ABOVE_RATE_PER_SEC).
// Ticks that repeat by themselves every period, re-armed only when a sooner one is needed, cut
// the context switches per request from 5.8 to 3 at 2k/s but cost 4–6 µs more CPU per request at
// 8k–24k/s (the core went idle and woke more often), with no better p99: not kept.

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

/** Bounds of the send window, ms: two request periods, clamped. */
const MIN_WINDOW_MS = 0.05;
const MAX_WINDOW_MS = 0.5;

/**
 * Above this many requests per second per worker thread the thread paces by spinning instead —
 * an event loop that never sleeps, checking the schedule once per turn (setImmediate) — when it
 * has a core of its own. There the ticker's wake-ups and their preemptions of the worker took
 * ~20 % of the core (measured at 110k/s: 13k ticks/s, 1.4 µs of the ticker's CPU and 0.13
 * involuntary switches of the worker per request), so open-loop steps stopped at 104–128k/s
 * against a server that did 131–143k/s closed loop; spinning reached 130–152k/s, p99 lateness
 * 24–155 µs. The core is busy at such rates anyway, and a core of its own takes nothing from the
 * servers; below it, spinning would burn a core for a few requests.
 */
export const SPIN_ABOVE_RATE_PER_SEC = 80_000;

/** Whether a thread pacing requests `periodMs` apart spins (see SPIN_ABOVE_RATE_PER_SEC). */
export function pacesBySpinning(periodMs: number, ownCore: boolean): boolean {
  return ownCore && periodMs < 1000 / SPIN_ABOVE_RATE_PER_SEC;
}

/** The send window for requests `periodMs` apart: two periods, within [0.05, 0.5] ms. */
export function sendWindowMs(periodMs: number): number {
  return Math.min(MAX_WINDOW_MS, Math.max(MIN_WINDOW_MS, 2 * periodMs));
}

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
  private windowMs = MAX_WINDOW_MS;
  /** Steps pacing with this ticker now: the clients of one thread share it. */
  private users = 0;
  /** A setImmediate chain calls onDue once per event-loop turn. */
  private spinningNow = false;
  private readonly spin = (): void => {
    if (!this.spinningNow) return;
    this.onDue();
    setImmediate(this.spin);
  };

  /**
   * `onDue` runs once the clock reaches the time passed to `wakeAt`. `ownCore`: the thread runs
   * on a core no server uses, so it may spin at high rates.
   */
  constructor(
    private readonly onDue: () => void,
    private readonly ownCore = false,
  ) {
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

  /** How early requests may be issued: the send window of the current schedule. */
  get earlyMs(): number {
    return this.windowMs;
  }

  /** Whether steps pacing with this ticker now spin instead of sleeping between requests. */
  get spinning(): boolean {
    return this.spinningNow;
  }

  /** Asks for `onDue` at about clock time `dueMs` (performance.now() ms); replaces an earlier request. */
  wakeAt(dueMs: number): void {
    // A spinning loop looks at the schedule on every turn.
    if (this.spinningNow) return;
    const armMs = Math.max(dueMs - this.windowMs, this.lastFireMs + this.windowMs);
    // A pending earlier deadline stays: moving it later would wake the thread once per request
    // just to go back to sleep; an early tick costs one check and bounds ticks to 1/window.
    if (armMs >= this.writtenMs) return;
    this.deadline[0] = armMs;
    this.writtenMs = armMs;
    Atomics.add(this.control, TICKER_SEQUENCE, 1);
    // The thread sleeps until a later deadline or idly: either way it must look again now.
    Atomics.add(this.control, TICKER_GENERATION, 1);
    Atomics.notify(this.control, TICKER_GENERATION);
  }

  /**
   * A step starts pacing with this ticker, its requests (of all clients on the thread) `periodMs`
   * apart: sets the send window (sendWindowMs), and spins when the rate calls for it (pacesBySpinning).
   */
  begin(periodMs: number): void {
    this.users++;
    this.windowMs = sendWindowMs(periodMs);
    if (pacesBySpinning(periodMs, this.ownCore) && !this.spinningNow) {
      this.spinningNow = true;
      setImmediate(this.spin);
    }
  }

  /**
   * A step stopped pacing. The pending deadline is dropped only when no other step still uses the
   * ticker: it may be another client's, which would otherwise wait for its next reply or sweep.
   */
  end(): void {
    if (this.users > 0) this.users--;
    if (this.users === 0) this.cancel();
  }

  /** Forgets the pending request and stops spinning. */
  cancel(): void {
    this.spinningNow = false;
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
    this.lastFireMs = performance.now();
    this.writtenMs = Infinity;
    this.onDue();
  }
}
