import type { RespWriter } from '../protocol/encoder.js';
import type { ServerConfig } from './config.js';
import type { ClientState, CommandContext } from './command-context.js';
import { infoText } from './info.js';
import { REDIS_COMPAT_VERSION } from './version.js';

// The command table: one entry per command with its arity and flags, so aliases (PUT→SET,
// DELETE→DEL, END→SHUTDOWN), arity errors and INFO's per-command counters come from one place.
// ~450 lines because every command's handler sits beside the table: most are a few lines, and a
// reader checks a command's behaviour and its arity in one place.
// Arity follows Redis: n > 0 means exactly n arguments (name included), n < 0 at least -n.

export type Handler = (ctx: CommandContext, client: ClientState, args: string[], argc: number, out: RespWriter) => void | Promise<void>;

export interface CommandSpec {
  /** Lower-case canonical name, as INFO commandstats and error messages show it. */
  readonly name: string;
  readonly arity: number;
  /** Changes data: logged to the append-only file, refused while persistence is failing. */
  readonly write: boolean;
  /** Allowed before AUTH when --requirepass is set. */
  readonly noAuth: boolean;
  /** Returns a promise; its reply is written into a writer of its own. */
  readonly async: boolean;
  readonly handler: Handler;
  /** Times called since start-up (INFO commandstats). */
  calls: number;
}

function spec(name: string, arity: number, handler: Handler, flags: { write?: boolean; noAuth?: boolean; async?: boolean } = {}): CommandSpec {
  return { name, arity, write: flags.write ?? false, noAuth: flags.noAuth ?? false, async: flags.async ?? false, handler, calls: 0 };
}

const get: Handler = (ctx, _c, args, _n, out) => {
  const value = ctx.store.get(args[1]!);
  if (value === undefined) {
    ctx.stats.keyspaceMisses++;
    out.nullBulk();
  } else {
    ctx.stats.keyspaceHits++;
    out.bulkLatin1(value);
  }
};

/** SET key value [NX|XX] [GET]; expiry options are refused (kvring keeps no TTLs). */
const set: Handler = (ctx, _c, args, argc, out) => {
  const key = args[1]!;
  if (argc === 3) {
    ctx.store.set(key, args[2]!);
    ctx.durability.logWrite(args, 3);
    out.ok();
    return;
  }
  let nx = false;
  let xx = false;
  let returnOld = false;
  for (let i = 3; i < argc; i++) {
    const option = args[i]!.toUpperCase();
    if (option === 'NX') nx = true;
    else if (option === 'XX') xx = true;
    else if (option === 'GET') returnOld = true;
    else if (option === 'EX' || option === 'PX' || option === 'EXAT' || option === 'PXAT' || option === 'KEEPTTL') {
      out.error('ERR kvring keeps no expiry: SET options EX/PX/EXAT/PXAT/KEEPTTL are not supported');
      return;
    } else {
      out.error('ERR syntax error');
      return;
    }
  }
  if (nx && xx) {
    out.error('ERR syntax error');
    return;
  }
  const old = ctx.store.get(key);
  const apply = (nx && old === undefined) || (xx && old !== undefined) || (!nx && !xx);
  if (apply) {
    ctx.store.set(key, args[2]!);
    ctx.durability.logWrite(args, 3);
  }
  if (returnOld) {
    if (old === undefined) out.nullBulk();
    else out.bulkLatin1(old);
  } else if (apply) {
    out.ok();
  } else {
    out.nullBulk();
  }
};

const del: Handler = (ctx, _c, args, argc, out) => {
  let removed = 0;
  for (let i = 1; i < argc; i++) if (ctx.store.delete(args[i]!)) removed++;
  if (removed > 0) ctx.durability.logWrite(args, argc);
  out.integer(removed);
};

const exists: Handler = (ctx, _c, args, argc, out) => {
  let found = 0;
  for (let i = 1; i < argc; i++) if (ctx.store.has(args[i]!)) found++;
  out.integer(found);
};

const mget: Handler = (ctx, _c, args, argc, out) => {
  out.arrayHeader(argc - 1);
  for (let i = 1; i < argc; i++) {
    const value = ctx.store.get(args[i]!);
    if (value === undefined) out.nullBulk();
    else out.bulkLatin1(value);
  }
};

const mset: Handler = (ctx, _c, args, argc, out) => {
  if (argc % 2 === 0) {
    out.error("ERR wrong number of arguments for 'mset' command");
    return;
  }
  for (let i = 1; i < argc; i += 2) ctx.store.set(args[i]!, args[i + 1]!);
  ctx.durability.logWrite(args, argc);
  out.ok();
};

