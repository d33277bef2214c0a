// One worker's part of one measured step: take requests from the generator, route them over the
// ring (with failover), send them — open loop on a schedule, or closed loop with a fixed number
// outstanding — match the replies and record them. The hot paths (advance, issue, send, onData,
// complete) allocate nothing per request.
//
// Every request has an intended send time: its schedule slot (open loop) or the moment it was
// generated (closed loop). If no connection slot of its server is free it waits in that server's
// backlog; latency counts from the intended time, service time from the actual send. How late the
// generator itself issued a request against its slot is recorded apart (send lateness): that part
// is the load generator's delay, not the server's, and decides the client_bound verdict.
// ~480 lines: what remains is the per-request state machine (issue, send, reply, fail, sweep),
// kept in one class so that the hot path's calls stay monomorphic and allocation-free.

import { performance, type IntervalHistogram } from 'node:perf_hooks';
import type { Ring } from '../../client/ring.js';
import { ReplyScanner } from '../../protocol/decoder.js';
import { ProtocolError } from '../../protocol/errors.js';
import { RESP_BULK, RESP_ERROR, RESP_INTEGER } from '../../protocol/resp.js';
import type { StepSpec, WorkerSettings, WorkerStepReport, WorkerToMain } from '../messages.js';
import { StepFailover } from './failover.js';
import type { ConnectionListener, LoadConnection } from './load-connection.js';
import { encodeRequest, OP_DELETE, OP_GET, OP_PUT } from './request-encoder.js';
import { constantValue, RequestGenerator } from './request-generator.js';
import { RequestQueue } from './request-queue.js';
import { OpenLoopSchedule, requestsFor } from './schedule.js';
import type { ServerHealth } from './server-health.js';
import { KIND_CONNECTION, KIND_ERROR_REPLY, KIND_TIMEOUT, KIND_WRONG_VALUE, StepFigures } from './step-figures.js';
import type { Ticker } from './ticker.js';
import { NO_CHECK, type VerifyState } from './verify.js';

/** Delay before reconnecting a lost connection, and between failed attempts. */
const RECONNECT_DELAY_MS = 50;

export interface StepEnvironment {
  settings: WorkerSettings;
  ring: Ring;
  /** Connections per server, in ring order. */
  conns: LoadConnection[][];
  verify: VerifyState | null;
  /** Next unused key number of this worker's DELETE namespace; advanced by the step. */
  deleteCursor: { next: number };
  ticker: Ticker;
  /** Clients sharing this thread's ticker: the send window follows their combined rate. */
  clientsOnThread: number;
  post: (message: WorkerToMain) => void;
  /** Reconnects a lost connection after a delay, while `stillWanted()` holds. */
  reconnect: (conn: LoadConnection, delayMs: number, stillWanted: () => boolean) => void;
  /** Which servers this worker considers down (kept across steps; probes them back). */
  health: ServerHealth;
}

export class LoadStep implements ConnectionListener {
  private readonly settings: WorkerSettings;
  private readonly spec: StepSpec;
  private readonly ring: Ring;
  private readonly conns: LoadConnection[][];
  private readonly allConns: LoadConnection[];
  private readonly serverCount: number;
  private readonly pipeline: number;
  private readonly verify: VerifyState | null;
  private readonly env: StepEnvironment;
  private readonly backlog: RequestQueue[];
  private readonly rr: Int32Array;
  private readonly scanner = new ReplyScanner();
  private readonly dirty: LoadConnection[] = [];
  /** While handling a connection's replies: that connection (see freeConn). */
  private preferred: LoadConnection | null = null;

  private readonly gen: RequestGenerator;
  private readonly figures: StepFigures;
  private readonly failover: StepFailover;
  private readonly value: Buffer;
  private readonly expected: Buffer;
  /** Server the request generated last goes to (after failover). */
  private genServer = 0;

