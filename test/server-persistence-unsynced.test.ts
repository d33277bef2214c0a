import { test } from 'node:test';
import assert from 'node:assert/strict';
import { UnsyncedBytes } from '../server/persistence/unsynced-bytes.js';

// The bytes kept to rewrite after a failed fsync: what goes in comes out, in order, byte for byte,
// whatever was forgotten in between.

const bytes = (text: string): Buffer => Buffer.from(text, 'latin1');

test('writes come back as segments in order, with their generation and end offset; the caller may reuse its buffer', () => {
  const u = new UnsyncedBytes();
  const scratch = Buffer.from('aaaa');
  u.add(1, scratch, 4);
  scratch.write('zzzz');
  u.add(1, bytes('bb'), 6);
  u.add(2, bytes('ccc'), 9);
  assert.equal(u.count, 3);
  const segments = u.takeAll();
  assert.deepEqual(segments.map((s) => [s.gen, s.bytes.toString('latin1'), s.endOffset]), [[1, 'aaaa', 4], [1, 'bb', 6], [2, 'ccc', 9]]);
  assert.equal(u.count, 0);
  assert.deepEqual(u.takeAll(), []);
});

test('dropFirst forgets what an fsync covered and keeps what was written while it ran', () => {
  const u = new UnsyncedBytes();
  u.add(1, bytes('covered-1'), 9);
  u.add(1, bytes('covered-2'), 18);
  u.add(1, bytes('during the fsync'), 34);
  u.dropFirst(2);
  u.add(1, bytes('later'), 39);
  assert.deepEqual(u.takeAll().map((s) => s.bytes.toString('latin1')), ['during the fsync', 'later']);
  u.dropFirst(5);
  assert.equal(u.count, 0);
});

test('dropBelow forgets generations a snapshot covers and says where they ended', () => {
  const u = new UnsyncedBytes();
  assert.equal(u.dropBelow(3), -1);
  u.add(1, bytes('x'), 1);
  u.add(2, bytes('yy'), 3);
  u.add(3, bytes('zzz'), 6);
  assert.equal(u.dropBelow(3), 3);
  assert.deepEqual(u.takeAll().map((s) => [s.gen, s.bytes.toString('latin1')]), [[3, 'zzz']]);
});

test('the buffer grows for a large write and keeps every byte', () => {
  const u = new UnsyncedBytes();
  const big = Buffer.alloc(3 * 1024 * 1024 + 7, 0x61);
  big[big.length - 1] = 0x62;
  u.add(1, bytes('head'), 4);
  u.add(1, big, 4 + big.length);
  const [head, body] = u.takeAll();
  assert.equal(head!.bytes.toString('latin1'), 'head');
  assert.ok(body!.bytes.equals(big));
});
