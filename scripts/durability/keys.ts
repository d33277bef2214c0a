// Names and values of the verifier's writes. Every write has a unique key made of the run tag,
// the round (kill number), the connection and a sequence number, so acknowledged writes can be
// recorded as a timestamp per sequence number and re-derived for the read-back; the value is
// derived from the key, so a value that comes back wrong (not just missing) is caught.

/** The key of write `seq` of connection `conn` in round `round` of run `runTag`. */
export function durabilityKey(runTag: string, round: number, conn: number, seq: number): string {
  return `dur:${runTag}:${round}:${conn}:${seq}`;
}

/** The value written under `key`: the key, a colon, then 'v' up to `valueBytes` (at least the key). */
export function durabilityValue(key: string, valueBytes: number): string {
  const head = `${key}:`;
  return head.length >= valueBytes ? head : head + 'v'.repeat(valueBytes - head.length);
}
