// The report's findings: per cell, the headline comparisons between protocols in one line
// each, fit for a slide, e.g.
//   "h3 page time -55% vs h2 [-70%, -38%], paired, n=5 · 2% loss · RTT 50 ms · 20 Mbit/s"
// Pure: summary.csv rows (as text, so columns the column table does not declare yet are
// read too) and run.json in, a Findings object out; findingsMarkdown renders it. The
// statistics are harness/metrics.ts's: paired when both protocols ran each repetition under
// the same impairment seed and the backend reseeds exactly (harness/pairing.ts), else the
// two-sample bootstrap.
import { SUMMARY_TABLE, type SummaryColumn } from '../columns.ts';
import { pairedRelChangeCi95, relChangeCi95, shareOfTotal } from '../metrics.ts';
import { pairBySeed, runPairingExact, type Pairing, type RepValue } from '../pairing.ts';
import { safeText } from '../safetext.ts';
import { cellLabels, fmt, rateText, sortCells, sortProtocols } from './labels.ts';
import { num, toSummaryRow, type RunInfo } from './load.ts';
import { outagesOfRun, outageText } from './charts/outages.ts';
import { CHROMIUM_SUFFIX } from '../clients.ts';

/** Per workload: the metrics a finding compares (summary.csv column, words in the sentence)
 *  and which protocol pairs. `adjacent`: each protocol against the one before it in the
 *  protocol table's order (h3 vs h2, h2 vs http1.1x6: each HTTP generation against its
 *  predecessor), newest first, within each (client, server) pair of a run (labels with the
 *  same @-suffix); a suffixed label also against the label that differs in one party
 *  (h3@chromium vs h3, h3@caddy vs h3, h3@chromium@caddy vs h3@caddy). `first`: each protocol against the first one the run has
 *  (messaging protocols have no generations; one common baseline reads best). */
const HEADLINES: Record<string, { metrics: { column: string; words: string }[]; pairs: 'adjacent' | 'first' }> = {
  page: { metrics: [{ column: 'page_ms', words: 'page time' }], pairs: 'adjacent' },
  load: { metrics: [{ column: 'p50_ms', words: 'latency p50' }, { column: 'p99_ms', words: 'latency p99' }], pairs: 'adjacent' },
  messages: { metrics: [{ column: 'msg_p50_ms', words: 'message latency p50' }, { column: 'msg_p99_ms', words: 'message latency p99' }], pairs: 'first' },
};

/** HOOK for the handshake's share of page time: the summary.csv column with the time a page
 *  load spent in handshakes, ms (TCP connect + TLS, or QUIC). No such column exists yet
 *  (issue 12 item 3 adds per-connection handshake times); until it does, findings give no
 *  share and the notes say so. If the column ends up with another name, change it here. */
export const HANDSHAKE_COLUMN = 'handshake_ms';

/** Condition columns that are being added (scenario `scheduling:` and `connection:`), read
 *  by name when the run has them, whether or not the column table declares them yet; how
 *  each reads in a sentence. */
const MODE_COLUMNS: readonly [string, (v: string) => string][] = [
  ['scheduling', (v) => `scheduling ${v}`],
  ['connection', (v) => v],
];
/** Condition columns the sentence spells itself (loss, RTT, rate) or leaves to the
 *  provenance (congestion control, constant in a run; the seed, different every job). */
const SPELLED = new Set(['loss_pct', 'rtt_ms', 'rate_mbps', 'tcp_cc', 'quic_cc', 'seed', ...MODE_COLUMNS.map(([c]) => c)]);

export interface Finding {
  cell: string;
  workload: string;
  /** summary.csv column compared */
  metric: string;
  /** B, the protocol the sentence is about, and A, the one it is compared with */
  candidate: string;
  baseline: string;
  /** (mean B - mean A) / mean A in %, with its 95% interval; null when undefined (no value on
   *  a side, A's mean 0) or, for lo/hi, with fewer than 2 values (pairs) */
  change_pct: number | null;
  lo_pct: number | null;
  hi_pct: number | null;
  /** repetitions paired by seed: change and interval over the pairs */
  paired: boolean;
  /** pairs used when paired, else null */
  pairs: number | null;
  /** paired: repetitions left out (one side failed), or ''; unpaired: why not paired */
  pairing_note: string;
  /** successful repetitions with a value, and repetitions that did not succeed */
  n_candidate: number;
  n_baseline: number;
  failed_candidate: number;
  failed_baseline: number;
  /** means over the successful repetitions, in the metric's unit (ms) */
  mean_candidate: number | null;
  mean_baseline: number | null;
  /** handshake time / page time over the successful repetitions (HANDSHAKE_COLUMN), a
   *  fraction; null when the run has no such column or the metric is not page time */
  handshake_share_candidate: number | null;
  handshake_share_baseline: number | null;
  /** "2% loss · RTT 50 ms · 20 Mbit/s[ · scheduling browser · cold]" */
  conditions: string;
  /** the sentence */
  text: string;
}

