// Writes keys before a step so that its GETs hit and its DELETEs delete. Not measured: deep
// pipelines (PRELOAD_WINDOW per connection), replies only counted. Uses the worker's own
// connections and the step's ring, so every key lands where the step will look for it.

import type { Ring } from '../../client/ring.js';
import { ReplyScanner } from '../../protocol/decoder.js';
import { KvError } from '../../errors/kv-error.js';
import { writeKey } from './keygen.js';
import { Prng } from '../prng.js';
import type { ConnectionListener, LoadConnection } from './load-connection.js';
import { constantValue } from './request-generator.js';
import type { VerifyState } from './verify.js';
import { encodeRequest, OP_PUT, writeVerifyValue } from './request-encoder.js';
import { RESP_ERROR } from '../../protocol/resp.js';

/** Requests in flight per connection while preloading. */
const PRELOAD_WINDOW = 64;

export interface PreloadKeys {
  /** Keys to write. */
  count: number;
  /** Index of the i-th key. */
  keyAt(i: number): number;
  prefix: Buffer;
  width: number;
}

export interface PreloadOutcome {
  keys: number;
  errors: number;
}

export class PreloadFailedError extends KvError {
  readonly code = 'KV_ERR_BENCH_PRELOAD';
}

/** Writes `keys` through `conns` (per ring server); rejects if a connection fails or stalls. */
export function preload(
  ring: Ring,
  conns: LoadConnection[][],
  keys: PreloadKeys,
  value: { sizeMin: number; sizeMax: number; seed: number },
  verify: VerifyState | null,
  stallTimeoutMs: number,
): Promise<PreloadOutcome> {
  return new Promise((resolve, reject) => {
    const scanner = new ReplyScanner();
    const outstanding = new Map<LoadConnection, number>();
    const rr = new Int32Array(conns.length);
    const keyBuf = Buffer.alloc(keys.prefix.length + keys.width);
    const valueBuf = verify === null ? constantValue(value.sizeMax) : Buffer.alloc(value.sizeMax);
    const sizes = new Prng(value.seed);
    const span = value.sizeMax - value.sizeMin + 1;
    let next = 0;
    let replies = 0;
    let errors = 0;
    let settled = false;
    let lastProgressMs = Date.now();
    // The key drawn but not yet written (its server's connections were all full).
    let heldIndex = -1;
    let heldServer = -1;

    const finish = (err: Error | null): void => {
      if (settled) return;
      settled = true;
      clearInterval(watchdog);
      for (const c of conns.flat()) c.listener = null;
      if (err !== null) reject(err);
      else resolve({ keys: replies, errors });
    };

    const pick = (s: number): LoadConnection | null => {
      const list = conns[s]!;
      for (let k = 0; k < list.length; k++) {
        const i = (rr[s]! + k) % list.length;
        const c = list[i]!;
        if (c.open && (outstanding.get(c) ?? 0) < PRELOAD_WINDOW) {
          rr[s] = (i + 1) % list.length;
          return c;
        }
      }
      return null;
    };

    const fill = (): void => {
      const dirty = new Set<LoadConnection>();
      while (next < keys.count || heldIndex >= 0) {
        if (heldIndex < 0) {
          heldIndex = keys.keyAt(next++);
          writeKey(keyBuf, keys.prefix, heldIndex, keys.width);
          heldServer = ring.lookup(keyBuf);
        } else {
          writeKey(keyBuf, keys.prefix, heldIndex, keys.width);
        }
        const c = pick(heldServer);
        if (c === null) break;
        const size = span === 1 ? value.sizeMin : value.sizeMin + sizes.nextBelow(span);
        if (verify !== null) {
          const version = verify.nextVersion++;
          writeVerifyValue(valueBuf, heldIndex, version, size);
          verify.versions[heldIndex] = version;
          verify.sizes[heldIndex] = size;
        }
        encodeRequest(c.writer, OP_PUT, keyBuf, keyBuf.length, valueBuf, size);
        outstanding.set(c, (outstanding.get(c) ?? 0) + 1);
        dirty.add(c);
        heldIndex = -1;
      }
      for (const c of dirty) c.flush();
      if (next >= keys.count && heldIndex < 0 && replies + errors >= keys.count) finish(null);
    };

    const listener: ConnectionListener = {
      onData(c, buf, length) {
        const data = c.absorb(buf, length);
        const end = c.scanEnd;
        let pos = 0;
        for (;;) {
          const n = scanner.scan(data, pos, end);
          if (n < 0) break;
          if (scanner.kind === RESP_ERROR) errors++;
          else replies++;
          outstanding.set(c, (outstanding.get(c) ?? 1) - 1);
          pos = n;
        }
        c.keepRest(data, pos, end);
        lastProgressMs = Date.now();
        fill();
      },
      onOpen() {
        fill();
      },
      onLost(c) {
        finish(new PreloadFailedError(`connection to ${c.host}:${c.port} closed while preloading keys; is the server still running?`));
      },
    };
    for (const c of conns.flat()) {
      c.listener = listener;
      c.clearInFlight();
    }
    const watchdog = setInterval(() => {
      if (Date.now() - lastProgressMs > stallTimeoutMs) {
        finish(new PreloadFailedError(`preloading stalled: no reply for ${stallTimeoutMs} ms (${replies} of ${keys.count} keys written); raise --timeout_ms or check the servers`));
      }
    }, Math.min(1000, stallTimeoutMs));
    if (keys.count === 0) finish(null);
    else fill();
  });
}