const ping: Handler = (_ctx, _c, args, argc, out) => {
  if (argc === 1) out.pong();
  else if (argc === 2) out.bulkLatin1(args[1]!);
  else out.error("ERR wrong number of arguments for 'ping' command");
};

const echo: Handler = (_ctx, _c, args, _n, out) => out.bulkLatin1(args[1]!);

const dbsize: Handler = (ctx, _c, _a, _n, out) => out.integer(ctx.store.size);

const flushall: Handler = (ctx, _c, args, argc, out) => {
  if (argc > 2 || (argc === 2 && !['ASYNC', 'SYNC'].includes(args[1]!.toUpperCase()))) {
    out.error('ERR syntax error');
    return;
  }
  ctx.store.clear();
  ctx.durability.logWrite(['FLUSHALL'], 1);
  out.ok();
};

const info: Handler = (ctx, _c, args, argc, out) => {
  const sections = args.slice(1, argc).map((s) => s.toLowerCase());
  out.bulkUtf8(infoText(ctx, sections, COMMAND_LIST));
};

const save: Handler = async (ctx, _c, _a, _n, out) => {
  try {
    await ctx.durability.save();
    out.ok();
  } catch (err) {
    out.error(`ERR snapshot failed: ${(err as Error).message}`);
  }
};

const bgsave: Handler = (ctx, _c, _a, _n, out) => {
  if (ctx.durability.bgsave()) out.simple('Background saving started');
  else out.error('ERR Background save already in progress');
};

const lastsave: Handler = (ctx, _c, _a, _n, out) => out.integer(ctx.durability.lastSaveUnixSec);

/** SHUTDOWN [SAVE|NOSAVE]: final snapshot (unless NOSAVE), then +OK, then the process exits 0. */
const shutdown: Handler = async (ctx, _c, args, argc, out) => {
  let save: boolean | null = null;
  if (argc === 2) {
    const mode = args[1]!.toUpperCase();
    if (mode === 'SAVE') save = true;
    else if (mode === 'NOSAVE') save = false;
    else {
      out.error('ERR syntax error');
      return;
    }
  } else if (argc > 2) {
    out.error('ERR syntax error');
    return;
  }
  const refused = await ctx.shutdown(save);
  if (refused === null) out.ok();
  else out.error(`ERR Errors trying to SHUTDOWN: ${refused}. Use SHUTDOWN NOSAVE to exit without saving.`);
};

const quit: Handler = (_ctx, client, _a, _n, out) => {
  client.closeAfterReply = true;
  out.ok();
};

const auth: Handler = (ctx, client, args, argc, out) => {
  if (ctx.config.requirePass === null) {
    out.error('ERR AUTH <password> called without any password configured for the default user. Are you sure your configuration is correct?');
    return;
  }
  if (argc > 3) {
    out.error('ERR syntax error');
    return;
  }
  // AUTH password, or AUTH default password (Redis 6 ACL form).
  const password = argc === 3 ? args[2]! : args[1]!;
  const user = argc === 3 ? args[1]! : 'default';
  if (user === 'default' && password === ctx.config.requirePass) {
    client.authenticated = true;
    out.ok();
  } else {
    out.error('WRONGPASS invalid username-password pair or user is disabled.');
  }
};

const select: Handler = (_ctx, _c, args, _n, out) => {
  if (args[1] === '0') out.ok();
  else out.error('ERR DB index is out of range');
};

/** The settings that clients ask for: redis-benchmark asks for save and appendonly, and hangs without an answer. */
function configValues(config: ServerConfig): Array<[string, string]> {
  return [
    ['save', config.snapshotIntervalSec > 0 ? `${config.snapshotIntervalSec} 1` : ''],
    ['appendonly', config.appendOnly ? 'yes' : 'no'],
    ['appendfsync', config.appendFsync],
    ['maxclients', String(config.maxClients)],
    ['port', String(config.port)],
    ['bind', config.bind],
    ['dir', config.dir],
    ['databases', '1'],
    ['proto-max-bulk-len', String(config.maxBulkBytes)],
  ];
}

/**
 * Redis-style glob match (`*`, `?`), case-insensitive. The classic two-pointer walk that remembers
 * only the last `*`: linear-ish time for any pattern, where a regular expression built from a
 * client's pattern could backtrack exponentially (`*a*a*a*...`) and freeze the server.
 */
