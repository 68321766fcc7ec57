// The page-load truth checks: small scenarios through the real pipeline (namespaces,
// impairment backend, bundled servers, drivers), compared with what theory and the
// literature expect:
//   - at 0% loss HTTP/2 and HTTP/3 page times are within 20% of each other;
//   - the coefficient of variation of page time across repetitions is <= 5% at 0% loss;
//   - at 2% loss on a 100-object page, captured: h2's streams wait for each other's missing
//     bytes (hol_cross_ms > 0), h3's never (= 0); the stall-based proxies are printed.
// Results go to <outRoot>/<scenario>/ like any run.
import YAML from 'yaml';
import { parseScenarioText } from '../../scenario/load.ts';
import { Runner } from '../../runner.ts';
import type { SummaryRow } from '../../summary.ts';
import { cv, fmt as f, mean, median, type Check } from './check.ts';

/** Run a scenario (given as an object) through the real pipeline; its summary rows. */
export async function runScenario(name: string, scenario: object, outRoot: string): Promise<SummaryRow[]> {
  const loaded = parseScenarioText(YAML.stringify({ name, ...scenario }), `${name}.yaml`);
  const runner = new Runner();
  runner.on('event', (e) => {
    if (e.type === 'job-end') process.stderr.write(`  ${name}: ${e.index}/${e.jobs} ${e.row.protocol} rep ${e.row.rep} ${e.row.status}${e.row.page_ms !== null ? ` ${e.row.page_ms} ms` : ''}\n`);
  });
  const r = await runner.run({ loaded, outRoot, stamp: 'run' });
  return r.rows;
}

const ok = (rows: SummaryRow[], protocol: string) => rows.filter((r) => r.protocol === protocol && r.status === 'SUCCEEDED');

export async function runPageChecks(o: { quick?: boolean; outRoot: string }): Promise<Check[]> {
  const reps = o.quick ? 3 : 5;
  const checks: Check[] = [];
  const page = { kind: 'page', objects: 100, object_bytes: 10_000 };
  const g = 'pages';

  // 0% loss, 50 ms RTT, 20 Mbit/s
  const clean = await runScenario('truth-0pct', { protocols: ['h2', 'h3'], workload: page, network: { delay_ms: 25, rate_bps: '20mbit' }, repetitions: reps, seed: 3 }, o.outRoot);
  const h2 = ok(clean, 'h2').map((r) => r.page_ms!);
  const h3 = ok(clean, 'h3').map((r) => r.page_ms!);
  const rel = Math.abs(median(h3) - median(h2)) / median(h2);
  checks.push({ group: g, name: 'h2 ~ h3 at 0% loss', expectation: '|h3 - h2| / h2 <= 20% (median page time)', measured: `h2 ${f(median(h2), 0)} ms, h3 ${f(median(h3), 0)} ms: ${f(100 * rel, 1)}%`, pass: h2.length && h3.length ? rel <= 0.2 : null });
  const cvs = { h2: cv(h2), h3: cv(h3) };
  checks.push({ group: g, name: 'repeatable at 0% loss', expectation: 'CV of page time <= 5% per protocol', measured: `h2 ${f(100 * cvs.h2, 1)}%, h3 ${f(100 * cvs.h3, 1)}% (n=${h2.length}, ${h3.length})`, pass: h2.length > 1 && h3.length > 1 ? cvs.h2 <= 0.05 && cvs.h3 <= 0.05 : null });

  // 2% loss each way, captured: the exact head-of-line delay judges; the stall-based proxies
  // (co-stall, HoL stall index) are printed for information. Under the default `browser`
  // scheduling both servers interleave the objects, so both proxies read ~1 / low for h2 and
  // h3 alike (sharing stalls dominate); the exact figure separates TCP's HoL from sharing.
  const lossy = await runScenario('truth-2pct', { protocols: ['h2', 'h3'], workload: page, network: { delay_ms: 25, rate_bps: '20mbit', loss_pct: 2 }, repetitions: reps, seed: 5, capture: true }, o.outRoot);
  const colOf = (rows: SummaryRow[], p: string, k: 'co_stall_index' | 'hol_stall_index' | 'hol_cross_ms') => ok(rows, p).map((r) => r[k]).filter((x): x is number => x !== null);
  const [x2, x3] = [colOf(lossy, 'h2', 'hol_cross_ms'), colOf(lossy, 'h3', 'hol_cross_ms')];
  checks.push({
    group: g,
    name: 'h2 streams wait for each other at 2% loss, h3 streams never',
    expectation: 'mean hol_cross_ms (exact, from the capture) h2 > 0, h3 = 0',
    measured: `hol_cross_ms h2 ${f(mean(x2), 0)}, h3 ${f(mean(x3), 0)} (n=${x2.length}, ${x3.length}); proxies: co_stall_index h2 ${f(mean(colOf(lossy, 'h2', 'co_stall_index')))}, h3 ${f(mean(colOf(lossy, 'h3', 'co_stall_index')))}; hol_stall_index h2 ${f(mean(colOf(lossy, 'h2', 'hol_stall_index')))} (0% loss: ${f(mean(colOf(clean, 'h2', 'hol_stall_index')))}), h3 ${f(mean(colOf(lossy, 'h3', 'hol_stall_index')))}`,
    source: "TCP delivers in order across HTTP/2's streams (RFC 9113 5), QUIC per stream (RFC 9000 2.2)",
    pass: x2.length && x3.length ? mean(x2) > 0 && mean(x3) === 0 : null,
  });
  return checks;
}