export interface CellFindings {
  cell: string;
  /** short label of the cell (what varies between cells) */
  label: string;
  workload: string;
  conditions: string;
  findings: Finding[];
}

export interface Findings {
  scenario: string;
  /** results folder name */
  results: string;
  /** run.json pairing.exact: the same seed meant the same loss decisions */
  pairing_exact: boolean;
  /** how the numbers are computed, one line each */
  method: string[];
  /** what the reader should know: unpaired comparisons, missing columns */
  notes: string[];
  cells: CellFindings[];
}

type Row = Record<string, string>;

/** "+12%", "-55%", "-3.2%", "0%": whole percent from 10 up, one decimal below. */
export function pctText(x: number): string {
  if (x === Infinity) return '+inf%';
  if (x === -Infinity) return '-inf%';
  const r = Math.abs(x) >= 9.95 ? Math.round(x) : Math.round(x * 10) / 10;
  if (r === 0) return '0%';
  return `${r > 0 ? '+' : '-'}${Math.abs(r)}%`;
}

const shareText = (x: number) => `${Math.round(100 * x)}%`;
const uniq = (xs: string[]) => [...new Set(xs.filter((x) => x !== ''))];

/** The conditions of a cell's rows in words: loss, RTT, rate, the cell's outages (run.json),
 *  every mode column the run has. */
function conditionsText(rows: Row[], columns: Set<string>, outage: string | undefined): string {
  const r = toSummaryRow(rows[0]!);
  const parts = [`${fmt(r.loss_pct ?? 0)}% loss`, `RTT ${fmt(r.rtt_ms)} ms`, rateText(r.rate_mbps)];
  if (outage) parts.push(outage);
  for (const [col, words] of MODE_COLUMNS) {
    const vs = columns.has(col) ? uniq(rows.map((x) => x[col] ?? '')) : [];
    if (vs.length) parts.push(words(vs.join('/')));
  }
  // condition columns the table declares and the sentence does not spell yet (a new knob)
  for (const col of Object.keys(SUMMARY_TABLE) as SummaryColumn[]) {
    if (SUMMARY_TABLE[col].role !== 'condition' || SPELLED.has(col) || !columns.has(col)) continue;
    const vs = uniq(rows.map((x) => x[col] ?? ''));
    if (vs.length) parts.push(`${col} ${vs.join('/')}`);
  }
  return parts.join(' · ');
}

/** The protocol pairs [candidate, baseline] of a cell, in the order the findings list them. */
function protocolPairs(protocols: string[], how: 'adjacent' | 'first'): [string, string][] {
  const out: [string, string][] = [];
  if (how === 'adjacent') {
    // A label's suffix names who ran it (h3@chromium, h3@caddy, h3@chromium@caddy: one client
    // and server pair each). Labels pair within their pair (h3@caddy vs h2@caddy), and each
    // suffixed label with the one that differs in one party only: the client first
    // (h3@chromium@caddy vs h3@caddy, h3@chromium vs h3), else the server (h3@caddy vs h3).
    const suffixOf = (l: string) => (l.includes('@') ? l.slice(l.indexOf('@')) : '');
    const groups = new Map<string, string[]>([['', []]]); // our client on our server first
    for (const l of protocols) groups.set(suffixOf(l), [...(groups.get(suffixOf(l)) ?? []), l]);
    for (const group of groups.values()) for (let i = group.length - 1; i >= 1; i--) out.push([group[i]!, group[i - 1]!]);
    for (const l of protocols) {
      if (!suffixOf(l)) continue;
      const other = l.includes(CHROMIUM_SUFFIX) ? l.replace(CHROMIUM_SUFFIX, '') : l.slice(0, l.indexOf('@'));
      if (protocols.includes(other)) out.push([l, other]);
    }
  } else for (let i = 1; i < protocols.length; i++) out.push([protocols[i]!, protocols[0]!]);
  return out;
}

const mean = (xs: number[]) => (xs.length ? xs.reduce((s, x) => s + x, 0) / xs.length : null);
const finiteOrNull = (x: number) => (Number.isNaN(x) ? null : x);

/** One side: the successful repetitions with a value of `metric`, and the failed count. */
function sideOf(rows: Row[], metric: string): { reps: (RepValue & { handshake: number | null })[]; failed: number } {
  const ok = rows.filter((r) => r.status === 'SUCCEEDED');
  const reps = ok.flatMap((r) => {
    const value = num(r[metric]);
    return value === null ? [] : [{ rep: num(r.rep) ?? NaN, seed: num(r.seed), value, handshake: num(r[HANDSHAKE_COLUMN]) }];
  });
  return { reps, failed: rows.length - ok.length };
}

