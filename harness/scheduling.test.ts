// The scheduling axis end to end, on real namespaces with the helper backend: one run sweeps
// `scheduling: [sequential, round-robin]` for h2 and h3 over a rate-limited path at 0% loss
// (20 Mbit/s, RTT 20 ms, 20 objects of 50 KB). Under sequential both servers complete the
// objects in request order with a similar, large completion spread; under round-robin both
// finish the objects together. The precise h2-vs-h3 spread check (10%) is `npm run truth`'s.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { parse } from 'csv-parse/sync';
import { run } from '../proc/exec.ts';
import { h3Support } from '../h3/binding.ts';
import { parseScenarioText } from './scenario/load.ts';
import { holbench as holbenchCli } from './testdata/cli.ts';
import { tempDir } from '../proc/testdata/tmp.ts';

const csv = async (f: string) => parse(await readFile(f, 'utf8'), { columns: true }) as Record<string, string>[];

// A deep router queue (1000 packets, ~600 ms at 20 Mbit/s) so slow start never overflows it:
// the completion order shows the servers' scheduling, not tail drops and their recovery.
const SCENARIO = `name: scheduling-check
protocols: [h2, h3]
workload: {kind: page, objects: 20, object_bytes: 50000}
network: {delay_ms: 10, rate_bps: 20mbit, queue_packets: 1000}
sweep: {scheduling: [sequential, round-robin]}
repetitions: 2
seed: 11
timeouts: {request_ms: 20000, cell_s: 60}
`;

const holbench = (args: string[]) => holbenchCli(args);

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
};

test('scheduling sweep: sequential completes in request order with h2 ~ h3 spread; round-robin finishes objects together', { skip: !h3Support().ok && `h3: ${h3Support().reason}` }, async () => {
  const plan = parseScenarioText(SCENARIO, 'scheduling-check.yaml');
  const w = plan.scenario.workload;
  if (w.kind !== 'page') throw new Error('expected a page workload');
  const disciplines = plan.cells.map((c) => c.scheduling);
  assert.deepEqual(disciplines, ['sequential', 'round-robin']);
  const protocols = plan.protocols.map((p) => p.label);

  const out = await tempDir('holbench-sched-');
  const f = join(out, 'scheduling-check.yaml');
  await writeFile(f, SCENARIO);
  const r = await holbench(['run', f, '--backend', 'helper', '--out', join(out, 'results'), '--no-report', '--json', '--quiet']);
  assert.equal(r.code, 0, r.stderr);
  const dir = JSON.parse(r.stdout).outDir as string;

  // recorded: the discipline of every cell, and the scenario's default
  const runJson = JSON.parse(await readFile(join(dir, 'run.json'), 'utf8'));
  assert.deepEqual(runJson.cells.map((c: { scheduling: string }) => c.scheduling), disciplines);
  assert.equal(runJson.scheduling, 'browser');
  const list = (await run('ip', ['netns', 'list'])).stdout;
  assert.ok(!list.includes(`holbench-${runJson.run_id}-`), 'namespaces left behind');

  const summary = await csv(join(dir, 'summary.csv'));
  const requests = await csv(join(dir, 'requests.csv'));
  assert.equal(summary.length, plan.cells.length * protocols.length * plan.scenario.repetitions);
  assert.ok(summary.every((s) => s.status === 'SUCCEEDED'), JSON.stringify(summary.filter((s) => s.status !== 'SUCCEEDED').map((s) => s.reason)));
  // precondition: no packet was dropped anywhere, so order and spread are the servers' doing
  assert.deepEqual(await csv(join(dir, 'drops.csv')), []);

  /** per (cell, protocol): page time, spread (summary), first completion and order (requests) */
  const jobs = (cell: string, protocol: string) =>
    summary
      .filter((s) => s.cell === cell && s.protocol === protocol)
      .map((s) => {
        const rs = requests.filter((q) => q.cell === cell && q.protocol === protocol && q.rep === s.rep);
        assert.equal(rs.length, w.objects, `${cell} ${protocol} rep ${s.rep}: one row per object`);
        const t0 = Math.min(...rs.map((q) => Number(q.start_ms)));
        const done = rs.map((q) => ({ object: Number(q.object), at: Number(q.start_ms) + Number(q.ttlb_ms) - t0 })).sort((a, b) => a.at - b.at);
        return { rep: s.rep, pageMs: Number(s.page_ms), spreadMs: Number(s.completion_spread_ms), firstMs: done[0]!.at, order: done.map((d) => d.object) };
      });
  const requestOrder = Array.from({ length: w.objects }, (_, i) => i);
  const report: string[] = [];

  const seq = plan.cells.find((c) => c.scheduling === 'sequential')!.id;
  const seqSpread: Record<string, number> = {};
  for (const p of protocols) {
    const js = jobs(seq, p);
    assert.equal(js.length, plan.scenario.repetitions);
    for (const j of js) {
      report.push(`sequential ${p} rep ${j.rep}: page ${j.pageMs} ms, spread ${j.spreadMs} ms, first ${j.firstMs.toFixed(0)} ms`);
      assert.deepEqual(j.order, requestOrder, `sequential ${p} rep ${j.rep}: objects complete in request order`);
      // one after another: p90 - p10 covers most of the page (~80% for equal objects)
      assert.ok(j.spreadMs > 0.5 * j.pageMs, `sequential ${p} rep ${j.rep}: spread ${j.spreadMs} ms of page ${j.pageMs} ms`);
    }
    seqSpread[p] = median(js.map((j) => j.spreadMs));
  }
  const [a, b] = protocols.map((p) => seqSpread[p]!);
  assert.ok(Math.abs(a! - b!) / Math.max(a!, b!) <= 0.3, `sequential spreads differ: ${JSON.stringify(seqSpread)}`);

  const rr = plan.cells.find((c) => c.scheduling === 'round-robin')!.id;
  for (const p of protocols) {
    for (const j of jobs(rr, p)) {
      report.push(`round-robin ${p} rep ${j.rep}: page ${j.pageMs} ms, spread ${j.spreadMs} ms, first ${j.firstMs.toFixed(0)} ms`);
      // together: the middle 80% of objects complete within a fifth of the page time, and
      // nothing completes before half of it
      assert.ok(j.spreadMs < 0.2 * j.pageMs, `round-robin ${p} rep ${j.rep}: spread ${j.spreadMs} ms of page ${j.pageMs} ms`);
      assert.ok(j.firstMs > 0.5 * j.pageMs, `round-robin ${p} rep ${j.rep}: first object done at ${j.firstMs} ms of ${j.pageMs} ms`);
    }
  }
  process.stderr.write(`${report.join('\n')}\n`);
});
