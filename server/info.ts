import type { CommandContext } from './command-context.js';
import { KVRING_VERSION, REDIS_COMPAT_VERSION } from './version.js';

/** A command's INFO commandstats counter. */
export interface CommandCalls {
  readonly name: string;
  readonly calls: number;
}

type Section = Array<[string, string | number]>;

function sections(ctx: CommandContext, commands: readonly CommandCalls[]): Record<string, () => Section> {
  return {
    server: () => [
      ['redis_version', REDIS_COMPAT_VERSION],
      ['kvring_version', KVRING_VERSION],
      ['redis_mode', 'standalone'],
      ['os', `${process.platform} ${process.arch}`],
      ['node_version', process.version],
      ['process_id', process.pid],
      ['tcp_port', ctx.boundPort()],
      ['uptime_in_seconds', Math.floor((Date.now() - ctx.stats.startedAtMs) / 1000)],
      ['executable', process.argv[1] ?? ''],
    ],
    clients: () => [
      ['connected_clients', ctx.connectedClients()],
      ['maxclients', ctx.config.maxClients],
      ['blocked_clients', 0],
    ],
    memory: () => {
      const m = process.memoryUsage();
      return [
        ['used_memory', m.heapUsed + m.external + m.arrayBuffers],
        ['used_memory_rss', m.rss],
        ['used_memory_heap_total', m.heapTotal],
        ['used_memory_dataset_payload', ctx.store.payloadBytes],
      ];
    },
    persistence: () => [['loading', 0], ...ctx.durability.info()],
    stats: () => [
      ['total_connections_received', ctx.stats.connectionsReceived],
      ['total_commands_processed', ctx.stats.commandsProcessed],
      ['instantaneous_ops_per_sec', ctx.instantaneousOpsPerSec()],
      ['rejected_connections', ctx.stats.rejectedConnections],
      ['keyspace_hits', ctx.stats.keyspaceHits],
      ['keyspace_misses', ctx.stats.keyspaceMisses],
      ['total_error_replies_protocol', ctx.stats.protocolErrors],
    ],
    commandstats: () => commands.filter((c) => c.calls > 0).map((c) => [`cmdstat_${c.name}`, `calls=${c.calls}`]),
    keyspace: () => (ctx.store.size > 0 ? [['db0', `keys=${ctx.store.size},expires=0,avg_ttl=0`]] : []),
  };
}

const DEFAULT_SECTIONS = ['server', 'clients', 'memory', 'persistence', 'stats', 'keyspace'];

/** INFO's text: `# Section` headers and `name:value` lines, CRLF-separated, as Redis writes them. */
export function infoText(ctx: CommandContext, requested: string[], commands: readonly CommandCalls[]): string {
  const all = sections(ctx, commands);
  let names: string[];
  if (requested.length === 0 || requested.includes('default')) names = DEFAULT_SECTIONS;
  else if (requested.includes('all') || requested.includes('everything')) names = Object.keys(all);
  else names = requested.filter((n) => n in all);
  const parts: string[] = [];
  for (const name of names) {
    const lines = all[name]!();
    parts.push(`# ${name[0]!.toUpperCase()}${name.slice(1)}\r\n${lines.map(([k, v]) => `${k}:${v}`).join('\r\n')}${lines.length > 0 ? '\r\n' : ''}`);
  }
  return parts.join('\r\n');
}
