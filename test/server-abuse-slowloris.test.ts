import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { connect, type Socket } from 'node:net';
import { setTimeout as delay } from 'node:timers/promises';
import { spawnServer } from '../server/spawn.js';
import { encodeCommand } from '../protocol/encoder.js';
import { startPingProbeThread } from '../scripts/faults/ping-probe.js';
import { oneShot } from '../protocol/one-shot.js';
import { readRssBytes } from '../scripts/faults/rss.js';

const LIVENESS_MS = 500;
const SLOW_CLIENTS = 200;
/** Seconds of trickling: one byte per client per second. */
const TRICKLE_SECONDS = 5;

interface SlowClient {
  socket: Socket;
  bytes: Buffer;
  received: string;
  reply: Promise<string>;
}

function openSlowClient(port: number, index: number): Promise<SlowClient> {
  return new Promise((resolve, reject) => {
    const socket = connect({ port, host: '127.0.0.1' });
    let gotReply: (text: string) => void = () => undefined;
    const client: SlowClient = {
      socket,
      bytes: encodeCommand(['SET', `slow:${index}`, `value-${index}`]),
      received: '',
      reply: new Promise((r) => {
        gotReply = r;
      }),
    };
    socket.setEncoding('latin1');
    socket.on('data', (text: string) => {
      client.received += text;
      if (client.received.includes('\r\n')) gotReply(client.received);
    });
    socket.on('close', () => gotReply(client.received));
    socket.once('error', reject);
    socket.once('connect', () => resolve(client));
  });
}

test(`${SLOW_CLIENTS} slowloris clients sending one byte per second: other clients are served normally, and every slow command completes`, async (t) => {
  const server = await spawnServer({ args: ['--snapshot-interval', '0'] });
  after(() => server.stop());
  const slow = await Promise.all(Array.from({ length: SLOW_CLIENTS }, (_, i) => openSlowClient(server.port, i)));
  after(() => slow.forEach((c) => c.socket.destroy()));
  const probe = await startPingProbeThread(server.host, server.port);
  after(() => probe.stop());
  const rssBeforeBytes = readRssBytes(server.pid);

  // A normal client keeps writing and reading while the slow ones trickle.
  let normalRounds = 0;
  let trickling = true;
  const normal = (async () => {
    while (trickling) {
      const commands = Array.from({ length: 50 }, (_, i) => ['SET', `normal:${i}`, `n${normalRounds}`]);
      const replies = await oneShot(server.host, server.port, [...commands, ['GET', 'normal:49']]);
      assert.equal(replies.length, 51);
      assert.deepEqual(replies[50], Buffer.from(`n${normalRounds}`));
      normalRounds++;
    }
  })();

  for (let second = 0; second < TRICKLE_SECONDS; second++) {
    for (const c of slow) c.socket.write(c.bytes.subarray(second, second + 1));
    // The abuse's own pace: one byte per client per second.
    await delay(1000);
  }
  trickling = false;
  await normal;
  const liveness = await probe.stop();

  for (const c of slow) assert.equal(c.received, '', 'no reply before the command is complete');
  for (const c of slow) c.socket.write(c.bytes.subarray(TRICKLE_SECONDS));
  const replies = await Promise.all(slow.map((c) => c.reply));
  assert.deepEqual(new Set(replies), new Set(['+OK\r\n']), 'every slow SET completes once its last bytes arrive');
  const [value] = await oneShot(server.host, server.port, [['GET', `slow:${SLOW_CLIENTS - 1}`]]);
  assert.deepEqual(value, Buffer.from(`value-${SLOW_CLIENTS - 1}`));

  const rssAfterBytes = readRssBytes(server.pid);
  t.diagnostic(`PING worst ${liveness.worstMs.toFixed(1)} ms, median ${liveness.p50Ms.toFixed(1)} ms; ${normalRounds} rounds of 51 pipelined commands by a normal client; server RSS ${((rssBeforeBytes ?? 0) / 1048576).toFixed(0)} -> ${((rssAfterBytes ?? 0) / 1048576).toFixed(0)} MiB`);
  assert.equal(liveness.error, null);
  assert.ok(normalRounds > 0);
  assert.ok(liveness.worstMs < LIVENESS_MS, `PING took up to ${liveness.worstMs.toFixed(0)} ms while slowloris clients trickled`);
});
