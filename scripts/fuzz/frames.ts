import { encodeCommand } from '../../protocol/encoder.js';
import { Prng } from '../../bench/prng.js';
import { mutateFrame } from './mutate.js';

// What the fuzzer sends: well-formed commands (RESP and inline) to reach deep into the command
// handlers, the same commands mutated to hit the decoder's error paths, raw noise, and a table of
// hand-made hostile frames (the ones Redis's own tests use). Pure: a Prng in, bytes out, so a
// seed reproduces every frame.

export type FrameKind = 'resp' | 'inline' | 'mutated' | 'noise' | 'hostile';

export interface Frame {
  kind: FrameKind;
  bytes: Buffer;
}

export interface FrameOptions {
  /** Upper bound on one frame's size (values are drawn mostly far below it). */
  maxFrameBytes: number;
  /** Probability, 0 to 1, that a frame is malformed rather than a valid command. */
  hostility: number;
  /**
   * Upper-case command names never generated as valid commands (--avoid): to fuzz past a known
   * bug instead of finding it again in every burst.
   */
  avoid?: ReadonlySet<string>;
}

/** Keys the fuzzer reads and writes: a small pool so GETs hit, plus random binary ones. */
const KEY_POOL_SIZE = 64;

/** Bytes that matter to the RESP and inline parsers. */
export const PROTOCOL_BYTES: readonly number[] = [0x0d, 0x0a, 0x2a, 0x24, 0x3a, 0x2b, 0x2d, 0x20, 0x09, 0x22, 0x27, 0x5c, 0x00, 0xff, 0x30, 0x39];

/**
 * Hand-made frames every RESP server must survive: oversized and negative lengths, lengths that
 * overflow 32 and 53 bits, wrong type bytes, missing CRLFs, nesting, unbalanced inline quotes.
 * Several are from Redis's tests/unit/protocol.tcl.
 */
export const HOSTILE_FRAMES: readonly string[] = [
  '*1\r\n$4294967296\r\n',
  '*3000000000\r\n',
  '*20000000\r\n',
  '*1048577\r\n',
  '*-10\r\n',
  '*-1\r\n',
  '*0\r\n',
  '*1\r\n$-1\r\n',
  '*1\r\n$-2\r\n',
  '*1\r\n$2147483648\r\n',
  '*1\r\n$9007199254740993\r\n',
  '*1\r\n$99999999999999999999999999999999\r\n',
  '*99999999999999999999999999999999\r\n',
  '*1\r\n$1e3\r\n',
  '*1\r\n$0x10\r\n',
  '*1\r\n$+4\r\nPING\r\n',
  '*1\r\n$ 4\r\nPING\r\n',
  '* 1\r\n$4\r\nPING\r\n',
  '*1\n$4\nPING\n',
  '*1\r\n$4\r\nPINGXX',
  '*1\r\n$4\r\nPING\n\n',
  '*2\r\n$3\r\nGET\r\n:5\r\n',
  '*2\r\n*1\r\n$3\r\nGET\r\n',
  '*1\r\n+PING\r\n',
  '*1\r\n',
  '*1\r\n$3\r\nGET',
  '*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$10\r\nshort\r\n',
  '$4\r\nPING\r\n',
  ':1\r\n',
  '+PING\r\n',
  '-ERR\r\n',
  '*\r\n',
  '$\r\n',
  '*-\r\n',
  '*1\r\n$\r\n\r\n',
  '\r\n\r\n\r\n',
  '\n\n\n\n',
  '\r\r\r\r\r\r',
  '\x00\x00\x00\x00\r\n',
  'PING "unbalanced\r\n',
  "PING 'unbalanced\r\n",
  'PING "a"b\r\n',
  "PING 'a'b\r\n",
  'ECHO "\\x"\r\n',
  'ECHO "\\xZZ\\"\r\n',
  'ECHO "trailing backslash\\\r\n',
  "ECHO '\\'\r\n",
  'ECHO ""\r\n',
  "ECHO ''\r\n",
  'SET k "\\x00\\xff\\r\\n"\r\n',
  '  \t PING \t \r\n',
  'GET\r\n',
  'SET only-key\r\n',
  'CLIENT SETNAME "has space"\r\n',
  'HELLO 3\r\n',
  'HELLO 2 AUTH default wrong\r\n',
  'HELLO 2 SETNAME\r\n',
  'AUTH a b c\r\n',
  'SELECT 99999999999999999999\r\n',
  'COMMAND INFO get nosuch set\r\n',
  'CONFIG GET *\r\n',
  'CONFIG GET [\r\n',
  'CONFIG GET (\r\n',
  'INFO everything\r\n',
  'PING a b c\r\n',
  'MGET\r\n',
  'MSET a\r\n',
  'MSET a 1 b\r\n',
];

