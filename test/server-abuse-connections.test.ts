import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { connect, type Socket } from 'node:net';
import { spawnServer } from '../server/spawn.js';
import { startPingProbeThread } from '../scripts/faults/ping-probe.js';
import { readRssBytes } from '../scripts/faults/rss.js';
import { assertMemoryGrowthBelow } from './helpers/memory-bound.js';

// Liveness bound for a PING round trip while the abuse goes on: generous on a shared 2-core
// machine; it tells "still serving" from "stalled", it is not a performance target.
const LIVENESS_MS = 500;
const MiB = 1024 * 1024;
const mib = (bytes: number | null): string => (bytes === null ? '?' : (bytes / MiB).toFixed(0));

/** What one connection of the flood saw: the server's first line, and when it closed. */
interface FloodConnection {
  socket: Socket;
  received: string;
  /** Resolves with the first complete line from the server, or '' if it closed without one. */
  firstLine: Promise<string>;
  closed: Promise<void>;
}

function openFloodConnection(port: number): { conn: FloodConnection; connected: Promise<void> } {
  const socket = connect({ port, host: '127.0.0.1' });
  // Not events.once: it rejects on 'error', and resets are expected here.
  const closed = new Promise<void>((resolve) => socket.once('close', () => resolve()));
  let gotLine: (line: string) => void = () => undefined;
  const firstLine = new Promise<string>((resolve) => {
    gotLine = resolve;
  });
  const conn: FloodConnection = { socket, received: '', firstLine, closed };
  void closed.then(() => gotLine(''));
  socket.setEncoding('latin1');
  socket.on('data', (text: string) => {
    conn.received += text;
    const end = conn.received.indexOf('\r\n');
    if (end !== -1) gotLine(conn.received.slice(0, end + 2));
  });
  // Resets are possible when the server closes a rejected connection; 'close' records the end.
  socket.on('error', () => socket.destroy());
  return { conn, connected: Promise.race([new Promise<void>((resolve) => socket.once('connect', () => resolve())), conn.closed]) };
}

test('5,000 connections against --max-clients 4000: the extra ones get an error and are closed, none hangs, PING stays fast', async (t) => {
  const server = await spawnServer({ args: ['--snapshot-interval', '0', '--max-clients', '4000'] });
  after(() => server.stop());
  // The probe is one of the 4,000 clients, connected before the flood.
  const probe = await startPingProbeThread(server.host, server.port);
  after(() => probe.stop());
  const rssBeforeBytes = readRssBytes(server.pid);

  const flood: FloodConnection[] = [];
  after(() => flood.forEach((c) => c.socket.destroy()));
  for (let batch = 0; batch < 10; batch++) {
    const opened = Array.from({ length: 500 }, () => openFloodConnection(server.port));
    flood.push(...opened.map((o) => o.conn));
    await Promise.all(opened.map((o) => o.connected));
  }

  // Every connection now gets an answer: PONG if it was accepted, else the error it was sent at once.
  for (const c of flood) if (!c.socket.destroyed && !c.socket.writableEnded) c.socket.write('PING\r\n');
  let timer: NodeJS.Timeout | undefined;
  const timedOut = new Promise<'timeout'>((resolve) => {
    timer = setTimeout(() => resolve('timeout'), 20_000);
  });
  const lines = await Promise.race([Promise.all(flood.map((c) => c.firstLine)), timedOut]);
  clearTimeout(timer);
  assert.notEqual(lines, 'timeout', `${flood.filter((c) => !c.received.includes('\r\n')).length} connections got neither PONG nor an error within 20 s`);

  const rejected = flood.filter((c) => c.received.startsWith('-ERR max number of clients reached\r\n'));
  const served = flood.filter((c) => c.received.startsWith('+PONG\r\n'));
  assert.equal(served.length + rejected.length, flood.length, 'every connection got PONG or the max-clients error');
  assert.equal(served.length, 3999, 'the probe plus 3,999 flood connections fill --max-clients 4000');
  assert.equal(rejected.length, 1001);
  await Promise.all(rejected.map((c) => c.closed));

  const liveness = await probe.stop();
  assert.equal(liveness.error, null);
  assert.ok(liveness.count > 0, 'the probe completed round trips during the flood');
  assert.ok(liveness.worstMs < LIVENESS_MS, `PING took up to ${liveness.worstMs.toFixed(0)} ms during the flood`);
  const rssAfterBytes = readRssBytes(server.pid);
  t.diagnostic(`PING worst ${liveness.worstMs.toFixed(1)} ms, median ${liveness.p50Ms.toFixed(1)} ms over ${liveness.count} round trips; server RSS ${mib(rssBeforeBytes)} -> ${mib(rssAfterBytes)} MiB`);
  await assertMemoryGrowthBelow(t, '4,000 connections', rssBeforeBytes, rssAfterBytes, 256 * MiB);
});
