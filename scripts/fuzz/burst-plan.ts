import { Prng } from '../../bench/prng.js';
import { defang } from './defang.js';
import { generateFrame, type FrameKind } from './frames.js';

// One burst of the fuzzer, decided before any byte is sent: for each connection, the bytes, where
// they are cut into separate writes, and how the connection ends. Pure: (seed, burst index,
// options) → plan, so `--seed S` replays a campaign and a case names the burst that caused it.

/** How a connection ends once its bytes are written. */
export type CloseMode =
  /** Half-close (FIN) and wait for the server to close: every complete command gets its reply. */
  | 'fin'
  /** Abort right after the last write (RST): the server must cope with replies nobody reads. */
  | 'reset'
  /** Abort in the middle of the bytes, as a client that crashes mid-command. */
  | 'mid-send';

export interface ConnectionPlan {
  /** Every frame of this connection, concatenated (a pipeline). */
  bytes: Buffer;
  /** Offsets where the bytes are split into separate socket writes, ascending, inside (0, length). */
  cuts: number[];
  closeMode: CloseMode;
  /** For 'mid-send': send only bytes [0, stopAt). */
  stopAt: number;
  frames: number;
  framesByKind: Record<FrameKind, number>;
}

export interface BurstPlan {
  seed: number;
  burst: number;
  connections: ConnectionPlan[];
}

export interface BurstOptions {
  /** Connections opened at once in the burst. */
  connections: number;
  /** Each connection sends 1 to this many frames. */
  maxFramesPerConnection: number;
  maxFrameBytes: number;
  /** Upper-case command names not generated as valid commands (see FrameOptions.avoid). */
  avoidCommands?: ReadonlySet<string>;
}

/** Per-connection probability of a malformed frame: from clean pipelines to pure garbage. */
const HOSTILITY_LEVELS: readonly number[] = [0, 0.05, 0.2, 0.6, 1];

export function emptyKindCounts(): Record<FrameKind, number> {
  return { resp: 0, inline: 0, mutated: 0, noise: 0, hostile: 0 };
}

/** The plan of burst number `burst` of the campaign seeded with `seed`. */
export function planBurst(seed: number, burst: number, options: BurstOptions): BurstPlan {
  const rng = new Prng(seed, burst);
  const connections: ConnectionPlan[] = [];
  for (let c = 0; c < options.connections; c++) connections.push(planConnection(rng, options));
  return { seed, burst, connections };
}

function planConnection(rng: Prng, options: BurstOptions): ConnectionPlan {
  const frameCount = rng.between(1, options.maxFramesPerConnection);
  const framesByKind = emptyKindCounts();
  const parts: Buffer[] = [];
  const frameOptions = { maxFrameBytes: options.maxFrameBytes, hostility: rng.pick(HOSTILITY_LEVELS), avoid: options.avoidCommands };
  for (let i = 0; i < frameCount; i++) {
    const frame = generateFrame(rng, frameOptions);
    defang(frame.bytes);
    framesByKind[frame.kind]++;
    parts.push(frame.bytes);
  }
  const bytes = Buffer.concat(parts);
  const cuts = planCuts(rng, bytes.length);
  const r = rng.nextFloat();
  const closeMode: CloseMode = r < 0.7 ? 'fin' : r < 0.9 ? 'reset' : 'mid-send';
  const stopAt = closeMode === 'mid-send' ? rng.nextBelow(bytes.length + 1) : bytes.length;
  return { bytes, cuts, closeMode, stopAt, frames: frameCount, framesByKind };
}

/**
 * Where to split `length` bytes into writes: usually whole or in a few random pieces; sometimes
 * one byte at a time for the first 64 bytes, so that every header is parsed across reads.
 */
function planCuts(rng: Prng, length: number): number[] {
  if (length <= 1) return [];
  const r = rng.nextFloat();
  const cuts = new Set<number>();
  if (r < 0.4) return [];
  if (r < 0.85) {
    const n = rng.between(1, 8);
    for (let i = 0; i < n; i++) cuts.add(rng.between(1, length - 1));
  } else {
    const dribble = Math.min(length - 1, 64);
    for (let i = 1; i <= dribble; i++) cuts.add(i);
  }
  return [...cuts].sort((a, b) => a - b);
}
