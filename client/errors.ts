// Every failure the client library reports, one class each, with a stable `code` that programs
// can branch on and a message that says what to do. Reply and protocol errors come from the one
// RESP codec (protocol/errors.ts), address errors from the one address parser (protocol/address.ts);
// both are re-exported here so callers import from one place.

import { KvError } from '../errors/kv-error.js';

export { ProtocolError, ReplyError } from '../protocol/errors.js';
export { ServerAddressError } from '../protocol/address.js';

/**
 * No reply within the request timeout. The connection it was sent on has been closed and is
 * reopened (replies are matched to requests by order only, so a late reply could otherwise be
 * taken for the answer to a later request). The command may or may not have been executed.
 */
export class TimeoutError extends KvError {
  readonly code = 'KV_ERR_TIMEOUT';
  constructor(
    /** "host:port" of the server that did not answer. */
    readonly server: string,
    readonly timeoutMs: number,
  ) {
    super(
      `no reply from ${server} within ${timeoutMs} ms; the server may be overloaded, paused or gone — ` +
        `check it is running, or raise the request timeout (requestTimeoutMs / --timeout-ms)`,
    );
  }
}

/**
 * The server could not be reached, or the connection was lost before the reply arrived.
 * `phase` says which: 'connect' means the command was never sent (safe to send elsewhere);
 * 'open' means it was sent or queued on a connection that then closed, so it may have run.
 */
export class ConnectionError extends KvError {
  readonly code = 'KV_ERR_CONNECTION';
  constructor(
    readonly server: string,
    readonly phase: 'connect' | 'open',
    detail: string,
    options?: { cause?: unknown },
  ) {
    super(
      phase === 'connect'
        ? `cannot connect to ${server} (${detail}); check the server is running and the address is right`
        : `connection to ${server} lost before the reply (${detail}); the command may or may not have run`,
      options,
    );
  }
}

/** Every server of the cluster is marked down; probes keep trying to bring them back. */
export class NoLiveServerError extends KvError {
  readonly code = 'KV_ERR_NO_LIVE_SERVER';
  constructor(
    readonly servers: readonly string[],
    options?: { cause?: unknown },
  ) {
    const last = options?.cause instanceof Error ? ` (last error: ${options.cause.message})` : '';
    super(
      `no live server among ${servers.join(', ')}${last}; start them (e.g. \`npm run cluster -- --num_servers 3\`) ` +
        `or pass the right addresses (--servers host:port,...)`,
      options,
    );
  }
}

/** A request was made after close(), or was pending when close() was called. */
export class ClientClosedError extends KvError {
  readonly code = 'KV_ERR_CLIENT_CLOSED';
  constructor(readonly server: string) {
    super(`the client for ${server} was closed; create a new client to send more commands`);
  }
}

/** A client option that cannot be used; the message names the option and the accepted range. */
export class InvalidOptionError extends KvError {
  readonly code = 'KV_ERR_INVALID_OPTION';
}

/** No servers were given and no running local cluster was found. */
export class NoServersError extends KvError {
  readonly code = 'KV_ERR_NO_SERVERS';
  constructor(detail: string) {
    super(
      `${detail}; pass --servers 127.0.0.1:7001,127.0.0.1:7002 or start a local cluster with ` +
        '`npm run cluster -- --num_servers 3` (it writes the server list where the client finds it)',
    );
  }
}

/** A server answered something the command cannot mean (e.g. GET answered with an integer). */
export class UnexpectedReplyError extends KvError {
  readonly code = 'KV_ERR_UNEXPECTED_REPLY';
  constructor(
    readonly server: string,
    command: string,
    reply: string,
  ) {
    super(`${server} answered ${command} with ${reply}; is it a kvring or Redis server?`);
  }
}

/** Describes a reply briefly for error messages, without dumping large values. */
export function describeReply(reply: unknown): string {
  if (reply === null) return 'nil';
  if (Buffer.isBuffer(reply)) return `a ${reply.length}-byte bulk string`;
  if (Array.isArray(reply)) return `an array of ${reply.length}`;
  if (typeof reply === 'number') return `integer ${reply}`;
  if (typeof reply === 'string') return `"${reply.slice(0, 40)}"`;
  return typeof reply;
}

/** True for the failures that mean "this server is unreachable" (as opposed to a bad request). */
export function isUnreachable(err: unknown): err is TimeoutError | ConnectionError {
  return err instanceof TimeoutError || err instanceof ConnectionError;
}
