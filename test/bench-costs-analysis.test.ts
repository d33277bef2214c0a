import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  compareCosts,
  COSTS_FORMAT,
  costProfileProblem,
  DEFAULT_COST_THRESHOLDS,
  gatedCalls,
  isGatedSyscall,
  leastOfRepeats,
  metricCosts,
  movedNames,
  parseCachegrindTotal,
  parseStraceLog,
  perRequestByDifference,
  syscallsByName,
  type CostProfile,
} from '../bench/analysis/costs.js';
import { DEFAULT_COST_SEQUENCE, type CostSequenceSpec } from '../bench/costs/sequence.js';

// The pure core of the deterministic gate: the tools' output parsed, per-request counts by the
// difference of a long and a short run, split per operation, and the verdicts at a threshold.

const SPEC: CostSequenceSpec = { ...DEFAULT_COST_SEQUENCE, shortRequests: 1000, longRequests: 5000 };

test('cachegrind: the total is the summary line of the Ir event; other events or no summary give null', () => {
  assert.equal(parseCachegrindTotal('desc: --cache-sim=no\ncmd: node x\nevents: Ir\nfl=a.c\nfn=f\n1 10\nsummary: 1110136881\n'), 1110136881);
  assert.equal(parseCachegrindTotal('events: Ir\nfl=a.c\n'), null);
  assert.equal(parseCachegrindTotal('events: Dr\nsummary: 5\n'), null);
});

test('strace -f -yy log: one count per call, an interrupted call once, wake-up descriptors apart, exits and signals ignored', () => {
  const log = [
    '100 read(20<TCP:[127.0.0.1:5000->127.0.0.1:6000]>, "*3\\r\\n$3\\r\\nSET"..., 65536) = 120',
    '100 write(20<TCP:[127.0.0.1:5000->127.0.0.1:6000]>, "+OK\\r\\n+OK\\r\\n", 10) = 10',
    '100 epoll_pwait(14<anon_inode:[eventpoll]>, [{events=EPOLLIN, data={u32=20, u64=20}}], 1024, -1, NULL, 8) = 1',
    '101 write(17<anon_inode:[eventfd]>, "\\1\\0\\0\\0\\0\\0\\0\\0", 8) = 8',
    '100 read(17<anon_inode:[eventfd]>, "\\1\\0\\0\\0\\0\\0\\0\\0", 1024) = 8',
    '101 futex(0x9c9a830, FUTEX_WAIT_BITSET_PRIVATE, 0, NULL, FUTEX_BITSET_MATCH_ANY <unfinished ...>',
    '101 <... futex resumed>)              = 0',
    '100 openat(AT_FDCWD</work>, "/etc/localtime", O_RDONLY|O_CLOEXEC) = 21</etc/localtime>',
    '100 --- SIGTERM {si_signo=SIGTERM, si_code=SI_USER, si_pid=1} ---',
    '100 +++ exited with 0 +++',
    'getpid()                                = 7',
  ].join('\n');
  assert.deepEqual(parseStraceLog(log), { read: 1, write: 1, 'epoll_pwait(eventpoll)': 1, 'write(eventfd)': 1, 'read(eventfd)': 1, futex: 1, openat: 1, getpid: 1 });
  assert.equal(parseStraceLog('+++ exited with 0 +++\n'), null);
});

test('the gate counts the calls that follow requests: not waits, hand-offs, wake-ups or heap mappings', () => {
  for (const key of ['read', 'write', 'writev', 'openat', 'getpid', 'fsync']) assert.ok(isGatedSyscall(key), key);
  for (const key of ['epoll_pwait', 'epoll_wait', 'futex', 'mmap', 'munmap', 'madvise', 'brk', 'read(eventfd)', 'write(eventfd)', 'epoll_pwait(eventpoll)']) assert.ok(!isGatedSyscall(key), key);
  assert.equal(gatedCalls({ read: 10, write: 12, futex: 400, 'read(eventfd)': 3, mmap: 7, openat: 1 }), 23);
});

test('difference method: (long run − base run) / (long − short requests), per operation; start-up cancels out', () => {
  const startUp = 1_000_000_000;
  const cost = { put: 9000, get: 8000, delete: 7000 };
  const base = startUp + 1000 * (cost.put + cost.get + cost.delete);
  const totals = { base, put: base + 4000 * cost.put, get: base + 4000 * cost.get, delete: base + 4000 * cost.delete };
  assert.deepEqual(perRequestByDifference(totals, SPEC), cost);
  assert.throws(() => perRequestByDifference(totals, { shortRequests: 5, longRequests: 5 }), RangeError);
});

test('repeats of a sequence: the least count stands for it, since a run can only add work (a spike of one run is dropped)', () => {
  assert.equal(leastOfRepeats([1_728_489_859, 1_733_100_000]), 1_728_489_859);
  assert.equal(leastOfRepeats([7]), 7);
  assert.throws(() => leastOfRepeats([]), RangeError);
});

