import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { connect, type Socket } from 'node:net';
import { execFileSync } from 'node:child_process';
import { spawnServer, type RunningServer } from '../server/spawn.js';
import { checkHealth } from '../scripts/faults/health-check.js';
import { oneShot } from '../protocol/one-shot.js';
import { hasCommand } from './helpers/system.js';

// A client may announce a large bulk (`$67108864`, within --max-bulk-bytes) and then send it
// slowly. If the server reserves the whole announced size as soon as a little data is buffered,
// 20 KB from each of a few dozen clients reserve gigabytes. On a host that limits the address
// space or commits memory strictly (ulimit -v, vm.overcommit_memory=2), the allocation fails,
// and a RangeError thrown out of a socket's data handler ends the whole server. prlimit gives
// the running server such a limit here: 2 GiB above what it uses at start.

const CLAIM_BYTES = 64 * 1024 * 1024;
const CLIENTS = 60;
const GiB = 1024 * 1024 * 1024;

function vmSizeBytes(pid: number): number {
  const match = /^VmSize:\s+(\d+)\s+kB$/m.exec(readFileSync(`/proc/${pid}/status`, 'latin1'));
  assert.ok(match !== null, 'VmSize in /proc/<pid>/status');
  return Number(match[1]) * 1024;
}

/**
 * Opens a connection that sends PING, then a SET whose value claims CLAIM_BYTES, with 100 bytes of
 * it; once PONG shows the server has buffered that much, sends 20,000 more bytes of the value.
 * Resolves once those bytes are handed to the kernel, or with 'died' if the server exits first.
 */
function claimBigBulk(server: RunningServer, sockets: Socket[]): Promise<'sent' | 'died'> {
  return new Promise((resolve) => {
    const socket = connect({ port: server.port, host: '127.0.0.1' });
    sockets.push(socket);
    let received = '';
    // Resets are expected if the server dies; 'died' is reported through server.exited.
    socket.on('error', () => socket.destroy());
    void server.exited.then(() => resolve('died'));
    socket.on('connect', () => socket.write(`PING\r\n*3\r\n$3\r\nSET\r\n$5\r\nclaim\r\n$${CLAIM_BYTES}\r\n${'x'.repeat(100)}`));
    socket.on('data', (chunk: Buffer) => {
      received += chunk.toString('latin1');
      if (received === '+PONG\r\n') socket.write(Buffer.alloc(20_000, 0x78), () => resolve('sent'));
    });
  });
}

test(
  `announced bulk sizes are not reserved up front (fixed in 5c99287): ${CLIENTS} clients each announcing a 64 MiB value and sending 20 KB of it do not crash a server with 2 GiB of address space to spare`,
  { skip: process.platform !== 'linux' ? 'needs /proc and prlimit (Linux)' : hasCommand('prlimit') ? false : 'prlimit not installed (util-linux)' },
  async (t) => {
    const server = await spawnServer({ args: ['--snapshot-interval', '0'] });
    after(() => server.stop({ timeoutMs: 2000 }));
    const limitBytes = vmSizeBytes(server.pid) + 2 * GiB;
    execFileSync('prlimit', [`--pid=${server.pid}`, `--as=${limitBytes}:${limitBytes}`]);
    assert.deepEqual(await oneShot(server.host, server.port, [['SET', 'canary', 'alive']]), ['OK']);

    const sockets: Socket[] = [];
    after(() => sockets.forEach((s) => s.destroy()));
    let sent = 0;
    for (let i = 0; i < CLIENTS; i++) {
      if ((await claimBigBulk(server, sockets)) === 'died') break;
      sent++;
    }
    const health = await Promise.race([
      checkHealth(server.host, server.port, { key: 'canary', value: 'alive' }, 5000),
      server.exited.then((s) => ({ ok: false, rttMs: 0, problem: `the server exited (code ${s.code}, signal ${s.signal})` })),
    ]);
    const status = await Promise.race([server.exited, Promise.resolve(null)]);
    t.diagnostic(`${sent} of ${CLIENTS} clients got to send 20 KB of a 64 MiB value (${((sent * 20_100) / 1024 / 1024).toFixed(1)} MiB in all); server VmSize ${status === null ? `${(vmSizeBytes(server.pid) / GiB).toFixed(1)} GiB` : 'gone'}`);
    const tail = server.stderrText().split('\n').filter((l) => /uncaught|allocation/i.test(l)).slice(-1)[0] ?? '';
    assert.ok(health.ok, `${health.problem ?? ''} ${tail.slice(0, 600)}`);
    // Every claim was a valid, incomplete command: the server still holds all the connections.
    assert.equal(sent, CLIENTS);
  },
);
