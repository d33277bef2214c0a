// The --inject-cpu-us testing aid: a fixed amount of CPU work per command, to stand in for a
// slower build when proving the CI gate (README "How trustworthy is the gate?").
//
// Fixed work, not a clock: spinning until a wall clock (or getrusage) says N µs passed is not what
// a slower code path does — a server descheduled mid-spin would get the spin for free, and reading
// a clock in a loop costs syscalls of its own. So the burn runs a number of loop iterations sized
// once at start-up from the fastest of several timed batches (the fastest one is the one nobody
// interrupted), and then costs the same instructions on every request.

/** Sink the loop writes to, so the work cannot be optimised away. */
let sink = 0;

/** Runs `iterations` rounds of a small integer mix. */
export function burn(iterations: number): void {
  let x = sink | 1;
  for (let i = 0; i < iterations; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
  }
  sink = x;
}

/** Loop iterations per microsecond of CPU on this machine, from the fastest of `batches` timed runs. */
export function calibrateBurn(batches = 25, iterationsPerBatch = 200_000): number {
  burn(iterationsPerBatch); // let the JIT compile it first
  let fastestNs = Infinity;
  for (let b = 0; b < batches; b++) {
    const start = process.hrtime.bigint();
    burn(iterationsPerBatch);
    fastestNs = Math.min(fastestNs, Number(process.hrtime.bigint() - start));
  }
  return (iterationsPerBatch * 1000) / Math.max(1, fastestNs);
}
