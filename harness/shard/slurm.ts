// `holbench slurm <scenario> --shards N`: a Slurm job array that runs the shards
// (holbench run --shard auto) and a merge job that depends on it (afterok), written as
// sbatch scripts into one job folder, and optionally submitted.
//
// The job folder (on a filesystem every node sees) holds:
//   <scenario file>    a copy: every shard runs the same text, whatever happens to the original
//   array.sbatch       one array task per shard, --array=1-N, --exclusive (see below)
//   merge.sbatch       holbench merge --from shards/ -> <name>-<stamp>/ and reports/<name>-<stamp>/
//   submit.sh          sbatch array.sbatch, then sbatch --dependency=afterok:<id> merge.sbatch
//   shards/  logs/     written by the jobs
// The scripts call this checkout's Node and CLI by absolute path, so the checkout must be
// at the same path on every node (a shared filesystem), as the job folder must.
import { parseArgs } from 'node:util';
import { copyFileSync, mkdirSync, writeFileSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadScenario, ScenarioError } from '../scenario/load.ts';
import { BACKEND_CHOICES, isBackendChoice } from '../../netem/backends/index.ts';
import { checkOutDir } from '../outpath.ts';
import { safeText } from '../safetext.ts';
import { run } from '../../proc/exec.ts';
import { MAX_SHARDS, shardUnits, ShardError } from './partition.ts';

const USAGE = `usage: holbench slurm <scenario.yaml> --shards N [--partition P] [--time MIN] [--out DIR]
                     [--repetitions N] [--backend B] [--share-nodes] [--submit] [--json]

Writes a Slurm job array (one task per shard: holbench run --shard auto) and a merge job
that starts when every shard succeeded (--dependency=afterok), into DIR/<name>-<stamp>.slurm/
(DIR default results/). --submit submits both with sbatch; otherwise run submit.sh there.

  --shards N       shards (array tasks); at most the (cell, repetition) units of the run
  --partition P    Slurm partition for both jobs
  --time MIN       time limit per shard, minutes (default: the partition's)
  --share-nodes    let shards share a node (default: --exclusive, a node per shard)
  --submit         submit now (sbatch must be on PATH; SLURM_CONF is honoured)
`;

