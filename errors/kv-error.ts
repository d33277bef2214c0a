// The base of every kvring error class. It sits outside any part (server, client, bench) because
// all of them, and the protocol codec they share, derive their errors from it.

/**
 * Base of kvring's error classes: `name` is the subclass's own class name (so `String(err)` and
 * stack traces say `TimeoutError: ...`), and a subclass that only forwards its message needs no
 * constructor. Subclasses that users or scripts branch on carry a stable `code` (KV_ERR_*).
 */
export class KvError extends Error {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = new.target.name;
  }
}

/**
 * A flag or argument a tool cannot run with, under that tool's code (KV_ERR_SERVER_USAGE, …):
 * exit code 2, as every kvring tool's usage error.
 */
export class UsageError extends KvError {
  readonly exitCode = 2;
  constructor(
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}
