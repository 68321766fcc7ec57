// T3, the server's scheduler (after Marx et al., EPIQ'20: the multiplexing discipline alone
// can change load times several-fold, so h2 and h3 must be compared under the same one):
//   T3a  with `scheduling: sequential` (0% loss, 20 Mbit/s, RTT 20 ms, 20 x 50 KB, a deep queue
//        so slow start drops nothing) h2 and h3 complete the objects in request order, with
//        completion spreads (p90 - p10 of TTLB) within 10% of each other;
//   T3b  at 2% loss (100 x 20 KB, RTT 50 ms, 20 Mbit/s, captured), `round-robin` raises h2's
//        cross-stream head-of-line delay (hol_cross_ms, exact, from the capture) above its own
//        under `sequential`: interleaved streams all wait behind a lost segment of another
//        stream, while one stream at a time mostly waits for its own (hol_self_ms); h3's
//        cross-stream delay is 0 under both. The stall-based proxy hol_stall_index is printed
//        for information: it reads ~1 under sequential (one stream receiving, so its stall is a
//        silent connection) and low under round-robin (stalls from sharing dominate), which is
//        why the exact figure judges.
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { parse } from 'csv-parse/sync';
import type { SummaryRow } from '../../summary.ts';
import { fmt as f, mean, median, type Check } from './check.ts';
import { runScenario } from './pages.ts';

const ok = (rows: SummaryRow[], protocol: string, where: (r: SummaryRow) => boolean = () => true) => rows.filter((r) => r.protocol === protocol && r.status === 'SUCCEEDED' && where(r));

export async function runT3(o: { quick?: boolean; outRoot: string }): Promise<Check[]> {
  const reps = o.quick ? 3 : 5;
  const g = 'T3';
  const checks: Check[] = [];

  const objects = 20;
  const seq = await runScenario('truth-sequential', {
    protocols: ['h2', 'h3'], workload: { kind: 'page', objects, object_bytes: 50_000 },
    network: { delay_ms: 10, rate_bps: '20mbit', queue_packets: 1000 }, scheduling: 'sequential', repetitions: reps, seed: 13,
  }, o.outRoot);
  const reqs = parse(await readFile(join(o.outRoot, 'truth-sequential-run', 'requests.csv'), 'utf8'), { columns: true }) as Record<string, string>[];
  const inOrder = (p: string) =>
    ok(seq, p).filter((r) => {
      const rs = reqs.filter((q) => q.protocol === p && q.rep === String(r.rep));
      const order = rs.map((q) => ({ o: Number(q.object), t: Number(q.start_ms) + Number(q.ttlb_ms) })).sort((a, b) => a.t - b.t).map((x) => x.o);
      return rs.length === objects && order.every((obj, i) => obj === i);
    }).length;
  const sp = (p: string) => ok(seq, p).map((r) => r.completion_spread_ms).filter((x): x is number => x !== null);
  const [sp2, sp3] = [sp('h2'), sp('h3')];
  const relS = Math.abs(median(sp3) - median(sp2)) / median(sp2);
  const [o2, o3] = [inOrder('h2'), inOrder('h3')];
  checks.push({
    group: g,
    name: 'T3a sequential: h2 ~ h3 order and spread',
    expectation: 'objects complete in request order on both; |spread h3 - h2| / h2 <= 10% (median p90-p10 TTLB)',
    measured: `in order: h2 ${o2}/${ok(seq, 'h2').length}, h3 ${o3}/${ok(seq, 'h3').length}; spread h2 ${f(median(sp2), 0)} ms, h3 ${f(median(sp3), 0)} ms: ${f(100 * relS, 1)}%`,
    source: 'the same discipline on both servers (servers/scheduler.ts)',
    pass: sp2.length && sp3.length ? o2 === ok(seq, 'h2').length && o3 === ok(seq, 'h3').length && relS <= 0.1 : null,
  });

  const lossy = await runScenario('truth-scheduler-loss', {
    protocols: ['h2', 'h3'], workload: { kind: 'page', objects: 100, object_bytes: 20_000 },
    network: { delay_ms: 25, rate_bps: '20mbit', loss_pct: 2 }, sweep: { scheduling: ['sequential', 'round-robin'] }, repetitions: reps, seed: 17, capture: true,
  }, o.outRoot);
  const col = (p: string, s: string, k: 'hol_cross_ms' | 'hol_self_ms' | 'hol_stall_index') =>
    ok(lossy, p, (r) => r.cell.includes(`scheduling=${s}`)).map((r) => r[k]).filter((x): x is number => x !== null);
  const cross = (p: string, s: string) => col(p, s, 'hol_cross_ms');
  const [h2s, h2r, h3s, h3r] = [cross('h2', 'sequential'), cross('h2', 'round-robin'), cross('h3', 'sequential'), cross('h3', 'round-robin')];
  const idx = (p: string, s: string) => f(mean(col(p, s, 'hol_stall_index')));
  checks.push({
    group: g,
    name: 'T3b 2% loss: round-robin raises h2 cross-stream HoL, h3 has none',
    expectation: 'mean hol_cross_ms (exact) h2 round-robin > h2 sequential; h3 = 0 under both',
    measured: `hol_cross_ms h2 sequential ${f(mean(h2s), 0)}, round-robin ${f(mean(h2r), 0)}; h3 ${f(mean(h3s), 0)} / ${f(mean(h3r), 0)}; hol_self_ms h2 ${f(mean(col('h2', 'sequential', 'hol_self_ms')), 0)} / ${f(mean(col('h2', 'round-robin', 'hol_self_ms')), 0)} (n=${h2s.length}/${h2r.length}/${h3s.length}/${h3r.length}); proxy hol_stall_index h2 ${idx('h2', 'sequential')} / ${idx('h2', 'round-robin')}`,
    source: 'Marx et al., "Same Standards, Different Decisions" (EPIQ 2020) and "Resource Multiplexing and Prioritization in HTTP/2 over TCP versus HTTP/3 over QUIC" (WEBIST 2019)',
    pass: h2s.length && h2r.length && h3s.length && h3r.length ? mean(h2r) > mean(h2s) && mean(h3s) === 0 && mean(h3r) === 0 : null,
  });
  return checks;
}
