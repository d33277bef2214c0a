import { test } from 'node:test';
import assert from 'node:assert/strict';
import { OpenLoopSchedule, requestsFor } from '../bench/worker/schedule.js';

test('requests are due one period apart from the start, whatever the clock reads', () => {
  const s = new OpenLoopSchedule(1000, 100, 5);
  assert.equal(s.periodMs, 1);
  assert.deepEqual([0, 1, 2, 3, 4].map((i) => s.intendedMs(i)), [100, 101, 102, 103, 104]);
  assert.equal(s.dueBy(99.999), 0);
  assert.equal(s.dueBy(100), 1);
  assert.equal(s.dueBy(101.5), 2);
  assert.equal(s.dueBy(1e9), 5, 'never more than the total');
  assert.equal(s.nextMs(4), 104);
  assert.equal(s.nextMs(5), Infinity);
  assert.equal(s.endMs(), 105);
});

test('a late clock makes every missed slot due at once, each keeping its own intended time', () => {
  const s = new OpenLoopSchedule(100, 0, 1000);
  assert.equal(s.dueBy(250), 26);
  assert.equal(s.intendedMs(25), 250);
});

test('a phase offsets the slots so workers sharing a rate interleave', () => {
  const a = new OpenLoopSchedule(500, 0, 10, 0);
  const b = new OpenLoopSchedule(500, 0, 10, 0.5);
  assert.equal(a.intendedMs(1), 2);
  assert.equal(b.intendedMs(0), 1);
  assert.equal(b.dueBy(0.5), 0);
  assert.equal(b.dueBy(1), 1);
});

test('a timed step issues the slots inside its duration', () => {
  assert.equal(requestsFor(1000, 1), 1000);
  assert.equal(requestsFor(333.3, 1), 334);
  assert.equal(requestsFor(0.1, 1), 1);
});

test('rates must be positive', () => {
  assert.throws(() => new OpenLoopSchedule(0, 0, 1), RangeError);
  assert.throws(() => new OpenLoopSchedule(Infinity, 0, 1), RangeError);
});
