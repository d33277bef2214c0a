import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { RequestDecoder, ReplyDecoder, ReplyScanner, DEFAULT_REQUEST_LIMITS, type RespValue } from '../protocol/decoder.js';
import { RespWriter, encodeCommand } from '../protocol/encoder.js';
import { ProtocolError, ReplyError } from '../protocol/errors.js';
import { splitInlineArgs } from '../protocol/inline.js';

/** Feeds `chunks` to a fresh RequestDecoder as a connection would; returns the commands. */
function decodeRequests(chunks: Buffer[], limits = DEFAULT_REQUEST_LIMITS): string[][] {
  const decoder = new RequestDecoder(limits);
  const args: string[] = [];
  const commands: string[][] = [];
  for (const chunk of chunks) {
    decoder.append(chunk);
    let n: number;
    while ((n = decoder.next(args)) > 0) commands.push(args.slice(0, n));
    decoder.compact();
  }
  return commands;
}

function decodeReplies(chunks: Buffer[]): RespValue[] {
  const replies: RespValue[] = [];
  const decoder = new ReplyDecoder((r) => replies.push(r));
  for (const chunk of chunks) decoder.write(chunk);
  return replies;
}

/** Every way to cut `bytes` in two, plus one byte at a time. */
function splits(bytes: Buffer): Buffer[][] {
  const out: Buffer[][] = [[bytes]];
  for (let i = 1; i < bytes.length; i++) out.push([bytes.subarray(0, i), bytes.subarray(i)]);
  out.push(Array.from(bytes, (b) => Buffer.from([b])));
  return out;
}

const latin1 = (b: Buffer): string => b.toString('latin1');

const REQUEST_STREAMS: Array<{ name: string; bytes: Buffer; expected: string[][] }> = [
  { name: 'one SET', bytes: encodeCommand(['SET', 'key1', 'value1']), expected: [['SET', 'key1', 'value1']] },
  {
    name: 'a pipeline of GET/SET/DEL',
    bytes: Buffer.concat([encodeCommand(['SET', 'a', '1']), encodeCommand(['GET', 'a']), encodeCommand(['DEL', 'a', 'b'])]),
    expected: [['SET', 'a', '1'], ['GET', 'a'], ['DEL', 'a', 'b']],
  },
  {
    name: 'binary key and value with CRLF and NUL inside',
    bytes: encodeCommand(['SET', Buffer.from([0, 13, 10, 255]), Buffer.from('x\r\ny\u0000', 'latin1')]),
    expected: [['SET', latin1(Buffer.from([0, 13, 10, 255])), 'x\r\ny\u0000']],
  },
  { name: 'an empty bulk string', bytes: encodeCommand(['SET', 'k', '']), expected: [['SET', 'k', '']] },
  { name: 'inline with quotes', bytes: Buffer.from('PUT key1 "hello world"\r\nGET key1\n'), expected: [['PUT', 'key1', 'hello world'], ['GET', 'key1']] },
  { name: 'inline mixed with RESP', bytes: Buffer.concat([Buffer.from('PING\r\n'), encodeCommand(['ECHO', 'hi'])]), expected: [['PING'], ['ECHO', 'hi']] },
  { name: 'blank lines and *0 are skipped', bytes: Buffer.from('\r\n\r\n*0\r\nPING\r\n'), expected: [['PING']] },
];

for (const { name, bytes, expected } of REQUEST_STREAMS) {
  test(`requests: ${name} decode the same however the stream is split`, () => {
    for (const chunks of splits(bytes)) assert.deepEqual(decodeRequests(chunks), expected);
  });
}

