// `npm run truth`: does the harness reproduce what the literature and theory say? Each check
// runs a small scenario through the real pipeline (namespaces, impairment backend, bundled
// servers, drivers) and compares the measured numbers with the expectation:
//   1. at 0% loss HTTP/2 and HTTP/3 page times are within 20% of each other;
//   2. at 2% loss on a 100-object page, h2's co-stall index exceeds h3's (TCP HoL blocking);
//   3. TCP reno goodput under 1% random loss is within 30% of Mathis et al.,
//      MSS / (RTT * sqrt(2p/3));
//   4. the coefficient of variation of page time across repetitions is <= 5% at 0% loss;
//   5. T3-prep: with `scheduling: sequential` (0% loss, 20 Mbit/s, RTT 20 ms, 20 x 50 KB) h2
//      and h3 complete the objects in request order, with completion spreads within 10%.
// Results go to results/truth-<stamp>/<check>/ like any run. Prints a table (or --json);
// exit 1 when a check fails. `--quick` uses fewer repetitions.
import { parseArgs } from 'node:util';
import { join, resolve } from 'node:path';
import { readFile } from 'node:fs/promises';
import { parse } from 'csv-parse/sync';
import YAML from 'yaml';
import { installSignalHandlers } from '../../proc/lifecycle.ts';
import { parseScenarioText } from '../scenario/load.ts';
import { Runner } from '../runner.ts';
import type { SummaryRow } from '../summary.ts';

interface Check {
  name: string;
  expectation: string;
  measured: string;
  pass: boolean | null;
}

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length ? (s.length % 2 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2) : NaN;
};
const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
const cv = (xs: number[]) => {
  const m = mean(xs);
  return Math.sqrt(xs.reduce((a, x) => a + (x - m) ** 2, 0) / (xs.length - 1)) / m;
};
const f = (x: number, d = 2) => (Number.isFinite(x) ? x.toFixed(d) : 'n/a');

async function runScenario(name: string, scenario: object, outRoot: string): Promise<SummaryRow[]> {
  const loaded = parseScenarioText(YAML.stringify({ name, ...scenario }), `${name}.yaml`);
  const runner = new Runner();
  runner.on('event', (e) => {
    if (e.type === 'job-end') process.stderr.write(`  ${name}: ${e.index}/${e.jobs} ${e.row.protocol} rep ${e.row.rep} ${e.row.status}${e.row.page_ms !== null ? ` ${e.row.page_ms} ms` : ''}\n`);
  });
  const r = await runner.run({ loaded, outRoot, stamp: 'run' });
  return r.rows;
}

const ok = (rows: SummaryRow[], protocol: string) => rows.filter((r) => r.protocol === protocol && r.status === 'SUCCEEDED');

