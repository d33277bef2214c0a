#!/usr/bin/env node
// `kvring` / `npm run client --`: the command-line client. A thin shell over KvCluster:
// flags → servers → one verb → one line of output (or one JSON object) and an exit code.
//
// Exit codes: 0 ok, 1 key not found, 2 usage error, 3 server unreachable (or no servers
// configured), 4 the server answered with an error / anything else failed, 5 the key was not found
// on the server that answered in place of its unreachable owner (it may exist on the owner).

import yargs from 'yargs';
import { renderHelp, terminalWidth } from '../cli/help.js';
import type { FlagSpec } from '../cli/flags.js';
import { errorLine } from '../cli/main.js';
import { UsageError } from '../errors/kv-error.js';
import { isUtf8 } from 'node:buffer';
import { KvCluster } from './cluster.js';
import { NoServersError, ServerAddressError, isUnreachable, NoLiveServerError } from './errors.js';
import { canonicalAddress } from '../protocol/address.js';
import { resolveServers } from './servers-file.js';

export const EXIT_OK = 0;
export const EXIT_NOT_FOUND = 1;
export const EXIT_USAGE = 2;
export const EXIT_UNREACHABLE = 3;
export const EXIT_SERVER_ERROR = 4;
/** GET/DELETE: not found on a fallback server while the key's owner is unreachable: unknown, not missing. */
export const EXIT_OWNER_UNREACHABLE = 5;

const VERBS = ['put', 'get', 'delete', 'del', 'end', 'ping'] as const;
type Verb = 'put' | 'get' | 'delete' | 'end' | 'ping';

/** Options that take a value: the token after them is not the verb. */
const VALUE_OPTIONS = new Set(['--servers', '--server', '--timeout-ms', '--timeout_ms', '--timeoutMs']);

/** A bad verb, flag or argument: exit code 2 (EXIT_USAGE). */
const usageError = (message: string): UsageError => new UsageError('KV_ERR_USAGE', message);

/** The client's flags, for --help (yargs parses them; yargs' own help wraps mid-word). */
const CLIENT_OPTIONS: Record<string, FlagSpec> = {
  servers: { type: 'string', describe: 'comma-separated host:port list; default: the running local cluster (.kvring/cluster.json or $KVRING_CLUSTER_FILE)' },
  server: { type: 'string', describe: 'end/ping: the one server to address, host:port' },
  'all-servers': { type: 'boolean', default: false, describe: 'end: stop every server' },
  json: { type: 'boolean', default: false, describe: 'print one JSON object on stdout instead of text' },
  'timeout-ms': { type: 'number', default: 2000, describe: 'time each request may take, ms' },
};

/** `kvring --help`, laid out for `width` columns. */
export function clientHelpText(width = terminalWidth()): string {
  return renderHelp(
    {
      usage: 'Usage: kvring <verb> [args] [options]   (or: npm run client -- <verb> ...)',
      description: ['Talks to kvring servers through the consistent-hash ring. Servers come from --servers, else from the local cluster file (npm run cluster).'],
      commands: [
        { usage: 'kvring put <key> <value>', describe: 'store value under key (also PUT)' },
        { usage: 'kvring get <key>', describe: 'print the value of key; exit 1 if it does not exist (also GET)' },
        { usage: 'kvring delete <key>', describe: 'delete key; exit 1 if it did not exist (also DELETE, del)' },
        { usage: 'kvring end', describe: 'stop a server (final snapshot, then exit): the one named by --server, the only one, or all with --all-servers (also END)' },
        { usage: 'kvring ping', describe: 'PING every server (or --server) and print the round trip' },
      ],
      specs: CLIENT_OPTIONS,
      aliases: { 'all-servers': ['--all_servers'], 'timeout-ms': ['--timeout_ms'] },
      epilogue: [
        'Exit codes: 0 ok, 1 key not found, 2 usage error, 3 server unreachable or none configured, 4 server error, 5 not found on the server that answered for an unreachable owner (the key may exist there).',
        'Start a local cluster with: npm run cluster -- --num_servers 3',
      ],
    },
    width,
  );
}

interface Settings {
  verb: Verb;
  key: string;
  value: string;
  servers: string | undefined;
  server: string | undefined;
  allServers: boolean;
  json: boolean;
  timeoutMs: number;
}

/**
 * The original Python project accepted upper-case verbs (PUT, GET, DELETE, END): the first positional argument is
 * lower-cased, so both spellings work; keys and values are left alone. An unknown verb is a
 * usage error naming the verbs (yargs would call it an "unknown argument").
 */
function normalizeVerb(argv: readonly string[]): string[] {
  const out = [...argv];
  for (let i = 0; i < out.length; i++) {
    const token = out[i]!;
    if (token === '--') break;
    if (token.startsWith('-')) {
      if (VALUE_OPTIONS.has(token)) i++;
      continue;
    }
    const lower = token.toLowerCase();
    if (!(VERBS as readonly string[]).includes(lower)) {
      throw usageError(`unknown verb "${token}"; use put, get, delete, end or ping`);
    }
    out[i] = lower;
    break;
  }
  return out;
}

