import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Prng } from '../bench/prng.js';
import { planBurst, type BurstOptions } from '../scripts/fuzz/burst-plan.js';
import { defang } from '../scripts/fuzz/defang.js';
import { encodeInline, randomCommand, HOSTILE_FRAMES } from '../scripts/fuzz/frames.js';
import { mutateFrame, rewriteNumber } from '../scripts/fuzz/mutate.js';
import { RequestDecoder, DEFAULT_REQUEST_LIMITS } from '../protocol/decoder.js';
import { encodeCommand } from '../protocol/encoder.js';
import { ProtocolError } from '../protocol/errors.js';

const OPTIONS: BurstOptions = { connections: 16, maxFramesPerConnection: 16, maxFrameBytes: 16 * 1024 };

test('Prng: the same seed and stream give the same sequence; ranges hold', () => {
  const a = new Prng(42, 3);
  const b = new Prng(42, 3);
  const c = new Prng(42, 4);
  const seqA = Array.from({ length: 100 }, () => a.nextU32());
  assert.deepEqual(seqA, Array.from({ length: 100 }, () => b.nextU32()));
  assert.notDeepEqual(seqA, Array.from({ length: 100 }, () => c.nextU32()));
  const r = new Prng(1);
  for (let i = 0; i < 10_000; i++) {
    const x = r.between(-3, 5);
    assert.ok(Number.isInteger(x) && x >= -3 && x <= 5);
    const f = r.nextFloat();
    assert.ok(f >= 0 && f < 1);
  }
  assert.equal(r.bytes(13).length, 13);
});

test('a burst plan is a function of (seed, burst): same inputs, same bytes, cuts and endings', () => {
  const one = planBurst(7, 12, OPTIONS);
  const two = planBurst(7, 12, OPTIONS);
  assert.equal(one.connections.length, OPTIONS.connections);
  one.connections.forEach((c, i) => {
    const d = two.connections[i]!;
    assert.ok(c.bytes.equals(d.bytes));
    assert.deepEqual(c.cuts, d.cuts);
    assert.equal(c.closeMode, d.closeMode);
    assert.equal(c.stopAt, d.stopAt);
  });
  const other = planBurst(7, 13, OPTIONS);
  assert.ok(!one.connections[0]!.bytes.equals(other.connections[0]!.bytes));
});

test('plans are internally consistent: cuts ascend inside the bytes, frame counts add up, stopAt within bounds', () => {
  for (let burst = 0; burst < 20; burst++) {
    for (const c of planBurst(99, burst, OPTIONS).connections) {
      const kinds = Object.values(c.framesByKind).reduce((s, n) => s + n, 0);
      assert.equal(kinds, c.frames);
      assert.ok(c.frames >= 1 && c.frames <= OPTIONS.maxFramesPerConnection);
      for (let i = 0; i < c.cuts.length; i++) {
        assert.ok(c.cuts[i]! > 0 && c.cuts[i]! < c.bytes.length);
        if (i > 0) assert.ok(c.cuts[i]! > c.cuts[i - 1]!);
      }
      assert.ok(c.stopAt >= 0 && c.stopAt <= c.bytes.length);
    }
  }
});

test('planned bytes never spell a command that ends, empties, stalls or loads the server', () => {
  for (let burst = 0; burst < 40; burst++) {
    for (const c of planBurst(5, burst, OPTIONS).connections) {
      assert.doesNotMatch(c.bytes.toString('latin1'), /shutdown|end|flushall|flushdb|debug|save/i);
    }
  }
});

test('defang changes one byte per dangerous word and keeps the length (RESP lengths stay right)', () => {
  const frame = encodeCommand(['SHUTDOWN', 'NOSAVE']);
  const before = frame.length;
  assert.equal(defang(frame), 2);
  assert.equal(frame.length, before);
  assert.equal(frame.toString('latin1'), '*2\r\n$8\r\nXHUTDOWN\r\n$6\r\nNOXAVE\r\n');
  const inline = Buffer.from('end\r\nFlushAll\r\nDEBUG SLEEP 9\r\nGET key\r\n');
  assert.equal(defang(inline), 3);
  assert.equal(inline.toString('latin1'), 'Xnd\r\nXlushAll\r\nXEBUG SLEEP 9\r\nGET key\r\n');
});

test('mutations stay within maxBytes; rewriteNumber replaces one digit run', () => {
  const rng = new Prng(3);
  const base = encodeCommand(['SET', 'key', 'x'.repeat(100)]);
  for (let i = 0; i < 2000; i++) assert.ok(mutateFrame(rng, base, 64).length <= 64);
  const rewritten = rewriteNumber(new Prng(11), Buffer.from('*1\r\n'));
  assert.notEqual(rewritten.toString('latin1'), '*1\r\n');
  assert.match(rewritten.toString('latin1'), /^\*.*\r\n$/s);
  assert.equal(rewriteNumber(rng, Buffer.from('no digits')).toString(), 'no digits');
});

test('valid frames decode to the command they were made from, in RESP and inline form', () => {
  const rng = new Prng(2024);
  const decoder = new RequestDecoder(DEFAULT_REQUEST_LIMITS);
  const args: string[] = [];
  for (let i = 0; i < 500; i++) {
    const command = randomCommand(rng, { maxFrameBytes: 4096, hostility: 0 });
    const expected = command.map((a) => a.toString('latin1'));
    for (const bytes of [encodeCommand(command), encodeInline(rng, command)]) {
      if (bytes.length > DEFAULT_REQUEST_LIMITS.maxInlineBytes) continue;
      decoder.append(bytes);
      const argc = decoder.next(args);
      assert.deepEqual(args.slice(0, argc), expected);
      assert.equal(decoder.next(args), 0);
      decoder.compact();
    }
  }
});

test('the server decoder, fed every planned connection in its planned pieces, only ever throws ProtocolError', () => {
  const args: string[] = [];
  let refused = 0;
  for (let burst = 0; burst < 30; burst++) {
    for (const c of planBurst(77, burst, OPTIONS).connections) {
      const decoder = new RequestDecoder(DEFAULT_REQUEST_LIMITS);
      let from = 0;
      try {
        for (const cut of [...c.cuts, c.bytes.length]) {
          decoder.append(c.bytes.subarray(from, cut));
          from = cut;
          while (decoder.next(args) > 0);
          decoder.compact();
        }
      } catch (err) {
        assert.ok(err instanceof ProtocolError, `burst ${burst}: ${(err as Error).stack}`);
        refused++;
      }
    }
  }
  assert.ok(refused > 0, 'some planned input is malformed');
});

test('every hand-made hostile frame is either refused with ProtocolError or parsed', () => {
  const args: string[] = [];
  for (const frame of HOSTILE_FRAMES) {
    const decoder = new RequestDecoder(DEFAULT_REQUEST_LIMITS);
    try {
      decoder.append(Buffer.from(frame, 'latin1'));
      while (decoder.next(args) > 0);
    } catch (err) {
      assert.ok(err instanceof ProtocolError, `${JSON.stringify(frame)}: ${(err as Error).message}`);
    }
  }
});