  // Pacing and progress.
  private schedule: OpenLoopSchedule | null = null;
  private closedLimit = 0;
  private endMs = Infinity;
  private startMs = 0;
  private lastReplyMs = 0;
  private issued = 0;
  private inflight = 0;
  private backlogged = 0;
  private maxBacklog = 0;
  private running = false;
  private aborted = false;
  /** This step paced by spinning (Ticker.spinning at its start). */
  private spun = false;
  private finish: (() => void) | null = null;
  private intervalTimer: NodeJS.Timeout | null = null;
  private sweepTimer: NodeJS.Timeout | null = null;

  constructor(env: StepEnvironment, spec: StepSpec, delay: IntervalHistogram) {
    const s = env.settings;
    this.env = env;
    this.settings = s;
    this.spec = spec;
    this.ring = env.ring;
    this.conns = env.conns;
    this.allConns = env.conns.flat();
    this.serverCount = env.conns.length;
    this.pipeline = s.pipeline;
    this.verify = env.verify;
    this.backlog = Array.from({ length: this.serverCount }, () => new RequestQueue());
    this.rr = new Int32Array(this.serverCount);
    this.gen = new RequestGenerator(s, spec, env.verify !== null, env.deleteCursor);
    this.figures = new StepFigures(spec, s.workerIndex, s.intervalMs, this.serverCount, delay, env.post);
    this.failover = new StepFailover(env.ring, env.health);
    this.value = constantValue(s.valueSizeMax);
    this.expected = Buffer.alloc(s.valueSizeMax);
  }

  /** Runs the step to its end (schedule done, or time/requests used up, and every reply in). */
  async run(): Promise<WorkerStepReport> {
    const spec = this.spec;
    for (const c of this.allConns) c.listener = this;
    const done = new Promise<void>((resolve) => {
      this.finish = resolve;
    });
    this.running = true;
    this.startMs = performance.now();
    this.lastReplyMs = this.startMs;
    this.figures.start(this.startMs);
    if (spec.mode === 'open') {
      const rate = spec.ratePerSec ?? 1;
      const total = spec.numRequests ?? requestsFor(rate, (spec.durationMs ?? 1000) / 1000);
      this.schedule = new OpenLoopSchedule(rate, this.startMs, total, spec.phase);
      this.env.ticker.begin(this.schedule.periodMs / this.env.clientsOnThread);
      this.spun = this.env.ticker.spinning;
    } else {
      this.closedLimit = this.serverCount * this.settings.connections * this.pipeline;
      this.endMs = spec.durationMs === null ? Infinity : this.startMs + spec.durationMs;
    }
    this.intervalTimer = setInterval(() => this.figures.emitInterval(performance.now()), this.settings.intervalMs);
    this.sweepTimer = setInterval(() => this.sweep(), Math.min(100, Math.max(10, this.settings.timeoutMs / 4)));
    this.advance(this.startMs);
    this.flushDirty();
    this.checkDone(performance.now());
    await done;
    return this.figures.report(Math.max(this.lastReplyMs - this.startMs, 0.001), {
      planned: this.schedule?.total ?? this.issued,
      issued: this.issued,
      maxBacklog: this.maxBacklog,
      aborted: this.aborted,
      deleteCursor: this.env.deleteCursor.next,
      spun: this.spun,
    });
  }

  /** Stops issuing; what is in flight still completes (or times out). */
  abort(): void {
    this.aborted = true;
    for (const q of this.backlog) {
      this.backlogged -= q.count;
      q.clear();
    }
    this.checkDone(performance.now());
  }

  // ---- generation and sending (hot) -------------------------------------------------------

  /** Draws the next request and picks its server. */
  private generate(): void {
    const view = this.gen.generate();
    this.genServer = this.failover.route(view, this.ring.lookup(view));
  }