const REPLY_STREAMS: Array<{ name: string; bytes: Buffer; expected: RespValue[] }> = [
  { name: 'simple, integer, nil', bytes: Buffer.from('+OK\r\n:42\r\n:-7\r\n$-1\r\n*-1\r\n'), expected: ['OK', 42, -7, null, null] },
  { name: 'bulk with CRLF inside', bytes: Buffer.from('$4\r\na\r\nb\r\n$0\r\n\r\n'), expected: [Buffer.from('a\r\nb'), Buffer.from('')] },
  { name: 'nested arrays', bytes: Buffer.from('*2\r\n*1\r\n:1\r\n$2\r\nhi\r\n*0\r\n'), expected: [[[1], Buffer.from('hi')], []] },
];

for (const { name, bytes, expected } of REPLY_STREAMS) {
  test(`replies: ${name} decode the same however the stream is split`, () => {
    for (const chunks of splits(bytes)) assert.deepEqual(decodeReplies(chunks), expected);
  });
}

test('replies: an error reply becomes a ReplyError with its text', () => {
  const [reply] = decodeReplies([Buffer.from('-ERR unknown command\r\n')]);
  assert.ok(reply instanceof ReplyError);
  assert.equal(reply.message, 'ERR unknown command');
});

test('ReplyScanner finds reply boundaries without allocating, at every split', () => {
  const bytes = Buffer.from('+OK\r\n$3\r\nabc\r\n$-1\r\n:12\r\n*2\r\n$1\r\na\r\n*1\r\n:1\r\n-ERR x\r\n');
  const kinds = ['+', '$', '$', ':', '*', '-'].map((c) => c.charCodeAt(0));
  const scanner = new ReplyScanner();
  for (let cut = 0; cut <= bytes.length; cut++) {
    // Scan the prefix: every reply found must be whole, and the rest must be reported incomplete.
    let pos = 0;
    let found = 0;
    while (true) {
      const next = scanner.scan(bytes, pos, cut);
      if (next === -1) break;
      assert.equal(scanner.kind, kinds[found]);
      found++;
      pos = next;
    }
    let whole = 0;
    let p = 0;
    while (p < bytes.length) {
      p = scanner.scan(bytes, p, bytes.length);
      if (p <= cut) whole++;
    }
    assert.equal(found, whole, `cut at ${cut}`);
  }
  const end = scanner.scan(Buffer.from('$3\r\nabc\r\n'), 0, 9);
  assert.equal(end, 9);
  assert.equal(scanner.valueEnd - scanner.valueStart, 3);
});

test('the encoder writes what the decoders read back, for any arguments', () => {
  fc.assert(
    fc.property(fc.array(fc.uint8Array({ maxLength: 40 }), { minLength: 1, maxLength: 8 }), fc.integer({ min: 1, max: 50 }), (argBytes, chunkSize) => {
      const args = argBytes.map((a) => Buffer.from(a));
      const frame = encodeCommand(args);
      const chunks: Buffer[] = [];
      for (let i = 0; i < frame.length; i += chunkSize) chunks.push(frame.subarray(i, i + chunkSize));
      assert.deepEqual(decodeRequests(chunks), [args.map(latin1)]);
    }),
    { numRuns: 300 },
  );
});

test('replies written by RespWriter decode to the same values', () => {
  fc.assert(
    fc.property(fc.array(fc.oneof(fc.integer({ min: -1e9, max: 1e9 }), fc.uint8Array({ maxLength: 30 }), fc.constant(null)), { maxLength: 10 }), (values) => {
      const w = new RespWriter(8);
      for (const v of values) {
        if (v === null) w.nullBulk();
        else if (typeof v === 'number') w.integer(v);
        else w.bulkBuffer(Buffer.from(v));
      }
      const expected = values.map((v) => (v instanceof Uint8Array ? Buffer.from(v) : v));
      assert.deepEqual(decodeReplies([Buffer.from(w.view())]), expected);
    }),
    { numRuns: 200 },
  );
});

