import { parentPort, workerData } from 'node:worker_threads';
import { startPingProbe } from './ping-probe.js';

// Worker-thread entry of startPingProbeThread: runs a ping probe on this thread's own event loop
// and answers {type:'stop'} with the summary.

const { host, port, intervalMs } = workerData as { host: string; port: number; intervalMs: number };
const parent = parentPort!;
try {
  const probe = await startPingProbe(host, port, intervalMs);
  parent.on('message', (message: { type: string }) => {
    if (message.type === 'stop') parent.postMessage({ type: 'summary', summary: probe.stop() });
  });
  parent.postMessage({ type: 'ready' });
} catch (err) {
  parent.postMessage({ type: 'error', message: (err as Error).message });
}
