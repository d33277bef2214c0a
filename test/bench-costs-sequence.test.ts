import { test } from 'node:test';
import assert from 'node:assert/strict';
import { RequestDecoder } from '../protocol/decoder.js';
import { buildCostSequence, checkSequenceSpec, COST_SEQUENCES, DEFAULT_COST_SEQUENCE, phaseRequestsOf, type CostSequenceSpec } from '../bench/costs/sequence.js';

// The request sequence of a cost measurement: the same bytes every time, batches of --pipeline,
// phases in order, and the four sequences differing only in the length of one phase.

const SMALL: CostSequenceSpec = { seed: 7, keySpace: 20, valueBytes: 8, pipeline: 4, shortRequests: 10, longRequests: 30, warmupRequests: 6 };

/** Every command of a sequence as [name, key] pairs, decoded by the server's own decoder. */
function commands(spec: CostSequenceSpec, name: (typeof COST_SEQUENCES)[number]): string[][] {
  const decoder = new RequestDecoder();
  const out: string[][] = [];
  const args: string[] = [];
  for (const batch of buildCostSequence(spec, name).batches) {
    decoder.append(batch.bytes);
    let n = 0;
    let argc: number;
    while ((argc = decoder.next(args)) > 0) {
      out.push(args.slice(0, argc));
      n++;
    }
    assert.equal(n, batch.requests, 'a batch holds exactly the requests it says');
    decoder.compact();
  }
  return out;
}

test('the same spec gives the same bytes; another seed other keys', () => {
  const a = buildCostSequence(SMALL, 'get').batches.map((b) => b.bytes.toString('latin1')).join('');
  const b = buildCostSequence({ ...SMALL }, 'get').batches.map((b) => b.bytes.toString('latin1')).join('');
  const c = buildCostSequence({ ...SMALL, seed: 8 }, 'get').batches.map((b) => b.bytes.toString('latin1')).join('');
  assert.equal(a, b);
  assert.notEqual(a, c);
});

test('preload, warm-up, then the PUT, GET and DELETE phases; only the named phase is long', () => {
  for (const name of COST_SEQUENCES) {
    const cmds = commands(SMALL, name);
    const phases = phaseRequestsOf(SMALL, name);
    const preload = SMALL.keySpace + SMALL.longRequests + SMALL.warmupRequests;
    assert.equal(cmds.length, preload + 2 * SMALL.warmupRequests + phases.put + phases.get + phases.delete);
    assert.equal(buildCostSequence(SMALL, name).preloadRequests, preload + 2 * SMALL.warmupRequests);
    const ops = cmds.map((c) => c[0]);
    let at = 0;
    const expectRun = (op: string, n: number): void => {
      assert.deepEqual(ops.slice(at, at + n), new Array<string>(n).fill(op), `${name}: ${n} × ${op} from ${at}`);
      at += n;
    };
    expectRun('SET', preload);
    expectRun('GET', SMALL.warmupRequests);
    expectRun('DEL', SMALL.warmupRequests);
    expectRun('SET', phases.put);
    expectRun('GET', phases.get);
    expectRun('DEL', phases.delete);
    assert.equal(phases[name === 'base' ? 'put' : name], name === 'base' ? SMALL.shortRequests : SMALL.longRequests);
  }
});

test('every GET and PUT of the phases names a preloaded key, and every DELETE a preloaded key of its own, once', () => {
  const cmds = commands(SMALL, 'delete');
  const preloaded = new Set(cmds.slice(0, SMALL.keySpace + SMALL.longRequests + SMALL.warmupRequests).map((c) => c[1]));
  const rest = cmds.slice(preloaded.size);
  for (const c of rest) assert.ok(preloaded.has(c[1]!), `${c.join(' ')} names a preloaded key`);
  const deleted = rest.filter((c) => c[0] === 'DEL').map((c) => c[1]);
  assert.equal(new Set(deleted).size, deleted.length, 'no key is deleted twice');
  assert.ok(rest.filter((c) => c[0] === 'SET').every((c) => c[2]!.length === SMALL.valueBytes));
});

test('batches are --pipeline requests, and no batch spans two phases', () => {
  const batches = buildCostSequence(SMALL, 'put').batches;
  assert.ok(batches.every((b) => b.requests >= 1 && b.requests <= SMALL.pipeline));
  // keySpace + long + warm-up = 56 → 14 full batches; each phase of 6, 30, 10, 10 ends in a partial one when it must.
  assert.deepEqual(
    batches.map((b) => b.requests),
    [...new Array<number>(14).fill(4), 4, 2, 4, 2, ...new Array<number>(7).fill(4), 2, 4, 4, 2, 4, 4, 2],
  );
});

test('a spec that cannot make a measurement is refused, naming the field', () => {
  assert.doesNotThrow(() => checkSequenceSpec(DEFAULT_COST_SEQUENCE));
  assert.throws(() => checkSequenceSpec({ ...SMALL, pipeline: 1 }), /pipeline must be an integer ≥ 2/);
  assert.throws(() => checkSequenceSpec({ ...SMALL, longRequests: 10 }), /longRequests must be an integer ≥ 11/);
  assert.throws(() => checkSequenceSpec({ ...SMALL, keySpace: 0 }), /keySpace must be an integer ≥ 1/);
});
