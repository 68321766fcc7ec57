// What `holbench slurm` (slurm.ts) and `holbench k8s` (k8s.ts) share: the check of a sharded
// run before anything is written, the holbench command lines of a shard and of the merge,
// and the commands' answer to bad input. The schedulers' own objects stay in their files.
import { BACKEND_CHOICES, isBackendChoice } from '../../netem/backends/index.ts';
import { loadScenario, ScenarioError, type LoadedScenario } from '../scenario/load.ts';
import { checkOutDir } from '../outpath.ts';
import { shardUnits, ShardError } from './partition.ts';

export interface ShardedRunOptions {
  scenarioFile: string;
  shards: number;
  outRoot?: string;
  repetitions?: number;
  backend?: string;
  stamp?: string;
}

export interface ShardedRun {
  loaded: LoadedScenario;
  /** (cell, repetition) units of the run */
  units: number;
  /** the checked results root (--out, default results/) */
  root: string;
  /** `<scenario name>-<stamp>`: names the merged run and the job folder */
  tag: string;
  stamp: string;
}

/** Load the scenario and check the shard count against its units and the output root.
 *  Throws ScenarioError / ShardError / OutPathError (bad input); writes nothing. */
export async function planShardedRun(o: ShardedRunOptions): Promise<ShardedRun> {
  const loaded = await loadScenario(o.scenarioFile);
  const reps = o.repetitions ?? loaded.scenario.repetitions;
  // more shards than units stops here (ShardError), before anything is written
  shardUnits(loaded.cells.map((c) => c.id), reps, { index: 1, count: o.shards });
  const units = loaded.cells.length * reps;
  const root = checkOutDir(o.outRoot ?? 'results', o.outRoot ? '--out' : 'results folder');
  const stamp = o.stamp ?? new Date().toISOString().replace(/[-:]/g, '').replace(/\.\d+Z$/, 'Z');
  return { loaded, units, root, tag: `${loaded.name}-${stamp}`, stamp };
}

/** holbench arguments of every shard (the scheduler's environment says which: --shard auto). */
export function shardRunArgs(scenario: string, shardsDir: string, o: ShardedRunOptions): string[] {
  return ['run', scenario, '--shard', 'auto', '--out', shardsDir, '--no-report', '--quiet',
    ...(o.repetitions ? ['--repetitions', String(o.repetitions)] : []), ...(o.backend ? ['--backend', o.backend] : [])];
}

/** holbench arguments of the merge job. */
export function mergeArgs(shardsDir: string, mergedDir: string, reportDir: string): string[] {
  return ['merge', '--from', shardsDir, '--out', mergedDir, '--report-dir', reportDir];
}

/** --repetitions and --backend as both commands take them: the values, or the problem. */
export function runFlags(v: { repetitions?: string; backend?: string }): { repetitions?: number; backend?: string } | { problem: string } {
  const repetitions = v.repetitions === undefined ? undefined : Number(v.repetitions);
  if (repetitions !== undefined && !(Number.isInteger(repetitions) && repetitions >= 1 && repetitions <= 100)) return { problem: '--repetitions: expected an integer from 1 to 100' };
  if (v.backend !== undefined && !isBackendChoice(v.backend)) return { problem: `--backend: expected ${BACKEND_CHOICES.join(', ')}, got "${v.backend}"` };
  return { repetitions, backend: v.backend };
}

/** The exit code for what writing the jobs threw: bad input is reported (`err`, prefixed
 *  with the command) and exits 2 with nothing written; anything else is rethrown. */
export function badInputExit(e: unknown, shards: number, err: (m: string) => number): number {
  if (e instanceof ScenarioError) return (process.stderr.write(`${e.message}\nnothing was written.\n`), 2);
  if (e instanceof ShardError) return err(`--shards ${shards}: ${e.message.replace(/^--shard [^:]*: /, '')}`);
  if (String((e as { code?: unknown })?.code ?? '').startsWith('HOLBENCH_BAD_')) return err((e as Error).message);
  throw e;
}