  /** Sends the generated request now if a slot is free, else queues it behind its server's backlog. */
  private issue(intendedMs: number, nowMs: number): void {
    const s = this.genServer;
    const g = this.gen;
    this.figures.countKey(s, 1);
    const q = this.backlog[s]!;
    if (q.count === 0) {
      const c = this.freeConn(s);
      if (c !== null) {
        this.send(c, g.op, g.key, g.size, intendedMs, nowMs, true);
        return;
      }
      if (this.serverDown(s)) {
        this.failUnsent(g.op, s, KIND_CONNECTION);
        this.markDown(s, nowMs);
        return;
      }
    }
    q.push(intendedMs, g.op, g.key, g.size);
    this.backlogged++;
    if (this.backlogged > this.maxBacklog) this.maxBacklog = this.backlogged;
  }

  private freeConn(s: number): LoadConnection | null {
    // The connection whose replies just arrived first: refilling it keeps one write per batch
    // of replies (pipelining), where round-robin would scatter them into many small writes.
    const p = this.preferred;
    if (p !== null && p.server === s && p.open && p.count < this.pipeline) return p;
    const list = this.conns[s]!;
    const n = list.length;
    const start = this.rr[s]!;
    for (let k = 0; k < n; k++) {
      let i = start + k;
      if (i >= n) i -= n;
      const c = list[i]!;
      if (c.open && c.count < this.pipeline) {
        this.rr[s] = i + 1 === n ? 0 : i + 1;
        return c;
      }
    }
    return null;
  }

  private serverDown(s: number): boolean {
    for (const c of this.conns[s]!) if (c.open || !c.down) return false;
    return true;
  }

  private send(c: LoadConnection, op: number, key: number, size: number, intendedMs: number, nowMs: number, keyFormatted: boolean): void {
    const g = this.gen;
    if (!keyFormatted) g.formatKey(op, key);
    let value = this.value;
    let expect = NO_CHECK;
    let expectSize = 0;
    const v = this.verify;
    if (v !== null) {
      v.beforeSend(op, key, size, this.spec.deleteOnly, this.expected);
      if (op === OP_PUT) value = this.expected;
      expect = v.expect;
      expectSize = v.expectSize;
    }
    encodeRequest(c.writer, op, g.keyBuf, g.keyLength, value, size);
    let i = c.head + c.count;
    if (i >= c.capacity) i -= c.capacity;
    c.intendedMs[i] = intendedMs;
    c.sentMs[i] = nowMs;
    c.op[i] = op;
    c.key[i] = key;
    c.expect[i] = expect;
    c.expectSize[i] = expectSize;
    c.count++;
    this.inflight++;
    this.figures.countRequest(op, c.server);
    if (!c.dirty) {
      c.dirty = true;
      this.dirty.push(c);
    }
  }

  private flushDirty(): void {
    const d = this.dirty;
    for (let i = 0; i < d.length; i++) {
      const c = d[i]!;
      c.dirty = false;
      c.flush();
    }
    d.length = 0;
  }

  /** Sends backlogged requests of server `s` into its free slots. */
  private drainBacklog(s: number, nowMs: number): void {
    const q = this.backlog[s]!;
    while (q.count > 0) {
      const c = this.freeConn(s);
      if (c === null) return;
      this.send(c, q.headOp(), q.headKey(), q.headSize(), q.headIntendedMs(), nowMs, false);
      q.shift();
      this.backlogged--;
    }
  }

