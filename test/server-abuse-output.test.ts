import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { connect } from 'node:net';
import { once } from 'node:events';
import { setTimeout as delay } from 'node:timers/promises';
import { spawnServer } from '../server/spawn.js';
import { encodeCommand } from '../protocol/encoder.js';
import { startPingProbeThread } from '../scripts/faults/ping-probe.js';
import { oneShot } from '../protocol/one-shot.js';
import { readRssBytes } from '../scripts/faults/rss.js';
import { assertMemoryGrowthBelow } from './helpers/memory-bound.js';

const LIVENESS_MS = 500;
const MiB = 1024 * 1024;
const VALUE_BYTES = 1 * MiB;
const GETS = 150;
const MAX_OUTPUT_BYTES = 8 * MiB;

test(`a client pipelining ${GETS} GETs of a 1 MiB value without reading: the server stops at --max-output-bytes, memory stays bounded, others are served, and nothing is lost once it reads`, async (t) => {
  const server = await spawnServer({ args: ['--snapshot-interval', '0', '--max-output-bytes', String(MAX_OUTPUT_BYTES)] });
  after(() => server.stop());
  const value = Buffer.alloc(VALUE_BYTES, 0x62);
  assert.deepEqual(await oneShot(server.host, server.port, [['SET', 'big', value]]), ['OK']);
  const probe = await startPingProbeThread(server.host, server.port);
  after(() => probe.stop());
  const rssBeforeBytes = readRssBytes(server.pid);

  const hog = connect({ port: server.port, host: '127.0.0.1' });
  after(() => hog.destroy());
  await once(hog, 'connect');
  hog.pause();
  let received = 0;
  hog.on('data', (chunk: Buffer) => {
    received += chunk.length;
  });
  hog.write(Buffer.concat(Array.from({ length: GETS }, () => encodeCommand(['GET', 'big']))));

  // The observation window: the server has had time to fill the hog's buffers many times over
  // (150 MiB of replies); meanwhile a normal client keeps fetching the same large value.
  const windowEndMs = Date.now() + 2000;
  let normalGets = 0;
  while (Date.now() < windowEndMs) {
    const [reply] = await oneShot(server.host, server.port, [['GET', 'big']]);
    assert.ok(reply instanceof Buffer && reply.length === VALUE_BYTES);
    normalGets++;
    await delay(20);
  }
  const rssDuringBytes = readRssBytes(server.pid);
  const liveness = await probe.stop();

  // Now read: every reply arrives, in full.
  const replyBytes = `$${VALUE_BYTES}\r\n`.length + VALUE_BYTES + 2;
  const expectedBytes = GETS * replyBytes;
  const allReceived = new Promise<void>((resolve) => {
    hog.on('data', () => {
      if (received >= expectedBytes) resolve();
    });
  });
  hog.resume();
  await allReceived;
  assert.equal(received, expectedBytes, 'exactly the 150 replies, nothing more');

  const growthBytes = rssBeforeBytes !== null && rssDuringBytes !== null ? rssDuringBytes - rssBeforeBytes : null;
  t.diagnostic(
    `server RSS grew ${growthBytes === null ? '?' : (growthBytes / MiB).toFixed(0)} MiB while ${(expectedBytes / MiB).toFixed(0)} MiB of replies were requested and not read; ${normalGets} normal GETs of 1 MiB meanwhile; PING worst ${liveness.worstMs.toFixed(1)} ms`,
  );
  assert.equal(liveness.error, null);
  assert.ok(liveness.worstMs < LIVENESS_MS, `PING took up to ${liveness.worstMs.toFixed(0)} ms while a client did not read its replies`);
  assert.ok(normalGets > 0);
  // Pending output should stop near --max-output-bytes (8 MiB).
  await assertMemoryGrowthBelow(t, 'a client that does not read its replies', rssBeforeBytes, rssDuringBytes, 128 * MiB);
});
