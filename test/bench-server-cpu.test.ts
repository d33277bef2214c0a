import { test } from 'node:test';
import assert from 'node:assert/strict';
import { sendCommand } from '../protocol/one-shot.js';
import { cpuShare, cpuUsBetween, otherProcessesCpuTicks, parseStatCpuNs, processCpuNs, sampleCpu } from '../bench/run/server-cpu.js';
import { parseSchedstat } from '../bench/worker/thread-cpu.js';
import { spawnServer } from '../server/spawn.js';

test('schedstat and stat lines parse to nanoseconds, a process name with ") " included', () => {
  assert.deepEqual(parseSchedstat('1234567 890 12\n'), { cpuNs: 1234567, waitNs: 890 });
  assert.equal(parseSchedstat('garbage'), null);
  // utime 250 and stime 50 ticks at USER_HZ 100 → 3 s.
  const stat = '4242 (node ) weird) S 1 4242 4242 0 -1 4194560 1000 0 0 0 250 50 0 0 20 0 11 0 100 0 0';
  assert.equal(parseStatCpuNs(stat), 3e9);
});

test('CPU between samples: summed over servers, unknown when a server is missing or became another process', () => {
  const read = (pid: number): number | null => (pid === 99 ? null : pid * 1000);
  const before = sampleCpu([1, 2], read);
  assert.deepEqual(before, [
    { pid: 1, ns: 1000 },
    { pid: 2, ns: 2000 },
  ]);
  assert.equal(cpuUsBetween(before, [{ pid: 1, ns: 4000 }, { pid: 2, ns: 7000 }]), 8);
  assert.equal(cpuUsBetween(before, [{ pid: 1, ns: 4000 }, { pid: 3, ns: 7000 }]), null, 'restarted by --chaos');
  assert.equal(sampleCpu([1, null], read), null, 'a server this run did not start');
  assert.equal(sampleCpu([99], read), null, 'unreadable');
  assert.equal(cpuUsBetween(null, before), null);
});

test('this process\'s CPU time, read from /proc, grows by about the CPU it burns', { skip: process.platform !== 'linux' && 'needs Linux /proc' }, () => {
  const before = processCpuNs(process.pid)!;
  const cpuBefore = process.cpuUsage();
  const until = performance.now() + 60;
  while (performance.now() < until) {
    // burn CPU on purpose
  }
  const used = process.cpuUsage(cpuBefore);
  const burnedUs = used.user + used.system;
  const readUs = (processCpuNs(process.pid)! - before) / 1000;
  assert.ok(readUs > burnedUs * 0.5 && readUs < burnedUs * 1.5 + 20_000, `read ${readUs} µs, getrusage ${burnedUs} µs`);
  assert.equal(processCpuNs(2 ** 22 + 12345), null, 'no such process');
});

test('--inject-cpu-us adds at least its CPU work to every command, seen from /proc', { skip: process.platform !== 'linux' && 'needs Linux /proc' }, async () => {
  // A lower bound only: the work is sized on the fastest of several timed batches, so a busy
  // machine makes it take longer, never shorter.
  const server = await spawnServer({ args: ['--snapshot-interval', '0', '--log-level', 'warn', '--inject-cpu-us', '5000'] });
  try {
    const before = processCpuNs(server.pid)!;
    for (let i = 0; i < 20; i++) assert.equal(await sendCommand(server.address, ['SET', `k${i}`, 'v'], 5000), 'OK');
    const usedMs = (processCpuNs(server.pid)! - before) / 1e6;
    assert.ok(usedMs >= 20 * 5 * 0.7, `20 commands × 5 ms of injected work, server used ${usedMs.toFixed(1)} ms of CPU`);
  } finally {
    await server.stop();
  }
});

test('other processes\' CPU: every process but the excluded ones, as a share of the machine', () => {
  assert.equal(cpuShare(100, 1, 2), 0.5, '100 ticks = 1 s of CPU in 1 s on 2 cores');
  assert.equal(cpuShare(500, 1, 2), 1, 'capped at the whole machine');
  assert.equal(cpuShare(10, 0, 2), 0);
  if (process.platform === 'linux') {
    const all = otherProcessesCpuTicks(new Set());
    const withoutMe = otherProcessesCpuTicks(new Set([process.pid]));
    assert.ok(all !== null && withoutMe !== null && withoutMe <= all, 'leaving this process out never adds time');
  }
});
