// Where the client finds its servers: "host:port" lists given by the user, and the cluster file
// that `npm run cluster` writes (and removes when it stops) so that `npm run client` needs no flags.

import { mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { canonicalAddress } from '../protocol/address.js';
import { NoServersError, ServerAddressError } from './errors.js';

/** Default cluster file, relative to the current directory. */
export const DEFAULT_CLUSTER_FILE = '.kvring/cluster.json';
/** Environment variable that overrides the cluster file's location. */
export const CLUSTER_FILE_ENV = 'KVRING_CLUSTER_FILE';

/** What `npm run cluster` writes: enough for clients to connect and for humans to find things. */
export interface ClusterFile {
  /** "host:port" of every server, in start order. */
  servers: string[];
  /** Server process ids, same order as `servers`. */
  pids: number[];
  /** Pid of the cluster script that owns the servers; the file is stale if it is gone. */
  supervisorPid: number;
  /** Data folder holding one sub-folder and one request log per server. */
  dataDir: string;
  /** ISO time the cluster became ready. */
  startedAt: string;
}

/**
 * Parses a comma-separated server list ("127.0.0.1:7001,127.0.0.1:7002") into canonical
 * "host:port" strings. Throws ServerAddressError on an empty list, a bad entry or a duplicate.
 */
export function parseServerList(text: string): string[] {
  const entries = text.split(',').map((s) => s.trim()).filter((s) => s !== '');
  if (entries.length === 0) {
    throw new ServerAddressError(`the server list "${text}" is empty; write host:port,host:port,...`);
  }
  const servers = entries.map(canonicalAddress);
  const seen = new Set<string>();
  for (const server of servers) {
    if (seen.has(server)) throw new ServerAddressError(`${server} is listed twice in "${text}"; list each server once`);
    seen.add(server);
  }
  return servers;
}

/** The cluster file to use: $KVRING_CLUSTER_FILE if set, else .kvring/cluster.json under `cwd`. */
export function clusterFilePath(env: NodeJS.ProcessEnv = process.env, cwd: string = process.cwd()): string {
  const fromEnv = env[CLUSTER_FILE_ENV];
  return resolve(cwd, fromEnv !== undefined && fromEnv !== '' ? fromEnv : DEFAULT_CLUSTER_FILE);
}

/** Reads a cluster file; null if it does not exist. Throws NoServersError if it is unreadable. */
export function readClusterFile(path: string): ClusterFile | null {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw new NoServersError(`cannot read the cluster file ${path}: ${(err as Error).message}`);
  }
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch (err) {
    throw new NoServersError(`the cluster file ${path} is not valid JSON (${(err as Error).message}); delete it`);
  }
  if (!isClusterFile(data)) {
    throw new NoServersError(`the cluster file ${path} has no "servers" list of "host:port" strings; delete it`);
  }
  return data;
}

function isClusterFile(data: unknown): data is ClusterFile {
  if (typeof data !== 'object' || data === null) return false;
  const d = data as Record<string, unknown>;
  return (
    Array.isArray(d.servers) &&
    d.servers.length > 0 &&
    d.servers.every((s) => typeof s === 'string') &&
    Array.isArray(d.pids) &&
    typeof d.supervisorPid === 'number'
  );
}

/** Writes the cluster file atomically (temp file + rename), so a reader never sees half of it. */
export function writeClusterFile(path: string, data: ClusterFile): void {
  mkdirSync(dirname(path), { recursive: true });
  const tmp = `${path}.${process.pid}.tmp`;
  writeFileSync(tmp, `${JSON.stringify(data, null, 2)}\n`);
  renameSync(tmp, path);
}

/** Removes the cluster file if it still belongs to `supervisorPid` (another cluster may have replaced it). */
export function removeClusterFile(path: string, supervisorPid: number): void {
  let current: ClusterFile | null;
  try {
    current = readClusterFile(path);
  } catch (err) {
    // An unreadable file is not ours to judge; leave it and say so.
    process.emitWarning(`kvring: left ${path} in place: ${(err as Error).message}`);
    return;
  }
  if (current !== null && current.supervisorPid === supervisorPid) rmSync(path, { force: true });
}

/** Whether a process with this pid exists (signal 0 checks without sending anything). */
export function isProcessAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    // EPERM: it exists but belongs to someone else.
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

export interface ResolvedServers {
  servers: string[];
  /** Where the list came from, for messages: "--servers" or the cluster file's path. */
  source: string;
}

/**
 * The servers to talk to: the `--servers` list if given, else the running local cluster's file.
 * Throws NoServersError (saying how to start a cluster) when neither exists or the file is stale.
 */
export function resolveServers(serversFlag: string | undefined, env: NodeJS.ProcessEnv = process.env, cwd: string = process.cwd()): ResolvedServers {
  if (serversFlag !== undefined && serversFlag.trim() !== '') {
    return { servers: parseServerList(serversFlag), source: '--servers' };
  }
  const path = clusterFilePath(env, cwd);
  const file = readClusterFile(path);
  if (file === null) throw new NoServersError(`no --servers given and no local cluster running (no ${path})`);
  if (!isProcessAlive(file.supervisorPid)) {
    throw new NoServersError(
      `the cluster file ${path} is stale: its cluster script (pid ${file.supervisorPid}) is not running; delete the file`,
    );
  }
  return { servers: parseServerList(file.servers.join(',')), source: path };
}