/**
 * Draws the next frame. With probability `hostility` it is mutated, noise or hand-made hostile;
 * otherwise a well-formed command, RESP or inline. Connections differ in hostility so that some
 * get deep into pipelines of valid commands while others die at their first frame.
 */
export function generateFrame(rng: Prng, options: FrameOptions): Frame {
  if (!rng.chance(options.hostility)) {
    return rng.chance(0.65)
      ? { kind: 'resp', bytes: encodeCommand(randomCommand(rng, options)) }
      : { kind: 'inline', bytes: encodeInline(rng, randomCommand(rng, options)) };
  }
  const r = rng.nextFloat();
  if (r < 0.6) {
    const base = rng.chance(0.7) ? encodeCommand(randomCommand(rng, options)) : encodeInline(rng, randomCommand(rng, options));
    return { kind: 'mutated', bytes: mutateFrame(rng, base, options.maxFrameBytes) };
  }
  if (r < 0.8) return { kind: 'noise', bytes: noise(rng, options.maxFrameBytes) };
  const hostile = Buffer.from(rng.pick(HOSTILE_FRAMES), 'latin1');
  return { kind: 'hostile', bytes: rng.chance(0.3) ? mutateFrame(rng, hostile, options.maxFrameBytes) : hostile };
}

/** Length of the i-th long key: 256 to 4096 bytes of 'k'. */
const LONG_KEY_COUNT = 16;

/**
 * Every key the generator's valid commands can name: text keys fz:0..63, 64 binary keys with
 * CR/LF/NUL, the empty key, 16 long keys. A bounded key space, so server memory growth means a
 * leak, not data; and a fixed list, so a test can read back everything the fuzzer may have written.
 */
export function keyPool(): Buffer[] {
  const keys: Buffer[] = [];
  for (let i = 0; i < KEY_POOL_SIZE; i++) keys.push(Buffer.from(`fz:${i}`));
  for (let i = 0; i < KEY_POOL_SIZE; i++) keys.push(binaryKey(i));
  keys.push(Buffer.alloc(0));
  for (let i = 1; i <= LONG_KEY_COUNT; i++) keys.push(Buffer.alloc(256 * i, 0x6b));
  return keys;
}

function binaryKey(index: number): Buffer {
  return new Prng(index, 0xb1).bytes(1 + (index % 32));
}

/** A random key from keyPool(). */
export function randomKey(rng: Prng): Buffer {
  const r = rng.nextFloat();
  if (r < 0.7) return Buffer.from(`fz:${rng.nextBelow(KEY_POOL_SIZE)}`);
  if (r < 0.85) return binaryKey(rng.nextBelow(KEY_POOL_SIZE));
  if (r < 0.95) return Buffer.alloc(0);
  return Buffer.alloc(256 * rng.between(1, LONG_KEY_COUNT), 0x6b);
}

/** A random value; sizes spread over orders of magnitude, rarely near maxFrameBytes. */
export function randomValue(rng: Prng, maxFrameBytes: number): Buffer {
  const r = rng.nextFloat();
  const limit = Math.max(1, maxFrameBytes - 128);
  if (r < 0.5) return rng.bytes(rng.nextBelow(Math.min(16, limit)));
  if (r < 0.8) return rng.bytes(rng.nextBelow(Math.min(512, limit)));
  if (r < 0.97) return rng.bytes(rng.nextBelow(Math.min(16 * 1024, limit)));
  return Buffer.alloc(rng.nextBelow(limit), 0x76);
}

