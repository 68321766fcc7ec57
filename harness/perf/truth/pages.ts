// The page-load truth checks: small scenarios through the real pipeline (namespaces,
// impairment backend, bundled servers, drivers), compared with what theory and the
// literature expect:
//   - at 0% loss HTTP/2 and HTTP/3 page times are within 20% of each other;
//   - the coefficient of variation of page time across repetitions is <= 5% at 0% loss;
//   - at 2% loss on a 100-object page, h2's co-stall index exceeds h3's (TCP HoL blocking);
//   - h2's HoL stall index at 2% exceeds its own at 0% and h3's at 2%.
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

  // 2% loss each way
  const lossy = await runScenario('truth-2pct', { protocols: ['h2', 'h3'], workload: page, network: { delay_ms: 25, rate_bps: '20mbit', loss_pct: 2 }, repetitions: reps, seed: 5 }, o.outRoot);
  const cs2 = ok(lossy, 'h2').map((r) => r.co_stall_index).filter((x): x is number => x !== null);
  const cs3 = ok(lossy, 'h3').map((r) => r.co_stall_index).filter((x): x is number => x !== null);
  checks.push({ group: g, name: 'h2 co-stalls more than h3 at 2% loss', expectation: 'mean co_stall_index h2 > h3', measured: `h2 ${f(mean(cs2))}, h3 ${f(mean(cs3))} (n=${cs2.length}, ${cs3.length})`, pass: cs2.length && cs3.length ? mean(cs2) > mean(cs3) : null });
  // the HoL stall index must tell loss (h2 at 2%) from sharing (h2 at 0%) and from QUIC (h3 at 2%)
  const hol = (rows: SummaryRow[], p: string) => ok(rows, p).map((r) => r.hol_stall_index ?? 0);
  const [hol2, hol3, hol0] = [hol(lossy, 'h2'), hol(lossy, 'h3'), hol(clean, 'h2')];
  checks.push({
    group: g,
    name: 'HoL stall index: h2 at 2% > h2 at 0% and > h3 at 2%',
    expectation: 'mean hol_stall_index (no stall = 0)',
    measured: `h2 2%: ${f(mean(hol2))}, h2 0%: ${f(mean(hol0))}, h3 2%: ${f(mean(hol3))}`,
    pass: hol2.length && hol3.length && hol0.length ? mean(hol2) > mean(hol0) && mean(hol2) > mean(hol3) : null,
  });
  return checks;
}
