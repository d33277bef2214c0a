import { test, after, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { spawnServer, type RunningServer } from '../server/spawn.js';
import { ReplyError } from '../protocol/errors.js';
import { startPingProbeThread } from '../scripts/faults/ping-probe.js';
import { oneShot } from '../protocol/one-shot.js';
import { readRssBytes } from '../scripts/faults/rss.js';
import { RawClient } from './helpers/raw-client.js';
import { assertMemoryGrowthBelow } from './helpers/memory-bound.js';

// Frames that claim or carry absurd sizes. The server must answer with an error (or the right
// reply), keep its memory bounded, and go on serving everyone else.

const LIVENESS_MS = 500;
const MiB = 1024 * 1024;

/** One server for the small cases; each case that measures memory under load starts its own. */
const shared: Promise<RunningServer> = spawnServer({ args: ['--snapshot-interval', '0'] });
after(async () => (await shared).stop());

async function expectProtocolError(t: TestContext, frame: string, message: string): Promise<void> {
  const server = await shared;
  const rssBeforeBytes = readRssBytes(server.pid);
  const c = await RawClient.connect(server.port);
  after(() => c.close());
  c.send(frame);
  const [reply] = await c.read(1);
  assert.ok(reply instanceof ReplyError, `expected an error reply, got ${String(reply)}`);
  assert.equal(reply.message, message);
  await c.closedPromise;
  assert.deepEqual(await oneShot(server.host, server.port, [['PING']]), ['PONG']);
  const rssAfterBytes = readRssBytes(server.pid);
  await assertMemoryGrowthBelow(t, 'a refused length allocates nothing', rssBeforeBytes, rssAfterBytes, 32 * MiB);
}

test('a bulk length claiming 4 GiB gets "-ERR Protocol error: invalid bulk length" and the connection is closed', (t) => expectProtocolError(t, '*1\r\n$4294967296\r\n', 'ERR Protocol error: invalid bulk length'));

test('an array claiming 3,000,000,000 arguments gets "-ERR Protocol error: invalid multibulk length" and is closed', (t) => expectProtocolError(t, '*3000000000\r\n', 'ERR Protocol error: invalid multibulk length'));

test('one argument more than --max-args (1,048,577) is refused before any of them is read', (t) => expectProtocolError(t, '*1048577\r\n', 'ERR Protocol error: invalid multibulk length'));

test('a bulk length just over --max-bulk-bytes is refused', (t) => expectProtocolError(t, `*2\r\n$3\r\nGET\r\n$${64 * MiB + 1}\r\n`, 'ERR Protocol error: invalid bulk length'));

/** `EXISTS k0 k1 ... k(n-2)`: one array of n arguments, ~14 bytes each. */
function existsFrame(argumentCount: number): Buffer {
  const parts: string[] = [`*${argumentCount}\r\n$6\r\nEXISTS\r\n`];
  for (let i = 0; i < argumentCount - 1; i++) {
    const key = `k${i}`;
    parts.push(`$${key.length}\r\n${key}\r\n`);
  }
  return Buffer.from(parts.join(''), 'latin1');
}

test('a million-argument command, sent 4 times, is answered each time; memory stays bounded and other clients keep being served', async (t) => {
  const server = await spawnServer({ args: ['--snapshot-interval', '0'] });
  after(() => server.stop());
  const arguments_ = 1_000_000;
  const frame = existsFrame(arguments_);
  assert.deepEqual(await oneShot(server.host, server.port, [['SET', 'k1', 'a'], ['SET', `k${arguments_ - 2}`, 'b']]), ['OK', 'OK']);
  const probe = await startPingProbeThread(server.host, server.port);
  after(() => probe.stop());
  const rssBeforeBytes = readRssBytes(server.pid);

  const c = await RawClient.connect(server.port);
  after(() => c.close());
  const rssAfterBytes: Array<number | null> = [];
  for (let round = 0; round < 4; round++) {
    c.send(frame);
    const [reply] = await c.read(1, 60_000);
    assert.equal(reply, 2, 'EXISTS counts the two keys that exist among a million');
    rssAfterBytes.push(readRssBytes(server.pid));
  }
  const liveness = await probe.stop();
  t.diagnostic(
    `frame ${(frame.length / MiB).toFixed(1)} MiB; server RSS ${((rssBeforeBytes ?? 0) / MiB).toFixed(0)} MiB before, ${rssAfterBytes.map((b) => ((b ?? 0) / MiB).toFixed(0)).join(' / ')} MiB after each of 4 rounds; PING worst ${liveness.worstMs.toFixed(1)} ms`,
  );
  assert.equal(liveness.error, null);
  assert.ok(liveness.worstMs < LIVENESS_MS, `PING took up to ${liveness.worstMs.toFixed(0)} ms while a million-argument command was parsed and run`);
  // The garbage of each round (a million strings) is collected in a sawtooth; the bound is on its peak.
  await assertMemoryGrowthBelow(t, 'million-argument commands', rssBeforeBytes, rssAfterBytes, 512 * MiB);
});
