// Sharding a run over several machines: which (cell, repetition) units one shard runs.
//
// A unit is one repetition of one cell, with ALL its protocols: the protocols of a unit are
// a paired comparison (same impairment seed, netem/seed.ts jobSeed(seed, cell id, rep)), so
// they stay on one machine. The seed depends only on the cell and the repetition, never on
// the shard, so a sharded run measures every unit exactly as an unsharded run would.
//
// Rule (deterministic, balanced): units are numbered in the runner's order,
//   u = cellIndex * repetitions + (rep - 1)
// and unit u goes to shard (u mod count) + 1. Shard sizes differ by at most one unit.
// Round-robin rather than contiguous blocks because cells differ in duration (a 10% loss
// cell takes longer than a 0% one): dealing units out in turn gives every shard a mix of
// cells, so shards finish at about the same time; contiguous blocks would give one shard
// all the slow cells.
import { safeText } from '../safetext.ts';

/** Shard `index` of `count`, 1-based (as a user writes it: --shard 2/3). */
export interface Shard {
  index: number;
  count: number;
}

/** One unit: a cell (by id) and a repetition (1-based, as in the CSVs). */
export interface Unit {
  cell: string;
  rep: number;
}

/** Bad --shard input (or an environment that does not say which shard): exit 2. */
export class ShardError extends Error {
  readonly code = 'HOLBENCH_BAD_SHARD';
}

/** Largest shard count accepted (a sanity bound; the unit count bounds it further). */
export const MAX_SHARDS = 10_000;

const positive = (s: string | undefined) => (s !== undefined && /^[0-9]{1,6}$/.test(s) ? Number(s) : NaN);

/** "i/n" -> shard; `auto` reads the scheduler's environment (shardFromEnv). Checks 1 <= i <= n. */
export function parseShard(text: string, env: NodeJS.ProcessEnv = process.env): Shard {
  if (text === 'auto') return shardFromEnv(env);
  const m = /^([^/]*)\/([^/]*)$/.exec(text);
  if (!m) throw new ShardError(`--shard: expected i/n (e.g. 2/3) or auto, got "${safeText(text)}"`);
  return checkShard(positive(m[1]), positive(m[2]), `--shard ${safeText(text)}`);
}

function checkShard(index: number, count: number, what: string): Shard {
  if (!Number.isInteger(count) || count < 1 || count > MAX_SHARDS) throw new ShardError(`${what}: the shard count must be an integer from 1 to ${MAX_SHARDS}`);
  if (!Number.isInteger(index) || index < 1 || index > count) throw new ShardError(`${what}: the shard index must be an integer from 1 to ${count} (shards are numbered from 1)`);
  return { index, count };
}

/** The shard a batch scheduler gave this process:
 *  - Slurm job arrays: SLURM_ARRAY_TASK_ID, SLURM_ARRAY_TASK_MIN and SLURM_ARRAY_TASK_COUNT
 *    (index = id - min + 1, so --array=0-3 and --array=1-4 both work);
 *  - Kubernetes Indexed Jobs: JOB_COMPLETION_INDEX (0-based) plus HOLBENCH_SHARD_COUNT
 *    (Kubernetes does not put the completion count in the environment; the generated Job
 *    sets it, harness/shard/k8s.ts). */
export function shardFromEnv(env: NodeJS.ProcessEnv): Shard {
  if (env.SLURM_ARRAY_TASK_ID !== undefined) {
    const id = positive(env.SLURM_ARRAY_TASK_ID);
    const min = env.SLURM_ARRAY_TASK_MIN === undefined ? 0 : positive(env.SLURM_ARRAY_TASK_MIN);
    const count = positive(env.SLURM_ARRAY_TASK_COUNT);
    if (Number.isNaN(count)) throw new ShardError('--shard auto: SLURM_ARRAY_TASK_ID is set but SLURM_ARRAY_TASK_COUNT is not a number (submit as an array: sbatch --array=1-N)');
    return checkShard(id - min + 1, count, `--shard auto (SLURM_ARRAY_TASK_ID=${safeText(env.SLURM_ARRAY_TASK_ID)}, SLURM_ARRAY_TASK_MIN=${safeText(env.SLURM_ARRAY_TASK_MIN ?? '')}, SLURM_ARRAY_TASK_COUNT=${safeText(env.SLURM_ARRAY_TASK_COUNT ?? '')})`);
  }
  if (env.JOB_COMPLETION_INDEX !== undefined) {
    const count = positive(env.HOLBENCH_SHARD_COUNT);
    if (Number.isNaN(count)) throw new ShardError('--shard auto: JOB_COMPLETION_INDEX is set but HOLBENCH_SHARD_COUNT (the number of shards) is not');
    return checkShard(positive(env.JOB_COMPLETION_INDEX) + 1, count, `--shard auto (JOB_COMPLETION_INDEX=${safeText(env.JOB_COMPLETION_INDEX)}, HOLBENCH_SHARD_COUNT=${safeText(env.HOLBENCH_SHARD_COUNT ?? '')})`);
  }
  throw new ShardError('--shard auto: no scheduler told this process its shard (neither SLURM_ARRAY_TASK_ID nor JOB_COMPLETION_INDEX is set); use --shard i/n');
}

/** Every unit of a run, in the runner's order (cell by cell, repetitions 1..reps). */
export function allUnits(cellIds: readonly string[], repetitions: number): Unit[] {
  return cellIds.flatMap((cell) => Array.from({ length: repetitions }, (_, i) => ({ cell, rep: i + 1 })));
}

/** The unit number of (cell index, rep) in the runner's order: the one definition of it. */
export const unitIndex = (cellIndex: number, rep: number, repetitions: number) => cellIndex * repetitions + (rep - 1);

/** Whether unit number `u` (runner order, 0-based) belongs to `shard`. */
export function inShard(u: number, shard: Shard): boolean {
  return u % shard.count === shard.index - 1;
}

/** The units shard `shard` runs, in the runner's order. Throws ShardError when there are
 *  fewer units than shards (a shard would have nothing to do). */
export function shardUnits(cellIds: readonly string[], repetitions: number, shard: Shard): Unit[] {
  const all = allUnits(cellIds, repetitions);
  if (shard.count > all.length) {
    throw new ShardError(`--shard ${shard.index}/${shard.count}: the run has only ${all.length} unit(s) (${cellIds.length} cell(s) x ${repetitions} repetition(s)); use at most ${all.length} shards`);
  }
  // allUnits lists units in unitIndex order, so the position is the unit number
  return all.filter((_, u) => inShard(u, shard));
}

export const unitKey = (u: Unit) => `${u.cell}\u0000${u.rep}`;

/** The rule in words, recorded in run.json `shard.rule`. */
export const PARTITION_RULE = 'unit u = cellIndex * repetitions + (rep - 1) in runner order; shard = (u mod count) + 1; all protocols of a unit in one shard';
