// Failures of the bench and of report, compare and merge, one class each, with a stable code
// (the manual lists them) and a message that says what to do. The CLIs print `code: message` and
// exit non-zero: a run's failures with their own codes, report/compare/merge failures with 2
// ("could not judge"), distinct from compare's 1 ("regression").

import { KvError } from '../errors/kv-error.js';

export abstract class BenchError extends KvError {
  abstract readonly code: string;
  /** Process exit code the CLI uses for this failure. */
  readonly exitCode: number = 1;
}

/** A flag or flag combination that cannot work; the message names the flag. */
export class BenchConfigError extends BenchError {
  readonly code = 'KV_ERR_BENCH_CONFIG';
  override readonly exitCode = 2;
}

/** A server the run had to start did not get ready; the message carries its own stderr. */
export class TargetStartError extends BenchError {
  readonly code = 'KV_ERR_BENCH_TARGET_START';
}

/** --target redis without redis-server on PATH. */
export class RedisNotInstalledError extends BenchError {
  readonly code = 'KV_ERR_BENCH_REDIS_MISSING';
  constructor(binary: string) {
    super(`--target redis needs ${binary}, which is not installed or not on PATH; install with: apt-get install redis-server (or pass --redis_server /path/to/redis-server)`);
  }
}

/** A --servers address did not answer PING. */
export class TargetUnreachableError extends BenchError {
  readonly code = 'KV_ERR_BENCH_UNREACHABLE';
  constructor(address: string, reason: string) {
    super(`server ${address} from --servers did not answer PING (${reason}); start it first or fix the address`);
  }
}

/** A worker thread crashed or reported a failure it could not count as a request error. */
export class WorkerFailedError extends BenchError {
  readonly code = 'KV_ERR_BENCH_WORKER';
}

/** The run finished but more requests failed than --max_error_rate allows. */
export class ErrorRateExceededError extends BenchError {
  readonly code = 'KV_ERR_BENCH_ERROR_RATE';
  override readonly exitCode = 3;
}

/** Ctrl-C (SIGINT) or SIGTERM: every server was stopped; partial results were written. */
export class InterruptedError extends BenchError {
  readonly code = 'KV_ERR_BENCH_INTERRUPTED';
  override readonly exitCode = 130;
  constructor(signal: string) {
    super(`interrupted by ${signal}: servers stopped, partial results kept`);
  }
}

// ---- report, compare and merge ----------------------------------------------------------

export abstract class ReportError extends KvError {
  abstract readonly code: string;
  readonly exitCode = 2;
}

/** A results path that is missing, unreadable, not JSON, or not a kvring results.json. */
export class ResultsInputError extends ReportError {
  readonly code = 'KV_ERR_RESULTS_INPUT';
}

/** compare: the two runs have no step in common. */
export class CompareMismatchError extends ReportError {
  readonly code = 'KV_ERR_COMPARE_MISMATCH';
}

/** merge: the runs did not measure the same steps against the same servers. */
export class MergeMismatchError extends ReportError {
  readonly code = 'KV_ERR_MERGE_MISMATCH';
}

/** A flag value of report, compare or merge that cannot work; the message names the flag. */
export class ReportUsageError extends ReportError {
  readonly code = 'KV_ERR_REPORT_USAGE';
}

/** Every code above, for the README check. */
export const REPORT_ERROR_CODES = ['KV_ERR_RESULTS_INPUT', 'KV_ERR_COMPARE_MISMATCH', 'KV_ERR_MERGE_MISMATCH', 'KV_ERR_REPORT_USAGE'] as const;
