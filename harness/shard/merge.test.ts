// holbench merge on real shard folders (two shards of the tiny scenario, run through real
// namespaces): a complete set merges into one run with its report; missing units exit 1,
// folders of different runs, duplicated units and a used --out exit 2; nothing half-written.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { cp, mkdir, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { parse } from 'csv-parse/sync';
import { loadScenario } from '../scenario/load.ts';
import { holbench } from '../testdata/cli.ts';
import { shardUnits } from './partition.ts';
import { tempDir } from '../../proc/testdata/tmp.ts';

const SCENARIO = new URL('./testdata/shard-tiny.yaml', import.meta.url).pathname;
const csv = async (f: string) => parse(await readFile(f, 'utf8'), { columns: true }) as Record<string, string>[];

test('merge: complete, partial, mismatched and duplicated shard sets', { skip: process.getuid?.() !== 0 ? 'needs root' : false, timeout: 300_000 }, async (t) => {
  const sc = await loadScenario(SCENARIO);
  const reps = sc.scenario.repetitions;
  const tmp = await tempDir('holbench-merge-test-');
  t.after(() => rm(tmp, { recursive: true, force: true }));
  const shards: string[] = [];
  for (const i of [1, 2]) {
    const r = await holbench(['run', SCENARIO, '--shard', `${i}/2`, '--out', join(tmp, 'shards'), '--no-report', '--json', '--quiet']);
    assert.equal(r.code, 0, r.stderr);
    const res = JSON.parse(r.stdout);
    shards.push(res.outDir);
    // each shard ran exactly its units, all protocols of each
    const rows = await csv(join(res.outDir, 'summary.csv'));
    const mine = shardUnits(sc.cells.map((c) => c.id), reps, { index: i, count: 2 });
    assert.deepEqual([...new Set(rows.map((x) => `${x.cell}|${x.rep}`))], mine.map((u) => `${u.cell}|${u.rep}`), `shard ${i} units`);
    assert.equal(rows.length, mine.length * sc.protocols.length);
    const run = JSON.parse(await readFile(join(res.outDir, 'run.json'), 'utf8'));
    assert.deepEqual({ index: run.shard.index, count: run.shard.count }, { index: i, count: 2 });
    assert.match(run.scenario_sha256, /^[0-9a-f]{64}$/);
  }
  const merge = (dirs: string[], out: string, ...more: string[]) => holbench(['merge', ...dirs, '--out', out, ...more], { timeoutMs: 120_000 });

  // complete set: every unit once, rows untouched, in the runner's order; a report
  const out = join(tmp, 'merged', 'shard-tiny-all');
  const ok = await merge([shards[1]!, shards[0]!], out, '--report-dir', join(tmp, 'reports'), '--json');
  assert.equal(ok.code, 0, ok.stderr);
  const merged = await csv(join(out, 'summary.csv'));
  assert.equal(merged.length, sc.cells.length * reps * sc.protocols.length);
  const fromShards = (await Promise.all(shards.map((d) => csv(join(d, 'summary.csv'))))).flat();
  const key = (r: Record<string, string>) => `${r.cell}|${r.rep}|${r.protocol}`;
  const byKey = new Map(fromShards.map((r) => [key(r), r]));
  for (const r of merged) assert.deepEqual(r, byKey.get(key(r)), `${key(r)}: the shard's row, not recomputed or averaged`);
  const order = [...new Set(merged.map((r) => `${r.cell}|${r.rep}`))];
  assert.deepEqual(order, sc.cells.flatMap((c) => Array.from({ length: reps }, (_, i) => `${c.id}|${i + 1}`)), 'runner order');
  for (const f of ['requests.csv', 'chunks.csv']) {
    const n = (await Promise.all(shards.map((d) => csv(join(d, f))))).reduce((s, rows) => s + rows.length, 0);
    assert.equal((await csv(join(out, f))).length, n, `${f}: every shard row once`);
  }
  assert.ok(existsSync(join(tmp, 'reports', 'shard-tiny-all', 'index.html')), 'report built from the merged rows');
  const runJson = JSON.parse(await readFile(join(out, 'run.json'), 'utf8'));
  assert.equal(runJson.merged.shards.length, 2);
  assert.equal(runJson.shard, undefined);

  // one shard only: exit 1, the missing units listed, nothing written
  const half = await merge([shards[0]!], join(tmp, 'half'));
  assert.equal(half.code, 1, half.stderr);
  const missing = shardUnits(sc.cells.map((c) => c.id), reps, { index: 2, count: 2 });
  for (const u of missing) assert.ok(half.stderr.includes(`cell ${u.cell} repetition ${u.rep}`), half.stderr);
  assert.equal(existsSync(join(tmp, 'half')), false);
  // ... unless --allow-partial: written, with the missing units in run.json
  const part = await merge([shards[0]!], join(tmp, 'half'), '--no-report');
  assert.equal(part.code, 1);
  const part2 = await merge([shards[0]!], join(tmp, 'half'), '--no-report', '--allow-partial');
  assert.equal(part2.code, 0, part2.stderr);
  assert.equal(JSON.parse(await readFile(join(tmp, 'half', 'run.json'), 'utf8')).merged.missing_units.length, missing.length);

  // a different scenario, a different holbench version: exit 2, nothing written
  for (const [what, edit] of [
    ['scenario content', (r: any) => (r.scenario_sha256 = 'f'.repeat(64))],
    ['holbench version', (r: any) => (r.versions.holbench = '9.9.9')],
    ['seed', (r: any) => (r.seed = 12345)],
  ] as const) {
    const other = join(tmp, `other-${what.replace(/ /g, '-')}`);
    await cp(shards[1]!, other, { recursive: true });
    const rj = JSON.parse(await readFile(join(other, 'run.json'), 'utf8'));
    edit(rj);
    await writeFile(join(other, 'run.json'), JSON.stringify(rj));
    const bad = await merge([shards[0]!, other], join(tmp, 'bad'));
    assert.equal(bad.code, 2, `${what}: ${bad.stderr}`);
    assert.match(bad.stderr, new RegExp(`differ in ${what}`));
    assert.equal(existsSync(join(tmp, 'bad')), false, `${what}: nothing written`);
  }
  // the same shard twice (a copy): the duplicated units are listed, exit 2
  const copy = join(tmp, 'copy-of-shard1');
  await cp(shards[0]!, copy, { recursive: true });
  const dup = await merge([shards[0]!, shards[1]!, copy], join(tmp, 'dup'));
  assert.equal(dup.code, 2, dup.stderr);
  for (const u of shardUnits(sc.cells.map((c) => c.id), reps, { index: 1, count: 2 })) assert.ok(dup.stderr.includes(`cell ${u.cell} repetition ${u.rep} is in shard 1`), dup.stderr);
  assert.equal(existsSync(join(tmp, 'dup')), false);
  // shards from different machines merge, with a warning, and each machine is recorded
  const elsewhere = join(tmp, 'shard2-elsewhere');
  await cp(shards[1]!, elsewhere, { recursive: true });
  const rj2 = JSON.parse(await readFile(join(elsewhere, 'run.json'), 'utf8'));
  Object.assign(rj2, { hostname: 'node-b', kernel: '6.1.0-other', cpu_model: 'Other CPU' });
  await writeFile(join(elsewhere, 'run.json'), JSON.stringify(rj2));
  const two = await merge([shards[0]!, elsewhere], join(tmp, 'two-hosts'), '--no-report');
  assert.equal(two.code, 0, two.stderr);
  for (const what of ['host', 'kernel', 'CPU model']) assert.match(two.stderr, new RegExp(`warning: the shards ran with different ${what}: shard 1=.*, shard 2=`), what);
  const twoRun = JSON.parse(await readFile(join(tmp, 'two-hosts', 'run.json'), 'utf8'));
  assert.deepEqual(twoRun.merged.shards.map((s: { hostname: string }) => s.hostname), [JSON.parse(await readFile(join(shards[0]!, 'run.json'), 'utf8')).hostname, 'node-b']);
  assert.equal(twoRun.merged.warnings.length, 3);
  // a run without --shard, a folder that is not a run, a used --out: exit 2
  await mkdir(join(tmp, 'empty'));
  const notRun = await merge([join(tmp, 'empty')], join(tmp, 'x'));
  assert.equal(notRun.code, 2);
  assert.match(notRun.stderr, /no run\.json/);
  const used = await merge(shards, out);
  assert.equal(used.code, 2);
  assert.match(used.stderr, /exists and is not an empty folder/);
  // no temporary folders left behind by any of the above
  assert.deepEqual((await readdir(join(tmp, 'merged'))).filter((f) => f.includes('merging')), []);
  assert.deepEqual((await readdir(tmp)).filter((f) => f.includes('merging')), []);
});
