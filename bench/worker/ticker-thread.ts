// The ticker's own thread: sleeps until the deadline its worker wrote into shared memory, then
// posts one message. Atomics.wait sleeps with microsecond resolution, where every timer of an
// event loop (setTimeout, libuv) rounds to whole milliseconds: see bench/worker/ticker.ts for the
// protocol between the two threads.

import { workerData, type MessagePort } from 'node:worker_threads';
import { TICKER_GENERATION, TICKER_IDLE, TICKER_SEQUENCE, TICKER_STOP, type TickerShared } from './ticker.js';
import { minimizeTimerSlack } from './timer-slack.js';

minimizeTimerSlack();

const { shared, port, workerTimeOrigin } = workerData as { shared: TickerShared; port: MessagePort; workerTimeOrigin: number };
const control = new Int32Array(shared.control);
const deadline = new Float64Array(shared.deadline);
/** Converts this thread's performance.now() to the worker's clock. */
const clockOffsetMs = performance.timeOrigin - workerTimeOrigin;
/** The arming sequence number this thread last fired for (0: none; the worker starts at 1). */
let firedSequence = 0;

for (;;) {
  const generation = Atomics.load(control, TICKER_GENERATION);
  if (Atomics.load(control, TICKER_STOP) === 1) break;
  const sequence = Atomics.load(control, TICKER_SEQUENCE);
  const due = deadline[0]!;
  if (sequence === firedSequence || Number.isNaN(due)) {
    // Nothing new armed: announce the indefinite sleep, then re-check so an arm made meanwhile
    // is never missed (the worker notifies whenever it sees the flag set).
    Atomics.store(control, TICKER_IDLE, 1);
    if (Atomics.load(control, TICKER_SEQUENCE) === sequence && Atomics.load(control, TICKER_STOP) === 0) {
      Atomics.wait(control, TICKER_GENERATION, generation);
    }
    Atomics.store(control, TICKER_IDLE, 0);
    continue;
  }
  const now = performance.now() + clockOffsetMs;
  if (now >= due) {
    firedSequence = sequence;
    port.postMessage(sequence);
    continue;
  }
  Atomics.wait(control, TICKER_GENERATION, generation, due - now);
}
port.close();
