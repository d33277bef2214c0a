// One worker's part of one measured step: generate requests, route them over the ring, send them
// (open loop on a schedule, or closed loop with a fixed number outstanding), match replies and
// record them. The hot paths (issue, send, onData, complete) allocate nothing per request.
//
// Every request has an intended send time: its schedule slot (open loop) or the moment it was
// generated (closed loop). If no connection slot of its server is free it waits in that server's
// backlog; latency counts from the intended time, service time from the actual send. How late the
// generator itself issued a request against its slot is recorded apart (send lateness): that part
// is the load generator's delay, not the server's, and decides the client_bound verdict.

import { monitorEventLoopDelay, performance, type EventLoopUtilization, type IntervalHistogram } from 'node:perf_hooks';
import type { Ring } from '../../client/ring.js';
import { ReplyScanner } from '../../protocol/decoder.js';
import { ProtocolError } from '../../protocol/errors.js';
import { LatencyRecorder } from '../histogram.js';
import { createKeyGenerator, keyWidth, writeKey, type KeyGenerator } from './keygen.js';
import { deriveSeed, Prng } from '../prng.js';
import type { ConnectionListener, LoadConnection } from './load-connection.js';
import type { ServerHealth } from './server-health.js';
import type { StepSpec, WorkerSettings, WorkerStepReport, WorkerToMain, WorkerOperationReport, WorkerServerReport } from '../messages.js';
import { encodeRequest, OP_DELETE, OP_GET, OP_PUT, writeVerifyValue } from './request-encoder.js';
import { RequestQueue } from './request-queue.js';
import { OpenLoopSchedule, requestsFor } from './schedule.js';
import type { Ticker } from './ticker.js';
import { emptyErrors, ERROR_KINDS, OPERATIONS, type ErrorCounts } from '../results.js';
import { RESP_BULK as TYPE_BULK, RESP_ERROR as TYPE_ERROR, RESP_INTEGER as TYPE_INTEGER } from '../../protocol/resp.js';

const KIND_TIMEOUT = 0;
const KIND_CONNECTION = 1;
const KIND_ERROR_REPLY = 2;
const KIND_WRONG_VALUE = 3;


/** --verify states of a key (≥ 0 is the version last written). */
export const KEY_UNKNOWN = -2;
export const KEY_DELETED = -1;
/** Expectation mark: nothing to check for this request. */
const NO_CHECK = -3;

/** Delay before reconnecting a lost connection, and between failed attempts. */
const RECONNECT_DELAY_MS = 50;

/** --verify bookkeeping of one worker: its keys' last written versions and sizes. */
export class VerifyState {
  readonly versions: Int32Array;
  readonly sizes: Int32Array;
  nextVersion = 0;

  constructor(keySpace: number) {
    this.versions = new Int32Array(keySpace).fill(KEY_UNKNOWN);
    this.sizes = new Int32Array(keySpace);
  }

  forget(): void {
    this.versions.fill(KEY_UNKNOWN);
  }
}

export interface StepEnvironment {
  settings: WorkerSettings;
  ring: Ring;
  /** Connections per server, in ring order. */
  conns: LoadConnection[][];
  verify: VerifyState | null;
  /** Next unused key number of this worker's DELETE namespace; advanced by the step. */
  deleteCursor: { next: number };
  ticker: Ticker;
  post: (message: WorkerToMain) => void;
  /** Reconnects a lost connection after a delay, while `stillWanted()` holds. */
  reconnect: (conn: LoadConnection, delayMs: number, stillWanted: () => boolean) => void;
  /** Which servers this worker considers down (kept across steps; probes them back). */
  health: ServerHealth;
}

/** Key text of the shared key space: key:<zero-padded index>. */
export const KEY_PREFIX = Buffer.from('key:');

/** Key text of a worker's DELETE namespace: del:<worker>:<10-digit number>. */
export function deletePrefix(workerIndex: number): Buffer {
  return Buffer.from(`del:${workerIndex}:`);
}
export const DELETE_KEY_WIDTH = 10;

