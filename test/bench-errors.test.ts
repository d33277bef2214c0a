// Failures are counted by kind and never dropped from the denominators. The servers here are
// deliberately broken RESP servers (the project's own request decoder, wrong answers on purpose).
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type AddressInfo, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { RequestDecoder } from '../protocol/decoder.js';
import type { RunResult } from '../bench/results.js';
import { validateRunResult } from '../bench/results-check.js';
import { runBenchCli } from './helpers/bench-process.js';

type Answer = (args: string[], socket: Socket) => string | null;

/** A RESP server answering every command with `answer` (null: no reply). */
async function brokenServer(answer: Answer): Promise<string> {
  const sockets = new Set<Socket>();
  const server = createServer((socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    socket.on('error', () => socket.destroy());
    const decoder = new RequestDecoder();
    const args: string[] = [];
    socket.on('data', (chunk: Buffer) => {
      decoder.append(chunk);
      let reply = '';
      for (let n = decoder.next(args); n > 0; n = decoder.next(args)) {
        const r = answer(args.slice(0, n), socket);
        if (r !== null) reply += r;
      }
      decoder.compact();
      if (reply !== '' && !socket.destroyed) socket.write(reply);
    });
  });
  after(async () => {
    for (const s of sockets) s.destroy();
    server.close();
    await once(server, 'close');
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return `127.0.0.1:${(server.address() as AddressInfo).port}`;
}

function out(): string {
  const dir = mkdtempSync(join(tmpdir(), 'kvring-bench-errors-'));
  after(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

const openLoop = ['--rate', '400', '--load_levels', '100', '--step_duration', '0.5', '--num_threads', '1', '--connections', '2', '--key_space', '50', '--no-charts', '--json', '--quiet'];

function onlyStep(stdout: string): RunResult['steps'][number] {
  const result = JSON.parse(stdout) as RunResult;
  assert.deepEqual(validateRunResult(result), []);
  assert.equal(result.steps.length, 1);
  return result.steps[0]!;
}

test('error replies are counted as errorReply, kept in the denominators, and fail the run (exit 3)', async () => {
  const address = await brokenServer(() => '-ERR not today\r\n');
  const r = await runBenchCli(['--servers', address, '--workloads', 'put', '--out', out(), ...openLoop]);
  assert.equal(r.code, 3, r.stderr);
  assert.match(r.stderr, /KV_ERR_BENCH_ERROR_RATE: 200 of 200 requests failed/);
  const step = onlyStep(r.stdout);
  assert.equal(step.requests, 200);
  assert.equal(step.errors.errorReply, 200);
  assert.equal(step.errorRate, 1);
  assert.equal(step.total.latency.count, 200, 'an error reply is still a reply with a latency');
});

test('--verify counts a GET that returns another value as wrongValue', async () => {
  const address = await brokenServer((args) => (args[0]!.toUpperCase() === 'GET' ? '$5\r\nwrong\r\n' : '+OK\r\n'));
  const r = await runBenchCli(['--servers', address, '--workloads', 'get', '--verify', '--out', out(), ...openLoop]);
  assert.equal(r.code, 3, r.stderr);
  const step = onlyStep(r.stdout);
  assert.equal(step.errors.wrongValue, 200);
  assert.equal(step.operations.get!.errors.wrongValue, 200);
});

test('requests without a reply time out, each counted once, and the step still ends', async () => {
  // Answers the PING that checks --servers before the run, then nothing.
  const address = await brokenServer((args) => (args[0]!.toUpperCase() === 'PING' ? '+PONG\r\n' : null));
  const r = await runBenchCli(['--servers', address, '--workloads', 'put', '--timeout_ms', '200', '--out', out(), ...openLoop]);
  assert.equal(r.code, 3, r.stderr);
  const step = onlyStep(r.stdout);
  assert.equal(step.requests, 200);
  assert.equal(step.errors.timeout, 200);
  assert.equal(step.total.latency.count, 0);
});

test('a server that drops connections produces connection errors, not a hang', async () => {
  let served = 0;
  const address = await brokenServer((_args, socket) => {
    served++;
    if (served % 10 === 0) {
      socket.destroy();
      return null;
    }
    return '+OK\r\n';
  });
  const r = await runBenchCli(['--servers', address, '--workloads', 'put', '--max_error_rate', '100', '--out', out(), ...openLoop]);
  assert.equal(r.code, 0, r.stderr);
  const step = onlyStep(r.stdout);
  assert.equal(step.requests, 200);
  assert.ok(step.errors.connection > 0, 'lost requests are connection errors');
  assert.equal(step.total.latency.count + step.errors.connection + step.errors.timeout, step.requests);
});
