// Failures of a bench run, one class each, with a stable code (README "Bench errors" lists them)
// and a message that says what to do. The CLI prints `code: message` and exits non-zero.

export abstract class BenchError extends Error {
  abstract readonly code: string;
  /** Process exit code the CLI uses for this failure. */
  readonly exitCode: number = 1;
}

/** A flag or flag combination that cannot work; the message names the flag. */
export class BenchConfigError extends BenchError {
  readonly code = 'KV_ERR_BENCH_CONFIG';
  override readonly exitCode = 2;
  constructor(message: string) {
    super(message);
    this.name = 'BenchConfigError';
  }
}

/** A server the run had to start did not get ready; the message carries its own stderr. */
export class TargetStartError extends BenchError {
  readonly code = 'KV_ERR_BENCH_TARGET_START';
  constructor(message: string) {
    super(message);
    this.name = 'TargetStartError';
  }
}

/** --target redis without redis-server on PATH. */
export class RedisNotInstalledError extends BenchError {
  readonly code = 'KV_ERR_BENCH_REDIS_MISSING';
  constructor(binary: string) {
    super(`--target redis needs ${binary}, which is not installed or not on PATH; install with: apt-get install redis-server (or pass --redis_server /path/to/redis-server)`);
    this.name = 'RedisNotInstalledError';
  }
}

/** A --servers address did not answer PING. */
export class TargetUnreachableError extends BenchError {
  readonly code = 'KV_ERR_BENCH_UNREACHABLE';
  constructor(address: string, reason: string) {
    super(`server ${address} from --servers did not answer PING (${reason}); start it first or fix the address`);
    this.name = 'TargetUnreachableError';
  }
}

/** A worker thread crashed or reported a failure it could not count as a request error. */
export class WorkerFailedError extends BenchError {
  readonly code = 'KV_ERR_BENCH_WORKER';
  constructor(message: string) {
    super(message);
    this.name = 'WorkerFailedError';
  }
}

/** The run finished but more requests failed than --max_error_rate allows. */
export class ErrorRateExceededError extends BenchError {
  readonly code = 'KV_ERR_BENCH_ERROR_RATE';
  override readonly exitCode = 3;
  constructor(message: string) {
    super(message);
    this.name = 'ErrorRateExceededError';
  }
}

/** Ctrl-C (SIGINT) or SIGTERM: every server was stopped; partial results were written. */
export class InterruptedError extends BenchError {
  readonly code = 'KV_ERR_BENCH_INTERRUPTED';
  override readonly exitCode = 130;
  constructor(signal: string) {
    super(`interrupted by ${signal}: servers stopped, partial results kept`);
    this.name = 'InterruptedError';
  }
}

/** Every code above, for the README check. */
export const BENCH_ERROR_CODES = [
  'KV_ERR_BENCH_CONFIG',
  'KV_ERR_BENCH_TARGET_START',
  'KV_ERR_BENCH_REDIS_MISSING',
  'KV_ERR_BENCH_UNREACHABLE',
  'KV_ERR_BENCH_WORKER',
  'KV_ERR_BENCH_ERROR_RATE',
  'KV_ERR_BENCH_INTERRUPTED',
] as const;
