// --verify: every GET must show the value this worker last wrote under that key (nil after a
// DELETE), every DELETE must find what the worker's history says. Each worker owns its keys (see
// ownKey), so its own history is the whole truth. Values carry the key and a version
// (writeVerifyValue), so a reply from the wrong key or an older write is caught.

import type { ReplyScanner } from '../../protocol/decoder.js';
import { RESP_BULK, RESP_INTEGER } from '../../protocol/resp.js';
import { OP_DELETE, OP_GET, OP_PUT, writeVerifyValue } from './request-encoder.js';

/** --verify states of a key (≥ 0 is the version last written). */
export const KEY_UNKNOWN = -2;
export const KEY_DELETED = -1;
/** Expectation mark: nothing to check for this request. */
export const NO_CHECK = -3;

/** --verify bookkeeping of one worker: its keys' last written versions and sizes. */
export class VerifyState {
  readonly versions: Int32Array;
  readonly sizes: Int32Array;
  nextVersion = 0;
  /** Set by beforeSend. */
  expect = NO_CHECK;
  expectSize = 0;

  constructor(keySpace: number) {
    this.versions = new Int32Array(keySpace).fill(KEY_UNKNOWN);
    this.sizes = new Int32Array(keySpace);
  }

  forget(): void {
    this.versions.fill(KEY_UNKNOWN);
  }

  /**
   * Records a request about to be sent and sets `expect`/`expectSize`: what its reply must show
   * (NO_CHECK when the history says nothing). A PUT's value is written into `value` (its first
   * `size` bytes are sent). Hot path: no allocation.
   */
  beforeSend(op: number, key: number, size: number, deleteOnly: boolean, value: Buffer): void {
    this.expect = NO_CHECK;
    this.expectSize = 0;
    if (op === OP_PUT) {
      const version = this.nextVersion++;
      writeVerifyValue(value, key, version, size);
      this.versions[key] = version;
      this.sizes[key] = size;
    } else if (op === OP_GET) {
      const state = this.versions[key]!;
      this.expect = state === KEY_UNKNOWN ? NO_CHECK : state;
      this.expectSize = this.sizes[key]!;
    } else if (deleteOnly) {
      this.expect = 1;
    } else {
      const state = this.versions[key]!;
      this.expect = state >= 0 ? 1 : state === KEY_DELETED ? 0 : NO_CHECK;
      this.versions[key] = KEY_DELETED;
    }
  }

  /** Does the reply `scanner` just read (from `data`) show what beforeSend expected? `scratch`: a value-sized buffer. */
  matches(scanner: ReplyScanner, data: Buffer, op: number, expect: number, expectSize: number, key: number, scratch: Buffer): boolean {
    if (op === OP_DELETE) return scanner.kind === RESP_INTEGER && scanner.integer === expect;
    if (op !== OP_GET) return true;
    if (expect === KEY_DELETED) return scanner.kind === RESP_BULK && scanner.valueStart === -1;
    if (scanner.kind !== RESP_BULK || scanner.valueStart === -1 || scanner.valueEnd - scanner.valueStart !== expectSize) return false;
    writeVerifyValue(scratch, key, expect, expectSize);
    return data.compare(scratch, 0, expectSize, scanner.valueStart, scanner.valueEnd) === 0;
  }
}
