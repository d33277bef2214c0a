// The one policy for "is this server down, and when is it back": used by the client library
// (client/cluster.ts) and by the bench's workers (bench/worker/failover.ts), so the failover the
// bench measures is the one the shipped client has.
//
// - Down: the caller marks a server down the moment it sees it unreachable — a refused or reset
//   connection, a lost connection, a request that timed out. Error replies (-ERR ...) are answers,
//   not outages.
// - Back: a background probe PINGs the down server; ANY reply, an error reply included, proves the
//   process is there and answering, and brings it back. Silence (refused, reset, no reply within
//   probeTimeoutMs) keeps it down. A TCP connect alone is not enough: the kernel accepts
//   connections for a SIGSTOPped process.
// - Back-off: probe k (0-based) comes backoffDelayMs(k, probeIntervalMs, probeMaxIntervalMs) after
//   the previous one ended: exponential, capped, half of it random, so many clients do not probe a
//   restarting server in step.

import { backoffDelayMs } from './backoff.js';

export interface NodeHealthOptions {
  /** Delay before the first probe of a down server, ms; doubles per failed probe. */
  readonly probeIntervalMs: number;
  /** Longest delay between probes, ms. */
  readonly probeMaxIntervalMs: number;
  /** Time one probe may take, ms. */
  readonly probeTimeoutMs: number;
  /** Source of the back-off's jitter, [0, 1). */
  readonly random?: () => number;
}

export const DEFAULT_NODE_HEALTH: NodeHealthOptions = {
  probeIntervalMs: 200,
  probeMaxIntervalMs: 5000,
  probeTimeoutMs: 500,
};

/**
 * Sends PING to `server` ("host:port"). Resolves on any reply (an error reply included); rejects
 * when the server cannot be reached or does not answer within `timeoutMs`.
 */
export type Probe = (server: string, timeoutMs: number) => Promise<unknown>;

export interface NodeHealthEvents {
  /** `server` answered a probe: it takes its keys again. */
  onUp(server: string): void;
  /** A probe of `server` failed; it stays down (for counters and last-error messages). */
  onProbeFailed?(server: string, error: unknown): void;
}

interface DownServer {
  attempt: number;
  timer: NodeJS.Timeout | null;
}

export class NodeHealth {
  private readonly down = new Map<string, DownServer>();
  private readonly random: () => number;
  private closed = false;

  constructor(
    private readonly options: NodeHealthOptions,
    private readonly probe: Probe,
    private readonly events: NodeHealthEvents,
  ) {
    this.random = options.random ?? Math.random;
  }

  isDown(server: string): boolean {
    return this.down.has(server);
  }

  /** Marks `server` down and starts probing it; false if it already was down (or health is closed). */
  markDown(server: string): boolean {
    if (this.closed || this.down.has(server)) return false;
    const d: DownServer = { attempt: 0, timer: null };
    this.down.set(server, d);
    this.scheduleProbe(server, d);
    return true;
  }

  /** Stops every probe; nothing is reported afterwards. */
  close(): void {
    this.closed = true;
    for (const d of this.down.values()) if (d.timer !== null) clearTimeout(d.timer);
    this.down.clear();
  }

  private scheduleProbe(server: string, d: DownServer): void {
    const delayMs = backoffDelayMs(d.attempt++, this.options.probeIntervalMs, this.options.probeMaxIntervalMs, this.random);
    d.timer = setTimeout(() => {
      d.timer = null;
      this.probe(server, this.options.probeTimeoutMs).then(
        () => this.markUp(server, d),
        (err: unknown) => {
          if (this.closed || this.down.get(server) !== d) return;
          this.events.onProbeFailed?.(server, err);
          this.scheduleProbe(server, d);
        },
      );
    }, delayMs);
  }

  private markUp(server: string, d: DownServer): void {
    if (this.closed || this.down.get(server) !== d) return;
    this.down.delete(server);
    this.events.onUp(server);
  }
}