export function globMatch(pattern: string, text: string): boolean {
  const p = pattern.toLowerCase();
  const t = text.toLowerCase();
  let pi = 0;
  let ti = 0;
  let starPi = -1;
  let starTi = 0;
  while (ti < t.length) {
    if (pi < p.length && (p[pi] === '?' || p[pi] === t[ti])) {
      pi++;
      ti++;
    } else if (pi < p.length && p[pi] === '*') {
      starPi = pi++;
      starTi = ti;
    } else if (starPi !== -1) {
      pi = starPi + 1;
      ti = ++starTi;
    } else {
      return false;
    }
  }
  while (pi < p.length && p[pi] === '*') pi++;
  return pi === p.length;
}

const configCommand: Handler = (ctx, _c, args, argc, out) => {
  const sub = args[1]!.toUpperCase();
  if (sub === 'GET' && argc >= 3) {
    const patterns = args.slice(2, argc);
    const matches = configValues(ctx.config).filter(([name]) => patterns.some((p) => globMatch(p, name)));
    out.arrayHeader(matches.length * 2);
    for (const [name, value] of matches) {
      out.bulkUtf8(name);
      out.bulkUtf8(value);
    }
  } else if (sub === 'RESETSTAT' && argc === 2) {
    for (const s of COMMAND_LIST) s.calls = 0;
    ctx.stats.commandsProcessed = 0;
    ctx.stats.keyspaceHits = 0;
    ctx.stats.keyspaceMisses = 0;
    out.ok();
  } else if (sub === 'SET') {
    out.error('ERR kvring settings are command-line flags; CONFIG SET is not supported');
  } else {
    out.error(`ERR unknown subcommand or wrong number of arguments for 'config|${args[1]!.toLowerCase()}'`);
  }
};

function writeCommandInfo(out: RespWriter, s: CommandSpec): void {
  out.arrayHeader(6);
  out.bulkUtf8(s.name);
  out.integer(s.arity);
  const flags = [s.write ? 'write' : 'readonly', ...(s.noAuth ? ['no-auth'] : [])];
  out.arrayHeader(flags.length);
  for (const f of flags) out.simple(f);
  const hasKeys = ['get', 'set', 'del', 'exists', 'mget', 'mset'].includes(s.name);
  out.integer(hasKeys ? 1 : 0);
  out.integer(hasKeys ? (s.arity === 2 || s.arity === -3 ? 1 : -1) : 0);
  out.integer(hasKeys ? (s.name === 'mset' ? 2 : 1) : 0);
}

/** COMMAND, COMMAND COUNT, COMMAND INFO name..., COMMAND DOCS (empty: redis-cli then works without hints). */
const command: Handler = (_ctx, _c, args, argc, out) => {
  const sub = argc > 1 ? args[1]!.toUpperCase() : '';
  if (sub === '') {
    out.arrayHeader(COMMAND_LIST.length);
    for (const s of COMMAND_LIST) writeCommandInfo(out, s);
  } else if (sub === 'COUNT') {
    out.integer(COMMAND_LIST.length);
  } else if (sub === 'INFO') {
    out.arrayHeader(argc - 2);
    for (let i = 2; i < argc; i++) {
      const s = lookupCommand(args[i]!);
      if (s === undefined) out.nullArray();
      else writeCommandInfo(out, s);
    }
  } else if (sub === 'DOCS') {
    out.arrayHeader(0);
  } else {
    out.error(`ERR unknown subcommand '${args[1]}'. Try COMMAND HELP.`);
  }
};

const client: Handler = (_ctx, state, args, argc, out) => {
  const sub = args[1]!.toUpperCase();
  if (sub === 'SETNAME' && argc === 3) {
    if (/[\s]/.test(args[2]!)) {
      out.error('ERR Client names cannot contain spaces, newlines or special characters.');
      return;
    }
    state.name = args[2]!;
    out.ok();
  } else if (sub === 'GETNAME' && argc === 2) {
    if (state.name === '') out.nullBulk();
    else out.bulkLatin1(state.name);
  } else if (sub === 'ID' && argc === 2) {
    out.integer(state.id);
  } else if (sub === 'SETINFO' && argc === 4) {
    out.ok();
  } else if (sub === 'LIST') {
    out.bulkUtf8(`id=${state.id} addr=${state.address} name=${state.name} db=0 cmd=client|list\n`);
  } else {
    out.error(`ERR unknown subcommand or wrong number of arguments for 'client|${args[1]!.toLowerCase()}'`);
  }
};