async function main() {
  const { values } = parseArgs({ options: { json: { type: 'boolean' }, quick: { type: 'boolean' }, out: { type: 'string' } } });
  installSignalHandlers();
  const reps = values.quick ? 3 : 5;
  const stamp = new Date().toISOString().replace(/[-:]/g, '').replace(/\.\d+Z$/, 'Z');
  const outRoot = resolve(values.out ?? 'results', `truth-${stamp}`);
  const checks: Check[] = [];
  const page = { kind: 'page', objects: 100, object_bytes: 10_000 };

  // 1 + 4: 0% loss, 50 ms RTT, 20 Mbit/s
  const clean = await runScenario('truth-0pct', { protocols: ['h2', 'h3'], workload: page, network: { delay_ms: 25, rate_bps: '20mbit' }, repetitions: reps, seed: 3 }, outRoot);
  const h2 = ok(clean, 'h2').map((r) => r.page_ms!);
  const h3 = ok(clean, 'h3').map((r) => r.page_ms!);
  const rel = Math.abs(median(h3) - median(h2)) / median(h2);
  checks.push({ name: 'h2 ~ h3 at 0% loss', expectation: '|h3 - h2| / h2 <= 20% (median page time)', measured: `h2 ${f(median(h2), 0)} ms, h3 ${f(median(h3), 0)} ms: ${f(100 * rel, 1)}%`, pass: h2.length && h3.length ? rel <= 0.2 : null });
  const cvs = { h2: cv(h2), h3: cv(h3) };
  checks.push({ name: 'repeatable at 0% loss', expectation: 'CV of page time <= 5% per protocol', measured: `h2 ${f(100 * cvs.h2, 1)}%, h3 ${f(100 * cvs.h3, 1)}% (n=${h2.length}, ${h3.length})`, pass: h2.length > 1 && h3.length > 1 ? cvs.h2 <= 0.05 && cvs.h3 <= 0.05 : null });

  // 2: 2% loss each way
  const lossy = await runScenario('truth-2pct', { protocols: ['h2', 'h3'], workload: page, network: { delay_ms: 25, rate_bps: '20mbit', loss_pct: 2 }, repetitions: reps, seed: 5 }, outRoot);
  const cs2 = ok(lossy, 'h2').map((r) => r.co_stall_index).filter((x): x is number => x !== null);
  const cs3 = ok(lossy, 'h3').map((r) => r.co_stall_index).filter((x): x is number => x !== null);
  checks.push({ name: 'h2 co-stalls more than h3 at 2% loss', expectation: 'mean co_stall_index h2 > h3', measured: `h2 ${f(mean(cs2))}, h3 ${f(mean(cs3))} (n=${cs2.length}, ${cs3.length})`, pass: cs2.length && cs3.length ? mean(cs2) > mean(cs3) : null });
  // the HoL stall index must tell loss (h2 at 2%) from sharing (h2 at 0%) and from QUIC (h3 at 2%)
  const hol = (rows: SummaryRow[], p: string) => ok(rows, p).map((r) => r.hol_stall_index ?? 0);
  const [hol2, hol3, hol0] = [hol(lossy, 'h2'), hol(lossy, 'h3'), hol(clean, 'h2')];
  checks.push({
    name: 'HoL stall index: h2 at 2% > h2 at 0% and > h3 at 2%', expectation: 'mean hol_stall_index (no stall = 0)',
    measured: `h2 2%: ${f(mean(hol2))}, h2 0%: ${f(mean(hol0))}, h3 2%: ${f(mean(hol3))}`,
    pass: hol2.length && hol3.length && hol0.length ? mean(hol2) > mean(hol0) && mean(hol2) > mean(hol3) : null,
  });

  // 3: reno, 1% random loss on data packets only (downlink), 100 ms RTT, no rate limit
  const p = 0.01;
  const rttMs = 100;
  const bulk = await runScenario('truth-mathis', {
    protocols: ['http1.1'], workload: { kind: 'page', objects: 1, object_bytes: 3_000_000 },
    network: { delay_ms: rttMs / 2, downlink: { loss_pct: 100 * p } }, repetitions: reps, seed: 7, tcp_cc: 'reno',
    timeouts: { request_ms: 120_000, cell_s: 180 },
  }, outRoot);
  const mss = 1448; // 1500 - 20 IP - 32 TCP (timestamps on)
  const mathis = (mss * 8) / (rttMs / 1000) / Math.sqrt((2 * p) / 3) / 1e6;
  const gp = ok(bulk, 'http1.1').map((r) => r.goodput_mbps!).filter((x) => x !== null);
  const relM = Math.abs(median(gp) - mathis) / mathis;
  checks.push({ name: 'reno vs Mathis at 1% loss', expectation: `goodput within 30% of MSS/(RTT*sqrt(2p/3)) = ${f(mathis)} Mbit/s`, measured: `median ${f(median(gp))} Mbit/s (${gp.map((x) => f(x)).join(', ')}): ${f(100 * relM, 1)}% off`, pass: gp.length ? relM <= 0.3 : null });

  // T3-prep: the same scheduling gives h2 and h3 the same order and spread. A deep queue keeps
  // slow start from dropping packets, so the order is the servers' and not loss recovery's.
  const objects = 20;
  const seq = await runScenario('truth-sequential', {
    protocols: ['h2', 'h3'], workload: { kind: 'page', objects, object_bytes: 50_000 },
    network: { delay_ms: 10, rate_bps: '20mbit', queue_packets: 1000 }, scheduling: 'sequential', repetitions: reps, seed: 13,
  }, outRoot);
  const reqs = parse(await readFile(join(outRoot, 'truth-sequential-run', 'requests.csv'), 'utf8'), { columns: true }) as Record<string, string>[];
  const inOrder = (p: string) =>
    ok(seq, p).filter((r) => {
      const rs = reqs.filter((q) => q.protocol === p && q.rep === String(r.rep));
      const order = rs.map((q) => ({ o: Number(q.object), t: Number(q.start_ms) + Number(q.ttlb_ms) })).sort((a, b) => a.t - b.t).map((x) => x.o);
      return rs.length === objects && order.every((o, i) => o === i);
    }).length;
  const sp = (p: string) => ok(seq, p).map((r) => r.completion_spread_ms).filter((x): x is number => x !== null);
  const [sp2, sp3] = [sp('h2'), sp('h3')];
  const relS = Math.abs(median(sp3) - median(sp2)) / median(sp2);
  const [o2, o3] = [inOrder('h2'), inOrder('h3')];
  checks.push({
    name: 'T3-prep: sequential, h2 ~ h3 order and spread', expectation: 'objects complete in request order on both; |spread h3 - h2| / h2 <= 10% (median p90-p10 TTLB)',
    measured: `in order: h2 ${o2}/${ok(seq, 'h2').length}, h3 ${o3}/${ok(seq, 'h3').length}; spread h2 ${f(median(sp2), 0)} ms, h3 ${f(median(sp3), 0)} ms: ${f(100 * relS, 1)}%`,
    pass: sp2.length && sp3.length ? o2 === ok(seq, 'h2').length && o3 === ok(seq, 'h3').length && relS <= 0.1 : null,
  });

  if (values.json) process.stdout.write(JSON.stringify({ results: outRoot, checks }, null, 2) + '\n');
  else {
    const w = Math.max(...checks.map((c) => c.name.length));
    for (const c of checks) process.stdout.write(`${c.pass === null ? 'NO DATA' : c.pass ? 'PASS   ' : 'FAIL   '} ${c.name.padEnd(w)}  ${c.measured}   [${c.expectation}]\n`);
    process.stdout.write(`results: ${outRoot}\n`);
  }
  process.exitCode = checks.every((c) => c.pass) ? 0 : 1;
}

void main().catch((e) => {
  process.stderr.write(`truth: ${(e as Error).stack ?? e}\n`);
  process.exit(1);
});
