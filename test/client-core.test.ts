import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { Fifo } from '../client/fifo.js';
import { backoffDelayMs } from '../client/backoff.js';
import { formatAddress, parseAddress } from '../protocol/address.js';
import { parseServerList, clusterFilePath } from '../client/servers-file.js';

// The pure parts of the client: the request FIFO, the backoff schedule, server-address parsing.

test('Fifo behaves like an array used as a queue, across growth and wrap-around', () => {
  fc.assert(
    fc.property(fc.array(fc.oneof(fc.integer(), fc.constant('shift' as const)), { maxLength: 300 }), fc.integer({ min: 1, max: 8 }), (ops, capacity) => {
      const fifo = new Fifo<number>(capacity);
      const model: number[] = [];
      for (const op of ops) {
        if (op === 'shift') assert.equal(fifo.shift(), model.shift());
        else {
          fifo.push(op);
          model.push(op);
        }
        assert.equal(fifo.length, model.length);
        for (let i = 0; i < model.length; i++) assert.equal(fifo.at(i), model[i]);
        assert.equal(fifo.at(model.length), undefined);
      }
    }),
  );
});

test('backoff doubles from the base, is capped, and only its upper half is random', () => {
  const low = () => 0;
  const high = () => 0.999999;
  assert.deepEqual([0, 1, 2, 3, 4, 5].map((a) => backoffDelayMs(a, 50, 1000, low)), [25, 50, 100, 200, 400, 500]);
  assert.ok(Math.abs(backoffDelayMs(0, 50, 1000, high) - 50) < 0.001);
  assert.equal(backoffDelayMs(1000, 50, 1000, low), 500, 'a huge attempt count stays finite and capped');
  fc.assert(
    fc.property(fc.nat(100), fc.double({ min: 1, max: 1e4, noNaN: true }), fc.double({ min: 0, max: 0.9999999, noNaN: true }), (attempt, baseMs, r) => {
      const maxMs = baseMs * 8;
      const d = backoffDelayMs(attempt, baseMs, maxMs, () => r);
      const step = Math.min(maxMs, baseMs * 2 ** attempt);
      assert.ok(d >= step / 2 && d <= step, `attempt ${attempt}: ${d} outside [${step / 2}, ${step}]`);
    }),
  );
});

test('server addresses: host:port and [v6]:port parse; anything else is refused naming the input', () => {
  assert.deepEqual(parseAddress('127.0.0.1:7001'), { host: '127.0.0.1', port: 7001 });
  assert.deepEqual(parseAddress(' localhost:1 '), { host: 'localhost', port: 1 });
  assert.deepEqual(parseAddress('[::1]:7001'), { host: '::1', port: 7001 });
  assert.equal(formatAddress({ host: '::1', port: 7001 }), '[::1]:7001');
  for (const bad of ['127.0.0.1', '127.0.0.1:', ':7001', '127.0.0.1:0', '127.0.0.1:65536', 'a b:1', 'host:port']) {
    assert.throws(() => parseAddress(bad), { code: 'KV_ERR_SERVER_ADDRESS', message: new RegExp(`"${bad.replace(/[.[\]]/g, '\\$&')}".*host:port`) }, bad);
  }
  assert.deepEqual(parseServerList('127.0.0.1:7001, 127.0.0.1:7002,'), ['127.0.0.1:7001', '127.0.0.1:7002']);
  assert.throws(() => parseServerList(' , '), { code: 'KV_ERR_SERVER_ADDRESS', message: /empty/ });
  assert.throws(() => parseServerList('127.0.0.1:7001,127.0.0.1:7001'), { code: 'KV_ERR_SERVER_ADDRESS', message: /listed twice/ });
});

test('the cluster file is .kvring/cluster.json under the current directory unless KVRING_CLUSTER_FILE says otherwise', () => {
  assert.equal(clusterFilePath({}, '/repo'), '/repo/.kvring/cluster.json');
  assert.equal(clusterFilePath({ KVRING_CLUSTER_FILE: 'x/c.json' }, '/repo'), '/repo/x/c.json');
  assert.equal(clusterFilePath({ KVRING_CLUSTER_FILE: '/abs/c.json' }, '/repo'), '/abs/c.json');
});