async function parseSettings(argv: readonly string[]): Promise<Settings | 'help'> {
  if (argv.includes('--help') || argv.includes('-h')) return 'help';
  // Help is clientHelpText's, so yargs gets the verbs' shapes and the flags (from CLIENT_OPTIONS,
  // each kebab name also accepted in snake_case) without texts of its own.
  let y = yargs(normalizeVerb(argv))
    .scriptName('kvring')
    .command('put <key> <value>', false)
    .command('get <key>', false)
    .command(['delete <key>', 'del <key>'], false)
    .command('end', false)
    .command('ping', false);
  for (const [name, spec] of Object.entries(CLIENT_OPTIONS)) {
    y = y.option(name, { type: spec.type, default: spec.default, ...(name.includes('-') ? { alias: name.replace(/-/g, '_') } : {}) });
  }
  const parsed = await y
    .parserConfiguration({ 'parse-positional-numbers': false })
    .demandCommand(1, 'give a verb: put, get, delete, end or ping')
    .strict()
    .check((a) => {
      const timeoutMs = Number(a['timeout-ms']);
      if (!Number.isFinite(timeoutMs) || timeoutMs <= 0) throw usageError(`--timeout-ms must be a number > 0, got ${String(a['timeout-ms'])}`);
      return true;
    })
    .fail((message: string | undefined, err: Error | undefined) => {
      throw usageError(message ?? err?.message ?? 'bad arguments');
    })
    .help(false)
    .version(false)
    .parseAsync();
  let verb = String(parsed._[0]) as Verb | 'del';
  if (verb === 'del') verb = 'delete';
  return {
    verb,
    key: parsed.key === undefined ? '' : String(parsed.key),
    value: parsed.value === undefined ? '' : String(parsed.value),
    servers: parsed['servers'] === undefined ? undefined : String(parsed['servers']),
    server: parsed['server'] === undefined ? undefined : String(parsed['server']),
    allServers: parsed['all-servers'] === true,
    json: parsed['json'] === true,
    timeoutMs: Number(parsed['timeout-ms']),
  };
}

/** What one run printed and how it ends; rendered as text or JSON. */
interface Outcome {
  exitCode: number;
  /** Fields of the --json object (besides ok/verb/exitCode). */
  fields: Record<string, unknown>;
  /** Text mode: what goes to stdout (may be raw value bytes) and notes for stderr. */
  stdout: (string | Buffer)[];
  stderr: string[];
}

function errorFields(err: unknown): { code: string; message: string } {
  const e = err as { code?: unknown; message?: unknown };
  return { code: typeof e.code === 'string' ? e.code : 'KV_ERR_INTERNAL', message: String(e.message ?? err) };
}

function exitCodeFor(err: unknown): number {
  if (err instanceof UsageError || err instanceof ServerAddressError) return EXIT_USAGE;
  if (isUnreachable(err) || err instanceof NoLiveServerError || err instanceof NoServersError) return EXIT_UNREACHABLE;
  return EXIT_SERVER_ERROR;
}

/** Text mode suffix: which server answered, and a note when it is not the key's owner. */
function answeredBy(cluster: KvCluster, key: string, server: string, outcome: Outcome): string {
  const owner = cluster.ownerOf(key);
  if (owner !== server) outcome.stderr.push(`note: ${owner} (the owner of "${key}") is unreachable; ${server} answered in its place`);
  return ` (${server})`;
}

async function runVerb(settings: Settings, cluster: KvCluster): Promise<Outcome> {
  const outcome: Outcome = { exitCode: EXIT_OK, fields: {}, stdout: [], stderr: [] };
  const { key } = settings;
  switch (settings.verb) {
    case 'put': {
      const { server } = await cluster.putWithServer(key, settings.value);
      outcome.fields = { key, server, owner: cluster.ownerOf(key) };
      outcome.stdout.push(`OK${answeredBy(cluster, key, server, outcome)}\n`);
      break;
    }
    case 'get': {
      const { value, server } = await cluster.getWithServer(key);
      outcome.fields = { key, server, owner: cluster.ownerOf(key), found: value !== null };
      const suffix = answeredBy(cluster, key, server, outcome);
      if (value === null) {
        // Missing on a stand-in says nothing about the owner, which may hold the key.
        outcome.exitCode = server === cluster.ownerOf(key) ? EXIT_NOT_FOUND : EXIT_OWNER_UNREACHABLE;
        outcome.stdout.push(`(not found)${suffix}\n`);
      } else {
        outcome.fields[isUtf8(value) ? 'value' : 'valueBase64'] = isUtf8(value) ? value.toString('utf8') : value.toString('base64');
        outcome.stdout.push(value, `${suffix}\n`);
      }
      break;
    }
    case 'delete': {
      const { deleted, server } = await cluster.deleteWithServer(key);
      outcome.fields = { key, server, owner: cluster.ownerOf(key), deleted };
      const suffix = answeredBy(cluster, key, server, outcome);
      if (!deleted) outcome.exitCode = server === cluster.ownerOf(key) ? EXIT_NOT_FOUND : EXIT_OWNER_UNREACHABLE;
      outcome.stdout.push(`${deleted ? 'deleted' : '(not found)'}${suffix}\n`);
      break;
    }
    case 'end':
      await runEnd(settings, cluster, outcome);
      break;
    case 'ping':
      await runPing(settings, cluster, outcome);
      break;
  }
  return outcome;
}