/** HELLO [2 [AUTH user pass] [SETNAME name]]: kvring speaks RESP2 only, as a Redis 7 server answers HELLO 2. */
const hello: Handler = (ctx, state, args, argc, out) => {
  let i = 1;
  if (argc > 1) {
    const version = args[1]!;
    if (version !== '2') {
      out.error('NOPROTO sorry, this protocol version is not supported (kvring speaks RESP2)');
      return;
    }
    i = 2;
  }
  for (; i < argc; i++) {
    const option = args[i]!.toUpperCase();
    if (option === 'AUTH' && i + 2 < argc) {
      if (ctx.config.requirePass !== null && args[i + 2] === ctx.config.requirePass && args[i + 1] === 'default') {
        state.authenticated = true;
      } else {
        out.error('WRONGPASS invalid username-password pair or user is disabled.');
        return;
      }
      i += 2;
    } else if (option === 'SETNAME' && i + 1 < argc) {
      state.name = args[++i]!;
    } else {
      out.error(`ERR Syntax error in HELLO option '${args[i]}'`);
      return;
    }
  }
  if (ctx.config.requirePass !== null && !state.authenticated) {
    out.error('NOAUTH HELLO must be called with the client already authenticated, otherwise the HELLO <proto> AUTH <user> <pass> option can be used to authenticate the client and select the RESP protocol version at the same time');
    return;
  }
  const fields: Array<[string, string | number]> = [
    ['server', 'redis'], ['version', REDIS_COMPAT_VERSION], ['proto', 2], ['id', state.id], ['mode', 'standalone'], ['role', 'master'],
  ];
  out.arrayHeader(fields.length * 2 + 2);
  for (const [k, v] of fields) {
    out.bulkUtf8(k);
    if (typeof v === 'number') out.integer(v);
    else out.bulkUtf8(v);
  }
  out.bulkUtf8('modules');
  out.arrayHeader(0);
};

/** DEBUG SLEEP seconds: blocks the whole server, like Redis's, to inject a stall in tests and benchmarks. */
const debug: Handler = (_ctx, _c, args, argc, out) => {
  const sub = args[1]!.toUpperCase();
  if (sub === 'SLEEP' && argc === 3) {
    const seconds = Number(args[2]);
    if (!Number.isFinite(seconds) || seconds < 0 || seconds > 60) {
      out.error('ERR DEBUG SLEEP takes seconds from 0 to 60');
      return;
    }
    Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, seconds * 1000);
    out.ok();
  } else {
    out.error('ERR DEBUG supports only SLEEP <seconds> in kvring');
  }
};

const COMMAND_LIST: CommandSpec[] = [
  spec('get', 2, get),
  spec('set', -3, set, { write: true }),
  spec('del', -2, del, { write: true }),
  spec('exists', -2, exists),
  spec('mget', -2, mget),
  spec('mset', -3, mset, { write: true }),
  spec('ping', -1, ping),
  spec('echo', 2, echo),
  spec('dbsize', 1, dbsize),
  spec('flushall', -1, flushall, { write: true }),
  spec('info', -1, info),
  spec('save', 1, save, { async: true }),
  spec('bgsave', -1, bgsave),
  spec('lastsave', 1, lastsave),
  spec('shutdown', -1, shutdown, { async: true }),
  spec('quit', -1, quit, { noAuth: true }),
  spec('auth', -2, auth, { noAuth: true }),
  spec('select', 2, select),
  spec('config', -2, configCommand),
  spec('command', -1, command),
  spec('client', -2, client),
  spec('hello', -1, hello, { noAuth: true }),
  spec('debug', -2, debug),
];

/** The verbs of the original Python project (Single-Server-Key-Value-Store), kept so `PUT key1 value1` typed into nc works. */
const ALIASES: Record<string, string> = { put: 'set', delete: 'del', end: 'shutdown' };

const TABLE = new Map<string, CommandSpec>();
for (const s of COMMAND_LIST) {
  TABLE.set(s.name, s);
  TABLE.set(s.name.toUpperCase(), s);
}
for (const [alias, target] of Object.entries(ALIASES)) {
  const s = TABLE.get(target)!;
  TABLE.set(alias, s);
  TABLE.set(alias.toUpperCase(), s);
}

/** Finds a command by name in any letter case; undefined if unknown. Hot path: exact-case hits first. */
export function lookupCommand(name: string): CommandSpec | undefined {
  return TABLE.get(name) ?? TABLE.get(name.toLowerCase());
}

/** Every command once (aliases excluded), for INFO commandstats and COMMAND. */
export function allCommands(): readonly CommandSpec[] {
  return COMMAND_LIST;
}