/** The sentence of a finding. */
export function findingText(f: Omit<Finding, 'text'>, words: string): string {
  const head = `${f.candidate} ${words}`;
  const failedText = ([[f.candidate, f.failed_candidate, f.n_candidate], [f.baseline, f.failed_baseline, f.n_baseline]] as const)
    .filter(([, k]) => k > 0)
    .map(([p, k, n]) => `${p} failed ${k} of ${k + n}`);
  if (f.n_candidate === 0 || f.n_baseline === 0) {
    const none = f.n_candidate === 0 ? f.candidate : f.baseline;
    return `${head} vs ${f.baseline}: no successful repetition of ${none}${failedText.length ? ` (${failedText.join(', ')})` : ''} · ${f.conditions}`;
  }
  const change = f.change_pct === null ? `undefined (${f.baseline}'s mean is 0)` : pctText(f.change_pct);
  const ci = f.lo_pct === null || f.hi_pct === null ? '(no interval)' : `[${pctText(f.lo_pct)}, ${pctText(f.hi_pct)}]`;
  const n = f.paired ? `paired, n=${f.pairs}` : f.n_candidate === f.n_baseline ? `unpaired, n=${f.n_candidate}` : `unpaired, n=${f.n_candidate} ${f.candidate}, ${f.n_baseline} ${f.baseline}`;
  const parts = [`${head} ${change} vs ${f.baseline} ${ci}, ${[n, ...failedText].join(', ')}`];
  if (f.handshake_share_candidate !== null && f.handshake_share_baseline !== null) {
    parts.push(`handshakes ${shareText(f.handshake_share_candidate)} of ${f.candidate}'s page time, ${shareText(f.handshake_share_baseline)} of ${f.baseline}'s`);
  }
  parts.push(f.conditions);
  return parts.join(' · ');
}

export interface FindingsOptions {
  /** the unpaired bootstrap's resamples (default 10000) and seed (default 1) */
  iterations?: number;
  seed?: number;
}

/** The findings of a run: summary.csv rows as text (every column, known or not) and
 *  run.json. Cells in loss, RTT, rate order; per cell the workload's headline metrics
 *  (HEADLINES) between its protocol pairs. */
