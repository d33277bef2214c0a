// --cleanup: deletes from the servers every key a run may have written — its shared key space and
// each worker's DELETE namespace up to the numbers it used — with pipelined DELs of many keys each.
// The keys are sent to every server, not routed: DEL of a key a server does not hold costs nothing,
// and a key written to a fallback during a failover is found wherever it went.

import { oneShot } from '../../protocol/one-shot.js';
import { parseAddress } from '../../protocol/address.js';

/** Keys per DEL command and commands per round trip: big enough to be quick, small enough for any server's limits. */
const KEYS_PER_DEL = 500;
const DELS_PER_WRITE = 20;

/** DELs `keys` on every server in `addresses`; resolves with how many keys the servers removed. */
export async function deleteKeys(addresses: readonly string[], keys: readonly string[], timeoutMs: number): Promise<number> {
  let removed = 0;
  for (const address of addresses) {
    const { host, port } = parseAddress(address);
    for (let i = 0; i < keys.length; i += KEYS_PER_DEL * DELS_PER_WRITE) {
      const commands: string[][] = [];
      for (let j = i; j < Math.min(keys.length, i + KEYS_PER_DEL * DELS_PER_WRITE); j += KEYS_PER_DEL) {
        commands.push(['DEL', ...keys.slice(j, j + KEYS_PER_DEL)]);
      }
      for (const reply of await oneShot(host, port, commands, timeoutMs)) if (typeof reply === 'number') removed += reply;
    }
  }
  return removed;
}
