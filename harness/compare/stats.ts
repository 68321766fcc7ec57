// The comparison itself, pure: which summary.csv columns are metrics and which way is
// better, each side's mean and t-interval, the relative change with its bootstrap interval
// (both from harness/metrics.ts) and the verdict against the threshold. The change is
// unpaired (two-sample bootstrap) unless both runs pair the group's repetitions: same
// repetition, same impairment seed, and a backend that reseeds exactly in both runs
// (harness/pairing.ts); then it is the paired bootstrap over repetitions.
import { meanCi95, pairedRelChangeCi95, relChangeCi95 } from '../metrics.ts';
import { pairBySeed, runPairingExact, type Pairing, type RepValue } from '../pairing.ts';
import { columnBetter, NOT_OUTCOME_COLUMNS } from '../columns.ts';
import { num } from '../report/load.ts';
import { sortProtocols } from '../report/labels.ts';
import { provenanceWarnings } from './provenance.ts';
import { CompareInputError, type CompareOptions, type CompareResult, type Direction, type GroupResult, type RunData, type Side, type Verdict } from './types.ts';

/** summary.csv columns that are not outcomes (identity, status text, the configured network
 *  and seed): from the column table (harness/columns.ts). */
const NOT_METRICS = NOT_OUTCOME_COLUMNS;

/** Direction of a metric: the column table's (harness/columns.ts), else by name: times (`*_ms`, `*_ms_*`) lower,
 *  rates (goodput, throughput, rps, *_per_s) higher, retransmissions/stalls/errors/
 *  bytes-per-unit lower, anything else neutral. */
export function metricDirection(column: string): Direction {
  // own entries only (columnBetter checks): for a column named "constructor" or
  // "__proto__" the object's inherited members are not directions
  const known = columnBetter(column);
  if (known) return known;
  const c = column.toLowerCase();
  if (/(^|_)ms(_|$)/.test(c)) return 'lower';
  if (/(^|_)(goodput|throughput|rps|qps)(_|$)|_per_s(ec)?(_|$)/.test(c)) return 'higher';
  if (/(^|_)(retrans\w*|stalls?|errors?|timeouts?|lost|dup)(_|$)|_bytes_per_/.test(c)) return 'lower';
  return 'neutral';
}

const isBlank = (s: string | undefined) => s === undefined || ['', 'nan', 'null', 'undefined'].includes(s.trim().toLowerCase());

/** Columns that can be compared: outcome columns whose non-blank values are all numbers,
 *  with at least one value in a SUCCEEDED row. */
export function numericColumns(run: RunData): string[] {
  return run.columns.filter((c) => {
    if (NOT_METRICS.has(c)) return false;
    let any = false;
    for (const r of run.rows) {
      const v = r[c];
      if (isBlank(v)) continue;
      if (num(v) === null) return false;
      if (r.status === 'SUCCEEDED') any = true;
    }
    return any;
  });
}

const finite = (x: number) => (Number.isFinite(x) ? x : null);
const finiteOrInf = (x: number) => (Number.isNaN(x) ? null : x);

function side(rows: Record<string, string>[], metric: string): Side & { values: number[]; reps: RepValue[] } {
  const ok = rows.filter((r) => r.status === 'SUCCEEDED');
  const reps = ok.flatMap((r) => {
    const value = num(r[metric]);
    return value === null ? [] : [{ rep: num(r.rep) ?? NaN, seed: num(r.seed), value }];
  });
  const values = reps.map((r) => r.value);
  const ci = meanCi95(values);
  return {
    values,
    reps,
    n: values.length,
    failed: rows.length - ok.length,
    mean: values.length ? ci.mean : null,
    ci_lo: finite(ci.lo),
    ci_hi: finite(ci.hi),
    half: finite(ci.half),
  };
}

export function verdictFor(direction: Direction, loPct: number, hiPct: number, thresholdPct: number): Verdict {
  const up = loPct > thresholdPct;
  const down = hiPct < -thresholdPct;
  if (direction === 'lower') return up ? 'regressed' : down ? 'improved' : 'same';
  if (direction === 'higher') return down ? 'regressed' : up ? 'improved' : 'same';
  return up ? 'higher' : down ? 'lower' : 'same';
}

/** Compare two loaded runs on one metric. Throws CompareInputError when the metric is not
 *  a numeric column of both runs (the message lists the ones that are). */