/** A string as one POSIX shell word (single quotes; ' as '\\''). */
export function shQuote(s: string): string {
  return /^[A-Za-z0-9_./:=@%+,-]+$/.test(s) ? s : `'${s.replace(/'/g, `'\\''`)}'`;
}
const shLine = (argv: readonly string[]) => argv.map(shQuote).join(' ');

export interface SlurmPlan {
  jobDir: string;
  arrayScript: string;
  mergeScript: string;
  submitScript: string;
  /** the merged results folder the merge job writes */
  mergedDir: string;
  reportDir: string;
  shards: number;
  units: number;
}

export interface SlurmOptions {
  scenarioFile: string;
  shards: number;
  outRoot?: string;
  partition?: string;
  timeMin?: number;
  repetitions?: number;
  backend?: string;
  shareNodes?: boolean;
  stamp?: string;
}

/** This checkout's Node, tsx loader and CLI: what the job scripts run. */
function holbenchArgv(): string[] {
  return [process.execPath, '--import', import.meta.resolve('tsx'), fileURLToPath(new URL('../cli.ts', import.meta.url))];
}

/** Check the inputs and write the job folder. Throws ScenarioError / ShardError /
 *  OutPathError (bad input) before anything is written. */
export async function writeSlurmJobs(o: SlurmOptions): Promise<SlurmPlan> {
  const loaded = await loadScenario(o.scenarioFile);
  const reps = o.repetitions ?? loaded.scenario.repetitions;
  // more shards than units stops here (ShardError), before anything is written
  shardUnits(loaded.cells.map((c) => c.id), reps, { index: 1, count: o.shards });
  const units = loaded.cells.length * reps;
  const root = checkOutDir(o.outRoot ?? 'results', o.outRoot ? '--out' : 'results folder');
  const stamp = o.stamp ?? new Date().toISOString().replace(/[-:]/g, '').replace(/\.\d+Z$/, 'Z');
  const runName = `${loaded.name}-${stamp}`;
  const jobDir = join(root, `${runName}.slurm`);
  const checkout = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
  mkdirSync(join(jobDir, 'logs'), { recursive: true });
  mkdirSync(join(jobDir, 'shards'), { recursive: true });
  const scenarioCopy = join(jobDir, basename(o.scenarioFile));
  copyFileSync(o.scenarioFile, scenarioCopy);
  const hb = holbenchArgv();
  const common = [
    `#SBATCH --chdir=${shQuote(checkout)}`,
    ...(o.partition ? [`#SBATCH --partition=${shQuote(o.partition)}`] : []),
    '#SBATCH --nodes=1',
    '#SBATCH --ntasks=1',
  ];
  const runArgs = ['run', scenarioCopy, '--shard', 'auto', '--out', join(jobDir, 'shards'), '--no-report', '--quiet',
    ...(o.repetitions ? ['--repetitions', String(o.repetitions)] : []), ...(o.backend ? ['--backend', o.backend] : [])];
  const array = [
    '#!/bin/bash',
    `# holbench: scenario ${loaded.name}, ${units} (cell, repetition) units in ${o.shards} shards (round-robin, harness/shard/partition.ts).`,
    '# Generated by `holbench slurm`; submit with submit.sh (or holbench slurm --submit).',
    `#SBATCH --job-name=${shQuote(`holbench-${loaded.name}`)}`,
    `#SBATCH --array=1-${o.shards}`,
    ...common,
    ...(o.timeMin ? [`#SBATCH --time=${o.timeMin}`] : []),
    `#SBATCH --output=${shQuote(join(jobDir, 'logs', 'shard-%a.out'))}`,
    // a benchmark measures the machine: two shards on one node would compete for its CPUs
    ...(o.shareNodes ? [] : ['#SBATCH --exclusive']),
    'set -euo pipefail',
    '# holbench run needs root (network namespaces, tc, iptables): the job must run as root on the node.',
    '# --shard auto reads SLURM_ARRAY_TASK_ID, SLURM_ARRAY_TASK_MIN and SLURM_ARRAY_TASK_COUNT.',
    `exec ${shLine([...hb, ...runArgs])}`,
    '',
  ].join('\n');
  const mergedDir = join(jobDir, runName);
  const reportRoot = join(jobDir, 'reports');
  const merge = [
    '#!/bin/bash',
    `# holbench: merge the ${o.shards} shards of ${loaded.name}. Submitted with --dependency=afterok:<array job>,`,
    '# so it starts only when every shard succeeded (with --kill-on-invalid-dep=yes it is cancelled otherwise).',
    `#SBATCH --job-name=${shQuote(`holbench-${loaded.name}-merge`)}`,
    ...common,
    `#SBATCH --output=${shQuote(join(jobDir, 'logs', 'merge.out'))}`,
    'set -euo pipefail',
    `exec ${shLine([...hb, 'merge', '--from', join(jobDir, 'shards'), '--out', mergedDir, '--report-dir', reportRoot])}`,
    '',
  ].join('\n');
  const submit = [
    '#!/bin/bash',
    '# Submit the shard array, then the merge job that waits for all of it (afterok).',
    'set -euo pipefail',
    `cd ${shQuote(jobDir)}`,
    'array=$(sbatch --parsable array.sbatch)',
    'array=${array%%;*}   # --parsable prints "id" or "id;cluster"',
    'merge=$(sbatch --parsable --dependency=afterok:"$array" --kill-on-invalid-dep=yes merge.sbatch)',
    'echo "shards: job $array; merge: job ${merge%%;*}"',
    '',
  ].join('\n');
  const arrayScript = join(jobDir, 'array.sbatch');
  const mergeScript = join(jobDir, 'merge.sbatch');
  const submitScript = join(jobDir, 'submit.sh');
  writeFileSync(arrayScript, array, { mode: 0o755 });
  writeFileSync(mergeScript, merge, { mode: 0o755 });
  writeFileSync(submitScript, submit, { mode: 0o755 });
  return { jobDir, arrayScript, mergeScript, submitScript, mergedDir, reportDir: join(reportRoot, runName), shards: o.shards, units };
}

