/**
 * Base of kvring's error classes: `name` is the subclass's own class name (so `String(err)` and
 * stack traces say `TimeoutError: ...`), and a subclass that only forwards its message needs no
 * constructor.
 */
export class KvError extends Error {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = new.target.name;
  }
}

/**
 * Protocol-level failures. A ProtocolError means the byte stream from one peer cannot be trusted any
 * more: the server answers `-ERR Protocol error: <message>` and closes that connection only.
 */
export class ProtocolError extends KvError {
  readonly code = 'KV_ERR_PROTOCOL';
}

/** An error reply (`-ERR ...`) received from a server, kept apart from transport failures. */
export class ReplyError extends KvError {
  readonly code = 'KV_ERR_REPLY';
}