function randomWord(rng: Prng): Buffer {
  return rng.chance(0.5) ? rng.bytes(rng.between(1, 12)) : Buffer.from(rng.pick(['NX', 'XX', 'GET', 'EX', '10', 'KEEPTTL', '0', '-1', 'COUNT', 'DOCS', 'INFO', 'LIST', 'ID', 'x']));
}

/**
 * A command the server knows (sometimes with the wrong arity or bogus options), or an unknown one.
 * Never SHUTDOWN/END, FLUSHALL, DEBUG or SAVE: those end, empty, stall or load the server on
 * purpose, which would be mistaken for a crash, a lost key or a wedge.
 */
export function randomCommand(rng: Prng, options: FrameOptions): Buffer[] {
  const avoid = options.avoid;
  if (avoid === undefined || avoid.size === 0) return drawCommand(rng, options);
  for (let attempt = 0; attempt < 50; attempt++) {
    const args = drawCommand(rng, options);
    if (!avoid.has(args[0]!.toString('latin1').toUpperCase())) return args;
  }
  return [Buffer.from('PING')];
}

function drawCommand(rng: Prng, options: FrameOptions): Buffer[] {
  const key = (): Buffer => randomKey(rng);
  const value = (): Buffer => randomValue(rng, Math.max(64, Math.floor(options.maxFrameBytes / 4)));
  const many = (make: () => Buffer, min: number, max: number): Buffer[] => Array.from({ length: rng.between(min, max) }, make);
  const b = (s: string): Buffer => Buffer.from(s);
  const name = (s: string): Buffer => b(rng.chance(0.2) ? s.toLowerCase() : s);
  let args: Buffer[];
  switch (rng.nextBelow(20)) {
    case 0:
    case 1:
      args = [name('GET'), key()];
      break;
    case 2:
    case 3:
      args = [name(rng.chance(0.2) ? 'PUT' : 'SET'), key(), value(), ...many(() => randomWord(rng), 0, rng.chance(0.8) ? 0 : 3)];
      break;
    case 4:
      args = [name(rng.chance(0.2) ? 'DELETE' : 'DEL'), ...many(key, 1, 8)];
      break;
    case 5:
      args = [name('EXISTS'), ...many(key, 1, 8)];
      break;
    case 6:
      args = [name('MGET'), ...many(key, 1, 16)];
      break;
    case 7: {
      const pairs = rng.between(1, 8);
      args = [name('MSET')];
      for (let i = 0; i < pairs; i++) args.push(key(), value());
      break;
    }
    case 8:
      args = rng.chance(0.5) ? [name('PING')] : [name('PING'), value()];
      break;
    case 9:
      args = [name('ECHO'), value()];
      break;
    case 10:
      args = [name(rng.pick(['DBSIZE', 'LASTSAVE', 'COMMAND', 'HELLO']))];
      break;
    case 11:
      args = [name('INFO'), ...many(() => b(rng.pick(['server', 'clients', 'memory', 'persistence', 'stats', 'commandstats', 'keyspace', 'all', 'default', 'nosuch'])), 0, 3)];
      break;
    case 12:
      args = [name('CONFIG'), b(rng.pick(['GET', 'SET', 'RESETSTAT', 'REWRITE', 'get'])), ...many(() => globPattern(rng), 0, 3)];
      break;
    case 13:
      args = [name('COMMAND'), b(rng.pick(['COUNT', 'INFO', 'DOCS', 'GETKEYS', 'LIST'])), ...many(() => b(rng.pick(['get', 'set', 'nosuch', ''])), 0, 3)];
      break;
    case 14:
      args = [name('CLIENT'), b(rng.pick(['SETNAME', 'GETNAME', 'ID', 'LIST', 'SETINFO', 'KILL', 'PAUSE'])), ...many(() => randomWord(rng), 0, 3)];
      break;
    case 15:
      args = [name('HELLO'), b(rng.pick(['2', '3', '1', 'x', '-1'])), ...many(() => b(rng.pick(['AUTH', 'SETNAME', 'default', 'pw', 'name'])), 0, 4)];
      break;
    case 16:
      args = [name(rng.pick(['AUTH', 'SELECT', 'QUIT'])), ...many(() => randomWord(rng), 0, 3)];
      break;
    case 17:
      // An unknown command, sometimes with a very long name or arguments (the error echoes them).
      args = [rng.chance(0.8) ? rng.bytes(rng.between(1, 16)) : Buffer.alloc(rng.between(100, 5000), 0x41), ...many(value, 0, 5)];
      break;
    case 18:
      // Wrong arity for a known command.
      args = [name(rng.pick(['GET', 'SET', 'ECHO', 'DBSIZE', 'SELECT', 'LASTSAVE'])), ...many(key, 0, 5)];
      break;
    default:
      // Many arguments in one command.
      args = [name(rng.pick(['DEL', 'EXISTS', 'MGET'])), ...many(() => Buffer.from(`fz:${rng.nextBelow(KEY_POOL_SIZE)}`), 100, 2000)];
      break;
  }
  return args;
}

