// Pins the calling thread to CPUs. The bench process's other threads (main thread, V8's and
// libuv's helpers) run beside the servers; a worker thread moves itself to the generator's cores
// before it starts its ticker, which inherits the mask (bench/run/placement.ts says why).
// Node has no affinity call: taskset (util-linux, already used to pin the servers) on the thread
// id that /proc/thread-self names. Linux only, like the rest of placement.

import { execFileSync } from 'node:child_process';
import { readlinkSync } from 'node:fs';

/** Pins the calling thread to `cpus` ("0-2,5" form); returns what went wrong, or null. */
export function pinCallingThread(cpuList: string): string | null {
  try {
    // "/proc/thread-self" → "<pid>/task/<tid>".
    const tid = readlinkSync('/proc/thread-self').split('/').pop()!;
    execFileSync('taskset', ['--pid', '--cpu-list', cpuList, tid], { stdio: 'ignore', timeout: 5000 });
    return null;
  } catch (err) {
    return err instanceof Error ? err.message : String(err);
  }
}
