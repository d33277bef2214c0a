import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as zlib from 'node:zlib';
import fc from 'fast-check';
import { crc32, crc32Js } from '../server/persistence/crc32.js';

test('CRC-32 gives the standard check value for "123456789"', () => {
  const data = Buffer.from('123456789');
  assert.equal(crc32Js(data), 0xcbf43926);
  assert.equal(crc32(data), 0xcbf43926);
  assert.equal(crc32(Buffer.alloc(0)), 0);
});

test('the JS CRC-32 equals zlib.crc32 and the exported one, whole and in pieces', () => {
  const native = (zlib as { crc32?: (d: Uint8Array, v?: number) => number }).crc32;
  fc.assert(
    fc.property(fc.uint8Array({ maxLength: 2000 }), fc.nat(), (bytes, cut) => {
      const split = bytes.length === 0 ? 0 : cut % bytes.length;
      const whole = crc32Js(bytes);
      assert.equal(crc32(bytes), whole);
      if (native !== undefined) assert.equal(native(bytes) >>> 0, whole);
      assert.equal(crc32Js(bytes.subarray(split), crc32Js(bytes.subarray(0, split))), whole);
      assert.equal(crc32(bytes.subarray(split), crc32(bytes.subarray(0, split))), whole);
    }),
    { numRuns: 300 },
  );
});