/**
 * Writes a command as an inline line, the way a person types it into nc: plain words when they
 * can be, double quotes with escapes otherwise; ends with CRLF or a bare LF.
 */
export function encodeInline(rng: Prng, args: Buffer[]): Buffer {
  const parts: string[] = args.map((arg) => {
    const text = arg.latin1Slice(0, arg.length);
    if (text.length > 0 && /^[\x21-\x7e]+$/.test(text) && !/["'\\]/.test(text)) return text;
    return `"${text.replace(/["\\]|[^\x20-\x7e]/g, escapeInlineChar)}"`;
  });
  const separator = rng.chance(0.9) ? ' ' : rng.pick(['  ', '\t', ' \t ']);
  return Buffer.from(`${parts.join(separator)}${rng.chance(0.8) ? '\r\n' : '\n'}`, 'latin1');
}

/** How each byte is written inside double quotes: itself, \" and \\, or \xHH. */
const INLINE_ESCAPES: readonly string[] = Array.from({ length: 256 }, (_, code) => {
  if (code === 0x22 || code === 0x5c) return `\\${String.fromCharCode(code)}`;
  if (code >= 0x20 && code < 0x7f) return String.fromCharCode(code);
  return `\\x${code.toString(16).padStart(2, '0')}`;
});

function escapeInlineChar(c: string): string {
  return INLINE_ESCAPES[c.charCodeAt(0)]!;
}

/**
 * A glob for CONFIG GET: a known one, or a random mix of wildcards and letters. Patterns with many
 * '*' are how a glob matcher built on a backtracking regex is made to run for minutes (ReDoS).
 */
export function globPattern(rng: Prng): Buffer {
  const r = rng.nextFloat();
  if (r < 0.4) return Buffer.from(rng.pick(['*', 'max*', '?ort', 'save', '[a-z]', '\\', 'x', '*a*p*']));
  // A run of wildcards then a letter no setting name ends with: every split of the name is tried.
  if (r < 0.6) return Buffer.from(`${'*'.repeat(rng.between(1, 40))}${rng.pick(['x', 'q', ''])}`, 'latin1');
  const length = rng.between(1, 40);
  let glob = '';
  for (let i = 0; i < length; i++) glob += rng.pick(['*', '*', '*', '*', '?', 'a', 'e', 'x', '[', '-']);
  return Buffer.from(glob, 'latin1');
}

/** Random bytes, either uniform or biased towards the bytes the parsers branch on. */
function noise(rng: Prng, maxFrameBytes: number): Buffer {
  const length = rng.between(1, Math.min(maxFrameBytes, rng.chance(0.9) ? 256 : 8192));
  if (rng.chance(0.5)) return rng.bytes(length);
  const out = Buffer.allocUnsafe(length);
  for (let i = 0; i < length; i++) out[i] = rng.chance(0.6) ? rng.pick(PROTOCOL_BYTES) : rng.nextU32() & 0xff;
  return out;
}
