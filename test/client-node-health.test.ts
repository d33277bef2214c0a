import { test, mock } from 'node:test';
import assert from 'node:assert/strict';
import { NodeHealth, type Probe } from '../client/node-health.js';

// The one down/up policy of the client library and the bench workers. The probe is the caller's
// I/O (a PING), so here it is a function that answers as each case needs; the timers are node's
// mock timers, so the back-off is checked to the millisecond.

const OPTIONS = { probeIntervalMs: 200, probeMaxIntervalMs: 1000, probeTimeoutMs: 300, random: () => 0 };

async function flush(): Promise<void> {
  for (let i = 0; i < 5; i++) await Promise.resolve();
}

test('a down server is probed with exponential back-off until any answer brings it up', async (t) => {
  mock.timers.enable({ apis: ['setTimeout'] });
  t.after(() => mock.timers.reset());
  const probes: number[] = [];
  let answer = false;
  let clock = 0;
  const probe: Probe = (_server, timeoutMs) => {
    probes.push(clock);
    assert.equal(timeoutMs, 300, 'the probe gets the policy timeout');
    return answer ? Promise.resolve('-ERR even an error reply') : Promise.reject(new Error('refused'));
  };
  const ups: string[] = [];
  const failures: string[] = [];
  const health = new NodeHealth(OPTIONS, probe, { onUp: (s) => ups.push(s), onProbeFailed: (s) => failures.push(s) });
  assert.equal(health.markDown('a:1'), true);
  assert.equal(health.markDown('a:1'), false, 'marking a down server down again changes nothing');
  assert.equal(health.isDown('a:1'), true);
  // random() = 0 → each delay is half its step: 100, 200, 400, 500 (cap 1000 / 2), 500, ...
  for (const step of [100, 200, 400, 500, 500]) {
    clock += step;
    mock.timers.tick(step);
    await flush();
  }
  assert.deepEqual(probes, [100, 300, 700, 1200, 1700]);
  assert.equal(failures.length, 5);
  assert.deepEqual(ups, []);
  answer = true;
  clock += 500;
  mock.timers.tick(500);
  await flush();
  assert.deepEqual(ups, ['a:1'], 'an error reply is an answer: the server is back');
  assert.equal(health.isDown('a:1'), false);
  assert.equal(health.markDown('a:1'), true, 'a server that came back can go down again, back-off reset');
  mock.timers.tick(100);
  await flush();
  assert.equal(probes.length, 7);
  health.close();
});

test('close stops probing and reports nothing more', async (t) => {
  mock.timers.enable({ apis: ['setTimeout'] });
  t.after(() => mock.timers.reset());
  let probes = 0;
  const ups: string[] = [];
  const health = new NodeHealth(OPTIONS, () => {
    probes++;
    return Promise.resolve('PONG');
  }, { onUp: (s) => ups.push(s) });
  health.markDown('b:2');
  health.close();
  mock.timers.tick(10_000);
  await flush();
  assert.equal(probes, 0);
  assert.deepEqual(ups, []);
  assert.equal(health.markDown('b:2'), false, 'a closed policy marks nothing down');
});

test('the jitter keeps every delay within the upper half of its step', async (t) => {
  mock.timers.enable({ apis: ['setTimeout'] });
  t.after(() => mock.timers.reset());
  const at: number[] = [];
  let now = 0;
  const health = new NodeHealth({ ...OPTIONS, random: () => 0.999 }, () => {
    at.push(now);
    return Promise.reject(new Error('timeout'));
  }, { onUp: () => undefined });
  health.markDown('c:3');
  for (let ms = 0; ms < 3000; ms++) {
    now++;
    mock.timers.tick(1);
    await flush();
  }
  const gaps = at.map((t0, i) => t0 - (i === 0 ? 0 : at[i - 1]!));
  assert.deepEqual(gaps, [200, 400, 800, 1000].map((g) => Math.ceil(g * 0.9995)), 'random → 1 gives the whole step');
  health.close();
});