test('per system call name: only names whose count moved, per operation', () => {
  const base = { read: 500, write: 500, openat: 30 };
  const counts = { base, put: { read: 1000, write: 1000, openat: 30 }, get: { read: 1000, write: 4500, openat: 30 }, delete: { read: 1000, write: 1000, openat: 30, fsync: 4000 } };
  assert.deepEqual(syscallsByName(counts, SPEC), {
    put: { read: 0.125, write: 0.125 },
    get: { read: 0.125, write: 1 },
    delete: { fsync: 1, read: 0.125, write: 0.125 },
  });
  assert.deepEqual(movedNames({ read: 0.125, write: 0.125 }, { read: 0.125, write: 1, fsync: 0.005 }), [{ name: 'write', baseline: 0.125, candidate: 1 }]);
});

function profile(instr: { put: number; get: number; delete: number } | null, sys: { put: number; get: number; delete: number } | null, over: Partial<CostProfile> = {}): CostProfile {
  const totalsOf = (per: { put: number; get: number; delete: number }): { base: number; put: number; get: number; delete: number } => {
    const base = 1e6;
    const extra = SPEC.longRequests - SPEC.shortRequests;
    return { base, put: base + per.put * extra, get: base + per.get * extra, delete: base + per.delete * extra };
  };
  return {
    format: COSTS_FORMAT,
    server: '/x/dist/server/main.js',
    node: 'v20.20.2',
    sequence: SPEC,
    instructions: instr === null ? null : metricCosts('cachegrind', totalsOf(instr), SPEC),
    syscalls: sys === null ? null : metricCosts('strace', totalsOf(sys), SPEC),
    missing: instr === null ? { instructions: 'valgrind is not installed (apt-get install valgrind)' } : {},
    elapsedSec: 80,
    ...over,
  };
}

const A = { put: 9000, get: 8000, delete: 7000 };
const SYS = { put: 0.25, get: 0.25, delete: 0.25 };

test('verdicts: beyond the threshold is a regression (or an improvement), within it unchanged — no test, the counts do not vary', () => {
  const c = compareCosts(profile(A, SYS), profile({ put: 9000 * 1.03, get: 8000 * 1.005, delete: 7000 * 0.97 }, { put: 0.25, get: 1.125, delete: 0.25 }));
  const verdict = (metric: string, op: string): string => c.changes.find((ch) => ch.metric === metric && ch.operation === op)!.verdict;
  assert.deepEqual(c.judged, ['instructions', 'syscalls']);
  assert.equal(verdict('instructions', 'put'), 'regression');
  assert.equal(verdict('instructions', 'get'), 'unchanged');
  assert.equal(verdict('instructions', 'delete'), 'improvement');
  assert.equal(verdict('syscalls', 'get'), 'regression');
  assert.equal(verdict('syscalls', 'put'), 'unchanged');
  assert.equal(c.regressions, 2);
  assert.equal(c.improvements, 1);
  assert.deepEqual(c.thresholds, DEFAULT_COST_THRESHOLDS);
  // Every change is candidate / baseline − 1, and its verdict agrees with the threshold.
  for (const ch of c.changes) {
    assert.ok(Math.abs(ch.change - (ch.candidate / ch.baseline - 1)) < 1e-12);
    assert.equal(ch.verdict, ch.change > ch.threshold ? 'regression' : ch.change < -ch.threshold ? 'improvement' : 'unchanged');
  }
});

test('a metric missing on a side is not judged, and says which side and why; different sequences are not compared', () => {
  const noValgrind = compareCosts(profile(A, SYS), profile(null, SYS));
  assert.deepEqual(noValgrind.judged, ['syscalls']);
  assert.deepEqual(noValgrind.unjudged, [{ metric: 'instructions', why: 'not measured on the candidate: valgrind is not installed (apt-get install valgrind)' }]);
  const other = compareCosts(profile(A, SYS), profile(A, SYS, { sequence: { ...SPEC, pipeline: 16 } }));
  assert.deepEqual(other.judged, []);
  assert.match(other.unjudged[0]!.why, /different sequences .*measure both with the same flags/);
  const nodes = compareCosts(profile(A, SYS), profile(A, SYS, { node: 'v22.1.0' }));
  assert.match(nodes.notes[0]!, /different node versions \(baseline v20\.20\.2, candidate v22\.1\.0\)/);
});

test('a costs.json is checked before it is trusted', () => {
  assert.equal(costProfileProblem(JSON.parse(JSON.stringify(profile(A, SYS)))), null);
  assert.equal(costProfileProblem(JSON.parse(JSON.stringify(profile(null, null)))), null);
  assert.match(costProfileProblem({ format: 'other' })!, /format is "other"/);
  assert.match(costProfileProblem({ ...profile(A, SYS), instructions: { tool: 'x', totals: {}, perRequest: { put: 1 } } })!, /instructions\.perRequest needs a number for each of put, get, delete/);
  assert.match(costProfileProblem(null)!, /not a JSON object/);
});
