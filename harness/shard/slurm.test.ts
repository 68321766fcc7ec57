// End to end on a real (one-node, private) Slurm cluster: `holbench slurm --submit` sends a
// 3-shard array plus the afterok merge job; the merged run must hold every unit once, with
// the same impairment seeds, columns and charts as an unsharded run of the same scenario.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { readFile, readdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { parse } from 'csv-parse/sync';
import { run } from '../../proc/exec.ts';
import { loadScenario } from '../scenario/load.ts';
import { holbench } from '../testdata/cli.ts';
import { SLURM_BINARIES, startSlurmCluster } from './testdata/slurm-cluster.ts';
import { tempDir } from '../../proc/testdata/tmp.ts';

const SCENARIO = new URL('./testdata/shard-tiny.yaml', import.meta.url).pathname;
const SHARDS = 3;
const csv = async (f: string) => parse(await readFile(f, 'utf8'), { columns: true }) as Record<string, string>[];
const header = async (f: string) => (await readFile(f, 'utf8')).split('\n', 1)[0];
const charts = async (dir: string) => (await readdir(dir)).filter((f) => f.endsWith('.vl.json')).sort();

const missing = SLURM_BINARIES.filter((b) => !existsSync(b));
const skip = process.getuid?.() !== 0 ? 'needs root' : missing.length ? `Slurm/munge not installed: ${missing.join(', ')}` : false;

test('slurm: a 3-shard array plus the afterok merge job on a one-node cluster equals an unsharded run', { skip, timeout: 600_000 }, async (t) => {
  const sc = await loadScenario(SCENARIO);
  const units = sc.cells.length * sc.scenario.repetitions;
  assert.ok(units >= SHARDS, 'the scenario has at least one unit per shard');
  const tmp = await tempDir('holbench-slurm-test-');
  t.after(() => rm(tmp, { recursive: true, force: true }));
  const t0 = Date.now();
  const cluster = await startSlurmCluster();
  t.after(() => cluster.stop());
  const tCluster = Date.now() - t0;

  const sub = await holbench(['slurm', SCENARIO, '--shards', String(SHARDS), '--out', tmp, '--submit', '--json'], { env: cluster.env, timeoutMs: 60_000 });
  assert.equal(sub.code, 0, sub.stderr);
  const plan = JSON.parse(sub.stdout);
  assert.match(plan.arrayJobId, /^\d+$/);
  assert.match(plan.mergeJobId, /^\d+$/);
  // the merge job really waits for the array (afterok)
  const dep = await run('env', [`SLURM_CONF=${cluster.env.SLURM_CONF}`, 'scontrol', 'show', 'job', plan.mergeJobId]);
  assert.match(dep.stdout, new RegExp(`Dependency=afterok:${plan.arrayJobId}`));

  // meanwhile, the unsharded reference run of the same scenario (the cluster's jobs queue
  // behind it for the node's CPUs; that only costs time)
  const plain = await holbench(['run', SCENARIO, '--out', join(tmp, 'plain'), '--report-dir', join(tmp, 'plain-reports'), '--json', '--quiet']);
  assert.equal(plain.code, 0, plain.stderr);
  const ref = JSON.parse(plain.stdout);

  // wait (bounded) until the merge job has left the queue
  const deadline = Date.now() + 360_000;
  for (;;) {
    const q = await run('env', [`SLURM_CONF=${cluster.env.SLURM_CONF}`, 'squeue', '-h', '-o', '%i %T %r'], { allowFail: true });
    if (q.exitCode === 0 && q.stdout.trim() === '') break;
    if (Date.now() > deadline) assert.fail(`jobs still queued after 6 min:\n${q.stdout}\n${await cluster.logs()}`);
    await new Promise((r) => setTimeout(r, 1000));
  }
  const tDone = Date.now() - t0;
  const logs = async () => (await Promise.all((await readdir(join(plan.jobDir, 'logs'))).map(async (f) => `--- ${f}\n${await readFile(join(plan.jobDir, 'logs', f), 'utf8')}`))).join('\n');
  assert.ok(existsSync(join(plan.mergedDir, 'run.json')), `merged run.json missing\n${await logs()}`);
  const shardDirs = await readdir(join(plan.jobDir, 'shards'));
  assert.equal(shardDirs.length, SHARDS, `one results folder per array task: ${shardDirs.join(', ')}`);

  // every (cell, rep, protocol) job exactly once, with the seed the unsharded run used
  const merged = await csv(join(plan.mergedDir, 'summary.csv'));
  const reference = await csv(join(ref.outDir, 'summary.csv'));
  const key = (r: Record<string, string>) => `${r.cell}|${r.rep}|${r.protocol}`;
  assert.equal(merged.length, units * sc.protocols.length);
  assert.equal(new Set(merged.map(key)).size, merged.length, 'no job twice');
  assert.deepEqual(merged.map(key).sort(), reference.map(key).sort(), 'the same jobs as the unsharded run');
  const refSeed = new Map(reference.map((r) => [key(r), r.seed]));
  for (const r of merged) assert.equal(r.seed, refSeed.get(key(r)), `${key(r)}: same impairment seed as unsharded`);
  // same unit order as the unsharded run (cell, then repetition)
  const unitOrder = (rows: Record<string, string>[]) => [...new Set(rows.map((r) => `${r.cell}|${r.rep}`))];
  assert.deepEqual(unitOrder(merged), unitOrder(reference));
  // same columns in every CSV, the same chart list in the report
  for (const f of ['summary.csv', 'requests.csv', 'chunks.csv']) assert.equal(await header(join(plan.mergedDir, f)), await header(join(ref.outDir, f)), f);
  assert.deepEqual(await charts(plan.reportDir), await charts(ref.reportDir));
  assert.ok(existsSync(join(plan.reportDir, 'index.html')));
  // provenance: every shard's machine and backend
  const runJson = JSON.parse(await readFile(join(plan.mergedDir, 'run.json'), 'utf8'));
  assert.equal(runJson.merged.shards.length, SHARDS);
  assert.deepEqual(runJson.merged.shards.map((s: { index: number }) => s.index), [1, 2, 3]);
  for (const s of runJson.merged.shards) assert.ok(s.hostname && s.kernel && s.cpu_model && s.backend, JSON.stringify(s));
  assert.deepEqual(runJson.merged.missing_units, []);
  t.diagnostic(`cluster up in ${tCluster} ms; submit to merged report in ${tDone - tCluster} ms (includes the ${SHARDS} exclusive shards run one after another and the unsharded reference run)`);
});