  /** Issues whatever is due: schedule slots (open loop) or free outstanding budget (closed). */
  private advance(nowMs: number): void {
    if (this.aborted) return;
    const schedule = this.schedule;
    if (schedule !== null) {
      // Slots within the ticker's send window leave now; their latency then counts from now.
      const due = schedule.dueBy(nowMs + this.env.ticker.earlyMs);
      while (this.issued < due) {
        const intended = schedule.intendedMs(this.issued++);
        this.figures.recordLateness((nowMs - intended) * 1000);
        this.generate();
        this.issue(intended > nowMs ? nowMs : intended, nowMs);
      }
      const next = schedule.nextMs(this.issued);
      if (next !== Infinity) this.env.ticker.wakeAt(next);
      return;
    }
    // Closed loop: keep closedLimit requests outstanding. Requests failed before sending (server
    // down) free their budget at once, so bound the loop by the budget, not by success.
    let budget = this.closedLimit;
    while (this.inflight + this.backlogged < this.closedLimit && budget-- > 0 && this.mayIssueClosed(nowMs)) {
      this.generate();
      this.issued++;
      this.issue(nowMs, nowMs);
    }
  }

  private mayIssueClosed(nowMs: number): boolean {
    const limit = this.spec.numRequests;
    return limit !== null ? this.issued < limit : nowMs < this.endMs;
  }

  /** Called by the ticker when the next schedule slot is due. */
  onDue(): void {
    if (!this.running) return;
    const now = performance.now();
    this.advance(now);
    this.flushDirty();
  }

  // ---- replies (hot) ----------------------------------------------------------------------

  onData(c: LoadConnection, buf: Buffer, length: number): void {
    if (!this.running) return;
    const now = performance.now();
    const data = c.absorb(buf, length);
    const end = c.scanEnd;
    let pos = 0;
    try {
      while (c.count > 0) {
        const next = this.scanner.scan(data, pos, end);
        if (next < 0) break;
        this.complete(c, data, now);
        pos = next;
      }
      if (c.count === 0 && pos < end) throw new ProtocolError(`${end - pos} bytes from ${c.host}:${c.port} answer no request`);
    } catch (err) {
      if (!(err instanceof ProtocolError)) throw err;
      // A server that breaks the protocol cannot be trusted for the rest of this connection.
      this.lose(c, KIND_CONNECTION);
      this.afterActivity(now);
      return;
    }
    c.keepRest(data, pos, end);
    this.lastReplyMs = now;
    this.preferred = c;
    this.drainBacklog(c.server, now);
    this.afterActivity(now);
    this.preferred = null;
  }

  private complete(c: LoadConnection, data: Buffer, nowMs: number): void {
    const i = c.head;
    const op = c.op[i]!;
    const s = c.server;
    c.head = i + 1 === c.capacity ? 0 : i + 1;
    c.count--;
    this.inflight--;
    const kind = this.scanner.kind;
    this.failover.noteReply(s);
    if (kind === RESP_ERROR) {
      this.countError(op, s, KIND_ERROR_REPLY);
    } else {
      const expect = c.expect[i]!;
      if (expect !== NO_CHECK && !this.verify!.matches(this.scanner, data, op, expect, c.expectSize[i]!, c.key[i]!, this.expected)) {
        this.countError(op, s, KIND_WRONG_VALUE);
      } else if ((op === OP_GET && kind === RESP_BULK && this.scanner.valueStart === -1) || (op === OP_DELETE && kind === RESP_INTEGER && this.scanner.integer === 0)) {
        this.figures.countMiss(op);
      }
    }
    this.figures.recordReply(op, s, (nowMs - c.intendedMs[i]!) * 1000, (nowMs - c.sentMs[i]!) * 1000);
  }

  private countError(op: number, s: number, kind: number): void {
    this.figures.countError(op, s, kind);
    this.failover.noteError(s);
  }

  /**
   * Marks server `s` down (connection lost, timed out, refused): its keys go to the next live
   * server from now on, and its backlog moves there too. The worker's ServerHealth reports it and
   * probes it back (nodeUp).
   */
  private markDown(s: number, nowMs: number): void {
    if (!this.failover.markDown(s)) return;
    const q = this.backlog[s]!;
    const g = this.gen;
    // With no live server left the backlog stays where it is (it times out or drains as before).
    while (q.count > 0 && !this.failover.allDown()) {
      const op = q.headOp();
      const key = q.headKey();
      const size = q.headSize();
      const intended = q.headIntendedMs();
      q.shift();
      this.backlogged--;
      g.op = op;
      g.key = key;
      g.size = size;
      const alt = this.failover.liveServerFor(g.formatKey(op, key));
      if (alt === -1) {
        this.failUnsent(op, s, KIND_CONNECTION);
        continue;
      }
      // Counted once already (issue): move the count with the request.
      this.figures.countKey(s, -1);
      this.genServer = alt;
      this.issue(intended, nowMs);
    }
  }

