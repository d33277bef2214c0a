import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnServer } from '../server/spawn.js';
import { startPingProbeThread } from '../scripts/faults/ping-probe.js';
import { oneShot } from '../protocol/one-shot.js';

// Glob patterns are user input that the server matches: a matcher that backtracks (as the first
// one did: a RegExp built from the glob) can be made to run for minutes by a 30-byte pattern,
// stalling every client. Redis had the same class of bug in stringmatchlen (CVE-2022-36021).

const LIVENESS_MS = 500;

test('a CONFIG GET glob of 30 stars answers within 500 ms and does not stall other clients (the fuzzer found a RegExp-based matcher running for minutes)', async (t) => {
  const server = await spawnServer({ args: ['--snapshot-interval', '0'] });
  // A stalled server ignores SIGTERM until its loop is free again: do not wait for it.
  after(() => server.stop({ timeoutMs: 1000 }));
  const probe = await startPingProbeThread(server.host, server.port);
  after(() => probe.stop());
  const startedMs = performance.now();
  const pattern = `${'*'.repeat(30)}x`;
  const reply = await oneShot(server.host, server.port, [['CONFIG', 'GET', pattern]], 5000).then(
    (r) => r,
    (err: Error) => err,
  );
  const tookMs = performance.now() - startedMs;
  const liveness = await probe.stop();
  t.diagnostic(`CONFIG GET ${pattern}: ${reply instanceof Error ? reply.message : 'answered'} after ${tookMs.toFixed(0)} ms; PING worst ${liveness.worstMs.toFixed(0)} ms`);
  assert.ok(!(reply instanceof Error), `CONFIG GET with a 31-byte glob got no answer: ${reply instanceof Error ? reply.message : ''}`);
  assert.deepEqual(reply, [[]], 'no setting ends in x');
  assert.ok(tookMs < LIVENESS_MS, `CONFIG GET took ${tookMs.toFixed(0)} ms`);
  assert.ok(liveness.worstMs < LIVENESS_MS, `PING stalled ${liveness.worstMs.toFixed(0)} ms behind one CONFIG GET`);
});

test('CONFIG GET globs still match as Redis does: *, ? and literal text, case-insensitively', async () => {
  const server = await spawnServer({ args: ['--snapshot-interval', '0', '--max-clients', '1234'] });
  after(() => server.stop());
  const [maxclients, appendFamily, none] = await oneShot(server.host, server.port, [
    ['CONFIG', 'GET', 'MAX?LIENTS'],
    ['CONFIG', 'GET', 'append*'],
    ['CONFIG', 'GET', '*nosuch*'],
  ]);
  assert.deepEqual(maxclients, [Buffer.from('maxclients'), Buffer.from('1234')]);
  assert.deepEqual((appendFamily as Buffer[]).filter((_, i) => i % 2 === 0).map(String).sort(), ['appendfsync', 'appendonly']);
  assert.deepEqual(none, []);
});
