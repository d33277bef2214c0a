// Failures of report, compare and merge, one class each with a stable code (README lists them) and
// a message that names the input and what to do. Every one exits with code 2: "could not judge",
// distinct from compare's 1 ("regression").

import { KvError } from '../../errors/kv-error.js';

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
