// `holbench compare <runA> <runB>`: did B get better or worse than A, beyond the noise?
// Rows of summary.csv are matched by (cell id, protocol label); only SUCCEEDED rows count.
// For each group: mean and 95% t-interval of the metric in A and in B, the relative change
// of the mean (B - A) / |A| with a 95% two-sample percentile-bootstrap interval (fixed seed,
// so the same inputs always give the same output), and a verdict against a threshold.
// The library part (loadRun .. writeCompareOutputs) never prints or exits; compareCommand
// is the CLI front end (exit 0 nothing regressed, 1 something regressed, 2 bad input).
import { existsSync, mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { basename, join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { stringify } from 'csv-stringify/sync';
import { meanCi95, mulberry32, percentileSorted } from './metrics.ts';
import { parseCsv } from './report/csv.ts';
import { num, type RunInfo } from './report/load.ts';
import { sortProtocols } from './report/labels.ts';
import { parseLabel, PROTOCOL_TABLE } from './protocols.ts';
import { base, type VlSpec } from './report/charts/common.ts';

/** Bad input (missing folder or summary.csv, unknown metric, bad threshold): exit 2. */
export class CompareInputError extends Error {}

// ---------------------------------------------------------------------------------------
// Metrics and their direction
// ---------------------------------------------------------------------------------------

/** lower / higher = which way is better; neutral = no verdict of better or worse (the
 *  change is still reported, as "higher" / "lower", and never fails the comparison). */
export type Direction = 'lower' | 'higher' | 'neutral';

/** summary.csv columns that are not outcomes: identity, status text and the configured
 *  network (loss_pct, rtt_ms, rate_mbps describe the cell, they are not measured). */
const NOT_METRICS = new Set([
  'scenario', 'cell', 'protocol', 'rep', 'status', 'reason', 'workload', 'tcp_cc', 'quic_cc', 'loss_pct', 'rtt_ms', 'rate_mbps',
]);

/** Known summary.csv metrics (harness/summary.ts) and which way is better. */
export const KNOWN_METRICS: Readonly<Record<string, Direction>> = {
  page_ms: 'lower', ttfb_p50_ms: 'lower', ttlb_p50_ms: 'lower', p50_ms: 'lower', p95_ms: 'lower', p99_ms: 'lower',
  completion_spread_ms: 'lower', stall_ms_mean: 'lower', co_stall_index: 'lower', hol_stall_index: 'lower', retransmissions: 'lower', errors: 'lower',
  goodput_mbps: 'higher',
  // messages workloads
  msg_p50_ms: 'lower', msg_p99_ms: 'lower', msgs_per_s: 'higher', wire_bytes_per_msg: 'lower', payload_bytes_per_msg: 'lower', msgs_lost: 'lower',
  msgs_dup: 'lower', reconnects: 'lower', detect_ms_client: 'lower', detect_ms_server: 'lower',
  // counts and emulator measurements: a change is worth seeing, but is not better or worse
  requests: 'neutral', connections_used: 'neutral', server_connections: 'neutral', loss_measured_pct: 'neutral',
  drops_loss: 'neutral', drops_queue: 'neutral', wire_bytes_up: 'neutral', wire_bytes_down: 'neutral',
  msgs_sent: 'neutral', msgs_received: 'neutral',
};

/** Direction of a metric: the known list, else by name: times (`*_ms`, `*_ms_*`) lower,
 *  rates (goodput, throughput, rps, *_per_s) higher, retransmissions/stalls/errors/
 *  bytes-per-unit lower, anything else neutral. */
export function metricDirection(column: string): Direction {
  const known = KNOWN_METRICS[column];
  if (known) return known;
  const c = column.toLowerCase();
  if (/(^|_)ms(_|$)/.test(c)) return 'lower';
  if (/(^|_)(goodput|throughput|rps|qps)(_|$)|_per_s(ec)?(_|$)/.test(c)) return 'higher';
  if (/(^|_)(retrans\w*|stalls?|errors?|timeouts?|lost|dup)(_|$)|_bytes_per_/.test(c)) return 'lower';
  return 'neutral';
}

const isBlank = (s: string | undefined) => s === undefined || ['', 'nan', 'null', 'undefined'].includes(s.trim().toLowerCase());

// ---------------------------------------------------------------------------------------
// Loading a run
// ---------------------------------------------------------------------------------------

export interface RunData {
  /** absolute path of the results folder */
  dir: string;
  /** its base name, e.g. "loss-2pct-20261121T171917Z" */
  name: string;
  /** run.json, or null when missing or unreadable */
  run: RunInfo | null;
  /** summary.csv as read: every column kept as text (new columns included) */
  rows: Record<string, string>[];
  columns: string[];
}

/** Read a results folder's summary.csv (required) and run.json (optional). */
export function loadRun(dir: string): RunData {
  const abs = resolve(dir);
  if (!existsSync(abs) || !statSync(abs).isDirectory()) throw new CompareInputError(`no such results folder: ${dir}`);
  const summaryPath = join(abs, 'summary.csv');
  if (!existsSync(summaryPath)) throw new CompareInputError(`no summary.csv in ${dir}`);
  let rows: Record<string, string>[];
  try {
    rows = parseCsv(readFileSync(summaryPath, 'utf8'));
  } catch (e) {
    throw new CompareInputError(`${summaryPath}: not a readable CSV (${(e as Error).message})`);
  }
  if (!rows.length) throw new CompareInputError(`${summaryPath} has no rows`);
  const columns = Object.keys(rows[0]!);
  for (const c of ['cell', 'protocol', 'status']) if (!columns.includes(c)) throw new CompareInputError(`${summaryPath}: no "${c}" column`);
  let run: RunInfo | null = null;
  try {
    const parsed: unknown = JSON.parse(readFileSync(join(abs, 'run.json'), 'utf8'));
    if (parsed && typeof parsed === 'object') run = parsed as RunInfo;
  } catch {
    /* missing or unreadable: provenance is not compared (a warning says so) */
  }
  return { dir: abs, name: basename(abs), run, rows, columns };
}

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

// ---------------------------------------------------------------------------------------
// Statistics
// ---------------------------------------------------------------------------------------

/** Relative change of the mean, (mean(b) - mean(a)) / |mean(a)|, as a fraction, with a
 *  95% percentile-bootstrap interval: each of `iterations` resamples draws n_a values from
 *  a and n_b from b with replacement (mulberry32(seed), so deterministic), the relative
 *  change of their means, then the 2.5th and 97.5th percentiles. lo/hi are NaN when either
 *  side has fewer than 2 values; the estimate is NaN when mean(a) is 0 and mean(b) is not
 *  (0 when both are 0). Resamples with a zero mean on the A side count as +-Infinity. */
export function relChangeCi95(a: readonly number[], b: readonly number[], opts: { iterations?: number; seed?: number } = {}): { estimate: number; lo: number; hi: number } {
  const xa = a.filter(Number.isFinite);
  const xb = b.filter(Number.isFinite);
  const mean = (xs: readonly number[]) => xs.reduce((s, x) => s + x, 0) / xs.length;
  const rel = (ma: number, mb: number) => (ma === 0 ? (mb === 0 ? 0 : mb > 0 ? Infinity : -Infinity) : (mb - ma) / Math.abs(ma));
  if (!xa.length || !xb.length) return { estimate: NaN, lo: NaN, hi: NaN };
  const ma = mean(xa);
  const mb = mean(xb);
  const estimate = ma === 0 && mb !== 0 ? NaN : rel(ma, mb);
  if (xa.length < 2 || xb.length < 2 || Number.isNaN(estimate)) return { estimate, lo: NaN, hi: NaN };
  const rnd = mulberry32(opts.seed ?? 1);
  const iters = opts.iterations ?? 10_000;
  const stats: number[] = new Array(iters);
  for (let i = 0; i < iters; i++) {
    let sa = 0;
    for (let j = 0; j < xa.length; j++) sa += xa[Math.floor(rnd() * xa.length)]!;
    let sb = 0;
    for (let j = 0; j < xb.length; j++) sb += xb[Math.floor(rnd() * xb.length)]!;
    stats[i] = rel(sa / xa.length, sb / xb.length);
  }
  stats.sort((x, y) => x - y);
  return { estimate, lo: quantile(stats, 2.5), hi: quantile(stats, 97.5) };
}

/** percentileSorted, safe when the neighbours are infinite. */
function quantile(sorted: readonly number[], p: number): number {
  const h = ((sorted.length - 1) * p) / 100;
  const lo = Math.floor(h);
  const x0 = sorted[lo]!;
  const x1 = sorted[Math.min(lo + 1, sorted.length - 1)]!;
  if (h === lo || x0 === x1) return x0;
  if (!Number.isFinite(x0)) return x0;
  if (!Number.isFinite(x1)) return x1;
  return percentileSorted(sorted, p);
}

// ---------------------------------------------------------------------------------------
// Comparison
// ---------------------------------------------------------------------------------------

export type Verdict =
  | 'regressed' // the change's CI lies entirely beyond +-threshold on the bad side
  | 'improved' // ... on the good side
  | 'same' // the CI reaches inside the threshold band: no change beyond noise
  | 'higher' // neutral metric, CI entirely above +threshold
  | 'lower' // neutral metric, CI entirely below -threshold
  | 'failed-in-B' // A has values, B ran the group but no repetition succeeded: counted as a regression
  | 'failed-in-A' // the reverse
  | 'only-in-A' // the group is not in B's summary at all
  | 'only-in-B'
  | 'too-few' // a side has fewer than 2 values: no interval
  | 'n/a'; // the relative change is undefined (A's mean is 0, B's is not)

export interface Side {
  /** values used (SUCCEEDED rows with a number in the metric column) */
  n: number;
  /** rows of the group that did not succeed */
  failed: number;
  mean: number | null;
  /** 95% t-interval of the mean (meanCi95); null when n < 2 */
  ci_lo: number | null;
  ci_hi: number | null;
  half: number | null;
}

export interface GroupResult {
  cell: string;
  protocol: string;
  a: Side;
  b: Side;
  /** relative change of the mean, %, and its 95% bootstrap interval; null when undefined */
  change_pct: number | null;
  change_lo_pct: number | null;
  change_hi_pct: number | null;
  verdict: Verdict;
}

export interface CompareOptions {
  /** summary.csv column (default page_ms) */
  metric?: string;
  /** threshold, % (default 5) */
  thresholdPct?: number;
  /** bootstrap resamples (default 10000) and seed (default 1) */
  iterations?: number;
  seed?: number;
}

export interface CompareResult {
  metric: string;
  direction: Direction;
  threshold_pct: number;
  a: { dir: string; name: string };
  b: { dir: string; name: string };
  groups: GroupResult[];
  /** groups whose verdict fails the comparison: regressed or failed-in-B */
  regressed: GroupResult[];
  /** groups left out because neither run has a value of the metric there */
  skipped: { cell: string; protocol: string }[];
  /** provenance differences and other things the reader should know */
  warnings: string[];
}

const finite = (x: number) => (Number.isFinite(x) ? x : null);
const finiteOrInf = (x: number) => (Number.isNaN(x) ? null : x);

function side(rows: Record<string, string>[], metric: string): Side & { values: number[] } {
  const ok = rows.filter((r) => r.status === 'SUCCEEDED');
  const values = ok.map((r) => num(r[metric])).filter((v): v is number => v !== null);
  const ci = meanCi95(values);
  return {
    values,
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
      if (!ra) verdict = 'only-in-B';
      else if (!rb) verdict = 'only-in-A';
      else if (sb.n === 0) verdict = sb.failed === rb.length ? 'failed-in-B' : 'n/a';
      else if (sa.n === 0) verdict = sa.failed === ra.length ? 'failed-in-A' : 'n/a';
      else {
        change = relChangeCi95(sa.values, sb.values, { iterations: opts.iterations, seed: opts.seed });
        if (Number.isNaN(change.estimate)) verdict = 'n/a';
        else if (sa.n < 2 || sb.n < 2) verdict = 'too-few';
        else verdict = verdictFor(direction, 100 * change.lo, 100 * change.hi, thr);
      }
      const { values: _va, ...sideA } = sa;
      const { values: _vb, ...sideB } = sb;
      groups.push({
        cell,
        protocol,
        a: sideA,
        b: sideB,
        change_pct: finiteOrInf(100 * change.estimate),
        change_lo_pct: finiteOrInf(100 * change.lo),
        change_hi_pct: finiteOrInf(100 * change.hi),
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

// ---------------------------------------------------------------------------------------
// Provenance
// ---------------------------------------------------------------------------------------

/** JSON with sorted keys, so key order never counts as a difference. */
function canon(x: unknown): string {
  return JSON.stringify(x, (_k, v: unknown) =>
    v && typeof v === 'object' && !Array.isArray(v) ? Object.fromEntries(Object.entries(v as Record<string, unknown>).sort(([p], [q]) => p.localeCompare(q))) : v,
  );
}

const show = (v: unknown) => (v === undefined ? '(not recorded)' : typeof v === 'string' ? `"${v}"` : canon(v));

/** Differences between the runs' run.json that can move the numbers: backend, kernel,
 *  CPU, congestion control, workload, software versions, and the network profile of every
 *  compared cell (the profile's loss seed excluded: another seed is another sample of the
 *  same conditions, which the intervals account for). */
export function provenanceWarnings(a: RunData, b: RunData, cells: string[]): string[] {
  const out: string[] = [];
  if (!a.run || !b.run) {
    const which = [!a.run && `A (${a.name})`, !b.run && `B (${b.name})`].filter(Boolean).join(' and ');
    return [`no readable run.json in ${which}: provenance not compared`];
  }
  const ra = a.run;
  const rb = b.run;
  const scen = (r: RunInfo) => (r.scenario ?? {}) as Record<string, unknown>;
  const fields: [string, unknown, unknown][] = [
    ['backend', ra.backend, rb.backend],
    ['kernel', ra.kernel, rb.kernel],
    ['cpus', ra.cpus, rb.cpus],
    ['cpu_model', ra.cpu_model, rb.cpu_model],
    ['tcp_cc', ra.tcp_cc, rb.tcp_cc],
    ['tcp_cc_measured', ra.tcp_cc_measured, rb.tcp_cc_measured],
    ['quic_cc', ra.quic_cc, rb.quic_cc],
    ['workload', scen(ra).workload, scen(rb).workload],
  ];
  for (const [k, va, vb] of fields) if (canon(va) !== canon(vb)) out.push(`${k} differs: A ${show(va)}, B ${show(vb)}`);
  const verA = (ra.versions ?? {}) as Record<string, unknown>;
  const verB = (rb.versions ?? {}) as Record<string, unknown>;
  const ver = [...new Set([...Object.keys(verA), ...Object.keys(verB)])]
    .filter((k) => canon(verA[k]) !== canon(verB[k]))
    .map((k) => `${k} ${show(verA[k])} -> ${show(verB[k])}`);
  if (ver.length) out.push(`versions differ: ${ver.join(', ')}`);
  type Cell = { id?: string; profile?: Record<string, unknown>; description?: string };
  const cellMap = (r: RunInfo) => new Map(((Array.isArray(r.cells) ? r.cells : []) as Cell[]).map((c) => [c.id, c]));
  const ca = cellMap(ra);
  const cb = cellMap(rb);
  for (const id of cells) {
    const pa = ca.get(id);
    const pb = cb.get(id);
    if (!pa?.profile || !pb?.profile) continue;
    const { seed: _sa, ...xa } = pa.profile;
    const { seed: _sb, ...xb } = pb.profile;
    if (canon(xa) === canon(xb)) continue;
    const same = pa.description === pb.description;
    out.push(`cell "${id}": network profile differs: A ${show(pa.description)}, B ${show(pb.description)}${same ? ' (differ in details: queue, jitter or outages)' : ''}`);
  }
  out.push(...tlsWarnings(ra, rb, [...new Set(a.rows.map((r) => r.protocol!))].filter((l) => b.rows.some((r) => r.protocol === l))));
  return out;
}

/** A label compared in both runs whose TLS differs. The same label can name another setup
 *  in an older run: HTTP/1.x ran cleartext before it defaulted to TLS, and run.json's
 *  `protocols` then listed labels only (no `tls`). */
function tlsWarnings(ra: RunInfo, rb: RunInfo, labels: string[]): string[] {
  const tlsIn = (r: RunInfo, label: string): string => {
    const e = (Array.isArray(r.protocols) ? r.protocols : []).find((p): p is { label: string; tls: boolean } => typeof p === 'object' && p !== null && (p as { label?: unknown }).label === label);
    if (e && typeof e.tls === 'boolean') return e.tls ? 'TLS' : 'cleartext';
    return 'not recorded (cleartext if the run predates TLS for HTTP/1.x)';
  };
  return sortProtocols(labels)
    .filter((l) => {
      const p = parseLabel(l);
      return p !== null && PROTOCOL_TABLE[p.protocol].tls.kind === 'default-on';
    })
    .flatMap((l) => {
      const [ta, tb] = [tlsIn(ra, l), tlsIn(rb, l)];
      return ta === tb ? [] : [`${l}: TLS differs: A ${ta}, B ${tb}`];
    });
}

// ---------------------------------------------------------------------------------------
// Output: table, CSV, chart
// ---------------------------------------------------------------------------------------

/** Decimals for a metric's numbers: fewer for large values. */
function decimals(x: number): number {
  const m = Math.abs(x);
  return m >= 1000 ? 0 : m >= 10 ? 1 : m >= 1 ? 2 : 3;
}

function meanText(s: Side): string {
  if (s.mean === null) return '-';
  const d = decimals(s.mean);
  return `${s.mean.toFixed(d)} ±${s.half === null ? '?' : s.half.toFixed(d)} (n=${s.n})`;
}

const pct = (x: number | null) => (x === null ? '?' : x === Infinity ? '+inf' : x === -Infinity ? '-inf' : `${x >= 0 ? '+' : ''}${x.toFixed(1)}`);

function changeText(g: GroupResult): string {
  if (g.change_pct === null) return '-';
  const ci = g.change_lo_pct === null ? '' : ` [${pct(g.change_lo_pct)}, ${pct(g.change_hi_pct)}]`;
  return `${pct(g.change_pct)}%${ci}`;
}

const DIRECTION_TEXT: Record<Direction, string> = { lower: 'lower is better', higher: 'higher is better', neutral: 'neither direction is better' };

/** The aligned text table printed by the CLI, with a header line. */
export function formatTable(r: CompareResult): string {
  const head = ['cell', 'protocol', `A ${r.metric}`, `B ${r.metric}`, 'change % [95% CI]', 'verdict'];
  const rows = r.groups.map((g) => [g.cell, g.protocol, meanText(g.a), meanText(g.b), changeText(g), g.verdict]);
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((row) => row[i]!.length)));
  const right = new Set([2, 3, 4]);
  const line = (cols: string[]) => cols.map((c, i) => (right.has(i) ? c.padStart(widths[i]!) : c.padEnd(widths[i]!))).join('  ').trimEnd();
  const out = [
    `${r.metric} (${DIRECTION_TEXT[r.direction]}), B vs A, threshold ±${r.threshold_pct}%; means ± 95% t-interval, change of the mean with 95% bootstrap interval`,
    `A: ${r.a.dir}`,
    `B: ${r.b.dir}`,
    '',
    line(head),
    ...rows.map(line),
  ];
  if (!r.groups.length) out.push('(no group has a value of this metric in either run)');
  if (r.skipped.length) out.push(`(${r.skipped.length} cell/protocol group(s) without ${r.metric} values in either run left out)`);
  return out.join('\n') + '\n';
}

export const CSV_COLUMNS = [
  'cell', 'protocol', 'metric', 'direction', 'a_n', 'a_failed', 'a_mean', 'a_ci_lo', 'a_ci_hi', 'b_n', 'b_failed', 'b_mean', 'b_ci_lo', 'b_ci_hi',
  'change_pct', 'change_lo_pct', 'change_hi_pct', 'threshold_pct', 'verdict',
] as const;

export function compareCsv(r: CompareResult): string {
  const rows = r.groups.map((g) => ({
    cell: g.cell, protocol: g.protocol, metric: r.metric, direction: r.direction,
    a_n: g.a.n, a_failed: g.a.failed, a_mean: g.a.mean, a_ci_lo: g.a.ci_lo, a_ci_hi: g.a.ci_hi,
    b_n: g.b.n, b_failed: g.b.failed, b_mean: g.b.mean, b_ci_lo: g.b.ci_lo, b_ci_hi: g.b.ci_hi,
    change_pct: g.change_pct, change_lo_pct: g.change_lo_pct, change_hi_pct: g.change_hi_pct, threshold_pct: r.threshold_pct, verdict: g.verdict,
  }));
  return stringify(rows, { header: true, columns: [...CSV_COLUMNS], cast: { number: (v) => (Number.isFinite(v) ? String(+v.toFixed(6)) : v > 0 ? 'inf' : v < 0 ? '-inf' : '') } });
}

const VERDICT_COLORS: Partial<Record<Verdict, string>> = { regressed: '#e45756', improved: '#54a24b', same: '#8c8c8c', higher: '#4c78a8', lower: '#f58518', 'too-few': '#bab0ac' };

/** Vega-Lite spec: relative change per cell x protocol with its 95% interval as a
 *  horizontal error bar, coloured by verdict, with dashed rules at +-threshold and a solid
 *  rule at 0. Groups without a finite change (one run only, failed, A mean 0) are left out
 *  and listed in the subtitle. */
export function compareChartSpec(r: CompareResult): VlSpec {
  const drawn = r.groups.filter((g) => g.change_pct !== null && Number.isFinite(g.change_pct));
  const label = (g: GroupResult) => `${g.cell} · ${g.protocol}`;
  const points = drawn.map((g) => ({
    group: label(g),
    change: +g.change_pct!.toFixed(3),
    lo: g.change_lo_pct !== null && Number.isFinite(g.change_lo_pct) ? +g.change_lo_pct.toFixed(3) : null,
    hi: g.change_hi_pct !== null && Number.isFinite(g.change_hi_pct) ? +g.change_hi_pct.toFixed(3) : null,
    verdict: g.verdict,
    a_mean: g.a.mean,
    b_mean: g.b.mean,
    n: `${g.a.n} vs ${g.b.n}`,
  }));
  const left = r.groups.filter((g) => !drawn.includes(g));
  const verdicts = [...new Set(points.map((p) => p.verdict))];
  const subtitle = [
    `(mean B − mean A) / mean A, with 95% bootstrap interval over repetitions; ${DIRECTION_TEXT[r.direction]}; dashed: ±${r.threshold_pct}% threshold`,
    `A: ${r.a.name} · B: ${r.b.name}`,
  ];
  if (left.length) subtitle.push(`not drawn: ${left.map((g) => `${label(g)} (${g.verdict})`).join(', ')}`);
  const x = { field: 'change', type: 'quantitative', title: `change of mean ${r.metric}, %`, scale: { zero: true } };
  const color = { field: 'verdict', type: 'nominal', scale: { domain: verdicts, range: verdicts.map((v) => VERDICT_COLORS[v] ?? '#333') }, legend: { title: 'verdict', orient: 'right' } };
  const y = { field: 'group', type: 'nominal', title: null, sort: points.map((p) => p.group) };
  return {
    ...base(`${r.metric}: B vs A`, subtitle),
    width: 520,
    height: { step: 24 },
    layer: [
      {
        data: { values: [{ x: -r.threshold_pct }, { x: r.threshold_pct }] },
        mark: { type: 'rule', strokeDash: [5, 4], color: '#888' },
        encoding: { x: { field: 'x', type: 'quantitative' } },
      },
      { data: { values: [{ x: 0 }] }, mark: { type: 'rule', color: '#333' }, encoding: { x: { field: 'x', type: 'quantitative' } } },
      {
        data: { values: points },
        transform: [{ filter: 'datum.lo !== null && datum.hi !== null' }],
        mark: { type: 'rule', strokeWidth: 2 },
        encoding: {
          y,
          x: { ...x, field: 'lo' },
          x2: { field: 'hi' },
          color,
        },
      },
      {
        data: { values: points },
        mark: { type: 'point', filled: true, size: 70 },
        encoding: {
          y,
          x,
          color,
          tooltip: [
            { field: 'group' }, { field: 'change', title: 'change %' }, { field: 'lo', title: 'CI lo %' }, { field: 'hi', title: 'CI hi %' },
            { field: 'a_mean', title: 'A mean' }, { field: 'b_mean', title: 'B mean' }, { field: 'n', title: 'reps A vs B' }, { field: 'verdict' },
          ],
        },
      },
    ],
  };
}

/** Write compare.csv, compare.json, compare.vl.json, compare.svg and (unless png is false)
 *  compare.png into outDir; returns the paths written. */
export async function writeCompareOutputs(r: CompareResult, outDir: string, opts: { png?: boolean } = {}): Promise<string[]> {
  const dir = resolve(outDir);
  mkdirSync(dir, { recursive: true });
  const files: string[] = [];
  const write = (name: string, data: string | Buffer) => {
    const p = join(dir, name);
    writeFileSync(p, data);
    files.push(p);
  };
  write('compare.csv', compareCsv(r));
  write('compare.json', JSON.stringify(r, null, 2) + '\n');
  const spec = compareChartSpec(r);
  // vega, vega-lite and resvg load only when a chart is drawn (bad input exits fast)
  const { compileVegaLite, svgToPng, vegaToSvg } = await import('./report/render.ts');
  write('compare.vl.json', JSON.stringify(spec, null, 1));
  const svg = await vegaToSvg(compileVegaLite(spec, 'compare').vega);
  write('compare.svg', svg);
  if (opts.png ?? true) write('compare.png', svgToPng(svg));
  return files;
}

// ---------------------------------------------------------------------------------------
// CLI
// ---------------------------------------------------------------------------------------

const USAGE = `usage: holbench compare <runA> <runB> [--metric M] [--threshold P%] [--out DIR] [--json]

Compares two results folders (results/<name>-<stamp>/) per cell x protocol on one
summary.csv column, successful repetitions only. B is the candidate, A the baseline.

  --metric M       summary.csv column (default page_ms); any numeric column of both runs
  --threshold P    how far (in %) the 95% interval of the change must lie beyond 0 to
                   count as regressed / improved (default 5%)
  --out DIR        where compare.csv, compare.svg and compare.png go
                   (default reports/compare-<A>-vs-<B>/)
  --json           print the comparison as JSON on stdout instead of the table

exit: 0 nothing regressed, 1 a group regressed (or failed in every repetition of B),
      2 bad input
`;

/** "5%", "5" or "2.5 %" -> 5 / 5 / 2.5; throws on anything else. */
export function parseThreshold(s: string): number {
  const m = /^\s*(\d+(?:\.\d+)?|\.\d+)\s*%?\s*$/.exec(s);
  const v = m ? Number(m[1]) : NaN;
  if (!(Number.isFinite(v) && v >= 0 && v < 1000)) throw new CompareInputError(`--threshold: expected a percentage from 0 to 1000 such as 5%, got "${s}"`);
  return v;
}

export async function compareCommand(argv: string[]): Promise<number> {
  const bad = (m: string) => (process.stderr.write(`holbench compare: ${m}\n\n${USAGE}`), 2);
  let parsed;
  try {
    parsed = parseArgs({
      args: argv,
      allowPositionals: true,
      options: { metric: { type: 'string' }, threshold: { type: 'string' }, out: { type: 'string' }, json: { type: 'boolean' }, 'no-png': { type: 'boolean' }, help: { type: 'boolean', short: 'h' } },
    });
  } catch (e) {
    return bad((e as Error).message);
  }
  const { values, positionals } = parsed;
  if (values.help) return process.stdout.write(USAGE), 0;
  if (positionals.length !== 2) return bad('expected two results folders, A (baseline) and B (candidate)');
  let result: CompareResult;
  try {
    const thresholdPct = values.threshold === undefined ? 5 : parseThreshold(values.threshold);
    const a = loadRun(positionals[0]!);
    const b = loadRun(positionals[1]!);
    result = compareRuns(a, b, { metric: values.metric, thresholdPct });
  } catch (e) {
    if (e instanceof CompareInputError) {
      process.stderr.write(`holbench compare: ${e.message}\n`);
      return 2;
    }
    throw e;
  }
  for (const w of result.warnings) process.stderr.write(`warning: ${w}\n`);
  const outDir = values.out ?? join('reports', `compare-${result.a.name}-vs-${result.b.name}`);
  const files = await writeCompareOutputs(result, outDir, { png: !values['no-png'] });
  if (values.json) process.stdout.write(JSON.stringify({ ...result, files }, null, 2) + '\n');
  else {
    process.stdout.write(formatTable(result));
    process.stdout.write(`\nwrote ${files.map((f) => basename(f)).join(', ')} in ${resolve(outDir)}\n`);
  }
  if (result.regressed.length) {
    process.stderr.write(`${result.regressed.length} group(s) regressed on ${result.metric}:\n`);
    for (const g of result.regressed) process.stderr.write(`  ${g.cell} ${g.protocol}: ${g.verdict === 'failed-in-B' ? `no successful repetition in B (${g.b.failed} failed)` : changeText(g)}\n`);
    return 1;
  }
  return 0;
}
