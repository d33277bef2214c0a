import { KvError } from '../errors/kv-error.js';

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
