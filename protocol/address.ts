// How every part names a server: "host:port", IPv6 hosts in brackets ("[::1]:7001"). One parser
// for the client, the bench, the scripts and the one-shot client, so an address accepted by one
// is accepted by all and means the same server.

import { KvError } from '../errors/kv-error.js';

export interface ServerAddress {
  host: string;
  port: number;
}

/** A server address or server list that cannot be used; the message names the input. */
export class ServerAddressError extends KvError {
  readonly code = 'KV_ERR_SERVER_ADDRESS';
}

/**
 * Parses "host:port" (IPv6 as "[::1]:7001"; surrounding spaces ignored). Throws
 * ServerAddressError naming the input, e.g. for a bare IPv6 address without brackets.
 */
export function parseAddress(text: string): ServerAddress {
  const trimmed = text.trim();
  const match = /^(?:\[([^\]]+)\]|([^:\s[\]]+)):(\d{1,5})$/.exec(trimmed);
  const port = match ? Number(match[3]) : NaN;
  if (!match || port < 1 || port > 65535) {
    const hint = /^[^[]*:.*:/.test(trimmed) ? ' (an IPv6 host goes in brackets: [::1]:7001)' : '';
    throw new ServerAddressError(`"${text}" is not a server address; write host:port, e.g. 127.0.0.1:7001${hint}`);
  }
  return { host: match[1] ?? match[2]!, port };
}

/** Canonical "host:port" text of an address (IPv6 hosts in brackets). */
export function formatAddress(address: ServerAddress): string {
  return address.host.includes(':') ? `[${address.host}]:${address.port}` : `${address.host}:${address.port}`;
}

/** The canonical form of an address text: parse, then format (throws like parseAddress). */
export function canonicalAddress(text: string): string {
  return formatAddress(parseAddress(text));
}
