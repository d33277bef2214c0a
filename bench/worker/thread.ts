// Bench worker thread entry: hosts one or more load-generating clients (worker/client-agent.ts),
// runs the steps and preloads the main thread asks of each, and reports their figures (histograms
// encoded, once per interval and per step). The clients of one thread share its event loop and
// its ticker.

import { parentPort, workerData } from 'node:worker_threads';
import type { MainToWorker, WorkerSettings, WorkerToMain } from '../messages.js';
import { ClientAgent } from './client-agent.js';
import { Ticker } from './ticker.js';
import { pinCallingThread } from './thread-affinity.js';
import { minimizeTimerSlack } from './timer-slack.js';

if (parentPort === null) throw new Error('bench/worker/thread.js runs as a worker thread, started by bench/run/worker-pool.js');
const port = parentPort;
/** The clients this thread hosts (one per --num_threads client assigned to it). */
const { clients, cpuList } = workerData as { clients: WorkerSettings[]; cpuList: string | null };

const post = (message: WorkerToMain): void => port.postMessage(message);
// The worker's own timeouts (epoll_wait) wake on time too.
minimizeTimerSlack();
// Before the ticker thread exists, so that it inherits the generator's cores.
const pinProblem = cpuList === null ? null : pinCallingThread(cpuList);
const agents = new Map<number, ClientAgent>();
/** The same agents in an array: a tick walks it without allocating an iterator. */
const agentList: ClientAgent[] = [];
// Pinned to the generator's cores, which no server uses: fast schedules may spin (ticker.ts).
const ticker = new Ticker(() => {
  for (let i = 0; i < agentList.length; i++) agentList[i]!.onDue();
}, cpuList !== null && pinProblem === null);
for (const settings of clients) {
  const agent = new ClientAgent(settings, ticker, clients.length, post);
  agents.set(settings.workerIndex, agent);
  agentList.push(agent);
}

function agentOf(workerIndex: number): ClientAgent {
  const agent = agents.get(workerIndex);
  if (agent === undefined) throw new Error(`client ${workerIndex} is not hosted by this thread`);
  return agent;
}

function fail(workerIndex: number, err: unknown): void {
  const message = err instanceof Error ? `${err.name}: ${err.message}` : String(err);
  post({ type: 'failed', workerIndex, message });
}

function shutdown(): void {
  for (const agent of agents.values()) agent.close();
  ticker.close();
  port.close();
}

port.on('message', (message: MainToWorker) => {
  switch (message.type) {
    case 'step': {
      const w = message.spec.workerIndex;
      agentOf(w)
        .runStep(message.spec)
        .then((report) => post({ type: 'stepDone', report }))
        .catch((err: unknown) => fail(w, err));
      break;
    }
    case 'preload': {
      const w = message.workerIndex;
      agentOf(w)
        .runPreload(message.spec.servers)
        .then((outcome) => post({ type: 'preloaded', requestId: message.spec.requestId, workerIndex: w, keys: outcome.keys, errors: outcome.errors }))
        .catch((err: unknown) => fail(w, err));
      break;
    }
    case 'abort':
      for (const agent of agents.values()) agent.abort();
      break;
    case 'shutdown':
      shutdown();
      break;
  }
});

post({ type: 'ready', workerIndexes: [...agents.keys()], pinProblem });
