import { connect } from 'node:net';
import { once } from 'node:events';
import { ReplyScanner } from '../../protocol/decoder.js';
import { Worker } from 'node:worker_threads';

// A well-behaved client running beside an abusive one: it sends PING, waits for PONG, pauses
// `intervalMs`, and again, recording each round trip. Abuse tests assert the worst round trip
// stays under a liveness bound while the abuse goes on. startPingProbeThread runs it in a worker
// thread, so that the abuser's own busy event loop does not count as server latency.

export interface PingProbeSummary {
  /** Round trips completed. */
  count: number;
  maxMs: number;
  p50Ms: number;
  /** Age of a PING still unanswered when the probe stopped, ms (0 if none): a stall shows here too. */
  pendingMs: number;
  /** The worst of maxMs and pendingMs: what a liveness assertion should look at. */
  worstMs: number;
  /** Set if the connection failed or closed while probing. */
  error: string | null;
}

export interface PingProbe {
  /** Stops probing, closes the connection, and summarizes; later calls return the same summary. */
  stop(): PingProbeSummary;
}

/** Connects to host:port and starts probing on this thread's event loop; resolves once connected. */
export async function startPingProbe(host: string, port: number, intervalMs = 20): Promise<PingProbe> {
  const socket = connect({ host, port, noDelay: true });
  await once(socket, 'connect');
  const rtts: number[] = [];
  const scanner = new ReplyScanner();
  let pending: Buffer = Buffer.alloc(0);
  let sentAtMs = -1;
  let error: string | null = null;
  let stopped = false;
  let timer: NodeJS.Timeout | null = null;
  let summary: PingProbeSummary | null = null;

  const sendPing = (): void => {
    timer = null;
    if (stopped) return;
    sentAtMs = performance.now();
    socket.write('*1\r\n$4\r\nPING\r\n');
  };
  socket.on('data', (chunk: Buffer) => {
    pending = pending.length === 0 ? chunk : Buffer.concat([pending, chunk]);
    let pos = 0;
    for (;;) {
      let next: number;
      try {
        next = scanner.scan(pending, pos, pending.length);
      } catch (err) {
        error = `malformed reply: ${(err as Error).message}`;
        socket.destroy();
        return;
      }
      if (next === -1) break;
      pos = next;
      if (sentAtMs >= 0) rtts.push(performance.now() - sentAtMs);
      sentAtMs = -1;
      if (!stopped) timer = setTimeout(sendPing, intervalMs);
    }
    pending = pending.subarray(pos);
  });
  socket.on('error', (err: NodeJS.ErrnoException) => {
    error ??= `probe connection failed: ${err.code ?? err.message}`;
  });
  socket.on('close', () => {
    if (!stopped) error ??= 'probe connection closed by the server';
  });
  sendPing();

  return {
    stop(): PingProbeSummary {
      if (summary !== null) return summary;
      stopped = true;
      if (timer !== null) clearTimeout(timer);
      const pendingMs = sentAtMs >= 0 ? performance.now() - sentAtMs : 0;
      socket.destroy();
      const sorted = [...rtts].sort((a, b) => a - b);
      const maxMs = sorted.length > 0 ? sorted[sorted.length - 1]! : 0;
      summary = {
        count: rtts.length,
        maxMs,
        p50Ms: sorted.length > 0 ? sorted[Math.floor((sorted.length - 1) / 2)]! : 0,
        pendingMs,
        worstMs: Math.max(maxMs, pendingMs),
        error,
      };
      return summary;
    },
  };
}

export interface ThreadPingProbe {
  /** Stops probing and resolves with the summary; later calls resolve the same. */
  stop(): Promise<PingProbeSummary>;
}

/** Like startPingProbe, in a worker thread of its own (ping-probe-thread.ts). Resolves once connected. */
export async function startPingProbeThread(host: string, port: number, intervalMs = 20): Promise<ThreadPingProbe> {
  const worker = new Worker(new URL('./ping-probe-thread.js', import.meta.url), { workerData: { host, port, intervalMs } });
  const [first] = (await once(worker, 'message')) as [{ type: 'ready' } | { type: 'error'; message: string }];
  if (first.type === 'error') {
    await worker.terminate();
    throw new Error(`ping probe could not connect to ${host}:${port}: ${first.message}`);
  }
  let stopping: Promise<PingProbeSummary> | null = null;
  return {
    stop() {
      stopping ??= (async () => {
        worker.postMessage({ type: 'stop' });
        const [reply] = (await once(worker, 'message')) as [{ type: 'summary'; summary: PingProbeSummary }];
        await worker.terminate();
        return reply.summary;
      })();
      return stopping;
    },
  };
}
