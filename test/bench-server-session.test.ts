// Servers the bench starts run in a session of their own (so that Linux's autogroup scheduling
// does not make them compete thread by thread with the bench's helper threads on their core), and
// still do not outlive the process that started them: a SIGTERM to it, which it does not handle
// itself, leaves no server behind.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { processExists } from './helpers/bench-process.js';
import { hasCommand } from './helpers/system.js';

const hasRedis = hasCommand('redis-server');
const SPAWN_JS = fileURLToPath(new URL('../server/spawn.js', import.meta.url));
const REDIS_JS = fileURLToPath(new URL('../bench/run/redis-server.js', import.meta.url));

/** The session id of `pid` (/proc/<pid>/stat, field 6). */
function sessionOf(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  return Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[3]);
}

async function waitGone(pid: number, ms: number): Promise<boolean> {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    if (!processExists(pid)) return true;
    await new Promise((r) => setTimeout(r, 50));
  }
  return !processExists(pid);
}

test('started servers lead sessions of their own and die with a parent killed by SIGTERM', { skip: process.platform === 'linux' ? false : 'Linux only (/proc)', timeout: 60_000 }, async () => {
  // A parent that starts a kvring server (and a redis-server when installed), prints their pids and waits.
  const script = `
    const { spawnServer } = await import(${JSON.stringify(SPAWN_JS)});
    const { spawnRedis } = await import(${JSON.stringify(REDIS_JS)});
    const kv = await spawnServer();
    const pids = [kv.pid];
    if (${hasRedis}) {
      const r = await spawnRedis('redis-server', []);
      if ('failure' in r) throw new Error(r.failure);
      pids.push(r.pid);
    }
    console.log(JSON.stringify(pids));
    setInterval(() => {}, 1000);
  `;
  const parent = spawn(process.execPath, ['--input-type=module', '-e', script], { stdio: ['ignore', 'pipe', 'inherit'] });
  const line = await new Promise<string>((resolve, reject) => {
    createInterface({ input: parent.stdout! }).once('line', resolve);
    parent.once('exit', (code) => reject(new Error(`parent exited (${code}) before starting its servers`)));
  });
  const pids = JSON.parse(line) as number[];
  assert.equal(pids.length, hasRedis ? 2 : 1);
  for (const pid of pids) assert.equal(sessionOf(pid), pid, `server ${pid} leads its own session`);
  assert.notEqual(sessionOf(pids[0]!), sessionOf(parent.pid!));
  const exited = new Promise<NodeJS.Signals | null>((resolve) => parent.once('exit', (_code, signal) => resolve(signal)));
  parent.kill('SIGTERM');
  assert.equal(await exited, 'SIGTERM', 'the parent still dies of the signal');
  for (const pid of pids) assert.ok(await waitGone(pid, 10_000), `server ${pid} did not outlive its parent`);
});
