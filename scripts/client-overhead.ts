// `node dist/scripts/client-overhead.js`: what kvring's client library costs per request, next to
// ioredis (the reference Node client) against the same kvring server, same machine, same load.
//
// Three shapes: one request at a time (latency-bound: the round trip dominates), 64 in flight
// (how well same-tick commands are batched into one write), and 3 servers through KvCluster's
// ring vs 3 direct connections (the cost of routing). Rounds alternate between clients so that
// background load hits both alike; the best round of each is reported. Not a server benchmark:
// that is `npm run bench`.

import { Redis } from 'ioredis';
import yargs from 'yargs';
import { spawnServer, type RunningServer } from '../server/spawn.js';
import { Connection } from '../client/connection.js';
import { KvCluster } from '../client/cluster.js';

interface Case {
  name: string;
  /** Runs `requests` GETs; resolves when all have answered. */
  run: (requests: number) => Promise<void>;
}

async function inFlight(requests: number, depth: number, one: (i: number) => Promise<unknown>): Promise<void> {
  await Promise.all(
    Array.from({ length: depth }, async (_, lane) => {
      for (let i = lane; i < requests; i += depth) await one(i);
    }),
  );
}

async function main(): Promise<void> {
  const args = yargs(process.argv.slice(2))
    .option('requests', { type: 'number', default: 50_000, describe: 'GETs per round and case' })
    .option('rounds', { type: 'number', default: 3, describe: 'rounds per case (best is reported)' })
    .strict()
    .parseSync();
  const servers: RunningServer[] = [];
  const shutdown = async (): Promise<void> => {
    await Promise.all(servers.map((s) => s.stop()));
  };
  try {
    for (let i = 0; i < 3; i++) servers.push(await spawnServer({ args: ['--snapshot-interval', '0', '--log-level', 'warn'] }));
    const [first] = servers;
    const keys = Array.from({ length: 1000 }, (_, i) => `key:${i}`);

    const connection = new Connection(first!.host, first!.port);
    const ioredis = new Redis({ host: first!.host, port: first!.port, lazyConnect: true });
    const ioredisAuto = new Redis({ host: first!.host, port: first!.port, lazyConnect: true, enableAutoPipelining: true });
    const cluster = new KvCluster(servers.map((s) => s.address));
    const direct = servers.map((s) => new Connection(s.host, s.port));
    await Promise.all([connection.connect(), ioredis.connect(), ioredisAuto.connect(), cluster.connect(), ...direct.map((c) => c.connect())]);
    await Promise.all(keys.map((k) => cluster.put(k, 'v'.repeat(32))));
    await Promise.all(keys.map((k) => connection.send(['SET', k, 'v'.repeat(32)])));
    // The direct case sends each key to the server that holds it, so both answer the same bytes.
    const owners = keys.map((k) => direct[servers.findIndex((s) => s.address === cluster.ownerOf(k))]!);

    const cases: Case[] = [
      { name: 'sequential  kvring Connection.send', run: (n) => inFlight(n, 1, (i) => connection.send(['GET', keys[i % 1000]!])) },
      { name: 'sequential  ioredis get', run: (n) => inFlight(n, 1, (i) => ioredis.get(keys[i % 1000]!)) },
      { name: '64 in flight kvring Connection.send', run: (n) => inFlight(n, 64, (i) => connection.send(['GET', keys[i % 1000]!])) },
      { name: '64 in flight ioredis (auto-pipelining)', run: (n) => inFlight(n, 64, (i) => ioredisAuto.get(keys[i % 1000]!)) },
      { name: '64 in flight ioredis (plain)', run: (n) => inFlight(n, 64, (i) => ioredis.get(keys[i % 1000]!)) },
      { name: '64 in flight KvCluster.get, 3 servers', run: (n) => inFlight(n, 64, (i) => cluster.get(keys[i % 1000]!)) },
      { name: '64 in flight 3 Connections, key owner', run: (n) => inFlight(n, 64, (i) => owners[i % 1000]!.send(['GET', keys[i % 1000]!])) },
    ];
    const best = new Map<string, number>();
    for (let round = 0; round < args.rounds; round++) {
      for (const c of cases) {
        const startNs = process.hrtime.bigint();
        await c.run(args.requests);
        const opsPerSec = args.requests / (Number(process.hrtime.bigint() - startNs) / 1e9);
        best.set(c.name, Math.max(best.get(c.name) ?? 0, opsPerSec));
      }
    }
    const cpuSec = process.cpuUsage();
    process.stdout.write(`GET of 32-byte values, ${args.requests} per round, best of ${args.rounds} rounds, one Node process:\n`);
    for (const c of cases) {
      const ops = best.get(c.name)!;
      process.stdout.write(`  ${c.name.padEnd(42)} ${Math.round(ops).toString().padStart(8)} ops/s  ${(1e6 / ops).toFixed(1).padStart(7)} µs/op\n`);
    }
    process.stdout.write(`  (client process CPU: ${((cpuSec.user + cpuSec.system) / 1e6).toFixed(1)} s)\n`);
    connection.destroy();
    ioredis.disconnect();
    ioredisAuto.disconnect();
    cluster.destroy();
    for (const c of direct) c.destroy();
  } finally {
    await shutdown();
  }
}

await main();
