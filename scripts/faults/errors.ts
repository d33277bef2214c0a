import { KvError } from '../../errors/kv-error.js';

/**
 * Stable codes for failures of the fault tools themselves (not findings about the server):
 * - KV_ERR_FAULT_TARGET: the server to test cannot be reached or started; check --server or the build.
 * - KV_ERR_FAULT_CASE: a fuzz case folder given to --replay is missing or incomplete.
 * - KV_ERR_FAULT_OPTIONS: options contradict each other (the message names them).
 */
export type FaultToolErrorCode = 'KV_ERR_FAULT_TARGET' | 'KV_ERR_FAULT_CASE' | 'KV_ERR_FAULT_OPTIONS';

export class FaultToolError extends KvError {
  constructor(
    readonly code: FaultToolErrorCode,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}