  /** The health policy's probe got an answer from `address`: route its keys to it again. */
  nodeUp(address: string): void {
    if (!this.running) return;
    const s = this.failover.markUp(address);
    if (s < 0) return;
    for (const c of this.conns[s]!) {
      if (c.open) continue;
      // Requests wait in the backlog for these connections instead of failing at once.
      c.down = false;
      c.connect().catch(() => this.env.reconnect(c, RECONNECT_DELAY_MS, () => this.running));
    }
  }

  /** A request that failed before it was sent (its server is down, or it waited past the timeout). */
  private failUnsent(op: number, s: number, kind: number): void {
    this.figures.countRequest(op, s);
    this.countError(op, s, kind);
  }

  /** Counts everything in flight on `c` as failed with `kind` and closes it; reconnects later. */
  private lose(c: LoadConnection, kind: number): void {
    let i = c.head;
    for (let k = 0; k < c.count; k++) {
      this.countError(c.op[i]!, c.server, kind);
      i = i + 1 === c.capacity ? 0 : i + 1;
    }
    this.inflight -= c.count;
    c.clearInFlight();
    c.destroy();
    this.env.reconnect(c, RECONNECT_DELAY_MS, () => this.running);
    this.markDown(c.server, performance.now());
  }

  private afterActivity(nowMs: number): void {
    this.advance(nowMs);
    this.flushDirty();
    this.checkDone(nowMs);
  }

  // ---- connection events ------------------------------------------------------------------

  onOpen(c: LoadConnection): void {
    if (!this.running) return;
    const now = performance.now();
    this.drainBacklog(c.server, now);
    this.afterActivity(now);
  }

  onLost(c: LoadConnection): void {
    if (!this.running) return;
    this.lose(c, KIND_CONNECTION);
    this.afterActivity(performance.now());
  }

  /** Times out stuck requests and backlog entries; keeps a stalled closed loop going. */
  private sweep(): void {
    if (!this.running) return;
    const now = performance.now();
    const timeoutMs = this.settings.timeoutMs;
    for (const c of this.allConns) {
      if (c.count > 0 && now - c.sentMs[c.head]! > timeoutMs) this.lose(c, KIND_TIMEOUT);
    }
    for (let s = 0; s < this.serverCount; s++) {
      const q = this.backlog[s]!;
      const down = this.serverDown(s);
      while (q.count > 0 && (down || now - q.headIntendedMs() > timeoutMs)) {
        this.failUnsent(q.headOp(), s, down ? KIND_CONNECTION : KIND_TIMEOUT);
        q.shift();
        this.backlogged--;
      }
    }
    this.afterActivity(now);
  }

  // ---- end of step ------------------------------------------------------------------------

  private checkDone(nowMs: number): void {
    if (!this.running || this.inflight > 0 || this.backlogged > 0) return;
    const allIssued = this.aborted || (this.schedule !== null ? this.issued >= this.schedule.total : !this.mayIssueClosed(nowMs));
    if (!allIssued) return;
    this.running = false;
    if (this.intervalTimer !== null) clearInterval(this.intervalTimer);
    if (this.sweepTimer !== null) clearInterval(this.sweepTimer);
    if (this.schedule !== null) this.env.ticker.end();
    this.figures.stop(nowMs);
    for (const c of this.allConns) c.listener = null;
    this.finish?.();
  }
}
