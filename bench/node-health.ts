// A worker's view of which servers are down, kept across steps. A step marks a server down when
// one of its connections is lost or times out (like client/cluster.ts does); from then on the
// step routes that server's keys with ring.lookupLive to the next live server (failover), and
// this class probes the server with PING in the background until it answers (a restarted or
// continued server), then reports it up. A TCP connect alone is no proof of life: the kernel
// accepts connections for a SIGSTOPped process, so only a PONG brings a server back.

import { sendCommand } from '../protocol/one-shot.js';

/** Pause between probes of a down server. */
const PROBE_INTERVAL_MS = 100;

export interface NodeHealthEvents {
  /** `errors`: down → requests that failed before the failover; up → those that failed while down. */
  onChange(address: string, state: 'down' | 'up', errors: number, atEpochMs: number): void;
}

export class NodeHealth {
  private readonly down = new Map<string, { errorsWhileDown: number; timer: NodeJS.Timeout | null }>();
  private closed = false;
  /** Called when a server came back (the current step starts routing to it again). */
  onUp: ((address: string) => void) | null = null;

  constructor(
    private readonly events: NodeHealthEvents,
    private readonly probeTimeoutMs: number,
  ) {}

  isDown(address: string): boolean {
    return this.down.has(address);
  }

  /** Marks `address` down (once) and starts probing it; false if it already was down. */
  markDown(address: string, errorsBefore: number): boolean {
    if (this.closed || this.down.has(address)) return false;
    this.down.set(address, { errorsWhileDown: 0, timer: null });
    this.events.onChange(address, 'down', errorsBefore, performance.timeOrigin + performance.now());
    this.scheduleProbe(address);
    return true;
  }

  /** Counts a failed request to a server already marked down (reported with its node-up). */
  countWhileDown(address: string): void {
    const d = this.down.get(address);
    if (d !== undefined) d.errorsWhileDown++;
  }

  private scheduleProbe(address: string): void {
    const d = this.down.get(address);
    if (d === undefined || this.closed) return;
    d.timer = setTimeout(() => {
      d.timer = null;
      sendCommand(address, ['PING'], this.probeTimeoutMs).then(
        (reply) => {
          if (reply === 'PONG') this.markUp(address);
          else this.scheduleProbe(address);
        },
        // Refused, reset or no reply in time: still down; the next probe will tell.
        () => this.scheduleProbe(address),
      );
    }, PROBE_INTERVAL_MS);
    d.timer.unref();
  }

  private markUp(address: string): void {
    const d = this.down.get(address);
    if (d === undefined || this.closed) return;
    this.down.delete(address);
    this.events.onChange(address, 'up', d.errorsWhileDown, performance.timeOrigin + performance.now());
    this.onUp?.(address);
  }

  close(): void {
    this.closed = true;
    for (const d of this.down.values()) if (d.timer !== null) clearTimeout(d.timer);
    this.down.clear();
  }
}