/** Submit the array, then the merge job with afterok on it. Returns both job ids. */
export async function submitSlurmJobs(plan: SlurmPlan): Promise<{ arrayJobId: string; mergeJobId: string }> {
  const id = (out: string) => out.trim().split(';')[0]!;
  const arrayJobId = id((await run('sbatch', ['--parsable', plan.arrayScript])).stdout);
  const mergeJobId = id((await run('sbatch', ['--parsable', `--dependency=afterok:${arrayJobId}`, '--kill-on-invalid-dep=yes', plan.mergeScript])).stdout);
  return { arrayJobId, mergeJobId };
}

export async function slurmCommand(argv: string[]): Promise<number> {
  const err = (m: string) => (process.stderr.write(`holbench slurm: ${safeText(m)}\n`), 2);
  let values, positionals;
  try {
    ({ values, positionals } = parseArgs({
      args: argv, allowPositionals: true, strict: true,
      options: { shards: { type: 'string' }, partition: { type: 'string' }, time: { type: 'string' }, out: { type: 'string' }, repetitions: { type: 'string' }, backend: { type: 'string' }, 'share-nodes': { type: 'boolean' }, submit: { type: 'boolean' }, json: { type: 'boolean' }, help: { type: 'boolean', short: 'h' } },
    }));
  } catch (e) {
    return (err((e as Error).message), process.stderr.write(`\n${USAGE}`), 2);
  }
  if (values.help) return (process.stdout.write(USAGE), 0);
  if (positionals.length !== 1) return (err(`expected one scenario file, got ${positionals.length}`), process.stderr.write(`\n${USAGE}`), 2);
  const shards = /^[0-9]{1,6}$/.test(values.shards ?? '') ? Number(values.shards) : NaN;
  if (!(shards >= 1 && shards <= MAX_SHARDS)) return err(`--shards: expected an integer from 1 to ${MAX_SHARDS}, got "${values.shards ?? ''}"`);
  const timeMin = values.time === undefined ? undefined : /^[0-9]{1,6}$/.test(values.time) && Number(values.time) > 0 ? Number(values.time) : NaN;
  if (Number.isNaN(timeMin)) return err(`--time: expected minutes (a positive integer), got "${values.time}"`);
  const reps = values.repetitions === undefined ? undefined : Number(values.repetitions);
  if (reps !== undefined && !(Number.isInteger(reps) && reps >= 1 && reps <= 100)) return err('--repetitions: expected an integer from 1 to 100');
  if (values.backend !== undefined && !isBackendChoice(values.backend)) return err(`--backend: expected ${BACKEND_CHOICES.join(', ')}, got "${values.backend}"`);
  if (values.partition !== undefined && !/^[A-Za-z0-9_.-]{1,64}$/.test(values.partition)) return err(`--partition: not a partition name: "${values.partition}"`);
  let plan: SlurmPlan;
  try {
    plan = await writeSlurmJobs({ scenarioFile: positionals[0]!, shards, outRoot: values.out, partition: values.partition, timeMin, repetitions: reps, backend: values.backend, shareNodes: values['share-nodes'] });
  } catch (e) {
    if (e instanceof ScenarioError) return (process.stderr.write(`${e.message}\nnothing was written.\n`), 2);
    if (e instanceof ShardError) return err(`--shards ${shards}: ${e.message.replace(/^--shard [^:]*: /, '')}`);
    if (String((e as { code?: unknown })?.code ?? '').startsWith('HOLBENCH_BAD_')) return err((e as Error).message);
    throw e;
  }
  const ids = values.submit ? await submitSlurmJobs(plan) : null;
  if (values.json) process.stdout.write(JSON.stringify({ ...plan, ...ids }, null, 2) + '\n');
  else {
    process.stdout.write(`wrote ${safeText(plan.arrayScript)} (${plan.shards} shards of ${plan.units} units), ${safeText(basename(plan.mergeScript))}, ${safeText(basename(plan.submitScript))}\n`);
    process.stdout.write(ids ? `submitted: shards job ${ids.arrayJobId}, merge job ${ids.mergeJobId} (afterok)\nmerged results: ${safeText(plan.mergedDir)}\n` : `submit with: ${safeText(plan.submitScript)}\n`);
  }
  return 0;
}