export function buildFindings(rows: Row[], run: RunInfo, resultsName: string, opts: FindingsOptions = {}): Findings {
  const columns = new Set(rows.flatMap((r) => Object.keys(r)));
  const typed = rows.map(toSummaryRow);
  const outages = outagesOfRun(run);
  const outageOf = (cell: string) => (outages?.get(cell)?.length ? outageText(outages.get(cell)!) : undefined);
  const labels = cellLabels(typed, outages ? new Map([...outages].map(([c, o]) => [c, outageText(o)])) : undefined);
  const exact = runPairingExact(run);
  const hasHandshake = columns.has(HANDSHAKE_COLUMN);
  const order = sortCells(typed);
  const condOf = new Map(order.map((cell) => [cell, conditionsText(rows.filter((r) => r.cell === cell), columns, outageOf(cell))]));
  // a sentence must say which cell it is about: when the columns cannot tell two cells
  // apart (a knob the findings do not spell), name the cell
  for (const [cell, text] of condOf) if ([...condOf.values()].filter((t) => t === text).length > 1) condOf.set(cell, `${text} · cell ${cell}`);
  const cells: CellFindings[] = [];
  for (const cell of order) {
    const cellRows = rows.filter((r) => r.cell === cell);
    const workload = cellRows.find((r) => r.workload)?.workload ?? '';
    const conditions = condOf.get(cell)!;
    const headline = HEADLINES[workload];
    const findings: Finding[] = [];
    if (headline) {
      const protocols = sortProtocols(cellRows.map((r) => r.protocol ?? ''));
      for (const { column, words } of headline.metrics) {
        for (const [cand, base] of protocolPairs(protocols, headline.pairs)) {
          const b = sideOf(cellRows.filter((r) => r.protocol === cand), column);
          const a = sideOf(cellRows.filter((r) => r.protocol === base), column);
          // a metric neither protocol has (a run from before the column) makes no finding
          if (!a.reps.length && !b.reps.length && !a.failed && !b.failed) continue;
          const va = a.reps.map((r) => r.value);
          const vb = b.reps.map((r) => r.value);
          let pairing: Pairing = exact.exact ? pairBySeed(a.reps, b.reps) : { paired: false, why: exact.why };
          let change = { estimate: NaN, lo: NaN, hi: NaN };
          if (va.length && vb.length) change = pairing.paired ? pairedRelChangeCi95(pairing.a, pairing.b) : relChangeCi95(va, vb, opts);
          else pairing = { paired: false, why: 'no successful repetition on one side' };
          const share = (s: typeof a) => (hasHandshake && column === 'page_ms' ? finiteOrNull(shareOfTotal(s.reps.map((r) => r.handshake ?? NaN), s.reps.map((r) => r.value))) : null);
          const f: Omit<Finding, 'text'> = {
            cell, workload, metric: column, candidate: cand, baseline: base,
            change_pct: finiteOrNull(100 * change.estimate), lo_pct: finiteOrNull(100 * change.lo), hi_pct: finiteOrNull(100 * change.hi),
            paired: pairing.paired, pairs: pairing.paired ? pairing.reps.length : null,
            pairing_note: pairing.paired ? (pairing.leftOut ? `${pairing.leftOut} repetition(s) with a value on one side only left out` : '') : pairing.why,
            n_candidate: vb.length, n_baseline: va.length, failed_candidate: b.failed, failed_baseline: a.failed,
            mean_candidate: mean(vb), mean_baseline: mean(va),
            handshake_share_candidate: share(b), handshake_share_baseline: share(a),
            conditions,
          };
          findings.push({ ...f, text: findingText(f, words) });
        }
      }
    }
    cells.push({ cell, label: labels.get(cell) ?? cell, workload, conditions, findings });
  }

  const all = cells.flatMap((c) => c.findings);
  const notes: string[] = [];
  if (!exact.exact && all.length) notes.push(`Every comparison is unpaired: ${exact.why}. Repetitions are then independent samples of the path, and the intervals wider than paired ones would be.`);
  const odd = all.filter((f) => exact.exact && !f.paired && f.n_candidate && f.n_baseline);
  if (odd.length) notes.push(`Unpaired although the backend reseeds exactly: ${odd.map((f) => `${f.candidate} vs ${f.baseline} (${f.metric}, ${f.cell}): ${f.pairing_note}`).join('; ')}.`);
  const leftOut = all.filter((f) => f.paired && f.pairing_note);
  if (leftOut.length) notes.push(`Paired over the repetitions both protocols completed: ${leftOut.map((f) => `${f.candidate} vs ${f.baseline} (${f.metric}, ${f.cell}): ${f.pairing_note}`).join('; ')}.`);
  if (!hasHandshake && all.some((f) => f.metric === 'page_ms')) notes.push(`summary.csv has no ${HANDSHAKE_COLUMN} column: the handshakes' share of page time is not given.`);
  const unsupported = cells.filter((c) => !HEADLINES[c.workload]);
  if (unsupported.length) notes.push(`No headline comparison for workload(s) ${uniq(unsupported.map((c) => c.workload || '(none)')).join(', ')}.`);
  return {
    scenario: (typeof run.scenario?.name === 'string' && run.scenario.name) || rows[0]?.scenario || resultsName,
    results: resultsName,
    pairing_exact: exact.exact,
    method: [
      'Change: (mean B − mean A) / mean A over the successful repetitions, B the protocol named first.',
      'Paired (each repetition of both protocols ran under the same impairment seed, with a backend that reseeds exactly, so both met the same loss decisions): 95% t-interval on the paired residuals B_r − (mean B / mean A)·A_r (harness/metrics.ts pairedRelChangeCi95).',
      `Unpaired: 95% two-sample percentile bootstrap (relChangeCi95, ${opts.iterations ?? 10000} resamples, seed ${opts.seed ?? 1}).`,
      'With 3–5 repetitions an interval is rough; one that reaches 0% is no evidence of a difference.',
    ],
    notes,
    cells,
  };
}

/** findings.md: a heading per cell, one bullet per finding (the same text as findings.json),
 *  then how the numbers are computed and the notes. */
export function findingsMarkdown(f: Findings): string {
  const out = [`# Findings: ${f.scenario} (${f.results})`, ''];
  for (const c of f.cells) {
    out.push(`## ${c.label}`, '', `cell \`${c.cell}\` · ${c.workload || 'no workload'} · ${c.conditions}`, '');
    if (c.findings.length) out.push(...c.findings.map((x) => `- ${x.text}`));
    else out.push('- (no comparison: fewer than two protocols, or no headline metric for this workload)');
    out.push('');
  }
  out.push('## How these are computed', '', ...f.method.map((m) => `- ${m}`), '');
  if (f.notes.length) out.push('## Notes', '', ...f.notes.map((n) => `- ${n}`), '');
  // one element per line: a control character from the inputs (a newline in a cell id) is
  // written out, so it cannot break the list a slide copies from
  return out.map(safeText).join('\n');
}
