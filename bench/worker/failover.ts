// Failover inside one step: which of the step's servers take requests. A server the step saw
// unreachable (connection lost, refused, request timed out) is marked down here and in the worker's
// ServerHealth (which probes it back, on the client library's policy); its keys then go to the next
// live server in the ring's preference order (ring.lookupLive), which moves no other key.

import type { Ring } from '../../client/ring.js';
import type { ServerHealth } from './server-health.js';

export class StepFailover {
  /** 1 = the server takes requests; 0 = marked down, its keys go to ring.lookupLive's choice. */
  private readonly live: Uint8Array;
  private downCount = 0;
  /** Failed requests per server since its last reply: reported with a node-down. */
  private readonly errorsSinceReply: Float64Array;
  private readonly isLive = (s: number): boolean => this.live[s] === 1;

  constructor(
    private readonly ring: Ring,
    private readonly health: ServerHealth,
  ) {
    const n = ring.nodes.length;
    this.live = new Uint8Array(n).fill(1);
    this.errorsSinceReply = new Float64Array(n);
    for (let s = 0; s < n; s++) {
      if (health.isDown(ring.nodes[s]!)) {
        this.live[s] = 0;
        this.downCount++;
      }
    }
  }

  /**
   * The server that takes a key whose ring owner is `owner` (`key`: its bytes): the owner while it
   * is live, else the next live server; with none left, the owner (the request then fails or times
   * out as it would without failover). Hot path.
   */
  route(key: Uint8Array, owner: number): number {
    if (this.downCount === 0 || this.live[owner] === 1) return owner;
    const alt = this.ring.lookupLive(key, this.isLive);
    return alt === -1 ? owner : alt;
  }

  /** The next live server for `key`, or -1 when none is live (moving a down server's backlog). */
  liveServerFor(key: Uint8Array): number {
    return this.ring.lookupLive(key, this.isLive);
  }

  /** Every server of the step is down. */
  allDown(): boolean {
    return this.downCount >= this.live.length;
  }

  noteReply(s: number): void {
    this.errorsSinceReply[s] = 0;
  }

  noteError(s: number): void {
    this.errorsSinceReply[s]!++;
    if (this.live[s] === 0) this.health.countWhileDown(this.ring.nodes[s]!);
  }

  /** Marks server `s` down; false if it already was. */
  markDown(s: number): boolean {
    if (this.live[s] === 0) return false;
    this.live[s] = 0;
    this.downCount++;
    this.health.markDown(this.ring.nodes[s]!, this.errorsSinceReply[s]!);
    this.errorsSinceReply[s] = 0;
    return true;
  }

  /** `address` answers again: its index, or -1 if it is not a server of this step or was live. */
  markUp(address: string): number {
    const s = this.ring.indexOf(address);
    if (s < 0 || this.live[s] === 1) return -1;
    this.live[s] = 1;
    this.downCount--;
    this.errorsSinceReply[s] = 0;
    return s;
  }
}
