// Workloads: which operations a step issues and in what proportion. Single operations (put, get,
// delete: the three charts of the original Python project), custom mixes (`--mix get:90,put:10`) and YCSB-style presets
// kept as data files in bench/workloads/*.json, whose first field says what they model.

import { BenchConfigError } from './errors.js';
import { OPERATIONS, type Operation } from './results.js';
import ycsbA from './workloads/ycsb-a.json' with { type: 'json' };
import ycsbB from './workloads/ycsb-b.json' with { type: 'json' };
import ycsbC from './workloads/ycsb-c.json' with { type: 'json' };

/** How keys are drawn (worker/keygen.ts implements each). */
export const KEY_DISTRIBUTIONS = ['uniform', 'zipfian', 'sequential'] as const;
export type KeyDistribution = (typeof KEY_DISTRIBUTIONS)[number];

export interface Workload {
  /** Label in results and charts: 'put', 'ycsb-a', 'mix-get90-put10'. */
  name: string;
  /** Relative weights per operation; only positive entries are issued. */
  mix: Record<Operation, number>;
  /** A preset's own key distribution; null = use --key_dist. */
  keyDist: KeyDistribution | null;
  description: string;
}

interface PresetFile {
  models: string;
  mix: Partial<Record<string, number>>;
  keyDist?: string;
}

const PRESET_FILES: Record<string, PresetFile> = { 'ycsb-a': ycsbA, 'ycsb-b': ycsbB, 'ycsb-c': ycsbC };

/** Names accepted by --workloads and --mix besides mix specs. */
export const PRESET_NAMES = Object.keys(PRESET_FILES);

const OP_ALIASES: Record<string, Operation> = {
  put: 'put',
  set: 'put',
  update: 'put',
  get: 'get',
  read: 'get',
  delete: 'delete',
  del: 'delete',
};

function zeroMix(): Record<Operation, number> {
  return { put: 0, get: 0, delete: 0 };
}

function presetWorkload(name: string): Workload {
  const file = PRESET_FILES[name]!;
  const mix = zeroMix();
  for (const [op, weight] of Object.entries(file.mix)) {
    const canonical = OP_ALIASES[op];
    if (canonical === undefined || weight === undefined) throw new BenchConfigError(`workload preset ${name}: unknown operation "${op}"`);
    mix[canonical] = weight;
  }
  const keyDist = file.keyDist ?? null;
  if (keyDist !== null && !(KEY_DISTRIBUTIONS as readonly string[]).includes(keyDist)) {
    throw new BenchConfigError(`workload preset ${name}: keyDist must be one of ${KEY_DISTRIBUTIONS.join(', ')}`);
  }
  return { name, mix, keyDist: keyDist as KeyDistribution | null, description: file.models };
}

/**
 * Parses one workload name: an operation (put/get/delete), a preset (ycsb-a, or just a/b/c), or
 * a mix spec "op:weight,op:weight" (ops put|set, get, delete|del; weights ≥ 0, not all 0).
 */
export function parseWorkload(text: string): Workload {
  const spec = text.trim().toLowerCase();
  if ((OPERATIONS as readonly string[]).includes(spec)) {
    const mix = zeroMix();
    mix[spec as Operation] = 100;
    return { name: spec, mix, keyDist: null, description: `${spec.toUpperCase()} only` };
  }
  const preset = spec.startsWith('ycsb-') ? spec : `ycsb-${spec}`;
  if (PRESET_FILES[preset] !== undefined) return presetWorkload(preset);
  if (!spec.includes(':')) {
    throw new BenchConfigError(
      `unknown workload "${text}": use put, get, delete, a preset (${PRESET_NAMES.join(', ')}) or a mix like get:90,put:10`,
    );
  }
  const mix = zeroMix();
  for (const part of spec.split(',')) {
    const [rawOp, rawWeight, extra] = part.split(':').map((s) => s.trim());
    const op = rawOp === undefined ? undefined : OP_ALIASES[rawOp];
    const weight = Number(rawWeight);
    if (op === undefined || extra !== undefined || rawWeight === undefined || rawWeight === '' || !Number.isFinite(weight) || weight < 0) {
      throw new BenchConfigError(`bad mix entry "${part}" in "${text}": write op:weight with op one of put, get, delete and weight >= 0, e.g. get:90,put:10`);
    }
    mix[op] += weight;
  }
  const total = mix.put + mix.get + mix.delete;
  if (total <= 0) throw new BenchConfigError(`mix "${text}" has no positive weight: give at least one, e.g. get:90,put:10`);
  const parts = OPERATIONS.filter((op) => mix[op] > 0).map((op) => `${op}${round2((mix[op] * 100) / total)}`);
  return { name: `mix-${parts.join('-')}`, mix, keyDist: null, description: `mix ${parts.join(' ')} (%)` };
}

function round2(x: number): number {
  return Math.round(x * 100) / 100;
}

/** The operations a workload issues. */
export function operationsOf(w: Workload): Operation[] {
  return OPERATIONS.filter((op) => w.mix[op] > 0);
}

/**
 * A DELETE-only workload deletes keys preloaded for it, one each, so every DELETE deletes.
 * Other workloads with DELETEs in a mix pick keys from the key space and may miss.
 */
export function isDeleteOnly(w: Workload): boolean {
  return w.mix.delete > 0 && w.mix.get === 0 && w.mix.put === 0;
}

/** GETs (and mixed DELETEs) read the key space: it is preloaded first so they hit. */
export function needsKeySpacePreload(w: Workload): boolean {
  return !isDeleteOnly(w) && (w.mix.get > 0 || w.mix.delete > 0);
}
