import { test } from 'node:test';
import assert from 'node:assert/strict';
import { renderCostMarkdown, summarizeCost, type CostMeasurement, type LogSetting, type ServerKind } from '../scripts/persistence-cost/summary.js';

// The log's cost comparison (scripts/persistence-cost.ts): ratios are taken within a round, then
// their median; the ratio of ratios compares kvring's log cost with Redis's.

function m(round: number, server: ServerKind, log: LogSetting, opsPerSec: number, serverCpuUsPerRequest: number, pipeline = 1): CostMeasurement {
  return { round, pipeline, server, log, requests: opsPerSec * 8, opsPerSec, serverCpuUsPerRequest };
}

test('ratios are per round, then the median; the ratio of ratios divides kvring\'s by Redis\'s', () => {
  const ms = [
    // Round 0: the machine is fast; round 1: everything is 2x slower (a neighbour), the ratios hold.
    m(0, 'kvring', 'off', 100_000, 8), m(0, 'kvring', 'everysec', 80_000, 10), m(0, 'redis', 'off', 150_000, 5), m(0, 'redis', 'everysec', 150_000, 5.5),
    m(1, 'kvring', 'off', 50_000, 16), m(1, 'kvring', 'everysec', 40_000, 20), m(1, 'redis', 'off', 75_000, 10), m(1, 'redis', 'everysec', 75_000, 11),
  ];
  const [p1] = summarizeCost(ms);
  assert.ok(p1 !== undefined);
  const kvEverysec = p1.settings.find((s) => s.server === 'kvring' && s.log === 'everysec')!;
  assert.equal(kvEverysec.rounds, 2);
  assert.equal(kvEverysec.opsPerSec, 60_000, 'median of 80k and 40k');
  assert.equal(kvEverysec.slowdown, 1.25, 'each round: off / everysec = 1.25');
  assert.equal(kvEverysec.cpuRatio, 1.25);
  const [ror] = p1.ratioOfRatios;
  assert.equal(ror!.log, 'everysec');
  assert.ok(Math.abs(ror!.cpu - 1.25 / 1.1) < 1e-9);
  assert.ok(Math.abs(ror!.slowdown - 1.25) < 1e-9);
  const text = renderCostMarkdown([p1]);
  assert.match(text, /\| 1 \| everysec \| 1\.250 \| 1\.136 \| MISSED \|/);
  assert.match(text, /\| 1 \| kvring \| off \| 2 \| 75000 \| 12\.00 \| 1 \| 1 \|/);
});

test('a round missing one side is left out of the ratios, and the verdict says met at or under 1.1', () => {
  const ms = [
    m(0, 'kvring', 'off', 100, 10), m(0, 'kvring', 'everysec', 95, 10.5), m(0, 'redis', 'off', 100, 5), m(0, 'redis', 'everysec', 100, 5),
    m(1, 'kvring', 'everysec', 10, 99), m(1, 'redis', 'off', 100, 5), m(1, 'redis', 'everysec', 100, 5),
  ];
  const [p1] = summarizeCost(ms);
  const [ror] = p1!.ratioOfRatios;
  assert.ok(Math.abs(ror!.cpu - 1.05) < 1e-9, 'round 1 has no kvring log-off figure');
  assert.match(renderCostMarkdown([p1!]), /\| everysec \| 1\.053 \| 1\.050 \| met \|/);
});