/** A constant value buffer: PUTs send its first `size` bytes. */
export function constantValue(size: number): Buffer {
  return Buffer.alloc(Math.max(1, size), 0x78);
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

  // Request generation (each stream seeded on its own: reproducible whatever the timing).
  private readonly opPrng: Prng;
  private readonly sizePrng: Prng;
  private readonly keys: KeyGenerator;
  private readonly singleOp: number;
  private readonly opCut: Float64Array;
  private readonly keyBuf = Buffer.alloc(128);
  private keyLength = 0;
  private readonly keyView: Uint8Array;
  private readonly keyWidth: number;
  private readonly deletePrefix: Buffer;
  private readonly deleteView: Uint8Array;
  private readonly value: Buffer;
  private readonly expected: Buffer;
  private readonly sizeMin: number;
  private readonly sizeSpan: number;
  private genOp = 0;
  private genKey = 0;
  private genSize = 0;
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
  private finish: (() => void) | null = null;

  // Figures, flat typed arrays indexed [op] / [op * 4 + kind] / [server] / [server * 4 + kind].
  private readonly requests = new Float64Array(3);
  private readonly replies = new Float64Array(3);
  private readonly misses = new Float64Array(3);
  private readonly errors = new Float64Array(12);
  private readonly latency = [new LatencyRecorder(), new LatencyRecorder(), new LatencyRecorder()];
  private readonly service = [new LatencyRecorder(), new LatencyRecorder(), new LatencyRecorder()];
  private readonly serverRequests: Float64Array;
  private readonly serverErrors: Float64Array;
  private readonly serverKeys: Float64Array;
  private readonly serverLatency: LatencyRecorder[];
  private readonly lateness = new LatencyRecorder();
  private readonly intervalLatency = new LatencyRecorder();
  private intervalReplies = 0;
  private intervalErrors = 0;
  private intervalSeq = 0;
  private intervalStartMs = 0;
  private maxElu = 0;
  private eluMark: EventLoopUtilization | null = null;
  private readonly delay: IntervalHistogram;
  private intervalTimer: NodeJS.Timeout | null = null;
  private sweepTimer: NodeJS.Timeout | null = null;

  // Failover: 1 = the server takes requests; 0 = marked down, its keys go to ring.lookupLive's choice.
  private readonly live: Uint8Array;
  private downCount = 0;
  /** Failed requests per server since its last reply: reported with a node-down. */
  private readonly errorsSinceReply: Float64Array;
  private readonly isLive = (s: number): boolean => this.live[s] === 1;

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
    this.delay = delay;
    this.backlog = Array.from({ length: this.serverCount }, () => new RequestQueue());
    this.rr = new Int32Array(this.serverCount);
    this.serverRequests = new Float64Array(this.serverCount);
    this.serverErrors = new Float64Array(this.serverCount * 4);
    this.serverKeys = new Float64Array(this.serverCount);
    this.serverLatency = Array.from({ length: this.serverCount }, () => new LatencyRecorder());
    this.errorsSinceReply = new Float64Array(this.serverCount);
    this.live = new Uint8Array(this.serverCount).fill(1);
    for (let i = 0; i < this.serverCount; i++) {
      if (env.health.isDown(env.ring.nodes[i]!)) {
        this.live[i] = 0;
        this.downCount++;
      }
    }

    const seedBase = deriveSeed(s.seed, s.workerIndex, spec.stepIndex);
    this.opPrng = new Prng(deriveSeed(seedBase, 1));
    this.sizePrng = new Prng(deriveSeed(seedBase, 2));
    this.keys = createKeyGenerator(spec.keyDist, s.keySpace, deriveSeed(seedBase, 3), s.workerIndex, s.workerCount);
    const weights = [spec.mix.put, spec.mix.get, spec.mix.delete];
    const total = weights[0]! + weights[1]! + weights[2]!;
    const present = weights.filter((w) => w > 0).length;
    this.singleOp = present === 1 ? weights.findIndex((w) => w > 0) : -1;
    this.opCut = new Float64Array([weights[0]! / total, (weights[0]! + weights[1]!) / total, 1]);
    this.keyWidth = keyWidth(s.keySpace);
    this.keyView = this.keyBuf.subarray(0, KEY_PREFIX.length + this.keyWidth);
    this.deletePrefix = deletePrefix(s.workerIndex);
    this.deleteView = this.keyBuf.subarray(0, this.deletePrefix.length + DELETE_KEY_WIDTH);
    this.value = constantValue(s.valueSizeMax);
    this.expected = Buffer.alloc(s.valueSizeMax);
    this.sizeMin = s.valueSizeMin;
    this.sizeSpan = s.valueSizeMax - s.valueSizeMin + 1;
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
    this.intervalStartMs = this.startMs;
    this.lastReplyMs = this.startMs;
    this.eluMark = performance.eventLoopUtilization();
    this.delay.reset();
    this.delay.enable();
    if (spec.mode === 'open') {
      const rate = spec.ratePerSec ?? 1;
      const total = spec.numRequests ?? requestsFor(rate, (spec.durationMs ?? 1000) / 1000);
      this.schedule = new OpenLoopSchedule(rate, this.startMs, total, spec.phase);
    } else {
      this.closedLimit = this.serverCount * this.settings.connections * this.pipeline;
      this.endMs = spec.durationMs === null ? Infinity : this.startMs + spec.durationMs;
    }
    this.intervalTimer = setInterval(() => this.emitInterval(performance.now()), this.settings.intervalMs);
    this.sweepTimer = setInterval(() => this.sweep(), Math.min(100, Math.max(10, this.settings.timeoutMs / 4)));
    this.advance(this.startMs);
    this.flushDirty();
    this.checkDone(performance.now());
    await done;
    return this.report();
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

  private pickOp(): number {
    if (this.singleOp >= 0) return this.singleOp;
    const u = this.opPrng.nextFloat();
    return u < this.opCut[0]! ? OP_PUT : u < this.opCut[1]! ? OP_GET : OP_DELETE;
  }

  /** Formats key `key` of op `op` into keyBuf; returns the exact-length view the ring hashes. */
  private formatKey(op: number, key: number): Uint8Array {
    if (op === OP_DELETE && this.spec.deleteOnly) {
      this.keyLength = writeKey(this.keyBuf, this.deletePrefix, key, DELETE_KEY_WIDTH);
      return this.deleteView;
    }
    this.keyLength = writeKey(this.keyBuf, KEY_PREFIX, key, this.keyWidth);
    return this.keyView;
  }

  /** Draws the next request into genOp/genKey/genSize/genServer. */
  private generate(): void {
    const op = this.pickOp();
    let key: number;
    if (op === OP_DELETE && this.spec.deleteOnly) {
      key = this.env.deleteCursor.next++;
    } else {
      key = this.keys.next();
      if (this.verify !== null) key = ownKey(key, this.settings.workerIndex, this.settings.workerCount, this.settings.keySpace);
    }
    this.genOp = op;
    this.genKey = key;
    this.genSize = op === OP_PUT ? (this.sizeSpan === 1 ? this.sizeMin : this.sizeMin + this.sizePrng.nextBelow(this.sizeSpan)) : 0;
    const view = this.formatKey(op, key);
    const owner = this.ring.lookup(view);
    if (this.downCount === 0 || this.live[owner] === 1) {
      this.genServer = owner;
      return;
    }
    // Failover: the next live server in the ring's preference order; with none left, the owner
    // (the request then times out or fails as it would without failover).
    const alt = this.ring.lookupLive(view, this.isLive);
    this.genServer = alt === -1 ? owner : alt;
  }

  /** Sends the generated request now if a slot is free, else queues it behind its server's backlog. */
  private issue(intendedMs: number, nowMs: number): void {
    const s = this.genServer;
    this.serverKeys[s]!++;
    const q = this.backlog[s]!;
    if (q.count === 0) {
      const c = this.freeConn(s);
      if (c !== null) {
        this.send(c, this.genOp, this.genKey, this.genSize, intendedMs, nowMs, true);
        return;
      }
      if (this.serverDown(s)) {
        this.failUnsent(this.genOp, s, KIND_CONNECTION);
        this.markDown(s, nowMs);
        return;
      }
    }
    q.push(intendedMs, this.genOp, this.genKey, this.genSize);
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
    if (!keyFormatted) this.formatKey(op, key);
    let value = this.value;
    let expect = NO_CHECK;
    let expectSize = 0;
    const v = this.verify;
    if (v !== null) {
      if (op === OP_PUT) {
        const version = v.nextVersion++;
        writeVerifyValue(this.expected, key, version, size);
        value = this.expected;
        v.versions[key] = version;
        v.sizes[key] = size;
      } else if (op === OP_GET) {
        const state = v.versions[key]!;
        expect = state === KEY_UNKNOWN ? NO_CHECK : state;
        expectSize = v.sizes[key]!;
      } else if (this.spec.deleteOnly) {
        expect = 1;
      } else {
        const state = v.versions[key]!;
        expect = state >= 0 ? 1 : state === KEY_DELETED ? 0 : NO_CHECK;
        v.versions[key] = KEY_DELETED;
      }
    }
    encodeRequest(c.writer, op, this.keyBuf, this.keyLength, value, size);
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
    this.requests[op]!++;
    this.serverRequests[c.server]!++;
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
      // Slots within the ticker's wake-up margin leave now; their latency then counts from now.
      const due = schedule.dueBy(nowMs + this.env.ticker.earlyMs);
      while (this.issued < due) {
        const intended = schedule.intendedMs(this.issued++);
        this.lateness.record((nowMs - intended) * 1000);
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
    this.errorsSinceReply[s] = 0;
    if (kind === TYPE_ERROR) {
      this.countError(op, s, KIND_ERROR_REPLY);
    } else {
      const expect = c.expect[i]!;
      if (expect !== NO_CHECK && !this.matches(op, expect, c.expectSize[i]!, c.key[i]!, data)) {
        this.countError(op, s, KIND_WRONG_VALUE);
      } else if ((op === OP_GET && kind === TYPE_BULK && this.scanner.valueStart === -1) || (op === OP_DELETE && kind === TYPE_INTEGER && this.scanner.integer === 0)) {
        this.misses[op]!++;
      }
    }
    const latencyUs = (nowMs - c.intendedMs[i]!) * 1000;
    this.latency[op]!.record(latencyUs);
    this.service[op]!.record((nowMs - c.sentMs[i]!) * 1000);
    this.serverLatency[s]!.record(latencyUs);
    this.intervalLatency.record(latencyUs);
    this.replies[op]!++;
    this.intervalReplies++;
  }

  /** --verify: does the reply just scanned show what this worker last wrote? */
  private matches(op: number, expect: number, expectSize: number, key: number, data: Buffer): boolean {
    const sc = this.scanner;
    if (op === OP_DELETE) return sc.kind === TYPE_INTEGER && sc.integer === expect;
    if (op !== OP_GET) return true;
    if (expect === KEY_DELETED) return sc.kind === TYPE_BULK && sc.valueStart === -1;
    if (sc.kind !== TYPE_BULK || sc.valueStart === -1 || sc.valueEnd - sc.valueStart !== expectSize) return false;
    writeVerifyValue(this.expected, key, expect, expectSize);
    return data.compare(this.expected, 0, expectSize, sc.valueStart, sc.valueEnd) === 0;
  }

  private countError(op: number, s: number, kind: number): void {
    this.errors[op * 4 + kind]!++;
    this.serverErrors[s * 4 + kind]!++;
    this.intervalErrors++;
    this.errorsSinceReply[s]!++;
    if (this.live[s] === 0) this.env.health.countWhileDown(this.ring.nodes[s]!);
  }

  /**
   * Marks server `s` down (connection lost, timed out, refused): its keys go to the next live
   * server from now on, and its backlog moves there too. The worker's ServerHealth reports it and
   * probes it back (nodeUp).
   */
  private markDown(s: number, nowMs: number): void {
    if (this.live[s] === 0) return;
    this.live[s] = 0;
    this.downCount++;
    this.env.health.markDown(this.ring.nodes[s]!, this.errorsSinceReply[s]!);
    this.errorsSinceReply[s] = 0;
    const q = this.backlog[s]!;
    // With no live server left the backlog stays where it is (it times out or drains as before).
    while (q.count > 0 && this.downCount < this.serverCount) {
      const op = q.headOp();
      const key = q.headKey();
      const size = q.headSize();
      const intended = q.headIntendedMs();
      q.shift();
      this.backlogged--;
      this.genOp = op;
      this.genKey = key;
      this.genSize = size;
      const alt = this.ring.lookupLive(this.formatKey(op, key), this.isLive);
      if (alt === -1) {
        this.failUnsent(op, s, KIND_CONNECTION);
        continue;
      }
      // Counted once already (issue): move the count with the request.
      this.serverKeys[s]!--;
      this.genServer = alt;
      this.issue(intended, nowMs);
    }
  }

  /** The health policy's probe got an answer from `address`: route its keys to it again. */
  nodeUp(address: string): void {
    if (!this.running) return;
    const s = this.ring.indexOf(address);
    if (s < 0 || this.live[s] === 1) return;
    this.live[s] = 1;
    this.downCount--;
    this.errorsSinceReply[s] = 0;
    for (const c of this.conns[s]!) {
      if (c.open) continue;
      // Requests wait in the backlog for these connections instead of failing at once.
      c.down = false;
      c.connect().catch(() => this.env.reconnect(c, RECONNECT_DELAY_MS, () => this.running));
    }
  }

  /** A request that failed before it was sent (its server is down, or it waited past the timeout). */
  private failUnsent(op: number, s: number, kind: number): void {
    this.requests[op]!++;
    this.serverRequests[s]!++;
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
    this.env.ticker.cancel();
    this.delay.disable();
    this.emitInterval(nowMs);
    for (const c of this.allConns) c.listener = null;
    this.finish?.();
  }

  private emitInterval(nowMs: number): void {
    const durationMs = nowMs - this.intervalStartMs;
    if (durationMs <= 0 && this.intervalReplies === 0) return;
    if (this.eluMark !== null && durationMs >= Math.min(100, this.settings.intervalMs)) {
      const elu = performance.eventLoopUtilization(this.eluMark);
      if (elu.utilization > this.maxElu) this.maxElu = elu.utilization;
    }
    this.eluMark = performance.eventLoopUtilization();
    this.env.post({
      type: 'interval',
      stepIndex: this.spec.stepIndex,
      workerIndex: this.settings.workerIndex,
      seq: this.intervalSeq++,
      durationMs,
      replies: this.intervalReplies,
      errors: this.intervalErrors,
      latency: this.intervalLatency.snapshot(),
    });
    this.intervalLatency.reset();
    this.intervalReplies = 0;
    this.intervalErrors = 0;
    this.intervalStartMs = nowMs;
  }

  private errorsOf(arr: Float64Array, base: number): ErrorCounts {
    const e = emptyErrors();
    ERROR_KINDS.forEach((kind, k) => {
      e[kind] = arr[base * 4 + k]!;
    });
    return e;
  }

  private report(): WorkerStepReport {
    const operations: WorkerStepReport['operations'] = {};
    let requests = 0;
    let replies = 0;
    OPERATIONS.forEach((name, op) => {
      if (this.requests[op] === 0 && this.spec.mix[name] === 0) return;
      const r: WorkerOperationReport = {
        requests: this.requests[op]!,
        errors: this.errorsOf(this.errors, op),
        misses: this.misses[op]!,
        latency: this.latency[op]!.snapshot(),
        serviceTime: this.service[op]!.snapshot(),
      };
      operations[name] = r;
      requests += r.requests;
      replies += this.replies[op]!;
    });
    const servers: WorkerServerReport[] = [];
    for (let s = 0; s < this.serverCount; s++) {
      servers.push({ requests: this.serverRequests[s]!, errors: this.errorsOf(this.serverErrors, s), latency: this.serverLatency[s]!.snapshot(), keys: this.serverKeys[s]! });
    }
    const delayMaxMs = this.delay.count > 0 ? this.delay.max / 1e6 : 0;
    return {
      stepIndex: this.spec.stepIndex,
      workerIndex: this.settings.workerIndex,
      durationMs: Math.max(this.lastReplyMs - this.startMs, 0.001),
      requests,
      replies,
      operations,
      servers,
      sendLateness: this.lateness.snapshot(),
      maxEventLoopUtilization: this.maxElu,
      maxEventLoopDelayMs: Number.isFinite(delayMaxMs) ? delayMaxMs : 0,
      planned: this.schedule?.total ?? this.issued,
      issued: this.issued,
      maxBacklog: this.maxBacklog,
      aborted: this.aborted,
    };
  }
}

/** Under --verify each worker owns the keys ≡ workerIndex (mod workerCount): maps any index to one. */
export function ownKey(key: number, workerIndex: number, workerCount: number, keySpace: number): number {
  const k = key - (key % workerCount) + workerIndex;
  return k < keySpace ? k : k - workerCount;
}

/** A fresh event-loop delay monitor (10 ms resolution), enabled per step. */
export function createDelayMonitor(): IntervalHistogram {
  return monitorEventLoopDelay({ resolution: 10 });
}
