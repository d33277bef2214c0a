// A worker's view of which servers are down, kept across steps, on the client library's one
// node-health policy (client/node-health.ts): what counts as down, how a down server is probed
// back, the back-off. A step marks a server down when one of its connections is lost or times out;
// from then on the step routes that server's keys to the next live server (worker/failover.ts) and
// this class reports the outage to the main thread, counts the requests it cost, and reports the
// server up again when the policy's probe gets an answer.

import { DEFAULT_NODE_HEALTH, NodeHealth } from '../../client/node-health.js';
import { sendCommand } from '../../protocol/one-shot.js';

export interface ServerHealthEvents {
  /** `errors`: down → requests that failed before the failover; up → those that failed while down. */
  onChange(address: string, state: 'down' | 'up', errors: number, atEpochMs: number): void;
}

export class ServerHealth {
  private readonly errorsWhileDown = new Map<string, number>();
  private readonly policy: NodeHealth;
  /** Called when a server came back (the current step starts routing to it again). */
  onUp: ((address: string) => void) | null = null;

  /** `requestTimeoutMs`: the bench's --timeout_ms; a probe waits no longer than a request would. */
  constructor(
    private readonly events: ServerHealthEvents,
    requestTimeoutMs: number,
  ) {
    this.policy = new NodeHealth(
      { ...DEFAULT_NODE_HEALTH, probeTimeoutMs: Math.min(requestTimeoutMs, DEFAULT_NODE_HEALTH.probeTimeoutMs) },
      (address, timeoutMs) => sendCommand(address, ['PING'], timeoutMs),
      { onUp: (address) => this.markUp(address) },
    );
  }

  isDown(address: string): boolean {
    return this.policy.isDown(address);
  }

  /** Marks `address` down (once) and starts probing it; false if it already was down. */
  markDown(address: string, errorsBefore: number): boolean {
    if (!this.policy.markDown(address)) return false;
    this.errorsWhileDown.set(address, 0);
    this.events.onChange(address, 'down', errorsBefore, performance.timeOrigin + performance.now());
    return true;
  }

  /** Counts a failed request to a server already marked down (reported with its node-up). */
  countWhileDown(address: string): void {
    const n = this.errorsWhileDown.get(address);
    if (n !== undefined) this.errorsWhileDown.set(address, n + 1);
  }

  close(): void {
    this.policy.close();
    this.errorsWhileDown.clear();
  }

  private markUp(address: string): void {
    const errors = this.errorsWhileDown.get(address) ?? 0;
    this.errorsWhileDown.delete(address);
    this.events.onChange(address, 'up', errors, performance.timeOrigin + performance.now());
    this.onUp?.(address);
  }
}
