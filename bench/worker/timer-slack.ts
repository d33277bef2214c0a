// Linux lets a thread sleep up to its "timer slack" (50 µs by default) past a timeout, to batch
// wake-ups. A pacing thread wants the opposite: measured here, a 1 ns slack cut the futex
// oversleep of the ticker from ~90 µs to ~30 µs at the median. A thread may set its own slack
// without privileges; elsewhere than Linux this does nothing.

import { writeFileSync } from 'node:fs';

/** Sets the calling thread's timer slack to 1 ns; false where the kernel does not allow it. */
export function minimizeTimerSlack(): boolean {
  try {
    writeFileSync('/proc/thread-self/timerslack_ns', '1');
    return true;
  } catch {
    // Not Linux, or a kernel without per-thread timer slack: timers keep their default slack.
    return false;
  }
}
