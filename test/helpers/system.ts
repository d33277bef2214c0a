import { spawnSync } from 'node:child_process';

/** Whether an optional peer program (redis-server, redis-cli, ...) is on PATH; tests skip visibly without it. */
export function hasCommand(name: string): boolean {
  return spawnSync('sh', ['-c', `command -v ${name}`], { stdio: 'ignore' }).status === 0;
}