/** The servers END/PING address: --all-servers, --server, or the only one. */
function targets(settings: Settings, cluster: KvCluster, verb: string, allByDefault: boolean): string[] {
  if (settings.server !== undefined) {
    const server = canonicalAddress(settings.server);
    if (!cluster.servers.includes(server)) {
      throw usageError(`--server ${settings.server} is not one of the servers (${cluster.servers.join(', ')})`);
    }
    return [server];
  }
  if (settings.allServers || allByDefault || cluster.servers.length === 1) return [...cluster.servers];
  throw usageError(
    `${verb} addresses one server: name it with --server host:port (one of ${cluster.servers.join(', ')}), or pass --all-servers`,
  );
}

async function runEnd(settings: Settings, cluster: KvCluster, outcome: Outcome): Promise<void> {
  const servers = targets(settings, cluster, 'END', false);
  const results = await Promise.all(
    servers.map(async (server) => {
      try {
        await cluster.shutdown(server);
        return { server, ok: true as const };
      } catch (err) {
        return { server, ok: false as const, error: errorFields(err), exitCode: exitCodeFor(err) };
      }
    }),
  );
  outcome.fields = { servers: results };
  for (const r of results) {
    if (r.ok) outcome.stdout.push(`OK (${r.server})\n`);
    else {
      outcome.stderr.push(`kvring client: ${r.error.code}: ${r.server}: ${r.error.message}`);
      outcome.exitCode = Math.max(outcome.exitCode, r.exitCode);
    }
  }
}

async function runPing(settings: Settings, cluster: KvCluster, outcome: Outcome): Promise<void> {
  const servers = targets(settings, cluster, 'PING', true);
  const results = await Promise.all(
    servers.map(async (server) => {
      try {
        const rttMs = await cluster.ping(server);
        return { server, ok: true as const, rttMs: Math.round(rttMs * 1000) / 1000 };
      } catch (err) {
        return { server, ok: false as const, error: errorFields(err), exitCode: exitCodeFor(err) };
      }
    }),
  );
  outcome.fields = { servers: results };
  for (const r of results) {
    if (r.ok) outcome.stdout.push(`PONG ${r.rttMs.toFixed(3)} ms (${r.server})\n`);
    else {
      outcome.stderr.push(`kvring client: ${r.error.code}: ${r.server}: ${r.error.message}`);
      outcome.exitCode = Math.max(outcome.exitCode, r.exitCode);
    }
  }
}

function print(verb: string, json: boolean, outcome: Outcome): void {
  if (json) {
    const ok = outcome.exitCode === EXIT_OK || outcome.exitCode === EXIT_NOT_FOUND;
    process.stdout.write(`${JSON.stringify({ ok, verb, ...outcome.fields, exitCode: outcome.exitCode })}\n`);
    return;
  }
  for (const chunk of outcome.stdout) process.stdout.write(chunk);
  for (const line of outcome.stderr) process.stderr.write(`${line}\n`);
}

function failure(err: unknown): Outcome {
  const exitCode = exitCodeFor(err);
  const { code, message } = errorFields(err);
  const hint = err instanceof UsageError ? ' (see kvring --help)' : '';
  const line = errorLine('client', Object.assign(new Error(`${message}${hint}`), { code })).line;
  return { exitCode, fields: { error: { code, message } }, stdout: [], stderr: [line] };
}

async function main(argv: readonly string[]): Promise<number> {
  let settings: Settings;
  try {
    const parsed = await parseSettings(argv);
    if (parsed === 'help') {
      process.stdout.write(clientHelpText());
      return EXIT_OK;
    }
    settings = parsed;
  } catch (err) {
    const json = argv.includes('--json');
    print('usage', json, failure(err));
    return EXIT_USAGE;
  }
  let cluster: KvCluster | null = null;
  let outcome: Outcome;
  try {
    const { servers } = resolveServers(settings.servers);
    cluster = new KvCluster(servers, { requestTimeoutMs: settings.timeoutMs, connectTimeoutMs: Math.min(settings.timeoutMs, 1000) });
    outcome = await runVerb(settings, cluster);
  } catch (err) {
    outcome = failure(err);
  } finally {
    cluster?.destroy();
  }
  print(settings.verb, settings.json, outcome);
  return outcome.exitCode;
}

process.exitCode = await main(process.argv.slice(2));