test('random mutations of valid frames either decode or raise ProtocolError, never anything else', () => {
  const valid = Buffer.concat([encodeCommand(['SET', 'key', 'value']), encodeCommand(['GET', 'key']), Buffer.from('PING "a b"\r\n')]);
  fc.assert(
    fc.property(fc.array(fc.tuple(fc.nat(valid.length - 1), fc.integer({ min: 0, max: 255 })), { minLength: 1, maxLength: 6 }), fc.integer({ min: 1, max: 16 }), (edits, chunkSize) => {
      const bytes = Buffer.from(valid);
      for (const [at, value] of edits) bytes[at] = value;
      const chunks: Buffer[] = [];
      for (let i = 0; i < bytes.length; i += chunkSize) chunks.push(bytes.subarray(i, i + chunkSize));
      try {
        decodeRequests(chunks, { ...DEFAULT_REQUEST_LIMITS, maxBulkBytes: 1024, maxArgs: 64 });
      } catch (err) {
        assert.ok(err instanceof ProtocolError, `unexpected ${String(err)}`);
      }
    }),
    { numRuns: 2000 },
  );
});

test('limits: a bulk length over --max-bulk-bytes is a protocol error before any allocation', () => {
  assert.throws(() => decodeRequests([Buffer.from('*1\r\n$4294967296\r\n')]), { name: 'ProtocolError', message: 'invalid bulk length' });
  assert.throws(() => decodeRequests([Buffer.from('*1\r\n$-5\r\n')]), { message: 'invalid bulk length' });
  assert.throws(() => decodeRequests([Buffer.from('*3000000000\r\n')]), { message: 'invalid multibulk length' });
  assert.throws(() => decodeRequests([Buffer.from('*1\r\n+PING\r\n')]), { message: "expected '$', got '+'" });
  assert.throws(() => decodeRequests([Buffer.from('*1\r\n$4\r\nPINGxx')]), { message: 'bulk string not terminated by CRLF' });
  assert.throws(() => decodeRequests([Buffer.from(`*${'9'.repeat(40)}`)]), { message: 'too big mbulk count string' });
  assert.throws(() => decodeRequests([Buffer.from('*x\r\n')]), { message: 'invalid multibulk length' });
});

test('limits: an inline line longer than the limit without a newline is refused', () => {
  assert.throws(() => decodeRequests([Buffer.alloc(70 * 1024, 0x61)]), { message: 'too big inline request' });
});

test('limits: the query buffer of one incomplete command is bounded', () => {
  const limits = { ...DEFAULT_REQUEST_LIMITS, maxQueryBytes: 1000 };
  const start = Buffer.from('*100\r\n');
  const arg = encodeCommand(['x'.repeat(100)]).subarray(4); // "$100\r\nxxx...\r\n"
  const chunks = [start, ...Array.from({ length: 20 }, () => arg)];
  assert.throws(() => decodeRequests(chunks, limits), { message: 'query buffer limit exceeded' });
});

test('a command split over many reads is parsed once: a 100k-argument array in 1-KiB chunks', () => {
  const args = Array.from({ length: 100_000 }, (_, i) => `k${i}`);
  const frame = encodeCommand(['DEL', ...args]);
  const chunks: Buffer[] = [];
  for (let i = 0; i < frame.length; i += 1024) chunks.push(frame.subarray(i, i + 1024));
  const [command] = decodeRequests(chunks);
  assert.equal(command!.length, 100_001);
  assert.equal(command![100_000], 'k99999');
});

test('inline splitting follows Redis quoting rules', () => {
  const split = (s: string): string[] => splitInlineArgs(Buffer.from(s, 'latin1'));
  assert.deepEqual(split('SET a b'), ['SET', 'a', 'b']);
  assert.deepEqual(split('  SET   "a b"  \'c d\'  '), ['SET', 'a b', 'c d']);
  assert.deepEqual(split('"\\x41\\n\\t\\"q\\""'), ['A\n\t"q"']);
  assert.deepEqual(split("'it\\'s'"), ["it's"]);
  assert.deepEqual(split('""'), ['']);
  assert.throws(() => split('"abc'), { message: 'unbalanced quotes in request' });
  assert.throws(() => split('"abc"def'), { message: 'unbalanced quotes in request' });
});
