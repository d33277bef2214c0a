import { test } from 'node:test';
import assert from 'node:assert/strict';
import { RequestDecoder } from '../protocol/decoder.js';
import { RespWriter } from '../protocol/encoder.js';
import { encodeRequest, OP_DELETE, OP_GET, OP_PUT, writeVerifyValue } from '../bench/worker/request-encoder.js';
import { RequestQueue } from '../bench/worker/request-queue.js';

function decodeAll(bytes: Buffer): string[][] {
  const d = new RequestDecoder();
  d.append(bytes);
  const out: string[][] = [];
  const args: string[] = [];
  for (let n = d.next(args); n > 0; n = d.next(args)) out.push(args.slice(0, n));
  return out;
}

test('requests are encoded as RESP arrays the server decodes back to the same command', () => {
  const w = new RespWriter(16);
  const key = Buffer.from('key:00042');
  const value = Buffer.alloc(300, 0x78);
  encodeRequest(w, OP_PUT, key, key.length, value, 123);
  encodeRequest(w, OP_GET, key, key.length, value, 0);
  encodeRequest(w, OP_DELETE, key, 5, value, 0);
  encodeRequest(w, OP_PUT, key, key.length, value, 7);
  assert.deepEqual(decodeAll(Buffer.from(w.view())), [
    ['SET', 'key:00042', 'x'.repeat(123)],
    ['GET', 'key:00042'],
    ['DEL', 'key:0'],
    ['SET', 'key:00042', 'xxxxxxx'],
  ]);
});

test('--verify values have exactly the requested size and differ by version', () => {
  const a = Buffer.alloc(24);
  const b = Buffer.alloc(24);
  writeVerifyValue(a, 42, 7, 24);
  writeVerifyValue(b, 42, 8, 24);
  assert.equal(a.toString(), `7:42:${'v'.repeat(19)}`);
  assert.notDeepEqual(a, b);
  const tiny = Buffer.alloc(3);
  writeVerifyValue(tiny, 42, 12345, 3);
  assert.equal(tiny.toString(), '123');
});

test('the backlog queue is first-in first-out across growth and wrap-around', () => {
  const q = new RequestQueue(2);
  let next = 0;
  let expected = 0;
  for (let round = 0; round < 50; round++) {
    for (let i = 0; i < round % 7; i++) {
      q.push(next * 0.5, next % 3, next, next * 2);
      next++;
    }
    for (let i = 0; i < round % 5 && q.count > 0; i++) {
      assert.equal(q.headKey(), expected);
      assert.equal(q.headIntendedMs(), expected * 0.5);
      assert.equal(q.headOp(), expected % 3);
      assert.equal(q.headSize(), expected * 2);
      q.shift();
      expected++;
    }
  }
  assert.equal(q.count, next - expected);
  q.clear();
  assert.equal(q.count, 0);
});
