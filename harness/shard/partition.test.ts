// The partition: every unit in exactly one shard, balanced, deterministic, protocols of a
// unit together; --shard parsing and `auto` from Slurm / Kubernetes environments.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { allUnits, parseShard, shardFromEnv, ShardError, shardUnits, unitIndex, unitKey } from './partition.ts';
import { jobSeed } from '../../netem/seed.ts';
import { holbench } from '../testdata/cli.ts';
import { readdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { tempDir } from '../../proc/testdata/tmp.ts';

const SCENARIO = new URL('./testdata/shard-tiny.yaml', import.meta.url).pathname;

test('partition: every unit in exactly one shard, sizes within one, same answer every time', () => {
  let cases = 0;
  for (const cells of [1, 2, 3, 7]) {
    for (const reps of [1, 2, 5]) {
      const ids = Array.from({ length: cells }, (_, i) => `loss_pct=${i}`);
      const all = allUnits(ids, reps);
      assert.equal(all.length, cells * reps);
      for (let n = 1; n <= all.length; n++) {
        const parts = Array.from({ length: n }, (_, i) => shardUnits(ids, reps, { index: i + 1, count: n }));
        const seen = parts.flat().map(unitKey);
        assert.equal(seen.length, all.length, `${cells}x${reps}/${n}: units counted once`);
        assert.deepEqual(new Set(seen), new Set(all.map(unitKey)), `${cells}x${reps}/${n}: every unit covered`);
        const sizes = parts.map((p) => p.length);
        assert.ok(Math.max(...sizes) - Math.min(...sizes) <= 1, `${cells}x${reps}/${n}: balanced ${sizes}`);
        assert.ok(sizes.every((s) => s >= 1), 'no empty shard');
        assert.deepEqual(parts, Array.from({ length: n }, (_, i) => shardUnits(ids, reps, { index: i + 1, count: n })), 'deterministic');
        cases++;
      }
    }
  }
  assert.ok(cases > 50, `${cases} partitions checked`);
});

test('partition: round-robin mixes cells (two shards of 2 cells x 2 reps each get both cells)', () => {
  const ids = ['loss_pct=0', 'loss_pct=5'];
  for (const index of [1, 2]) assert.deepEqual(new Set(shardUnits(ids, 2, { index, count: 2 }).map((u) => u.cell)), new Set(ids));
  // the impairment seed depends on cell and repetition only, so a shard meets the seeds the
  // unsharded run would
  const s = shardUnits(ids, 2, { index: 2, count: 2 });
  assert.deepEqual(s.map((u) => jobSeed(7, u.cell, u.rep)), [jobSeed(7, 'loss_pct=0', 2), jobSeed(7, 'loss_pct=5', 2)]);
});

test('parseShard: i/n accepted, 3/2 0/2 a/b and friends refused with ShardError', () => {
  assert.deepEqual(parseShard('2/3'), { index: 2, count: 3 });
  assert.deepEqual(parseShard('1/1'), { index: 1, count: 1 });
  for (const bad of ['3/2', '0/2', 'a/b', '1/0', '-1/2', '1.5/2', '2', '1/2/3', '', '/2', '1/', ' 1/2', '1/99999999']) {
    assert.throws(() => parseShard(bad, {}), ShardError, bad);
  }
  assert.throws(() => shardUnits(['a', 'b'], 2, { index: 1, count: 5 }), /only 4 unit\(s\)/);
});

test('shard auto: Slurm arrays (0- or 1-based), Kubernetes Indexed Jobs, and nothing set', () => {
  assert.deepEqual(shardFromEnv({ SLURM_ARRAY_TASK_ID: '1', SLURM_ARRAY_TASK_MIN: '1', SLURM_ARRAY_TASK_COUNT: '3' }), { index: 1, count: 3 });
  assert.deepEqual(shardFromEnv({ SLURM_ARRAY_TASK_ID: '0', SLURM_ARRAY_TASK_MIN: '0', SLURM_ARRAY_TASK_COUNT: '3' }), { index: 1, count: 3 });
  assert.deepEqual(shardFromEnv({ SLURM_ARRAY_TASK_ID: '3', SLURM_ARRAY_TASK_MIN: '1', SLURM_ARRAY_TASK_COUNT: '3' }), { index: 3, count: 3 });
  assert.deepEqual(shardFromEnv({ JOB_COMPLETION_INDEX: '0', HOLBENCH_SHARD_COUNT: '4' }), { index: 1, count: 4 });
  assert.deepEqual(shardFromEnv({ JOB_COMPLETION_INDEX: '3', HOLBENCH_SHARD_COUNT: '4' }), { index: 4, count: 4 });
  assert.throws(() => shardFromEnv({ JOB_COMPLETION_INDEX: '4', HOLBENCH_SHARD_COUNT: '4' }), ShardError);
  assert.throws(() => shardFromEnv({ JOB_COMPLETION_INDEX: '0' }), /HOLBENCH_SHARD_COUNT/);
  assert.throws(() => shardFromEnv({ SLURM_ARRAY_TASK_ID: '2' }), /SLURM_ARRAY_TASK_COUNT/);
  assert.throws(() => shardFromEnv({}), /neither SLURM_ARRAY_TASK_ID nor JOB_COMPLETION_INDEX/);
});

test('run --shard: bad values exit 2 with the reason, before anything is built', async (t) => {
  const out = await tempDir('holbench-shard-bad-');
  t.after(() => rm(out, { recursive: true, force: true }));
  const cases: [string[], RegExp, Record<string, string>?][] = [
    [['--shard', '3/2'], /shard index must be an integer from 1 to 2/],
    [['--shard', '0/2'], /shard index must be an integer from 1 to 2/],
    [['--shard', 'a/b'], /shard count must be an integer/],
    [['--shard', '5/5'], /only 4 unit\(s\)/],
    [['--shard', 'auto'], /neither SLURM_ARRAY_TASK_ID nor JOB_COMPLETION_INDEX/],
    [['--shard', 'auto'], /shard index must be an integer from 1 to 2/, { JOB_COMPLETION_INDEX: '2', HOLBENCH_SHARD_COUNT: '2' }],
  ];
  for (const [args, re, env] of cases) {
    const r = await holbench(['run', SCENARIO, '--out', join(out, 'results'), ...args], { env: env ?? {}, timeoutMs: 60_000 });
    assert.equal(r.code, 2, `${args.join(' ')}: ${r.stderr}`);
    assert.match(r.stderr, re, args.join(' '));
  }
  assert.deepEqual(await readdir(out), [], 'nothing written');
});

test('partition: allUnits lists units in unitIndex order (what the runner filters by)', () => {
  const ids = ['a', 'b', 'c'];
  const reps = 4;
  allUnits(ids, reps).forEach((u, i) => assert.equal(unitIndex(ids.indexOf(u.cell), u.rep, reps), i));
});