export function compareRuns(a: RunData, b: RunData, opts: CompareOptions = {}): CompareResult {
  const metric = opts.metric ?? 'page_ms';
  const thr = opts.thresholdPct ?? 5;
  const colsA = numericColumns(a);
  const colsB = new Set(numericColumns(b));
  const valid = colsA.filter((c) => colsB.has(c));
  if (!valid.includes(metric)) {
    const where = colsA.includes(metric) ? ` (only in A, ${a.name})` : colsB.has(metric) ? ` (only in B, ${b.name})` : '';
    const list = valid.map((c) => `${c} (${metricDirection(c) === 'neutral' ? 'neutral' : `${metricDirection(c)} is better`})`).join(', ');
    throw new CompareInputError(`unknown metric "${metric}"${where}; metrics in both runs: ${list || 'none'}`);
  }
  const direction = metricDirection(metric);

  const key = (r: Record<string, string>) => `${r.cell}\u0000${r.protocol}`;
  const groupRows = (rows: Record<string, string>[]) => {
    const m = new Map<string, Record<string, string>[]>();
    for (const r of rows) {
      let l = m.get(key(r));
      if (!l) m.set(key(r), (l = []));
      l.push(r);
    }
    return m;
  };
  const ga = groupRows(a.rows);
  const gb = groupRows(b.rows);
  const cells = [...new Set([...a.rows, ...b.rows].map((r) => r.cell!))];
  const protocols = sortProtocols([...a.rows, ...b.rows].map((r) => r.protocol!));

  // the same seed means the same loss decisions only where both backends reseeded exactly
  const exactA = runPairingExact(a.run);
  const exactB = runPairingExact(b.run);
  const pairGroup = (sa: { reps: RepValue[] }, sb: { reps: RepValue[] }): Pairing => {
    if (!exactA.exact) return { paired: false, why: `A: ${exactA.why}` };
    if (!exactB.exact) return { paired: false, why: `B: ${exactB.why}` };
    return pairBySeed(sa.reps, sb.reps);
  };

  const groups: GroupResult[] = [];
  const skipped: { cell: string; protocol: string }[] = [];
  for (const cell of cells) {
    for (const protocol of protocols) {
      const k = `${cell}\u0000${protocol}`;
      const ra = ga.get(k);
      const rb = gb.get(k);
      if (!ra && !rb) continue;
      const sa = side(ra ?? [], metric);
      const sb = side(rb ?? [], metric);
      if (sa.n === 0 && sb.n === 0) {
        skipped.push({ cell, protocol });
        continue;
      }
      let verdict: Verdict;
      let change = { estimate: NaN, lo: NaN, hi: NaN };
      let pairing: Pairing = { paired: false, why: 'no values on one side' };
      if (!ra) verdict = 'only-in-B';
      else if (!rb) verdict = 'only-in-A';
      else if (sb.n === 0) verdict = sb.failed === rb.length ? 'failed-in-B' : 'n/a';
      else if (sa.n === 0) verdict = sa.failed === ra.length ? 'failed-in-A' : 'n/a';
      else {
        pairing = pairGroup(sa, sb);
        change = pairing.paired ? pairedRelChangeCi95(pairing.a, pairing.b) : relChangeCi95(sa.values, sb.values, { iterations: opts.iterations, seed: opts.seed });
        if (Number.isNaN(change.estimate)) verdict = 'n/a';
        else if (sa.n < 2 || sb.n < 2) verdict = 'too-few';
        else verdict = verdictFor(direction, 100 * change.lo, 100 * change.hi, thr);
      }
      const { values: _va, reps: _ra, ...sideA } = sa;
      const { values: _vb, reps: _rb, ...sideB } = sb;
      groups.push({
        cell,
        protocol,
        a: sideA,
        b: sideB,
        change_pct: finiteOrInf(100 * change.estimate),
        change_lo_pct: finiteOrInf(100 * change.lo),
        change_hi_pct: finiteOrInf(100 * change.hi),
        paired: pairing.paired,
        pairs: pairing.paired ? pairing.reps.length : null,
        pairing_note: pairing.paired ? (pairing.leftOut ? `${pairing.leftOut} repetition(s) with a value on one side only left out of the change` : '') : pairing.why,
        verdict,
      });
    }
  }
  const warnings = provenanceWarnings(a, b, [...new Set(groups.filter((g) => g.a.n && g.b.n).map((g) => g.cell))]);
  const only = groups.filter((g) => g.verdict === 'only-in-A' || g.verdict === 'only-in-B');
  if (only.length) warnings.push(`${only.length} group(s) in one run only: ${only.map((g) => `${g.cell}/${g.protocol} (${g.verdict})`).join(', ')}`);
  const few = groups.filter((g) => g.verdict === 'too-few');
  if (few.length) warnings.push(`${few.length} group(s) with fewer than 2 successful repetitions on a side (no interval, no verdict): ${few.map((g) => `${g.cell}/${g.protocol}`).join(', ')}`);
  return {
    metric,
    direction,
    threshold_pct: thr,
    a: { dir: a.dir, name: a.name },
    b: { dir: b.dir, name: b.name },
    groups,
    regressed: groups.filter((g) => g.verdict === 'regressed' || g.verdict === 'failed-in-B'),
    skipped,
    warnings,
  };
}
